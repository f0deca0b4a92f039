// Emulated vCPUs reach the same dispatcher through the CPU's EL2 trap interface: real AArch64
// `hvc`/`smc` instructions (hypervisor-abi.md §1.1–1.3).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeCpu, RAM_BASE } from '../helpers/cpu.js';
import { Hypervisor } from '../../src/hyp/hypervisor.js';
import { VcpuEl2 } from '../../src/hyp/vm/vcpu-el2.js';
import { Stop } from '../../src/arch/aarch64/cpu.js';

const HVC_IDENTIFY = 0xd40c0002; // hvc #0x6000
const HVC_0 = 0xd4000002; // hvc #0
const SMC_0 = 0xd4000003; // smc #0
const HVC_HOLE = 0xd40c02c2; // hvc #0x6016
const WFI = 0xd503207f;

function setup() {
  const t = makeCpu();
  const hv = new Hypervisor();
  const vm = hv.createRootVm();
  t.cpu.el2 = new VcpuEl2(hv, vm.thread);
  return { ...t, hv };
}

test('§1.1/§9.5: `hvc #0x6000` from EL1 returns the identify values in x0..x3, zeroes x4..x7 and x10..x17, keeps x8 and x18', () => {
  const { cpu, code } = setup();
  code(RAM_BASE, [HVC_IDENTIFY]);
  for (let k = 0; k < 31; k++) cpu.x[k] = BigInt(k + 100);
  cpu.step();
  assert.equal(cpu.pc, RAM_BASE + 4);
  assert.deepEqual([...cpu.x.subarray(0, 8)], [0x5100000000008001n, 0x10000effn, 0n, 0n, 0n, 0n, 0n, 0n]);
  assert.equal(cpu.x[8], 108n);
  for (let k = 10; k < 18; k++) assert.equal(cpu.x[k], 0n);
  assert.equal(cpu.x[18], 118n);
  assert.equal(cpu.el, 1);
});

test('§1.2: the SMCCC form through `hvc #0` and `smc #0` reaches the same call; SMC resumes after the SMC', () => {
  const { cpu, code } = setup();
  code(RAM_BASE, [HVC_0, SMC_0]);
  cpu.x[0] = 0xc6008000n;
  cpu.x[5] = 55n;
  cpu.step();
  assert.equal(cpu.x[0], 0x5100000000008001n);
  assert.equal(cpu.x[5], 55n);
  cpu.x[0] = 0x80000000n;
  cpu.step();
  assert.equal(cpu.x[0], 0x10003n);
  assert.equal(cpu.pc, RAM_BASE + 8);
});

test('§1.1: a hole (`hvc #0x6016`) gives all-ones in x0; the guest keeps running at EL1', () => {
  const { cpu, code } = setup();
  code(RAM_BASE, [HVC_HOLE]);
  cpu.step();
  assert.equal(cpu.x[0], 0xffff_ffff_ffff_ffffn);
  assert.equal(cpu.pc, RAM_BASE + 4);
});

test('§8.1: WFI is trapped to the hypervisor; with nothing pending the vCPU stops running and the PC is past the WFI', () => {
  const { cpu, code } = setup();
  code(RAM_BASE, [WFI]);
  assert.equal(cpu.run(100), Stop.Wfi);
  assert.equal(cpu.pc, RAM_BASE + 4);
});

test('§1.1: a loop of 1000 hypercalls retires exactly the instructions it executes', () => {
  const { cpu, code, hv } = setup();
  code(RAM_BASE, [HVC_IDENTIFY, 0xf1000673 /* subs x19, x19, #1 */, 0x54ffffc1 /* b.ne #-8 */, WFI]);
  cpu.x[19] = 1000n;
  cpu.run(10_000);
  assert.equal(cpu.icount, 3000 + 1);
  assert.equal(hv.dispatcher.counts[0], 1000);
});
