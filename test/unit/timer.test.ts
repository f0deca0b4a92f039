// The generic timer (Arm ARM D11) fed by the virtual clock: 1 instruction = 1 ns, 62.5 MHz counter.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeCpu, RAM_BASE } from '../helpers/cpu.js';
import { Stop } from '../../src/arch/aarch64/cpu.js';

const MRS_X0_CNTVCT = 0xd53be040;
const MRS_X1_CNTFRQ = 0xd53be001;
const MSR_CNTV_TVAL_X2 = 0xd51be302;
const MSR_CNTV_CTL_X3 = 0xd51be323;
const MRS_X4_CNTV_CTL = 0xd53be324;
const NOP = 0xd503201f;
const WFI = 0xd503207f;

test('Arm ARM D11.1: CNTFRQ_EL0 reads 62.5 MHz and CNTVCT_EL0 advances one tick per 16 retired instructions', () => {
  const { cpu, code } = makeCpu();
  code(RAM_BASE, [MRS_X1_CNTFRQ, ...Array<number>(318).fill(NOP), MRS_X0_CNTVCT]);
  cpu.run(320);
  assert.equal(cpu.x[1], 62_500_000n);
  assert.equal(cpu.x[0], BigInt(Math.floor(319 / 16)));
});

test('Arm ARM D11.2.4: the virtual timer fires when CNTVCT reaches CVAL (set through TVAL); ISTATUS is set and the output line rises', () => {
  const { cpu, code } = makeCpu();
  const levels: boolean[] = [];
  cpu.onTimer = (which, level) => {
    if (which === 'virt') levels.push(level);
  };
  code(RAM_BASE, [MSR_CNTV_TVAL_X2, MSR_CNTV_CTL_X3, ...Array<number>(200).fill(NOP), MRS_X4_CNTV_CTL]);
  cpu.x[2] = 10n; // 10 ticks = 160 instructions from now
  cpu.x[3] = 1n; // ENABLE, not masked
  cpu.run(100);
  assert.deepEqual(levels, []);
  assert.equal(cpu.sys.cntvCtl & 4, 0);
  cpu.run(203);
  assert.deepEqual(levels, [true]);
  assert.equal(cpu.x[4], 5n, 'ENABLE | ISTATUS');
});

test('Arm ARM D11.2.4: IMASK keeps the output line low while ISTATUS still reports the condition', () => {
  const { cpu, code } = makeCpu();
  const levels: boolean[] = [];
  cpu.onTimer = (_w, level) => levels.push(level);
  code(RAM_BASE, [MSR_CNTV_TVAL_X2, MSR_CNTV_CTL_X3, ...Array<number>(40).fill(NOP)]);
  cpu.x[2] = 1n;
  cpu.x[3] = 3n; // ENABLE | IMASK
  cpu.run(40);
  assert.deepEqual(levels, []);
  assert.equal(cpu.sys.cntvCtl, 7);
});

test('WFI returns Stop.Wfi and nextTimerEvent names the instant the armed timer fires (for idle skipping)', () => {
  const { cpu, code } = makeCpu();
  code(RAM_BASE, [MSR_CNTV_TVAL_X2, MSR_CNTV_CTL_X3, WFI]);
  cpu.x[2] = 1000n;
  cpu.x[3] = 1n;
  assert.equal(cpu.run(1000), Stop.Wfi);
  assert.equal(cpu.nextTimerEvent(), 1000 * 16);
});
