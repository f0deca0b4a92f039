import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeCpu, RAM_BASE } from '../helpers/cpu.js';
import { EC } from '../../src/arch/aarch64/esr.js';

// Encodings below were produced by llvm-mc (-triple=aarch64 -show-encoding).

test('A64 C6.2.26 BL: writes the return address to X30 and branches PC-relative', () => {
  const { cpu, code } = makeCpu();
  code(RAM_BASE, [0x94000004]); // bl #16
  cpu.step();
  assert.equal(cpu.pc, RAM_BASE + 16);
  assert.equal(cpu.x[30], BigInt(RAM_BASE + 4));
});

test('A64 C6.2.42 CBZ: a 64-bit zero test looks at both halves of the register', () => {
  const { cpu, code } = makeCpu();
  code(RAM_BASE, [0xb4000083]); // cbz x3, #16
  cpu.x[3] = 1n << 40n;
  cpu.step();
  assert.equal(cpu.pc, RAM_BASE + 4);
});

test('A64 C6.2.363 TBNZ: tests bit 40 of X5 and branches backwards', () => {
  const { cpu, code } = makeCpu();
  code(RAM_BASE + 8, [0xb747ffc5]); // tbnz x5, #40, #-8
  cpu.pc = RAM_BASE + 8;
  cpu.x[5] = 1n << 40n;
  cpu.step();
  assert.equal(cpu.pc, RAM_BASE);
});

test('Arm ARM D1.10: an unallocated encoding takes an Undefined Instruction exception to VBAR_EL1+0x200', () => {
  const { cpu, code } = makeCpu();
  cpu.sys.vbarEl1 = BigInt(RAM_BASE + 0x800);
  code(RAM_BASE, [0x00000000]); // udf #0
  cpu.step();
  assert.equal(cpu.pc, RAM_BASE + 0x800 + 0x200);
  assert.equal(cpu.sys.esrEl1 >>> 26, EC.UNKNOWN);
  assert.equal(cpu.sys.elrEl1, BigInt(RAM_BASE));
  assert.equal(cpu.sys.spsrEl1 & 0xf, 0x5); // EL1h
});

test('Arm ARM D1.10: SVC from EL0 enters EL1 at +0x400 with ELR at the next instruction and ERET returns', () => {
  const { cpu, code } = makeCpu();
  cpu.sys.vbarEl1 = BigInt(RAM_BASE + 0x800);
  code(RAM_BASE + 0x800 + 0x400, [0xd69f03e0]); // eret
  code(RAM_BASE, [0xd4000021]); // svc #1
  cpu.sys.spsrEl1 = 0; // EL0t
  cpu.sys.elrEl1 = BigInt(RAM_BASE);
  cpu.eret();
  assert.equal(cpu.el, 0);
  cpu.step();
  assert.equal(cpu.el, 1);
  assert.equal(cpu.pc, RAM_BASE + 0xc00);
  assert.equal(cpu.sys.esrEl1, ((EC.SVC64 << 26) | (1 << 25) | 1) >>> 0);
  assert.equal(cpu.sys.elrEl1, BigInt(RAM_BASE + 4));
  cpu.step();
  assert.equal(cpu.el, 0);
  assert.equal(cpu.pc, RAM_BASE + 4);
});
