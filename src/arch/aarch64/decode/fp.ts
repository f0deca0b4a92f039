// Rows of the scalar floating-point and AdvSIMD encodings that compilers emit for ordinary C
// (Arm ARM C4.1.95 "Data Processing -- Scalar Floating-Point and Advanced SIMD"). Loads and stores
// of SIMD&FP registers are in ldst.ts. Disassembly follows llvm-mc's spelling, including its
// preferred aliases (mov for ORR/INS/UMOV/DUP-scalar, mvn for NOT).
//
// The model is an Armv8.0 Cortex-A57: half-precision arithmetic (FEAT_FP16) is unallocated,
// so `ok` guards reject ftype == 0b11 everywhere except FCVT.

import { group, insn } from './table.js';
import * as x from '../exec/fp.js';
import * as s from '../exec/fp-simd.js';
import { COND_NAMES } from '../exec/common.js';
import { gpr, wn, xn } from '../disasm-util.js';

const rd = (i: number): number => i & 31;
const rn = (i: number): number => (i >>> 5) & 31;
const rm = (i: number): number => (i >>> 16) & 31;
const ftype = (i: number): number => (i >>> 22) & 3;
const qOf = (i: number): number => (i >>> 30) & 1;
const sizeOf = (i: number): number => (i >>> 22) & 3;
const uOf = (i: number): number => (i >>> 29) & 1;

/** Scalar FP register by ftype: 0 single, 1 double, 3 half. */
const fr = (t: number, r: number): string => `${t === 0 ? 's' : t === 1 ? 'd' : 'h'}${r}`;
/** Scalar SIMD register by element size (log2 bytes). */
const sr = (size: number, r: number): string => `${'bhsd'[size]}${r}`;
const ARR = ['8b', '16b', '4h', '8h', '2s', '4s', '1d', '2d'];
/** A vector register with arrangement for element size `size` and Q. */
const vr = (r: number, size: number, q: number): string => `v${r}.${ARR[size * 2 + q]}`;
/** Vector FP arrangement: sz 0 → 2s/4s, sz 1 → 2d. */
const vf = (r: number, i: number): string => vr(r, 2 + ((i >>> 22) & 1), qOf(i));
const elt = (r: number, size: number, k: number): string => `v${r}.${'bhsd'[size]}[${k}]`;

const scalarFp = (i: number): boolean => ftype(i) < 2;
const notReservedVec = (i: number): boolean => !(sizeOf(i) === 3 && qOf(i) === 0);
const fpVecOk = (i: number): boolean => !((i & (1 << 22)) !== 0 && qOf(i) === 0);

// ---------------------------------------------------------------------------------------------
// Disassembly helpers
// ---------------------------------------------------------------------------------------------

function fmtUnary(m: string) {
  return (i: number): string => `${m}\t${fr(ftype(i), rd(i))}, ${fr(ftype(i), rn(i))}`;
}

const FRINT = ['frintn', 'frintp', 'frintm', 'frintz', 'frinta', '', 'frintx', 'frinti'];
const DP2 = ['fmul', 'fdiv', 'fadd', 'fsub', 'fmax', 'fmin', 'fmaxnm', 'fminnm', 'fnmul'];

function fmtDp2(i: number): string {
  const t = ftype(i);
  return `${DP2[(i >>> 12) & 15]}\t${fr(t, rd(i))}, ${fr(t, rn(i))}, ${fr(t, rm(i))}`;
}

function fmtDp3(i: number): string {
  const t = ftype(i);
  const m = ['fmadd', 'fmsub', 'fnmadd', 'fnmsub'][((i >>> 20) & 2) | ((i >>> 15) & 1)];
  return `${m}\t${fr(t, rd(i))}, ${fr(t, rn(i))}, ${fr(t, rm(i))}, ${fr(t, (i >>> 10) & 31)}`;
}

/** The value of an 8-bit FP immediate (VFPExpandImm), printed as LLVM does: eight decimals. */
export function fpImm8(imm8: number): string {
  // imm8 = a:bcd:efgh → (-1)^a * (1 + efgh/16) * 2^n with n = cd+1 (b = 0) or cd-3 (b = 1)
  const bcd = (imm8 >>> 4) & 7;
  const n = bcd >= 4 ? bcd - 7 : bcd + 1;
  const mag = ((16 + (imm8 & 15)) / 16) * 2 ** n;
  return `#${imm8 & 0x80 ? '-' : ''}${mag.toFixed(8)}`;
}

function fmtCvtInt(m: string, fixed: boolean) {
  return (i: number): string => {
    const sf = i < 0 ? 1 : 0;
    const fbits = fixed ? `, #${64 - ((i >>> 10) & 63)}` : '';
    return `${m}\t${gpr(sf, rd(i))}, ${fr(ftype(i), rn(i))}${fbits}`;
  };
}

function fmtCvtf(i: number, fixed: boolean): string {
  const m = i & (1 << 16) ? 'ucvtf' : 'scvtf';
  const fbits = fixed ? `, #${64 - ((i >>> 10) & 63)}` : '';
  return `${m}\t${fr(ftype(i), rd(i))}, ${gpr(i < 0 ? 1 : 0, rn(i))}${fbits}`;
}

function fmtFmovGen(i: number): string {
  const toFp = (i & (1 << 16)) !== 0;
  const top = (i & (1 << 19)) !== 0;
  const sf = i < 0 ? 1 : 0;
  const fpReg = top ? `v${toFp ? rd(i) : rn(i)}.d[1]` : fr(ftype(i), toFp ? rd(i) : rn(i));
  return toFp ? `fmov\t${fpReg}, ${gpr(sf, rn(i))}` : `fmov\t${gpr(sf, rd(i))}, ${fpReg}`;
}

function fmovGenOk(i: number): boolean {
  const sf = i < 0 ? 1 : 0;
  const t = ftype(i);
  const rmode = (i >>> 19) & 3;
  return (
    (sf === 0 && t === 0 && rmode === 0) || (sf === 1 && t === 1 && rmode === 0) || (sf === 1 && t === 2 && rmode === 1)
  );
}

const fixedOk = (i: number): boolean => scalarFp(i) && (i < 0 || ((i >>> 10) & 63) >= 32);

// ---- AdvSIMD ----

function fmtModImm(i: number): string {
  const d = rd(i);
  const q = qOf(i);
  const op = uOf(i);
  const cmode = (i >>> 12) & 15;
  const imm8 = ((i >>> 11) & 0xe0) | ((i >>> 5) & 31);
  if (cmode === 15) {
    return `fmov\t${vr(d, 2 + op, q)}, ${fpImm8(imm8)}`;
  }
  if (cmode === 14) {
    if (op === 0) return `movi\t${vr(d, 0, q)}, #${imm8}`;
    const [lo, hi] = s.expandSimdImm(1, 14, imm8);
    const v = (BigInt(hi) << 32n) | BigInt(lo);
    // LLVM prints this with printf's %#016llx: the 0x prefix counts towards the 16 digits, and 0 has none.
    const text = v === 0n ? '#0000000000000000' : `#0x${v.toString(16).padStart(14, '0')}`;
    return q ? `movi\tv${d}.2d, ${text}` : `movi\td${d}, ${text}`;
  }
  let m: string;
  let size: number;
  let shift: string;
  if (cmode < 8) {
    size = 2;
    m = cmode & 1 ? (op ? 'bic' : 'orr') : op ? 'mvni' : 'movi';
    const amount = 8 * (cmode >>> 1);
    shift = amount ? `, lsl #${amount}` : '';
  } else if (cmode < 12) {
    size = 1;
    m = cmode & 1 ? (op ? 'bic' : 'orr') : op ? 'mvni' : 'movi';
    const amount = 8 * ((cmode >>> 1) & 1);
    shift = amount ? `, lsl #${amount}` : '';
  } else {
    size = 2;
    m = op ? 'mvni' : 'movi';
    shift = `, msl #${cmode & 1 ? 16 : 8}`;
  }
  return `${m}\t${vr(d, size, q)}, #${imm8}${shift}`;
}

const imm5Ok = (i: number): boolean => ((i >>> 16) & 15) !== 0;

function fmtDupElem(i: number): string {
  const z = s.imm5Size(i);
  const k = ((i >>> 16) & 31) >>> (z + 1);
  return `dup\t${vr(rd(i), z, qOf(i))}, ${elt(rn(i), z, k)}`;
}

function fmtDupGen(i: number): string {
  const z = s.imm5Size(i);
  return `dup\t${vr(rd(i), z, qOf(i))}, ${z === 3 ? xn(rn(i)) : wn(rn(i))}`;
}

function fmtDupScalar(i: number): string {
  const z = s.imm5Size(i);
  const k = ((i >>> 16) & 31) >>> (z + 1);
  return `mov\t${sr(z, rd(i))}, ${elt(rn(i), z, k)}`;
}

function fmtInsGen(i: number): string {
  const z = s.imm5Size(i);
  const k = ((i >>> 16) & 31) >>> (z + 1);
  return `mov\t${elt(rd(i), z, k)}, ${z === 3 ? xn(rn(i)) : wn(rn(i))}`;
}

function fmtInsElem(i: number): string {
  const z = s.imm5Size(i);
  const k = ((i >>> 16) & 31) >>> (z + 1);
  const k2 = ((i >>> 11) & 15) >>> z;
  return `mov\t${elt(rd(i), z, k)}, ${elt(rn(i), z, k2)}`;
}

function fmtUmov(i: number): string {
  const z = s.imm5Size(i);
  const k = ((i >>> 16) & 31) >>> (z + 1);
  if (z === 3) return `mov\t${xn(rd(i))}, ${elt(rn(i), z, k)}`;
  return `${z === 2 ? 'mov' : 'umov'}\t${wn(rd(i))}, ${elt(rn(i), z, k)}`;
}

function fmtSmov(i: number): string {
  const z = s.imm5Size(i);
  const k = ((i >>> 16) & 31) >>> (z + 1);
  return `smov\t${gpr(qOf(i), rd(i))}, ${elt(rn(i), z, k)}`;
}

function fmt3(m: string) {
  return (i: number): string => {
    const z = sizeOf(i);
    const q = qOf(i);
    return `${m}\t${vr(rd(i), z, q)}, ${vr(rn(i), z, q)}, ${vr(rm(i), z, q)}`;
  };
}

function fmt3Scalar(m: string) {
  return (i: number): string => `${m}\td${rd(i)}, d${rn(i)}, d${rm(i)}`;
}

const CMP_REG = (i: number): string => {
  const u = uOf(i);
  const op = (i >>> 11) & 31;
  if (op === 0b10001) return u ? 'cmeq' : 'cmtst';
  return [
    ['cmgt', 'cmge'],
    ['cmhi', 'cmhs'],
  ][u]![op & 1]!;
};

const CMP_ZERO = (i: number): string => {
  const u = uOf(i);
  const op = (i >>> 12) & 31;
  if (op === 0b01000) return u ? 'cmge' : 'cmgt';
  if (op === 0b01001) return u ? 'cmle' : 'cmeq';
  return 'cmlt';
};

function fmtLogic(i: number): string {
  const q = qOf(i);
  const op = (uOf(i) << 2) | sizeOf(i);
  if (op === 2 && rn(i) === rm(i)) return `mov\t${vr(rd(i), 0, q)}, ${vr(rn(i), 0, q)}`;
  const m = ['and', 'bic', 'orr', 'orn', 'eor', 'bsl', 'bit', 'bif'][op]!;
  return `${m}\t${vr(rd(i), 0, q)}, ${vr(rn(i), 0, q)}, ${vr(rm(i), 0, q)}`;
}

function fmt2(m: string) {
  return (i: number): string => {
    const z = sizeOf(i);
    const q = qOf(i);
    return `${m}\t${vr(rd(i), z, q)}, ${vr(rn(i), z, q)}`;
  };
}

function fmtAcross(i: number): string {
  const u = uOf(i);
  const op = (i >>> 12) & 31;
  const z = sizeOf(i);
  const src = vr(rn(i), z, qOf(i));
  switch (op) {
    case 0b11011:
      return `addv\t${sr(z, rd(i))}, ${src}`;
    case 0b00011:
      return `${u ? 'u' : 's'}addlv\t${sr(z + 1, rd(i))}, ${src}`;
    case 0b01100:
    case 0b01111: {
      const m = `f${z & 2 ? 'min' : 'max'}${op === 0b01100 ? 'nm' : ''}v`;
      return `${m}\ts${rd(i)}, v${rn(i)}.4s`;
    }
    default:
      return `${u ? 'u' : 's'}${op === 0b01010 ? 'max' : 'min'}v\t${sr(z, rd(i))}, ${src}`;
  }
}

function acrossOk(i: number): boolean {
  const z = sizeOf(i);
  const op = (i >>> 12) & 31;
  if (op === 0b01100 || op === 0b01111) return uOf(i) === 1 && qOf(i) === 1 && (z & 1) === 0;
  if (z === 3 || (z === 2 && qOf(i) === 0)) return false;
  if (op === 0b11011) return uOf(i) === 0;
  return op === 0b01010 || op === 0b11010 || op === 0b00011;
}

function fmtPermute(i: number): string {
  const m = ['', 'uzp1', 'trn1', 'zip1', '', 'uzp2', 'trn2', 'zip2'][(i >>> 12) & 7]!;
  return fmt3(m)(i);
}

function shiftSize(i: number): number {
  return s.immhSize(i);
}

function fmtShr(i: number, scalar: boolean): string {
  const z = shiftSize(i);
  const sh = 2 * (8 << z) - ((i >>> 16) & 127);
  const m = uOf(i) ? 'ushr' : 'sshr';
  if (scalar) return `${m}\td${rd(i)}, d${rn(i)}, #${sh}`;
  return `${m}\t${vr(rd(i), z, qOf(i))}, ${vr(rn(i), z, qOf(i))}, #${sh}`;
}

function fmtShl(i: number, scalar: boolean): string {
  const z = shiftSize(i);
  const sh = ((i >>> 16) & 127) - (8 << z);
  if (scalar) return `shl\td${rd(i)}, d${rn(i)}, #${sh}`;
  return `shl\t${vr(rd(i), z, qOf(i))}, ${vr(rn(i), z, qOf(i))}, #${sh}`;
}

function fmtShll(i: number): string {
  const z = shiftSize(i);
  const sh = ((i >>> 16) & 127) - (8 << z);
  const m = `${uOf(i) ? 'u' : 's'}shll${qOf(i) ? '2' : ''}`;
  return `${m}\t${vr(rd(i), z + 1, 1)}, ${vr(rn(i), z, qOf(i))}, #${sh}`;
}

const vecShiftOk = (i: number): boolean => {
  const immh = (i >>> 19) & 15;
  return immh !== 0 && !(immh >= 8 && qOf(i) === 0);
};

function fmtFpVec3(m: string) {
  return (i: number): string => `${m}\t${vf(rd(i), i)}, ${vf(rn(i), i)}, ${vf(rm(i), i)}`;
}

function fmtFpVec2(m: string) {
  return (i: number): string => `${m}\t${vf(rd(i), i)}, ${vf(rn(i), i)}`;
}

function fmtFpScalar2(m: string) {
  return (i: number): string => {
    const r = i & (1 << 22) ? 'd' : 's';
    return `${m}\t${r}${rd(i)}, ${r}${rn(i)}`;
  };
}

function fmtByElem(i: number): string {
  const op = (i >>> 12) & 15;
  const m = op === 0b1001 ? 'fmul' : op === 0b0101 ? 'fmls' : 'fmla';
  const dbl = (i & (1 << 22)) !== 0;
  const h = (i >>> 11) & 1;
  const index = dbl ? h : (h << 1) | ((i >>> 21) & 1);
  const e = `v${(i >>> 16) & 31}.${dbl ? 'd' : 's'}[${index}]`;
  if (i & (1 << 28)) {
    const r = dbl ? 'd' : 's';
    return `${m}\t${r}${rd(i)}, ${r}${rn(i)}, ${e}`;
  }
  return `${m}\t${vf(rd(i), i)}, ${vf(rn(i), i)}, ${e}`;
}

const byElemScalarOk = (i: number): boolean => (i & (1 << 22)) === 0 || (i & (1 << 21)) === 0;
const byElemOk = (i: number): boolean => byElemScalarOk(i) && fpVecOk(i);

function fmtCvtNL(i: number): string {
  const q = qOf(i);
  const dbl = (i & (1 << 22)) !== 0;
  const narrow = `v${(i & (1 << 12)) !== 0 ? rn(i) : rd(i)}.${dbl ? (q ? '4s' : '2s') : q ? '8h' : '4h'}`;
  const wide = `v${(i & (1 << 12)) !== 0 ? rd(i) : rn(i)}.${dbl ? '2d' : '4s'}`;
  const m = `${(i & (1 << 12)) !== 0 ? 'fcvtl' : 'fcvtn'}${q ? '2' : ''}`;
  return (i & (1 << 12)) !== 0 ? `${m}\t${wide}, ${narrow}` : `${m}\t${narrow}, ${wide}`;
}

// ---------------------------------------------------------------------------------------------
// The rows
// ---------------------------------------------------------------------------------------------

export const fp = group('Scalar floating-point and AdvSIMD', [
  // ---- scalar floating-point data-processing, one source ----
  insn('FMOV (register)', '00011110 ftype:2 1 0000 00 10000 Rn:5 Rd:5', x.fmovReg, fmtUnary('fmov'), { ok: scalarFp }),
  insn('FABS (scalar)', '00011110 ftype:2 1 0000 01 10000 Rn:5 Rd:5', x.fabs, fmtUnary('fabs'), { ok: scalarFp }),
  insn('FNEG (scalar)', '00011110 ftype:2 1 0000 10 10000 Rn:5 Rd:5', x.fneg, fmtUnary('fneg'), { ok: scalarFp }),
  insn('FSQRT (scalar)', '00011110 ftype:2 1 0000 11 10000 Rn:5 Rd:5', x.fsqrt, fmtUnary('fsqrt'), { ok: scalarFp }),
  insn(
    'FCVT',
    '00011110 ftype:2 1 0001 opc:2 10000 Rn:5 Rd:5',
    x.fcvt,
    (i) => `fcvt\t${fr((i >>> 15) & 3, rd(i))}, ${fr(ftype(i), rn(i))}`,
    { ok: (i) => ftype(i) !== 2 && ((i >>> 15) & 3) !== 2 && ((i >>> 15) & 3) !== ftype(i) },
  ),
  insn(
    'FRINT (scalar)',
    '00011110 ftype:2 1 001 rmode:3 10000 Rn:5 Rd:5',
    x.frint,
    (i) => fmtUnary(FRINT[(i >>> 15) & 7]!)(i),
    { ok: (i) => scalarFp(i) && ((i >>> 15) & 7) !== 5 },
  ),

  // ---- compare, conditional compare, conditional select ----
  insn(
    'FCMP/FCMPE',
    '00011110 ftype:2 1 Rm:5 00 1000 Rn:5 e z 000',
    x.fcmp,
    (i) => {
      const t = ftype(i);
      return `${i & 16 ? 'fcmpe' : 'fcmp'}\t${fr(t, rn(i))}, ${i & 8 ? '#0.0' : fr(t, rm(i))}`;
    },
    { ok: scalarFp },
  ),
  insn(
    'FCCMP/FCCMPE',
    '00011110 ftype:2 1 Rm:5 cond:4 01 Rn:5 op nzcv:4',
    x.fccmp,
    (i) => {
      const t = ftype(i);
      return `${i & 16 ? 'fccmpe' : 'fccmp'}\t${fr(t, rn(i))}, ${fr(t, rm(i))}, #${i & 15}, ${COND_NAMES[(i >>> 12) & 15]}`;
    },
    { ok: scalarFp },
  ),
  insn(
    'FCSEL',
    '00011110 ftype:2 1 Rm:5 cond:4 11 Rn:5 Rd:5',
    x.fcsel,
    (i) => {
      const t = ftype(i);
      return `fcsel\t${fr(t, rd(i))}, ${fr(t, rn(i))}, ${fr(t, rm(i))}, ${COND_NAMES[(i >>> 12) & 15]}`;
    },
    { ok: scalarFp },
  ),

  // ---- data-processing, two sources (FADD and FMUL have their own rows: they are the hot ones) ----
  insn('FADD (scalar)', '00011110 ftype:2 1 Rm:5 0010 10 Rn:5 Rd:5', x.faddScalar, fmtDp2, { ok: scalarFp }),
  insn('FMUL (scalar)', '00011110 ftype:2 1 Rm:5 0000 10 Rn:5 Rd:5', x.fmulScalar, fmtDp2, { ok: scalarFp }),
  insn('FP data-processing (2 source)', '00011110 ftype:2 1 Rm:5 opcode:4 10 Rn:5 Rd:5', x.fdp2, fmtDp2, {
    ok: (i) => scalarFp(i) && ((i >>> 12) & 15) <= 8,
  }),

  // ---- immediate ----
  insn(
    'FMOV (scalar, immediate)',
    '00011110 ftype:2 1 imm8:8 100 00000 Rd:5',
    x.fmovImm,
    (i) => `fmov\t${fr(ftype(i), rd(i))}, ${fpImm8((i >>> 13) & 0xff)}`,
    { ok: scalarFp },
  ),

  // ---- data-processing, three sources ----
  insn('FMADD/FMSUB/FNMADD/FNMSUB', '00011111 ftype:2 o1 Rm:5 o0 Ra:5 Rn:5 Rd:5', x.fdp3, fmtDp3, { ok: scalarFp }),

  // ---- conversions between floating-point and integer ----
  insn(
    'FCVT{N,P,M,Z}{S,U} (scalar, integer)',
    'sf 0011110 ftype:2 1 rmode:2 00 u 000000 Rn:5 Rd:5',
    x.fcvtInt,
    (i) => fmtCvtInt(`fcvt${'npmz'[(i >>> 19) & 3]}${i & (1 << 16) ? 'u' : 's'}`, false)(i),
    { ok: scalarFp },
  ),
  insn(
    'FCVTA{S,U} (scalar)',
    'sf 0011110 ftype:2 1 00 10 u 000000 Rn:5 Rd:5',
    x.fcvtaInt,
    (i) => fmtCvtInt(i & (1 << 16) ? 'fcvtau' : 'fcvtas', false)(i),
    { ok: scalarFp },
  ),
  insn(
    'SCVTF/UCVTF (scalar, integer)',
    'sf 0011110 ftype:2 1 00 01 u 000000 Rn:5 Rd:5',
    x.cvtfInt,
    (i) => fmtCvtf(i, false),
    { ok: scalarFp },
  ),
  insn('FMOV (general)', 'sf 0011110 ftype:2 1 rmode:2 11 dir 000000 Rn:5 Rd:5', x.fmovGen, fmtFmovGen, {
    ok: fmovGenOk,
  }),

  // ---- conversions between floating-point and fixed-point ----
  insn(
    'SCVTF/UCVTF (scalar, fixed-point)',
    'sf 0011110 ftype:2 0 00 01 u scale:6 Rn:5 Rd:5',
    x.cvtfFixed,
    (i) => fmtCvtf(i, true),
    { ok: fixedOk },
  ),
  insn(
    'FCVTZS/FCVTZU (scalar, fixed-point)',
    'sf 0011110 ftype:2 0 11 00 u scale:6 Rn:5 Rd:5',
    x.fcvtzFixed,
    (i) => fmtCvtInt(i & (1 << 16) ? 'fcvtzu' : 'fcvtzs', true)(i),
    { ok: fixedOk },
  ),

  // ---- AdvSIMD copy ----
  insn('DUP (element)', '0 Q 0 01110000 imm5:5 0 0000 1 Rn:5 Rd:5', s.dupElement, fmtDupElem, {
    ok: (i) => imm5Ok(i) && !(s.imm5Size(i) === 3 && qOf(i) === 0),
  }),
  insn('DUP (general)', '0 Q 0 01110000 imm5:5 0 0001 1 Rn:5 Rd:5', s.dupGeneral, fmtDupGen, {
    ok: (i) => imm5Ok(i) && !(s.imm5Size(i) === 3 && qOf(i) === 0),
  }),
  insn('INS (general)', '0 1 0 01110000 imm5:5 0 0011 1 Rn:5 Rd:5', s.insGeneral, fmtInsGen, { ok: imm5Ok }),
  insn('SMOV', '0 Q 0 01110000 imm5:5 0 0101 1 Rn:5 Rd:5', s.smov, fmtSmov, {
    ok: (i) => imm5Ok(i) && s.imm5Size(i) < 2 + qOf(i),
  }),
  insn('UMOV', '0 Q 0 01110000 imm5:5 0 0111 1 Rn:5 Rd:5', s.umov, fmtUmov, {
    ok: (i) => imm5Ok(i) && (qOf(i) === 1 ? s.imm5Size(i) === 3 : s.imm5Size(i) < 3),
  }),
  insn('INS (element)', '0 1 1 01110000 imm5:5 0 imm4:4 1 Rn:5 Rd:5', s.insElement, fmtInsElem, { ok: imm5Ok }),
  insn('DUP (element, scalar)', '01 0 11110000 imm5:5 0 0000 1 Rn:5 Rd:5', s.dupScalar, fmtDupScalar, {
    ok: imm5Ok,
  }),

  // ---- AdvSIMD modified immediate ----
  insn(
    'MOVI/MVNI/ORR/BIC/FMOV (vector, immediate)',
    '0 Q op 0111100000 abc:3 cmode:4 0 1 defgh:5 Rd:5',
    s.modImm,
    fmtModImm,
    { ok: (i) => !(uOf(i) === 1 && ((i >>> 12) & 15) === 15 && qOf(i) === 0) },
  ),

  // ---- AdvSIMD three same (integer) ----
  insn(
    'ADD/SUB (vector)',
    '0 Q U 01110 size:2 1 Rm:5 10000 1 Rn:5 Rd:5',
    s.addSub,
    (i) => fmt3(uOf(i) ? 'sub' : 'add')(i),
    {
      ok: notReservedVec,
    },
  ),
  insn('ADD/SUB (scalar)', '01 U 11110 11 1 Rm:5 10000 1 Rn:5 Rd:5', s.addSub, (i) =>
    fmt3Scalar(uOf(i) ? 'sub' : 'add')(i),
  ),
  insn('MUL (vector)', '0 Q 0 01110 size:2 1 Rm:5 10011 1 Rn:5 Rd:5', s.mulVec, fmt3('mul'), {
    ok: (i) => sizeOf(i) < 3,
  }),
  insn(
    'CMGT/CMGE/CMHI/CMHS (register)',
    '0 Q U 01110 size:2 1 Rm:5 0011 o 1 Rn:5 Rd:5',
    s.cmpReg,
    (i) => fmt3(CMP_REG(i))(i),
    {
      ok: notReservedVec,
    },
  ),
  insn('CMEQ/CMTST (register)', '0 Q U 01110 size:2 1 Rm:5 10001 1 Rn:5 Rd:5', s.cmpReg, (i) => fmt3(CMP_REG(i))(i), {
    ok: notReservedVec,
  }),
  insn('CMGT/CMGE/CMHI/CMHS (scalar register)', '01 U 11110 11 1 Rm:5 0011 o 1 Rn:5 Rd:5', s.cmpReg, (i) =>
    fmt3Scalar(CMP_REG(i))(i),
  ),
  insn('CMEQ/CMTST (scalar register)', '01 U 11110 11 1 Rm:5 10001 1 Rn:5 Rd:5', s.cmpReg, (i) =>
    fmt3Scalar(CMP_REG(i))(i),
  ),
  insn('AND/BIC/ORR/ORN/EOR/BSL/BIT/BIF (vector)', '0 Q U 01110 opc2:2 1 Rm:5 00011 1 Rn:5 Rd:5', s.logic, fmtLogic),
  insn('ADDP (vector)', '0 Q 0 01110 size:2 1 Rm:5 10111 1 Rn:5 Rd:5', s.addpVec, fmt3('addp'), { ok: notReservedVec }),

  insn(
    'SMAX/SMIN/UMAX/UMIN (vector)',
    '0 Q U 01110 size:2 1 Rm:5 0110 o 1 Rn:5 Rd:5',
    s.minMax,
    (i) => fmt3(`${uOf(i) ? 'u' : 's'}${i & (1 << 11) ? 'min' : 'max'}`)(i),
    { ok: (i) => sizeOf(i) < 3 },
  ),
  insn(
    'MLA/MLS (vector)',
    '0 Q U 01110 size:2 1 Rm:5 10010 1 Rn:5 Rd:5',
    s.mlaInt,
    (i) => fmt3(uOf(i) ? 'mls' : 'mla')(i),
    {
      ok: (i) => sizeOf(i) < 3,
    },
  ),

  // ---- AdvSIMD two-register miscellaneous (integer) ----
  insn(
    'ABS/NEG (vector)',
    '0 Q U 01110 size:2 10000 01011 10 Rn:5 Rd:5',
    s.absNeg,
    (i) => fmt2(uOf(i) ? 'neg' : 'abs')(i),
    {
      ok: notReservedVec,
    },
  ),
  insn(
    'ABS/NEG (scalar)',
    '01 U 11110 11 10000 01011 10 Rn:5 Rd:5',
    s.absNeg,
    (i) => `${uOf(i) ? 'neg' : 'abs'}\td${rd(i)}, d${rn(i)}`,
  ),
  insn(
    'CMGT/CMGE/CMEQ/CMLE (zero)',
    '0 Q U 01110 size:2 10000 0100 o 10 Rn:5 Rd:5',
    s.cmpZero,
    (i) => `${fmt2(CMP_ZERO(i))(i)}, #0`,
    {
      ok: notReservedVec,
    },
  ),
  insn('CMLT (zero)', '0 Q 0 01110 size:2 10000 01010 10 Rn:5 Rd:5', s.cmpZero, (i) => `${fmt2('cmlt')(i)}, #0`, {
    ok: notReservedVec,
  }),
  insn(
    'CMGT/CMGE/CMEQ/CMLE (scalar, zero)',
    '01 U 11110 11 10000 0100 o 10 Rn:5 Rd:5',
    s.cmpZero,
    (i) => `${CMP_ZERO(i)}\td${rd(i)}, d${rn(i)}, #0`,
  ),
  insn(
    'CMLT (scalar, zero)',
    '01 0 11110 11 10000 01010 10 Rn:5 Rd:5',
    s.cmpZero,
    (i) => `cmlt\td${rd(i)}, d${rn(i)}, #0`,
  ),
  insn('NOT', '0 Q 1 01110 00 10000 00101 10 Rn:5 Rd:5', s.notVec, fmt2('mvn')),
  insn('CNT', '0 Q 0 01110 00 10000 00101 10 Rn:5 Rd:5', s.cnt, fmt2('cnt')),
  insn('REV64', '0 Q 0 01110 size:2 10000 00000 10 Rn:5 Rd:5', s.rev, fmt2('rev64'), { ok: (i) => sizeOf(i) < 3 }),
  insn('REV32', '0 Q 1 01110 size:2 10000 00000 10 Rn:5 Rd:5', s.rev, fmt2('rev32'), { ok: (i) => sizeOf(i) < 2 }),
  insn('REV16', '0 Q 0 01110 size:2 10000 00001 10 Rn:5 Rd:5', s.rev, fmt2('rev16'), { ok: (i) => sizeOf(i) === 0 }),
  insn(
    'XTN/XTN2',
    '0 Q 0 01110 size:2 10000 10010 10 Rn:5 Rd:5',
    s.xtn,
    (i) => `xtn${qOf(i) ? '2' : ''}\t${vr(rd(i), sizeOf(i), qOf(i))}, ${vr(rn(i), sizeOf(i) + 1, 1)}`,
    { ok: (i) => sizeOf(i) < 3 },
  ),

  // ---- AdvSIMD across lanes, scalar pairwise ----
  insn(
    'ADDV/[SU]ADDLV/[SU]MAXV/[SU]MINV/FMAX(NM)V/FMIN(NM)V',
    '0 Q U 01110 size:2 11000 opcode:5 10 Rn:5 Rd:5',
    s.acrossLanes,
    fmtAcross,
    {
      ok: acrossOk,
    },
  ),
  insn('ADDP (scalar)', '01 0 11110 11 11000 11011 10 Rn:5 Rd:5', s.addpScalar, (i) => `addp\td${rd(i)}, v${rn(i)}.2d`),

  // ---- AdvSIMD extract and permute ----
  insn(
    'EXT',
    '0 Q 101110 00 0 Rm:5 0 imm4:4 0 Rn:5 Rd:5',
    s.ext,
    (i) => `${fmt3('ext')(i & ~(3 << 22))}, #${(i >>> 11) & 15}`,
    { ok: (i) => qOf(i) === 1 || (i & (1 << 14)) === 0 },
  ),
  insn('UZP/TRN/ZIP', '0 Q 001110 size:2 0 Rm:5 0 opc:3 10 Rn:5 Rd:5', s.permute, fmtPermute, {
    ok: (i) => ((i >>> 12) & 3) !== 0 && notReservedVec(i),
  }),

  // ---- AdvSIMD shift by immediate ----
  insn('SSHR/USHR (vector)', '0 Q U 011110 immh:4 immb:3 00000 1 Rn:5 Rd:5', s.shr, (i) => fmtShr(i, false), {
    ok: vecShiftOk,
  }),
  insn('SHL (vector)', '0 Q 0 011110 immh:4 immb:3 01010 1 Rn:5 Rd:5', s.shl, (i) => fmtShl(i, false), {
    ok: vecShiftOk,
  }),
  insn('SSHLL/USHLL', '0 Q U 011110 immh:4 immb:3 10100 1 Rn:5 Rd:5', s.shll, fmtShll, {
    ok: (i) => ((i >>> 19) & 15) !== 0 && ((i >>> 19) & 15) < 8,
  }),
  insn('SSHR/USHR (scalar)', '01 U 111110 immh:4 immb:3 00000 1 Rn:5 Rd:5', s.shr, (i) => fmtShr(i, true), {
    ok: (i) => ((i >>> 19) & 15) >= 8,
  }),
  insn('SHL (scalar)', '01 0 111110 immh:4 immb:3 01010 1 Rn:5 Rd:5', s.shl, (i) => fmtShl(i, true), {
    ok: (i) => ((i >>> 19) & 15) >= 8,
  }),

  // ---- AdvSIMD floating-point vector and scalar forms ----
  insn('FADD (vector)', '0 Q 0 01110 0 sz 1 Rm:5 11010 1 Rn:5 Rd:5', x.faddVec, fmtFpVec3('fadd'), { ok: fpVecOk }),
  insn('FSUB (vector)', '0 Q 0 01110 1 sz 1 Rm:5 11010 1 Rn:5 Rd:5', x.vecFp2(3), fmtFpVec3('fsub'), { ok: fpVecOk }),
  insn('FMUL (vector)', '0 Q 1 01110 0 sz 1 Rm:5 11011 1 Rn:5 Rd:5', x.fmulVec, fmtFpVec3('fmul'), { ok: fpVecOk }),
  insn('FDIV (vector)', '0 Q 1 01110 0 sz 1 Rm:5 11111 1 Rn:5 Rd:5', x.vecFp2(1), fmtFpVec3('fdiv'), { ok: fpVecOk }),
  insn('FMAX (vector)', '0 Q 0 01110 0 sz 1 Rm:5 11110 1 Rn:5 Rd:5', x.vecFp2(4), fmtFpVec3('fmax'), { ok: fpVecOk }),
  insn('FMIN (vector)', '0 Q 0 01110 1 sz 1 Rm:5 11110 1 Rn:5 Rd:5', x.vecFp2(5), fmtFpVec3('fmin'), { ok: fpVecOk }),
  insn('FMAXNM (vector)', '0 Q 0 01110 0 sz 1 Rm:5 11000 1 Rn:5 Rd:5', x.vecFp2(6), fmtFpVec3('fmaxnm'), {
    ok: fpVecOk,
  }),
  insn('FMINNM (vector)', '0 Q 0 01110 1 sz 1 Rm:5 11000 1 Rn:5 Rd:5', x.vecFp2(7), fmtFpVec3('fminnm'), {
    ok: fpVecOk,
  }),
  insn(
    'FMLA/FMLS (vector)',
    '0 Q 0 01110 a sz 1 Rm:5 11001 1 Rn:5 Rd:5',
    x.fmlaVec,
    (i) => fmtFpVec3(i & (1 << 23) ? 'fmls' : 'fmla')(i),
    { ok: fpVecOk },
  ),
  insn(
    'FABS/FNEG (vector)',
    '0 Q U 01110 1 sz 10000 01111 10 Rn:5 Rd:5',
    x.fabsNegVec,
    (i) => fmtFpVec2(uOf(i) ? 'fneg' : 'fabs')(i),
    { ok: fpVecOk },
  ),
  insn('FSQRT (vector)', '0 Q 1 01110 1 sz 10000 11111 10 Rn:5 Rd:5', x.fsqrtVec, fmtFpVec2('fsqrt'), { ok: fpVecOk }),
  insn(
    'SCVTF/UCVTF (vector, integer)',
    '0 Q U 01110 0 sz 10000 11101 10 Rn:5 Rd:5',
    x.cvtfVec,
    (i) => fmtFpVec2(uOf(i) ? 'ucvtf' : 'scvtf')(i),
    { ok: fpVecOk },
  ),
  insn(
    'FCVTZS/FCVTZU (vector, integer)',
    '0 Q U 01110 1 sz 10000 11011 10 Rn:5 Rd:5',
    x.cvtzVec,
    (i) => fmtFpVec2(uOf(i) ? 'fcvtzu' : 'fcvtzs')(i),
    { ok: fpVecOk },
  ),
  insn('FMLA/FMLS (by element)', '0 Q 0 01111 1 sz L M Rm:4 0 o 01 H 0 Rn:5 Rd:5', x.fpByElement, fmtByElem, {
    ok: byElemOk,
  }),
  insn('FMUL (by element)', '0 Q 0 01111 1 sz L M Rm:4 1001 H 0 Rn:5 Rd:5', x.fpByElement, fmtByElem, { ok: byElemOk }),
  insn('FMLA/FMLS (scalar, by element)', '01 0 11111 1 sz L M Rm:4 0 o 01 H 0 Rn:5 Rd:5', x.fpByElement, fmtByElem, {
    ok: byElemScalarOk,
  }),
  insn('FMUL (scalar, by element)', '01 0 11111 1 sz L M Rm:4 1001 H 0 Rn:5 Rd:5', x.fpByElement, fmtByElem, {
    ok: byElemScalarOk,
  }),
  insn('FCVTN/FCVTN2/FCVTL/FCVTL2', '0 Q 0 01110 0 sz 10000 1011 l 10 Rn:5 Rd:5', x.fcvtNarrowLong, fmtCvtNL),
  insn('SCVTF/UCVTF (scalar SIMD, integer)', '01 U 11110 0 sz 10000 11101 10 Rn:5 Rd:5', x.cvtfScalar, (i) =>
    fmtFpScalar2(uOf(i) ? 'ucvtf' : 'scvtf')(i),
  ),
  insn('FCVTZS/FCVTZU (scalar SIMD, integer)', '01 U 11110 1 sz 10000 11011 10 Rn:5 Rd:5', x.cvtzScalar, (i) =>
    fmtFpScalar2(uOf(i) ? 'fcvtzu' : 'fcvtzs')(i),
  ),
]);
