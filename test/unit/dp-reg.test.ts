// Data processing -- register (Arm ARM C4.1.87, instructions in C6.2): execution on a bare CPU
// with hand-checked values (CRC results from the CRC-32 and CRC-32C check values of
// "123456789"), unallocated encodings, and the disassembly of every row checked against llvm-mc
// (an independent oracle). Encodings were produced by llvm-mc (-triple=aarch64 -mattr=+crc
// -show-encoding); the unallocated ones were checked to be rejected by llvm-mc --disassemble.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { makeCpu, RAM_BASE } from '../helpers/cpu.js';
import { findLlvmMc, oracleMissing } from '../helpers/oracle.js';
import { Cpu } from '../../src/arch/aarch64/cpu.js';
import { EC } from '../../src/arch/aarch64/esr.js';
import { dpReg } from '../../src/arch/aarch64/decode/dp-reg.js';
import { Decoder } from '../../src/arch/aarch64/decode/decoder.js';
import type { Group } from '../../src/arch/aarch64/decode/table.js';

const VBAR = RAM_BASE + 0x800;
const M64 = (1n << 64n) - 1n;
const MIN64 = 1n << 63n;
const u64 = (v: bigint): bigint => BigInt.asUintN(64, v);

/** A CPU with `regs` loaded, after executing `words` from RAM_BASE. */
function run(words: number[], regs: Record<number, bigint> = {}, setup?: (cpu: Cpu) => void): Cpu {
  const t = makeCpu();
  t.cpu.sys.vbarEl1 = BigInt(VBAR);
  for (const [r, v] of Object.entries(regs)) t.cpu.x[Number(r)] = u64(v);
  setup?.(t.cpu);
  t.code(RAM_BASE, words);
  t.cpu.pc = RAM_BASE;
  for (let k = 0; k < words.length; k++) t.cpu.step();
  return t.cpu;
}

const nzcv = (cpu: Cpu): string => `${cpu.nf}${cpu.zf}${cpu.cf}${cpu.vf}`;
const flags = (s: string) => (c: Cpu) => {
  [c.nf, c.zf, c.cf, c.vf] = [...s].map(Number) as [number, number, number, number];
};

function assertUndefined(word: number): void {
  const cpu = run([word], { 0: 0x1234n, 1: 0x5678n, 2: 3n });
  assert.equal(cpu.pc, VBAR + 0x200, `0x${word.toString(16)} should be undefined`);
  assert.equal(cpu.sys.esrEl1 >>> 26, EC.UNKNOWN);
  assert.equal(cpu.x[0], 0x1234n, 'no register written');
}

// ---- add/subtract (shifted register) ----

test('A64 C6.2 ADD (shifted register): LSL #3 scales the index; ASR #63 gives 0 or -1', () => {
  assert.equal(run([0x8b020c20], { 1: 0x1000n, 2: 5n }).x[0], 0x1028n); // add x0, x1, x2, lsl #3
  assert.equal(run([0x8b82fc20], { 1: 10n, 2: -5n }).x[0], 9n); // add x0, x1, x2, asr #63
});

test('A64 C6.2 SUB (shifted register): 32-bit LSR #31, result zero-extended', () => {
  const cpu = run([0x4b427c20], { 1: 0xffffffff00000000n, 2: 0x80000000n }); // sub w0, w1, w2, lsr #31
  assert.equal(cpu.x[0], 0xffffffffn);
});

test('A64 C6.2 NEG (shifted register): SUB from XZR', () => {
  assert.equal(run([0xcb0103e0], { 1: 5n }).x[0], u64(-5n)); // neg x0, x1
});

test('A64 C6.2 CMP (shifted register): signed and unsigned orderings in the flags', () => {
  assert.equal(nzcv(run([0xeb02003f], { 1: 1n, 2: 2n })), '1000'); // cmp x1, x2: 1 < 2
  assert.equal(nzcv(run([0xeb02003f], { 1: MIN64, 2: 1n })), '0011'); // INT64_MIN - 1 overflows
  assert.equal(nzcv(run([0xeb02003f], { 1: M64, 2: M64 })), '0110');
  assert.equal(nzcv(run([0x6b02003f], { 1: 0x1_00000000n, 2: 1n })), '1000'); // cmp w1, w2: upper bits ignored
});

test('A64 C6.2 ADDS/CMN (shifted register): unsigned carry and signed overflow', () => {
  const cpu = run([0xab020020], { 1: M64, 2: 2n }); // adds x0, x1, x2
  assert.equal(cpu.x[0], 1n);
  assert.equal(nzcv(cpu), '0010');
  assert.equal(nzcv(run([0xab02003f], { 1: MIN64 - 1n, 2: 1n })), '1001'); // cmn x1, x2
});

test('A64 C6.2 SUBS/NEGS (shifted register): LSL #1 operand; negating INT32_MIN overflows', () => {
  const cpu = run([0xeb020420], { 1: 10n, 2: 5n }); // subs x0, x1, x2, lsl #1
  assert.equal(cpu.x[0], 0n);
  assert.equal(nzcv(cpu), '0110');
  const n = run([0x6b0103e0], { 1: 0x80000000n }); // negs w0, w1
  assert.equal(n.x[0], 0x80000000n);
  assert.equal(nzcv(n), '1001');
});

test('A64 C6.2 ADD (shifted register): ROR and 32-bit amounts >= 32 are unallocated', () => {
  assertUndefined(0x8bc20020);
  assertUndefined(0x0b028020);
});

// ---- logical (shifted register) ----

test('A64 C6.2 MOV/MVN (register): ORR and ORN from XZR', () => {
  assert.equal(run([0xaa0103e0], { 1: M64 }).x[0], M64); // mov x0, x1
  assert.equal(run([0x2a0103e0], { 0: M64, 1: 0x1234567887654321n }).x[0], 0x87654321n); // mov w0, w1
  assert.equal(run([0xaa2113e0], { 1: 0xfn }).x[0], u64(~0xf0n)); // mvn x0, x1, lsl #4
});

test('A64 C6.2 ORR/BIC/EON (shifted register): ROR and ASR operands, inverted for BIC and EON', () => {
  assert.equal(run([0xaac22020], { 1: 0n, 2: 0xabn }).x[0], 0xab00000000000000n); // orr x0, x1, x2, ror #8
  assert.equal(run([0x8a220020], { 1: 0xffn, 2: 0x0fn }).x[0], 0xf0n); // bic x0, x1, x2
  const e = run([0x4aa21020], { 1: 0n, 2: 0x80000000n }); // eon w0, w1, w2, asr #4
  assert.equal(e.x[0], 0x07ffffffn);
  assert.equal(run([0x0a024020], { 1: M64, 2: 0x1ffffn }).x[0], 0xffff0000n); // and w0, w1, w2, lsl #16
});

test('A64 C6.2 TST/BICS (shifted register): N and Z from the result, C and V cleared', () => {
  const t = run([0xea42f03f], { 1: 0x8n, 2: 0x8000000000000000n }, flags('0011')); // tst x1, x2, lsr #60
  assert.equal(nzcv(t), '0000');
  const b = run([0x6a220020], { 1: 0x80000000n, 2: 0n }, flags('0011')); // bics w0, w1, w2
  assert.equal(b.x[0], 0x80000000n);
  assert.equal(nzcv(b), '1000');
});

// ---- add/subtract (extended register) ----

test('A64 C6.2 ADD (extended register): SP base with a UXTW #2 index ignores Xm bits 63:32', () => {
  const cpu = run([0x8b214be0], { 1: 0x12345678ffffffffn }, (c) => (c.x[31] = 0x1000n)); // add x0, sp, w1, uxtw #2
  assert.equal(cpu.x[0], 0x1000n + 0x3fffffffcn);
});

test('A64 C6.2 SUB (extended register): SXTB sign-extends the low byte', () => {
  assert.equal(run([0xcb228020], { 1: 100n, 2: 0x180n }).x[0], 228n); // sub x0, x1, w2, sxtb
});

test('A64 C6.2 CMP (extended register): UXTB compares only the low byte of Wm', () => {
  assert.equal(nzcv(run([0xeb21007f], { 3: 0xffn, 1: 0x1ffn })), '0110'); // cmp x3, w1, uxtb
});

test('A64 C6.2 ADDS (extended register): SXTH #1 on a W register sets C and Z', () => {
  const cpu = run([0x2b22a420], { 1: 0x10000n, 2: 0x8000n }); // adds w0, w1, w2, sxth #1
  assert.equal(cpu.x[0], 0n);
  assert.equal(nzcv(cpu), '0110');
});

test('A64 C6.2 ADD (extended register): Rd 31 is SP; SXTX #3 on a 64-bit Xm', () => {
  assert.equal(run([0x8b21701f], { 0: 0x100n, 1: 1n }).x[31], 0x110n); // add sp, x0, x1, lsl #4
  assert.equal(run([0x8b22ec20], { 1: 0n, 2: -1n }).x[0], u64(-8n)); // add x0, x1, x2, sxtx #3
});

test('A64 C6.2 ADD (extended register): amounts > 4 and opt != 00 are unallocated', () => {
  assertUndefined(0x8b221420);
  assertUndefined(0x8b620020);
});

// ---- add/subtract with carry ----

test('A64 C6.2 ADC/ADCS: the carry flag is added in', () => {
  assert.equal(run([0x9a020020], { 1: 1n, 2: 2n }, flags('0010')).x[0], 4n); // adc x0, x1, x2
  const cpu = run([0x3a020020], { 1: 0xffffffffn, 2: 0n }, flags('0010')); // adcs w0, w1, w2
  assert.equal(cpu.x[0], 0n);
  assert.equal(nzcv(cpu), '0110');
});

test('A64 C6.2 SBC/SBCS/NGC: subtracts NOT(C) as a borrow', () => {
  assert.equal(run([0xda020020], { 1: 5n, 2: 3n }, flags('0000')).x[0], 1n); // sbc x0, x1, x2
  const cpu = run([0xfa020020], { 1: 3n, 2: 3n }, flags('0010')); // sbcs x0, x1, x2
  assert.equal(cpu.x[0], 0n);
  assert.equal(nzcv(cpu), '0110');
  assert.equal(run([0xda0103e0], { 1: 7n }, flags('0010')).x[0], u64(-7n)); // ngc x0, x1
  assert.equal(run([0xda0103e0], { 1: 7n }, flags('0000')).x[0], u64(-8n));
});

// ---- conditional compare and select ----

test('A64 C6.2 CCMP (register): compares when the condition holds, else loads #nzcv', () => {
  assert.equal(nzcv(run([0xfa420024], { 1: 2n, 2: 2n }, flags('0100'))), '0110'); // ccmp x1, x2, #4, eq
  assert.equal(nzcv(run([0xfa420024], { 1: 1n, 2: 2n }, flags('0000'))), '0100');
});

test('A64 C6.2 CCMN/CCMP (immediate): a 5-bit immediate; AL always compares', () => {
  assert.equal(nzcv(run([0x3a5f182f], { 1: 0xffffffe1n }, flags('0000'))), '0110'); // ccmn w1, #31, #15, ne
  assert.equal(nzcv(run([0x3a5f182f], { 1: 0n }, flags('0100'))), '1111');
  assert.equal(nzcv(run([0xfa43e820], { 1: 2n }, flags('1111'))), '1000'); // ccmp x1, #3, #0, al
});

test('A64 C6.2 CSEL/CSINC/CSINV/CSNEG: select, increment, invert or negate the second operand', () => {
  assert.equal(run([0x9a82b020], { 1: 1n, 2: 2n }, flags('1000')).x[0], 1n); // csel x0, x1, x2, lt
  assert.equal(run([0x9a82b020], { 1: 1n, 2: 2n }, flags('0000')).x[0], 2n);
  assert.equal(run([0x1a820420], { 1: 1n, 2: 0xffffffffn }, flags('0000')).x[0], 0n); // csinc w0, w1, w2, eq
  assert.equal(run([0xda821020], { 1: 1n, 2: 0n }, flags('0100')).x[0], M64); // csinv x0, x1, x2, ne
  assert.equal(run([0xda82a420], { 1: 1n, 2: 5n }, flags('1000')).x[0], u64(-5n)); // csneg x0, x1, x2, ge
});

test('A64 C6.2 CSET/CSETM/CINC: aliases with the inverted condition', () => {
  assert.equal(run([0x9a9f97e0], { 0: 9n }, flags('0010')).x[0], 1n); // cset x0, hi
  assert.equal(run([0x9a9f97e0], { 0: 9n }, flags('0110')).x[0], 0n);
  assert.equal(run([0x5a9f23e0], {}, flags('0000')).x[0], 0xffffffffn); // csetm w0, lo
  assert.equal(run([0x9a811420], { 1: 41n }, flags('0100')).x[0], 42n); // cinc x0, x1, eq
});

test('A64 C6.2 CSEL: S=1 and op2 >= 2 are unallocated; so are CCMP with o2 or o3 set', () => {
  assertUndefined(0xba820020);
  assertUndefined(0x9a820820);
  assertUndefined(0xfa420424);
  assertUndefined(0xfa420034);
});

// ---- data-processing (1 source) ----

test('A64 C6.2 RBIT/REV16/REV32/REV: bit and byte reversals', () => {
  const v = 0x0011223344556677n;
  assert.equal(run([0xdac00020], { 1: 1n }).x[0], MIN64); // rbit x0, x1
  assert.equal(run([0x5ac00020], { 1: 0x80000001n }).x[0], 0x80000001n); // rbit w0, w1
  assert.equal(run([0xdac00420], { 1: v }).x[0], 0x1100332255447766n); // rev16 x0, x1
  assert.equal(run([0xdac00820], { 1: v }).x[0], 0x3322110077665544n); // rev32 x0, x1
  assert.equal(run([0xdac00c20], { 1: v }).x[0], 0x7766554433221100n); // rev x0, x1
  assert.equal(run([0x5ac00820], { 1: v }).x[0], 0x77665544n); // rev w0, w1
});

test('A64 C6.2 CLZ/CLS: counts at the boundaries (CLS excludes the sign bit itself)', () => {
  assert.equal(run([0xdac01020], { 1: 0n }).x[0], 64n); // clz x0, x1
  assert.equal(run([0xdac01020], { 1: 1n }).x[0], 63n);
  assert.equal(run([0x5ac01020], { 1: 0xffffffff00000000n }).x[0], 32n); // clz w0, w1
  assert.equal(run([0xdac01420], { 1: 0n }).x[0], 63n); // cls x0, x1
  assert.equal(run([0xdac01420], { 1: M64 }).x[0], 63n);
  assert.equal(run([0xdac01420], { 1: 0x4000000000000000n }).x[0], 0n);
  assert.equal(run([0xdac01420], { 1: 0xfffffffff0000000n }).x[0], 35n);
  assert.equal(run([0x5ac01420], { 1: 0x0fffffffn }).x[0], 3n); // cls w0, w1
});

test('A64 C6.2 REV: the 32-bit form of opcode 000011, and S=1, are unallocated', () => {
  assertUndefined(0x5ac00c20);
  assertUndefined(0xfac00020);
});

// ---- data-processing (2 source) ----

test('A64 C6.2 UDIV/SDIV: division by zero gives zero', () => {
  assert.equal(run([0x9ac20820], { 1: 7n, 2: 0n }).x[0], 0n); // udiv x0, x1, x2
  assert.equal(run([0x9ac20c20], { 1: MIN64, 2: 0n }).x[0], 0n); // sdiv x0, x1, x2
  assert.equal(run([0x1ac20820], { 1: 7n, 2: 0x100000000n }).x[0], 0n); // udiv w0, w1, w2 (W2 = 0)
  assert.equal(run([0x1ac20c20], { 1: 7n, 2: 0n }).x[0], 0n); // sdiv w0, w1, w2
});

test('A64 C6.2 SDIV: INT_MIN / -1 wraps to INT_MIN, and quotients round towards zero', () => {
  assert.equal(run([0x9ac20c20], { 1: MIN64, 2: -1n }).x[0], MIN64);
  assert.equal(run([0x1ac20c20], { 1: 0x80000000n, 2: 0xffffffffn }).x[0], 0x80000000n);
  assert.equal(run([0x9ac20c20], { 1: -7n, 2: 2n }).x[0], u64(-3n));
  assert.equal(run([0x9ac20c20], { 1: -(1n << 40n) - 1n, 2: 3n }).x[0], u64((-(1n << 40n) - 1n) / 3n));
  assert.equal(run([0x9ac20c20], { 1: 0x80000000n, 2: -1n }).x[0], u64(-0x80000000n));
  assert.equal(run([0x1ac20c20], { 1: 0xfffffff9n, 2: 2n }).x[0], 0xfffffffdn); // -7 / 2 = -3
});

test('A64 C6.2 UDIV: 64-bit and 32-bit unsigned quotients', () => {
  assert.equal(run([0x9ac20820], { 1: M64, 2: 3n }).x[0], 0x5555555555555555n);
  assert.equal(run([0x9ac20820], { 1: 0xffffffffn, 2: 0x10n }).x[0], 0x0fffffffn);
  assert.equal(run([0x1ac20820], { 1: 0xffffffffn, 2: 0xffffffffn }).x[0], 1n);
});

test('A64 C6.2 LSLV/LSRV/ASRV/RORV: the amount is Rm modulo the register size', () => {
  assert.equal(run([0x9ac22020], { 1: 1n, 2: 65n }).x[0], 2n); // lsl x0, x1, x2
  assert.equal(run([0x1ac22420], { 1: 0x80000000n, 2: 63n }).x[0], 1n); // lsr w0, w1, w2
  assert.equal(run([0x9ac22820], { 1: MIN64, 2: 36n }).x[0], 0xfffffffff8000000n); // asr x0, x1, x2
  assert.equal(run([0x9ac22c20], { 1: 1n, 2: 4n }).x[0], 0x1000000000000000n); // ror x0, x1, x2
  assert.equal(run([0x9ac22c20], { 1: 0x123456789n, 2: 36n }).x[0], 0x1234567890000000n);
  assert.equal(run([0x1ac22c20], { 1: 0x12345678n, 2: 8n }).x[0], 0x78123456n); // ror w0, w1, w2
});

test('A64 C6.2 CRC32B/H/W/X: with pre- and post-inversion, "123456789" gives the CRC-32 check value 0xcbf43926', () => {
  const bytes = { 1: 0x34333231n, 2: 0x3635n, 3: 0x3837n, 4: 0x39n, 0: 0xffffffffn };
  const a = run([0x1ac14800, 0x1ac24400, 0x1ac34400, 0x1ac44000], bytes); // crc32w, crc32h, crc32h, crc32b
  assert.equal(a.x[0] ^ 0xffffffffn, 0xcbf43926n);
  const b = run([0x9ac14c00, 0x1ac24000], { 0: 0xffffffffn, 1: 0x3837363534333231n, 2: 0x39n }); // crc32x, crc32b
  assert.equal(b.x[0] ^ 0xffffffffn, 0xcbf43926n);
});

test('A64 C6.2 CRC32CB/H/W/X: "123456789" gives the CRC-32C check value 0xe3069283', () => {
  const bytes = { 1: 0x34333231n, 2: 0x3635n, 3: 0x3837n, 4: 0x39n, 0: 0xffffffffn };
  const a = run([0x1ac15800, 0x1ac25400, 0x1ac35400, 0x1ac45000], bytes);
  assert.equal(a.x[0] ^ 0xffffffffn, 0xe3069283n);
  const b = run([0x9ac15c00, 0x1ac25000], { 0: 0xffffffffn, 1: 0x3837363534333231n, 2: 0x39n });
  assert.equal(b.x[0] ^ 0xffffffffn, 0xe3069283n);
});

test('A64 C6.2 CRC32X: sf=0 with sz=11, and CRC32B with sf=1, are unallocated', () => {
  assertUndefined(0x1ac14c00);
  assertUndefined(0x9ac14000);
});

// ---- data-processing (3 source) ----

test('A64 C6.2 MADD/MSUB/MNEG: products modulo 2^64', () => {
  const a = 0x123456789abcdef1n;
  const b = 0xfedcba9876543211n;
  const c = 0x1111111111111111n;
  assert.equal(run([0x9b020c20], { 1: a, 2: b, 3: c }).x[0], u64(c + a * b)); // madd x0, x1, x2, x3
  assert.equal(run([0x9b028c20], { 1: a, 2: b, 3: c }).x[0], u64(c - a * b)); // msub x0, x1, x2, x3
  assert.equal(run([0x9b02fc20], { 1: 3n, 2: 5n }).x[0], u64(-15n)); // mneg x0, x1, x2
});

test('A64 C6.2 MUL/MADD (32-bit): the low 32 bits of the product, zero-extended', () => {
  assert.equal(run([0x1b027c20], { 0: M64, 1: 0xffffffffn, 2: 0xffffffffn }).x[0], 1n); // mul w0, w1, w2
  assert.equal(run([0x1b020c20], { 1: 0x10000n, 2: 0x10000n, 3: 5n }).x[0], 5n); // madd w0, w1, w2, w3
});

test('A64 C6.2 SMADDL/SMULL/UMADDL/UMSUBL: 32x32 -> 64-bit products of W registers', () => {
  assert.equal(run([0x9b220c20], { 1: 0xfffffffen, 2: 3n, 3: 10n }).x[0], 4n); // smaddl x0, w1, w2, x3
  assert.equal(run([0x9b227c20], { 1: 0x80000000n, 2: 0x80000000n }).x[0], 1n << 62n); // smull x0, w1, w2
  assert.equal(run([0x9ba20c20], { 1: 0xffffffffn, 2: 0xffffffffn, 3: 1n }).x[0], 0xfffffffe00000002n); // umaddl
  assert.equal(run([0x9ba28c20], { 1: 0x1_00000002n, 2: 3n, 3: 10n }).x[0], 4n); // umsubl: upper bits of Xn ignored
});

test('A64 C6.2 SMULH/UMULH: the high 64 bits of the 128-bit product', () => {
  assert.equal(run([0x9bc27c20], { 1: M64, 2: M64 }).x[0], M64 - 1n); // umulh x0, x1, x2
  const a = 0x123456789abcdef0n;
  const b = 0xfedcba9876543210n;
  assert.equal(run([0x9bc27c20], { 1: a, 2: b }).x[0], (a * b) >> 64n);
  assert.equal(run([0x9b427c20], { 1: -1n, 2: -1n }).x[0], 0n); // smulh x0, x1, x2
  assert.equal(run([0x9b427c20], { 1: MIN64, 2: MIN64 }).x[0], 1n << 62n);
  assert.equal(run([0x9b427c20], { 1: -2n, 2: 3n }).x[0], M64);
  assert.equal(run([0x9b427c20], { 1: a, 2: b }).x[0], u64((a * BigInt.asIntN(64, b)) >> 64n));
});

test('A64 C6.2 SMULH: o0=1 and SMADDL with sf=0 are unallocated', () => {
  assertUndefined(0x9b42fc20);
  assertUndefined(0x1b220c20);
});

// ---- disassembly against llvm-mc ----

/** Deterministic words for every row (fields biased to 0, all-ones, 31 and 1) plus random words in the group's space. */
function sampleWords(group: Group, decoder: Decoder, spaceMask: number, spaceValue: number): number[] {
  let s = 0x9e3779b9;
  const rnd = (): number => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
  const words: number[] = [];
  for (const row of group.rows) {
    let got = 0;
    for (let t = 0; t < 4000 && got < 120; t++) {
      let w = ((rnd() & ~row.mask) | row.value) >>> 0;
      for (const f of row.fields) {
        const max = 2 ** f.width - 1;
        const p = rnd() % 8;
        const v = p === 0 ? 0 : p === 1 ? max : p === 2 ? Math.min(31, max) : p === 3 ? 1 : rnd() & max;
        const mask = (max * 2 ** f.lsb) >>> 0;
        w = ((w & ~mask) | ((v * 2 ** f.lsb) >>> 0)) >>> 0;
      }
      if (rnd() % 4 === 0) w = ((w & ~(31 << 16)) | (((w >>> 5) & 31) << 16)) >>> 0; // Rm = Rn
      if (decoder.decode(w | 0) === row) {
        words.push(w);
        got++;
      }
    }
    assert.ok(got > 0, `no encodings generated for ${row.name}`);
  }
  for (let k = 0; k < 20000; k++) words.push(((rnd() & ~spaceMask) | spaceValue) >>> 0);
  return words;
}

/** Our disassembly and llvm-mc's for each word; null where the encoding is unallocated. */
function compareWithLlvm(llvmMc: string, decoder: Decoder, words: number[]): string[] {
  const input = words
    .map((w) => [0, 8, 16, 24].map((sh) => `0x${((w >>> sh) & 255).toString(16)}`).join(' '))
    .join('\n');
  const r = spawnSync(llvmMc, ['--disassemble', '-triple=aarch64', '-mattr=+v8.1a,+lse,+crc,+fp-armv8,+neon'], {
    input,
    maxBuffer: 1 << 28,
  });
  assert.equal(r.status, 0, r.stderr?.toString());
  const invalid = new Set<number>();
  for (const m of r.stderr.toString().matchAll(/<stdin>:(\d+):\d+: warning: invalid instruction encoding/g)) {
    invalid.add(Number(m[1]) - 1);
  }
  const lines = r.stdout
    .toString()
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('.text'));
  const bad: string[] = [];
  let li = 0;
  words.forEach((w, k) => {
    const llvm = invalid.has(k) ? null : lines[li++]!.replace(/\s+\/\/.*$/, '').replace(/\s+/, ' ');
    const row = decoder.decode(w | 0);
    const ours = row ? row.fmt(w | 0, 0n).replace('\t', ' ') : null;
    if (ours !== llvm)
      bad.push(`0x${w.toString(16).padStart(8, '0')} [${row?.name ?? 'unallocated'}]: ours ${ours}, llvm-mc ${llvm}`);
  });
  assert.equal(li, lines.length, 'llvm-mc output out of step with the input');
  return bad;
}

test('disassembly of every data-processing-register row matches llvm-mc, which agrees on what is allocated', (t) => {
  const llvmMc = findLlvmMc();
  if (!llvmMc) {
    t.skip(
      oracleMissing('llvm-mc not found; data-processing-register disassembly not checked', 'apt-get install llvm'),
    );
    return;
  }
  const decoder = new Decoder([dpReg]);
  const words = sampleWords(dpReg, decoder, 7 << 25, 5 << 25); // op0 = x101
  const bad = compareWithLlvm(llvmMc, decoder, words);
  assert.deepEqual(bad.slice(0, 20), [], `${bad.length} of ${words.length} words differ`);
});
