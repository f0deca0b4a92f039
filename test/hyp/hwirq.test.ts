// Physical interrupts forwarded to VIRQs (hypervisor-abi.md §2.5, §4.1, §7, §11.1): the root VM's
// hwirq caps, hwirq_bind_virq / hwirq_unbind_virq through hypercalls, and a physical line driven
// by the platform (Hypervisor.platformIrq) seen by a guest through its VIC's virtual GIC.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Hypervisor } from '../../src/hyp/hypervisor.js';
import { NativeVcpu } from '../../src/hyp/vm/native.js';
import { Err } from '../../src/hyp/abi/errors.js';
import { HYPERCALL_BY_NAME } from '../../src/hyp/abi/hypercalls.js';
import { HWIRQ_RIGHT, RIGHT_ACTIVATE, VIC_RIGHT } from '../../src/hyp/abi/rights.js';
import { GuestGic } from './ipc-env.js';
import { equipVcpu } from './vcpu-kit.js';
import type { Vic } from '../../src/hyp/vm/vic.js';
import type { Thread } from '../../src/hyp/vm/thread.js';

const UART = 33; // QEMU virt's PL011 (SPI 1)
const ONES = 0xffff_ffff_ffff_ffffn;
const EMPTY_CAP = 0x1f05n; // a well-formed ID naming an empty slot of the root cspace

function setup() {
  const hv = new Hypervisor();
  const vm = hv.createRootVm();
  const v = new NativeVcpu(hv, vm.thread);
  const C = vm.caps.cspace;
  const P = vm.caps.partition;
  const VIC = vm.caps.vic;
  const hw = (intid: number): bigint => vm.caps.hwirq[intid]!;
  const call = (name: string, ...a: bigint[]): number => v.call(name, ...a).e;
  const ok = (name: string, ...a: bigint[]): bigint[] => {
    const r = v.call(name, ...a);
    assert.equal(r.e, Err.OK, name);
    return r.x;
  };
  const create = (type: string): bigint => ok(`partition_create_${type}`, P, C, 0n)[1]!;
  const copy = (cap: bigint, mask: number): bigint => ok('cspace_copy_cap_from', C, cap, C, BigInt(mask), 0n)[1]!;
  /** The guest's view of the root VIC (level SPIs, group 1, enabled). */
  const gic = new GuestGic(vm.vic.gic!);
  return { hv, vm, v, C, P, VIC, hw, call, ok, create, copy, gic };
}

test('§4.1: hwirqs are made only by the hypervisor — there is no partition_create_hwirq — and the root’s are ACTIVE', () => {
  const { hw, call } = setup();
  assert.equal(HYPERCALL_BY_NAME.has('partition_create_hwirq'), false);
  assert.equal(call('object_activate', hw(UART), 0n), Err.OBJECT_STATE, 'already active');
});

test('§7: a bound SPI hwirq is a level source tied to the line — pending while high, re-fires after EOI while still high, gone when low', () => {
  const { hv, hw, VIC, ok, gic } = setup();
  gic.enable(UART);
  ok('hwirq_bind_virq', hw(UART), VIC, BigInt(UART), 0n);
  assert.ok(!gic.pending(UART));
  hv.platformIrq(UART, true);
  assert.ok(gic.pending(UART) && gic.irq(), 'line high: pending, IRQ to the vCPU');
  assert.equal(gic.ack(), UART);
  gic.eoi(UART);
  assert.ok(gic.pending(UART), 'deactivated while the line is still high: pending again');
  assert.equal(gic.handle(), UART);
  hv.platformIrq(UART, false);
  assert.ok(!gic.pending(UART), 'line low: no longer pending');
  assert.equal(gic.ack(), 1023, 'nothing to take');
  // Line drops while the guest handles it: no re-fire after EOI.
  hv.platformIrq(UART, true);
  assert.equal(gic.ack(), UART);
  hv.platformIrq(UART, false);
  gic.eoi(UART);
  assert.ok(!gic.pending(UART) && !gic.active(UART));
});

test('§7: on an edge-configured vSPI each rising edge of the line is one interrupt; a line held high does not re-fire', () => {
  const { hv, hw, VIC, ok, gic } = setup();
  gic.enable(40, true);
  ok('hwirq_bind_virq', hw(40), VIC, 40n, 0n);
  hv.platformIrq(40, true);
  assert.equal(gic.handle(), 40);
  assert.ok(!gic.pending(40), 'still high, but one edge was one interrupt');
  hv.platformIrq(40, true);
  assert.ok(!gic.pending(40), 'no change of level, no edge');
  hv.platformIrq(40, false);
  hv.platformIrq(40, true);
  assert.equal(gic.handle(), 40, 'a new rising edge');
});

test('§2.5/§7: a line already high at bind time is pending at once; the physical INTID and the VIRQ number are independent', () => {
  const { hv, hw, VIC, ok, gic } = setup();
  gic.enable(90);
  hv.platformIrq(200, true);
  ok('hwirq_bind_virq', hw(200), VIC, 90n, 0n);
  assert.ok(gic.pending(90), 'INTID 200 forwarded as VIRQ 90');
});

test('§2.5: unbind drops the level and stops forwarding; unbinding an unbound hwirq is VIRQ_NOT_BOUND; rebinding works', () => {
  const { hv, hw, VIC, ok, call, gic } = setup();
  gic.enable(UART);
  assert.equal(call('hwirq_unbind_virq', hw(UART), 0n), Err.VIRQ_NOT_BOUND);
  ok('hwirq_bind_virq', hw(UART), VIC, BigInt(UART), 0n);
  hv.platformIrq(UART, true);
  assert.ok(gic.pending(UART));
  ok('hwirq_unbind_virq', hw(UART), 0n);
  assert.ok(!gic.pending(UART), 'the level went with the binding');
  assert.equal(call('hwirq_unbind_virq', hw(UART), 0n), Err.VIRQ_NOT_BOUND);
  hv.platformIrq(UART, false);
  hv.platformIrq(UART, true);
  assert.ok(!gic.pending(UART), 'an unbound line reaches nobody');
  ok('hwirq_bind_virq', hw(UART), VIC, 34n, 0n);
  gic.enable(34);
  assert.ok(gic.pending(34), 'rebound (elsewhere) with the line high: pending at once');
});

test('§7/§2.5: binding rules — virq outside 32..1019 or ≥ 32 + max_virqs ARGUMENT_INVALID, already bound VIRQ_BOUND, VIRQ held by another source BUSY', () => {
  const { hw, VIC, ok, call, create } = setup();
  for (const bad of [0n, 16n, 31n, 1020n, 1023n, 96n, 1019n]) {
    assert.equal(call('hwirq_bind_virq', hw(UART), VIC, bad, 0n), Err.ARGUMENT_INVALID, `virq ${bad}`);
  }
  assert.equal(call('hwirq_bind_virq', hw(UART), VIC, 0x1_0000_0020n, 0n), Err.OK, 'virq is a u32: truncated to 32');
  assert.equal(call('hwirq_bind_virq', hw(UART), VIC, 40n, 0n), Err.VIRQ_BOUND);
  assert.equal(
    call('hwirq_bind_virq', hw(UART), VIC, 31n, 0n),
    Err.ARGUMENT_INVALID,
    'Gunyah checks the SPI range before VIRQ_BOUND',
  );
  const db = create('doorbell');
  ok('object_activate', db, 0n);
  ok('doorbell_bind_virq', db, VIC, 50n, 0n);
  assert.equal(call('hwirq_bind_virq', hw(60), VIC, 50n, 0n), Err.BUSY, 'held by a doorbell');
  assert.equal(call('hwirq_bind_virq', hw(61), VIC, 32n, 0n), Err.BUSY, 'held by hwirq 33');
  assert.equal(call('doorbell_bind_virq', db, VIC, 32n, 0n), Err.VIRQ_BOUND);
  ok('doorbell_unbind_virq', db, 0n);
  assert.equal(call('doorbell_bind_virq', db, VIC, 32n, 0n), Err.BUSY, 'and the hwirq holds 32 against a doorbell');
});

test('§2.5/§13 item 6: hwirq_bind_virq needs bind_vic = 0x2 on an ACTIVE hwirq (looked up first), then bind_source on an ACTIVE VIC', () => {
  const { hw, VIC, ok, call, create, copy } = setup();
  const bindOnly = copy(hw(UART), HWIRQ_RIGHT.bind_vic);
  assert.equal(call('hwirq_bind_virq', bindOnly, VIC, 33n, 0n), Err.OK, 'exactly 0x2 is enough');
  ok('hwirq_unbind_virq', bindOnly, 0n);
  const actOnly = copy(hw(UART), RIGHT_ACTIVATE);
  assert.equal(call('hwirq_bind_virq', actOnly, VIC, 33n, 0n), Err.CSPACE_INSUFFICIENT_RIGHTS);
  assert.equal(call('hwirq_unbind_virq', actOnly, 0n), Err.CSPACE_INSUFFICIENT_RIGHTS);
  assert.equal(
    call('cspace_copy_cap_from', 0n, hw(UART), 0n, 0x1n, 0n),
    Err.CSPACE_INSUFFICIENT_RIGHTS,
    'the doc’s 0x1 is no hwirq right at all',
  );
  const noSource = copy(VIC, VIC_RIGHT.attach_vcpu);
  assert.equal(call('hwirq_bind_virq', hw(UART), noSource, 33n, 0n), Err.CSPACE_INSUFFICIENT_RIGHTS);
  const db = create('doorbell');
  assert.equal(call('hwirq_bind_virq', db, VIC, 33n, 0n), Err.CSPACE_WRONG_OBJECT_TYPE);
  assert.equal(call('hwirq_bind_virq', hw(UART), hw(34), 33n, 0n), Err.CSPACE_WRONG_OBJECT_TYPE);
  assert.equal(call('hwirq_bind_virq', EMPTY_CAP, VIC, 33n, 0n), Err.CSPACE_CAP_NULL);
  assert.equal(call('hwirq_bind_virq', ONES, VIC, 33n, 0n), Err.ARGUMENT_INVALID, 'CAP_INVALID is malformed');
  assert.equal(call('hwirq_bind_virq', db, EMPTY_CAP, 33n, 0n), Err.CSPACE_WRONG_OBJECT_TYPE, 'hwirq first');
  const initVic = create('vic');
  assert.equal(call('hwirq_bind_virq', hw(UART), initVic, 33n, 0n), Err.OBJECT_STATE, 'VIC not active');
  assert.equal(call('hwirq_bind_virq', hw(UART), VIC, 33n, 1n), Err.ARGUMENT_INVALID, 'res0');
  assert.equal(call('hwirq_unbind_virq', hw(UART), 1n), Err.ARGUMENT_INVALID, 'res0');
});

test('§11.1 item 4 (model choice): PPI hwirqs are forward-private — binding one is ARGUMENT_INVALID here, and it is never bound', () => {
  const { hw, VIC, call, vm } = setup();
  for (const ppi of [16, 20, 31]) {
    assert.notEqual(hw(ppi), ONES, `PPI ${ppi} has a cap`);
    assert.equal(call('hwirq_bind_virq', hw(ppi), VIC, 40n, 0n), Err.ARGUMENT_INVALID);
    assert.equal(call('hwirq_unbind_virq', hw(ppi), 0n), Err.VIRQ_NOT_BOUND);
  }
  assert.equal(vm.vic.sourceOf(40), null);
});

test('§4.2: deleting a bound hwirq’s last cap destroys it — the VIRQ is free again and the line reaches nobody', () => {
  const { hv, vm, hw, VIC, ok, C, create, gic } = setup();
  gic.enable(UART);
  const h = vm.hwirqs.get(UART)!;
  ok('hwirq_bind_virq', hw(UART), VIC, BigInt(UART), 0n);
  hv.platformIrq(UART, true);
  ok('cspace_delete_cap_from', C, hw(UART), 0n);
  assert.ok(!hv.live.has(h), 'destroyed');
  assert.ok(!gic.pending(UART), 'its level dropped');
  assert.equal(hv.irqs.hwirqOf(UART), null, 'the INTID is unclaimed');
  hv.platformIrq(UART, false);
  hv.platformIrq(UART, true);
  assert.ok(!gic.pending(UART));
  const db = create('doorbell');
  ok('object_activate', db, 0n);
  ok('doorbell_bind_virq', db, VIC, BigInt(UART), 0n);
});

test('§4.2/§7: destroying the VIC a hwirq is bound to unbinds it; it can then bind to another VIC', () => {
  const { hv, hw, VIC, ok, call, C, create } = setup();
  const vic2 = create('vic');
  ok('vic_configure', vic2, 1n, 32n, 0n, 0n);
  ok('object_activate', vic2, 0n);
  ok('hwirq_bind_virq', hw(UART), vic2, 40n, 0n);
  ok('cspace_delete_cap_from', C, vic2, 0n);
  assert.equal(hv.liveOf('vic').length, 1, 'only the root VIC is left');
  assert.equal(call('hwirq_unbind_virq', hw(UART), 0n), Err.VIRQ_NOT_BOUND);
  ok('hwirq_bind_virq', hw(UART), VIC, 40n, 0n);
});

test('§2.5: a hwirq cap copied to another VM’s cspace works there: its VM binds it to its own VIC and takes the interrupt', () => {
  const { hv, vm, v, hw, ok, create, C, P } = setup();
  // The "HLOS": a cspace, a VIC, an addrspace and a vCPU built by the root, the hwirq cap copied over.
  const cs = create('cspace');
  ok('cspace_configure', cs, 16n, 0n);
  ok('object_activate', cs, 0n);
  const vic = create('vic');
  ok('vic_configure', vic, 1n, 32n, 0n, 0n);
  ok('object_activate', vic, 0n);
  const t = create('thread');
  ok('cspace_attach_thread', cs, t, 0n);
  equipVcpu(v, P, C, t, { vic });
  ok('object_activate', t, 0n);
  const give = (cap: bigint, mask: number) => ok('cspace_copy_cap_from', C, cap, cs, BigInt(mask), 0n)[1]!;
  const myHw = give(hw(UART), HWIRQ_RIGHT.bind_vic);
  const myVic = give(vic, VIC_RIGHT.bind_source);
  const hlos = new NativeVcpu(hv, vm.cspace.lookup<Thread>(t, 'thread', 0, false) as Thread);
  assert.equal(hlos.call('hwirq_bind_virq', myHw, myVic, 33n, 0n).e, Err.OK);
  const g = new GuestGic((vm.cspace.lookup<Vic>(vic, 'vic', 0, false) as Vic).gic!);
  g.enable(33);
  hv.platformIrq(UART, true);
  assert.equal(g.handle(), 33);
});

test('platformIrq: only SPIs of the platform (32..287) have lines; SGIs, PPIs and INTIDs beyond throw', () => {
  const { hv } = setup();
  for (const bad of [0, 15, 16, 31, 288, 1019, 33.5, -1]) {
    assert.throws(() => hv.platformIrq(bad, true), RangeError, `INTID ${bad}`);
  }
  hv.platformIrq(287, true);
  assert.equal(hv.irqs.line(287), true);
});
