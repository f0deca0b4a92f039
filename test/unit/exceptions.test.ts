// Asynchronous exceptions and PSTATE (Arm ARM D1.3, D1.10): IRQ/FIQ/SError masking by DAIF,
// vector offsets by source EL and SP selection, SPSR/ELR contents, and ERET restoring PSTATE.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeCpu, RAM_BASE } from '../helpers/cpu.js';
import { EC } from '../../src/arch/aarch64/esr.js';

const VBAR = RAM_BASE + 0x800;
const NOP = 0xd503201f;
const MSR_DAIFCLR_2 = 0xd50342ff; // msr DAIFClr, #2
const ERET = 0xd69f03e0;

test('Arm ARM D1.10.2: a masked IRQ stays pending; clearing PSTATE.I takes it at VBAR_EL1+0x280 (EL1h) with ELR at the next instruction', () => {
  const { cpu, code } = makeCpu();
  cpu.sys.vbarEl1 = BigInt(VBAR);
  code(RAM_BASE, [NOP, MSR_DAIFCLR_2, NOP, NOP]);
  cpu.setIrq(true);
  cpu.step();
  assert.equal(cpu.pc, RAM_BASE + 4, 'masked: nothing taken');
  cpu.step(); // msr DAIFClr, #2
  cpu.step(); // the IRQ is taken before the next instruction
  assert.equal(cpu.pc, VBAR + 0x280);
  assert.equal(cpu.sys.elrEl1, BigInt(RAM_BASE + 8));
  assert.equal(cpu.sys.spsrEl1 & 0x3cf, 0x345, 'SPSR: D, A, F still set, I clear, EL1h');
  assert.equal(cpu.daif, 0x3c0, 'all masked on entry');
});

test('Arm ARM D1.10.2: an IRQ at EL0 is taken to VBAR_EL1+0x480 whatever PSTATE.I says, and ERET restores EL0 state', () => {
  const { cpu, code } = makeCpu();
  cpu.sys.vbarEl1 = BigInt(VBAR);
  code(VBAR + 0x480, [ERET]);
  code(RAM_BASE, [NOP, NOP]);
  cpu.sys.spsrEl1 = 0x80000000 | 0x80; // EL0t, N set, I set
  cpu.sys.elrEl1 = BigInt(RAM_BASE);
  cpu.x[31] = 0x1000n; // SP_EL1
  cpu.eret();
  cpu.x[31] = 0x2000n; // SP_EL0
  assert.equal(cpu.el, 0);
  cpu.setIrq(true);
  cpu.step();
  assert.equal(cpu.pc, VBAR + 0x480);
  assert.equal(cpu.x[31], 0x1000n, 'SP_EL1 is live at EL1h');
  assert.equal(cpu.sys.spsrEl1 >>> 0, 0x80000080);
  cpu.setIrq(false);
  cpu.step(); // eret
  assert.equal(cpu.el, 0);
  assert.equal(cpu.nf, 1);
  assert.equal(cpu.x[31], 0x2000n, 'SP_EL0 is back');
  assert.equal(cpu.pc, RAM_BASE);
});

test('Arm ARM D1.10.2: FIQ is taken to +0x300 and SError to +0x380 from EL1h, each masked by its own DAIF bit', () => {
  const { cpu, code } = makeCpu();
  cpu.sys.vbarEl1 = BigInt(VBAR);
  code(RAM_BASE, [NOP]);
  cpu.daif = 0x3c0 & ~0x40;
  cpu.setFiq(true);
  cpu.step();
  assert.equal(cpu.pc, VBAR + 0x300);
  const { cpu: c2, code: code2 } = makeCpu();
  c2.sys.vbarEl1 = BigInt(VBAR);
  code2(RAM_BASE, [NOP]);
  c2.serrorPending = true;
  c2.step();
  assert.equal(c2.pc, RAM_BASE + 4, 'PSTATE.A masks SError');
  c2.daif = 0;
  c2.step();
  assert.equal(c2.pc, VBAR + 0x380);
  assert.equal(c2.sys.esrEl1 >>> 26, EC.SERROR);
});

test('Arm ARM D1.10: a synchronous exception at EL1t (SPSel=0) uses the +0x000 vectors and SP_EL1', () => {
  const { cpu, code } = makeCpu();
  cpu.sys.vbarEl1 = BigInt(VBAR);
  code(RAM_BASE, [0xd50040bf, 0xd4000001]); // msr SPSel, #0; svc #0
  cpu.x[31] = 0x5000n;
  cpu.step();
  assert.equal(cpu.spsel, 0);
  cpu.x[31] = 0x6000n; // SP_EL0 is live now
  cpu.step();
  assert.equal(cpu.pc, VBAR + 0x000);
  assert.equal(cpu.x[31], 0x5000n);
  assert.equal(cpu.sys.spsrEl1 & 0xf, 0x4, 'EL1t');
});

test('Arm ARM D1.10.1: BRK reports its comment and ELR points at the BRK itself; a misaligned PC takes a PC alignment fault', () => {
  const { cpu, code } = makeCpu();
  cpu.sys.vbarEl1 = BigInt(VBAR);
  code(RAM_BASE, [0xd4200020]); // brk #0x1
  cpu.step();
  assert.equal(cpu.sys.esrEl1, ((EC.BRK64 << 26) | (1 << 25) | 1) >>> 0);
  assert.equal(cpu.sys.elrEl1, BigInt(RAM_BASE));
  cpu.pc = RAM_BASE + 2;
  cpu.step();
  assert.equal(cpu.sys.esrEl1 >>> 26, EC.PC_ALIGN);
  assert.equal(cpu.sys.farEl1, BigInt(RAM_BASE + 2));
});

test('Arm ARM D1.8.2: with SCTLR_EL1.SA set, a load based on a misaligned SP takes an SP alignment fault (EC 0x26); an aligned SP with an odd offset does not', () => {
  const { cpu, code, ram } = makeCpu();
  cpu.sys.vbarEl1 = BigInt(VBAR);
  code(RAM_BASE, [0xf94003e0, 0xf94007e0]); // ldr x0, [sp]; ldr x0, [sp, #8]
  new DataView(ram.buffer).setBigUint64(0x2008, 0x1122n, true);
  cpu.x[31] = BigInt(RAM_BASE + 0x2008);
  cpu.step();
  assert.equal(cpu.x[0], 0x1122n, 'SA clear: no check');
  cpu.sys.sctlrEl1 |= 0x8n;
  cpu.updateSpAlignCheck();
  cpu.pc = RAM_BASE;
  cpu.step();
  assert.equal(cpu.sys.esrEl1 >>> 26, EC.SP_ALIGN);
  assert.equal(cpu.sys.elrEl1, BigInt(RAM_BASE));
  const { cpu: c2, code: code2, ram: ram2 } = makeCpu();
  code2(RAM_BASE + 4, [0xf94007e0]);
  new DataView(ram2.buffer).setBigUint64(0x2008, 0x3344n, true);
  c2.sys.sctlrEl1 |= 0x8n;
  c2.updateSpAlignCheck();
  c2.x[31] = BigInt(RAM_BASE + 0x2000);
  c2.pc = RAM_BASE + 4;
  c2.step();
  assert.equal(c2.x[0], 0x3344n);
});
