// Virtio-MMIO objects through hypercalls (hypervisor-abi.md §2.11, §4.4, §4.5, §7): creation,
// configuration and activation checks, rights, states, the two VIRQ bindings, and the backend's
// calls. The register page is read as the backend reads it, through its own mapping; VIRQ state
// as the VM's guest reads it, from its vGIC. Frontend (guest code) behaviour is in
// virtio-guest.test.ts, virtio-input in virtio-input.test.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Err } from '../../src/hyp/abi/errors.js';
import { VIRTIO_MMIO_RIGHT as VIO, MEMEXTENT_RIGHT as ME, RIGHT_ACTIVATE as ACT } from '../../src/hyp/abi/rights.js';
import { ME_RW, REG_PA, VALID_TYPE, INPUT, rootIrq, virtioVm, vmIrq } from './virtio-env.js';

const ONES = 0xffff_ffff_ffff_ffffn;
const STATUS = 0x070;
const INTERRUPT_STATUS = 0x060;

/** A second register-page extent (one page after the first), activated. */
function extent(e: ReturnType<typeof virtioVm>, pa = REG_PA + 0x1000, size = 0x1000n, attrs = ME_RW): bigint {
  const me = e.mk('memextent');
  e.must('memextent_configure', me, BigInt(pa), size, attrs, 0n);
  e.must('object_activate', me, 0n);
  return me;
}

/** A copy of root cap `cap` with `rights`. */
function copy(e: ReturnType<typeof virtioVm>, cap: bigint, rights: number): bigint {
  return e.must('cspace_copy_cap_from', e.C, cap, e.C, BigInt(rights), 0n)[1]!;
}

/** Every call after creation that needs an ACTIVE device, with valid arguments for input 0 = `vio`. */
const ACTIVE_CALLS: [name: string, args: (e: ReturnType<typeof virtioVm>, vio: bigint) => bigint[], right: number][] = [
  ['virtio_mmio_backend_bind_virq', (e, vio) => [vio, e.vic, 40n, 0n], VIO.bind_backend_virq],
  ['virtio_mmio_backend_unbind_virq', (_e, vio) => [vio, 0n], VIO.bind_backend_virq],
  ['virtio_mmio_frontend_bind_virq', (e, vio) => [vio, e.root.caps.vic, 40n, 0n], VIO.bind_frontend_virq],
  ['virtio_mmio_frontend_unbind_virq', (_e, vio) => [vio, 0n], VIO.bind_frontend_virq],
  ['virtio_mmio_backend_assert_virq', (_e, vio) => [vio, 1n, 0n], VIO.assert_virq],
  ['virtio_mmio_backend_set_dev_features', (_e, vio) => [vio, 0n, 1n, 0n], VIO.config],
  ['virtio_mmio_backend_set_queue_num_max', (_e, vio) => [vio, 0n, 8n, 0n], VIO.config],
  ['virtio_mmio_backend_get_drv_features', (_e, vio) => [vio, 0n, 0n], VIO.config],
  ['virtio_mmio_backend_get_queue_info', (_e, vio) => [vio, 0n, 0n], VIO.config],
  ['virtio_mmio_backend_get_notification', (_e, vio) => [vio, 0n], VIO.config],
  ['virtio_mmio_backend_acknowledge_reset', (_e, vio) => [vio, 0n], VIO.config],
  ['virtio_mmio_backend_update_status', (_e, vio) => [vio, 1n, 0n], VIO.config],
  ['virtio_input_configure', (_e, vio) => [vio, 0n, 0n, 0n, 0n, 0n], VIO.config],
  ['virtio_input_set_data', (e, vio) => [vio, 1n, 0n, 4n, BigInt(e.root.env.heapIpa), 0n], VIO.config],
];

test('§2.11/§4.4: partition_create_virtio_mmio (0x48) makes an INIT object whose master cap holds 0x8000000F', () => {
  const e = virtioVm();
  const vio = e.mk('virtio_mmio');
  const cap = [...e.root.cspace.entries()].find(([id]) => id === vio)![1];
  assert.equal(cap.rights >>> 0, 0x8000_000f);
  assert.equal(cap.obj!.type, 'virtio_mmio');
  // INIT: the backend calls need an ACTIVE device.
  assert.equal(e.call('virtio_mmio_backend_get_notification', vio, 0n).e, Err.OBJECT_STATE);
  assert.equal(e.call('partition_create_virtio_mmio', e.C, e.C, 0n).e, Err.CSPACE_WRONG_OBJECT_TYPE);
});

test('§2.11: virtio_mmio_configure looks up the extent first (attach right 0x4, ACTIVE), then the device (activate right, any state, its type checked after the rights)', () => {
  const e = virtioVm();
  const me = extent(e);
  const vio = e.mk('virtio_mmio');
  const db = e.mk('doorbell');
  const cfg = (v: bigint, m: bigint) => e.call('virtio_mmio_configure', v, m, 1n, 0n, 0n).e;
  const meNoAttach = copy(e, me, ME.map | ME.derive | ME.lookup | ME.donate | ACT);
  assert.equal(cfg(db, meNoAttach), Err.CSPACE_INSUFFICIENT_RIGHTS, 'the extent is looked up before the device');
  const meInit = e.mk('memextent');
  e.must('memextent_configure', meInit, BigInt(REG_PA + 0x2000), 0x1000n, ME_RW, 0n);
  assert.equal(cfg(vio, meInit), Err.OBJECT_STATE, 'the extent must be ACTIVE');
  assert.equal(cfg(vio, db), Err.CSPACE_WRONG_OBJECT_TYPE, 'the extent argument must be a memextent');
  assert.equal(cfg(db, me), Err.CSPACE_WRONG_OBJECT_TYPE, 'the device argument must be a virtio_mmio');
  const dbNoAct = copy(e, db, 0x7);
  assert.equal(cfg(dbNoAct, me), Err.CSPACE_INSUFFICIENT_RIGHTS, '"any object" lookup: rights before type');
  const vioNoAct = copy(e, vio, 0xf);
  assert.equal(cfg(vioNoAct, me), Err.CSPACE_INSUFFICIENT_RIGHTS, 'configure needs the activate right');
  assert.equal(cfg(copy(e, vio, ACT), copy(e, me, ME.attach)), Err.OK, 'activate + attach suffice');
  assert.equal(cfg(e.vio, me), Err.OBJECT_STATE, 'an ACTIVE device cannot be configured');
});

test('§2.11: the register page must be one BASIC 4 KiB extent and vqs_num ≤ 16 (a u32), else ARGUMENT_INVALID', () => {
  const e = virtioVm();
  const vio = e.mk('virtio_mmio');
  const cfg = (m: bigint, vqs: bigint) => e.call('virtio_mmio_configure', vio, m, vqs, 0n, 0n).e;
  assert.equal(cfg(extent(e, REG_PA + 0x2000, 0x2000n), 1n), Err.ARGUMENT_INVALID, '8 KiB extent');
  const sparse = extent(e, REG_PA + 0x4000, 0x1000n, ME_RW | (1n << 16n));
  assert.equal(cfg(sparse, 1n), Err.ARGUMENT_INVALID, 'SPARSE extent');
  const page = extent(e, REG_PA + 0x5000);
  assert.equal(cfg(page, 17n), Err.ARGUMENT_INVALID, '17 queues');
  assert.equal(cfg(page, 16n), Err.OK);
  assert.equal(cfg(page, 0x1_0000_0010n), Err.OK, 'vqs_num 0x1_0000_0010 truncates to 16');
  assert.equal(cfg(page, 0n), Err.OK, 'no queues at all');
});

test('§2.11: flags bit 6 (valid_device_type) needs a device type the hypervisor emulates (only virtio-input, 18); without it x4 is ignored, as are flag bits 5:0 and 63:7', () => {
  const e = virtioVm();
  const vio = e.mk('virtio_mmio');
  const me = extent(e);
  const cfg = (flags: bigint, type: bigint) => e.call('virtio_mmio_configure', vio, me, 1n, flags, type).e;
  assert.equal(cfg(VALID_TYPE, 2n), Err.ARGUMENT_INVALID, 'virtio-blk is not emulated here');
  assert.equal(cfg(VALID_TYPE, 0n), Err.ARGUMENT_INVALID, 'INVALID (0) is not a valid type');
  assert.equal(cfg(VALID_TYPE, INPUT), Err.OK);
  assert.equal(cfg(0x3fn | (1n << 63n), 2n), Err.OK, 'type ignored without bit 6');
  e.must('object_activate', vio, 0n);
  assert.equal(
    e.call('virtio_input_configure', vio, 0n, 0n, 0n, 0n, 0n).e,
    Err.OBJECT_CONFIG,
    'the last configure (without bit 6) made a device of no emulated type',
  );
});

test('§4.5: activating a device never configured fails OBJECT_CONFIG and leaves it FAILED', () => {
  const e = virtioVm();
  const vio = e.mk('virtio_mmio');
  assert.equal(e.call('object_activate', vio, 0n).e, Err.OBJECT_CONFIG);
  assert.equal(e.call('object_activate', vio, 0n).e, Err.OBJECT_STATE);
  assert.equal(e.call('virtio_mmio_configure', vio, extent(e), 1n, 0n, 0n).e, Err.OBJECT_STATE);
});

test('§4.5: activation attaches the page to the hypervisor — the extent must allow RW (DENIED), have no derived child and no other attachment (BUSY), and carry no other vdevice (BUSY)', () => {
  const e = virtioVm();
  const activate = (me: bigint) => {
    const vio = e.mk('virtio_mmio');
    e.must('virtio_mmio_configure', vio, me, 1n, 0n, 0n);
    return e.call('object_activate', vio, 0n).e;
  };
  assert.equal(activate(extent(e, REG_PA + 0x1000, 0x1000n, 4n)), Err.DENIED, 'read-only extent');
  const parent = extent(e, REG_PA + 0x2000);
  const child = e.mk('memextent');
  e.must('memextent_configure_derive', child, parent, 0n, 0x1000n, ME_RW, 0n);
  e.must('object_activate', child, 0n);
  assert.equal(activate(parent), Err.BUSY, 'extent with a derived child');
  assert.equal(activate(e.me), Err.BUSY, 'the page of an active device already');
  // An addrspace's info area is another hypervisor attachment.
  const info = extent(e, REG_PA + 0x3000);
  const as = e.mk('addrspace');
  e.must('addrspace_configure', as, 20n, 0n);
  e.must('addrspace_configure_info_area', as, info, 0x9000_0000n, 0n);
  e.must('object_activate', as, 0n);
  assert.equal(activate(info), Err.BUSY, 'an active info area');
  assert.equal(activate(extent(e, REG_PA + 0x4000)), Err.OK);
});

test('§4.5 [infer]: a register page outside RAM (an extent derived from the device window) cannot hold the registers: ADDR_INVALID', () => {
  const e = virtioVm();
  const dev = e.mk('memextent');
  // DEVICE memtype (bits 9:8 = 1), RW, at PA 0x0A00_0000 of the root's device extent.
  e.must('memextent_configure_derive', dev, e.root.caps.deviceMemextent!, 0x0a00_0000n, 0x1000n, ME_RW | 0x100n, 0n);
  e.must('object_activate', dev, 0n);
  const vio = e.mk('virtio_mmio');
  e.must('virtio_mmio_configure', vio, dev, 1n, 0n, 0n);
  assert.equal(e.call('object_activate', vio, 0n).e, Err.ADDR_INVALID);
});

test('§4.5/§10.3: while a device holds the page, the extent cannot be derived from (BUSY); destroying the device releases it for derivation and for another device', () => {
  const e = virtioVm();
  const child = e.mk('memextent');
  e.must('memextent_configure_derive', child, e.me, 0n, 0x1000n, ME_RW, 0n);
  assert.equal(e.call('object_activate', child, 0n).e, Err.BUSY);
  e.must('cspace_delete_cap_from', e.C, e.vio, 0n);
  const child2 = e.mk('memextent');
  e.must('memextent_configure_derive', child2, e.me, 0n, 0x1000n, ME_RW, 0n);
  e.must('object_activate', child2, 0n);
  e.must('cspace_delete_cap_from', e.C, child2, 0n);
  const vio = e.mk('virtio_mmio');
  e.must('virtio_mmio_configure', vio, e.me, 1n, 0n, 0n);
  assert.equal(e.call('object_activate', vio, 0n).e, Err.OK);
});

test('§2.11: every backend and binding call needs an ACTIVE device (OBJECT_STATE), its own right (CSPACE_INSUFFICIENT_RIGHTS) and a virtio_mmio cap (CSPACE_WRONG_OBJECT_TYPE)', () => {
  const e = virtioVm({ flags: VALID_TYPE, type: INPUT });
  const init = e.mk('virtio_mmio');
  e.must('virtio_mmio_configure', init, extent(e), 2n, VALID_TYPE, INPUT);
  const db = e.mk('doorbell');
  e.must('object_activate', db, 0n);
  for (const [name, args, right] of ACTIVE_CALLS) {
    assert.equal(e.call(name, ...args(e, init)).e, Err.OBJECT_STATE, `${name} on an INIT device`);
    assert.equal(e.call(name, ...args(e, db)).e, Err.CSPACE_WRONG_OBJECT_TYPE, `${name} on a doorbell`);
    const without = copy(e, e.vio, 0x8000_000f & ~right);
    assert.equal(
      e.call(name, ...args(e, without)).e,
      Err.CSPACE_INSUFFICIENT_RIGHTS,
      `${name} without 0x${right.toString(16)}`,
    );
    const only = copy(e, e.vio, right);
    assert.equal(e.call(name, ...args(e, only)).e, Err.OK, `${name} with only 0x${right.toString(16)}`);
  }
});

test('§1.1: reserved arguments of the virtio calls must be zero (ARGUMENT_INVALID, before the cap lookup)', () => {
  const e = virtioVm();
  assert.equal(e.call('virtio_mmio_backend_assert_virq', e.vio, 1n, 1n).e, Err.ARGUMENT_INVALID);
  assert.equal(e.call('virtio_mmio_backend_get_notification', ONES, 1n).e, Err.ARGUMENT_INVALID);
  assert.equal(e.call('virtio_input_set_data', e.vio, 1n, 0n, 4n, 0n, 5n).e, Err.ARGUMENT_INVALID);
  assert.equal(e.reg(INTERRUPT_STATUS), 0, 'nothing happened');
});

test('§2.11/§7: backend and frontend binds take a VIC with bind_source, a free SPI within max_virqs; a bound source is VIRQ_BOUND; unbinding always succeeds and frees the SPI', () => {
  const e = virtioVm();
  const vicNoBind = copy(e, e.vic, 0x6);
  assert.equal(e.call('virtio_mmio_backend_bind_virq', e.vio, vicNoBind, 40n, 0n).e, Err.CSPACE_INSUFFICIENT_RIGHTS);
  assert.equal(e.call('virtio_mmio_backend_bind_virq', e.vio, e.vic, 31n, 0n).e, Err.ARGUMENT_INVALID, 'not an SPI');
  assert.equal(e.call('virtio_mmio_backend_bind_virq', e.vio, e.vic, 64n, 0n).e, Err.ARGUMENT_INVALID, 'max_virqs 32');
  assert.equal(e.call('virtio_mmio_backend_bind_virq', e.vio, e.vic, 40n, 0n).e, Err.OK);
  assert.equal(e.call('virtio_mmio_backend_bind_virq', e.vio, e.vic, 41n, 0n).e, Err.VIRQ_BOUND);
  assert.equal(e.call('virtio_mmio_frontend_bind_virq', e.vio, e.vic, 40n, 0n).e, Err.BUSY, 'SPI 40 is taken');
  assert.equal(e.call('virtio_mmio_frontend_bind_virq', e.vio, e.vic, 41n, 0n).e, Err.OK, 'the other source');
  assert.equal(e.call('virtio_mmio_frontend_bind_virq', e.vio, e.vic, 42n, 0n).e, Err.VIRQ_BOUND);
  assert.equal(e.call('virtio_mmio_backend_unbind_virq', e.vio, 0n).e, Err.OK);
  assert.equal(e.call('virtio_mmio_backend_unbind_virq', e.vio, 0n).e, Err.OK, 'unbinding twice');
  const db = e.mk('doorbell');
  e.must('object_activate', db, 0n);
  assert.equal(e.call('doorbell_bind_virq', db, e.vic, 40n, 0n).e, Err.OK, 'SPI 40 is free again');
  assert.equal(e.call('virtio_mmio_frontend_unbind_virq', e.vio, 0n).e, Err.OK);
  assert.equal(e.call('virtio_mmio_frontend_bind_virq', e.vio, e.vic, 41n, 0n).e, Err.OK, 'rebinding');
});

test('§2.11/§7: backend_assert_virq ORs into InterruptStatus and asserts the backend-bound VIRQ (level) in the frontend’s vGIC; unbound it only sets the bits', () => {
  const e = virtioVm();
  const irq = vmIrq(e, 40);
  assert.equal(e.call('virtio_mmio_backend_assert_virq', e.vio, 0x1n, 0n).e, Err.OK);
  assert.equal(e.reg(INTERRUPT_STATUS), 1, 'unbound: InterruptStatus set');
  assert.equal(irq.pending(), false);
  e.must('virtio_mmio_backend_bind_virq', e.vio, e.vic, 40n, 0n);
  e.must('virtio_mmio_backend_assert_virq', e.vio, 0x2n, 0n);
  assert.equal(e.reg(INTERRUPT_STATUS), 3, 'bits accumulate');
  assert.equal(irq.pending(), true);
  assert.equal(irq.ack(), 40);
  // Level source: while InterruptStatus is nonzero it stays pending after the guest's EOI.
  irq.eoi(40);
  assert.equal(irq.pending(), true, 'still pending: InterruptStatus ≠ 0');
  assert.equal(irq.ack(), 40);
  e.setReg(INTERRUPT_STATUS, 0); // the backend may clear it through its writable mapping
  irq.eoi(40);
  assert.equal(irq.pending(), false, 'dropped at the EOI once InterruptStatus is 0');
});

test('§2.11: backend_assert_virq is DENIED while a reset is pending (Status.DEVICE_NEEDS_RESET) and leaves InterruptStatus alone; acknowledge_reset clears Status', () => {
  const e = virtioVm();
  e.must('virtio_mmio_backend_update_status', e.vio, 0x0fn, 0n);
  assert.equal(e.reg(STATUS), 0x0f, 'update_status ORs into Status');
  e.must('virtio_mmio_backend_update_status', e.vio, 0x40n, 0n);
  assert.equal(e.reg(STATUS), 0x4f);
  assert.equal(e.call('virtio_mmio_backend_assert_virq', e.vio, 1n, 0n).e, Err.DENIED);
  assert.equal(e.reg(INTERRUPT_STATUS), 0);
  e.must('virtio_mmio_backend_acknowledge_reset', e.vio, 0n);
  assert.equal(e.reg(STATUS), 0, 'acknowledge_reset writes 0');
  assert.equal(e.call('virtio_mmio_backend_assert_virq', e.vio, 1n, 0n).e, Err.OK);
  assert.equal(e.reg(INTERRUPT_STATUS), 1);
  // A backend that sets DEVICE_NEEDS_RESET through its own mapping is denied the same way.
  e.setReg(STATUS, 0x40);
  assert.equal(e.call('virtio_mmio_backend_assert_virq', e.vio, 2n, 0n).e, Err.DENIED);
});

test('§2.11: set_dev_features takes sel 0 or 1 (else ARGUMENT_INVALID); word 1 must keep VERSION_1 (bit 32) and ACCESS_PLATFORM (bit 33) and not offer NOTIFICATION_DATA (bit 38), else DENIED', () => {
  const e = virtioVm();
  const set = (sel: bigint, feat: bigint) => e.call('virtio_mmio_backend_set_dev_features', e.vio, sel, feat, 0n).e;
  assert.equal(set(2n, 3n), Err.ARGUMENT_INVALID);
  assert.equal(set(0x1_0000_0001n, 3n), Err.OK, 'sel is a u32: 0x1_0000_0001 is word 1');
  assert.equal(set(1n, 0n), Err.DENIED);
  assert.equal(set(1n, 2n), Err.DENIED, 'VERSION_1 missing');
  assert.equal(set(1n, 1n), Err.DENIED, 'ACCESS_PLATFORM missing');
  assert.equal(set(1n, 3n | (1n << 6n)), Err.DENIED, 'NOTIFICATION_DATA offered');
  assert.equal(set(1n, 3n | (1n << 2n)), Err.OK, 'RING_PACKED (bit 34) is allowed');
  assert.equal(set(0n, 0n), Err.OK, 'word 0 is free');
  assert.equal(set(0n, 0xffff_ffffn), Err.OK);
});

test('§2.11: set_queue_num_max and get_queue_info take sel < vqs_num (else ARGUMENT_INVALID, outputs 0); a fresh queue reads all zeros', () => {
  const e = virtioVm({ vqs: 3 });
  assert.equal(e.call('virtio_mmio_backend_set_queue_num_max', e.vio, 3n, 8n, 0n).e, Err.ARGUMENT_INVALID);
  assert.equal(e.call('virtio_mmio_backend_set_queue_num_max', e.vio, 2n, 8n, 0n).e, Err.OK);
  const bad = e.call('virtio_mmio_backend_get_queue_info', e.vio, 3n, 0n);
  assert.equal(bad.e, Err.ARGUMENT_INVALID);
  assert.deepEqual(bad.x.slice(1, 6), [0n, 0n, 0n, 0n, 0n]);
  const q = e.call('virtio_mmio_backend_get_queue_info', e.vio, 2n, 0n);
  assert.equal(q.e, Err.OK);
  assert.deepEqual(q.x.slice(1, 6), [0n, 0n, 0n, 0n, 0n], 'num, ready, desc, driver, device');
  const none = virtioVm({ vqs: 0 });
  assert.equal(none.call('virtio_mmio_backend_get_queue_info', none.vio, 0n, 0n).e, Err.ARGUMENT_INVALID);
});

test('§2.11: get_drv_features takes sel 0 or 1 (else ARGUMENT_INVALID, feat 0); get_notification on a quiet device returns an empty bitmap and no reason', () => {
  const e = virtioVm();
  const bad = e.call('virtio_mmio_backend_get_drv_features', e.vio, 2n, 0n);
  assert.equal(bad.e, Err.ARGUMENT_INVALID);
  assert.equal(bad.x[1], 0n);
  const f = e.call('virtio_mmio_backend_get_drv_features', e.vio, 1n, 0n);
  assert.deepEqual([f.e, f.x[1]], [Err.OK, 0n]);
  const n = e.call('virtio_mmio_backend_get_notification', e.vio, 0n);
  assert.deepEqual([n.e, n.x[1], n.x[2]], [Err.OK, 0n, 0n]);
});

test('§4.2/§7: destroying an active device unbinds both VIRQs (their SPIs are free again, a pending level drops) and detaches its page', () => {
  const e = virtioVm();
  const irq = vmIrq(e, 40);
  const back = rootIrq(e, 50);
  e.must('virtio_mmio_backend_bind_virq', e.vio, e.vic, 40n, 0n);
  e.must('virtio_mmio_frontend_bind_virq', e.vio, e.root.caps.vic, 50n, 0n);
  e.must('virtio_mmio_backend_assert_virq', e.vio, 1n, 0n);
  assert.equal(irq.pending(), true);
  e.must('cspace_delete_cap_from', e.C, e.vio, 0n);
  assert.equal(irq.pending(), false, 'the level source is gone');
  assert.equal(back.pending(), false);
  const db = e.mk('doorbell');
  e.must('object_activate', db, 0n);
  e.must('doorbell_bind_virq', db, e.vic, 40n, 0n);
  const db2 = e.mk('doorbell');
  e.must('object_activate', db2, 0n);
  e.must('doorbell_bind_virq', db2, e.root.caps.vic, 50n, 0n);
  assert.equal(e.hv.liveOf('virtio_mmio').length, 0);
});
