// Helpers shared by the execute functions: register-slot mapping for XZR/SP, condition codes,
// add-with-carry with NZCV (computed on 32-bit halves, no BigInt temporaries), constants.

import { SINK, ZR, type Cpu } from '../cpu.js';

/** Slot to read for register field `r` where 31 means XZR. */
export const rz = (r: number): number => (r === 31 ? ZR : r);
/** Slot to write for register field `r` where 31 means XZR (writes are discarded). */
export const wz = (r: number): number => (r === 31 ? SINK : r);

/** BigInt shift amounts 0..127, so execute functions never call BigInt(n) on the hot path. */
export const BI: readonly bigint[] = Array.from({ length: 128 }, (_, i) => BigInt(i));

const TWO32 = 4294967296;

/** ConditionHolds(cond) (Arm ARM J1, shared/functions/system/ConditionHolds). */
export function condHolds(cpu: Cpu, cond: number): boolean {
  let r: boolean;
  switch (cond >>> 1) {
    case 0:
      r = cpu.zf === 1;
      break;
    case 1:
      r = cpu.cf === 1;
      break;
    case 2:
      r = cpu.nf === 1;
      break;
    case 3:
      r = cpu.vf === 1;
      break;
    case 4:
      r = cpu.cf === 1 && cpu.zf === 0;
      break;
    case 5:
      r = cpu.nf === cpu.vf;
      break;
    case 6:
      r = cpu.nf === cpu.vf && cpu.zf === 0;
      break;
    default:
      return true; // AL and NV both mean always
  }
  return (cond & 1) !== 0 ? !r : r;
}

/**
 * AddWithCarry on 64 bits given as halves; writes the result to slot `d` and, if `setFlags`,
 * NZCV. For subtraction pass the complemented halves of the second operand and carry 1.
 */
export function adc64(
  cpu: Cpu,
  d: number,
  alo: number,
  ahi: number,
  blo: number,
  bhi: number,
  cin: number,
  setFlags: boolean,
): void {
  const lo = alo + blo + cin;
  const c1 = lo >= TWO32 ? 1 : 0;
  const hi = ahi + bhi + c1;
  const rlo = lo >>> 0;
  const rhi = hi >>> 0;
  const w = cpu.w;
  w[2 * d] = rlo;
  w[2 * d + 1] = rhi;
  if (setFlags) {
    cpu.nf = rhi >>> 31;
    cpu.zf = (rlo | rhi) === 0 ? 1 : 0;
    cpu.cf = hi >= TWO32 ? 1 : 0;
    cpu.vf = ((ahi ^ rhi) & (bhi ^ rhi)) >>> 31;
  }
}

/** AddWithCarry on 32 bits; the result is zero-extended into slot `d`. Operands are uint32. */
export function adc32(cpu: Cpu, d: number, a: number, b: number, cin: number, setFlags: boolean): void {
  const r = a + b + cin;
  const rr = r >>> 0;
  const w = cpu.w;
  w[2 * d] = rr;
  w[2 * d + 1] = 0;
  if (setFlags) {
    cpu.nf = rr >>> 31;
    cpu.zf = rr === 0 ? 1 : 0;
    cpu.cf = r >= TWO32 ? 1 : 0;
    cpu.vf = ((a ^ rr) & (b ^ rr)) >>> 31;
  }
}

/** Set N and Z from the 64-bit value in slot `d`, C and V cleared (logical ops with S). */
export function nzFromSlot64(cpu: Cpu, d: number): void {
  const lo = cpu.w[2 * d]!;
  const hi = cpu.w[2 * d + 1]!;
  cpu.nf = hi >>> 31;
  cpu.zf = (lo | hi) === 0 ? 1 : 0;
  cpu.cf = 0;
  cpu.vf = 0;
}

export function nzFrom32(cpu: Cpu, r: number): void {
  cpu.nf = r >>> 31;
  cpu.zf = (r | 0) === 0 ? 1 : 0;
  cpu.cf = 0;
  cpu.vf = 0;
}

/** Sign-extend the low `bits` bits of `v` (bits ≤ 32). */
export function sext(v: number, bits: number): number {
  const s = 32 - bits;
  return (v << s) >> s;
}

export const COND_NAMES = [
  'eq',
  'ne',
  'hs',
  'lo',
  'mi',
  'pl',
  'vs',
  'vc',
  'hi',
  'ls',
  'ge',
  'lt',
  'gt',
  'le',
  'al',
  'nv',
];
