// Scalar floating-point instructions and the AdvSIMD floating-point vector forms compilers emit
// (Arm ARM C4.1.95 "Data Processing -- Scalar Floating-Point and Advanced SIMD": floating-point
// data-processing 1/2/3 source, compare, conditional compare and select, immediate, conversions
// to and from integer and fixed-point; AdvSIMD three same / two-register misc FP forms).
//
// The CPU model is a Cortex-A57 (Armv8.0): no FEAT_FP16, so half precision exists only in FCVT
// (the rows' `ok` guards reject every other ftype == 11 encoding). Writing a scalar S or D
// register clears the rest of its V register (Arm ARM: "V[d] = ZeroExtend(result)").
// The arithmetic itself lives in fp-fast.ts (fast paths) and fp-soft.ts (the exact reference).

import type { Cpu } from '../cpu.js';
import { condHolds, rz, wz } from './common.js';
import * as F from './fp-fast.js';
import { D, H, Op2, Rnd, S } from './fp-fast.js';

const rd = (i: number): number => i & 31;
const rn = (i: number): number => (i >>> 5) & 31;
const rm = (i: number): number => (i >>> 16) & 31;
const isD = (i: number): boolean => (i & (1 << 22)) !== 0;

/**
 * Clear bits 127:64 of V<d> (a scalar or 64-bit vector result). Two Uint32 stores: measurably
 * cheaper than storing the BigInt 0n.
 */
export function clearHi(cpu: Cpu, d: number): void {
  const w = cpu.v32;
  w[4 * d + 2] = 0;
  w[4 * d + 3] = 0;
}

/** Clear the bits of V<d> above a single-precision result. */
function clearAboveS(cpu: Cpu, d: number): void {
  const w = cpu.v32;
  w[4 * d + 1] = 0;
  w[4 * d + 2] = 0;
  w[4 * d + 3] = 0;
}

function clearAboveH(cpu: Cpu, d: number): void {
  cpu.v16[8 * d + 1] = 0;
  clearAboveS(cpu, d);
}

function setNzcv(cpu: Cpu, nzcv: number): void {
  cpu.nf = (nzcv >>> 3) & 1;
  cpu.zf = (nzcv >>> 2) & 1;
  cpu.cf = (nzcv >>> 1) & 1;
  cpu.vf = nzcv & 1;
}

// ---------------------------------------------------------------------------------------------
// Data-processing, one source
// ---------------------------------------------------------------------------------------------

export function fmovReg(cpu: Cpu, i: number): void {
  const d = rd(i);
  const n = rn(i);
  if (isD(i)) {
    cpu.v[2 * d] = cpu.v[2 * n]!;
    clearHi(cpu, d);
  } else {
    cpu.v32[4 * d] = cpu.v32[4 * n]!;
    clearAboveS(cpu, d);
  }
  cpu.pc += 4;
}

export function fabs(cpu: Cpu, i: number): void {
  const d = rd(i);
  const n = rn(i);
  if (isD(i)) {
    cpu.v[2 * d] = cpu.v[2 * n]! & 0x7fffffffffffffffn;
    clearHi(cpu, d);
  } else {
    cpu.v32[4 * d] = cpu.v32[4 * n]! & 0x7fffffff;
    clearAboveS(cpu, d);
  }
  cpu.pc += 4;
}

export function fneg(cpu: Cpu, i: number): void {
  const d = rd(i);
  const n = rn(i);
  if (isD(i)) {
    cpu.v[2 * d] = cpu.v[2 * n]! ^ 0x8000000000000000n;
    clearHi(cpu, d);
  } else {
    cpu.v32[4 * d] = cpu.v32[4 * n]! ^ 0x80000000;
    clearAboveS(cpu, d);
  }
  cpu.pc += 4;
}

export function fsqrt(cpu: Cpu, i: number): void {
  const d = rd(i);
  const n = rn(i);
  if (isD(i)) {
    F.sqrt64(cpu, 2 * d, 2 * n);
    clearHi(cpu, d);
  } else {
    F.sqrt32(cpu, 4 * d, 4 * n);
    clearAboveS(cpu, d);
  }
  cpu.pc += 4;
}

/** FCVT: ftype (bits 23:22) is the source, opc (bits 16:15) the destination; 0 S, 1 D, 3 H. */
export function fcvt(cpu: Cpu, i: number): void {
  const d = rd(i);
  const n = rn(i);
  const from = (i >>> 22) & 3;
  const to = (i >>> 15) & 3;
  if (from === 0 && to === 1) F.cvtSD(cpu, 2 * d, 4 * n);
  else if (from === 1 && to === 0) {
    F.cvtDS(cpu, 4 * d, 2 * n);
    clearAboveS(cpu, d);
  } else {
    const src = from === 0 ? S : from === 1 ? D : H;
    const dst = to === 0 ? S : to === 1 ? D : H;
    const x = from === 0 ? BigInt(cpu.v32[4 * n]!) : from === 1 ? cpu.v[2 * n]! : BigInt(cpu.v16[8 * n]!);
    const r = F.cvtHalf(cpu, src, dst, x);
    if (to === 1) cpu.v[2 * d] = r;
    else if (to === 0) {
      cpu.v32[4 * d] = Number(r);
      clearAboveS(cpu, d);
    } else {
      cpu.v16[8 * d] = Number(r);
      clearAboveH(cpu, d);
    }
  }
  clearHi(cpu, d);
  cpu.pc += 4;
}

/** FRINT{N,P,M,Z,A,X,I}: rmode field bits 17:15 = 000 N, 001 P, 010 M, 011 Z, 100 A, 110 X, 111 I. */
const FRINT_RND = [Rnd.TieEven, Rnd.PosInf, Rnd.NegInf, Rnd.Zero, Rnd.TieAway, -1, -1, -1];

export function frint(cpu: Cpu, i: number): void {
  const d = rd(i);
  const n = rn(i);
  const op = (i >>> 15) & 7;
  const rnd = FRINT_RND[op]!;
  const exact = op === 6;
  if (isD(i)) {
    F.frint64(cpu, 2 * d, 2 * n, rnd, exact);
    clearHi(cpu, d);
  } else {
    F.frint32(cpu, 4 * d, 4 * n, rnd, exact);
    clearAboveS(cpu, d);
  }
  cpu.pc += 4;
}

// ---------------------------------------------------------------------------------------------
// Data-processing, two sources: opcode (bits 15:12) 0 FMUL, 1 FDIV, 2 FADD, 3 FSUB, 4 FMAX,
// 5 FMIN, 6 FMAXNM, 7 FMINNM, 8 FNMUL
// ---------------------------------------------------------------------------------------------

/** One element of a two-operand operation; shared by the scalar and vector forms. */
export function op2Elem(cpu: Cpu, op: number, dbl: boolean, d: number, n: number, m: number): void {
  if (dbl) {
    switch (op) {
      case 0:
        return F.mul64(cpu, d, n, m);
      case 1:
        return F.div64(cpu, d, n, m);
      case 2:
        return F.add64(cpu, d, n, m);
      case 3:
        return F.sub64(cpu, d, n, m);
      case 4:
        return F.maxmin64(cpu, d, n, m, Op2.Max);
      case 5:
        return F.maxmin64(cpu, d, n, m, Op2.Min);
      case 6:
        return F.maxmin64(cpu, d, n, m, Op2.MaxNum);
      case 7:
        return F.maxmin64(cpu, d, n, m, Op2.MinNum);
      default:
        return F.nmul64(cpu, d, n, m);
    }
  }
  switch (op) {
    case 0:
      return F.mul32(cpu, d, n, m);
    case 1:
      return F.div32(cpu, d, n, m);
    case 2:
      return F.add32(cpu, d, n, m);
    case 3:
      return F.sub32(cpu, d, n, m);
    case 4:
      return F.maxmin32(cpu, d, n, m, Op2.Max);
    case 5:
      return F.maxmin32(cpu, d, n, m, Op2.Min);
    case 6:
      return F.maxmin32(cpu, d, n, m, Op2.MaxNum);
    case 7:
      return F.maxmin32(cpu, d, n, m, Op2.MinNum);
    default:
      return F.nmul32(cpu, d, n, m);
  }
}

export function fdp2(cpu: Cpu, i: number): void {
  const d = rd(i);
  const op = (i >>> 12) & 15;
  if (isD(i)) {
    op2Elem(cpu, op, true, 2 * d, 2 * rn(i), 2 * rm(i));
    clearHi(cpu, d);
  } else {
    op2Elem(cpu, op, false, 4 * d, 4 * rn(i), 4 * rm(i));
    clearAboveS(cpu, d);
  }
  cpu.pc += 4;
}

// Specialised forms of the commonest two-source operations (the decoder picks these rows first).

export function faddScalar(cpu: Cpu, i: number): void {
  const d = rd(i);
  if (isD(i)) {
    F.add64(cpu, 2 * d, 2 * rn(i), 2 * rm(i));
    clearHi(cpu, d);
  } else {
    F.add32(cpu, 4 * d, 4 * rn(i), 4 * rm(i));
    clearAboveS(cpu, d);
  }
  cpu.pc += 4;
}

export function fmulScalar(cpu: Cpu, i: number): void {
  const d = rd(i);
  if (isD(i)) {
    F.mul64(cpu, 2 * d, 2 * rn(i), 2 * rm(i));
    clearHi(cpu, d);
  } else {
    F.mul32(cpu, 4 * d, 4 * rn(i), 4 * rm(i));
    clearAboveS(cpu, d);
  }
  cpu.pc += 4;
}

// ---------------------------------------------------------------------------------------------
// Data-processing, three sources (fused): o1 (bit 21), o0 (bit 15)
// FMADD a+n*m, FMSUB a-n*m, FNMADD -a-n*m, FNMSUB -a+n*m
// ---------------------------------------------------------------------------------------------

export function fdp3(cpu: Cpu, i: number): void {
  const d = rd(i);
  const a = (i >>> 10) & 31;
  const o1 = (i & (1 << 21)) !== 0;
  const o0 = (i & (1 << 15)) !== 0;
  const negA = o1;
  const negP = o1 !== o0;
  if (isD(i)) {
    F.fma64(cpu, 2 * d, 2 * a, 2 * rn(i), 2 * rm(i), negA, negP);
    clearHi(cpu, d);
  } else {
    F.fma32(cpu, 4 * d, 4 * a, 4 * rn(i), 4 * rm(i), negA, negP);
    clearAboveS(cpu, d);
  }
  cpu.pc += 4;
}

// ---------------------------------------------------------------------------------------------
// Compare, conditional compare, conditional select
// ---------------------------------------------------------------------------------------------

/** FCMP/FCMPE: bit 4 = E (signal on quiet NaN), bit 3 = compare with #0.0. */
export function fcmp(cpu: Cpu, i: number): void {
  const zero = (i & 8) !== 0;
  const signal = (i & 16) !== 0;
  const nzcv = isD(i)
    ? F.cmp64(cpu, 2 * rn(i), 2 * rm(i), zero, signal)
    : F.cmp32(cpu, 4 * rn(i), 4 * rm(i), zero, signal);
  setNzcv(cpu, nzcv);
  cpu.pc += 4;
}

export function fccmp(cpu: Cpu, i: number): void {
  if (condHolds(cpu, (i >>> 12) & 15)) {
    const signal = (i & 16) !== 0;
    setNzcv(
      cpu,
      isD(i) ? F.cmp64(cpu, 2 * rn(i), 2 * rm(i), false, signal) : F.cmp32(cpu, 4 * rn(i), 4 * rm(i), false, signal),
    );
  } else setNzcv(cpu, i & 15);
  cpu.pc += 4;
}

export function fcsel(cpu: Cpu, i: number): void {
  const d = rd(i);
  const src = condHolds(cpu, (i >>> 12) & 15) ? rn(i) : rm(i);
  if (isD(i)) {
    cpu.v[2 * d] = cpu.v[2 * src]!;
    clearHi(cpu, d);
  } else {
    cpu.v32[4 * d] = cpu.v32[4 * src]!;
    clearAboveS(cpu, d);
  }
  cpu.pc += 4;
}

// ---------------------------------------------------------------------------------------------
// Immediates
// ---------------------------------------------------------------------------------------------

/** VFPExpandImm for single precision, as a uint32 encoding. */
export function expandImmS(imm8: number): number {
  const b6 = (imm8 >>> 6) & 1;
  const exp = ((b6 ^ 1) << 7) | (b6 ? 0x7c : 0) | ((imm8 >>> 4) & 3);
  return (((imm8 >>> 7) << 31) | (exp << 23) | ((imm8 & 15) << 19)) >>> 0;
}

/** VFPExpandImm for double precision: the high 32 bits (the low 32 are zero). */
export function expandImmDHi(imm8: number): number {
  const b6 = (imm8 >>> 6) & 1;
  const exp = ((b6 ^ 1) << 10) | (b6 ? 0x3fc : 0) | ((imm8 >>> 4) & 3);
  return (((imm8 >>> 7) << 31) | (exp << 20) | ((imm8 & 15) << 16)) >>> 0;
}

export function fmovImm(cpu: Cpu, i: number): void {
  const d = rd(i);
  const imm8 = (i >>> 13) & 0xff;
  const v32 = cpu.v32;
  if (isD(i)) {
    v32[4 * d] = 0;
    v32[4 * d + 1] = expandImmDHi(imm8);
  } else {
    v32[4 * d] = expandImmS(imm8);
    v32[4 * d + 1] = 0;
  }
  clearHi(cpu, d);
  cpu.pc += 4;
}

// ---------------------------------------------------------------------------------------------
// Conversions between floating-point and integer / fixed-point
// ---------------------------------------------------------------------------------------------

/** FP to integer with rounding `rnd` and `fbits` fraction bits into general register Rd. */
function fpToGpr(cpu: Cpu, i: number, rnd: Rnd, fbits: number): void {
  const sf = i < 0;
  const unsigned = (i & (1 << 16)) !== 0;
  const slot = wz(rd(i));
  const bits = sf ? 64 : 32;
  if (isD(i)) F.toInt64(cpu, 2 * rn(i), fbits, unsigned, rnd, bits, cpu.w, 2 * slot);
  else F.toInt32(cpu, 4 * rn(i), fbits, unsigned, rnd, bits, cpu.w, 2 * slot);
  if (!sf) cpu.w[2 * slot + 1] = 0;
  cpu.pc += 4;
}

/** FCVT{N,P,M,Z}{S,U} (integer): rmode (bits 20:19) is the rounding. */
export function fcvtInt(cpu: Cpu, i: number): void {
  fpToGpr(cpu, i, ((i >>> 19) & 3) as Rnd, 0);
}

export function fcvtaInt(cpu: Cpu, i: number): void {
  fpToGpr(cpu, i, Rnd.TieAway, 0);
}

/** FCVTZS/FCVTZU (fixed-point): fbits = 64 - scale. */
export function fcvtzFixed(cpu: Cpu, i: number): void {
  fpToGpr(cpu, i, Rnd.Zero, 64 - ((i >>> 10) & 63));
}

/** SCVTF/UCVTF from a general register, with `fbits` fraction bits. */
function gprToFp(cpu: Cpu, i: number, fbits: number): void {
  const d = rd(i);
  const n = rz(rn(i));
  const unsigned = (i & (1 << 16)) !== 0;
  const w = cpu.w;
  const lo = w[2 * n]!;
  const hi = i < 0 ? (unsigned ? w[2 * n + 1]! : cpu.wi[2 * n + 1]!) : unsigned ? 0 : cpu.wi[2 * n]! >> 31;
  if (isD(i)) {
    F.fromInt64(cpu, 2 * d, lo, hi, fbits);
    clearHi(cpu, d);
  } else {
    F.fromInt32(cpu, 4 * d, lo, hi, fbits);
    clearAboveS(cpu, d);
  }
  cpu.pc += 4;
}

export function cvtfInt(cpu: Cpu, i: number): void {
  gprToFp(cpu, i, 0);
}

export function cvtfFixed(cpu: Cpu, i: number): void {
  gprToFp(cpu, i, 64 - ((i >>> 10) & 63));
}

/** FMOV (general): bit 16 = direction (1: general to FP), bit 19 = top half of V (D[1]). */
export function fmovGen(cpu: Cpu, i: number): void {
  const toFp = (i & (1 << 16)) !== 0;
  const top = (i & (1 << 19)) !== 0;
  const d = rd(i);
  const n = rn(i);
  if (i < 0) {
    if (toFp) {
      if (top) cpu.v[2 * d + 1] = cpu.x[rz(n)]!;
      else {
        cpu.v[2 * d] = cpu.x[rz(n)]!;
        clearHi(cpu, d);
      }
    } else cpu.x[wz(d)] = cpu.v[2 * n + (top ? 1 : 0)]!;
  } else if (toFp) {
    cpu.v32[4 * d] = cpu.w[2 * rz(n)]!;
    clearAboveS(cpu, d);
  } else {
    const s = wz(d);
    cpu.w[2 * s] = cpu.v32[4 * n]!;
    cpu.w[2 * s + 1] = 0;
  }
  cpu.pc += 4;
}

// ---------------------------------------------------------------------------------------------
// AdvSIMD floating-point: vector three same, two-register misc, and their scalar forms
// ---------------------------------------------------------------------------------------------

/** Lanes of a vector FP operation: sz (bit 22) selects D lanes, Q (bit 30) a 128-bit vector. */
const lanesOf = (i: number): number => (isD(i) ? 1 : 2) << ((i >>> 30) & 1);

function finishVec(cpu: Cpu, i: number, d: number): void {
  if ((i & (1 << 30)) === 0) clearHi(cpu, d);
  cpu.pc += 4;
}

/** Opcode of a vector three-same FP operation, mapped onto op2Elem's numbering. */
export function vecFp2(op: number): (cpu: Cpu, i: number) => void {
  return (cpu, i) => {
    const d = rd(i);
    const n = rn(i);
    const m = rm(i);
    const dbl = isD(i);
    const lanes = lanesOf(i);
    const k = dbl ? 2 : 4;
    for (let e = 0; e < lanes; e++) op2Elem(cpu, op, dbl, k * d + e, k * n + e, k * m + e);
    finishVec(cpu, i, d);
  };
}

export const faddVec = (cpu: Cpu, i: number): void => {
  const d = rd(i);
  const n = rn(i);
  const m = rm(i);
  if (isD(i)) {
    F.add64(cpu, 2 * d, 2 * n, 2 * m);
    F.add64(cpu, 2 * d + 1, 2 * n + 1, 2 * m + 1);
  } else {
    const lanes = lanesOf(i);
    for (let e = 0; e < lanes; e++) F.add32(cpu, 4 * d + e, 4 * n + e, 4 * m + e);
  }
  finishVec(cpu, i, d);
};

export const fmulVec = (cpu: Cpu, i: number): void => {
  const d = rd(i);
  const n = rn(i);
  const m = rm(i);
  if (isD(i)) {
    F.mul64(cpu, 2 * d, 2 * n, 2 * m);
    F.mul64(cpu, 2 * d + 1, 2 * n + 1, 2 * m + 1);
  } else {
    const lanes = lanesOf(i);
    for (let e = 0; e < lanes; e++) F.mul32(cpu, 4 * d + e, 4 * n + e, 4 * m + e);
  }
  finishVec(cpu, i, d);
};

/** FMLA (bit 23 = 0) / FMLS (bit 23 = 1), vector: Vd += (or -=) Vn * Vm, fused per lane. */
export function fmlaVec(cpu: Cpu, i: number): void {
  const d = rd(i);
  const n = rn(i);
  const m = rm(i);
  const neg = (i & (1 << 23)) !== 0;
  const lanes = lanesOf(i);
  if (isD(i)) for (let e = 0; e < lanes; e++) F.fma64(cpu, 2 * d + e, 2 * d + e, 2 * n + e, 2 * m + e, false, neg);
  else for (let e = 0; e < lanes; e++) F.fma32(cpu, 4 * d + e, 4 * d + e, 4 * n + e, 4 * m + e, false, neg);
  finishVec(cpu, i, d);
}

/** FABS (U=0) / FNEG (U=1), vector: sign-bit operations, no exceptions. */
export function fabsNegVec(cpu: Cpu, i: number): void {
  const d = rd(i);
  const n = rn(i);
  const neg = (i & (1 << 29)) !== 0;
  if (isD(i)) {
    for (let e = 0; e < lanesOf(i); e++) {
      const x = cpu.v[2 * n + e]!;
      cpu.v[2 * d + e] = neg ? x ^ 0x8000000000000000n : x & 0x7fffffffffffffffn;
    }
  } else {
    for (let e = 0; e < lanesOf(i); e++) {
      const x = cpu.v32[4 * n + e]!;
      cpu.v32[4 * d + e] = neg ? x ^ 0x80000000 : x & 0x7fffffff;
    }
  }
  finishVec(cpu, i, d);
}

export function fsqrtVec(cpu: Cpu, i: number): void {
  const d = rd(i);
  const n = rn(i);
  if (isD(i)) for (let e = 0; e < lanesOf(i); e++) F.sqrt64(cpu, 2 * d + e, 2 * n + e);
  else for (let e = 0; e < lanesOf(i); e++) F.sqrt32(cpu, 4 * d + e, 4 * n + e);
  finishVec(cpu, i, d);
}

/** SCVTF/UCVTF (vector, integer): U is bit 29. Lanes are converted in place of the same width. */
function cvtfLanes(cpu: Cpu, i: number, d: number, n: number, lanes: number): void {
  const unsigned = (i & (1 << 29)) !== 0;
  const w = cpu.v32;
  if (isD(i)) {
    for (let e = 0; e < lanes; e++) {
      const lo = w[4 * n + 2 * e]!;
      const hi = unsigned ? w[4 * n + 2 * e + 1]! : w[4 * n + 2 * e + 1]! | 0;
      F.fromInt64(cpu, 2 * d + e, lo, hi, 0);
    }
  } else {
    for (let e = 0; e < lanes; e++) {
      const x = w[4 * n + e]!;
      F.fromInt32(cpu, 4 * d + e, x, unsigned ? 0 : (x | 0) >> 31, 0);
    }
  }
}

export function cvtfVec(cpu: Cpu, i: number): void {
  const d = rd(i);
  cvtfLanes(cpu, i, d, rn(i), lanesOf(i));
  finishVec(cpu, i, d);
}

/** FCVTZS/FCVTZU (vector, integer). */
function cvtzLanes(cpu: Cpu, i: number, d: number, n: number, lanes: number): void {
  const unsigned = (i & (1 << 29)) !== 0;
  if (isD(i))
    for (let e = 0; e < lanes; e++) F.toInt64(cpu, 2 * n + e, 0, unsigned, Rnd.Zero, 64, cpu.v32, 4 * d + 2 * e);
  else for (let e = 0; e < lanes; e++) F.toInt32(cpu, 4 * n + e, 0, unsigned, Rnd.Zero, 32, cpu.v32, 4 * d + e);
}

export function cvtzVec(cpu: Cpu, i: number): void {
  const d = rd(i);
  cvtzLanes(cpu, i, d, rn(i), lanesOf(i));
  finishVec(cpu, i, d);
}

/** Scalar SCVTF/UCVTF (Sd/Dd from the integer in Sn/Dn). */
export function cvtfScalar(cpu: Cpu, i: number): void {
  const d = rd(i);
  cvtfLanes(cpu, i, d, rn(i), 1);
  if (!isD(i)) clearAboveS(cpu, d);
  clearHi(cpu, d);
  cpu.pc += 4;
}

export function cvtzScalar(cpu: Cpu, i: number): void {
  const d = rd(i);
  cvtzLanes(cpu, i, d, rn(i), 1);
  if (!isD(i)) clearAboveS(cpu, d);
  clearHi(cpu, d);
  cpu.pc += 4;
}

/**
 * FMLA (op 0001), FMLS (op 0101), FMUL (op 1001) by element, vector or scalar (bit 28). The
 * element is Vm.S[H:L] or Vm.D[H] with m = M:Rm. Lanes are processed with the one that may
 * overlap the element (Vd == Vm) last, so every lane sees the element's original value.
 */
export function fpByElement(cpu: Cpu, i: number): void {
  const d = rd(i);
  const n = rn(i);
  const m = (i >>> 16) & 31;
  const dbl = isD(i);
  const h = (i >>> 11) & 1;
  const index = dbl ? h : (h << 1) | ((i >>> 21) & 1);
  const op = (i >>> 12) & 15;
  const scalar = (i & (1 << 28)) !== 0;
  const lanes = scalar ? 1 : lanesOf(i);
  const k = dbl ? 2 : 4;
  const el = k * m + index;
  const last = d === m && index < lanes ? index : -1;
  for (let j = 0; j <= lanes; j++) {
    const e = j < lanes ? (j === last ? -1 : j) : last;
    if (e < 0) continue;
    const de = k * d + e;
    const ne = k * n + e;
    if (op === 0b1001) {
      if (dbl) F.mul64(cpu, de, ne, el);
      else F.mul32(cpu, de, ne, el);
    } else if (dbl) F.fma64(cpu, de, de, ne, el, false, op === 0b0101);
    else F.fma32(cpu, de, de, ne, el, false, op === 0b0101);
  }
  if (scalar) {
    if (!dbl) clearAboveS(cpu, d);
    clearHi(cpu, d);
    cpu.pc += 4;
  } else finishVec(cpu, i, d);
}

/**
 * FCVTN/FCVTN2 (op 10110) and FCVTL/FCVTL2 (op 10111): sz 0 converts between half and single,
 * sz 1 between single and double; Q selects the upper half of the narrow vector. The sources are
 * read before any lane is written.
 */
export function fcvtNarrowLong(cpu: Cpu, i: number): void {
  const d = rd(i);
  const n = rn(i);
  const wide = isD(i) ? D : S;
  const narrow = isD(i) ? S : H;
  const long = (i & (1 << 12)) !== 0;
  const upper = (i >>> 30) & 1;
  const lanes = isD(i) ? 2 : 4;
  const src: bigint[] = [];
  for (let e = 0; e < lanes; e++) {
    if (long)
      src.push(narrow === S ? BigInt(cpu.v32[4 * n + upper * 2 + e]!) : BigInt(cpu.v16[8 * n + upper * 4 + e]!));
    else src.push(wide === D ? cpu.v[2 * n + e]! : BigInt(cpu.v32[4 * n + e]!));
  }
  for (let e = 0; e < lanes; e++) {
    if (long) {
      const r = F.cvtHalf(cpu, narrow, wide, src[e]!);
      if (wide === D) cpu.v[2 * d + e] = r;
      else cpu.v32[4 * d + e] = Number(r);
    } else {
      const r = Number(F.cvtHalf(cpu, wide, narrow, src[e]!));
      if (narrow === S) cpu.v32[4 * d + upper * 2 + e] = r;
      else cpu.v16[8 * d + upper * 4 + e] = r;
    }
  }
  if (!long && !upper) clearHi(cpu, d);
  cpu.pc += 4;
}
