// Element-level floating-point operations for the execute functions: the common case on host
// doubles, everything else on the exact BigInt reference (fp-soft.ts).
//
// Elements are addressed by index into the V register file's views: a double element `i` is
// cpu.vf64[i] / cpu.v[i] (D<n> is 2n, lane k of V<n> is 2n+k); a single element `i` is
// cpu.vf32[i] / cpu.v32[i] (S<n> is 4n). Each operation reads its inputs before it writes.
//
// Why the fast paths are exact (round to nearest even, FPCR.RMode == 0):
// - Double + - * / sqrt: the host operation is IEEE binary64 round-to-nearest-even. Inexact is
//   decided by error-free transformations: TwoSum for + -, Dekker's TwoProduct for the residual of
//   * / sqrt. The guards keep every operand and residual inside the range where those
//   transformations are exact (no overflow in the splitting, no underflow in the residual), and
//   keep tiny and overflowing results (Underflow/Overflow, flush-to-zero) on the slow path.
// - Single + - * / sqrt: computed in double and rounded with Math.fround. Double rounding is
//   innocuous for these operations because 53 >= 2*24 + 2 (Figueroa 1995); products of singles
//   are exact in double, and the residual checks (r*b === a, r*r === a) are exact products.
// - Fused multiply-add: single uses an exact double product plus TwoSum, then round-to-odd to 53
//   bits before Math.fround (Boldo & Melquiond 2008: RN_p(RO_q(x)) = RN_p(x) for q >= p + 2).
//   Double uses Boldo & Melquiond's emulated FMA (ExactMult, 2Sum with the high part, round-to-odd
//   of the two residuals, final RN), and an exact zero test of (a*b + c - result) by Shewchuk's
//   expansion growth for Inexact.
// - Directed rounding modes, FZ with a denormal operand, NaN/infinity operands and results
//   outside the guarded ranges use the slow path.

import type { Cpu } from '../cpu.js';
import {
  arith2,
  compare,
  convert,
  D,
  FPCR_FZ,
  fromFixed,
  H,
  IXC,
  mulAdd,
  Op2,
  Rnd,
  rmodeOf,
  roundInt,
  S,
  sqrt,
  toFixed,
  type FFmt,
} from './fp-soft.js';

export { Op2, Rnd } from './fp-soft.js';

/** FPCR.FZ and FPCR.RMode: zero means the all-fast configuration. */
const MODE_MASK = 0x01c00000;
const FZ = FPCR_FZ;

const MIN64 = 2.2250738585072014e-308; // 2^-1022
const MAX64 = Number.MAX_VALUE;
const MINF = 1.1754943508222875e-38; // 2^-126
const MAXF = 3.4028234663852886e38;
/** Residuals of products at or above this magnitude are representable (2^-960). */
const SAFE_LO = 2 ** -960;
/** Veltkamp splitting does not overflow below this (2^995). */
const SPLIT_MAX = 2 ** 995;
/** Products below this keep Dekker's partial products (ah*bh may round up) from overflowing. */
const PROD_MAX = 2 ** 1020;
const SPLITTER = 134217729; // 2^27 + 1
const TWO32 = 4294967296;

const den64 = (x: number): boolean => x !== 0 && Math.abs(x) < MIN64;
const denF = (x: number): boolean => x !== 0 && Math.abs(x) < MINF;

/** Whether the fast path may run: RN without FZ, or RN with FZ and no denormal operand. */
function ok64(cpu: Cpu, a: number, b: number): boolean {
  const mode = cpu.fpcr & MODE_MASK;
  return mode === 0 || (mode === FZ && !den64(a) && !den64(b));
}

function ok32(cpu: Cpu, a: number, b: number): boolean {
  const mode = cpu.fpcr & MODE_MASK;
  return mode === 0 || (mode === FZ && !denF(a) && !denF(b));
}

/** For operations that do not round: only FZ with a denormal operand needs the slow path. */
const noDen64 = (cpu: Cpu, a: number, b: number): boolean => (cpu.fpcr & FZ) === 0 || (!den64(a) && !den64(b));
const noDenF = (cpu: Cpu, a: number, b: number): boolean => (cpu.fpcr & FZ) === 0 || (!denF(a) && !denF(b));

/** The exact error of the double product r = RN(a*b) (Dekker); needs |a|,|b| < 2^995. */
function prodErr(a: number, b: number, r: number): number {
  let c = SPLITTER * a;
  const ah = c - (c - a);
  const al = a - ah;
  c = SPLITTER * b;
  const bh = c - (c - b);
  const bl = b - bh;
  return ah * bh - r + ah * bl + al * bh + al * bl;
}

/** The exact error of s = RN(a + b) (Knuth's TwoSum). */
function sumErr(a: number, b: number, s: number): number {
  const bb = s - a;
  return a - (s - bb) + (b - bb);
}

const scratch = new Float64Array(1);
const scratch32 = new Uint32Array(scratch.buffer);

/** s = RN(x) with exact error e, moved to the bracketing neighbour with odd significand when e != 0. */
function toOdd(s: number, e: number): number {
  if (e === 0) return s;
  scratch[0] = s;
  const lo = scratch32[0]!;
  if ((lo & 1) === 1) return s;
  if (e > 0 === s > 0)
    scratch32[0] = lo + 1; // even: no carry
  else if (lo === 0) {
    scratch32[0] = 0xffffffff;
    scratch32[1] = scratch32[1]! - 1;
  } else scratch32[0] = lo - 1;
  return scratch[0]!;
}

/** Whether a + b + c + d is exactly zero (Shewchuk's Grow-Expansion, then every component). */
function sum4Zero(a: number, b: number, c: number, d: number): boolean {
  let q = a + b;
  const h0 = sumErr(a, b, q);
  // grow [h0, q] by c
  let t = c + h0;
  const g0 = sumErr(c, h0, t);
  let q2 = t + q;
  const g1 = sumErr(t, q, q2);
  // grow [g0, g1, q2] by d
  t = d + g0;
  const k0 = sumErr(d, g0, t);
  q = t + g1;
  const k1 = sumErr(t, g1, q);
  t = q + q2;
  const k2 = sumErr(q, q2, t);
  q2 = t;
  return k0 === 0 && k1 === 0 && k2 === 0 && q2 === 0;
}

// ---------------------------------------------------------------------------------------------
// Slow-path adapters between element indices and encodings
// ---------------------------------------------------------------------------------------------

function slow2d(cpu: Cpu, op: Op2, d: number, n: number, m: number): void {
  cpu.v[d] = arith2(cpu, op, cpu.v[n]!, cpu.v[m]!, D);
}

function slow2s(cpu: Cpu, op: Op2, d: number, n: number, m: number): void {
  cpu.v32[d] = Number(arith2(cpu, op, BigInt(cpu.v32[n]!), BigInt(cpu.v32[m]!), S));
}

// ---------------------------------------------------------------------------------------------
// Two-operand arithmetic
// ---------------------------------------------------------------------------------------------

function addsub64(cpu: Cpu, d: number, n: number, m: number, op: Op2.Add | Op2.Sub): void {
  const f = cpu.vf64;
  const a = f[n]!;
  const b = op === Op2.Sub ? -f[m]! : f[m]!;
  const r = a + b;
  const ar = Math.abs(r);
  const mode = cpu.fpcr & MODE_MASK;
  if (ar <= MAX64 && (mode === 0 || (mode === FZ && (ar >= MIN64 || r === 0) && !den64(a) && !den64(b)))) {
    const e = sumErr(a, b, r);
    if (e !== 0) {
      if (e - e !== 0) return slow2d(cpu, op, d, n, m); // an intermediate overflowed
      cpu.fpsr |= IXC;
    }
    f[d] = r;
    return;
  }
  slow2d(cpu, op, d, n, m);
}

export function add64(cpu: Cpu, d: number, n: number, m: number): void {
  addsub64(cpu, d, n, m, Op2.Add);
}

export function sub64(cpu: Cpu, d: number, n: number, m: number): void {
  addsub64(cpu, d, n, m, Op2.Sub);
}

function addsub32(cpu: Cpu, d: number, n: number, m: number, op: Op2.Add | Op2.Sub): void {
  const f = cpu.vf32;
  const a = f[n]!;
  const b = op === Op2.Sub ? -f[m]! : f[m]!;
  const s = a + b;
  const r = Math.fround(s);
  const ar = Math.abs(r);
  const mode = cpu.fpcr & MODE_MASK;
  if (ar <= MAXF && (mode === 0 || (mode === FZ && (ar >= MINF || r === 0) && !denF(a) && !denF(b)))) {
    if (r !== s || sumErr(a, b, s) !== 0) cpu.fpsr |= IXC;
    f[d] = r;
    return;
  }
  slow2s(cpu, op, d, n, m);
}

export function add32(cpu: Cpu, d: number, n: number, m: number): void {
  addsub32(cpu, d, n, m, Op2.Add);
}

export function sub32(cpu: Cpu, d: number, n: number, m: number): void {
  addsub32(cpu, d, n, m, Op2.Sub);
}

function mulCore64(cpu: Cpu, d: number, n: number, m: number, op: Op2.Mul | Op2.NMul): void {
  const f = cpu.vf64;
  const a = f[n]!;
  const b = f[m]!;
  const r = a * b;
  if (ok64(cpu, a, b)) {
    const ar = Math.abs(r);
    if (ar > SAFE_LO && ar <= PROD_MAX && Math.abs(a) < SPLIT_MAX && Math.abs(b) < SPLIT_MAX) {
      if (prodErr(a, b, r) !== 0) cpu.fpsr |= IXC;
      f[d] = op === Op2.NMul ? -r : r;
      return;
    }
    if (r === 0 && (a === 0 || b === 0)) {
      f[d] = op === Op2.NMul ? -r : r;
      return;
    }
  }
  slow2d(cpu, op, d, n, m);
}

export function mul64(cpu: Cpu, d: number, n: number, m: number): void {
  mulCore64(cpu, d, n, m, Op2.Mul);
}

export function nmul64(cpu: Cpu, d: number, n: number, m: number): void {
  mulCore64(cpu, d, n, m, Op2.NMul);
}

function mulCore32(cpu: Cpu, d: number, n: number, m: number, op: Op2.Mul | Op2.NMul): void {
  const f = cpu.vf32;
  const a = f[n]!;
  const b = f[m]!;
  const s = a * b; // exact: 24 + 24 significant bits
  const r = Math.fround(s);
  if (ok32(cpu, a, b)) {
    const as = Math.abs(s);
    if ((as >= MINF && Math.abs(r) <= MAXF) || (s === 0 && (a === 0 || b === 0))) {
      if (r !== s) cpu.fpsr |= IXC;
      f[d] = op === Op2.NMul ? -r : r;
      return;
    }
  }
  slow2s(cpu, op, d, n, m);
}

export function mul32(cpu: Cpu, d: number, n: number, m: number): void {
  mulCore32(cpu, d, n, m, Op2.Mul);
}

export function nmul32(cpu: Cpu, d: number, n: number, m: number): void {
  mulCore32(cpu, d, n, m, Op2.NMul);
}

export function div64(cpu: Cpu, d: number, n: number, m: number): void {
  const f = cpu.vf64;
  const a = f[n]!;
  const b = f[m]!;
  const q = a / b;
  if (ok64(cpu, a, b)) {
    const aq = Math.abs(q);
    const ab = Math.abs(b);
    if (aq > SAFE_LO && aq < SPLIT_MAX && ab < SPLIT_MAX && Math.abs(a) > SAFE_LO && Math.abs(a) <= PROD_MAX) {
      const p = q * b;
      if (p !== a || prodErr(q, b, p) !== 0) cpu.fpsr |= IXC;
      f[d] = q;
      return;
    }
    if (a === 0 && b !== 0 && ab <= MAX64) {
      f[d] = q;
      return;
    }
  }
  slow2d(cpu, Op2.Div, d, n, m);
}

export function div32(cpu: Cpu, d: number, n: number, m: number): void {
  const f = cpu.vf32;
  const a = f[n]!;
  const b = f[m]!;
  const r = Math.fround(a / b);
  if (ok32(cpu, a, b)) {
    const ar = Math.abs(r);
    if (ar > MINF && ar <= MAXF) {
      if (r * b !== a) cpu.fpsr |= IXC; // r*b is exact in double
      f[d] = r;
      return;
    }
    if (a === 0 && b !== 0 && Math.abs(b) <= MAXF) {
      f[d] = r;
      return;
    }
  }
  slow2s(cpu, Op2.Div, d, n, m);
}

/** FMAX, FMIN, FMAXNM, FMINNM: no rounding, so only NaNs and FZ need the slow path. */
export function maxmin64(cpu: Cpu, d: number, n: number, m: number, op: Op2): void {
  const f = cpu.vf64;
  const a = f[n]!;
  const b = f[m]!;
  if (a === a && b === b && noDen64(cpu, a, b)) {
    f[d] = op === Op2.Max || op === Op2.MaxNum ? Math.max(a, b) : Math.min(a, b);
    return;
  }
  slow2d(cpu, op, d, n, m);
}

export function maxmin32(cpu: Cpu, d: number, n: number, m: number, op: Op2): void {
  const f = cpu.vf32;
  const a = f[n]!;
  const b = f[m]!;
  if (a === a && b === b && noDenF(cpu, a, b)) {
    f[d] = op === Op2.Max || op === Op2.MaxNum ? Math.max(a, b) : Math.min(a, b);
    return;
  }
  slow2s(cpu, op, d, n, m);
}

export function sqrt64(cpu: Cpu, d: number, n: number): void {
  const f = cpu.vf64;
  const a = f[n]!;
  if (ok64(cpu, a, 0)) {
    if (a > SAFE_LO && a <= PROD_MAX) {
      const r = Math.sqrt(a);
      const p = r * r;
      if (p !== a || prodErr(r, r, p) !== 0) cpu.fpsr |= IXC;
      f[d] = r;
      return;
    }
    if (a === 0) {
      f[d] = a;
      return;
    }
  }
  cpu.v[d] = sqrt(cpu, cpu.v[n]!, D);
}

export function sqrt32(cpu: Cpu, d: number, n: number): void {
  const f = cpu.vf32;
  const a = f[n]!;
  if (ok32(cpu, a, 0) && ((a > 0 && a <= MAXF) || a === 0)) {
    const r = Math.fround(Math.sqrt(a));
    if (r * r !== a) cpu.fpsr |= IXC;
    f[d] = r;
    return;
  }
  cpu.v32[d] = Number(sqrt(cpu, BigInt(cpu.v32[n]!), S));
}

// ---------------------------------------------------------------------------------------------
// Fused multiply-add: result = (negA ? -A : A) + (negP ? -N : N) * M, one rounding
// ---------------------------------------------------------------------------------------------

export function fma64(cpu: Cpu, d: number, ai: number, n: number, m: number, negA: boolean, negP: boolean): void {
  const f = cpu.vf64;
  const c = negA ? -f[ai]! : f[ai]!;
  const a = negP ? -f[n]! : f[n]!;
  const b = f[m]!;
  const mode = cpu.fpcr & MODE_MASK;
  if (mode === 0 || (mode === FZ && !den64(a) && !den64(b) && !den64(c))) {
    const p = a * b;
    const ap = Math.abs(p);
    const ac = Math.abs(c);
    if (p === 0 && (a === 0 || b === 0) && ac <= MAX64) {
      f[d] = p + c; // exact: sign of zero as in FPMulAdd for round to nearest
      return;
    }
    if (
      ap > SAFE_LO &&
      ap <= PROD_MAX &&
      Math.abs(a) < SPLIT_MAX &&
      Math.abs(b) < SPLIT_MAX &&
      (c === 0 || (ac > SAFE_LO && ac <= PROD_MAX))
    ) {
      const ul = prodErr(a, b, p);
      const th = c + p;
      const tl = sumErr(c, p, th);
      const s = tl + ul;
      const v = toOdd(s, sumErr(tl, ul, s));
      const r = th + v;
      const ar = Math.abs(r);
      if (ar > SAFE_LO && ar <= MAX64) {
        if (!sum4Zero(th, tl, ul, -r)) cpu.fpsr |= IXC;
        f[d] = r;
        return;
      }
    }
  }
  cpu.v[d] = mulAdd(cpu, cpu.v[ai]!, cpu.v[n]!, cpu.v[m]!, D, negA, negP);
}

export function fma32(cpu: Cpu, d: number, ai: number, n: number, m: number, negA: boolean, negP: boolean): void {
  const f = cpu.vf32;
  const c = negA ? -f[ai]! : f[ai]!;
  const a = negP ? -f[n]! : f[n]!;
  const b = f[m]!;
  const mode = cpu.fpcr & MODE_MASK;
  if (mode === 0 || (mode === FZ && !denF(a) && !denF(b) && !denF(c))) {
    const p = a * b; // exact
    const s = p + c;
    const e = sumErr(p, c, s);
    const r = Math.fround(toOdd(s, e));
    const ar = Math.abs(r);
    if ((ar > MINF && ar <= MAXF) || (s === 0 && Math.abs(c) <= MAXF && Math.abs(p) <= MAX64)) {
      if (e !== 0 || r !== s) cpu.fpsr |= IXC;
      f[d] = r;
      return;
    }
  }
  cpu.v32[d] = Number(mulAdd(cpu, BigInt(cpu.v32[ai]!), BigInt(cpu.v32[n]!), BigInt(cpu.v32[m]!), S, negA, negP));
}

// ---------------------------------------------------------------------------------------------
// Compare: NZCV as a 4-bit number. `zero` compares with +0.0 (FCMP Sn, #0.0).
// ---------------------------------------------------------------------------------------------

export function cmp64(cpu: Cpu, n: number, m: number, zero: boolean, signal: boolean): number {
  const f = cpu.vf64;
  const a = f[n]!;
  const b = zero ? 0 : f[m]!;
  if (a === a && b === b && noDen64(cpu, a, b)) return a === b ? 0b0110 : a < b ? 0b1000 : 0b0010;
  return compare(cpu, cpu.v[n]!, zero ? 0n : cpu.v[m]!, D, signal);
}

export function cmp32(cpu: Cpu, n: number, m: number, zero: boolean, signal: boolean): number {
  const f = cpu.vf32;
  const a = f[n]!;
  const b = zero ? 0 : f[m]!;
  if (a === a && b === b && noDenF(cpu, a, b)) return a === b ? 0b0110 : a < b ? 0b1000 : 0b0010;
  return compare(cpu, BigInt(cpu.v32[n]!), zero ? 0n : BigInt(cpu.v32[m]!), S, signal);
}

// ---------------------------------------------------------------------------------------------
// Round to integral (FRINT*): `rnd` < 0 means the FPCR's mode; `exact` is FRINTX.
// ---------------------------------------------------------------------------------------------

/** Round a finite double to an integral value with `rnd`, keeping the sign of zero. */
export function rintD(x: number, rnd: Rnd): number {
  switch (rnd) {
    case Rnd.Zero:
      return Math.trunc(x);
    case Rnd.NegInf:
      return Math.floor(x);
    case Rnd.PosInf:
      return Math.ceil(x);
    default: {
      const t = Math.trunc(x);
      const fr = Math.abs(x - t); // exact
      if (fr > 0.5 || (fr === 0.5 && (rnd === Rnd.TieAway || t % 2 !== 0))) return x < 0 ? t - 1 : t + 1;
      return t;
    }
  }
}

export function frint64(cpu: Cpu, d: number, n: number, rnd: number, exact: boolean): void {
  const f = cpu.vf64;
  const x = f[n]!;
  const r: Rnd = rnd < 0 ? rmodeOf(cpu) : (rnd as Rnd);
  if (Math.abs(x) <= MAX64 && ((cpu.fpcr & FZ) === 0 || !den64(x))) {
    const t = rintD(x, r);
    if (exact && t !== x) cpu.fpsr |= IXC;
    f[d] = t;
    return;
  }
  cpu.v[d] = roundInt(cpu, cpu.v[n]!, D, r, exact);
}

export function frint32(cpu: Cpu, d: number, n: number, rnd: number, exact: boolean): void {
  const f = cpu.vf32;
  const x = f[n]!;
  const r: Rnd = rnd < 0 ? rmodeOf(cpu) : (rnd as Rnd);
  if (Math.abs(x) <= MAXF && ((cpu.fpcr & FZ) === 0 || !denF(x))) {
    const t = rintD(x, r);
    if (exact && t !== x) cpu.fpsr |= IXC;
    f[d] = t;
    return;
  }
  cpu.v32[d] = Number(roundInt(cpu, BigInt(cpu.v32[n]!), S, r, exact));
}

// ---------------------------------------------------------------------------------------------
// FP -> integer (FPToFixed). The result goes to dst[di] (32-bit) or dst[di], dst[di+1] (64-bit).
// ---------------------------------------------------------------------------------------------

const POW2: readonly number[] = Array.from({ length: 65 }, (_, i) => 2 ** i);

function storeInt(dst: Uint32Array, di: number, t: number, bits: number): void {
  if (bits === 32) dst[di] = t >>> 0;
  else {
    const hi = Math.floor(t / TWO32);
    dst[di] = t - hi * TWO32;
    dst[di + 1] = hi >>> 0;
  }
}

function storeBig(dst: Uint32Array, di: number, v: bigint, bits: number): void {
  dst[di] = Number(v & 0xffffffffn);
  if (bits === 64) dst[di + 1] = Number(v >> 32n);
}

/** The fast conversion of a finite double (or widened single) `x`; false when the slow path must run. */
function toIntFast(
  cpu: Cpu,
  x: number,
  isD: boolean,
  fbits: number,
  unsigned: boolean,
  rnd: Rnd,
  bits: number,
  dst: Uint32Array,
  di: number,
): boolean {
  if (x !== x || ((cpu.fpcr & FZ) !== 0 && (isD ? den64(x) : denF(x)))) return false;
  const v = fbits === 0 ? x : x * POW2[fbits]!;
  const t = rintD(v, rnd);
  if (t < (unsigned ? 0 : -POW2[bits - 1]!) || t >= (unsigned ? POW2[bits]! : POW2[bits - 1]!)) return false;
  if (t !== v) cpu.fpsr |= IXC;
  storeInt(dst, di, t, bits);
  return true;
}

export function toInt64(
  cpu: Cpu,
  n: number,
  fbits: number,
  unsigned: boolean,
  rnd: Rnd,
  bits: number,
  dst: Uint32Array,
  di: number,
): void {
  if (toIntFast(cpu, cpu.vf64[n]!, true, fbits, unsigned, rnd, bits, dst, di)) return;
  storeBig(dst, di, toFixed(cpu, cpu.v[n]!, D, fbits, unsigned, rnd, bits), bits);
}

export function toInt32(
  cpu: Cpu,
  n: number,
  fbits: number,
  unsigned: boolean,
  rnd: Rnd,
  bits: number,
  dst: Uint32Array,
  di: number,
): void {
  if (toIntFast(cpu, cpu.vf32[n]!, false, fbits, unsigned, rnd, bits, dst, di)) return;
  storeBig(dst, di, toFixed(cpu, BigInt(cpu.v32[n]!), S, fbits, unsigned, rnd, bits), bits);
}

// ---------------------------------------------------------------------------------------------
// Integer -> FP (FixedToFP) with the FPCR's rounding. The integer is given as its 32-bit halves
// (hi = 0 for a 32-bit source; for a signed 32-bit source pass the sign extension as hi).
// ---------------------------------------------------------------------------------------------

/** Signed integer hi*2^32 + lo (hi signed, lo unsigned) or unsigned (hi unsigned). */
function intValue(lo: number, hi: number): bigint {
  return (BigInt(hi) << 32n) | BigInt(lo);
}

export function fromInt64(cpu: Cpu, d: number, lo: number, hi: number, fbits: number): void {
  // hi is the signed or unsigned high word as a Number; hi*2^32 is exact and the sum rounds once.
  const big = hi * TWO32;
  const s = big + lo;
  if ((cpu.fpcr & 0x00c00000) === 0) {
    if (sumErr(big, lo, s) !== 0) cpu.fpsr |= IXC;
    cpu.vf64[d] = fbits === 0 ? s : s / POW2[fbits]!;
    return;
  }
  cpu.v[d] = fromFixed(cpu, intValue(lo, hi), fbits, D, rmodeOf(cpu));
}

export function fromInt32(cpu: Cpu, d: number, lo: number, hi: number, fbits: number): void {
  const big = hi * TWO32;
  const s = big + lo;
  if ((cpu.fpcr & 0x00c00000) === 0) {
    const e = sumErr(big, lo, s);
    const r = Math.fround(toOdd(s, e));
    if (e !== 0 || r !== s) cpu.fpsr |= IXC;
    cpu.vf32[d] = fbits === 0 ? r : r / POW2[fbits]!;
    return;
  }
  cpu.v32[d] = Number(fromFixed(cpu, intValue(lo, hi), fbits, S, rmodeOf(cpu)));
}

// ---------------------------------------------------------------------------------------------
// FCVT between precisions. Sources and destinations are element indices in their own views.
// ---------------------------------------------------------------------------------------------

export function cvtSD(cpu: Cpu, d: number, n: number): void {
  const x = cpu.vf32[n]!;
  if (x === x && ((cpu.fpcr & FZ) === 0 || !denF(x))) {
    cpu.vf64[d] = x;
    return;
  }
  cpu.v[d] = convert(cpu, BigInt(cpu.v32[n]!), S, D);
}

export function cvtDS(cpu: Cpu, d: number, n: number): void {
  const x = cpu.vf64[n]!;
  const r = Math.fround(x);
  const ar = Math.abs(r);
  if ((cpu.fpcr & 0x00c00000) === 0 && ((ar > MINF && ar <= MAXF) || x === 0)) {
    if (r !== x) cpu.fpsr |= IXC;
    cpu.vf32[d] = r;
    return;
  }
  cpu.v32[d] = Number(convert(cpu, cpu.v[n]!, D, S));
}

/** Any conversion involving half precision (always exact-path; rare in C code). */
export function cvtHalf(cpu: Cpu, from: FFmt, to: FFmt, x: bigint): bigint {
  return convert(cpu, x, from, to);
}

export { D, S, H };
