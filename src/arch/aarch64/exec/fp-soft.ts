// The exact floating-point reference: Arm ARM J1 shared/functions/float (FPUnpack, FPProcessNaN(s),
// FPRoundBase, FPAdd, FPMul, FPDiv, FPSqrt, FPMulAdd, FPMax/Min(Num), FPCompare, FPRoundInt,
// FPConvert, FPToFixed, FixedToFP) written on BigInt significands, so every rounding mode, flush to
// zero, default NaN and every cumulative FPSR flag come out exactly as the pseudocode says.
//
// This is the slow path. The execute functions (fp-fast.ts) compute the common case with host
// doubles and come here for anything unusual: NaN or infinite operands, zero or tiny results,
// overflow, a rounding mode other than round-to-nearest-even, or denormal inputs under FPCR.FZ.
// Values are passed as raw encodings (bigint), so NaN payloads survive.

import type { Cpu } from '../cpu.js';

// FPSR cumulative exception bits.
export const IOC = 1;
export const DZC = 2;
export const OFC = 4;
export const UFC = 8;
export const IXC = 16;
export const IDC = 128;

// FPCR control bits.
export const FPCR_AHP = 1 << 26;
export const FPCR_DN = 1 << 25;
export const FPCR_FZ = 1 << 24;
export const RMODE_SHIFT = 22;

/** Rounding modes: the first four are FPCR.RMode's encodings. */
export const enum Rnd {
  TieEven = 0,
  PosInf = 1,
  NegInf = 2,
  Zero = 3,
  TieAway = 4,
}

export interface FFmt {
  /** Total width N. */
  readonly n: number;
  /** Exponent bits E. */
  readonly e: number;
  /** Fraction bits F. */
  readonly f: number;
  readonly bias: number;
  /** Smallest normal exponent, 2 - 2^(E-1). */
  readonly minExp: number;
  readonly expMax: bigint;
  readonly fracMask: bigint;
  readonly signBit: bigint;
  readonly quietBit: bigint;
  readonly nBig: bigint;
  readonly fBig: bigint;
}

function fmt(n: number, e: number, f: number): FFmt {
  const bias = (1 << (e - 1)) - 1;
  return {
    n,
    e,
    f,
    bias,
    minExp: 1 - bias,
    expMax: (1n << BigInt(e)) - 1n,
    fracMask: (1n << BigInt(f)) - 1n,
    signBit: 1n << BigInt(n - 1),
    quietBit: 1n << BigInt(f - 1),
    nBig: BigInt(n),
    fBig: BigInt(f),
  };
}

export const H = fmt(16, 5, 10);
export const S = fmt(32, 8, 23);
export const D = fmt(64, 11, 52);

export const enum T {
  Zero = 0,
  Num = 1,
  Inf = 2,
  QNaN = 3,
  SNaN = 4,
}

/** An unpacked operand: for Num the value is (-1)^s * m * 2^e with m > 0. */
export interface Up {
  t: T;
  s: number;
  m: bigint;
  e: number;
}

export function rmodeOf(cpu: Cpu): Rnd {
  return ((cpu.fpcr >>> RMODE_SHIFT) & 3) as Rnd;
}

export function bitLen(m: bigint): number {
  return m === 0n ? 0 : m.toString(2).length;
}

/**
 * FPUnpack (with `fz` = FPCR.FZ for single and double) and FPUnpackCV (fz false for half; `ahp`
 * selects the alternative half-precision format, which has no infinities or NaNs).
 */
export function unpack(cpu: Cpu, x: bigint, f: FFmt, fz: boolean, ahp = false): Up {
  const s = (x & f.signBit) === 0n ? 0 : 1;
  const ex = (x >> f.fBig) & f.expMax;
  const frac = x & f.fracMask;
  if (ex === 0n) {
    if (frac === 0n) return { t: T.Zero, s, m: 0n, e: 0 };
    if (fz) {
      cpu.fpsr |= IDC;
      return { t: T.Zero, s, m: 0n, e: 0 };
    }
    return { t: T.Num, s, m: frac, e: f.minExp - f.f };
  }
  if (ex === f.expMax && !ahp) {
    if (frac === 0n) return { t: T.Inf, s, m: 0n, e: 0 };
    return { t: (frac & f.quietBit) !== 0n ? T.QNaN : T.SNaN, s, m: 0n, e: 0 };
  }
  return { t: T.Num, s, m: frac | (1n << f.fBig), e: Number(ex) - f.bias - f.f };
}

export const isNaNType = (t: T): boolean => t >= T.QNaN;

export function defaultNaN(f: FFmt): bigint {
  return (f.expMax << f.fBig) | f.quietBit;
}

export function fpInf(f: FFmt, s: number): bigint {
  return (s ? f.signBit : 0n) | (f.expMax << f.fBig);
}

export function fpZero(f: FFmt, s: number): bigint {
  return s ? f.signBit : 0n;
}

export function fpMaxNormal(f: FFmt, s: number): bigint {
  return (s ? f.signBit : 0n) | ((f.expMax - 1n) << f.fBig) | f.fracMask;
}

/** FPProcessNaN: quiet a signalling NaN (raising Invalid Operation); DN substitutes the default NaN. */
export function processNaN(cpu: Cpu, t: T, x: bigint, f: FFmt): bigint {
  let r = x;
  if (t === T.SNaN) {
    r |= f.quietBit;
    cpu.fpsr |= IOC;
  }
  return (cpu.fpcr & FPCR_DN) !== 0 ? defaultNaN(f) : r;
}

/** FPProcessNaNs: a signalling NaN wins over a quiet one; among equals the first operand wins. */
export function processNaNs(cpu: Cpu, a: Up, b: Up, xa: bigint, xb: bigint, f: FFmt): bigint | null {
  if (a.t === T.SNaN) return processNaN(cpu, a.t, xa, f);
  if (b.t === T.SNaN) return processNaN(cpu, b.t, xb, f);
  if (a.t === T.QNaN) return processNaN(cpu, a.t, xa, f);
  if (b.t === T.QNaN) return processNaN(cpu, b.t, xb, f);
  return null;
}

export function processNaNs3(
  cpu: Cpu,
  a: Up,
  b: Up,
  c: Up,
  xa: bigint,
  xb: bigint,
  xc: bigint,
  f: FFmt,
): bigint | null {
  if (a.t === T.SNaN) return processNaN(cpu, a.t, xa, f);
  if (b.t === T.SNaN) return processNaN(cpu, b.t, xb, f);
  if (c.t === T.SNaN) return processNaN(cpu, c.t, xc, f);
  if (a.t === T.QNaN) return processNaN(cpu, a.t, xa, f);
  if (b.t === T.QNaN) return processNaN(cpu, b.t, xb, f);
  if (c.t === T.QNaN) return processNaN(cpu, c.t, xc, f);
  return null;
}

/**
 * FPRoundBase. The value is (-1)^sign * (m + δ) * 2^e where δ is 0 when `sticky` is false and
 * strictly between 0 and 1 otherwise; m > 0. A caller passing `sticky` must give m at least
 * F+3 significant bits so that δ sits below the rounding bit.
 * `fz` says whether flush-to-zero applies to this result; `ahp` selects alternative half precision.
 */
export function roundPack(
  cpu: Cpu,
  f: FFmt,
  sign: number,
  m: bigint,
  e: number,
  sticky: boolean,
  rnd: Rnd,
  fz: boolean,
  ahp = false,
): bigint {
  const len = bitLen(m);
  const exponent = e + len - 1;
  if (fz && exponent < f.minExp) {
    cpu.fpsr |= UFC; // flush to zero sets UFC only (never Inexact)
    return fpZero(f, sign);
  }
  let biased: number;
  let shift: number;
  if (exponent >= f.minExp) {
    biased = exponent - f.minExp + 1;
    shift = len - 1 - f.f;
  } else {
    biased = 0;
    shift = f.minExp - f.f - e;
  }
  let mant: bigint;
  let cmp: number; // error against one half: -1 below, 0 equal, 1 above
  let inexact: boolean;
  if (shift > 0) {
    const sh = BigInt(shift);
    mant = m >> sh;
    const rem = m - (mant << sh);
    const half = 1n << (sh - 1n);
    cmp = rem > half ? 1 : rem < half ? -1 : sticky ? 1 : 0;
    inexact = rem !== 0n || sticky;
  } else {
    mant = m << BigInt(-shift);
    cmp = -1;
    inexact = sticky;
  }
  if (biased === 0 && inexact) cpu.fpsr |= UFC;
  let up: boolean;
  let ovfInf: boolean;
  switch (rnd) {
    case Rnd.TieEven:
      up = cmp > 0 || (cmp === 0 && (mant & 1n) === 1n);
      ovfInf = true;
      break;
    case Rnd.PosInf:
      up = inexact && sign === 0;
      ovfInf = sign === 0;
      break;
    case Rnd.NegInf:
      up = inexact && sign === 1;
      ovfInf = sign === 1;
      break;
    case Rnd.TieAway:
      up = cmp >= 0;
      ovfInf = true;
      break;
    default:
      up = false;
      ovfInf = false;
  }
  if (up) {
    mant++;
    if (mant === 1n << f.fBig) biased = 1; // a denormal rounded up to the smallest normal
    if (mant === 2n << f.fBig) {
      biased++;
      mant >>= 1n;
    }
  }
  let r: bigint;
  const sb = sign ? f.signBit : 0n;
  if (!ahp) {
    if (biased >= (1 << f.e) - 1) {
      r = ovfInf ? fpInf(f, sign) : fpMaxNormal(f, sign);
      cpu.fpsr |= OFC;
      inexact = true;
    } else {
      r = sb | (BigInt(biased) << f.fBig) | (mant & f.fracMask);
    }
  } else if (biased >= 1 << f.e) {
    r = sb | (f.signBit - 1n);
    cpu.fpsr |= IOC;
    inexact = false;
  } else {
    r = sb | (BigInt(biased) << f.fBig) | (mant & f.fracMask);
  }
  if (inexact) cpu.fpsr |= IXC;
  return r;
}

const fzOf = (cpu: Cpu, f: FFmt): boolean => f.n !== 16 && (cpu.fpcr & FPCR_FZ) !== 0;

/** Round an exact nonzero value with the FPCR's mode and flush-to-zero. */
function roundFpcr(cpu: Cpu, f: FFmt, sign: number, m: bigint, e: number, sticky: boolean): bigint {
  return roundPack(cpu, f, sign, m, e, sticky, rmodeOf(cpu), fzOf(cpu, f));
}

/** Exact signed sum of two values m*2^e; returns [sign, m, e] with m === 0n for an exact zero. */
function addExact(s1: number, m1: bigint, e1: number, s2: number, m2: bigint, e2: number): [number, bigint, number] {
  const e = Math.min(e1, e2);
  const a = m1 << BigInt(e1 - e);
  const b = m2 << BigInt(e2 - e);
  const va = s1 ? -a : a;
  const vb = s2 ? -b : b;
  const v = va + vb;
  return v < 0n ? [1, -v, e] : [0, v, e];
}

export const enum Op2 {
  Add = 0,
  Sub = 1,
  Mul = 2,
  Div = 3,
  Max = 4,
  Min = 5,
  MaxNum = 6,
  MinNum = 7,
  NMul = 8,
}

/** The two-operand arithmetic of FADD..FNMUL on encodings. */
export function arith2(cpu: Cpu, op: Op2, xa: bigint, xb: bigint, f: FFmt): bigint {
  const fz = fzOf(cpu, f);
  if (op === Op2.MaxNum || op === Op2.MinNum) {
    // FPMaxNum/FPMinNum: a single quiet NaN is replaced by the infinity that loses.
    const ta = unpackType(xa, f);
    const tb = unpackType(xb, f);
    const loser = fpInf(f, op === Op2.MaxNum ? 1 : 0);
    if (ta === T.QNaN && !isNaNType(tb)) xa = loser;
    else if (tb === T.QNaN && !isNaNType(ta)) xb = loser;
    op = op === Op2.MaxNum ? Op2.Max : Op2.Min;
  }
  const a = unpack(cpu, xa, f, fz);
  const b = unpack(cpu, xb, f, fz);
  const nan = processNaNs(cpu, a, b, xa, xb, f);
  if (nan !== null) return op === Op2.NMul ? nan ^ f.signBit : nan;
  switch (op) {
    case Op2.Add:
    case Op2.Sub: {
      const sb = op === Op2.Sub ? b.s ^ 1 : b.s;
      if (a.t === T.Inf && b.t === T.Inf && a.s !== sb) return invalid(cpu, f);
      if (a.t === T.Inf) return fpInf(f, a.s);
      if (b.t === T.Inf) return fpInf(f, sb);
      if (a.t === T.Zero && b.t === T.Zero && a.s === sb) return fpZero(f, a.s);
      const [s, m, e] = addExact(a.s, a.m, a.e, sb, b.m, b.e);
      if (m === 0n) return fpZero(f, rmodeOf(cpu) === Rnd.NegInf ? 1 : 0);
      return roundFpcr(cpu, f, s, m, e, false);
    }
    case Op2.Mul:
    case Op2.NMul: {
      const s = a.s ^ b.s;
      let r: bigint;
      if ((a.t === T.Inf && b.t === T.Zero) || (a.t === T.Zero && b.t === T.Inf)) r = invalid(cpu, f);
      else if (a.t === T.Inf || b.t === T.Inf) r = fpInf(f, s);
      else if (a.t === T.Zero || b.t === T.Zero) r = fpZero(f, s);
      else r = roundFpcr(cpu, f, s, a.m * b.m, a.e + b.e, false);
      return op === Op2.NMul ? r ^ f.signBit : r;
    }
    case Op2.Div: {
      const s = a.s ^ b.s;
      if ((a.t === T.Inf && b.t === T.Inf) || (a.t === T.Zero && b.t === T.Zero)) return invalid(cpu, f);
      if (a.t === T.Inf || b.t === T.Zero) {
        if (a.t !== T.Inf) cpu.fpsr |= DZC;
        return fpInf(f, s);
      }
      if (a.t === T.Zero || b.t === T.Inf) return fpZero(f, s);
      const k = Math.max(0, f.f + 4 + bitLen(b.m) - bitLen(a.m));
      const num = a.m << BigInt(k);
      const q = num / b.m;
      return roundFpcr(cpu, f, s, q, a.e - b.e - k, q * b.m !== num);
    }
    default: {
      // FPMax / FPMin
      const pickA = op === Op2.Max ? cmpUp(a, b) > 0 : cmpUp(a, b) < 0;
      const p = pickA ? a : b;
      if (p.t === T.Inf) return fpInf(f, p.s);
      if (p.t === T.Zero) return fpZero(f, op === Op2.Max ? a.s & b.s : a.s | b.s);
      return pickA ? xa : xb; // a representable value: FPRound leaves it unchanged
    }
  }
}

/** Compare two non-NaN unpacked values: -1, 0 or 1. */
export function cmpUp(a: Up, b: Up): number {
  const sa = signum(a);
  const sb = signum(b);
  if (sa !== sb) return sa < sb ? -1 : 1;
  if (sa === 0) return 0;
  let mag: number;
  if (a.t === T.Inf || b.t === T.Inf) mag = a.t === b.t ? 0 : a.t === T.Inf ? 1 : -1;
  else {
    const e = Math.min(a.e, b.e);
    const ma = a.m << BigInt(a.e - e);
    const mb = b.m << BigInt(b.e - e);
    mag = ma === mb ? 0 : ma > mb ? 1 : -1;
  }
  return sa > 0 ? mag : -mag;
}

function signum(u: Up): number {
  if (u.t === T.Zero) return 0;
  return u.s ? -1 : 1;
}

/** Re-encode a finite nonzero unpacked value that is exactly representable in `f`. */
function pack(f: FFmt, u: Up): bigint {
  const sb = u.s ? f.signBit : 0n;
  const len = bitLen(u.m);
  const exponent = u.e + len - 1;
  if (exponent < f.minExp) return sb | (u.m << BigInt(u.e - (f.minExp - f.f)));
  const m = u.m << BigInt(f.f + 1 - len);
  return sb | (BigInt(exponent + f.bias) << f.fBig) | (m & f.fracMask);
}

function unpackType(x: bigint, f: FFmt): T {
  const ex = (x >> f.fBig) & f.expMax;
  const frac = x & f.fracMask;
  if (ex !== f.expMax) return ex === 0n && frac === 0n ? T.Zero : T.Num;
  if (frac === 0n) return T.Inf;
  return (frac & f.quietBit) !== 0n ? T.QNaN : T.SNaN;
}

function invalid(cpu: Cpu, f: FFmt): bigint {
  cpu.fpsr |= IOC;
  return defaultNaN(f);
}

/** FPSqrt. */
export function sqrt(cpu: Cpu, x: bigint, f: FFmt): bigint {
  const a = unpack(cpu, x, f, fzOf(cpu, f));
  if (isNaNType(a.t)) return processNaN(cpu, a.t, x, f);
  if (a.t === T.Zero) return fpZero(f, a.s);
  if (a.s === 1) return invalid(cpu, f);
  if (a.t === T.Inf) return fpInf(f, 0);
  let sh = Math.max(0, 2 * (f.f + 4) - bitLen(a.m));
  if (((a.e - sh) & 1) !== 0) sh++;
  const n = a.m << BigInt(sh);
  const r = isqrt(n);
  return roundFpcr(cpu, f, 0, r, (a.e - sh) / 2, r * r !== n);
}

export function isqrt(n: bigint): bigint {
  if (n < 2n) return n;
  let x = 1n << BigInt((bitLen(n) >> 1) + 1);
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

/**
 * FPMulAdd(addend, op1, op2) with single rounding. `negA` and `negP` negate the addend and the
 * first multiplicand before the operation (FPNeg, which flips a NaN's sign too), giving
 * FMSUB (negP), FNMADD (negA, negP) and FNMSUB (negA).
 */
export function mulAdd(cpu: Cpu, xa: bigint, x1: bigint, x2: bigint, f: FFmt, negA: boolean, negP: boolean): bigint {
  if (negA) xa ^= f.signBit;
  if (negP) x1 ^= f.signBit;
  const fz = fzOf(cpu, f);
  const a = unpack(cpu, xa, f, fz);
  const p1 = unpack(cpu, x1, f, fz);
  const p2 = unpack(cpu, x2, f, fz);
  const inf1 = p1.t === T.Inf;
  const inf2 = p2.t === T.Inf;
  const zero1 = p1.t === T.Zero;
  const zero2 = p2.t === T.Zero;
  const nan = processNaNs3(cpu, a, p1, p2, xa, x1, x2, f);
  if (a.t === T.QNaN && ((inf1 && zero2) || (zero1 && inf2))) return invalid(cpu, f);
  if (nan !== null) return nan;
  const infA = a.t === T.Inf;
  const zeroA = a.t === T.Zero;
  const sP = p1.s ^ p2.s;
  const infP = inf1 || inf2;
  const zeroP = zero1 || zero2;
  if ((inf1 && zero2) || (zero1 && inf2) || (infA && infP && a.s !== sP)) return invalid(cpu, f);
  if ((infA && a.s === 0) || (infP && sP === 0)) return fpInf(f, 0);
  if (infA || infP) return fpInf(f, 1);
  if (zeroA && zeroP && a.s === sP) return fpZero(f, a.s);
  let s: number;
  let m: bigint;
  let e: number;
  if (zeroP) [s, m, e] = [a.s, a.m, a.e];
  else if (zeroA) [s, m, e] = [sP, p1.m * p2.m, p1.e + p2.e];
  else [s, m, e] = addExact(a.s, a.m, a.e, sP, p1.m * p2.m, p1.e + p2.e);
  if (m === 0n) return fpZero(f, rmodeOf(cpu) === Rnd.NegInf ? 1 : 0);
  return roundFpcr(cpu, f, s, m, e, false);
}

/** FPCompare: NZCV as a 4-bit number. `signalNaNs` is FCMPE (Invalid Operation on any NaN). */
export function compare(cpu: Cpu, xa: bigint, xb: bigint, f: FFmt, signalNaNs: boolean): number {
  const fz = fzOf(cpu, f);
  const a = unpack(cpu, xa, f, fz);
  const b = unpack(cpu, xb, f, fz);
  if (isNaNType(a.t) || isNaNType(b.t)) {
    if (a.t === T.SNaN || b.t === T.SNaN || signalNaNs) cpu.fpsr |= IOC;
    return 0b0011;
  }
  const c = cmpUp(a, b);
  return c === 0 ? 0b0110 : c < 0 ? 0b1000 : 0b0010;
}

/** FPRoundInt: `exact` is FRINTX (Inexact when the value changes). */
export function roundInt(cpu: Cpu, x: bigint, f: FFmt, rnd: Rnd, exact: boolean): bigint {
  const a = unpack(cpu, x, f, fzOf(cpu, f));
  if (isNaNType(a.t)) return processNaN(cpu, a.t, x, f);
  if (a.t === T.Inf) return fpInf(f, a.s);
  if (a.t === T.Zero) return fpZero(f, a.s);
  const [i, inexact] = roundToInt(a, 0, rnd);
  if (inexact && exact) cpu.fpsr |= IXC;
  if (i === 0n) return fpZero(f, a.s);
  // An integer of at most the operand's magnitude: exactly representable, so this never rounds.
  return pack(f, { t: T.Num, s: a.s, m: i < 0n ? -i : i, e: 0 });
}

/**
 * Round (-1)^s * m * 2^(e+fbits) to an integer with `rnd`; returns the signed integer and whether
 * it was inexact.
 */
function roundToInt(a: Up, fbits: number, rnd: Rnd): [bigint, boolean] {
  const e = a.e + fbits;
  let mag: bigint;
  let cmp = -1;
  let inexact = false;
  if (e >= 0) mag = a.m << BigInt(e);
  else {
    const sh = BigInt(-e);
    mag = a.m >> sh;
    const rem = a.m - (mag << sh);
    const half = 1n << (sh - 1n);
    cmp = rem > half ? 1 : rem < half ? -1 : 0;
    inexact = rem !== 0n;
  }
  // RoundDown works on the signed value: for negatives the floor is -(mag + 1) when inexact.
  let up: boolean;
  switch (rnd) {
    case Rnd.TieEven:
      up = cmp > 0 || (cmp === 0 && (mag & 1n) === 1n);
      break;
    case Rnd.TieAway:
      up = cmp >= 0 && inexact;
      break;
    case Rnd.PosInf:
      up = inexact && a.s === 0;
      break;
    case Rnd.NegInf:
      up = inexact && a.s === 1;
      break;
    default:
      up = false;
  }
  if (up) mag++;
  return [a.s ? -mag : mag, inexact];
}

/**
 * FPToFixed: the encoding `x` to a `bits`-wide (32 or 64) integer with `fbits` fraction bits,
 * saturating; NaN gives 0. Returns the result as an unsigned bigint of width `bits`.
 */
export function toFixed(
  cpu: Cpu,
  x: bigint,
  f: FFmt,
  fbits: number,
  unsigned: boolean,
  rnd: Rnd,
  bits: number,
): bigint {
  const a = unpack(cpu, x, f, fzOf(cpu, f));
  let i: bigint;
  let inexact = false;
  if (isNaNType(a.t)) {
    cpu.fpsr |= IOC;
    return 0n;
  }
  if (a.t === T.Zero) i = 0n;
  else if (a.t === T.Inf) i = a.s ? -(1n << 200n) : 1n << 200n;
  else [i, inexact] = roundToInt(a, fbits, rnd);
  const bb = BigInt(bits);
  const lo = unsigned ? 0n : -(1n << (bb - 1n));
  const hi = unsigned ? (1n << bb) - 1n : (1n << (bb - 1n)) - 1n;
  if (i < lo || i > hi) {
    cpu.fpsr |= IOC;
    i = i < lo ? lo : hi;
  } else if (inexact) cpu.fpsr |= IXC;
  return BigInt.asUintN(bits, i);
}

/** FixedToFP: an integer (already sign- or zero-extended to a bigint) over 2^fbits, rounded. */
export function fromFixed(cpu: Cpu, i: bigint, fbits: number, f: FFmt, rnd: Rnd): bigint {
  if (i === 0n) return 0n;
  const s = i < 0n ? 1 : 0;
  return roundPack(cpu, f, s, s ? -i : i, -fbits, false, rnd, fzOf(cpu, f));
}

/** FPConvert (FCVT) between H, S and D, with FPCR.AHP for half and FZ for single/double. */
export function convert(cpu: Cpu, x: bigint, from: FFmt, to: FFmt): bigint {
  const ahp = (cpu.fpcr & FPCR_AHP) !== 0;
  const a = unpack(cpu, x, from, fzOf(cpu, from), from.n === 16 && ahp);
  const altTo = to.n === 16 && ahp;
  if (isNaNType(a.t)) {
    let r: bigint;
    if (altTo) r = fpZero(to, a.s);
    else if ((cpu.fpcr & FPCR_DN) !== 0) r = defaultNaN(to);
    else {
      // FPConvertNaN: keep the sign and the top fraction bits, and make it quiet.
      const frac = x & from.fracMask;
      const moved = to.f >= from.f ? frac << BigInt(to.f - from.f) : frac >> BigInt(from.f - to.f);
      r = (a.s ? to.signBit : 0n) | (to.expMax << to.fBig) | to.quietBit | moved;
    }
    if (a.t === T.SNaN || altTo) cpu.fpsr |= IOC;
    return r;
  }
  if (a.t === T.Inf) {
    if (altTo) {
      cpu.fpsr |= IOC;
      return (a.s ? to.signBit : 0n) | (to.signBit - 1n);
    }
    return fpInf(to, a.s);
  }
  if (a.t === T.Zero) return fpZero(to, a.s);
  return roundPack(cpu, to, a.s, a.m, a.e, false, rmodeOf(cpu), fzOf(cpu, to), altTo);
}
