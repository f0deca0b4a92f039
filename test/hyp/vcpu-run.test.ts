// Proxy scheduling (hypervisor-abi.md §8.4): vcpu_run runs a proxy-scheduled vCPU in the caller's
// place and reports why it stopped; vcpu_run_check reports without running; the run-wakeup VIRQ
// tells the owner that a waiting vCPU can run again; PSCI SYSTEM_RESET of a non-critical VM shows
// as PSCI_SYSTEM_RESET; the HALT VIRQ fires when the VM stops itself.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Err } from '../../src/hyp/abi/errors.js';
import { NativeIrq } from '../../src/hyp/vm/native.js';
import type { Vic } from '../../src/hyp/vm/vic.js';
import { VCPU_RUN_STATE } from '../../src/hyp/vm/vcpu-run.js';
import { GUEST_IPA, VCPU_OPTION_PROXY, buildVm, ok } from './vm-env.js';

// movz x19,#0x8000,lsl #16; hvc #0x6000 (hypervisor_identify, which zeroes x0..x7);
// str x0,[x19,#0x800]; wfi; mov x1,#1; str x1,[x19,#0x808]
// movz x0,#0x8400,lsl #16; movk x0,#9; hvc #0 (SYSTEM_RESET); b .
const GUEST = [
  0xd2b00013, 0xd40c0002, 0xf9040260, 0xd503207f, 0xd2800021, 0xf9040661, 0xd2b08000, 0xf2800120, 0xd4000002,
  0x14000000,
];

function proxyVm() {
  const env = buildVm({ vcpus: 1, vpm: true, vcpuOptions: VCPU_OPTION_PROXY, code: { 0: GUEST } });
  const run = (resume = 0n) => {
    const r = env.v.call('vcpu_run', env.threads[0]!, resume, 0n, 0n, 0n);
    return { e: r.e, state: Number(r.x[1]!), d: [r.x[2]!, r.x[3]!, r.x[4]!] };
  };
  const check = () => {
    const r = env.v.call('vcpu_run_check', env.threads[0]!, 0n);
    return { e: r.e, state: Number(r.x[1]!), d: [r.x[2]!, r.x[3]!, r.x[4]!] };
  };
  const vicObj = env.root.cspace.lookup<Vic>(env.vic, 'vic', 0, false) as Vic;
  return { ...env, run, check, gic: vicObj.gic! };
}

test('§8.4: a proxy-scheduled vCPU never runs on its own, and vcpu_run reports POWERED_OFF before power-on', () => {
  const { sys, run, check, objs } = proxyVm();
  assert.equal(sys.run(1_000_000), 'idle', 'nothing runs');
  assert.equal(objs[0]!.proxy, true);
  assert.deepEqual(run(), { e: Err.OK, state: VCPU_RUN_STATE.POWERED_OFF, d: [0n, 0n, 0n] });
  assert.deepEqual(check(), { e: Err.OK, state: VCPU_RUN_STATE.POWERED_OFF, d: [0n, 0n, 0n] });
});

test('§8.4: vcpu_run runs the guest until WFI (EXPECTS_WAKEUP, data1 = 1 WFI); a wakeup asserts the run-wakeup VIRQ; the next run continues to SYSTEM_RESET (state 0x100, data0 bit 63)', () => {
  const { v, sys, run, check, threads, vic, gic, peek, mk } = proxyVm();
  ok(v.call('vcpu_poweron', threads[0]!, GUEST_IPA, 0n, 0n), 'poweron');
  assert.equal(sys.run(1_000_000), 'idle', 'powered on, still only vcpu_run runs it');
  assert.equal(peek(0x800), 0n, 'not run yet');
  assert.equal(check().e, Err.BUSY, 'vcpu_run_check of a runnable vCPU is BUSY');
  assert.deepEqual(run(), { e: Err.OK, state: VCPU_RUN_STATE.EXPECTS_WAKEUP, d: [0n, 1n, 0n] });
  assert.equal(peek(0x800), 0x5100000000008001n, 'the guest made its hypercall inside vcpu_run');
  assert.deepEqual(check(), { e: Err.OK, state: VCPU_RUN_STATE.EXPECTS_WAKEUP, d: [0n, 1n, 0n] });
  assert.deepEqual(run(), { e: Err.OK, state: VCPU_RUN_STATE.EXPECTS_WAKEUP, d: [0n, 1n, 0n] }, 'still waiting');

  // Run-wakeup VIRQ 40 (edge, as the RM configures it) and a doorbell on SPI 41 to wake the guest.
  const irq = new NativeIrq(gic, 0);
  irq.init();
  irq.enable(40, true);
  irq.enable(41, false);
  ok(v.call('vcpu_bind_virq', threads[0]!, vic, 40n, 1n, 0n), 'bind run-wakeup');
  const db = mk('doorbell');
  ok(v.call('object_activate', db, 0n), 'activate doorbell');
  ok(v.call('doorbell_bind_virq', db, vic, 41n, 0n), 'bind doorbell');
  assert.equal(gic.isSpiPending(40), false);
  ok(v.call('doorbell_send', db, 1n), 'send');
  assert.equal(gic.isSpiPending(40), true, 'the wakeup asserted the run-wakeup VIRQ');
  assert.equal(check().e, Err.BUSY, 'runnable again');

  assert.deepEqual(run(), { e: Err.OK, state: VCPU_RUN_STATE.PSCI_SYSTEM_RESET, d: [1n << 63n, 0n, 0n] });
  assert.equal(peek(0x808), 1n, 'the guest went on after WFI');
  assert.deepEqual(check(), { e: Err.OK, state: VCPU_RUN_STATE.PSCI_SYSTEM_RESET, d: [1n << 63n, 0n, 0n] });
});

test('§8.4: vcpu_run of a vCPU that is not proxy-scheduled is BUSY; vcpu_bind_virq type 1 makes it proxy-scheduled', () => {
  const env = buildVm({ vcpus: 1, code: { 0: GUEST } });
  const { v, threads, vic, objs } = env;
  assert.equal(v.call('vcpu_run', threads[0]!, 0n, 0n, 0n, 0n).e, Err.BUSY);
  assert.equal(v.call('vcpu_bind_virq', threads[0]!, vic, 40n, 2n, 0n).e, Err.ARGUMENT_INVALID, 'type 2');
  ok(v.call('vcpu_bind_virq', threads[0]!, vic, 40n, 1n, 0n), 'bind run-wakeup');
  assert.equal(objs[0]!.proxy, true);
  assert.equal(v.call('vcpu_bind_virq', threads[0]!, vic, 41n, 1n, 0n).e, Err.VIRQ_BOUND, 'already bound');
  ok(v.call('vcpu_unbind_virq', threads[0]!, 1n, 0n), 'unbind');
  assert.equal(objs[0]!.proxy, true, 'unbinding keeps proxy mode (§13 #16)');
  const r = v.call('vcpu_run', threads[0]!, 0n, 0n, 0n, 0n);
  assert.equal(r.e, Err.OK);
  assert.equal(Number(r.x[1]), VCPU_RUN_STATE.POWERED_OFF);
});

test('§8.4/§9.3: SYSTEM_OFF of a non-critical VM powers the vCPU off and fires its HALT VIRQ; vcpu_run then says POWERED_OFF', () => {
  // movz x0,#0x8400,lsl #16; movk x0,#8; hvc #0; b .
  const env = buildVm({
    vcpus: 1,
    vpm: true,
    vcpuOptions: VCPU_OPTION_PROXY,
    code: { 0: [0xd2b08000, 0xf2800100, 0xd4000002, 0x14000000] },
  });
  const { v, threads, vic, root } = env;
  const gic = (root.cspace.lookup<Vic>(vic, 'vic', 0, false) as Vic).gic!;
  const irq = new NativeIrq(gic, 0);
  irq.init();
  irq.enable(42, true);
  ok(v.call('vcpu_bind_virq', threads[0]!, vic, 42n, 0n, 0n), 'bind halt');
  ok(v.call('vcpu_poweron', threads[0]!, GUEST_IPA, 0n, 0n), 'poweron');
  const r = v.call('vcpu_run', threads[0]!, 0n, 0n, 0n, 0n);
  assert.equal(r.e, Err.OK);
  assert.equal(Number(r.x[1]), VCPU_RUN_STATE.POWERED_OFF);
  assert.equal(r.x[2], 0n, 'not exited: it can be powered on again');
  assert.equal(gic.isSpiPending(42), true, 'HALT VIRQ');
});

test('§2.8: scheduler_yield rejects impl-def and unknown hints, needs yield_to for a directed yield, and yielding to itself is OK', () => {
  const { v, threads, root } = buildVm({ vcpus: 1 });
  assert.equal(v.call('scheduler_yield', 0x8000_0000n, 0n, 0n).e, Err.ARGUMENT_INVALID);
  assert.equal(v.call('scheduler_yield', 2n, 0n, 0n).e, Err.ARGUMENT_INVALID, 'yield_lower is not supported (§13 #15)');
  assert.equal(v.call('scheduler_yield', 0n, 0n, 0n).e, Err.OK);
  assert.equal(v.call('scheduler_yield', 1n, root.caps.vcpu, 0n).e, Err.OK, 'to itself');
  assert.equal(v.call('scheduler_yield', 1n, threads[0]!, 0n).e, Err.OK);
  const copy = v.call('cspace_copy_cap_from', root.caps.cspace, threads[0]!, root.caps.cspace, 0x1n, 0n);
  ok(copy, 'copy with power right only');
  assert.equal(v.call('scheduler_yield', 1n, copy.x[1]!, 0n).e, Err.CSPACE_INSUFFICIENT_RIGHTS);
  assert.equal(v.call('scheduler_yield', 1n, 0x2000n, 0n).e, Err.CSPACE_CAP_NULL, 'an empty slot');
});

test('§8.4/§9.6: a vCPU stuck taking exceptions (no usable vector table) halts as FAULT: vcpu_run reports it, the HALT VIRQ fires, the system goes on', () => {
  // udf #0 with VBAR_EL1 = 0 (unmapped): every exception faults again at the vector.
  const env = buildVm({ vcpus: 1, vpm: true, vcpuOptions: VCPU_OPTION_PROXY, code: { 0: [0x00000000] } });
  const { v, threads, vic, root, sys, objs } = env;
  const gic = (root.cspace.lookup<Vic>(vic, 'vic', 0, false) as Vic).gic!;
  const irq = new NativeIrq(gic, 0);
  irq.init();
  irq.enable(42, true);
  ok(v.call('vcpu_bind_virq', threads[0]!, vic, 42n, 0n, 0n), 'bind halt');
  ok(v.call('vcpu_poweron', threads[0]!, GUEST_IPA, 0n, 0n), 'poweron');
  const r = v.call('vcpu_run', threads[0]!, 0n, 0n, 0n, 0n);
  assert.equal(r.e, Err.OK);
  assert.equal(Number(r.x[1]), VCPU_RUN_STATE.FAULT);
  assert.equal(gic.isSpiPending(42), true, 'HALT VIRQ');
  assert.match(sys.vcpuOf(objs[0]!)!.cpu.faultMessage, /unhandled exception/);
  assert.equal(v.call('vcpu_run_check', threads[0]!, 0n).x[1], BigInt(VCPU_RUN_STATE.FAULT));
  assert.equal(sys.run(1_000_000), 'idle', 'the rest of the system goes on');
});

test("§8.4: vcpu_run moves the vCPU to the caller's physical CPU; a vCPU pinned elsewhere gives DENIED and stays blocked", () => {
  const moving = buildVm({
    vcpus: 1,
    pcpus: 2,
    vcpuOptions: VCPU_OPTION_PROXY,
    affinity: () => 1n,
    code: { 0: GUEST },
  });
  ok(moving.v.call('vcpu_poweron', moving.threads[0]!, GUEST_IPA, 0n, 0n), 'poweron');
  assert.equal(moving.objs[0]!.affinity, 1);
  const r = moving.v.call('vcpu_run', moving.threads[0]!, 0n, 0n, 0n, 0n);
  assert.equal(r.e, Err.OK);
  assert.equal(moving.objs[0]!.affinity, 0, "now on the root vCPU's CPU 0");
  const PINNED = 1n;
  const pinned = buildVm({
    vcpus: 1,
    pcpus: 2,
    vcpuOptions: VCPU_OPTION_PROXY | PINNED,
    affinity: () => 1n,
    code: { 0: GUEST },
  });
  ok(pinned.v.call('vcpu_poweron', pinned.threads[0]!, GUEST_IPA, 0n, 0n), 'poweron');
  assert.equal(pinned.v.call('vcpu_run', pinned.threads[0]!, 0n, 0n, 0n, 0n).e, Err.DENIED);
  assert.equal(pinned.peek(0x800), 0n, 'it did not run');
  assert.equal(pinned.sys.run(1_000_000), 'idle', 'and it does not run on its own either');
  assert.equal(pinned.peek(0x800), 0n);
});

test('§8.4/§9.3: a proxy vCPU in CPU_SUSPEND reports EXPECTS_WAKEUP with its power_state and wakeup-from 2; SYSTEM_RESET2 (SMC64) reports type | bit 62 and the cookie', () => {
  // movz x0,#0xc400,lsl #16; movk x0,#1; mov x1,#5; hvc #0; b .      CPU_SUSPEND64(power_state 5)
  const susp = buildVm({
    vcpus: 1,
    vpm: true,
    vcpuOptions: VCPU_OPTION_PROXY,
    code: { 0: [0xd2b88000, 0xf2800020, 0xd28000a1, 0xd4000002, 0x14000000] },
  });
  ok(susp.v.call('vcpu_poweron', susp.threads[0]!, GUEST_IPA, 0n, 0n), 'poweron');
  const r1 = susp.v.call('vcpu_run', susp.threads[0]!, 0n, 0n, 0n, 0n);
  assert.deepEqual([r1.e, Number(r1.x[1]), r1.x[2], r1.x[3]], [Err.OK, VCPU_RUN_STATE.EXPECTS_WAKEUP, 5n, 2n]);
  // movz x0,#0xc400,lsl #16; movk x0,#0x12; x1 = 0x8000_0001; mov x2,#0x1234; hvc #0; b .
  const reset2 = buildVm({
    vcpus: 1,
    vpm: true,
    vcpuOptions: VCPU_OPTION_PROXY,
    code: { 0: [0xd2b88000, 0xf2800240, 0xd2b00001, 0xf2800021, 0xd2824682, 0xd4000002, 0x14000000] },
  });
  ok(reset2.v.call('vcpu_poweron', reset2.threads[0]!, GUEST_IPA, 0n, 0n), 'poweron');
  const r2 = reset2.v.call('vcpu_run', reset2.threads[0]!, 0n, 0n, 0n, 0n);
  assert.deepEqual(
    [r2.e, Number(r2.x[1]), r2.x[2], r2.x[3]],
    [Err.OK, VCPU_RUN_STATE.PSCI_SYSTEM_RESET, 0x8000_0001n | (1n << 62n), 0x1234n],
  );
});
