import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeCpu, RAM_BASE } from '../helpers/cpu.js';
import { fp } from '../../src/arch/aarch64/decode/fp.js';
import { Decoder } from '../../src/arch/aarch64/decode/decoder.js';
import { ALL_GROUPS } from '../../src/arch/aarch64/decode/all.js';
import { Cpu, type PhysBus } from '../../src/arch/aarch64/cpu.js';
import * as Fast from '../../src/arch/aarch64/exec/fp-fast.js';
import * as Soft from '../../src/arch/aarch64/exec/fp-soft.js';
import {
  findLlvmMc,
  findUnicornPython,
  llvmDisassemble,
  oracleMissing,
  UnicornProcess,
  type UnicornResult,
} from '../helpers/oracle.js';

// Encodings below were produced by llvm-mc (-triple=aarch64 -mattr=+v8.1a,+fp-armv8,+neon -show-encoding).
// Expected values are IEEE 754 results computed by hand (or exactly, with BigInt) and the FPSR
// flags the Arm ARM's pseudocode (J1 shared/functions/float) prescribes.

const IOC = 1;
const DZC = 2;
const OFC = 4;
const UFC = 8;
const IXC = 16;
const IDC = 128;
const FZ = 1 << 24;
const DN = 1 << 25;
const RP = 1 << 22;
const RM = 2 << 22;
const RZ = 3 << 22;

const f32bits = (x: number): number => {
  const b = new Float32Array([x]);
  return new Uint32Array(b.buffer)[0]!;
};
const f64bits = (x: number): bigint => {
  const b = new Float64Array([x]);
  return new BigUint64Array(b.buffer)[0]!;
};

/** Run one instruction word on a fresh CPU after `setup`; returns the CPU. */
function run(word: number, setup: (cpu: Cpu) => void): Cpu {
  const { cpu, code } = makeCpu();
  code(RAM_BASE, [word]);
  cpu.sys.cpacrEl1 = 0x300000n; // CPACR_EL1.FPEN = 0b11: SIMD&FP enabled at EL0 and EL1
  setup(cpu);
  cpu.step();
  return cpu;
}

const setS = (cpu: Cpu, r: number, bits: number): void => {
  cpu.v[2 * r] = BigInt(bits >>> 0);
  cpu.v[2 * r + 1] = 0xdeadbeefdeadbeefn; // upper bits that a scalar write must clear
};
const setD = (cpu: Cpu, r: number, bits: bigint): void => {
  cpu.v[2 * r] = bits;
  cpu.v[2 * r + 1] = 0xdeadbeefdeadbeefn;
};

// ---------------------------------------------------------------------------------------------
// Scalar arithmetic, rounding and exceptions
// ---------------------------------------------------------------------------------------------

const D_MAX = 0x7fefffffffffffffn;
const D_INF = 0x7ff0000000000000n;
const D_DEFAULT_NAN = 0x7ff8000000000000n;

test('Arm ARM C7.2 FADD (scalar): 0.1 + 0.2 rounds to 0x3FD3333333333334, sets IXC and clears bits 127:64 of V0', () => {
  const cpu = run(0x1e622820, (c) => {
    setD(c, 1, f64bits(0.1));
    setD(c, 2, f64bits(0.2));
  }); // fadd d0, d1, d2
  assert.equal(cpu.v[0], 0x3fd3333333333334n);
  assert.equal(cpu.v[1], 0n);
  assert.equal(cpu.fpsr, IXC);
  assert.equal(cpu.pc, RAM_BASE + 4);
});

test('Arm ARM FPRoundBase: single 1 + 2^-24 is a tie that rounds to even (1.0); FPCR.RMode=RP rounds it up', () => {
  const setup = (fpcr: number) => (c: Cpu) => {
    c.fpcr = fpcr;
    setS(c, 1, 0x3f800000);
    setS(c, 2, 0x33800000); // 2^-24
  };
  let cpu = run(0x1e222820, setup(0)); // fadd s0, s1, s2
  assert.equal(cpu.v[0], 0x3f800000n);
  assert.equal(cpu.v[1], 0n);
  assert.equal(cpu.fpsr, IXC);
  cpu = run(0x1e222820, setup(RP));
  assert.equal(cpu.v[0], 0x3f800001n);
  assert.equal(cpu.fpsr, IXC);
});

test('Arm ARM FPDiv: x/0 is an infinity with DZC; 0/0 is the default NaN with IOC', () => {
  let cpu = run(0x1e621820, (c) => {
    setD(c, 1, f64bits(-1));
    setD(c, 2, 0n);
  }); // fdiv d0, d1, d2
  assert.equal(cpu.v[0], 0xfff0000000000000n);
  assert.equal(cpu.fpsr, DZC);
  cpu = run(0x1e621820, (c) => {
    setD(c, 1, 0n);
    setD(c, 2, 0n);
  });
  assert.equal(cpu.v[0], D_DEFAULT_NAN);
  assert.equal(cpu.fpsr, IOC);
});

test('Arm ARM FPSqrt: sqrt(-1) is the default NaN with IOC; sqrt(2) in double is 0x3FF6A09E667F3BCD, inexact', () => {
  let cpu = run(0x1e21c020, (c) => setS(c, 1, 0xbf800000)); // fsqrt s0, s1
  assert.equal(cpu.v[0], 0x7fc00000n);
  assert.equal(cpu.fpsr, IOC);
  cpu = run(0x1e61c020, (c) => setD(c, 1, f64bits(2))); // fsqrt d0, d1
  assert.equal(cpu.v[0], 0x3ff6a09e667f3bcdn);
  assert.equal(cpu.fpsr, IXC);
});

test('Arm ARM FPRoundBase: overflow gives infinity under RN and the largest finite value under RZ, both OFC|IXC', () => {
  const setup = (fpcr: number, sign: bigint) => (c: Cpu) => {
    c.fpcr = fpcr;
    setD(c, 1, D_MAX | sign);
    setD(c, 2, f64bits(2));
  };
  let cpu = run(0x1e620820, setup(0, 0n)); // fmul d0, d1, d2
  assert.equal(cpu.v[0], D_INF);
  assert.equal(cpu.fpsr, OFC | IXC);
  cpu = run(0x1e620820, setup(RZ, 0n));
  assert.equal(cpu.v[0], D_MAX);
  assert.equal(cpu.fpsr, OFC | IXC);
  cpu = run(0x1e620820, setup(RP, 1n << 63n)); // a negative overflow rounding towards +inf
  assert.equal(cpu.v[0], D_MAX | (1n << 63n));
  cpu = run(0x1e620820, setup(RM, 1n << 63n));
  assert.equal(cpu.v[0], D_INF | (1n << 63n));
});

test('Arm ARM FPRoundBase: a tiny inexact result sets UFC (tininess before rounding); FZ flushes tiny results to zero with UFC only', () => {
  // 3 * 2^-1074 * 0.5 = 1.5 * 2^-1074: a tie between 1 and 2 units, rounds to even (2).
  let cpu = run(0x1e620820, (c) => {
    setD(c, 1, 3n);
    setD(c, 2, f64bits(0.5));
  }); // fmul d0, d1, d2
  assert.equal(cpu.v[0], 2n);
  assert.equal(cpu.fpsr, UFC | IXC);
  // 2^-1022 * 0.5 is exactly representable as a denormal: no exception without FZ…
  const half = (fpcr: number) => (c: Cpu) => {
    c.fpcr = fpcr;
    setD(c, 1, 0x0010000000000000n);
    setD(c, 2, f64bits(0.5));
  };
  cpu = run(0x1e620820, half(0));
  assert.equal(cpu.v[0], 0x0008000000000000n);
  assert.equal(cpu.fpsr, 0);
  // …and flushed to +0 with UFC (not IXC) under FZ.
  cpu = run(0x1e620820, half(FZ));
  assert.equal(cpu.v[0], 0n);
  assert.equal(cpu.fpsr, UFC);
});

test('Arm ARM FPUnpack: with FPCR.FZ a denormal input is treated as zero and sets IDC', () => {
  const setup = (fpcr: number) => (c: Cpu) => {
    c.fpcr = fpcr;
    setS(c, 1, 0x00000001);
    setS(c, 2, 0x3f800000);
  };
  let cpu = run(0x1e222820, setup(FZ)); // fadd s0, s1, s2
  assert.equal(cpu.v[0], 0x3f800000n);
  assert.equal(cpu.fpsr, IDC);
  cpu = run(0x1e222820, setup(0));
  assert.equal(cpu.v[0], 0x3f800000n);
  assert.equal(cpu.fpsr, IXC);
});

test('Arm ARM FPProcessNaNs: a signalling NaN wins over a quiet one and is quieted with IOC; DN gives the default NaN', () => {
  const setup = (fpcr: number) => (c: Cpu) => {
    c.fpcr = fpcr;
    setD(c, 1, 0x7ff8000000000123n);
    setD(c, 2, 0x7ff0000000000456n);
  };
  let cpu = run(0x1e622820, setup(0)); // fadd d0, d1, d2
  assert.equal(cpu.v[0], 0x7ff8000000000456n);
  assert.equal(cpu.fpsr, IOC);
  cpu = run(0x1e622820, setup(DN));
  assert.equal(cpu.v[0], D_DEFAULT_NAN);
  assert.equal(cpu.fpsr, IOC);
  cpu = run(0x1e622820, (c) => {
    setD(c, 1, 0x7ff8000000000001n);
    setD(c, 2, 0xfff8000000000002n);
  });
  assert.equal(cpu.v[0], 0x7ff8000000000001n, 'two quiet NaNs: the first operand');
  assert.equal(cpu.fpsr, 0);
});

test('Arm ARM C7.2 FMADD: one rounding — (1+2^-30)(1-2^-30) - 1 is exactly -2^-60, where an unfused multiply-add gives 0', () => {
  const cpu = run(0x1f420c20, (c) => {
    setD(c, 1, f64bits(1 + 2 ** -30));
    setD(c, 2, f64bits(1 - 2 ** -30));
    setD(c, 3, f64bits(-1));
  }); // fmadd d0, d1, d2, d3
  assert.equal(cpu.v[0], 0xbc30000000000000n);
  assert.equal(cpu.fpsr, 0, 'the fused result is exact');
});

test('Arm ARM C7.2 FMSUB: the negation of Rn happens before NaN propagation, so a quiet NaN in Rn comes out negated', () => {
  const cpu = run(0x1f428c20, (c) => {
    setD(c, 1, 0x7ff8000000000001n);
    setD(c, 2, f64bits(1));
    setD(c, 3, f64bits(1));
  }); // fmsub d0, d1, d2, d3
  assert.equal(cpu.v[0], 0xfff8000000000001n);
  assert.equal(cpu.fpsr, 0);
});

test('Arm ARM C7.2 FNMUL: the product is negated after rounding', () => {
  const cpu = run(0x1e228820, (c) => {
    setS(c, 1, f32bits(1.5));
    setS(c, 2, f32bits(3));
  }); // fnmul s0, s1, s2
  assert.equal(cpu.v[0], BigInt(f32bits(-4.5)));
});

test('Arm ARM FPCompare: FCMP sets NZCV 1000 for less, 0011 for unordered; FCMPE also signals IOC on a quiet NaN', () => {
  const cmp = (word: number, b: bigint) =>
    run(word, (c) => {
      setD(c, 1, f64bits(1));
      setD(c, 2, b);
    });
  let cpu = cmp(0x1e622020, f64bits(2)); // fcmp d1, d2
  assert.deepEqual([cpu.nf, cpu.zf, cpu.cf, cpu.vf], [1, 0, 0, 0]);
  cpu = cmp(0x1e622020, D_DEFAULT_NAN);
  assert.deepEqual([cpu.nf, cpu.zf, cpu.cf, cpu.vf], [0, 0, 1, 1]);
  assert.equal(cpu.fpsr, 0);
  cpu = cmp(0x1e622030, D_DEFAULT_NAN); // fcmpe d1, d2
  assert.deepEqual([cpu.nf, cpu.zf, cpu.cf, cpu.vf], [0, 0, 1, 1]);
  assert.equal(cpu.fpsr, IOC);
  cpu = cmp(0x1e622020, 0x7ff0000000000001n); // a signalling NaN signals even for FCMP
  assert.equal(cpu.fpsr, IOC);
});

test('Arm ARM C7.2 FCCMP: when the condition fails NZCV is the immediate, otherwise the comparison', () => {
  const go = (z: number) =>
    run(0x1e620422, (c) => {
      c.zf = z;
      setD(c, 1, f64bits(1));
      setD(c, 2, f64bits(1));
    }); // fccmp d1, d2, #2, eq
  let cpu = go(0);
  assert.deepEqual([cpu.nf, cpu.zf, cpu.cf, cpu.vf], [0, 0, 1, 0]);
  cpu = go(1);
  assert.deepEqual([cpu.nf, cpu.zf, cpu.cf, cpu.vf], [0, 1, 1, 0]);
});

// ---------------------------------------------------------------------------------------------
// Conversions
// ---------------------------------------------------------------------------------------------

function cvtToInt(word: number, bits: bigint, single = false): Cpu {
  return run(word, (c) => {
    if (single) setS(c, 1, Number(bits));
    else setD(c, 1, bits);
    c.x[0] = 0xaaaaaaaaaaaaaaaan;
  });
}

test('Arm ARM FPToFixed: FCVTZS truncates with IXC, saturates with IOC (not IXC), and converts NaN to 0 with IOC', () => {
  let cpu = cvtToInt(0x1e780020, f64bits(3.7)); // fcvtzs w0, d1
  assert.equal(cpu.x[0], 3n, 'a W result clears bits 63:32');
  assert.equal(cpu.fpsr, IXC);
  cpu = cvtToInt(0x1e780020, f64bits(-1e10));
  assert.equal(cpu.x[0], 0x80000000n);
  assert.equal(cpu.fpsr, IOC);
  cpu = cvtToInt(0x1e780020, D_DEFAULT_NAN);
  assert.equal(cpu.x[0], 0n);
  assert.equal(cpu.fpsr, IOC);
});

test('Arm ARM FPToFixed: FCVTAS rounds ties away, FCVTNS ties to even, FCVTMS towards minus infinity', () => {
  assert.equal(cvtToInt(0x1e640020, f64bits(2.5)).x[0], 3n); // fcvtas w0, d1
  assert.equal(cvtToInt(0x1e640020, f64bits(-2.5)).x[0], 0xfffffffdn);
  assert.equal(cvtToInt(0x1e600020, f64bits(2.5)).x[0], 2n); // fcvtns w0, d1
  assert.equal(cvtToInt(0x1e600020, f64bits(3.5)).x[0], 4n);
  assert.equal(cvtToInt(0x9e700020, f64bits(-2.5)).x[0], 0xfffffffffffffffdn); // fcvtms x0, d1
});

test('Arm ARM FPToFixed: FCVTZU saturates negative values to 0 and 2^32 to 0xFFFFFFFF, with IOC', () => {
  let cpu = cvtToInt(0x1e390020, BigInt(f32bits(-1)), true); // fcvtzu w0, s1
  assert.equal(cpu.x[0], 0n);
  assert.equal(cpu.fpsr, IOC);
  cpu = cvtToInt(0x1e390020, BigInt(f32bits(2 ** 32)), true);
  assert.equal(cpu.x[0], 0xffffffffn);
  assert.equal(cpu.fpsr, IOC);
});

test('Arm ARM FixedToFP: SCVTF from X rounds 2^53+1 to even (2^53) with IXC; UCVTF from W 0xFFFFFFFF gives 2^32 in single', () => {
  let cpu = run(0x9e620020, (c) => {
    c.x[1] = (1n << 53n) + 1n;
  }); // scvtf d0, x1
  assert.equal(cpu.v[0], 0x4340000000000000n);
  assert.equal(cpu.fpsr, IXC);
  cpu = run(0x9e620020, (c) => {
    c.x[1] = 0xffffffffffffffffn;
  });
  assert.equal(cpu.v[0], f64bits(-1));
  cpu = run(0x1e230020, (c) => {
    c.x[1] = 0xffffffffn;
  }); // ucvtf s0, w1
  assert.equal(cpu.v[0], 0x4f800000n);
  assert.equal(cpu.fpsr, IXC);
});

test('Arm ARM C7.2 SCVTF (scalar, fixed-point): #4 fraction bits divide by 16', () => {
  let cpu = run(0x1e42f020, (c) => {
    c.x[1] = 40n;
  }); // scvtf d0, w1, #4
  assert.equal(cpu.v[0], f64bits(2.5));
  cpu = run(0x1e42f020, (c) => {
    c.x[1] = 0x12345678fffffff8n; // w1 = -8; bits 63:32 are ignored
  });
  assert.equal(cpu.v[0], f64bits(-0.5));
});

test('Arm ARM FPRoundInt: FRINTA 2.5 → 3, FRINTN 2.5 → 2 and -0.5 → -0, FRINTX signals IXC, FRINTI follows FPCR.RMode', () => {
  const r = (word: number, x: number, fpcr = 0) =>
    run(word, (c) => {
      c.fpcr = fpcr;
      setD(c, 1, f64bits(x));
    });
  assert.equal(r(0x1e664020, 2.5).v[0], f64bits(3)); // frinta d0, d1
  assert.equal(r(0x1e644020, 2.5).v[0], f64bits(2)); // frintn d0, d1
  assert.equal(r(0x1e644020, -0.5).v[0], 0x8000000000000000n);
  assert.equal(r(0x1e644020, 2.5).fpsr, 0, 'only FRINTX signals Inexact');
  const x = r(0x1e674020, 1.5); // frintx d0, d1
  assert.equal(x.v[0], f64bits(2));
  assert.equal(x.fpsr, IXC);
  assert.equal(r(0x1e67c020, 1.5, RM).v[0], f64bits(1)); // frinti d0, d1 under RM
});

test('Arm ARM FPConvert: FCVT D→S overflows to infinity (RN) or the largest single (RZ), with OFC|IXC', () => {
  const go = (fpcr: number) =>
    run(0x1e624020, (c) => {
      c.fpcr = fpcr;
      setD(c, 1, f64bits(1e300));
    }); // fcvt s0, d1
  let cpu = go(0);
  assert.equal(cpu.v[0], 0x7f800000n);
  assert.equal(cpu.v[1], 0n);
  assert.equal(cpu.fpsr, OFC | IXC);
  cpu = go(RZ);
  assert.equal(cpu.v[0], 0x7f7fffffn);
  assert.equal(cpu.fpsr, OFC | IXC);
});

test('Arm ARM FPConvert: FCVT to half rounds 65520 up to infinity; AHP turns an infinity into 0x7FFF with IOC', () => {
  let cpu = run(0x1e23c020, (c) => setS(c, 1, f32bits(1))); // fcvt h0, s1
  assert.equal(cpu.v[0], 0x3c00n, 'bits 127:16 are cleared');
  assert.equal(cpu.v[1], 0n);
  cpu = run(0x1e23c020, (c) => setS(c, 1, f32bits(65520)));
  assert.equal(cpu.v[0], 0x7c00n);
  assert.equal(cpu.fpsr, OFC | IXC);
  cpu = run(0x1e23c020, (c) => {
    c.fpcr = 1 << 26;
    setS(c, 1, 0x7f800000);
  });
  assert.equal(cpu.v[0], 0x7fffn);
  assert.equal(cpu.fpsr, IOC);
});

test('Arm ARM FPConvertNaN: FCVT S←H quiets a signalling NaN and keeps its payload at the top of the fraction', () => {
  const cpu = run(0x1ee24020, (c) => {
    c.v[2] = 0x7c01n;
  }); // fcvt s0, h1
  assert.equal(cpu.v[0], 0x7fc02000n);
  assert.equal(cpu.fpsr, IOC);
});

// ---------------------------------------------------------------------------------------------
// Moves, min/max
// ---------------------------------------------------------------------------------------------

test('Arm ARM C7.2 FMOV: immediate #1.0, X to the top half of V (lower half kept), S to W (upper half zeroed)', () => {
  let cpu = run(0x1e2e1000, (c) => setD(c, 0, 0x1234n)); // fmov s0, #1.0
  assert.equal(cpu.v[0], 0x3f800000n);
  assert.equal(cpu.v[1], 0n);
  cpu = run(0x9eaf0083, (c) => {
    c.v[6] = 0x1111n;
    c.x[4] = 0xfedcba9876543210n;
  }); // fmov v3.d[1], x4
  assert.equal(cpu.v[6], 0x1111n);
  assert.equal(cpu.v[7], 0xfedcba9876543210n);
  cpu = run(0x1e260041, (c) => {
    c.x[1] = 0xffffffffffffffffn;
    c.v[4] = 0x1122334455667788n;
  }); // fmov w1, s2
  assert.equal(cpu.x[1], 0x55667788n);
});

test('Arm ARM FPMaxNum: FMAXNM ignores a single quiet NaN, FMAX propagates it, FMIN(+0, -0) is -0', () => {
  const setup = (c: Cpu) => {
    setD(c, 1, 0x7ff8000000000007n);
    setD(c, 2, f64bits(1));
  };
  let cpu = run(0x1e626820, setup); // fmaxnm d0, d1, d2
  assert.equal(cpu.v[0], f64bits(1));
  assert.equal(cpu.fpsr, 0);
  cpu = run(0x1e624820, setup); // fmax d0, d1, d2
  assert.equal(cpu.v[0], 0x7ff8000000000007n);
  cpu = run(0x1e626820, (c) => {
    setD(c, 1, 0x7ff0000000000007n); // a signalling NaN is not ignored
    setD(c, 2, f64bits(1));
  });
  assert.equal(cpu.v[0], 0x7ff8000000000007n);
  assert.equal(cpu.fpsr, IOC);
  cpu = run(0x1e225820, (c) => {
    setS(c, 1, 0);
    setS(c, 2, 0x80000000);
  }); // fmin s0, s1, s2
  assert.equal(cpu.v[0], 0x80000000n);
});

test('Arm ARM D1.11 (CheckFPAdvSIMDEnabled64): with CPACR_EL1.FPEN = 0 an FP instruction traps with EC 0x07', () => {
  const { cpu, code } = makeCpu();
  cpu.sys.vbarEl1 = BigInt(RAM_BASE + 0x800);
  code(RAM_BASE, [0x1e622820]); // fadd d0, d1, d2
  cpu.sys.cpacrEl1 = 0n;
  cpu.step();
  assert.equal(cpu.pc, RAM_BASE + 0x800 + 0x200);
  assert.equal(cpu.sys.esrEl1 >>> 26, 0x07);
  assert.equal(cpu.sys.esrEl1 & 0x1ffffff, 0x1e00000);
  assert.equal(cpu.sys.elrEl1, BigInt(RAM_BASE));
});

test('Arm ARM C4.1.95: half-precision arithmetic (FEAT_FP16) and FMOV Vd.2D with Q=0 are unallocated on this Armv8.0 model', () => {
  for (const word of [0x1ee22820 /* fadd h0, h1, h2 with +fullfp16 */, 0x2f03f600 /* fmov v0.1d, #1.0 */]) {
    const { cpu, code } = makeCpu();
    cpu.sys.vbarEl1 = BigInt(RAM_BASE + 0x800);
    cpu.sys.cpacrEl1 = 0x300000n;
    code(RAM_BASE, [word]);
    cpu.step();
    assert.equal(cpu.pc, RAM_BASE + 0x800 + 0x200);
    assert.equal(cpu.sys.esrEl1 >>> 26, 0, `0x${word.toString(16)} is UNDEFINED`);
  }
});

// ---------------------------------------------------------------------------------------------
// AdvSIMD
// ---------------------------------------------------------------------------------------------

const Q = (cpu: Cpu, n: number): [bigint, bigint] => [cpu.v[2 * n]!, cpu.v[2 * n + 1]!];
const setQ = (c: Cpu, n: number, lo: bigint, hi: bigint): void => {
  c.v[2 * n] = lo;
  c.v[2 * n + 1] = hi;
};

test('Arm ARM C7.2 MOVI/MVNI/BIC (vector, immediate): 64-bit byte mask, MSL shifting in ones, BIC of the high byte', () => {
  assert.deepEqual(
    Q(
      run(0x6f05e540, () => undefined),
      0,
    ),
    [0xff00ff00ff00ff00n, 0xff00ff00ff00ff00n],
  );
  // mvni v0.4s, #1, msl #8: NOT(0x000001FF)
  assert.deepEqual(
    Q(
      run(0x6f00c420, () => undefined),
      0,
    ),
    [0xfffffe00fffffe00n, 0xfffffe00fffffe00n],
  );
  const cpu = run(0x6f07b7e0, (c) => setQ(c, 0, 0x123456789abcdef0n, 0xffffffffffffffffn)); // bic v0.8h, #255, lsl #8
  assert.deepEqual(Q(cpu, 0), [0x0034007800bc00f0n, 0x00ff00ff00ff00ffn]);
});

test('Arm ARM C7.2 DUP/INS/UMOV/SMOV: general register to every lane or one lane; lanes to general registers', () => {
  assert.deepEqual(
    Q(
      run(0x4e040c20, (c) => (c.x[1] = 0x1234567887654321n)),
      0,
    ),
    [0x8765432187654321n, 0x8765432187654321n],
  ); // dup v0.4s, w1
  let cpu = run(0x4e0c1c20, (c) => {
    setQ(c, 0, 0x1111111122222222n, 0x3333333344444444n);
    c.x[1] = 0xabcdef01n;
  }); // mov v0.s[1], w1
  assert.deepEqual(Q(cpu, 0), [0xabcdef0122222222n, 0x3333333344444444n]);
  cpu = run(0x0e163c20, (c) => setQ(c, 1, 0n, 0x00000000beef0000n)); // umov w0, v1.h[5]
  assert.equal(cpu.x[0], 0xbeefn);
  cpu = run(0x4e072c20, (c) => setQ(c, 1, 0x80000000n, 0n)); // smov x0, v1.b[3]
  assert.equal(cpu.x[0], 0xffffffffffffff80n);
  cpu = run(0x5e130420, (c) => setQ(c, 1, 0n, 0x5a00n)); // mov b0, v1.b[9]
  assert.deepEqual(Q(cpu, 0), [0x5an, 0n]);
});

test('Arm ARM C7.2 ADD/CMGT/ADDV/UADDLV: lanes wrap independently, compares are signed, reductions clear the rest of Vd', () => {
  let cpu = run(0x4e228420, (c) => {
    setQ(c, 1, 0x00000000000000ffn, 0n);
    setQ(c, 2, 0x0000000000000001n, 0n);
  }); // add v0.16b, v1.16b, v2.16b
  assert.deepEqual(Q(cpu, 0), [0n, 0n], 'no carry between byte lanes');
  cpu = run(0x4ea23420, (c) => {
    setQ(c, 1, 0x00000001ffffffffn, 0n); // lanes: -1, 1, 0, 0
    setQ(c, 2, 0xffffffff00000001n, 0n); // lanes: 1, -1, 0, 0
  }); // cmgt v0.4s, v1.4s, v2.4s
  assert.deepEqual(Q(cpu, 0), [0xffffffff00000000n, 0n]);
  cpu = run(0x4e71b820, (c) => setQ(c, 1, 0xffff000300020001n, 0x0000000000000001n)); // addv h0, v1.8h
  assert.deepEqual(Q(cpu, 0), [0x0006n, 0n]); // 1+2+3+0xffff+1 = 0x10006 mod 2^16
  cpu = run(0x6e303820, (c) => setQ(c, 1, 0xffffffffffffffffn, 0xffffffffffffffffn)); // uaddlv h0, v1.16b
  assert.deepEqual(Q(cpu, 0), [0x0ff0n, 0n]);
});

test('Arm ARM C7.2 ZIP1/UZP2/TRN1/EXT: permutes read both sources before writing', () => {
  let cpu = run(0x0e023820, (c) => {
    setQ(c, 1, 0x0706050403020100n, 0n);
    setQ(c, 2, 0x1716151413121110n, 0n);
  }); // zip1 v0.8b, v1.8b, v2.8b
  assert.deepEqual(Q(cpu, 0), [0x1303120211011000n, 0n]);
  cpu = run(0x4e825820, (c) => {
    setQ(c, 1, 0x0000000100000000n, 0x0000000300000002n);
    setQ(c, 2, 0x0000000500000004n, 0x0000000700000006n);
  }); // uzp2 v0.4s, v1.4s, v2.4s: odd elements of v1:v2
  assert.deepEqual(Q(cpu, 0), [0x0000000300000001n, 0x0000000700000005n]);
  cpu = run(0x4e422820, (c) => {
    setQ(c, 1, 0x0003000200010000n, 0x0007000600050004n);
    setQ(c, 2, 0x0013001200110010n, 0x0017001600150014n);
  }); // trn1 v0.8h, v1.8h, v2.8h
  assert.deepEqual(Q(cpu, 0), [0x0012000200100000n, 0x0016000600140004n]);
  cpu = run(0x6e021820, (c) => {
    setQ(c, 1, 0x0706050403020100n, 0x0f0e0d0c0b0a0908n);
    setQ(c, 2, 0x1716151413121110n, 0x1f1e1d1c1b1a1918n);
  }); // ext v0.16b, v1.16b, v2.16b, #3
  assert.deepEqual(Q(cpu, 0), [0x0a09080706050403n, 0x1211100f0e0d0c0bn]);
});

test('Arm ARM C7.2 XTN2/SSHLL/USHR/SSHR: narrowing keeps the lower half, widening sign-extends, shifts by the element size', () => {
  let cpu = run(0x4e612820, (c) => {
    setQ(c, 0, 0x1111222233334444n, 0xffffffffffffffffn);
    setQ(c, 1, 0xaaaa0001bbbb0002n, 0xcccc0003dddd0004n);
  }); // xtn2 v0.8h, v1.4s
  assert.deepEqual(Q(cpu, 0), [0x1111222233334444n, 0x0003000400010002n]);
  cpu = run(0x0f21a420, (c) => setQ(c, 1, 0x80000000fffffffen, 0n)); // sshll v0.2d, v1.2s, #1
  assert.deepEqual(Q(cpu, 0), [0xfffffffffffffffcn, 0xffffffff00000000n]);
  cpu = run(0x6f400420, (c) => setQ(c, 1, 0xffffffffffffffffn, 0x8000000000000000n)); // ushr v0.2d, v1.2d, #64
  assert.deepEqual(Q(cpu, 0), [0n, 0n]);
  cpu = run(0x4f210420, (c) => setQ(c, 1, 0x7fffffff80000000n, 0n)); // sshr v0.4s, v1.4s, #31
  assert.deepEqual(Q(cpu, 0), [0x00000000ffffffffn, 0n]);
});

test('Arm ARM C7.2 CNT/REV64/BSL/ADDP/CMEQ (zero): bit counts, element reversal, bitwise select, pairwise add', () => {
  let cpu = run(0x4e205820, (c) => setQ(c, 1, 0x0f0103ff00000080n, 0xffn)); // cnt v0.16b, v1.16b
  assert.deepEqual(Q(cpu, 0), [0x0401020800000001n, 0x08n]);
  cpu = run(0x4e600820, (c) => setQ(c, 1, 0x0004000300020001n, 0x0008000700060005n)); // rev64 v0.8h, v1.8h
  assert.deepEqual(Q(cpu, 0), [0x0001000200030004n, 0x0005000600070008n]);
  cpu = run(0x6e621c20, (c) => {
    setQ(c, 0, 0xff00ff00ff00ff00n, 0n);
    setQ(c, 1, 0x1111111111111111n, 0x1111111111111111n);
    setQ(c, 2, 0x2222222222222222n, 0x2222222222222222n);
  }); // bsl v0.16b, v1.16b, v2.16b
  assert.deepEqual(Q(cpu, 0), [0x1122112211221122n, 0x2222222222222222n]);
  cpu = run(0x5ef1b820, (c) => setQ(c, 1, 0xffffffffffffffffn, 3n)); // addp d0, v1.2d
  assert.deepEqual(Q(cpu, 0), [2n, 0n]);
  cpu = run(0x5ee09820, (c) => setQ(c, 1, 0n, 5n)); // cmeq d0, d1, #0
  assert.deepEqual(Q(cpu, 0), [0xffffffffffffffffn, 0n]);
});

test('Arm ARM C7.2 FADD/FMLA/FCVTZS (vector): per-lane IEEE arithmetic, fused multiply-add, truncating conversion', () => {
  let cpu = run(0x4e22d420, (c) => {
    setQ(c, 1, (BigInt(f32bits(2)) << 32n) | BigInt(f32bits(1)), (BigInt(f32bits(-1)) << 32n) | BigInt(f32bits(0.5)));
    setQ(c, 2, (BigInt(f32bits(3)) << 32n) | BigInt(f32bits(1)), (BigInt(f32bits(1)) << 32n) | BigInt(f32bits(0.25)));
  }); // fadd v0.4s, v1.4s, v2.4s
  assert.deepEqual(Q(cpu, 0), [
    (BigInt(f32bits(5)) << 32n) | BigInt(f32bits(2)),
    (BigInt(f32bits(0)) << 32n) | BigInt(f32bits(0.75)),
  ]);
  assert.equal(cpu.fpsr, 0);
  cpu = run(0x4e62cc20, (c) => {
    setQ(c, 0, f64bits(-1), f64bits(10));
    setQ(c, 1, f64bits(1 + 2 ** -30), f64bits(2));
    setQ(c, 2, f64bits(1 - 2 ** -30), f64bits(3));
  }); // fmla v0.2d, v1.2d, v2.2d
  assert.deepEqual(Q(cpu, 0), [0xbc30000000000000n, f64bits(16)]);
  cpu = run(0x4ee1b820, (c) => setQ(c, 1, f64bits(1.5), f64bits(-2.5))); // fcvtzs v0.2d, v1.2d
  assert.deepEqual(Q(cpu, 0), [1n, 0xfffffffffffffffen]);
  assert.equal(cpu.fpsr, IXC);
});

test('Arm ARM C7.2 FMLA (by element): when Vd is also the element register every lane uses the original element', () => {
  const four = (a: number, b: number, c: number, d: number): [bigint, bigint] => [
    (BigInt(f32bits(b)) << 32n) | BigInt(f32bits(a)),
    (BigInt(f32bits(d)) << 32n) | BigInt(f32bits(c)),
  ];
  const cpu = run(0x4fa01020, (c) => {
    setQ(c, 0, ...four(1, 10, 100, 1000));
    setQ(c, 1, ...four(1, 2, 3, 4));
  }); // fmla v0.4s, v1.4s, v0.s[1]: v0[e] += v1[e] * 10
  assert.deepEqual(Q(cpu, 0), four(11, 30, 130, 1040));
});

test('Arm ARM C7.2 SMAX/ABS/FCVTL2: signed lane maximum, absolute value wrapping at the most negative, widening the upper half', () => {
  let cpu = run(0x4e626420, (c) => {
    setQ(c, 1, 0x8000000100020003n, 0n);
    setQ(c, 2, 0x0000ffff00030002n, 0n);
  }); // smax v0.8h, v1.8h, v2.8h
  assert.deepEqual(Q(cpu, 0), [0x0000000100030003n, 0n]);
  cpu = run(0x4e20b820, (c) => setQ(c, 1, 0x80ff7f01n, 0n)); // abs v0.16b, v1.16b
  assert.deepEqual(Q(cpu, 0), [0x80017f01n, 0n]);
  cpu = run(0x4e617820, (c) => setQ(c, 1, 0n, (BigInt(f32bits(-0.5)) << 32n) | BigInt(f32bits(3)))); // fcvtl2 v0.2d, v1.4s
  assert.deepEqual(Q(cpu, 0), [f64bits(3), f64bits(-0.5)]);
});

// ---------------------------------------------------------------------------------------------
// Disassembly against llvm-mc
// ---------------------------------------------------------------------------------------------

const MATTR = '+v8.1a,+lse,+crc,+fp-armv8,+neon';

/** A small deterministic PRNG (xorshift32), so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

test('llvm-mc: every fp row disassembles exactly as llvm-mc does, and the ok guards reject what llvm-mc calls unallocated', (t) => {
  const mc = findLlvmMc();
  if (!mc) {
    t.skip(oracleMissing('llvm-mc', 'apt-get install llvm'));
    return;
  }
  const decoder = new Decoder(ALL_GROUPS);
  const next = rng(0x5eed);
  const words: number[] = [];
  for (const row of fp.rows) {
    for (let k = 0; k < 400; k++) words.push(row.value | (next() & ~row.mask) | 0);
  }
  // Random words anywhere in the FP/SIMD encoding space (op0 = x111): whatever we decode must be
  // what llvm-mc decodes (catches patterns that are too loose).
  const anywhere: number[] = [];
  for (let k = 0; k < 20000; k++) anywhere.push((next() & ~0x0e000000) | 0x0e000000 | 0);
  const theirs = llvmDisassemble(mc, [...words, ...anywhere], MATTR);
  const problems: string[] = [];
  anywhere.forEach((w, k) => {
    const row = decoder.decode(w);
    if (row === undefined) return; // an instruction we do not model (or unallocated)
    const ours = row.fmt(w, BigInt(RAM_BASE)).replace(/\s+/g, ' ');
    const want = theirs[words.length + k] ?? null;
    if (ours !== want)
      problems.push(`0x${(w >>> 0).toString(16).padStart(8, '0')} [${row.name}] ours: ${ours} llvm-mc: ${want}`);
  });
  words.forEach((w, k) => {
    const row = decoder.decode(w);
    const ours = row ? row.fmt(w, BigInt(RAM_BASE)).replace(/\s+/g, ' ') : null;
    const want = theirs[k] ?? null;
    if (ours !== want) {
      problems.push(
        `0x${(w >>> 0).toString(16).padStart(8, '0')} [${row?.name ?? 'undefined'}] ours: ${ours} llvm-mc: ${want}`,
      );
    }
  });
  assert.deepEqual(problems.slice(0, 400), [], `${problems.length} of ${words.length} words differ`);
});

// ---------------------------------------------------------------------------------------------
// Hard cases against Unicorn: operands built to sit on rounding ties, cancel exactly, overflow,
// underflow, hit denormals and NaNs, under every FPCR rounding mode with FZ/DN/AHP.
// ---------------------------------------------------------------------------------------------

/** Words from llvm-mc; destination register 0, sources 1, 2, 3 (X1 for integer sources). */
const HARD: readonly [number, string][] = [
  [0x1e222820, 'fadd s0, s1, s2'],
  [0x1e223820, 'fsub s0, s1, s2'],
  [0x1e220820, 'fmul s0, s1, s2'],
  [0x1e221820, 'fdiv s0, s1, s2'],
  [0x1e228820, 'fnmul s0, s1, s2'],
  [0x1e224820, 'fmax s0, s1, s2'],
  [0x1e225820, 'fmin s0, s1, s2'],
  [0x1e226820, 'fmaxnm s0, s1, s2'],
  [0x1e227820, 'fminnm s0, s1, s2'],
  [0x1e21c020, 'fsqrt s0, s1'],
  [0x1f020c20, 'fmadd s0, s1, s2, s3'],
  [0x1f028c20, 'fmsub s0, s1, s2, s3'],
  [0x1f220c20, 'fnmadd s0, s1, s2, s3'],
  [0x1f228c20, 'fnmsub s0, s1, s2, s3'],
  [0x1e222020, 'fcmp s1, s2'],
  [0x1e222030, 'fcmpe s1, s2'],
  [0x1e202028, 'fcmp s1, #0.0'],
  [0x1e202038, 'fcmpe s1, #0.0'],
  [0x1e221435, 'fccmpe s1, s2, #5, ne'],
  [0x1e244020, 'frintn s0, s1'],
  [0x1e24c020, 'frintp s0, s1'],
  [0x1e254020, 'frintm s0, s1'],
  [0x1e25c020, 'frintz s0, s1'],
  [0x1e264020, 'frinta s0, s1'],
  [0x1e274020, 'frintx s0, s1'],
  [0x1e27c020, 'frinti s0, s1'],
  [0x1e200020, 'fcvtns w0, s1'],
  [0x9e200020, 'fcvtns x0, s1'],
  [0x1e210020, 'fcvtnu w0, s1'],
  [0x9e210020, 'fcvtnu x0, s1'],
  [0x1e280020, 'fcvtps w0, s1'],
  [0x9e280020, 'fcvtps x0, s1'],
  [0x1e290020, 'fcvtpu w0, s1'],
  [0x9e290020, 'fcvtpu x0, s1'],
  [0x1e300020, 'fcvtms w0, s1'],
  [0x9e300020, 'fcvtms x0, s1'],
  [0x1e310020, 'fcvtmu w0, s1'],
  [0x9e310020, 'fcvtmu x0, s1'],
  [0x1e380020, 'fcvtzs w0, s1'],
  [0x9e380020, 'fcvtzs x0, s1'],
  [0x1e390020, 'fcvtzu w0, s1'],
  [0x9e390020, 'fcvtzu x0, s1'],
  [0x1e240020, 'fcvtas w0, s1'],
  [0x9e240020, 'fcvtas x0, s1'],
  [0x1e250020, 'fcvtau w0, s1'],
  [0x9e250020, 'fcvtau x0, s1'],
  [0x1e18e420, 'fcvtzs w0, s1, #7'],
  [0x9e196020, 'fcvtzu x0, s1, #40'],
  [0x1e220020, 'scvtf s0, w1'],
  [0x9e220020, 'scvtf s0, x1'],
  [0x1e02ec20, 'scvtf s0, w1, #5'],
  [0x9e027c20, 'scvtf s0, x1, #33'],
  [0x1e230020, 'ucvtf s0, w1'],
  [0x9e230020, 'ucvtf s0, x1'],
  [0x1e03ec20, 'ucvtf s0, w1, #5'],
  [0x9e037c20, 'ucvtf s0, x1, #33'],
  [0x1e622820, 'fadd d0, d1, d2'],
  [0x1e623820, 'fsub d0, d1, d2'],
  [0x1e620820, 'fmul d0, d1, d2'],
  [0x1e621820, 'fdiv d0, d1, d2'],
  [0x1e628820, 'fnmul d0, d1, d2'],
  [0x1e624820, 'fmax d0, d1, d2'],
  [0x1e625820, 'fmin d0, d1, d2'],
  [0x1e626820, 'fmaxnm d0, d1, d2'],
  [0x1e627820, 'fminnm d0, d1, d2'],
  [0x1e61c020, 'fsqrt d0, d1'],
  [0x1f420c20, 'fmadd d0, d1, d2, d3'],
  [0x1f428c20, 'fmsub d0, d1, d2, d3'],
  [0x1f620c20, 'fnmadd d0, d1, d2, d3'],
  [0x1f628c20, 'fnmsub d0, d1, d2, d3'],
  [0x1e622020, 'fcmp d1, d2'],
  [0x1e622030, 'fcmpe d1, d2'],
  [0x1e602028, 'fcmp d1, #0.0'],
  [0x1e602038, 'fcmpe d1, #0.0'],
  [0x1e621435, 'fccmpe d1, d2, #5, ne'],
  [0x1e644020, 'frintn d0, d1'],
  [0x1e64c020, 'frintp d0, d1'],
  [0x1e654020, 'frintm d0, d1'],
  [0x1e65c020, 'frintz d0, d1'],
  [0x1e664020, 'frinta d0, d1'],
  [0x1e674020, 'frintx d0, d1'],
  [0x1e67c020, 'frinti d0, d1'],
  [0x1e600020, 'fcvtns w0, d1'],
  [0x9e600020, 'fcvtns x0, d1'],
  [0x1e610020, 'fcvtnu w0, d1'],
  [0x9e610020, 'fcvtnu x0, d1'],
  [0x1e680020, 'fcvtps w0, d1'],
  [0x9e680020, 'fcvtps x0, d1'],
  [0x1e690020, 'fcvtpu w0, d1'],
  [0x9e690020, 'fcvtpu x0, d1'],
  [0x1e700020, 'fcvtms w0, d1'],
  [0x9e700020, 'fcvtms x0, d1'],
  [0x1e710020, 'fcvtmu w0, d1'],
  [0x9e710020, 'fcvtmu x0, d1'],
  [0x1e780020, 'fcvtzs w0, d1'],
  [0x9e780020, 'fcvtzs x0, d1'],
  [0x1e790020, 'fcvtzu w0, d1'],
  [0x9e790020, 'fcvtzu x0, d1'],
  [0x1e640020, 'fcvtas w0, d1'],
  [0x9e640020, 'fcvtas x0, d1'],
  [0x1e650020, 'fcvtau w0, d1'],
  [0x9e650020, 'fcvtau x0, d1'],
  [0x1e58e420, 'fcvtzs w0, d1, #7'],
  [0x9e596020, 'fcvtzu x0, d1, #40'],
  [0x1e620020, 'scvtf d0, w1'],
  [0x9e620020, 'scvtf d0, x1'],
  [0x1e42ec20, 'scvtf d0, w1, #5'],
  [0x9e427c20, 'scvtf d0, x1, #33'],
  [0x1e630020, 'ucvtf d0, w1'],
  [0x9e630020, 'ucvtf d0, x1'],
  [0x1e43ec20, 'ucvtf d0, w1, #5'],
  [0x9e437c20, 'ucvtf d0, x1, #33'],
  [0x1e22c020, 'fcvt d0, s1'],
  [0x1e624020, 'fcvt s0, d1'],
  [0x1e23c020, 'fcvt h0, s1'],
  [0x1e63c020, 'fcvt h0, d1'],
  [0x1ee24020, 'fcvt s0, h1'],
  [0x1ee2c020, 'fcvt d0, h1'],
  [0x4e22d420, 'fadd v0.4s, v1.4s, v2.4s'],
  [0x6e62dc20, 'fmul v0.2d, v1.2d, v2.2d'],
  [0x6e22fc20, 'fdiv v0.4s, v1.4s, v2.4s'],
  [0x4e22cc20, 'fmla v0.4s, v1.4s, v2.4s'],
  [0x4ee2cc20, 'fmls v0.2d, v1.2d, v2.2d'],
  [0x6ee1f820, 'fsqrt v0.2d, v1.2d'],
  [0x4e21d820, 'scvtf v0.4s, v1.4s'],
  [0x6e61d820, 'ucvtf v0.2d, v1.2d'],
  [0x4ea1b820, 'fcvtzs v0.4s, v1.4s'],
  [0x6ee1b820, 'fcvtzu v0.2d, v1.2d'],
  [0x6e30c820, 'fmaxnmv s0, v1.4s'],
  [0x6eb0f820, 'fminv s0, v1.4s'],
  [0x5e61d820, 'scvtf d0, d1'],
  [0x7ea1b820, 'fcvtzu s0, s1'],
];

interface Fmt {
  e: number;
  f: number;
}
const FS: Fmt = { e: 8, f: 23 };
const FD: Fmt = { e: 11, f: 52 };
const FH: Fmt = { e: 5, f: 10 };

class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 1;
  }
  u32(): number {
    this.s ^= this.s << 13;
    this.s >>>= 0;
    this.s ^= this.s >>> 17;
    this.s ^= this.s << 5;
    this.s >>>= 0;
    return this.s;
  }
  below(n: number): number {
    return this.u32() % n;
  }
  big(bits: number): bigint {
    let r = 0n;
    for (let k = 0; k < bits; k += 32) r = (r << 32n) | BigInt(this.u32());
    return BigInt.asUintN(bits, r);
  }
}

const pack = (f: Fmt, s: number, e: number, frac: bigint): bigint =>
  (BigInt(s) << BigInt(f.e + f.f)) | (BigInt(e) << BigInt(f.f)) | (frac & ((1n << BigInt(f.f)) - 1n));

/** An interesting encoding in format f; `ref` (when given) is another operand to sit close to. */
function interesting(r: Rng, f: Fmt, ref: bigint | null): bigint {
  const emax = (1 << f.e) - 1;
  const bias = emax >> 1;
  const fmask = (1n << BigInt(f.f)) - 1n;
  const k = r.below(100);
  if (k < 12) {
    const specials = [
      0n,
      1n,
      fmask,
      pack(f, 0, 1, 0n),
      pack(f, 0, emax - 1, fmask),
      pack(f, 0, emax, 0n),
      pack(f, 0, emax, 1n << BigInt(f.f - 1)) | BigInt(r.below(4)),
      pack(f, 0, emax, BigInt(1 + r.below(7))), // signalling
      pack(f, 0, bias, 0n),
      pack(f, 0, bias - 1, 0n),
    ];
    return specials[r.below(specials.length)]! | (BigInt(r.below(2)) << BigInt(f.e + f.f));
  }
  if (ref !== null && k < 55) {
    // Close to ref: same or nearby exponent, fraction a few units away, either sign.
    const re = Number((ref >> BigInt(f.f)) & BigInt(emax));
    const e = Math.min(emax - 1, Math.max(0, re + r.below(5) - 2 - (r.below(4) === 0 ? r.below(f.f + 4) : 0)));
    const frac = (ref & fmask) + BigInt(r.below(9)) - 4n;
    return pack(f, r.below(2), e, frac < 0n ? 0n : frac);
  }
  if (k < 70) {
    // Near the ends of the exponent range (subnormals, overflow).
    const e = r.below(2) ? r.below(4) : emax - 1 - r.below(4);
    return pack(f, r.below(2), e, r.big(f.f));
  }
  if (k < 85) {
    // Small multiples of 1/4 and integers near 2^31, 2^32, 2^63, 2^64: conversions and FRINT.
    const edge = [0, 0, 31, 32, 63, 64, 23, 52][r.below(8)]!;
    const v =
      edge === 0 ? (r.below(4096) - 2048) / 4 : (r.below(2) ? 1 : -1) * 2 ** edge * (1 + (r.below(5) - 2) * 2 ** -20);
    const x = Math.abs(v);
    if (x === 0) return 0n;
    const e = Math.floor(Math.log2(x));
    const m = BigInt(Math.round((x / 2 ** e - 1) * 2 ** Math.min(f.f, 52))) << BigInt(Math.max(0, f.f - 52));
    if (e + bias >= emax || e + bias <= 0) return pack(f, v < 0 ? 1 : 0, emax - 1, m);
    return pack(f, v < 0 ? 1 : 0, e + bias, m);
  }
  return pack(f, r.below(2), Math.max(1, Math.min(emax - 1, bias + r.below(40) - 20)), r.big(f.f));
}

function fmtOf(text: string, operand: number): Fmt {
  const ops = text.split(/[ ,]+/).slice(1);
  const o = ops[operand] ?? ops[ops.length - 1]!;
  if (/^h|\.8h/.test(o)) return FH;
  if (/^d|\.2d/.test(o)) return FD;
  return FS;
}

test('Unicorn: floating-point hard cases (ties, cancellation, overflow, underflow, NaNs, every FPCR mode) agree with QEMU', async (t) => {
  const python = findUnicornPython();
  if (!python) {
    t.skip(oracleMissing('python3-unicorn', 'apt-get install python3-unicorn'));
    return;
  }
  const count = Number(process.env.FP_HARD_COUNT ?? 6000);
  const seed = Number(process.env.FP_HARD_SEED ?? 7);
  const r = new Rng(seed);
  const BASE = 0x40000000;
  const SIZE = 0x10000;
  const PC = BASE + 0x8000;
  const ram = new Uint8Array(SIZE);
  const bus: PhysBus = { ramBase: BASE, ram, mmioRead: () => null, mmioWrite: () => false };
  const cpu = new Cpu(bus);
  const dv = new DataView(ram.buffer);

  interface Case {
    id: number;
    word: number;
    text: string;
    x: BigUint64Array;
    v: BigUint64Array;
    fpcr: number;
    fpsr: number;
    nzcv: number;
    ours: { x: BigUint64Array; v: BigUint64Array; fpsr: number; nzcv: number; pc: bigint };
  }
  const cases = new Map<number, Case>();
  const problems: string[] = [];
  const hex = (b: bigint, w = 16): string => b.toString(16).padStart(w, '0');

  const onResult = (res: UnicornResult): void => {
    const c = cases.get(res.id)!;
    cases.delete(res.id);
    const d: string[] = [];
    if (res.exc !== null) d.push(`oracle exception ${res.exc}`);
    const tx = new BigUint64Array(res.x.buffer.slice(res.x.byteOffset, res.x.byteOffset + 256));
    if (tx[0] !== c.ours.x[0]) d.push(`x0 ours ${hex(c.ours.x[0]!)} oracle ${hex(tx[0]!)}`);
    const tv = new BigUint64Array(res.v!.buffer.slice(res.v!.byteOffset, res.v!.byteOffset + 512));
    for (let q = 0; q < 4; q++) {
      if (tv[2 * q] !== c.ours.v[2 * q] || tv[2 * q + 1] !== c.ours.v[2 * q + 1]) {
        d.push(
          `q${q} ours ${hex(c.ours.v[2 * q + 1]!)}_${hex(c.ours.v[2 * q]!)} oracle ${hex(tv[2 * q + 1]!)}_${hex(tv[2 * q]!)}`,
        );
      }
    }
    if (res.fpsr !== c.ours.fpsr) d.push(`fpsr ours 0x${c.ours.fpsr.toString(16)} oracle 0x${res.fpsr?.toString(16)}`);
    if (res.nzcv !== c.ours.nzcv) d.push(`nzcv ours ${c.ours.nzcv} oracle ${res.nzcv}`);
    if (res.pc !== c.ours.pc) d.push(`pc ours ${hex(c.ours.pc)} oracle ${hex(res.pc)}`);
    if (d.length && problems.length < 30) {
      const ins = [1, 2, 3].map((q) => `q${q}=${hex(c.v[2 * q + 1]!)}_${hex(c.v[2 * q]!)}`).join(' ');
      problems.push(`${c.text} fpcr=0x${c.fpcr.toString(16)} x1=${hex(c.x[1]!)} ${ins}: ${d.join('; ')}`);
    } else if (d.length) problems.push('…');
  };
  const proc = new UnicornProcess(
    python,
    { base: BASE, size: SIZE, mem: new Uint8Array(SIZE) },
    onResult,
    (_u, why) => {
      problems.push(`oracle died: ${why}`);
    },
  );
  try {
    for (let id = 0; id < count; id++) {
      const [word, text] = HARD[r.below(HARD.length)]!;
      const v = new BigUint64Array(64);
      for (let q = 0; q < 64; q++) v[q] = r.big(64);
      const src = fmtOf(text, 1);
      const put = (q: number, lane: number, bits: bigint): void => {
        const w = src.e + src.f + 1;
        const lanes = 128 / w;
        if (lane >= lanes) return;
        const pos = BigInt(((lane * w) % 64) as number);
        const half = 2 * q + Math.floor((lane * w) / 64);
        v[half] = (v[half]! & ~(((1n << BigInt(w)) - 1n) << pos)) | (bits << pos);
      };
      for (let lane = 0; lane < 4; lane++) {
        const a = interesting(r, src, null);
        const b = interesting(r, src, a);
        const c = interesting(r, src, r.below(2) ? a : b);
        put(1, lane, a);
        put(2, lane, b);
        put(3, lane, c);
      }
      const x = new BigUint64Array(32);
      for (let q = 0; q < 31; q++) x[q] = r.big(64);
      // integer sources: sometimes FP-looking bits, sometimes small or shifted integers
      const pick = r.below(4);
      if (pick < 2) x[1] = interesting(r, FD, null);
      else if (pick === 2) x[1] = BigInt.asUintN(64, BigInt(r.below(2000) - 1000) << BigInt(r.below(60)));
      const fpcr = r.below(3) === 0 ? 0 : (r.below(8) << 24) | (r.below(4) << 22);
      const fpsr = r.below(4) === 0 ? r.u32() & 0x9f : 0;
      const nzcv = r.below(16);
      cpu.reset(PC);
      cpu.sys.cpacrEl1 = 0x300000n;
      cpu.x.set(x);
      cpu.v.set(v);
      cpu.fpcr = fpcr;
      cpu.fpsr = fpsr;
      cpu.nf = nzcv >>> 3;
      cpu.zf = (nzcv >>> 2) & 1;
      cpu.cf = (nzcv >>> 1) & 1;
      cpu.vf = nzcv & 1;
      dv.setUint32(PC - BASE, word >>> 0, true);
      dv.setUint32(PC - BASE + 4, 0, true);
      cpu.step();
      const ours = {
        x: cpu.x.slice(0, 32),
        v: cpu.v.slice(),
        fpsr: cpu.fpsr >>> 0,
        nzcv: (cpu.nf << 3) | (cpu.zf << 2) | (cpu.cf << 1) | cpu.vf,
        pc: BigInt(cpu.pc),
      };
      cases.set(id, { id, word, text, x, v, fpcr, fpsr, nzcv, ours });
      await proc.send({
        id,
        pc: PC,
        insn: word,
        x: new Uint8Array(x.buffer),
        nzcv,
        v: new Uint8Array(v.buffer),
        fpcr,
        fpsr,
      });
    }
    await proc.finish();
  } finally {
    proc.kill();
  }
  assert.equal(cases.size, 0, 'the oracle did not answer every case');
  assert.deepEqual(problems, []);
});

// ---------------------------------------------------------------------------------------------
// The fast paths against the exact BigInt reference (fp-soft.ts, the Arm ARM pseudocode)
// ---------------------------------------------------------------------------------------------

test('Arm ARM FPRoundBase: the double-arithmetic fast paths give bit-identical results and FPSR to the exact reference', () => {
  const { cpu } = makeCpu();
  const r = new Rng(Number(process.env.FP_PROP_SEED ?? 2024));
  const f64 = new Float64Array(1);
  const u64 = new BigUint64Array(f64.buffer);
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  const failures: string[] = [];
  const N = Number(process.env.FP_PROP_COUNT ?? 60000);
  for (let k = 0; k < N && failures.length < 20; k++) {
    const dbl = r.below(2) === 0;
    const f = dbl ? FD : FS;
    const op = r.below(8); // 0 add 1 sub 2 mul 3 div 4 nmul 5 sqrt 6 fma 7 fcvt/int conversions
    const a = interesting(r, f, null);
    const b = interesting(r, f, a);
    let c = interesting(r, f, r.below(2) ? a : b);
    if (op === 6 && r.below(2)) {
      // an addend that nearly cancels the product
      let p: bigint;
      if (dbl) {
        u64[0] = a;
        const x = f64[0]!;
        u64[0] = b;
        f64[0] = -(x * f64[0]!);
        p = u64[0]!;
      } else {
        u32[0] = Number(a);
        const x = f32[0]!;
        u32[0] = Number(b);
        f32[0] = -(x * f32[0]!);
        p = BigInt(u32[0]!);
      }
      c = p + BigInt(r.below(5)) - 2n;
      if (c < 0n) c = 0n;
    }
    const fpcr = r.below(3) === 0 ? 0 : (r.below(4) << 24) | (r.below(4) << 22);
    const negA = r.below(2) === 1;
    const negP = r.below(2) === 1;
    const put = (slot: number, x: bigint): void => {
      if (dbl) cpu.v[2 * slot] = x;
      else cpu.v32[4 * slot] = Number(x);
    };
    const get = (): bigint => (dbl ? cpu.v[0]! : BigInt(cpu.v32[0]!));
    const e = (n: number): number => (dbl ? 2 * n : 4 * n);
    put(1, a);
    put(2, b);
    put(3, c);
    cpu.fpcr = fpcr;
    cpu.fpsr = 0;
    const fmt = dbl ? Soft.D : Soft.S;
    let got: bigint;
    let want: bigint;
    let gotFlags: number;
    let name: string;
    if (op <= 4) {
      const ops = [Soft.Op2.Add, Soft.Op2.Sub, Soft.Op2.Mul, Soft.Op2.Div, Soft.Op2.NMul] as const;
      const fast = dbl
        ? [Fast.add64, Fast.sub64, Fast.mul64, Fast.div64, Fast.nmul64]
        : [Fast.add32, Fast.sub32, Fast.mul32, Fast.div32, Fast.nmul32];
      name = ['add', 'sub', 'mul', 'div', 'nmul'][op]!;
      fast[op]!(cpu, 0, e(1), e(2));
      got = get();
      gotFlags = cpu.fpsr;
      cpu.fpsr = 0;
      want = Soft.arith2(cpu, ops[op]!, a, b, fmt);
    } else if (op === 5) {
      name = 'sqrt';
      (dbl ? Fast.sqrt64 : Fast.sqrt32)(cpu, 0, e(1));
      got = get();
      gotFlags = cpu.fpsr;
      cpu.fpsr = 0;
      want = Soft.sqrt(cpu, a, fmt);
    } else if (op === 6) {
      name = `fma negA=${negA} negP=${negP}`;
      (dbl ? Fast.fma64 : Fast.fma32)(cpu, 0, e(3), e(1), e(2), negA, negP);
      got = get();
      gotFlags = cpu.fpsr;
      cpu.fpsr = 0;
      want = Soft.mulAdd(cpu, c, a, b, fmt, negA, negP);
    } else {
      // D→S / S→D conversions and FP→int with a random rounding
      const rnd = r.below(5) as Soft.Rnd;
      if (r.below(2)) {
        name = dbl ? 'fcvt s<-d' : 'fcvt d<-s';
        if (dbl) Fast.cvtDS(cpu, 0, e(1));
        else Fast.cvtSD(cpu, 0, e(1));
        got = dbl ? BigInt(cpu.v32[0]!) : cpu.v[0]!;
        gotFlags = cpu.fpsr;
        cpu.fpsr = 0;
        want = Soft.convert(cpu, a, fmt, dbl ? Soft.S : Soft.D);
      } else {
        const unsigned = r.below(2) === 1;
        const bits = r.below(2) ? 64 : 32;
        const fbits = r.below(3) ? 0 : r.below(bits) + 1;
        name = `to-int rnd=${rnd} unsigned=${unsigned} bits=${bits} fbits=${fbits}`;
        cpu.v[0] = 0n;
        (dbl ? Fast.toInt64 : Fast.toInt32)(cpu, e(1), fbits, unsigned, rnd, bits, cpu.v32, 0);
        got = cpu.v[0]!;
        gotFlags = cpu.fpsr;
        cpu.fpsr = 0;
        want = Soft.toFixed(cpu, a, fmt, fbits, unsigned, rnd, bits);
      }
    }
    if (got !== want || gotFlags !== cpu.fpsr) {
      failures.push(
        `${dbl ? 'D' : 'S'} ${name} fpcr=0x${fpcr.toString(16)} a=${a.toString(16)} b=${b.toString(16)} c=${c.toString(16)}: ` +
          `fast ${got.toString(16)}/0x${gotFlags.toString(16)} exact ${want.toString(16)}/0x${cpu.fpsr.toString(16)}`,
      );
    }
  }
  assert.deepEqual(failures, []);
});

test('Arm ARM FixedToFP: integer to FP fast paths match the exact reference for 32/64-bit, signed/unsigned sources', () => {
  const { cpu } = makeCpu();
  const r = new Rng(77);
  const failures: string[] = [];
  for (let k = 0; k < 20000 && failures.length < 20; k++) {
    const dbl = r.below(2) === 0;
    const src64 = r.below(2) === 0;
    const unsigned = r.below(2) === 0;
    const fbits = r.below(3) ? 0 : r.below(src64 ? 64 : 32) + 1;
    let v = r.big(64) >> BigInt(r.below(64));
    if (!src64) v &= 0xffffffffn;
    if (r.below(4) === 0) v = (1n << BigInt(r.below(src64 ? 64 : 32))) + BigInt(r.below(5)) - 2n;
    v = BigInt.asUintN(src64 ? 64 : 32, v);
    const iv = unsigned ? v : BigInt.asIntN(src64 ? 64 : 32, v);
    const lo = Number(v & 0xffffffffn);
    const hi = src64
      ? Number(unsigned ? v >> 32n : BigInt.asIntN(32, v >> 32n))
      : unsigned
        ? 0
        : Number(iv < 0n ? -1 : 0);
    cpu.fpcr = r.below(2) ? 0 : r.below(4) << 22;
    cpu.fpsr = 0;
    if (dbl) Fast.fromInt64(cpu, 0, lo, hi, fbits);
    else Fast.fromInt32(cpu, 0, lo, hi, fbits);
    const got = dbl ? cpu.v[0]! : BigInt(cpu.v32[0]!);
    const gotFlags = cpu.fpsr;
    cpu.fpsr = 0;
    const want = Soft.fromFixed(cpu, iv, fbits, dbl ? Soft.D : Soft.S, Soft.rmodeOf(cpu));
    if (got !== want || gotFlags !== cpu.fpsr) {
      failures.push(
        `${dbl ? 'D' : 'S'} from ${iv} fbits=${fbits} fpcr=0x${cpu.fpcr.toString(16)}: fast ${got.toString(16)} exact ${want.toString(16)}`,
      );
    }
  }
  assert.deepEqual(failures, []);
});
