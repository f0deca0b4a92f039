// Execute functions of the "Data Processing -- Immediate" encodings (Arm ARM C4.1.86): PC-relative
// addressing, add/subtract (immediate), logical (immediate), move wide, bitfield and extract.
//
// Register slots: `2*n` indexes the low half of slot n in `cpu.w`; for these encodings register 31
// is SP wherever the architecture allows it (slot 31) and XZR elsewhere (read slot ZR, write SINK).
// Bitmask immediates (DecodeBitMasks, Arm ARM J1 shared/functions/bitmasks) are precomputed into
// tables indexed by the instruction's N:immr:imms bits, so no execute function decodes them.

import type { Cpu } from '../cpu.js';

// The slot numbers of cpu.ts (XZR reads, XZR writes), repeated here because this module is
// evaluated while cpu.ts is still initialising (cpu.ts imports the decode table).
const ZR = 32;
const SINK = 33;
const X_SINK2 = 2 * SINK;
const T32 = 4294967296;

// ---------------------------------------------------------------------------------------------
// DecodeBitMasks and its tables
// ---------------------------------------------------------------------------------------------

/**
 * DecodeBitMasks(N, imms, immr, immediate) for a 64-bit datasize (a 32-bit datasize takes the low
 * half: every element size it allows is ≤ 32 and replicates). Returns null where the
 * architecture says UNDEFINED.
 */
export function decodeBitMasks(
  nBit: number,
  imms: number,
  immr: number,
  immediate: boolean,
): { wmask: bigint; tmask: bigint } | null {
  const combined = (nBit << 6) | (~imms & 63);
  if (combined === 0) return null;
  const len = 31 - Math.clz32(combined);
  if (len < 1) return null;
  const levels = (1 << len) - 1;
  if (immediate && (imms & levels) === levels) return null;
  const s = imms & levels;
  const r = immr & levels;
  const diff = (s - r) & levels;
  const esize = 1 << len;
  const emask = (1n << BigInt(esize)) - 1n;
  const welem = (1n << BigInt(s + 1)) - 1n;
  const telem = (1n << BigInt(diff + 1)) - 1n;
  const rot = r === 0 ? welem : ((welem >> BigInt(r)) | (welem << BigInt(esize - r))) & emask;
  let wmask = 0n;
  let tmask = 0n;
  for (let k = 0; k < 64; k += esize) {
    wmask |= rot << BigInt(k);
    tmask |= telem << BigInt(k);
  }
  return { wmask, tmask };
}

/** Logical-immediate values indexed by N:immr:imms (bits 22:10); LOG_OK says which are allocated. */
const LOG_LO = new Uint32Array(8192);
const LOG_HI = new Uint32Array(8192);
const LOG_OK = new Uint8Array(8192);
/** Bitfield masks for 64-bit operations, indexed by immr:imms: M = wmask AND tmask, and tmask. */
const BF64_MLO = new Uint32Array(4096);
const BF64_MHI = new Uint32Array(4096);
const BF64_TLO = new Uint32Array(4096);
const BF64_THI = new Uint32Array(4096);
/** Bitfield masks for 32-bit operations, indexed by immr(5):imms(5). */
const BF32_M = new Uint32Array(1024);
const BF32_T = new Uint32Array(1024);

for (let k = 0; k < 8192; k++) {
  const r = decodeBitMasks(k >>> 12, k & 63, (k >>> 6) & 63, true);
  if (r) {
    LOG_OK[k] = 1;
    LOG_LO[k] = Number(r.wmask & 0xffffffffn);
    LOG_HI[k] = Number(r.wmask >> 32n);
  }
}
for (let k = 0; k < 4096; k++) {
  const r = decodeBitMasks(1, k & 63, k >>> 6, false)!;
  const m = r.wmask & r.tmask;
  BF64_MLO[k] = Number(m & 0xffffffffn);
  BF64_MHI[k] = Number(m >> 32n);
  BF64_TLO[k] = Number(r.tmask & 0xffffffffn);
  BF64_THI[k] = Number(r.tmask >> 32n);
}
for (let k = 0; k < 1024; k++) {
  const r = decodeBitMasks(0, k & 31, k >>> 5, false)!;
  BF32_M[k] = Number(r.wmask & r.tmask & 0xffffffffn);
  BF32_T[k] = Number(r.tmask & 0xffffffffn);
}

/** Whether bits 22:10 (N:immr:imms) of a logical-immediate instruction are allocated. */
export function logImmOk(insn: number): boolean {
  return LOG_OK[(insn >>> 10) & 0x1fff] === 1;
}

/** The logical immediate of an instruction as a 64-bit value (for the disassembler). */
export function logImmValue(insn: number): bigint {
  const k = (insn >>> 10) & 0x1fff;
  return (BigInt(LOG_HI[k]!) << 32n) | BigInt(LOG_LO[k]!);
}

// ---------------------------------------------------------------------------------------------
// PC-relative addressing
// ---------------------------------------------------------------------------------------------

/** imm = SignExtend(immhi:immlo), as a Number. */
const adrImm = (i: number): number => ((i << 8) >> 13) * 4 + ((i >>> 29) & 3);

export function adr(cpu: Cpu, i: number): void {
  const d = i & 31;
  cpu.setRegNum(d === 31 ? SINK : d, cpu.pc + adrImm(i));
  cpu.pc += 4;
}

export function adrp(cpu: Cpu, i: number): void {
  const d = i & 31;
  const pc = cpu.pc;
  cpu.setRegNum(d === 31 ? SINK : d, pc - (pc & 0xfff) + adrImm(i) * 4096);
  cpu.pc += 4;
}

// ---------------------------------------------------------------------------------------------
// Add/subtract (immediate). Rn is SP-capable; Rd is SP-capable unless flags are set.
// ---------------------------------------------------------------------------------------------

/** imm12, shifted left by 12 when sh (bit 22) is set. */
const aImm = (i: number): number => ((i & 0x400000) === 0 ? (i >>> 10) & 0xfff : ((i >>> 10) & 0xfff) * 4096);

export function addImm64(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const n2 = (i >>> 4) & 62;
  const d2 = (i << 1) & 62;
  const lo = w[n2]! + aImm(i);
  w[d2] = lo;
  w[d2 + 1] = w[n2 + 1]! + (lo >= T32 ? 1 : 0);
  cpu.pc += 4;
}

/** ADD Xd|SP, Xn|SP, #0 (MOV to/from SP): a plain copy. */
export function movSp64(cpu: Cpu, i: number): void {
  const x = cpu.x;
  x[i & 31] = x[(i >>> 5) & 31]!;
  cpu.pc += 4;
}

export function subImm64(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const n2 = (i >>> 4) & 62;
  const d2 = (i << 1) & 62;
  const lo = w[n2]! - aImm(i);
  w[d2] = lo;
  w[d2 + 1] = w[n2 + 1]! - (lo < 0 ? 1 : 0);
  cpu.pc += 4;
}

export function addImm32(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const d2 = (i << 1) & 62;
  w[d2] = w[(i >>> 4) & 62]! + aImm(i);
  w[d2 + 1] = 0;
  cpu.pc += 4;
}

export function subImm32(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const d2 = (i << 1) & 62;
  w[d2] = w[(i >>> 4) & 62]! - aImm(i);
  w[d2 + 1] = 0;
  cpu.pc += 4;
}

export function addsImm64(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const n2 = (i >>> 4) & 62;
  const d = i & 31;
  const d2 = d === 31 ? X_SINK2 : 2 * d;
  const ahi = w[n2 + 1]!;
  const lo = w[n2]! + aImm(i);
  const hi = ahi + (lo >= T32 ? 1 : 0);
  const rlo = lo >>> 0;
  const rhi = hi >>> 0;
  w[d2] = rlo;
  w[d2 + 1] = rhi;
  cpu.nf = rhi >>> 31;
  cpu.zf = (rlo | rhi) === 0 ? 1 : 0;
  cpu.cf = hi >= T32 ? 1 : 0;
  cpu.vf = (~ahi & rhi) >>> 31;
  cpu.pc += 4;
}

export function subsImm64(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const n2 = (i >>> 4) & 62;
  const d = i & 31;
  const d2 = d === 31 ? X_SINK2 : 2 * d;
  const ahi = w[n2 + 1]!;
  const lo = w[n2]! - aImm(i);
  const hi = ahi - (lo < 0 ? 1 : 0);
  const rlo = lo >>> 0;
  const rhi = hi >>> 0;
  w[d2] = rlo;
  w[d2 + 1] = rhi;
  cpu.nf = rhi >>> 31;
  cpu.zf = (rlo | rhi) === 0 ? 1 : 0;
  cpu.cf = hi >= 0 ? 1 : 0;
  cpu.vf = (ahi & ~rhi) >>> 31;
  cpu.pc += 4;
}

/** SUBS XZR, Xn|SP, #imm: flags only. */
export function cmpImm64(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const n2 = (i >>> 4) & 62;
  const ahi = w[n2 + 1]!;
  const lo = w[n2]! - aImm(i);
  const hi = ahi - (lo < 0 ? 1 : 0);
  const rhi = hi >>> 0;
  cpu.nf = rhi >>> 31;
  cpu.zf = (lo | rhi) === 0 ? 1 : 0;
  cpu.cf = hi >= 0 ? 1 : 0;
  cpu.vf = (ahi & ~rhi) >>> 31;
  cpu.pc += 4;
}

export function cmnImm64(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const n2 = (i >>> 4) & 62;
  const ahi = w[n2 + 1]!;
  const lo = w[n2]! + aImm(i);
  const hi = ahi + (lo >= T32 ? 1 : 0);
  const rhi = hi >>> 0;
  cpu.nf = rhi >>> 31;
  cpu.zf = ((lo >>> 0) | rhi) === 0 ? 1 : 0;
  cpu.cf = hi >= T32 ? 1 : 0;
  cpu.vf = (~ahi & rhi) >>> 31;
  cpu.pc += 4;
}

export function addsImm32(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const d = i & 31;
  const d2 = d === 31 ? X_SINK2 : 2 * d;
  const a = w[(i >>> 4) & 62]!;
  const r = a + aImm(i);
  const rr = r >>> 0;
  w[d2] = rr;
  w[d2 + 1] = 0;
  cpu.nf = rr >>> 31;
  cpu.zf = rr === 0 ? 1 : 0;
  cpu.cf = r >= T32 ? 1 : 0;
  cpu.vf = (~a & rr) >>> 31;
  cpu.pc += 4;
}

export function subsImm32(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const d = i & 31;
  const d2 = d === 31 ? X_SINK2 : 2 * d;
  const a = w[(i >>> 4) & 62]!;
  const r = a - aImm(i);
  const rr = r >>> 0;
  w[d2] = rr;
  w[d2 + 1] = 0;
  cpu.nf = rr >>> 31;
  cpu.zf = rr === 0 ? 1 : 0;
  cpu.cf = r >= 0 ? 1 : 0;
  cpu.vf = (a & ~rr) >>> 31;
  cpu.pc += 4;
}

export function cmpImm32(cpu: Cpu, i: number): void {
  const a = cpu.w[(i >>> 4) & 62]!;
  const r = a - aImm(i);
  const rr = r >>> 0;
  cpu.nf = rr >>> 31;
  cpu.zf = rr === 0 ? 1 : 0;
  cpu.cf = r >= 0 ? 1 : 0;
  cpu.vf = (a & ~rr) >>> 31;
  cpu.pc += 4;
}

export function cmnImm32(cpu: Cpu, i: number): void {
  const a = cpu.w[(i >>> 4) & 62]!;
  const r = a + aImm(i);
  const rr = r >>> 0;
  cpu.nf = rr >>> 31;
  cpu.zf = rr === 0 ? 1 : 0;
  cpu.cf = r >= T32 ? 1 : 0;
  cpu.vf = (~a & rr) >>> 31;
  cpu.pc += 4;
}

// ---------------------------------------------------------------------------------------------
// Logical (immediate). Rn 31 is XZR; Rd 31 is SP except for ANDS (XZR).
// ---------------------------------------------------------------------------------------------

/** Low-half index of the source register of a logical immediate (31 = XZR). */
const lsrc2 = (i: number): number => {
  const n = (i >>> 5) & 31;
  return n === 31 ? 2 * ZR : 2 * n;
};

export function andImm64(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const k = (i >>> 10) & 0x1fff;
  const n2 = lsrc2(i);
  const d2 = (i << 1) & 62;
  w[d2] = w[n2]! & LOG_LO[k]!;
  w[d2 + 1] = w[n2 + 1]! & LOG_HI[k]!;
  cpu.pc += 4;
}

export function orrImm64(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const k = (i >>> 10) & 0x1fff;
  const n2 = lsrc2(i);
  const d2 = (i << 1) & 62;
  w[d2] = w[n2]! | LOG_LO[k]!;
  w[d2 + 1] = w[n2 + 1]! | LOG_HI[k]!;
  cpu.pc += 4;
}

export function eorImm64(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const k = (i >>> 10) & 0x1fff;
  const n2 = lsrc2(i);
  const d2 = (i << 1) & 62;
  w[d2] = w[n2]! ^ LOG_LO[k]!;
  w[d2 + 1] = w[n2 + 1]! ^ LOG_HI[k]!;
  cpu.pc += 4;
}

export function andsImm64(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const k = (i >>> 10) & 0x1fff;
  const n2 = lsrc2(i);
  const d = i & 31;
  const d2 = d === 31 ? X_SINK2 : 2 * d;
  const lo = w[n2]! & LOG_LO[k]!;
  const hi = w[n2 + 1]! & LOG_HI[k]!;
  w[d2] = lo;
  w[d2 + 1] = hi;
  cpu.nf = hi >>> 31;
  cpu.zf = (lo | hi) === 0 ? 1 : 0;
  cpu.cf = 0;
  cpu.vf = 0;
  cpu.pc += 4;
}

export function andImm32(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const d2 = (i << 1) & 62;
  w[d2] = w[lsrc2(i)]! & LOG_LO[(i >>> 10) & 0x1fff]!;
  w[d2 + 1] = 0;
  cpu.pc += 4;
}

export function orrImm32(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const d2 = (i << 1) & 62;
  w[d2] = w[lsrc2(i)]! | LOG_LO[(i >>> 10) & 0x1fff]!;
  w[d2 + 1] = 0;
  cpu.pc += 4;
}

export function eorImm32(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const d2 = (i << 1) & 62;
  w[d2] = w[lsrc2(i)]! ^ LOG_LO[(i >>> 10) & 0x1fff]!;
  w[d2 + 1] = 0;
  cpu.pc += 4;
}

export function andsImm32(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const d = i & 31;
  const d2 = d === 31 ? X_SINK2 : 2 * d;
  const r = w[lsrc2(i)]! & LOG_LO[(i >>> 10) & 0x1fff]!;
  w[d2] = r;
  w[d2 + 1] = 0;
  cpu.nf = r >>> 31;
  cpu.zf = r === 0 ? 1 : 0;
  cpu.cf = 0;
  cpu.vf = 0;
  cpu.pc += 4;
}

// ---------------------------------------------------------------------------------------------
// Move wide (immediate). Rd 31 is XZR.
// ---------------------------------------------------------------------------------------------

const dst2 = (i: number): number => {
  const d = i & 31;
  return d === 31 ? X_SINK2 : 2 * d;
};

export function movz64(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const d2 = dst2(i);
  const v = (((i >>> 5) & 0xffff) << (i & 0x200000 ? 16 : 0)) >>> 0;
  if ((i & 0x400000) === 0) {
    w[d2] = v;
    w[d2 + 1] = 0;
  } else {
    w[d2] = 0;
    w[d2 + 1] = v;
  }
  cpu.pc += 4;
}

export function movn64(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const d2 = dst2(i);
  const v = ~(((i >>> 5) & 0xffff) << (i & 0x200000 ? 16 : 0));
  if ((i & 0x400000) === 0) {
    w[d2] = v;
    w[d2 + 1] = 0xffffffff;
  } else {
    w[d2] = 0xffffffff;
    w[d2 + 1] = v;
  }
  cpu.pc += 4;
}

export function movk64(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const k = dst2(i) + ((i >>> 22) & 1);
  if ((i & 0x200000) === 0) w[k] = (w[k]! & 0xffff0000) | ((i >>> 5) & 0xffff);
  else w[k] = (w[k]! & 0xffff) | (((i >>> 5) & 0xffff) << 16);
  cpu.pc += 4;
}

export function movz32(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const d2 = dst2(i);
  w[d2] = ((i >>> 5) & 0xffff) << (i & 0x200000 ? 16 : 0);
  w[d2 + 1] = 0;
  cpu.pc += 4;
}

export function movn32(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const d2 = dst2(i);
  w[d2] = ~(((i >>> 5) & 0xffff) << (i & 0x200000 ? 16 : 0));
  w[d2 + 1] = 0;
  cpu.pc += 4;
}

export function movk32(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const d2 = dst2(i);
  if ((i & 0x200000) === 0) w[d2] = (w[d2]! & 0xffff0000) | ((i >>> 5) & 0xffff);
  else w[d2] = (w[d2]! & 0xffff) | (((i >>> 5) & 0xffff) << 16);
  w[d2 + 1] = 0;
  cpu.pc += 4;
}

// ---------------------------------------------------------------------------------------------
// Bitfield. result = (top AND NOT tmask) OR (bot AND tmask), bot = ROR(src, immr) AND wmask
// (merged with the destination for BFM), which collapses to one mask M = wmask AND tmask:
//   UBFM: ROR & M     SBFM: (ROR & M) | (sign ? ~tmask : 0)     BFM: (dst & ~M) | (ROR & M)
// Rn and Rd 31 are XZR.
// ---------------------------------------------------------------------------------------------

let rorLo = 0;
let rorHi = 0;

/** ROR of the 64-bit register at low-half index n2 by r (0..63), into rorLo/rorHi. */
function ror64(w: Uint32Array, n2: number, r: number): void {
  let lo = w[n2]!;
  let hi = w[n2 + 1]!;
  if (r >= 32) {
    const t = lo;
    lo = hi;
    hi = t;
  }
  const s = r & 31;
  if (s === 0) {
    rorLo = lo;
    rorHi = hi;
  } else {
    rorLo = (lo >>> s) | (hi << (32 - s));
    rorHi = (hi >>> s) | (lo << (32 - s));
  }
}

export function ubfm64(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const k = (i >>> 10) & 0xfff;
  ror64(w, lsrc2(i), k >>> 6);
  const d2 = dst2(i);
  w[d2] = rorLo & BF64_MLO[k]!;
  w[d2 + 1] = rorHi & BF64_MHI[k]!;
  cpu.pc += 4;
}

export function sbfm64(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const k = (i >>> 10) & 0xfff;
  const n2 = lsrc2(i);
  const s = k & 63;
  const sign = (s < 32 ? w[n2]! << (31 - s) : w[n2 + 1]! << (63 - s)) >> 31;
  ror64(w, n2, k >>> 6);
  const d2 = dst2(i);
  w[d2] = (rorLo & BF64_MLO[k]!) | (sign & ~BF64_TLO[k]!);
  w[d2 + 1] = (rorHi & BF64_MHI[k]!) | (sign & ~BF64_THI[k]!);
  cpu.pc += 4;
}

export function bfm64(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const k = (i >>> 10) & 0xfff;
  ror64(w, lsrc2(i), k >>> 6);
  const d2 = dst2(i);
  const mlo = BF64_MLO[k]!;
  const mhi = BF64_MHI[k]!;
  w[d2] = (w[d2]! & ~mlo) | (rorLo & mlo);
  w[d2 + 1] = (w[d2 + 1]! & ~mhi) | (rorHi & mhi);
  cpu.pc += 4;
}

/** Index of the 32-bit bitfield tables: immr(5):imms(5). */
const bf32k = (i: number): number => ((i >>> 11) & 0x3e0) | ((i >>> 10) & 31);

export function ubfm32(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const v = w[lsrc2(i)]!;
  const r = (i >>> 16) & 31;
  const d2 = dst2(i);
  w[d2] = ((v >>> r) | (v << (32 - r))) & BF32_M[bf32k(i)]!;
  w[d2 + 1] = 0;
  cpu.pc += 4;
}

export function sbfm32(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const v = w[lsrc2(i)]!;
  const r = (i >>> 16) & 31;
  const k = bf32k(i);
  const sign = (v << (31 - (k & 31))) >> 31;
  const d2 = dst2(i);
  w[d2] = (((v >>> r) | (v << (32 - r))) & BF32_M[k]!) | (sign & ~BF32_T[k]!);
  w[d2 + 1] = 0;
  cpu.pc += 4;
}

export function bfm32(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const v = w[lsrc2(i)]!;
  const r = (i >>> 16) & 31;
  const m = BF32_M[bf32k(i)]!;
  const d2 = dst2(i);
  w[d2] = (w[d2]! & ~m) | (((v >>> r) | (v << (32 - r))) & m);
  w[d2 + 1] = 0;
  cpu.pc += 4;
}

// Shift aliases of UBFM/SBFM, the forms compilers emit most, without the mask tables.

/** LSL Xd, Xn, #(63 - imms): UBFM with imms + 1 == immr (so the amount is 1..63). */
export function lslImm64(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const n2 = lsrc2(i);
  const d2 = dst2(i);
  const a = 63 - ((i >>> 10) & 63);
  const lo = w[n2]!;
  if (a >= 32) {
    w[d2 + 1] = lo << (a - 32);
    w[d2] = 0;
  } else {
    w[d2 + 1] = (w[n2 + 1]! << a) | (lo >>> (32 - a));
    w[d2] = lo << a;
  }
  cpu.pc += 4;
}

/** LSR Xd, Xn, #immr: UBFM with imms == 63. */
export function lsrImm64(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const n2 = lsrc2(i);
  const d2 = dst2(i);
  const a = (i >>> 16) & 63;
  const hi = w[n2 + 1]!;
  if (a >= 32) {
    w[d2] = hi >>> (a - 32);
    w[d2 + 1] = 0;
  } else if (a !== 0) {
    w[d2] = (w[n2]! >>> a) | (hi << (32 - a));
    w[d2 + 1] = hi >>> a;
  } else {
    w[d2] = w[n2]!;
    w[d2 + 1] = hi;
  }
  cpu.pc += 4;
}

/** ASR Xd, Xn, #immr: SBFM with imms == 63. */
export function asrImm64(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const n2 = lsrc2(i);
  const d2 = dst2(i);
  const a = (i >>> 16) & 63;
  const hi = w[n2 + 1]! | 0;
  if (a >= 32) {
    w[d2] = hi >> (a - 32);
    w[d2 + 1] = hi >> 31;
  } else if (a !== 0) {
    w[d2] = (w[n2]! >>> a) | (hi << (32 - a));
    w[d2 + 1] = hi >> a;
  } else {
    w[d2] = w[n2]!;
    w[d2 + 1] = hi;
  }
  cpu.pc += 4;
}

export function lslImm32(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const d2 = dst2(i);
  w[d2] = w[lsrc2(i)]! << (31 - ((i >>> 10) & 31));
  w[d2 + 1] = 0;
  cpu.pc += 4;
}

export function lsrImm32(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const d2 = dst2(i);
  w[d2] = w[lsrc2(i)]! >>> ((i >>> 16) & 31);
  w[d2 + 1] = 0;
  cpu.pc += 4;
}

export function asrImm32(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const d2 = dst2(i);
  w[d2] = (w[lsrc2(i)]! | 0) >> ((i >>> 16) & 31);
  w[d2 + 1] = 0;
  cpu.pc += 4;
}

/** SXTB/SXTH/SXTW Xd (SBFM Xd, Xn, #0, #7|15|31). */
export function sxt64(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const sh = 31 - ((i >>> 10) & 31);
  const v = (w[lsrc2(i)]! << sh) >> sh;
  const d2 = dst2(i);
  w[d2] = v;
  w[d2 + 1] = v >> 31;
  cpu.pc += 4;
}

/** SXTB/SXTH Wd (SBFM Wd, Wn, #0, #7|15). */
export function sxt32(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const sh = 31 - ((i >>> 10) & 31);
  const d2 = dst2(i);
  w[d2] = (w[lsrc2(i)]! << sh) >> sh;
  w[d2 + 1] = 0;
  cpu.pc += 4;
}

/** UXTB/UXTH Wd, and UBFX Xd, Xn, #0, #8|16|32 (UBFM with immr 0, imms 7|15|31). */
export function uxt(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const d2 = dst2(i);
  w[d2] = w[lsrc2(i)]! & (0xffffffff >>> (31 - ((i >>> 10) & 31)));
  w[d2 + 1] = 0;
  cpu.pc += 4;
}

// ---------------------------------------------------------------------------------------------
// Extract. Rd = (Rn:Rm) >> lsb, truncated; ROR (immediate) when Rn == Rm.
// ---------------------------------------------------------------------------------------------

export function extr64(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const n2 = lsrc2(i);
  const m = (i >>> 16) & 31;
  const m2 = m === 31 ? 2 * ZR : 2 * m;
  const lsb = (i >>> 10) & 63;
  // The 128-bit value n.hi : n.lo : m.hi : m.lo as four words, shifted right by lsb.
  let w0 = w[m2]!;
  let w1 = w[m2 + 1]!;
  let w2 = w[n2]!;
  if (lsb >= 32) {
    w0 = w1;
    w1 = w2;
    w2 = w[n2 + 1]!;
  }
  const s = lsb & 31;
  const d2 = dst2(i);
  if (s === 0) {
    w[d2] = w0;
    w[d2 + 1] = w1;
  } else {
    w[d2] = (w0 >>> s) | (w1 << (32 - s));
    w[d2 + 1] = (w1 >>> s) | (w2 << (32 - s));
  }
  cpu.pc += 4;
}

export function extr32(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const m = (i >>> 16) & 31;
  const vm = w[m === 31 ? 2 * ZR : 2 * m]!;
  const vn = w[lsrc2(i)]!;
  const s = (i >>> 10) & 31;
  const d2 = dst2(i);
  w[d2] = s === 0 ? vm : (vm >>> s) | (vn << (32 - s));
  w[d2 + 1] = 0;
  cpu.pc += 4;
}
