/* fp.elf — scalar floating point (Arm ARM C7.2, FPSR D17.2.54): double and single arithmetic,
 * square root, fused multiply-add, rounding to integral, conversions to and from integers and
 * between precisions, min/max, comparisons, NaN handling and the cumulative exception flags.
 * Every result is printed as `FP <name> <hex bits>`; test/scenarios/fp.test.ts computes the
 * expected values on the host. Inputs are volatile so that nothing is folded at compile time. */
#include "rt.h"

typedef union {
  double d;
  u64 u;
} d64;
typedef union {
  float f;
  u32 u;
} f32;

static volatile double din[] = {
    3.141592653589793, -2.718281828459045, 1e-310, 1e300, 0.1, -0.0, 2.5, -2.5, 1e20, 7.0, 0.0, 1.0,
};
static volatile float fin[] = {1.1f, 3.3f, -0.75f, 3e38f, 2.5f};
static volatile u64 nan_bits[] = {0x7ff0000000000001UL /* sNaN */, 0x7ff8000000000abcUL /* qNaN payload */};
static volatile s64 iin[] = {-123456789012345L, 0x7fffffffffffffffL};
static volatile u64 uin[] = {0xffffffffffffffffUL, 0x8000000000000001UL};

static void out_d(const char *name, double v) {
  d64 x = {.d = v};
  printf("FP %s %016lx\n", name, x.u);
}
static void out_f(const char *name, float v) {
  f32 x = {.f = v};
  printf("FP %s %08x\n", name, x.u);
}
static void out_u(const char *name, u64 v) { printf("FP %s %016lx\n", name, v); }

static u64 fpsr_read(void) {
  u64 v;
  __asm__ volatile("mrs %0, fpsr" : "=r"(v)::"memory");
  return v;
}
static void fpsr_clear(void) { __asm__ volatile("msr fpsr, xzr" ::: "memory"); }

static double d_of(u64 bits) {
  d64 x = {.u = bits};
  return x.d;
}

int main(void) {
  printf("fp: scalar floating point\n");
  double pi = din[0], e = din[1], tiny = din[2], huge = din[3], tenth = din[4], nzero = din[5];
  double h = din[6], nh = din[7], big = din[8], seven = din[9], zero = din[10], one = din[11];

  out_d("add", pi + e);
  out_d("sub", pi - e);
  out_d("mul", pi * e);
  out_d("div", pi / e);
  out_d("sqrt", __builtin_sqrt(pi));
  out_d("neg", -e);
  out_d("abs", __builtin_fabs(e));
  out_d("mul_overflow", huge * huge);
  out_d("mul_subnormal", tiny * tenth);
  out_d("div_underflow", tiny / huge);
  out_d("add_tenths", tenth + tenth + tenth);
  out_d("div_third", one / (seven - 4.0));
  out_d("min", __builtin_fmin(pi, e));
  out_d("max", __builtin_fmax(pi, e));
  out_d("min_zeros", __builtin_fmin(zero, nzero));
  out_d("max_zeros", __builtin_fmax(nzero, zero));
  out_d("floor_nh", __builtin_floor(nh));
  out_d("ceil_nh", __builtin_ceil(nh));
  out_d("trunc_nh", __builtin_trunc(nh));
  out_d("round_h", __builtin_round(h));
  out_d("round_nh", __builtin_round(nh));
  out_d("rint_h", __builtin_rint(h));
  out_d("rint_nh", __builtin_rint(nh));
  out_d("floor_pi100", __builtin_floor(pi * 100.0));

  /* Fused multiply-add: (1 + 2^-30)(1 - 2^-30) - 1 is -2^-60 exactly, 0 when rounded twice. */
  double a = one + d_of(0x3e10000000000000UL), b = one - d_of(0x3e10000000000000UL);
  out_d("fma", __builtin_fma(a, b, -one));
  out_d("mul_then_sub", a * b - one);

  /* Conversions. */
  out_u("cvt_s64_pi1e6", (u64)(s64)(pi * 1e6));
  out_u("cvt_s64_big", (u64)(s64)big);
  out_u("cvt_s64_negbig", (u64)(s64)(-big));
  out_u("cvt_s32_big", (u64)(u32)(s32)big);
  out_u("cvt_s32_e", (u64)(u32)(s32)e);
  out_u("cvt_u64_nh", (u64)nh);
  out_u("cvt_u64_big", (u64)big);
  out_u("cvt_s64_nan", (u64)(s64)d_of(nan_bits[1]));
  out_u("lround_nh", (u64)__builtin_lround(nh));
  out_d("scvtf", (double)iin[0]);
  out_d("scvtf_max", (double)iin[1]);
  out_d("ucvtf_max", (double)uin[0]);
  out_d("ucvtf_odd", (double)uin[1]);
  out_f("fcvt_d2s_pi", (float)pi);
  out_f("fcvt_d2s_huge", (float)huge);
  out_d("fcvt_s2d_tenth", (double)(float)tenth);
  out_f("scvtf_s", (float)iin[0]);

  /* Single precision. */
  float f0 = fin[0], f1 = fin[1], f2 = fin[2], fbig = fin[3];
  out_f("s_add", f0 + f1);
  out_f("s_sub", f0 - f1);
  out_f("s_mul", f0 * f1);
  out_f("s_div", f0 / f1);
  out_f("s_sqrt", __builtin_sqrtf(f1));
  out_f("s_mul_overflow", fbig * f1);
  out_f("s_neg_abs", -__builtin_fabsf(f2));
  out_f("s_fma", __builtin_fmaf(f0, f1, f2));
  out_f("s_round", __builtin_roundf(fin[4]));

  /* Comparisons (ordered and unordered) through FCMP and condition codes. */
  double qnan = d_of(nan_bits[1]);
  u64 cmp = (u64)(pi < e) | (u64)(pi > e) << 1 | (u64)(pi == pi) << 2 | (u64)(qnan == qnan) << 3 |
            (u64)(qnan < pi) << 4 | (u64)(qnan != qnan) << 5 | (u64)(nzero == zero) << 6;
  out_u("compare_bits", cmp);

  /* NaNs: a quiet NaN operand propagates, a signalling one is quietened, invalid gives the default NaN. */
  out_d("nan_propagate", qnan + one);
  out_d("snan_quiet", d_of(nan_bits[0]) * one);
  out_d("default_nan", zero / zero);

  /* FPSR cumulative flags: IOC 0, DZC 1, OFC 2, UFC 3, IXC 4. The operations are written in asm
   * so the compiler cannot move them across the FPSR accesses. */
#define FLAGS_OF(name, op, x, y)                                                                  \
  do {                                                                                            \
    double r_;                                                                                    \
    fpsr_clear();                                                                                 \
    __asm__ volatile(op " %d0, %d1, %d2" : "=w"(r_) : "w"(x), "w"(y) : "memory");                  \
    out_u(name, fpsr_read());                                                                     \
    out_d(name "_value", r_);                                                                     \
  } while (0)
  FLAGS_OF("fpsr_div_zero", "fdiv", one, zero);
  FLAGS_OF("fpsr_invalid", "fdiv", zero, zero);
  FLAGS_OF("fpsr_overflow", "fmul", huge, huge);
  FLAGS_OF("fpsr_underflow", "fmul", tiny, tenth);
  FLAGS_OF("fpsr_inexact", "fdiv", one, seven);
  FLAGS_OF("fpsr_exact", "fmul", h, h);
  FLAGS_OF("fpsr_snan", "fadd", d_of(nan_bits[0]), one);
  fpsr_clear();

  printf("fp: done\n");
  return 0;
}
