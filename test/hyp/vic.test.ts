// The VIC object and VIRQ delivery (hypervisor-abi.md §2.5, §4.5, §7, §9.1), through hypercalls
// from native vCPUs; VIRQ state is read as a guest reads it, from the VIC's virtual GIC.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Err } from '../../src/hyp/abi/errors.js';
import { VIC_RIGHT, DOORBELL_RIGHT, RIGHT_ACTIVATE } from '../../src/hyp/abi/rights.js';
import { Vic, vicOfVcpu, vicVcpuActivate, vicVcpuDeactivate, vicVcpuRelease } from '../../src/hyp/vm/vic.js';
import type { Thread } from '../../src/hyp/vm/thread.js';
import type { Doorbell } from '../../src/hyp/ipc/doorbell.js';
import { env, GuestGic } from './ipc-env.js';

const GICD_TYPER = 0x0004;
const GICD_IIDR = 0x0008;
const GICR_IIDR = 0x0004;
const GICR_WAKER = 0x0014;
const ALL = 0xffff_ffff_ffff_ffffn;
/** A well-formed cap ID naming an empty slot of the root cspace (table 31, slot 5). */
const EMPTY_CAP = 0x1f05n;

test('vic §9.1: an ACTIVE VIC owns a virtual GICv3 with Gunyah’s IIDR, 988 SPIs (ITLinesNumber 31), max_vcpus CPUs, redistributors awake', () => {
  const e = env();
  const vic = e.vic(4, 100);
  const g = GuestGic.of(e, vic);
  assert.equal(g.dr(GICD_IIDR) >>> 0, 0x4700_0070);
  assert.equal(Number(g.gic.redistributors.read(GICR_IIDR, 4)), 0x4700_0070);
  const typer = g.dr(GICD_TYPER);
  assert.equal(typer & 0x1f, 31, 'ITLinesNumber');
  assert.equal((typer >>> 5) & 7, 3, 'CPUNumber = max_vcpus - 1');
  assert.equal(Number(g.gic.redistributors.read(GICR_WAKER, 4)) & 2, 0, 'ProcessorSleep clear at reset');
  assert.equal(g.gic.cpus, 4);
});

test('vic §4.5: a VIC has no GIC in INIT; an unconfigured VIC activates with 1 vCPU and no bindable VIRQs', () => {
  const e = env();
  const vic = e.create('vic');
  assert.equal(e.obj<Vic>(vic).gic, null);
  e.ok('object_activate', vic, 0n);
  const g = GuestGic.of(e, vic);
  assert.equal((g.dr(GICD_TYPER) >>> 5) & 7, 0);
  const db = e.doorbell();
  assert.equal(e.call('doorbell_bind_virq', db, vic, 32n, 0n).e, Err.ARGUMENT_INVALID);
});

test('vic §9.1: vic_configure accepts 1 ≤ max_vcpus ≤ 8 and max_virqs ≤ 988, else ARGUMENT_INVALID', () => {
  const e = env();
  const vic = e.create('vic');
  const cfg = (n: bigint, v: bigint, opt = 0n, msis = 0n) => e.call('vic_configure', vic, n, v, opt, msis).e;
  assert.equal(cfg(0n, 10n), Err.ARGUMENT_INVALID);
  assert.equal(cfg(9n, 10n), Err.ARGUMENT_INVALID);
  assert.equal(cfg(0x1_0000_0001n, 10n), Err.OK, 'max_vcpus is a u32: 0x1_0000_0001 truncates to 1');
  assert.equal(cfg(8n, 10n), Err.OK);
  assert.equal(cfg(1n, 988n), Err.OK);
  assert.equal(cfg(1n, 989n), Err.ARGUMENT_INVALID);
  assert.equal(cfg(1n, 0n), Err.OK);
});

test('vic §9.1: max_msis must be 0 when options bit0 (max_msis_valid) is set, and is ignored when clear', () => {
  const e = env();
  const vic = e.create('vic');
  assert.equal(e.call('vic_configure', vic, 1n, 32n, 1n, 8192n).e, Err.ARGUMENT_INVALID);
  assert.equal(e.call('vic_configure', vic, 1n, 32n, 3n, 8192n).e, Err.ARGUMENT_INVALID);
  assert.equal(e.call('vic_configure', vic, 1n, 32n, 0n, 8192n).e, Err.OK, 'RM’s retry path: flag clear');
  assert.equal(e.call('vic_configure', vic, 1n, 32n, 3n, 0n).e, Err.OK);
});

test('vic §9.1: option bits 63:2 must be zero; bit1 (disable_default_addr) clear keeps the fixed legacy GIC addresses', () => {
  const e = env();
  const vic = e.create('vic');
  for (const bad of [4n, 1n << 63n, ALL])
    assert.equal(e.call('vic_configure', vic, 1n, 32n, bad, 0n).e, Err.ARGUMENT_INVALID);
  e.ok('vic_configure', vic, 1n, 32n, 2n, 0n);
  assert.equal(e.obj<Vic>(vic).allowFixedAddrs, false);
  e.ok('vic_configure', vic, 1n, 32n, 1n, 0n);
  assert.equal(e.obj<Vic>(vic).allowFixedAddrs, true);
});

test('vic §9.1: options are checked before the state — reserved option bits on an ACTIVE VIC give ARGUMENT_INVALID, valid ones OBJECT_STATE', () => {
  const e = env();
  const vic = e.vic();
  assert.equal(e.call('vic_configure', vic, 1n, 32n, 4n, 0n).e, Err.ARGUMENT_INVALID);
  assert.equal(e.call('vic_configure', vic, 1n, 32n, 0n, 0n).e, Err.OBJECT_STATE);
  assert.equal(e.call('vic_configure', vic, 0n, 32n, 0n, 0n).e, Err.OBJECT_STATE, 'state before the arguments');
});

test('vic §2.5: vic_configure needs the activate right and a VIC (any-object lookup, then the type)', () => {
  const e = env();
  const vic = e.create('vic');
  const noAct = e.copy(vic, VIC_RIGHT.bind_source);
  assert.equal(e.call('vic_configure', noAct, 1n, 32n, 0n, 0n).e, Err.CSPACE_INSUFFICIENT_RIGHTS);
  assert.equal(e.call('vic_configure', e.P, 1n, 32n, 0n, 0n).e, Err.CSPACE_WRONG_OBJECT_TYPE);
  assert.equal(e.call('vic_configure', EMPTY_CAP, 1n, 32n, 0n, 0n).e, Err.CSPACE_CAP_NULL);
});

test('vic §9.1 [code quirk]: vic_configure stores max_vcpus before checking max_virqs, so a failed call still changes it', () => {
  const e = env();
  const vic = e.create('vic');
  assert.equal(e.call('vic_configure', vic, 4n, 989n, 0n, 0n).e, Err.ARGUMENT_INVALID);
  e.ok('object_activate', vic, 0n);
  const g = GuestGic.of(e, vic);
  assert.equal((g.dr(GICD_TYPER) >>> 5) & 7, 3, '4 CPUs from the failed call');
});

test('vic §2.5: vic_attach_vcpu needs an ACTIVE VIC with attach_vcpu, an INIT thread with the activate right, and index < max_vcpus', () => {
  const e = env();
  const vic = e.vic(2);
  const t = e.create('thread');
  assert.equal(e.call('vic_attach_vcpu', vic, t, 2n, 0n).e, Err.ARGUMENT_INVALID);
  assert.equal(e.call('vic_attach_vcpu', vic, t, 0x1_0000_0000n, 0n).e, Err.OK, 'index is a u32');
  assert.equal(e.call('vic_attach_vcpu', vic, t, 1n, 0n).e, Err.OK);
  assert.equal(vicOfVcpu(e.obj<Thread>(t))?.index, 1);
  const weakVic = e.copy(vic, VIC_RIGHT.bind_source);
  assert.equal(e.call('vic_attach_vcpu', weakVic, t, 0n, 0n).e, Err.CSPACE_INSUFFICIENT_RIGHTS);
  const weakT = e.copy(t, 0x1);
  assert.equal(e.call('vic_attach_vcpu', vic, weakT, 0n, 0n).e, Err.CSPACE_INSUFFICIENT_RIGHTS);
  const initVic = e.create('vic');
  assert.equal(e.call('vic_attach_vcpu', initVic, t, 0n, 0n).e, Err.OBJECT_STATE);
  assert.equal(e.call('vic_attach_vcpu', vic, e.C, 0n, 0n).e, Err.CSPACE_WRONG_OBJECT_TYPE);
  // An ACTIVE thread (the root vCPU) cannot be attached.
  assert.equal(e.call('vic_attach_vcpu', vic, e.T, 0n, 0n).e, Err.OBJECT_STATE);
  assert.equal(e.call('vic_attach_vcpu', vic, t, 0n, 1n).e, Err.ARGUMENT_INVALID, 'res0');
});

test('vic §9.1: attaching again moves the thread; the thread holds a reference to its VIC until released', () => {
  const e = env();
  const a = e.vic();
  const b = e.vic();
  const t = e.create('thread');
  const thread = e.obj<Thread>(t);
  const va = e.obj<Vic>(a);
  const vb = e.obj<Vic>(b);
  e.ok('vic_attach_vcpu', a, t, 0n, 0n);
  assert.equal(va.refs, 2, 'cap + thread');
  e.ok('vic_attach_vcpu', b, t, 0n, 0n);
  assert.equal(va.refs, 1);
  assert.equal(vb.refs, 2);
  assert.equal(vicOfVcpu(thread)?.vic, vb);
  e.ok('cspace_delete_cap_from', e.C, b, 0n);
  assert.ok(e.hv.live.has(vb), 'the attached thread keeps the VIC alive');
  vicVcpuRelease(thread);
  assert.ok(!e.hv.live.has(vb));
  assert.equal(vicOfVcpu(thread), null);
});

test('vic §9.1 (thread-activation hook): at vCPU activation the attach index must be unused, else BUSY; deactivation frees it', () => {
  const e = env();
  const vic = e.vic(2);
  const t1 = e.create('thread');
  const t2 = e.create('thread');
  const t3 = e.create('thread');
  e.ok('vic_attach_vcpu', vic, t1, 1n, 0n);
  e.ok('vic_attach_vcpu', vic, t2, 1n, 0n);
  const [th1, th2, th3] = [t1, t2, t3].map((c) => e.obj<Thread>(c));
  const v = e.obj<Vic>(vic);
  assert.equal(vicVcpuActivate(th1!), Err.OK);
  assert.equal(v.vcpuAt(1), th1);
  assert.equal(vicVcpuActivate(th2!), Err.BUSY);
  assert.equal(vicVcpuActivate(th3!), Err.OK, 'a thread with no VIC passes this hook');
  vicVcpuDeactivate(th2!);
  assert.equal(v.vcpuAt(1), th1, 'deactivating the loser does not free the winner’s index');
  vicVcpuDeactivate(th1!);
  assert.equal(v.vcpuAt(1), null);
  assert.equal(vicVcpuActivate(th2!), Err.OK);
});

test('vic §2.5: vic_bind_msi_source always returns CSPACE_WRONG_OBJECT_TYPE after a successful vic lookup', () => {
  const e = env();
  const vic = e.vic();
  const db = e.doorbell();
  assert.equal(e.call('vic_bind_msi_source', vic, db, 0n).e, Err.CSPACE_WRONG_OBJECT_TYPE);
  assert.equal(e.call('vic_bind_msi_source', vic, 40n, 0n).e, Err.CSPACE_WRONG_OBJECT_TYPE);
  assert.equal(e.call('vic_bind_msi_source', EMPTY_CAP, db, 0n).e, Err.CSPACE_CAP_NULL);
  assert.equal(
    e.call('vic_bind_msi_source', e.copy(vic, VIC_RIGHT.attach_vcpu), db, 0n).e,
    Err.CSPACE_INSUFFICIENT_RIGHTS,
  );
  assert.equal(e.call('vic_bind_msi_source', e.create('vic'), db, 0n).e, Err.OBJECT_STATE);
});

test('vic §7: binds are shared VIRQs only — 32 ≤ virq ≤ 1019 and virq - 32 < max_virqs, else ARGUMENT_INVALID', () => {
  const e = env();
  const vic = e.vic(1, 988);
  const small = e.vic(1, 8);
  const db = e.doorbell();
  for (const bad of [0n, 16n, 31n, 1020n, 1023n, 4096n, 0x1_0000_0000n]) {
    assert.equal(e.call('doorbell_bind_virq', db, vic, bad, 0n).e, Err.ARGUMENT_INVALID, `virq ${bad}`);
  }
  assert.equal(e.call('doorbell_bind_virq', db, small, 40n, 0n).e, Err.ARGUMENT_INVALID, 'beyond max_virqs');
  assert.equal(e.call('doorbell_bind_virq', db, small, 39n, 0n).e, Err.OK, 'last bindable VIRQ');
  e.ok('doorbell_unbind_virq', db, 0n);
  assert.equal(e.call('doorbell_bind_virq', db, vic, 1019n, 0n).e, Err.OK);
  e.ok('doorbell_unbind_virq', db, 0n);
  assert.equal(e.call('doorbell_bind_virq', db, vic, 0x1_0000_0020n, 0n).e, Err.OK, 'virq is a u32: truncates to 32');
  assert.equal(e.obj<Vic>(vic).sourceOf(32), e.obj<Doorbell>(db).source);
});

test('vic §7: a bound source cannot bind again (VIRQ_BOUND, checked before the VIRQ number); a VIRQ taken by another source is BUSY', () => {
  const e = env();
  const vic = e.vic();
  const other = e.vic();
  const a = e.doorbell();
  const b = e.doorbell();
  e.ok('doorbell_bind_virq', a, vic, 40n, 0n);
  assert.equal(e.call('doorbell_bind_virq', a, vic, 41n, 0n).e, Err.VIRQ_BOUND);
  assert.equal(e.call('doorbell_bind_virq', a, other, 40n, 0n).e, Err.VIRQ_BOUND);
  assert.equal(e.call('doorbell_bind_virq', a, vic, 5n, 0n).e, Err.VIRQ_BOUND, 'before the range check');
  assert.equal(e.call('doorbell_bind_virq', b, vic, 40n, 0n).e, Err.BUSY);
  assert.equal(e.call('doorbell_bind_virq', b, other, 40n, 0n).e, Err.OK, 'same number on another VIC');
  e.ok('doorbell_unbind_virq', a, 0n);
  e.ok('doorbell_unbind_virq', a, 0n);
  assert.equal(e.call('doorbell_bind_virq', a, vic, 41n, 0n).e, Err.OK, 'rebind after unbind');
});

test('vic §2.3: binding needs the source’s bind right and the VIC’s bind_source right on an ACTIVE VIC', () => {
  const e = env();
  const vic = e.vic();
  const db = e.doorbell();
  assert.equal(
    e.call('doorbell_bind_virq', db, e.copy(vic, VIC_RIGHT.attach_vcpu), 40n, 0n).e,
    Err.CSPACE_INSUFFICIENT_RIGHTS,
  );
  assert.equal(
    e.call('doorbell_bind_virq', e.copy(db, DOORBELL_RIGHT.send), vic, 40n, 0n).e,
    Err.CSPACE_INSUFFICIENT_RIGHTS,
  );
  assert.equal(e.call('doorbell_bind_virq', db, e.create('vic'), 40n, 0n).e, Err.OBJECT_STATE);
  assert.equal(e.call('doorbell_bind_virq', db, db, 40n, 0n).e, Err.CSPACE_WRONG_OBJECT_TYPE);
  assert.equal(e.call('doorbell_bind_virq', db, vic, 40n, 1n).e, Err.ARGUMENT_INVALID, 'res0');
});

test('vic §7: a level assert on a level-configured SPI stays pending through acknowledge and is re-evaluated at EOI', () => {
  const e = env();
  const vic = e.vic();
  const g = GuestGic.of(e, vic);
  g.enable(40);
  const db = e.doorbell();
  e.ok('doorbell_bind_virq', db, vic, 40n, 0n);
  assert.ok(!g.pending(40));
  e.ok('doorbell_send', db, 0b11n, 0n);
  assert.ok(g.pending(40) && g.irq());
  assert.equal(g.ack(), 40);
  assert.ok(g.active(40) && g.pending(40), 'level: active and still pending while the source asserts');
  e.ok('doorbell_receive', db, 0b01n, 0n);
  g.eoi(40);
  assert.ok(g.pending(40) && g.irq(), 'flag 1 is still set: pending again after EOI');
  assert.equal(g.ack(), 40);
  e.ok('doorbell_receive', db, 0b10n, 0n);
  assert.ok(g.pending(40), 'receive itself does not deassert');
  g.eoi(40);
  assert.ok(!g.pending(40) && !g.irq(), 'no enabled flag left: the level drops at EOI');
});

test('vic §7: a level assert on an edge-configured SPI is one edge: consumed by acknowledge, not re-evaluated', () => {
  const e = env();
  const vic = e.vic();
  const g = GuestGic.of(e, vic);
  g.enable(50, true);
  const db = e.doorbell();
  e.ok('doorbell_bind_virq', db, vic, 50n, 0n);
  e.ok('doorbell_send', db, 1n, 0n);
  assert.ok(g.pending(50));
  assert.equal(g.ack(), 50);
  assert.ok(!g.pending(50));
  g.eoi(50);
  assert.ok(!g.pending(50), 'the flag is still set, but an edge does not come back');
  e.ok('doorbell_send', db, 2n, 0n);
  assert.ok(g.pending(50), 'a new send is a new edge');
});

test('vic §7: an edge-only assert is delivered only if the guest configured the SPI edge-triggered (default is level)', () => {
  const e = env();
  const vic = e.vic();
  const g = GuestGic.of(e, vic);
  g.enable(60);
  const db = e.doorbell();
  e.ok('doorbell_bind_virq', db, vic, 60n, 0n);
  e.ok('doorbell_mask', db, 0n, 0n, 0n); // nothing enabled: sends are edge-only asserts
  e.ok('doorbell_send', db, 1n, 0n);
  assert.ok(!g.pending(60), 'level-configured: ignored');
  g.configure(60, true);
  e.ok('doorbell_send', db, 0n, 0n);
  assert.ok(g.pending(60), 'edge-configured: delivered, even for new_flags = 0');
});

test('vic §7: a source that reasserted after the guest acknowledged stays pending at EOI even if its predicate is false', () => {
  const e = env();
  const vic = e.vic();
  const g = GuestGic.of(e, vic);
  g.enable(40);
  const db = e.doorbell();
  e.ok('doorbell_bind_virq', db, vic, 40n, 0n);
  e.ok('doorbell_mask', db, ALL, ALL, 0n); // every flag auto-acknowledged: the predicate is false after each send
  e.ok('doorbell_send', db, 1n, 0n);
  assert.equal(g.ack(), 40);
  e.ok('doorbell_send', db, 1n, 0n); // reasserts while active
  g.eoi(40);
  assert.ok(g.pending(40), 'reasserted: still pending');
  assert.equal(g.ack(), 40);
  g.eoi(40);
  assert.ok(!g.pending(40), 'no reassertion this time: the false predicate drops it');
});

test('vic §7: deactivation by ICC_DIR_EL1 (EOImode 1) and by GICD_ICACTIVER re-evaluates level sources too', () => {
  const e = env();
  const vic = e.vic();
  const g = GuestGic.of(e, vic);
  g.enable(40);
  const db = e.doorbell();
  e.ok('doorbell_bind_virq', db, vic, 40n, 0n);
  g.splitEoi();
  e.ok('doorbell_send', db, 1n, 0n);
  assert.equal(g.ack(), 40);
  e.ok('doorbell_receive', db, 1n, 0n);
  g.eoi(40);
  assert.ok(g.active(40) && g.pending(40), 'EOImode 1: priority drop only, no re-evaluation yet');
  g.dir(40);
  assert.ok(!g.active(40) && !g.pending(40));
  e.ok('doorbell_send', db, 1n, 0n);
  assert.equal(g.ack(), 40);
  e.ok('doorbell_receive', db, 1n, 0n);
  g.clearActive(40);
  assert.ok(!g.pending(40), 'ICACTIVER deactivation dropped the level');
});

test('vic §7: GICD_ICPENDR does not remove a source’s level (as for a device still asserting a level line); ISPENDR adds a pending edge', () => {
  const e = env();
  const vic = e.vic();
  const g = GuestGic.of(e, vic);
  g.enable(40);
  const db = e.doorbell();
  e.ok('doorbell_bind_virq', db, vic, 40n, 0n);
  e.ok('doorbell_send', db, 1n, 0n);
  g.dw(0x0280 + 4, 1 << 8); // GICD_ICPENDR1, INTID 40
  assert.ok(g.pending(40));
  e.ok('doorbell_receive', db, 1n, 0n);
  assert.equal(g.ack(), 40);
  g.eoi(40);
  assert.ok(!g.pending(40));
  g.dw(0x0200 + 4, 1 << 8); // GICD_ISPENDR1
  assert.ok(g.pending(40));
  assert.equal(g.ack(), 40);
  g.eoi(40);
  assert.ok(!g.pending(40), 'a software pend is consumed by the acknowledge');
});

test('vic §7: clear drops the level at once (doorbell_reset), before any acknowledge', () => {
  const e = env();
  const vic = e.vic();
  const g = GuestGic.of(e, vic);
  g.enable(40);
  const db = e.doorbell();
  e.ok('doorbell_bind_virq', db, vic, 40n, 0n);
  e.ok('doorbell_send', db, 1n, 0n);
  assert.ok(g.pending(40));
  e.ok('doorbell_reset', db, 0n);
  assert.ok(!g.pending(40) && !g.irq());
});

test('vic §7: unbinding drops the level; destroying the source unbinds it and frees the VIRQ', () => {
  const e = env();
  const vic = e.vic();
  const g = GuestGic.of(e, vic);
  g.enable(40);
  const db = e.doorbell();
  e.ok('doorbell_bind_virq', db, vic, 40n, 0n);
  e.ok('doorbell_send', db, 1n, 0n);
  e.ok('doorbell_unbind_virq', db, 0n);
  assert.ok(!g.pending(40));
  e.ok('doorbell_bind_virq', db, vic, 40n, 0n);
  e.ok('doorbell_send', db, 2n, 0n);
  assert.ok(g.pending(40));
  e.ok('cspace_delete_cap_from', e.C, db, 0n);
  assert.equal(e.hv.liveOf('doorbell').length, 0);
  assert.ok(!g.pending(40));
  assert.equal(e.obj<Vic>(vic).sourceOf(40), null);
  const db2 = e.doorbell();
  assert.equal(e.call('doorbell_bind_virq', db2, vic, 40n, 0n).e, Err.OK, 'the VIRQ is free again');
});

test('vic §4.2: destroying a VIC detaches every bound source; the sources can bind elsewhere and unbind stays OK', () => {
  const e = env();
  const vic = e.vic();
  const db = e.doorbell();
  const mq = e.msgqueue(2, 16);
  e.ok('doorbell_bind_virq', db, vic, 40n, 0n);
  e.ok('msgqueue_bind_send_virq', mq, vic, 41n, 0n);
  e.ok('msgqueue_bind_receive_virq', mq, vic, 42n, 0n);
  const theVic = e.obj<Vic>(vic);
  e.ok('cspace_delete_cap_from', e.C, vic, 0n);
  assert.ok(!e.hv.live.has(theVic), 'the VIC is destroyed with its last cap');
  e.ok('doorbell_send', db, 1n, 0n);
  e.ok('doorbell_unbind_virq', db, 0n);
  const other = e.vic();
  e.ok('doorbell_bind_virq', db, other, 40n, 0n);
  e.ok('msgqueue_bind_send_virq', mq, other, 41n, 0n);
  e.ok('msgqueue_bind_receive_virq', mq, other, 42n, 0n);
});

test('vic §7: SPIs are routed by GICD_IROUTER to the vCPU of that GICR index', () => {
  const e = env();
  const vic = e.vic(2);
  const g = GuestGic.of(e, vic);
  g.enable(40, false, 1);
  const db = e.doorbell();
  e.ok('doorbell_bind_virq', db, vic, 40n, 0n);
  e.ok('doorbell_send', db, 1n, 0n);
  assert.ok(g.irq(1) && !g.irq(0));
  assert.equal(g.ack(0), 1023);
  assert.equal(g.ack(1), 40);
});

test('vic §4.4: the master cap of a new VIC has rights 0x80000007', () => {
  const e = env();
  const vic = e.create('vic');
  // Every right bit beyond the VIC's is dropped by a copy; the remaining mask shows what the master held.
  const all = e.copy(vic, 0xffff_ffff);
  for (const r of [VIC_RIGHT.bind_source, VIC_RIGHT.attach_vcpu, VIC_RIGHT.attach_vdevice, RIGHT_ACTIVATE]) {
    assert.equal(e.call('cspace_copy_cap_from', e.C, all, e.C, BigInt(r), 0n).e, Err.OK);
  }
  assert.equal(e.call('cspace_copy_cap_from', e.C, all, e.C, 0x8n, 0n).e, Err.CSPACE_INSUFFICIENT_RIGHTS);
});
