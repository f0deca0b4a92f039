// PSCI 1.1 for VCPUs in a vpm_group (hypervisor-abi.md §9.3), from real guest code: HVC #0 and
// SMC #0 calls, SMC32 results zero-extended and SMC64 results sign-extended, CPU_ON starting a
// second vCPU at its entry with X0 = context, AFFINITY_INFO, CPU_OFF and SYSTEM_OFF.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Err } from '../../src/hyp/abi/errors.js';
import { RunState } from '../../src/hyp/vm/thread.js';
import { NativeIrq } from '../../src/hyp/vm/native.js';
import type { Vic } from '../../src/hyp/vm/vic.js';
import { GUEST_IPA, buildVm, ok } from './vm-env.js';

// vCPU 0 (IPA 0x8000_0000), results at IPA base + 0x800..:
//   movz x5,#0x8000,lsl #16
//   movz x0,#0x8400,lsl #16; hvc #0; str x0,[x5,#0x800]            PSCI_VERSION
//   movz x0,#0xc400,lsl #16; movk x0,#3; mov x1,#1; x2 = 0x8000_0100; mov x3,#0x1234; hvc #0
//   str x0,[x5,#0x808]                                              CPU_ON (SMC64) vCPU 1
//   movz x0,#0x8400,lsl #16; movk x0,#3; mov x1,#1; x2 = 0x8000_0100; smc #0
//   str x0,[x5,#0x810]                                              CPU_ON (SMC32) again
//   movz x0,#0xc400,lsl #16; movk x0,#3; mov x1,#0x100; hvc #0; str x0,[x5,#0x830]
//                                                                   CPU_ON (SMC64), bad MPIDR
// 1: ldr x6,[x5,#0x820]; cbz x6,1b                                  wait for vCPU 1
// 2: movz x0,#0x8400,lsl #16; movk x0,#4; mov x1,#1; mov x2,#0; hvc #0; cmp x0,#1; b.ne 2b
//   str x0,[x5,#0x818]                                              AFFINITY_INFO until OFF
//   movz x0,#0x8400,lsl #16; movk x0,#8; hvc #0                     SYSTEM_OFF
//   mov x7,#0xdead; str x7,[x5,#0x838]; b .                         (never reached)
const VCPU0 = [
  0xd2b00005, 0xd2b08000, 0xd4000002, 0xf90400a0, 0xd2b88000, 0xf2800060, 0xd2800021, 0xd2b00002, 0xf2802002,
  0xd2824683, 0xd4000002, 0xf90404a0, 0xd2b08000, 0xf2800060, 0xd2800021, 0xd2b00002, 0xf2802002, 0xd4000003,
  0xf90408a0, 0xd2b88000, 0xf2800060, 0xd2802001, 0xd4000002, 0xf90418a0, 0xf94410a6, 0xb4ffffe6, 0xd2b08000,
  0xf2800080, 0xd2800021, 0xd2800002, 0xd4000002, 0xf100041f, 0x54ffff41, 0xf9040ca0, 0xd2b08000, 0xf2800100,
  0xd4000002, 0xd29bd5a7, 0xf9041ca7, 0x14000000,
];
// vCPU 1 (entry IPA 0x8000_0100):
//   movz x5,#0x8000,lsl #16; mrs x1,mpidr_el1; str x1,[x5,#0x828]; str x0,[x5,#0x820]
//   movz x0,#0x8400,lsl #16; movk x0,#2; hvc #0                     CPU_OFF
//   mov x7,#0xdead; str x7,[x5,#0x840]; b .                         (never reached)
const VCPU1 = [
  0xd2b00005, 0xd53800a1, 0xf90414a1, 0xf90410a0, 0xd2b08000, 0xf2800040, 0xd4000002, 0xd29bd5a7, 0xf90420a7,
  0x14000000,
];

function psciVm(pcpus: number) {
  return buildVm({ vcpus: 2, pcpus, vpm: true, code: { 0: VCPU0, 0x100: VCPU1 } });
}

for (const pcpus of [1, 2]) {
  test(`§9.3 (${pcpus} pCPU): CPU_ON starts vCPU 1 at its entry with X0 = context; SMC32/SMC64 result widths; AFFINITY_INFO; CPU_OFF; SYSTEM_OFF`, () => {
    const { v, sys, threads, objs, peek } = psciVm(pcpus);
    ok(v.call('vcpu_poweron', threads[0]!, GUEST_IPA, 0n, 0n), 'poweron vCPU 0');
    assert.equal(sys.run(50_000_000), 'idle');
    assert.equal(peek(0x800), 0x1_0001n, 'PSCI_VERSION 1.1');
    assert.equal(peek(0x808), 0n, 'CPU_ON (SMC64) SUCCESS');
    assert.equal(peek(0x810), 0xffff_fffcn, 'CPU_ON (SMC32) of an on vCPU: ALREADY_ON, zero-extended');
    assert.equal(
      peek(0x830),
      0xffff_ffff_ffff_fffen,
      'CPU_ON (SMC64) of an unknown MPIDR: INVALID_PARAMETERS, sign-extended',
    );
    assert.equal(peek(0x820), 0x1234n, 'vCPU 1 started with X0 = context');
    assert.equal(peek(0x828), 0x8000_0001n, 'vCPU 1 MPIDR_EL1: U... Aff0 = VIC index 1');
    assert.equal(peek(0x818), 1n, 'AFFINITY_INFO says OFF after CPU_OFF');
    assert.equal(peek(0x838), 0n, 'SYSTEM_OFF does not return');
    assert.equal(peek(0x840), 0n, 'CPU_OFF does not return');
    assert.ok(objs[0]!.poweredOff && objs[1]!.poweredOff, 'both vCPUs are off');
    assert.equal(objs[1]!.runState, RunState.EXITED, 'SYSTEM_OFF killed the other vCPU of the group');
    assert.equal(
      v.call('vcpu_poweron', threads[1]!, GUEST_IPA, 0n, 0n).e,
      Err.FAILURE,
      'an exited vCPU cannot be powered on',
    );
    assert.equal(v.call('vcpu_poweron', threads[0]!, GUEST_IPA, 0n, 0n).e, Err.OK, 'the caller was only forced off');
  });
}

test('§9.3: without a vpm_group every PSCI ID is unknown (-1) and PSCI_FEATURES answers only SMCCC_VERSION', () => {
  const { hv, objs } = buildVm({ vcpus: 1 });
  const x = new BigUint64Array(31);
  const call = (fid: number, a1 = 0n): bigint => {
    x.fill(0n);
    x[0] = BigInt(fid);
    x[1] = a1;
    hv.hvc(objs[0]!, x, 0);
    return x[0]!;
  };
  assert.equal(call(0x8400_0000), 0xffff_ffff_ffff_ffffn, 'PSCI_VERSION');
  assert.equal(call(0xc400_0003, 1n), 0xffff_ffff_ffff_ffffn, 'CPU_ON');
  assert.equal(call(0x8400_000a, 0x8000_0000n), 0n, 'FEATURES(SMCCC_VERSION)');
  assert.equal(call(0x8400_000a, 0x8400_0000n), 0xffff_ffffn, 'FEATURES(PSCI_VERSION) = -1 (32-bit)');
});

test('§9.3: PSCI_FEATURES in a group: 0 for supported IDs, 2 for CPU_SUSPEND, -1 for unimplemented ones; SET_SUSPEND_MODE', () => {
  const { hv, objs } = buildVm({ vcpus: 1, vpm: true });
  const x = new BigUint64Array(31);
  const call = (fid: number, a1 = 0n, a2 = 0n): bigint => {
    x.fill(0n);
    x[0] = BigInt(fid);
    x[1] = a1;
    x[2] = a2;
    hv.hvc(objs[0]!, x, 0);
    return x[0]!;
  };
  const f = (q: number): bigint => call(0x8400_000a, BigInt(q));
  for (const q of [0x8400_0000, 0x8400_0002, 0x8400_0003, 0xc400_0003, 0x8400_0004, 0xc400_0004, 0x8400_0008]) {
    assert.equal(f(q), 0n, `FEATURES(0x${q.toString(16)})`);
  }
  for (const q of [0x8400_0009, 0x8400_000a, 0x8400_000c, 0xc400_000c, 0x8400_000f, 0x8400_0012, 0xc400_0012]) {
    assert.equal(f(q), 0n, `FEATURES(0x${q.toString(16)})`);
  }
  assert.equal(f(0x8400_0001), 2n, 'CPU_SUSPEND: extended StateID');
  assert.equal(f(0xc400_0001), 2n, 'CPU_SUSPEND64');
  for (const q of [
    0x8400_0005, 0x8400_0006, 0x8400_0007, 0x8400_000b, 0x8400_000d, 0x8400_000e, 0x8400_0010, 0xc400_0008,
  ]) {
    assert.equal(f(q), 0xffff_ffffn, `FEATURES(0x${q.toString(16)}) not supported`);
  }
  assert.equal(call(0x8400_0005), 0xffff_ffff_ffff_ffffn, 'MIGRATE is an unknown function');
  assert.equal(call(0x8400_000f, 0n), 0n, 'SET_SUSPEND_MODE(PC)');
  assert.equal(call(0x8400_000f, 1n), 0xffff_fffen, 'SET_SUSPEND_MODE(OSI): INVALID_PARAMETERS');
  assert.equal(call(0x8400_0004, 0n, 0n), 1n, 'AFFINITY_INFO(vCPU 0): OFF (not powered on yet)');
  assert.equal(call(0x8400_0004, 0n, 1n), 0xffff_fffen, 'AFFINITY_INFO level 1: INVALID_PARAMETERS');
  assert.equal(call(0x8400_0004, 5n, 0n), 0xffff_fffen, 'AFFINITY_INFO of an MPIDR no vCPU has: INVALID_PARAMETERS');
});

// CPU_SUSPEND (§9.3), vCPU 0 at IPA 0x8000_0000, results at +0x800:
//   movz x19,#0x8000,lsl #16
//   x0 = 0xC4000001, x1 = 0 (standby); hvc #0; str x0,[x19,#0x800]      woken by a doorbell
//   x0 = 0xC4000001, x1 = 0; hvc #0; str x0,[x19,#0x808]                 wakeup already pending
//   mov x9,#1; str x9,[x19,#0x810]
// 1: ldr x9,[x19,#0x820]; cbz x9,1b                                     until the test says go
//   x0 = 0xC4000001, x1 = 0x10000 (powerdown), x2 = 0x8000_0100, x3 = 0x77; hvc #0
//   mov x9,#0xdead; str x9,[x19,#0x830]; b .                             (never reached)
const SUSPEND = [
  0xd2b00013, 0xd2b88000, 0xf2800020, 0xd2800001, 0xd4000002, 0xf9040260, 0xd2b88000, 0xf2800020, 0xd2800001,
  0xd4000002, 0xf9040660, 0xd2800029, 0xf9040a69, 0xf9441269, 0xb4ffffe9, 0xd2b88000, 0xf2800020, 0xd2a00021,
  0xd2b00002, 0xf2802002, 0xd2800ee3, 0xd4000002, 0xd29bd5a9, 0xf9041a69, 0x14000000,
];
// At 0x8000_0100 (the powerdown resume entry): movz x19,#0x8000,lsl #16; str x0,[x19,#0x818]
//   mrs x9,currentel; str x9,[x19,#0x828]; movz x0,#0x8400,lsl #16; movk x0,#8; hvc #0; b .
const RESUME = [0xd2b00013, 0xf9040e60, 0xd5384249, 0xf9041669, 0xd2b08000, 0xf2800100, 0xd4000002, 0x14000000];

test('§9.3: CPU_SUSPEND standby blocks until an interrupt and returns SUCCESS; with a wakeup pending it returns at once; powerdown resumes at the entry with X0 = context; vpm_group_get_state follows', () => {
  const env = buildVm({ vcpus: 1, vpm: true, code: { 0: SUSPEND, 0x100: RESUME } });
  const { v, sys, threads, objs, peek, vic, vpm, root, mk, dv, base } = env;
  const gic = (root.cspace.lookup<Vic>(vic, 'vic', 0, false) as Vic).gic!;
  const irq = new NativeIrq(gic, 0);
  irq.init();
  irq.enable(41);
  const db = mk('doorbell');
  ok(v.call('object_activate', db, 0n), 'activate doorbell');
  ok(v.call('doorbell_bind_virq', db, vic, 41n, 0n), 'bind doorbell');
  ok(v.call('vcpu_poweron', threads[0]!, GUEST_IPA, 0n, 0n), 'poweron');
  const state = () => v.call('vpm_group_get_state', vpm, 0n).x[1];
  assert.equal(state(), 1n, 'RUNNING after power-on');
  assert.equal(sys.run(10_000_000), 'idle', 'suspended: nothing runs');
  assert.equal(objs[0]!.suspended, true);
  assert.equal(state(), 2n, 'CPUS_SUSPENDED');
  assert.equal(peek(0x800), 0n, 'not returned yet');
  ok(v.call('doorbell_send', db, 1n), 'send');
  assert.equal(sys.run(20_000_000), 'limit', 'woken; now spinning until told to go on');
  assert.equal(state(), 1n, 'RUNNING again');
  assert.equal(peek(0x800), 0n, 'standby CPU_SUSPEND returned SUCCESS');
  assert.equal(peek(0x808), 0n, 'the second returned at once: the doorbell VIRQ was still pending');
  assert.equal(peek(0x810), 1n);
  // receive would not drop the level (§6: only the next EOI re-evaluation does); reset clears it.
  ok(v.call('doorbell_reset', db, 0n), 'reset the doorbell: its VIRQ is cleared');
  dv.setBigUint64(base + 0x820, 1n, true);
  assert.equal(sys.run(30_000_000), 'idle', 'in the powerdown suspend');
  assert.equal(objs[0]!.suspended, true);
  ok(v.call('doorbell_send', db, 1n), 'send again');
  assert.equal(sys.run(40_000_000), 'idle', 'resumed, then SYSTEM_OFF');
  assert.equal(peek(0x818), 0x77n, 'resumed at the entry with X0 = context');
  assert.equal(peek(0x828), 1n << 2n, 'at EL1');
  assert.equal(peek(0x830), 0n, 'the powerdown suspend did not return');
  assert.equal(objs[0]!.poweredOff, true, 'SYSTEM_OFF');
});
