// fp.elf prints scalar floating-point results as bit patterns (`FP <name> <hex>`); here the host
// computes what IEEE 754 (and, where IEEE leaves a choice, the Arm ARM) says they must be.
// JavaScript numbers are IEEE binary64 with round-to-nearest-even, and Math.fround rounds a double
// to binary32 correctly; for +, -, *, / and sqrt of binary32 inputs, computing in binary64 and
// rounding once more gives the correctly rounded binary32 result (binary64 has more than 2p + 2 bits).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeRun, runGuest } from './guest-run.js';

const buf = new DataView(new ArrayBuffer(8));

function f64(x: number): bigint {
  buf.setFloat64(0, x, true);
  return buf.getBigUint64(0, true);
}

function f32(x: number): bigint {
  buf.setFloat32(0, x, true);
  return BigInt(buf.getUint32(0, true));
}

const u64 = (v: bigint): bigint => BigInt.asUintN(64, v);

/** FCVTZS/FCVTZU: round toward zero, saturate to the destination range, NaN gives 0 (Arm ARM FPToFixed). */
function toInt(x: number, bits: number, signed: boolean): bigint {
  if (Number.isNaN(x)) return 0n;
  const lo = signed ? -(1n << BigInt(bits - 1)) : 0n;
  const hi = signed ? (1n << BigInt(bits - 1)) - 1n : (1n << BigInt(bits)) - 1n;
  if (x === Infinity) return hi;
  if (x === -Infinity) return lo;
  const t = BigInt(Math.trunc(x));
  return t < lo ? lo : t > hi ? hi : t;
}

/** C round(): to nearest, ties away from zero (FRINTA). */
function roundAway(x: number): number {
  const t = Math.trunc(x);
  return Math.abs(x - t) >= 0.5 ? t + Math.sign(x) : t;
}

/** C rint() in the default mode: to nearest, ties to even (FRINTX/FRINTN). */
function rintEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

// The inputs of fp.c, as it declares them.
const pi = 3.141592653589793;
const e = -2.718281828459045;
const tiny = 1e-310;
const huge = 1e300;
const tenth = 0.1;
const h = 2.5;
const nh = -2.5;
const big = 1e20;
const seven = 7;
const one = 1;
const s0 = Math.fround(1.1);
const s1 = Math.fround(3.3);
const s2 = -0.75;
const sbig = Math.fround(3e38);

const DEFAULT_NAN = 0x7ff8000000000000n; // Arm ARM FPDefaultNaN: sign 0, quiet, zero payload
const IOC = 1n;
const DZC = 2n;
const OFC = 4n;
const UFC = 8n;
const IXC = 16n;

const expected: Record<string, bigint> = {
  add: f64(pi + e),
  sub: f64(pi - e),
  mul: f64(pi * e),
  div: f64(pi / e),
  sqrt: f64(Math.sqrt(pi)),
  neg: f64(-e),
  abs: f64(Math.abs(e)),
  mul_overflow: f64(huge * huge),
  mul_subnormal: f64(tiny * tenth),
  div_underflow: f64(tiny / huge),
  add_tenths: f64(tenth + tenth + tenth),
  div_third: f64(one / (seven - 4)),
  min: f64(Math.min(pi, e)),
  max: f64(Math.max(pi, e)),
  min_zeros: f64(-0), // FMINNM(+0, -0) is -0
  max_zeros: f64(0), // FMAXNM(-0, +0) is +0
  floor_nh: f64(Math.floor(nh)),
  ceil_nh: f64(Math.ceil(nh)),
  trunc_nh: f64(Math.trunc(nh)),
  round_h: f64(roundAway(h)),
  round_nh: f64(roundAway(nh)),
  rint_h: f64(rintEven(h)),
  rint_nh: f64(rintEven(nh)),
  floor_pi100: f64(Math.floor(pi * 100)),
  // (1 + 2^-30)(1 - 2^-30) - 1 = -2^-60 exactly when fused; the separately rounded product is 1.
  fma: f64(-(2 ** -60)),
  mul_then_sub: f64((1 + 2 ** -30) * (1 - 2 ** -30) - 1),
  cvt_s64_pi1e6: u64(toInt(pi * 1e6, 64, true)),
  cvt_s64_big: u64(toInt(big, 64, true)),
  cvt_s64_negbig: u64(toInt(-big, 64, true)),
  cvt_s32_big: BigInt.asUintN(32, toInt(big, 32, true)),
  cvt_s32_e: BigInt.asUintN(32, toInt(e, 32, true)),
  cvt_u64_nh: toInt(nh, 64, false),
  cvt_u64_big: toInt(big, 64, false),
  cvt_s64_nan: 0n,
  lround_nh: u64(BigInt(roundAway(nh))),
  scvtf: f64(Number(-123456789012345n)),
  scvtf_max: f64(Number(0x7fffffffffffffffn)),
  ucvtf_max: f64(Number(0xffffffffffffffffn)),
  ucvtf_odd: f64(Number(0x8000000000000001n)),
  fcvt_d2s_pi: f32(Math.fround(pi)),
  fcvt_d2s_huge: f32(Math.fround(huge)),
  fcvt_s2d_tenth: f64(Math.fround(tenth)),
  scvtf_s: f32(Math.fround(-123456789012345)),
  s_add: f32(s0 + s1),
  s_sub: f32(s0 - s1),
  s_mul: f32(s0 * s1),
  s_div: f32(s0 / s1),
  s_sqrt: f32(Math.sqrt(s1)),
  s_mul_overflow: f32(sbig * s1),
  s_neg_abs: f32(-Math.abs(s2)),
  // s0 * s1 is exact in binary64 (24 + 24 bits) and adding -0.75 stays exact (a multiple of the
  // product's ulp below 4), so one rounding to binary32 is the fused result.
  s_fma: f32(s0 * s1 + s2),
  s_round: f32(roundAway(2.5)),
  // pi<e, pi>e, pi==pi, nan==nan, nan<pi, nan!=nan, -0==0 as bits 0..6
  compare_bits: 0b1100110n,
  // A quiet NaN operand is returned as is (FPCR.DN = 0); a signalling one is quietened (bit 51 set).
  nan_propagate: 0x7ff8000000000abcn,
  snan_quiet: 0x7ff8000000000001n,
  default_nan: DEFAULT_NAN,
  fpsr_div_zero: DZC,
  fpsr_div_zero_value: f64(Infinity),
  fpsr_invalid: IOC,
  fpsr_invalid_value: DEFAULT_NAN,
  fpsr_overflow: OFC | IXC,
  fpsr_overflow_value: f64(Infinity),
  fpsr_underflow: UFC | IXC, // tiny and inexact (FPCR.FZ = 0)
  fpsr_underflow_value: f64(tiny * tenth),
  fpsr_inexact: IXC,
  fpsr_inexact_value: f64(one / seven),
  fpsr_exact: 0n,
  fpsr_exact_value: f64(h * h),
  fpsr_snan: IOC,
  fpsr_snan_value: 0x7ff8000000000001n,
};

function results(): Map<string, bigint> {
  const run = runGuest('fp.elf');
  assert.equal(run.result.stop, 'system-off', describeRun(run));
  const m = new Map<string, bigint>();
  for (const line of run.text.split('\n')) {
    const r = /^FP (\S+) ([0-9a-f]+)$/.exec(line);
    if (r) m.set(r[1]!, BigInt('0x' + r[2]!));
  }
  return m;
}

function checkGroup(names: readonly string[]): void {
  const got = results();
  for (const n of names) {
    const want = expected[n];
    assert.ok(want !== undefined, `no expectation for ${n}`);
    assert.ok(got.has(n), `fp.elf printed no result for ${n}`);
    assert.equal(got.get(n)!.toString(16), want.toString(16), `FP ${n}`);
  }
}

const byPrefix = (p: RegExp): string[] => Object.keys(expected).filter((k) => p.test(k));

test('IEEE 754 §5.4 / Arm ARM C7.2: double FADD, FSUB, FMUL, FDIV, FSQRT, FNEG, FABS round to nearest, with overflow and subnormals', () => {
  checkGroup([
    'add',
    'sub',
    'mul',
    'div',
    'sqrt',
    'neg',
    'abs',
    'mul_overflow',
    'mul_subnormal',
    'div_underflow',
    'add_tenths',
    'div_third',
  ]);
});

test('Arm ARM C7.2 FMINNM/FMAXNM: min and max, with -0 below +0', () => {
  checkGroup(['min', 'max', 'min_zeros', 'max_zeros']);
});

test('Arm ARM C7.2 FRINTM/FRINTP/FRINTZ/FRINTA/FRINTX: floor, ceil, trunc, round (ties away) and rint (ties even)', () => {
  checkGroup(byPrefix(/^(floor|ceil|trunc|round|rint)_/));
});

test('Arm ARM C7.2 FMADD: the fused multiply-add rounds once (1 + 2^-30)(1 - 2^-30) - 1 = -2^-60', () => {
  checkGroup(['fma', 'mul_then_sub', 's_fma']);
});

test('Arm ARM C7.2 FCVTZS/FCVTZU/FCVTAS: float to integer rounds toward zero (or ties away) and saturates; NaN converts to 0', () => {
  checkGroup(byPrefix(/^(cvt_|lround)/));
});

test('Arm ARM C7.2 SCVTF/UCVTF/FCVT: integer to float and double/single conversions round to nearest even', () => {
  checkGroup([
    'scvtf',
    'scvtf_max',
    'ucvtf_max',
    'ucvtf_odd',
    'fcvt_d2s_pi',
    'fcvt_d2s_huge',
    'fcvt_s2d_tenth',
    'scvtf_s',
  ]);
});

test('IEEE 754 binary32: single-precision FADD, FSUB, FMUL, FDIV, FSQRT, overflow, FNEG/FABS and FRINTA', () => {
  checkGroup(['s_add', 's_sub', 's_mul', 's_div', 's_sqrt', 's_mul_overflow', 's_neg_abs', 's_round']);
});

test('Arm ARM C7.2 FCMP: ordered and unordered comparisons set NZCV so that NaN compares unequal to everything', () => {
  checkGroup(['compare_bits']);
});

test('Arm ARM FPProcessNaN/FPDefaultNaN: quiet NaNs propagate, signalling NaNs are quietened, invalid operations give 0x7ff8000000000000', () => {
  checkGroup(['nan_propagate', 'snan_quiet', 'default_nan']);
});

test('Arm ARM FPSR (D17.2): IOC, DZC, OFC, UFC and IXC accumulate for the operations that raise them, and none for an exact one', () => {
  checkGroup(byPrefix(/^fpsr_/));
});

test('fp.elf: every printed result has an expectation here and every expectation a printed result', () => {
  const got = results();
  assert.deepEqual([...got.keys()].sort(), Object.keys(expected).sort());
});
