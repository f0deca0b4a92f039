// Loads and stores (Arm ARM C4.1.66, C6.2, C7.2): execution semantics on a bare CPU, and the
// disassembly of every load/store row checked against llvm-mc (an independent oracle).
// Encodings were produced by llvm-mc (-triple=aarch64 -mattr=+v8.1a,+lse,+fp-armv8,+neon,+rcpc
// -show-encoding); the few CONSTRAINED UNPREDICTABLE ones, which the assembler refuses, were
// checked by disassembling them with llvm-mc.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { makeCpu, RAM_BASE, type TestCpu } from '../helpers/cpu.js';
import { findLlvmMc, oracleMissing } from '../helpers/oracle.js';
import { Cpu, SINK, ZR } from '../../src/arch/aarch64/cpu.js';
import { EC } from '../../src/arch/aarch64/esr.js';
import { ldst } from '../../src/arch/aarch64/decode/ldst.js';
import { SINK_SLOT, ZR_SLOT } from '../../src/arch/aarch64/exec/ldst.js';

const D = RAM_BASE + 0x4000; // data area
const VBAR = RAM_BASE + 0x800;
const OUTSIDE = RAM_BASE + (1 << 20); // just past RAM: nothing answers there (external abort)

interface Env extends TestCpu {
  dv: DataView;
  /** Place `words` at RAM_BASE and execute them. */
  exec(...words: number[]): void;
  m64(a: number): bigint;
  m32(a: number): number;
  set64(a: number, v: bigint): void;
  set32(a: number, v: number): void;
}

function env(): Env {
  const t = makeCpu();
  const dv = new DataView(t.ram.buffer);
  t.cpu.sys.vbarEl1 = BigInt(VBAR);
  t.cpu.sys.cpacrEl1 = 0x300000n; // FPEN = 11: SIMD&FP not trapped
  return {
    ...t,
    dv,
    exec(...words) {
      t.code(RAM_BASE, words);
      t.cpu.pc = RAM_BASE;
      for (let k = 0; k < words.length; k++) t.cpu.step();
    },
    m64: (a) => dv.getBigUint64(a - RAM_BASE, true),
    m32: (a) => dv.getUint32(a - RAM_BASE, true),
    set64: (a, v) => dv.setBigUint64(a - RAM_BASE, v, true),
    set32: (a, v) => dv.setUint32(a - RAM_BASE, v >>> 0, true),
  };
}

/** The exception taken was a data abort at EL1 with this fault status code and WnR. */
function assertDataAbort(c: Cpu, fsc: number, wnr: 0 | 1, far?: number): void {
  assert.equal(c.pc, VBAR + 0x200, 'vectored to the current-EL synchronous handler');
  assert.equal(c.sys.esrEl1 >>> 26, EC.DABORT_CUR);
  assert.equal(c.sys.esrEl1 & 0x3f, fsc);
  assert.equal((c.sys.esrEl1 >>> 6) & 1, wnr);
  assert.equal(c.sys.elrEl1, BigInt(RAM_BASE));
  if (far !== undefined) assert.equal(c.sys.farEl1, BigInt(far));
}

const x = (c: Cpu, n: number): bigint => c.x[n]!;
const big = (n: number): bigint => BigInt(n);

test('layout: exec/ldst.ts uses the same XZR and write-sink slots as cpu.ts', () => {
  assert.equal(ZR_SLOT, ZR);
  assert.equal(SINK_SLOT, SINK);
});

// ---------------------------------------------------------------------------------------------
// Single general-purpose registers
// ---------------------------------------------------------------------------------------------

test('Arm ARM C6.2 LDR (immediate), unsigned offset: loads 64 bits from Xn + imm12*8', () => {
  const e = env();
  e.set64(D + 8, 0x1122334455667788n);
  e.cpu.x[1] = big(D);
  e.exec(0xf9400420); // ldr x0, [x1, #8]
  assert.equal(x(e.cpu, 0), 0x1122334455667788n);
  assert.equal(e.cpu.pc, RAM_BASE + 4);
});

test('Arm ARM C6.2 LDR (immediate), 32-bit: the load zero-extends into the X register', () => {
  const e = env();
  e.set32(D + 4, 0xdeadbeef);
  e.cpu.x[1] = big(D);
  e.cpu.x[2] = 0xffffffffffffffffn;
  e.exec(0xb9400422); // ldr w2, [x1, #4]
  assert.equal(x(e.cpu, 2), 0xdeadbeefn);
});

test('Arm ARM C6.2 LDRSB/LDRSH/LDRSW: sign-extend to 64 bits for X and to 32 bits (upper half zero) for W', () => {
  const e = env();
  e.set32(D, 0x8000_0080);
  e.set32(D + 4, 0x8000_0000);
  e.cpu.x[1] = big(D);
  e.exec(
    0x39800023, // ldrsb x3, [x1]
    0x39c00024, // ldrsb w4, [x1]
    0x79800425, // ldrsh x5, [x1, #2]
    0x79c00426, // ldrsh w6, [x1, #2]
    0xb9800427, // ldrsw x7, [x1, #4]
    0x39400428, // ldrb w8, [x1, #1]
    0x79400429, // ldrh w9, [x1, #2]
  );
  assert.equal(x(e.cpu, 3), 0xffffffffffffff80n);
  assert.equal(x(e.cpu, 4), 0xffffff80n);
  assert.equal(x(e.cpu, 5), 0xffffffffffff8000n);
  assert.equal(x(e.cpu, 6), 0xffff8000n);
  assert.equal(x(e.cpu, 7), 0xffffffff80000000n);
  assert.equal(x(e.cpu, 8), 0n);
  assert.equal(x(e.cpu, 9), 0x8000n);
});

test('Arm ARM C6.2 STRB/STRH/STR: store exactly the low 1, 2, 4 or 8 bytes of the register', () => {
  const e = env();
  e.cpu.x[0] = 0x0102030405060708n;
  e.cpu.x[1] = big(D);
  e.set64(D, 0xffffffffffffffffn);
  e.set64(D + 8, 0xffffffffffffffffn);
  e.exec(0x39000020); // strb w0, [x1]
  assert.equal(e.m64(D), 0xffffffffffffff08n);
  e.exec(0x79000420); // strh w0, [x1, #2]
  assert.equal(e.m64(D), 0xffffffff0708ff08n);
  e.exec(0xb9000420); // str w0, [x1, #4]
  assert.equal(e.m64(D), 0x050607080708ff08n);
  e.exec(0xf9000420); // str x0, [x1, #8]
  assert.equal(e.m64(D + 8), 0x0102030405060708n);
});

test('Arm ARM C6.2 LDR (immediate), pre-index and post-index: write back Xn + imm9', () => {
  const e = env();
  e.set64(D + 8, 0xaaaan);
  e.set64(D, 0xbbbbn);
  e.cpu.x[1] = big(D);
  e.exec(0xf8408c20); // ldr x0, [x1, #8]!
  assert.equal(x(e.cpu, 0), 0xaaaan);
  assert.equal(x(e.cpu, 1), big(D + 8));
  e.exec(0xf85f8420); // ldr x0, [x1], #-8
  assert.equal(x(e.cpu, 0), 0xaaaan);
  assert.equal(x(e.cpu, 1), big(D));
});

test('Arm ARM C6.2 LDR/STR: Rn = 31 is SP (pre-index push, post-index pop), and SP alignment is not checked', () => {
  const e = env();
  e.cpu.x[31] = big(D + 0x108); // 8-aligned only: SCTLR.SA is not modelled
  e.cpu.x[0] = 0x1234n;
  e.exec(0xf80107e0); // str x0, [sp], #16
  assert.equal(e.m64(D + 0x108), 0x1234n);
  assert.equal(x(e.cpu, 31), big(D + 0x118));
  e.exec(0xf85f0fe0); // ldr x0, [sp, #-16]!
  assert.equal(x(e.cpu, 0), 0x1234n);
  assert.equal(x(e.cpu, 31), big(D + 0x108));
});

test('Arm ARM C6.2 LDR (register): UXTW, SXTW (negative index), LSL and SXTX offsets', () => {
  const e = env();
  for (let k = -4; k < 4; k++) e.set64(D + 0x100 + 8 * k, big(100 + k));
  e.cpu.x[1] = big(D + 0x100);
  e.cpu.x[2] = 0xdeadbeef_fffffffen; // W2 = -2; the upper half must be ignored by the W extends
  e.exec(0xf862d820); // ldr x0, [x1, w2, sxtw #3]
  assert.equal(x(e.cpu, 0), 98n);
  e.cpu.x[2] = 0xffffffff_00000003n;
  e.exec(0xf8625820); // ldr x0, [x1, w2, uxtw #3]
  assert.equal(x(e.cpu, 0), 103n);
  e.cpu.x[2] = 0xfffffffffffffffdn; // -3
  e.exec(0xf8627820); // ldr x0, [x1, x2, lsl #3]
  assert.equal(x(e.cpu, 0), 97n);
  e.cpu.x[2] = 0xfffffffffffffff8n; // -8 bytes, unscaled
  e.exec(0xf862e820); // ldr x0, [x1, x2, sxtx]
  assert.equal(x(e.cpu, 0), 99n);
});

test('Arm ARM C6.2 LDR (register): a 64-bit index beyond 2^53 still computes the address modulo 2^64', () => {
  const e = env();
  e.set64(D + 0x40, 0x55n);
  e.cpu.x[1] = big(D);
  e.cpu.x[2] = 0xe000_0000_0000_0008n; // << 3 = 0x40 modulo 2^64
  e.exec(0xf8627820); // ldr x0, [x1, x2, lsl #3]
  assert.equal(x(e.cpu, 0), 0x55n);
});

test('Arm ARM C6.2 LDUR/STUR: unscaled, unaligned signed offsets', () => {
  const e = env();
  e.set64(D, 0x8877665544332211n);
  e.set64(D + 8, 0xffeeddccbbaa9988n);
  e.cpu.x[1] = big(D + 8);
  e.exec(0xf85fd020); // ldur x0, [x1, #-3]
  assert.equal(x(e.cpu, 0), 0xccbbaa9988887766n);
  e.cpu.x[0] = 0x01020304n;
  e.exec(0xb8001020); // stur w0, [x1, #1]
  assert.equal(e.m64(D + 8), 0xffeedd0102030488n);
});

test('Arm ARM C6.2 LDR/STR: Rt = 31 is XZR — a load discards the value, a store writes zero', () => {
  const e = env();
  e.set64(D, 0x77n);
  e.cpu.x[1] = big(D);
  e.exec(0xf940003f); // ldr xzr, [x1]
  assert.equal(x(e.cpu, 31), 0n, 'SP is not written');
  e.exec(0xf900003f); // str xzr, [x1]
  assert.equal(e.m64(D), 0n);
});

test('Arm ARM C6.2 LDR (immediate) CONSTRAINED UNPREDICTABLE Rn == Rt with write-back: Rn holds the written-back address (as QEMU)', () => {
  const e = env();
  e.set64(D, 0x99n);
  e.set64(D + 8, 0x98n);
  e.cpu.x[1] = big(D);
  e.exec(0xf8408421); // ldr x1, [x1], #8
  assert.equal(x(e.cpu, 1), big(D + 8));
  e.exec(0xf85f8c21); // ldr x1, [x1, #-8]!
  assert.equal(x(e.cpu, 1), big(D));
});

test('Arm ARM C6.2 STR (immediate) CONSTRAINED UNPREDICTABLE Rn == Rt with write-back: stores the original Rt', () => {
  const e = env();
  e.cpu.x[1] = big(D);
  e.exec(0xf8008421); // str x1, [x1], #8
  assert.equal(e.m64(D), big(D));
  assert.equal(x(e.cpu, 1), big(D + 8));
});

test('Arm ARM D8 (faults): a faulting post-index load leaves Rt and the base register unchanged', () => {
  const e = env();
  e.cpu.x[0] = 0x1111n;
  e.cpu.x[1] = big(OUTSIDE);
  e.exec(0xf85f8420); // ldr x0, [x1], #-8
  assertDataAbort(e.cpu, 0x10, 0, OUTSIDE);
  assert.equal(x(e.cpu, 0), 0x1111n);
  assert.equal(x(e.cpu, 1), big(OUTSIDE));
});

test('Arm ARM D8 (faults): LDP whose second access faults changes neither Rt, Rt2 nor the base', () => {
  const e = env();
  e.cpu.x[0] = 1n;
  e.cpu.x[1] = 2n;
  e.cpu.x[2] = big(OUTSIDE - 8);
  e.exec(0xa8ff0440); // ldp x0, x1, [x2], #-16
  assertDataAbort(e.cpu, 0x10, 0, OUTSIDE);
  assert.deepEqual([x(e.cpu, 0), x(e.cpu, 1), x(e.cpu, 2)], [1n, 2n, big(OUTSIDE - 8)]);
});

// ---------------------------------------------------------------------------------------------
// Literal and prefetch
// ---------------------------------------------------------------------------------------------

test('Arm ARM C6.2 LDR (literal), LDRSW (literal): PC-relative loads', () => {
  const e = env();
  e.set64(RAM_BASE + 16, 0xf0000000_80000001n);
  e.exec(0x18000080); // ldr w0, #16
  assert.equal(x(e.cpu, 0), 0x80000001n);
  e.exec(0x58000080); // ldr x0, #16
  assert.equal(x(e.cpu, 0), 0xf0000000_80000001n);
  e.exec(0x98000080); // ldrsw x0, #16
  assert.equal(x(e.cpu, 0), 0xffffffff_80000001n);
});

test('Arm ARM C7.2 LDR (literal, SIMD&FP): S, D and Q loads zero the rest of the vector register', () => {
  const e = env();
  e.set64(RAM_BASE + 16, 0x1111111122222222n);
  e.set64(RAM_BASE + 24, 0x3333333344444444n);
  e.cpu.v.fill(0xffffffffffffffffn);
  e.exec(0x1c000080); // ldr s0, #16
  assert.deepEqual([e.cpu.v[0], e.cpu.v[1]], [0x22222222n, 0n]);
  e.cpu.v.fill(0xffffffffffffffffn);
  e.exec(0x5c000080); // ldr d0, #16
  assert.deepEqual([e.cpu.v[0], e.cpu.v[1]], [0x1111111122222222n, 0n]);
  e.exec(0x9c000080); // ldr q0, #16
  assert.deepEqual([e.cpu.v[0], e.cpu.v[1]], [0x1111111122222222n, 0x3333333344444444n]);
});

test('Arm ARM C6.2 PRFM (literal, immediate, register) and PRFUM: hints that neither access memory nor fault', () => {
  const e = env();
  e.cpu.x[1] = big(OUTSIDE + 0x10000);
  e.cpu.x[2] = 8n;
  e.exec(0xd8000080, 0xf9800420, 0xf8a26820, 0xf8801020);
  assert.equal(e.cpu.pc, RAM_BASE + 16);
});

// ---------------------------------------------------------------------------------------------
// Pairs
// ---------------------------------------------------------------------------------------------

test('Arm ARM C6.2 LDP/STP (64-bit): signed offset, pre-index and post-index', () => {
  const e = env();
  e.cpu.x[31] = big(D + 0x100);
  e.cpu.x[0] = 0xa0n;
  e.cpu.x[1] = 0xa1n;
  e.exec(0xa9bf07e0); // stp x0, x1, [sp, #-16]!
  assert.equal(x(e.cpu, 31), big(D + 0xf0));
  assert.deepEqual([e.m64(D + 0xf0), e.m64(D + 0xf8)], [0xa0n, 0xa1n]);
  e.cpu.x[2] = big(D + 0xe0);
  e.exec(0xa9c10440); // ldp x0, x1, [x2, #16]!
  assert.deepEqual([x(e.cpu, 0), x(e.cpu, 1), x(e.cpu, 2)], [0xa0n, 0xa1n, big(D + 0xf0)]);
  e.cpu.x[0] = e.cpu.x[1] = 0n;
  e.exec(0xa8ff0440); // ldp x0, x1, [x2], #-16
  assert.deepEqual([x(e.cpu, 0), x(e.cpu, 1), x(e.cpu, 2)], [0xa0n, 0xa1n, big(D + 0xe0)]);
});

test('Arm ARM C6.2 LDP/STP (32-bit), LDPSW, LDNP/STNP', () => {
  const e = env();
  e.cpu.x[2] = big(D);
  e.cpu.x[0] = 0xffffffff_80000000n;
  e.cpu.x[1] = 0x7fffffffn;
  e.exec(0x29010440); // stp w0, w1, [x2, #8]
  assert.equal(e.m64(D + 8), 0x7fffffff_80000000n);
  e.set64(D, 0x7fffffff_80000000n);
  e.exec(0x29400440); // ldp w0, w1, [x2]
  assert.deepEqual([x(e.cpu, 0), x(e.cpu, 1)], [0x80000000n, 0x7fffffffn]);
  e.exec(0x69400440); // ldpsw x0, x1, [x2]
  assert.deepEqual([x(e.cpu, 0), x(e.cpu, 1)], [0xffffffff_80000000n, 0x7fffffffn]);
  e.cpu.x[0] = 5n;
  e.cpu.x[1] = 6n;
  e.exec(0xa8000440, 0xa8400440); // stnp x0, x1, [x2]; ldnp x0, x1, [x2]
  assert.deepEqual([e.m64(D), e.m64(D + 8), x(e.cpu, 0), x(e.cpu, 1)], [5n, 6n, 5n, 6n]);
});

test('Arm ARM C6.2 LDP CONSTRAINED UNPREDICTABLE: Rt == Rt2 gets the lower word; Rn == Rt with write-back keeps the written-back base', () => {
  const e = env();
  e.set64(D, 1n);
  e.set64(D + 8, 2n);
  e.cpu.x[2] = big(D);
  e.exec(0xa9400040); // ldp x0, x0, [x2]
  assert.equal(x(e.cpu, 0), 1n);
  e.exec(0xa8c10442); // ldp x2, x1, [x2], #16
  assert.deepEqual([x(e.cpu, 1), x(e.cpu, 2)], [2n, big(D + 16)]);
});

// ---------------------------------------------------------------------------------------------
// Exclusives, ordered accesses
// ---------------------------------------------------------------------------------------------

test('Arm ARM B2.9 LDXR/STXR: the store succeeds (status 0) after a load-exclusive of the same address', () => {
  const e = env();
  e.set64(D, 41n);
  e.cpu.x[1] = big(D);
  e.cpu.x[3] = 42n;
  e.cpu.x[2] = 7n;
  e.exec(0xc85f7c20, 0xc8027c23); // ldxr x0, [x1]; stxr w2, x3, [x1]
  assert.equal(x(e.cpu, 0), 41n);
  assert.equal(x(e.cpu, 2), 0n);
  assert.equal(e.m64(D), 42n);
  e.exec(0xc8027c23); // the monitor is now clear: a second stxr fails
  assert.equal(x(e.cpu, 2), 1n);
});

test('Arm ARM B2.9 STXR without a preceding load-exclusive fails with status 1 and does not store', () => {
  const e = env();
  e.set64(D, 41n);
  e.cpu.x[1] = big(D);
  e.cpu.x[3] = 42n;
  e.exec(0xc8027c23); // stxr w2, x3, [x1]
  assert.equal(x(e.cpu, 2), 1n);
  assert.equal(e.m64(D), 41n);
});

test('Arm ARM B2.9 a plain store to the monitored granule clears the monitor, so STXR fails', () => {
  const e = env();
  e.cpu.x[1] = big(D);
  e.cpu.x[3] = 42n;
  e.exec(0xc85f7c20, 0xf9000420, 0xc8027c23); // ldxr x0, [x1]; str x0, [x1, #8]; stxr w2, x3, [x1]
  assert.equal(x(e.cpu, 2), 1n);
  assert.equal(e.m64(D), 0n);
});

test('Arm ARM B2.9 STXR to a different address than the load-exclusive fails and clears the monitor', () => {
  const e = env();
  e.cpu.x[1] = big(D);
  e.cpu.x[3] = 42n;
  e.exec(0xc85f7c20); // ldxr x0, [x1]
  e.cpu.x[1] = big(D + 8);
  e.exec(0xc8027c23); // stxr w2, x3, [x1]
  assert.equal(x(e.cpu, 2), 1n);
  assert.equal(e.cpu.exclPa, -1);
  assert.equal(e.m64(D + 8), 0n);
});

test('Arm ARM B2.9 LDXRB/STXRB and LDAXR/STLXR: byte and acquire/release forms', () => {
  const e = env();
  e.set64(D, 0x1ffn);
  e.cpu.x[1] = big(D);
  e.cpu.x[3] = 0x1234n;
  e.exec(0x085f7c20, 0x08027c23); // ldxrb w0, [x1]; stxrb w2, w3, [x1]
  assert.deepEqual([x(e.cpu, 0), x(e.cpu, 2), e.m64(D)], [0xffn, 0n, 0x134n]);
  e.exec(0x885ffc20, 0x8802fc23); // ldaxr w0, [x1]; stlxr w2, w3, [x1]
  assert.deepEqual([x(e.cpu, 0), x(e.cpu, 2), e.m64(D)], [0x134n, 0n, 0x1234n]);
});

test('Arm ARM B2.9 LDXP/STXP (X pair, 16 bytes) and LDAXP/STLXP (W pair)', () => {
  const e = env();
  e.set64(D, 1n);
  e.set64(D + 8, 2n);
  e.cpu.x[2] = big(D);
  e.cpu.x[4] = 3n;
  e.cpu.x[5] = 4n;
  e.exec(0xc87f0440, 0xc8231444); // ldxp x0, x1, [x2]; stxp w3, x4, x5, [x2]
  assert.deepEqual([x(e.cpu, 0), x(e.cpu, 1), x(e.cpu, 3)], [1n, 2n, 0n]);
  assert.deepEqual([e.m64(D), e.m64(D + 8)], [3n, 4n]);
  e.exec(0x887f8440, 0x88239444); // ldaxp w0, w1, [x2]; stlxp w3, w4, w5, [x2]
  assert.deepEqual([x(e.cpu, 0), x(e.cpu, 1), x(e.cpu, 3)], [3n, 0n, 0n]);
  assert.deepEqual([e.m64(D), e.m64(D + 8)], [0x4_00000003n, 4n]);
});

test('Arm ARM B2.5.2 exclusives require natural alignment: misaligned LDXR, STXR and LDXP take alignment faults', () => {
  let e = env();
  e.cpu.x[1] = big(D + 4);
  e.exec(0xc85f7c20); // ldxr x0, [x1]
  assertDataAbort(e.cpu, 0x21, 0, D + 4);
  e = env();
  e.cpu.x[1] = big(D + 2);
  e.cpu.x[2] = 9n;
  e.exec(0xc8027c23); // stxr w2, x3, [x1] (no monitor open: still an alignment fault)
  assertDataAbort(e.cpu, 0x21, 1, D + 2);
  assert.equal(x(e.cpu, 2), 9n);
  e = env();
  e.cpu.x[2] = big(D + 8);
  e.exec(0xc87f0440); // ldxp x0, x1, [x2] needs 16-byte alignment
  assertDataAbort(e.cpu, 0x21, 0, D + 8);
  assert.equal(e.cpu.exclPa, -1);
});

test('Arm ARM C6.2 LDAR/STLR/LDLAR/STLLR: plain accesses here, but misaligned ones take alignment faults', () => {
  const e = env();
  e.set64(D, 0x8877665544332211n);
  e.cpu.x[1] = big(D);
  e.exec(0xc8dffc20); // ldar x0, [x1]
  assert.equal(x(e.cpu, 0), 0x8877665544332211n);
  e.exec(0x48dffc20); // ldarh w0, [x1]
  assert.equal(x(e.cpu, 0), 0x2211n);
  e.exec(0xc8df7c20); // ldlar x0, [x1]
  assert.equal(x(e.cpu, 0), 0x8877665544332211n);
  e.cpu.x[0] = 0xabn;
  e.exec(0x089ffc20); // stlrb w0, [x1]
  assert.equal(e.m64(D), 0x88776655443322abn);
  e.exec(0x889f7c20); // stllr w0, [x1]
  assert.equal(e.m64(D), 0x88776655000000abn);
  e.cpu.x[1] = big(D + 2);
  e.exec(0xc89ffc20); // stlr x0, [x1]
  assertDataAbort(e.cpu, 0x21, 1, D + 2);
});

// ---------------------------------------------------------------------------------------------
// LSE atomics
// ---------------------------------------------------------------------------------------------

test('Arm ARM C6.2 LDADD/LDCLR/LDEOR/LDSET (64-bit): Rt = old value, memory = old <op> Rs', () => {
  const cases: [number, bigint, bigint, bigint][] = [
    [0xf8200041, 0xffffffff_ffffffffn, 2n, 1n], // ldadd: wraps
    [0xf8201041, 0xff00n, 0x0ff0n, 0xf000n], // ldclr: old & ~Rs
    [0xf8202041, 0xff00n, 0x0ff0n, 0xf0f0n], // ldeor
    [0xf8203041, 0xff00n, 0x0ff0n, 0xfff0n], // ldset
  ];
  for (const [insn, old, rs, result] of cases) {
    const e = env();
    e.set64(D, old);
    e.cpu.x[2] = big(D);
    e.cpu.x[0] = rs;
    e.exec(insn);
    assert.equal(x(e.cpu, 1), old);
    assert.equal(e.m64(D), result);
  }
});

test('Arm ARM C6.2 LDSMAX/LDSMIN/LDUMAX/LDUMIN: signed and unsigned comparisons, at 64 bits and narrower sizes', () => {
  const cases: [number, bigint, bigint, bigint][] = [
    [0xf8204041, 0xffffffff_fffffffen, 1n, 1n], // ldsmax: -2 vs 1
    [0xf8205041, 0xffffffff_fffffffen, 1n, 0xffffffff_fffffffen], // ldsmin
    [0xf8206041, 0xffffffff_fffffffen, 1n, 0xffffffff_fffffffen], // ldumax
    [0xf8207041, 0xffffffff_fffffffen, 1n, 1n], // ldumin
    [0x38204041, 0xaaaa80n, 0x7fn, 0xaaaa7fn], // ldsmaxb: 0x80 is -128
    [0x38206041, 0xaaaa80n, 0x7fn, 0xaaaa80n], // ldumaxb
    [0x78205041, 0x1_7fffn, 0xffff_8000n, 0x1_8000n], // ldsminh: only the low halfword of Ws
  ];
  for (const [insn, old, rs, result] of cases) {
    const e = env();
    e.set64(D, old);
    e.cpu.x[2] = big(D);
    e.cpu.x[0] = rs;
    e.exec(insn);
    assert.equal(e.m64(D), result, `insn ${insn.toString(16)}`);
  }
  const e = env();
  e.set64(D, 0xaaaa80n);
  e.cpu.x[2] = big(D);
  e.cpu.x[1] = 0xffffffff_ffffffffn;
  e.exec(0x38206041); // ldumaxb w0, w1, [x2]: Wt gets the zero-extended old byte
  assert.equal(x(e.cpu, 1), 0x80n);
});

test('Arm ARM C6.2 SWP and STADD (LDADD with Rt = XZR)', () => {
  const e = env();
  e.set64(D, 5n);
  e.cpu.x[2] = big(D);
  e.cpu.x[0] = 9n;
  e.exec(0xf8208041); // swp x0, x1, [x2]
  assert.deepEqual([x(e.cpu, 1), e.m64(D)], [5n, 9n]);
  e.exec(0xf820005f); // stadd x0, [x2]
  assert.equal(e.m64(D), 18n);
  e.set64(D, 0x1234n);
  e.cpu.x[0] = 0xabn;
  e.exec(0x38e08041); // swpalb w0, w1, [x2]
  assert.deepEqual([x(e.cpu, 1), e.m64(D)], [0x34n, 0x12abn]);
});

test('Arm ARM C6.2 CAS: stores Rt only when memory equals Rs; Rs always receives the old value', () => {
  const e = env();
  e.set64(D, 7n);
  e.cpu.x[2] = big(D);
  e.cpu.x[0] = 7n;
  e.cpu.x[1] = 8n;
  e.exec(0xc8a07c41); // cas x0, x1, [x2]
  assert.deepEqual([x(e.cpu, 0), e.m64(D)], [7n, 8n]);
  e.cpu.x[0] = 7n;
  e.cpu.x[1] = 9n;
  e.exec(0xc8a07c41); // fails: memory holds 8
  assert.deepEqual([x(e.cpu, 0), e.m64(D)], [8n, 8n]);
  e.set64(D, 0xffff_fff0n);
  e.cpu.x[0] = 0x1_ffff_fff0n; // the compare uses Ws only
  e.cpu.x[1] = 3n;
  e.exec(0x88e0fc41); // casal w0, w1, [x2]
  assert.deepEqual([x(e.cpu, 0), e.m64(D)], [0xffff_fff0n, 3n]);
  e.cpu.x[0] = 0x103n;
  e.cpu.x[1] = 0x44n;
  e.exec(0x08a07c41); // casb w0, w1, [x2]: compares the low byte 0x03
  assert.deepEqual([x(e.cpu, 0), e.m64(D)], [3n, 0x44n]);
});

test('Arm ARM C6.2 CASP/CASPAL: compare and swap a pair (X and W)', () => {
  const e = env();
  e.set64(D, 1n);
  e.set64(D + 8, 2n);
  e.cpu.x[4] = big(D);
  [e.cpu.x[0], e.cpu.x[1], e.cpu.x[2], e.cpu.x[3]] = [1n, 2n, 10n, 20n];
  e.exec(0x48207c82); // casp x0, x1, x2, x3, [x4]
  assert.deepEqual([e.m64(D), e.m64(D + 8), x(e.cpu, 0), x(e.cpu, 1)], [10n, 20n, 1n, 2n]);
  e.exec(0x48207c82); // fails now: old values come back in x0, x1
  assert.deepEqual([e.m64(D), e.m64(D + 8), x(e.cpu, 0), x(e.cpu, 1)], [10n, 20n, 10n, 20n]);
  [e.cpu.x[0], e.cpu.x[1], e.cpu.x[2], e.cpu.x[3]] = [10n, 0n, 0x5n, 0x6n];
  e.exec(0x0860fc82); // caspal w0, w1, w2, w3, [x4]: the W pair is the doubleword at D
  assert.deepEqual([e.m64(D), x(e.cpu, 0), x(e.cpu, 1)], [0x6_00000005n, 10n, 0n]);
});

test('Arm ARM C6.2 atomics require natural alignment (alignment fault, registers and memory unchanged)', () => {
  const e = env();
  e.cpu.x[2] = big(D + 4);
  e.cpu.x[1] = 0x77n;
  e.exec(0xf8200041); // ldadd x0, x1, [x2]
  assertDataAbort(e.cpu, 0x21, 0, D + 4);
  assert.equal(x(e.cpu, 1), 0x77n);
});

// ---------------------------------------------------------------------------------------------
// Permission-checked forms (MMU on): LDTR/STTR and atomics' WnR
// ---------------------------------------------------------------------------------------------

const PAGE_EL1 = RAM_BASE + 0x5000; // AP = 00: EL1 read/write, no EL0 access
const PAGE_EL0 = RAM_BASE + 0x10000; // AP = 01: read/write at EL1 and EL0
const PAGE_RO = RAM_BASE + 0x11000; // AP = 10: read-only at EL1
const PAGE_NONE = RAM_BASE + 0x13000; // invalid descriptor

/** Identity-map the first MiB of RAM with 4 KiB pages (T0SZ = 25, start at level 1) and turn the MMU on. */
function mmuOn(e: Env): void {
  const pt = RAM_BASE + 0x80000;
  e.set64(pt + 8, big(pt + 0x1000) | 3n); // L1[1] → L2 (VA 0x4000_0000..)
  e.set64(pt + 0x1000, big(pt + 0x2000) | 3n); // L2[0] → L3
  for (let p = 0; p < 256; p++) {
    const pa = RAM_BASE + p * 0x1000;
    const ap = pa === PAGE_EL0 ? 1 : pa === PAGE_RO ? 2 : 0;
    e.set64(pt + 0x2000 + 8 * p, pa === PAGE_NONE ? 0n : big(pa) | 0x400n | big(ap << 6) | 3n);
  }
  e.cpu.sys.ttbr0El1 = big(pt);
  e.cpu.sys.tcrEl1 = 25n | (1n << 23n); // T0SZ = 25, EPD1
  e.cpu.sys.sctlrEl1 |= 1n;
  e.cpu.tlbFlushAll();
}

test('Arm ARM C6.2 LDTR/STTR at EL1 are checked with EL0 permissions (permission fault on an EL1-only page)', () => {
  const e = env();
  mmuOn(e);
  e.set64(PAGE_EL1, 0x11n);
  e.set64(PAGE_EL0, 0x22n);
  e.cpu.x[1] = big(PAGE_EL1);
  e.exec(0xf9400020); // ldr x0, [x1]
  assert.equal(x(e.cpu, 0), 0x11n);
  e.cpu.x[1] = big(PAGE_EL0);
  e.exec(0xf8400820, 0xb8800820); // ldtr x0, [x1]; ldtrsw x0, [x1]
  assert.equal(x(e.cpu, 0), 0x22n);
  e.cpu.x[0] = 0x33n;
  e.exec(0xf8000820); // sttr x0, [x1]
  assert.equal(e.m64(PAGE_EL0), 0x33n);
  e.cpu.x[1] = big(PAGE_EL1);
  e.exec(0xf8400820); // ldtr x0, [x1]
  assertDataAbort(e.cpu, 0x0f, 0, PAGE_EL1); // permission fault, level 3
  assert.equal(x(e.cpu, 0), 0x33n);
});

test('Arm ARM D24 ESR_ELx.WnR for atomics: 1 for a write-permission fault, 0 when a read would fault', () => {
  let e = env();
  mmuOn(e);
  e.set64(PAGE_RO, 5n);
  e.cpu.x[2] = big(PAGE_RO);
  e.cpu.x[1] = 0x77n;
  e.exec(0xf8200041); // ldadd x0, x1, [x2]
  assertDataAbort(e.cpu, 0x0f, 1, PAGE_RO);
  assert.deepEqual([x(e.cpu, 1), e.m64(PAGE_RO)], [0x77n, 5n]);
  e = env();
  mmuOn(e);
  e.cpu.x[2] = big(PAGE_RO);
  e.cpu.x[0] = 99n; // CAS whose compare fails still needs write permission
  e.exec(0xc8a07c41); // cas x0, x1, [x2]
  assertDataAbort(e.cpu, 0x0f, 1, PAGE_RO);
  assert.equal(x(e.cpu, 0), 99n);
  e = env();
  mmuOn(e);
  e.cpu.x[2] = big(PAGE_NONE);
  e.exec(0xf8200041); // ldadd x0, x1, [x2]
  assertDataAbort(e.cpu, 0x07, 0, PAGE_NONE); // translation fault, level 3
});

test('Arm ARM D8 (faults): STP that crosses into an unmapped page writes nothing and keeps SP', () => {
  const e = env();
  mmuOn(e);
  e.cpu.x[0] = 0xaan;
  e.cpu.x[1] = 0xbbn;
  e.cpu.x[31] = big(PAGE_NONE + 8);
  e.set64(PAGE_NONE - 8, 0x77n);
  e.exec(0xa9bf07e0); // stp x0, x1, [sp, #-16]!
  assertDataAbort(e.cpu, 0x07, 1, PAGE_NONE);
  assert.equal(e.m64(PAGE_NONE - 8), 0x77n);
  assert.equal(x(e.cpu, 31), big(PAGE_NONE + 8));
});

test('Arm ARM D8 (faults): LDR Q whose upper half is in an unmapped page leaves V0 unchanged', () => {
  const e = env();
  mmuOn(e);
  e.cpu.x[1] = big(PAGE_NONE - 8);
  e.cpu.v[0] = 5n;
  e.cpu.v[1] = 6n;
  e.exec(0x3dc00020); // ldr q0, [x1]
  assertDataAbort(e.cpu, 0x07, 0, PAGE_NONE);
  assert.deepEqual([e.cpu.v[0], e.cpu.v[1]], [5n, 6n]);
});

// ---------------------------------------------------------------------------------------------
// SIMD&FP registers and structures
// ---------------------------------------------------------------------------------------------

test('Arm ARM C7.2 LDR (immediate, SIMD&FP): B/H/S/D loads zero the rest of the 128-bit register', () => {
  const e = env();
  e.set64(D, 0x8877665544332211n);
  e.set64(D + 8, 0xffeeddccbbaa9988n);
  e.cpu.x[1] = big(D);
  const cases: [number, bigint, bigint][] = [
    [0x3d400020, 0x11n, 0n], // ldr b0, [x1]
    [0x7d400020, 0x2211n, 0n], // ldr h0, [x1]
    [0xbd400020, 0x44332211n, 0n], // ldr s0, [x1]
    [0xfd400020, 0x8877665544332211n, 0n], // ldr d0, [x1]
    [0x3dc00020, 0x8877665544332211n, 0xffeeddccbbaa9988n], // ldr q0, [x1]
  ];
  for (const [insn, lo, hi] of cases) {
    e.cpu.v[0] = e.cpu.v[1] = 0xdeaddeaddeaddeadn;
    e.exec(insn);
    assert.deepEqual([e.cpu.v[0], e.cpu.v[1]], [lo, hi], insn.toString(16));
  }
});

test('Arm ARM C7.2 STR/LDR (SIMD&FP): Q and B stores, pre/post-index and register-offset forms', () => {
  const e = env();
  e.cpu.x[1] = big(D);
  e.cpu.v[0] = 0x0807060504030201n;
  e.cpu.v[1] = 0x100f0e0d0c0b0a09n;
  e.exec(0x3d800020); // str q0, [x1]
  assert.deepEqual([e.m64(D), e.m64(D + 8)], [0x0807060504030201n, 0x100f0e0d0c0b0a09n]);
  e.exec(0x3d000020); // str b0, [x1] (no change to the other bytes)
  e.cpu.x[1] = big(D - 16);
  e.exec(0x3cc10c20); // ldr q0, [x1, #16]!
  assert.equal(x(e.cpu, 1), big(D));
  e.exec(0xfc408420); // ldr d0, [x1], #8
  assert.deepEqual([e.cpu.v[0], e.cpu.v[1], x(e.cpu, 1)], [0x0807060504030201n, 0n, big(D + 8)]);
  e.cpu.x[1] = big(D - 32);
  e.cpu.x[2] = 2n;
  e.exec(0x3ce27820); // ldr q0, [x1, x2, lsl #4]
  assert.deepEqual([e.cpu.v[0], e.cpu.v[1]], [0x0807060504030201n, 0x100f0e0d0c0b0a09n]);
  e.cpu.x[1] = big(D - 1);
  e.exec(0x3cc01020); // ldur q0, [x1, #1]
  assert.equal(e.cpu.v[1], 0x100f0e0d0c0b0a09n);
});

test('Arm ARM C7.2 LDP/STP/LDNP (SIMD&FP): S, D and Q pairs', () => {
  const e = env();
  e.cpu.x[2] = big(D);
  e.cpu.v.set([1n, 2n, 3n, 4n]);
  e.exec(0xad810440); // stp q0, q1, [x2, #32]!
  assert.equal(x(e.cpu, 2), big(D + 32));
  assert.deepEqual([e.m64(D + 32), e.m64(D + 40), e.m64(D + 48), e.m64(D + 56)], [1n, 2n, 3n, 4n]);
  e.cpu.v.fill(0xffn);
  e.exec(0xad400440); // ldp q0, q1, [x2]
  assert.deepEqual([...e.cpu.v.slice(0, 4)], [1n, 2n, 3n, 4n]);
  e.exec(0x2d400440); // ldp s0, s1, [x2]
  assert.deepEqual([...e.cpu.v.slice(0, 4)], [1n, 0n, 0n, 0n]);
  e.exec(0x6c400440); // ldnp d0, d1, [x2]
  assert.deepEqual([...e.cpu.v.slice(0, 4)], [1n, 0n, 2n, 0n]);
});

test('Arm ARM D19 CPACR_EL1.FPEN = 00 traps SIMD&FP loads with EC 0x07 before any access', () => {
  const e = env();
  e.cpu.sys.cpacrEl1 = 0n;
  e.cpu.x[1] = big(D - 16);
  e.exec(0x3cc10c20); // ldr q0, [x1, #16]!
  assert.equal(e.cpu.sys.esrEl1 >>> 26, EC.FP_ACCESS);
  assert.equal(e.cpu.sys.esrEl1 & 0x1ffffff, 0x1e00000);
  assert.equal(x(e.cpu, 1), big(D - 16));
});

test('Arm ARM C7.2 LD1/ST1 (multiple structures): consecutive registers, post-index by immediate and by register', () => {
  const e = env();
  for (let k = 0; k < 64; k++) e.ram[D - RAM_BASE + k] = k;
  e.cpu.x[0] = big(D);
  e.exec(0x4cdfa000); // ld1 { v0.16b, v1.16b }, [x0], #32
  assert.deepEqual([...e.cpu.v8.slice(0, 32)], [...Array(32).keys()]);
  assert.equal(x(e.cpu, 0), big(D + 32));
  e.cpu.x[2] = 0xfffffffffffffff8n; // -8
  e.exec(0x0cc27000); // ld1 { v0.8b }, [x0], x2   (8 bytes; upper half zeroed)
  assert.deepEqual([e.cpu.v[0], e.cpu.v[1], x(e.cpu, 0)], [0x2726252423222120n, 0n, big(D + 24)]);
  e.cpu.v.set([10n, 11n, 12n, 13n, 14n, 15n, 16n, 17n]);
  e.cpu.x[0] = big(D + 0x100);
  e.exec(0x4c002c00); // st1 { v0.2d, v1.2d, v2.2d, v3.2d }, [x0]
  for (let k = 0; k < 8; k++) assert.equal(e.m64(D + 0x100 + 8 * k), big(10 + k));
});

test('Arm ARM C7.2 LD2/ST2/LD3 (multiple structures) de-interleave and interleave elements', () => {
  const e = env();
  for (let k = 0; k < 8; k++) e.set32(D + 4 * k, k);
  e.cpu.x[0] = big(D);
  e.exec(0x4c408800); // ld2 { v0.4s, v1.4s }, [x0]
  assert.deepEqual([...e.cpu.v32.slice(0, 8)], [0, 2, 4, 6, 1, 3, 5, 7]);
  e.cpu.x[0] = big(D + 0x100);
  e.exec(0x4c008800); // st2 { v0.4s, v1.4s }, [x0]
  for (let k = 0; k < 8; k++) assert.equal(e.m32(D + 0x100 + 4 * k), k);
  for (let k = 0; k < 24; k++) e.dv.setUint16(D - RAM_BASE + 2 * k, k, true);
  e.cpu.x[0] = big(D);
  e.exec(0x4c404400); // ld3 { v0.8h, v1.8h, v2.8h }, [x0]
  assert.deepEqual([...e.cpu.v16.slice(8, 16)], [1, 4, 7, 10, 13, 16, 19, 22]);
});

test('Arm ARM C7.2 LD1 (single structure) fills one lane and keeps the others; LD4 lanes; ST1 lane with post-index', () => {
  const e = env();
  e.set64(D, 0x44332211_aabbccddn);
  e.cpu.x[0] = big(D);
  e.cpu.v[0] = 0x1111111122222222n;
  e.cpu.v[1] = 0x3333333344444444n;
  e.exec(0x0d409000); // ld1 { v0.s }[1], [x0]
  assert.deepEqual([e.cpu.v[0], e.cpu.v[1]], [0xaabbccdd22222222n, 0x3333333344444444n]);
  e.exec(0x0d602c00); // ld4 { v0.b, v1.b, v2.b, v3.b }[3], [x0]
  assert.deepEqual([e.cpu.v8[3], e.cpu.v8[16 + 3], e.cpu.v8[32 + 3], e.cpu.v8[48 + 3]], [0xdd, 0xcc, 0xbb, 0xaa]);
  e.cpu.x[0] = big(D + 0x40);
  e.exec(0x4d9f8400); // st1 { v0.d }[1], [x0], #8
  assert.deepEqual([e.m64(D + 0x40), x(e.cpu, 0)], [0x3333333344444444n, big(D + 0x48)]);
});

test('Arm ARM C7.2 LD1R replicates one element to every lane (and zeroes the upper half for 64-bit forms)', () => {
  const e = env();
  e.set32(D, 0xcafef00d);
  e.cpu.x[0] = big(D);
  e.exec(0x4d40c800); // ld1r { v0.4s }, [x0]
  assert.deepEqual([...e.cpu.v32.slice(0, 4)], [0xcafef00d, 0xcafef00d, 0xcafef00d, 0xcafef00d]);
  e.exec(0x0ddfc000); // ld1r { v0.8b }, [x0], #1
  assert.deepEqual([e.cpu.v[0], e.cpu.v[1], x(e.cpu, 0)], [0x0d0d0d0d0d0d0d0dn, 0n, big(D + 1)]);
});

// ---------------------------------------------------------------------------------------------
// Unallocated encodings
// ---------------------------------------------------------------------------------------------

test('Arm ARM C4.1.66: unallocated load/store encodings take the Undefined Instruction exception', () => {
  const words = [
    0xdc000080, // LDR (literal, SIMD&FP) with opc = 11
    0x69000440, // STGP-shaped pair (opc 01, L 0): needs MTE
    0xb8c00020, // LDURSW-shaped with size 10, opc 11
    0xf8c00420, // post-index with size 11, opc 10 (no PRFM post-index)
    0x48617c82, // CASP with odd Rs
    0xf8620820, // LDR (register) with option 000 (option<1> = 0)
    0x0c408c00, // LD2 { .1d } shaped (size 11, Q 0, selem 2)
    0xf8bfc020, // ldapr x0, [x1]: FEAT_LRCPC is not implemented (ID_AA64ISAR1_EL1.LRCPC = 0)
  ];
  for (const w of words) {
    const e = env();
    e.cpu.x[1] = big(D);
    e.exec(w);
    assert.equal(e.cpu.pc, VBAR + 0x200, w.toString(16));
    assert.equal(e.cpu.sys.esrEl1 >>> 26, EC.UNKNOWN, w.toString(16));
  }
});

// ---------------------------------------------------------------------------------------------
// Disassembly against llvm-mc
// ---------------------------------------------------------------------------------------------

test('disassembly of every load/store row matches llvm-mc, and llvm-mc agrees on which encodings are allocated', (t) => {
  const llvmMc = findLlvmMc();
  if (!llvmMc) {
    t.skip(oracleMissing('llvm-mc not found; load/store disassembly not checked', 'apt-get install llvm'));
    return;
  }
  let seed = 0x2545f491;
  const rnd = (): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return seed >>> 0;
  };
  const words: number[] = [];
  for (const r of ldst.rows) for (let k = 0; k < 40; k++) words.push((rnd() & ~r.mask) | r.value | 0);
  // Random words anywhere in the load/store space (op0 = x1x0), to catch encodings we miss.
  for (let k = 0; k < 20000; k++) words.push((rnd() & ~(0b0101 << 25)) | (0b0100 << 25) | 0);
  const NOP = 0xd503201f; // separator: one line per word, or none when llvm-mc rejects it
  const hex = (v: number): string => [0, 8, 16, 24].map((s) => `0x${((v >>> s) & 255).toString(16)}`).join(' ') + '\n';
  const input = words.map((w) => hex(w) + hex(NOP)).join('');
  const r = spawnSync(llvmMc, ['--disassemble', '-triple=aarch64', '-mattr=+v8.1a,+lse,+crc,+fp-armv8,+neon'], {
    input,
    maxBuffer: 1 << 28,
  });
  const lines = r.stdout
    .toString()
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('.text'));
  let li = 0;
  const bad: string[] = [];
  for (const w of words) {
    let llvm: string | null = null;
    if (lines[li] !== 'nop') llvm = lines[li++]!.replace(/\s+\/\/.*$/, '').replace(/\s+/, ' '); // drop llvm-mc's remarks
    assert.equal(lines[li++], 'nop', 'llvm-mc output out of step');
    const row = Cpu.decode(w);
    const mine = row ? row.fmt(w, 0n).replace('\t', ' ') : null;
    if (mine !== llvm && bad.length < 20) bad.push(`${(w >>> 0).toString(16)}: ours ${mine} llvm ${llvm}`);
  }
  assert.deepEqual(bad, []);
});
