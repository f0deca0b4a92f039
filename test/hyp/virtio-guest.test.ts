// The virtio-mmio register page as a guest driver sees it (hypervisor-abi.md §2.11, §9.6, §10.6):
// real AArch64 code in a VM that maps the page read-only loads registers as plain memory, and its
// stores take stage-2 permission faults that the hypervisor emulates (or refuses with an external
// abort). The backend is the root VM, through hypercalls and its own writable mapping of the page.
// Register offsets are the virtio 1.x MMIO transport's (virtio spec §4.2.2).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Err } from '../../src/hyp/abi/errors.js';
import { OP, at, guestEnableSpi, rootIrq, shown, virtioVm, vmIrq } from './virtio-env.js';

const MAGIC = 0x000;
const VERSION = 0x004;
const DEVICE_ID = 0x008;
const VENDOR_ID = 0x00c;
const DEV_FEAT = 0x010;
const DEV_FEAT_SEL = 0x014;
const DRV_FEAT = 0x020;
const DRV_FEAT_SEL = 0x024;
const QUEUE_SEL = 0x030;
const QUEUE_NUM_MAX = 0x034;
const QUEUE_NUM = 0x038;
const QUEUE_READY = 0x044;
const QUEUE_NOTIFY = 0x050;
const INTERRUPT_STATUS = 0x060;
const INTERRUPT_ACK = 0x064;
const STATUS = 0x070;
const QUEUE_DESC_LOW = 0x080;
const QUEUE_DESC_HIGH = 0x084;
const QUEUE_DRIVER_LOW = 0x090;
const QUEUE_DRIVER_HIGH = 0x094;
const QUEUE_DEVICE_LOW = 0x0a0;
const QUEUE_DEVICE_HIGH = 0x0a4;
const CONFIG_GENERATION = 0x0fc;
const CONFIG = 0x100;
/** virtio spec §2.1 device status bits. */
const ACKNOWLEDGE = 1;
const DRIVER = 2;
const DRIVER_OK = 4;
const FEATURES_OK = 8;
const DEVICE_NEEDS_RESET = 0x40;
const FAILED = 0x80;
/** get_notification reason bits (§2.11). */
const NEW_BUFFER = 1n;
const RESET_RQST = 2n;
const R_DRIVER_OK = 8n;
const R_FAILED = 16n;

/** The backend fills in the identification registers, as a virtio-mmio v2 device shows them. */
function identify(e: ReturnType<typeof virtioVm>, deviceId: number): void {
  e.setReg(MAGIC, 0x7472_6976);
  e.setReg(VERSION, 2);
  e.setReg(DEVICE_ID, deviceId);
  e.setReg(VENDOR_ID, 0x554d_4551);
}

function notification(e: ReturnType<typeof virtioVm>): [bigint, bigint] {
  const r = e.call('virtio_mmio_backend_get_notification', e.vio, 0n);
  assert.equal(r.e, Err.OK);
  return [r.x[1]!, r.x[2]!];
}

test('§2.11/§10.6: the frontend reads the page as plain memory — what the backend wrote through its own mapping — without faulting', () => {
  const e = virtioVm();
  identify(e, 2);
  const r = e.guest(
    [
      [OP.R32, 0, at(MAGIC)],
      [OP.R32, 0, at(VERSION)],
      [OP.R32, 0, at(DEVICE_ID)],
      [OP.R32, 0, at(VENDOR_ID)],
      [OP.R8, 0, at(MAGIC)],
    ],
    5,
  );
  assert.deepEqual(r, [0x7472_6976, 2, 2, 0x554d_4551, 0x76]);
});

test('§2.11/§9.6: stores the transport does not accept are external aborts and change nothing — read-only registers, halfword and doubleword stores, unaligned words, bytes below 0x100', () => {
  const e = virtioVm();
  identify(e, 2);
  e.must('virtio_mmio_backend_assert_virq', e.vio, 1n, 0n);
  const r = e.guest(
    [
      [OP.W32, 0, at(MAGIC)],
      [OP.W32, 7, at(DEVICE_ID)],
      [OP.W32, 7, at(DEV_FEAT)],
      [OP.W32, 0, at(INTERRUPT_STATUS)],
      [OP.W32, 5, at(CONFIG_GENERATION)],
      [OP.W32, 5, at(0x018)], // reserved word
      [OP.W16, DRIVER, at(STATUS)],
      [OP.W64, DRIVER, at(STATUS)],
      [OP.W32, DRIVER, at(STATUS + 2)],
      [OP.W8, DRIVER, at(STATUS)],
      [OP.R32, 0, at(MAGIC)],
      [OP.R32, 0, at(INTERRUPT_STATUS)],
      [OP.R32, 0, at(STATUS)],
    ],
    13,
  );
  assert.deepEqual(shown(r), [...Array(10).fill('abort'), 0x7472_6976, 1, 0]);
  assert.equal(e.reg(DEVICE_ID), 2);
});

test('§2.11: DeviceFeaturesSel shows the backend’s feature word in DeviceFeatures (only 0 and 1 exist: other selectors abort and leave it)', () => {
  const e = virtioVm();
  e.must('virtio_mmio_backend_set_dev_features', e.vio, 0n, 0x1234_5678n, 0n);
  e.must('virtio_mmio_backend_set_dev_features', e.vio, 1n, 0x3n, 0n);
  const r = e.guest(
    [
      [OP.R32, 0, at(DEV_FEAT)],
      [OP.W32, 1, at(DEV_FEAT_SEL)],
      [OP.R32, 0, at(DEV_FEAT)],
      [OP.W32, 0, at(DEV_FEAT_SEL)],
      [OP.R32, 0, at(DEV_FEAT)],
      [OP.W32, 2, at(DEV_FEAT_SEL)],
      [OP.R32, 0, at(DEV_FEAT)],
    ],
    5,
  );
  assert.deepEqual(shown(r), [0, 3, 0x1234_5678, 'abort', 0x1234_5678]);
});

test('§2.11: DriverFeatures are banked by DriverFeaturesSel (0 or 1, else abort) and read by the backend with get_drv_features', () => {
  const e = virtioVm();
  const r = e.guest(
    [
      [OP.W32, 0xaaaa_0001, at(DRV_FEAT)],
      [OP.W32, 1, at(DRV_FEAT_SEL)],
      [OP.W32, 0x3, at(DRV_FEAT)],
      [OP.W32, 2, at(DRV_FEAT_SEL)],
      [OP.W32, 0x7, at(DRV_FEAT)], // still word 1
    ],
    1,
  );
  assert.deepEqual(shown(r), ['abort']);
  const f0 = e.call('virtio_mmio_backend_get_drv_features', e.vio, 0n, 0n);
  const f1 = e.call('virtio_mmio_backend_get_drv_features', e.vio, 1n, 0n);
  assert.deepEqual([f0.x[1], f1.x[1]], [0xaaaa_0001n, 0x7n]);
});

test('§2.11: QueueSel shows the selected queue’s QueueNumMax (set by the backend) and QueueReady; queue registers go to the selected queue and reach the backend through get_queue_info; QueueSel ≥ vqs_num aborts', () => {
  const e = virtioVm({ vqs: 2 });
  e.must('virtio_mmio_backend_set_queue_num_max', e.vio, 0n, 256n, 0n);
  e.must('virtio_mmio_backend_set_queue_num_max', e.vio, 1n, 64n, 0n);
  const r = e.guest(
    [
      [OP.R32, 0, at(QUEUE_NUM_MAX)], // nothing selected yet: the page still holds 0
      [OP.W32, 1, at(QUEUE_SEL)],
      [OP.R32, 0, at(QUEUE_NUM_MAX)],
      [OP.W32, 32, at(QUEUE_NUM)],
      [OP.W32, 0x8000_4000, at(QUEUE_DESC_LOW)],
      [OP.W32, 0x1, at(QUEUE_DESC_HIGH)],
      [OP.W32, 0x8000_5000, at(QUEUE_DRIVER_LOW)],
      [OP.W32, 0x2, at(QUEUE_DRIVER_HIGH)],
      [OP.W32, 0x8000_6000, at(QUEUE_DEVICE_LOW)],
      [OP.W32, 0x3, at(QUEUE_DEVICE_HIGH)],
      [OP.W32, 1, at(QUEUE_READY)],
      [OP.R32, 0, at(QUEUE_READY)],
      [OP.W32, 0, at(QUEUE_SEL)],
      [OP.R32, 0, at(QUEUE_NUM_MAX)],
      [OP.R32, 0, at(QUEUE_READY)],
      [OP.W32, 2, at(QUEUE_SEL)],
      [OP.R32, 0, at(QUEUE_NUM_MAX)],
      [OP.W32, 1, at(QUEUE_SEL)],
      [OP.R32, 0, at(QUEUE_READY)],
    ],
    8,
  );
  assert.deepEqual(shown(r), [0, 64, 1, 256, 0, 'abort', 256, 1]);
  const q1 = e.call('virtio_mmio_backend_get_queue_info', e.vio, 1n, 0n);
  assert.deepEqual(q1.x.slice(0, 6), [0n, 32n, 1n, 0x1_8000_4000n, 0x2_8000_5000n, 0x3_8000_6000n]);
  const q0 = e.call('virtio_mmio_backend_get_queue_info', e.vio, 0n, 0n);
  assert.deepEqual(q0.x.slice(1, 6), [0n, 0n, 0n, 0n, 0n], 'queue 0 untouched');
});

test('§2.11 [infer]: a device with no virtqueues refuses every queue register store', () => {
  const e = virtioVm({ vqs: 0 });
  const r = e.guest(
    [
      [OP.W32, 0, at(QUEUE_SEL)],
      [OP.W32, 8, at(QUEUE_NUM)],
      [OP.W32, 1, at(QUEUE_READY)],
      [OP.W32, 1, at(QUEUE_DESC_LOW)],
    ],
    4,
  );
  assert.deepEqual(shown(r), ['abort', 'abort', 'abort', 'abort']);
});

test('§2.11/§7: QueueNotify sets the queue’s bit and new_buffer, and asserts the frontend-bound VIRQ at the backend until get_notification collects them (then the level drops at the backend’s EOI)', () => {
  const e = virtioVm({ vqs: 4 });
  const back = rootIrq(e, 50);
  e.must('virtio_mmio_frontend_bind_virq', e.vio, e.root.caps.vic, 50n, 0n);
  e.guest(
    [
      [OP.W32, 3, at(QUEUE_NOTIFY)],
      [OP.WZR, 0, at(QUEUE_NOTIFY)], // str wzr: queue 0
      [OP.W32, 3, at(QUEUE_NOTIFY)],
    ],
    0,
  );
  assert.equal(back.pending(), true);
  assert.equal(back.ack(), 50);
  assert.deepEqual(notification(e), [0b1001n, NEW_BUFFER]);
  assert.deepEqual(notification(e), [0n, 0n], 'collected: both cleared');
  back.eoi(50);
  assert.equal(back.pending(), false, 'no reason pending: the level drops');
});

test('§7: a notification raised after the backend acknowledged its VIRQ keeps it pending through the EOI even if already collected', () => {
  const e = virtioVm();
  const back = rootIrq(e, 50);
  e.must('virtio_mmio_frontend_bind_virq', e.vio, e.root.caps.vic, 50n, 0n);
  e.script([
    [OP.W32, 0, at(QUEUE_NOTIFY)],
    [OP.WFI, 0, 0n],
    [OP.W32, 1, at(QUEUE_NOTIFY)],
  ]);
  assert.equal(e.run(), 'idle');
  assert.equal(back.ack(), 50);
  assert.equal(e.run(), 'idle', 'the guest sleeps in its WFI: nothing wakes it');
  // Wake the guest with a backend interrupt so it can notify again.
  e.must('virtio_mmio_backend_bind_virq', e.vio, e.vic, 40n, 0n);
  vmIrq(e, 40);
  e.must('virtio_mmio_backend_assert_virq', e.vio, 1n, 0n);
  assert.equal(e.run(), 'idle');
  assert.deepEqual(notification(e), [0b11n, NEW_BUFFER]);
  back.eoi(50);
  assert.equal(back.pending(), true, 'reasserted since the acknowledge: still pending');
  assert.equal(back.ack(), 50);
  back.eoi(50);
  assert.equal(back.pending(), false);
});

test('§2.11: Status holds what the driver writes; gaining DRIVER_OK raises driver_ok and gaining FAILED raises failed (DRIVER_OK wins when both arrive in one write), each interrupting the backend once', () => {
  const e = virtioVm();
  const back = rootIrq(e, 50);
  e.must('virtio_mmio_frontend_bind_virq', e.vio, e.root.caps.vic, 50n, 0n);
  const r = e.guest(
    [
      [OP.W32, ACKNOWLEDGE, at(STATUS)],
      [OP.W32, ACKNOWLEDGE | DRIVER, at(STATUS)],
      [OP.W32, ACKNOWLEDGE | DRIVER | FEATURES_OK, at(STATUS)],
      [OP.R32, 0, at(STATUS)],
    ],
    1,
  );
  assert.deepEqual(r, [ACKNOWLEDGE | DRIVER | FEATURES_OK]);
  assert.equal(back.pending(), false, 'no reason yet');
  e.script([
    [OP.W32, 0xf, at(STATUS)],
    [OP.W32, 0xf, at(STATUS)],
  ]);
  e.run();
  assert.equal(back.pending(), true);
  assert.deepEqual(notification(e), [0n, R_DRIVER_OK], 'driver_ok once');
  e.script([[OP.W32, 0xf | FAILED, at(STATUS)]]);
  e.run();
  assert.deepEqual(notification(e), [0n, R_FAILED]);
  const both = virtioVm();
  both.guest([[OP.W32, DRIVER_OK | FAILED, at(STATUS)]], 0);
  assert.deepEqual(notification(both), [0n, R_DRIVER_OK], 'one reason per write');
  assert.equal(both.reg(STATUS), DRIVER_OK | FAILED);
});

test('§2.11: writing Status 0 requests a reset (unless Status is already 0): DEVICE_NEEDS_RESET until acknowledge_reset, every QueueReady cleared, reset_rqst raised, backend interrupts denied meanwhile', () => {
  const e = virtioVm({ vqs: 2 });
  const back = rootIrq(e, 50);
  e.must('virtio_mmio_frontend_bind_virq', e.vio, e.root.caps.vic, 50n, 0n);
  e.guest(
    [
      [OP.W32, 0, at(STATUS)], // a fresh device: nothing to reset
      [OP.W32, ACKNOWLEDGE | DRIVER, at(STATUS)],
      [OP.W32, 1, at(QUEUE_READY)],
      [OP.W32, 1, at(QUEUE_SEL)],
      [OP.W32, 1, at(QUEUE_READY)],
    ],
    0,
  );
  assert.equal(back.pending(), false, 'the first Status 0 asked nothing');
  assert.deepEqual(notification(e), [0n, 0n]);
  const r = e.guest(
    [
      [OP.W32, 0, at(STATUS)],
      [OP.R32, 0, at(STATUS)],
      [OP.R32, 0, at(QUEUE_READY)],
    ],
    2,
  );
  assert.deepEqual(r, [ACKNOWLEDGE | DRIVER | DEVICE_NEEDS_RESET, 0]);
  assert.equal(back.pending(), true);
  assert.deepEqual(notification(e), [0n, RESET_RQST]);
  for (const q of [0n, 1n]) {
    assert.equal(e.call('virtio_mmio_backend_get_queue_info', e.vio, q, 0n).x[2], 0n, `queue ${q} not ready`);
  }
  assert.equal(e.call('virtio_mmio_backend_assert_virq', e.vio, 1n, 0n).e, Err.DENIED);
  e.must('virtio_mmio_backend_acknowledge_reset', e.vio, 0n);
  const after = e.guest([[OP.R32, 0, at(STATUS)]], 1);
  assert.deepEqual(after, [0], 'the driver’s Status poll sees the reset done');
  assert.equal(e.call('virtio_mmio_backend_assert_virq', e.vio, 1n, 0n).e, Err.OK);
});

test('§2.11: a reset write completes even when the backend’s VIRQ is unbound ([?] the snapshot would fault it unless edge-configured)', () => {
  const e = virtioVm();
  const r = e.guest(
    [
      [OP.W32, ACKNOWLEDGE, at(STATUS)],
      [OP.W32, 0, at(STATUS)],
      [OP.R32, 0, at(STATUS)],
    ],
    1,
  );
  assert.deepEqual(shown(r), [ACKNOWLEDGE | DEVICE_NEEDS_RESET]);
});

test('§2.11: InterruptACK clears the written bits of InterruptStatus', () => {
  const e = virtioVm();
  e.must('virtio_mmio_backend_assert_virq', e.vio, 0b111n, 0n);
  const r = e.guest(
    [
      [OP.W32, 0b101, at(INTERRUPT_ACK)],
      [OP.R32, 0, at(INTERRUPT_STATUS)],
      [OP.W32, 0xffff_ffff, at(INTERRUPT_ACK)],
      [OP.R32, 0, at(INTERRUPT_STATUS)],
    ],
    2,
  );
  assert.deepEqual(r, [0b010, 0]);
});

test('§2.11: without a hypervisor-emulated device type, driver stores to the device configuration (bytes or aligned words from 0x100) land in the page for the backend', () => {
  const e = virtioVm();
  const r = e.guest(
    [
      [OP.W8, 0xab, at(CONFIG + 3)],
      [OP.W32, 0x1122_3344, at(CONFIG + 8)],
      [OP.W32, 0x5566_7788, at(0xffc)],
      [OP.W16, 0x99, at(CONFIG + 0x10)],
      [OP.R32, 0, at(CONFIG)],
    ],
    2,
  );
  assert.deepEqual(shown(r), ['abort', 0xab00_0000]);
  assert.equal(e.reg(CONFIG + 8), 0x1122_3344);
  assert.equal(e.reg(0xffc), 0x5566_7788);
  assert.equal(e.reg(CONFIG + 0x10), 0);
});

test('§10.6: the backend’s own writable mapping of the page never faults: its stores change the registers directly', () => {
  const e = virtioVm();
  e.setReg(QUEUE_NUM_MAX, 77);
  e.setReg(STATUS, 0x3);
  const r = e.guest(
    [
      [OP.R32, 0, at(QUEUE_NUM_MAX)],
      [OP.R32, 0, at(STATUS)],
    ],
    2,
  );
  assert.deepEqual(r, [77, 3]);
  assert.deepEqual(notification(e), [0n, 0n], 'no notification: only frontend stores are emulated');
});

test('§10.6: a permission fault on a read-only page with no vdevice stays an external abort', () => {
  const e = virtioVm();
  const plain = e.mk('memextent');
  e.must('memextent_configure', plain, 0x4200_1000n, 0x1000n, 6n, 0n);
  e.must('object_activate', plain, 0n);
  e.must('addrspace_map', e.as, plain, 0x0a00_1000n, 4n | (4n << 4n) | (15n << 16n), 0n, 0n, 0n);
  const r = e.guest(
    [
      [OP.W32, 0, 0x0a00_1000n + BigInt(QUEUE_NOTIFY)],
      [OP.W32, 0, at(QUEUE_NOTIFY)],
    ],
    1,
  );
  assert.deepEqual(shown(r), ['abort']);
  assert.deepEqual(notification(e), [1n, NEW_BUFFER], 'only the virtio page’s store was emulated');
});

test('§2.11 end to end: a guest driver probes the device, negotiates, sets up a queue and kicks it; the root backend sees the kick through its VIRQ and get_notification, answers with backend_assert_virq, and the guest takes the interrupt and acknowledges it', () => {
  const e = virtioVm({ vqs: 1 });
  const FRONT_VIRQ = 40;
  const BACK_VIRQ = 50;
  // Backend setup (as crosvm/QEMU would on Gunyah): identification, features, queue size, VIRQs.
  identify(e, 2);
  e.must('virtio_mmio_backend_set_dev_features', e.vio, 0n, 0x20n, 0n);
  e.must('virtio_mmio_backend_set_dev_features', e.vio, 1n, 0x3n, 0n);
  e.must('virtio_mmio_backend_set_queue_num_max', e.vio, 0n, 128n, 0n);
  e.must('virtio_mmio_backend_bind_virq', e.vio, e.vic, BigInt(FRONT_VIRQ), 0n);
  e.must('virtio_mmio_frontend_bind_virq', e.vio, e.root.caps.vic, BigInt(BACK_VIRQ), 0n);
  const back = rootIrq(e, BACK_VIRQ);
  e.script([
    ...guestEnableSpi(FRONT_VIRQ),
    [OP.R32, 0, at(MAGIC)],
    [OP.R32, 0, at(VERSION)],
    [OP.R32, 0, at(DEVICE_ID)],
    [OP.W32, 0, at(STATUS)],
    [OP.W32, ACKNOWLEDGE, at(STATUS)],
    [OP.W32, ACKNOWLEDGE | DRIVER, at(STATUS)],
    [OP.W32, 1, at(DEV_FEAT_SEL)],
    [OP.R32, 0, at(DEV_FEAT)],
    [OP.W32, 1, at(DRV_FEAT_SEL)],
    [OP.W32, 0x1, at(DRV_FEAT)],
    [OP.W32, ACKNOWLEDGE | DRIVER | FEATURES_OK, at(STATUS)],
    [OP.W32, 0, at(QUEUE_SEL)],
    [OP.R32, 0, at(QUEUE_NUM_MAX)],
    [OP.W32, 128, at(QUEUE_NUM)],
    [OP.W32, 0x8000_4000, at(QUEUE_DESC_LOW)],
    [OP.W32, 0x8000_5000, at(QUEUE_DRIVER_LOW)],
    [OP.W32, 0x8000_6000, at(QUEUE_DEVICE_LOW)],
    [OP.W32, 1, at(QUEUE_READY)],
    [OP.W32, ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK, at(STATUS)],
    [OP.W32, 0, at(QUEUE_NOTIFY)],
    [OP.WFI, 0, 0n], // wait for the device's interrupt
    [OP.IAR, 0, 0n],
    [OP.R32, 0, at(INTERRUPT_STATUS)],
    [OP.W32, 1, at(INTERRUPT_ACK)],
    [OP.EOI, FRONT_VIRQ, 0n],
    [OP.R32, 0, at(INTERRUPT_STATUS)],
    [OP.IAR, 0, 0n],
  ]);
  assert.equal(e.run(), 'idle', 'the driver kicked the queue and waits');
  assert.deepEqual(e.results(5), [0x7472_6976, 2, 2, 0x3, 128], 'magic, version, device ID, features, queue size');
  // The backend: its VIRQ is pending; the notification says queue 0 has buffers and the driver is up.
  assert.equal(back.pending(), true);
  assert.equal(back.ack(), BACK_VIRQ);
  assert.deepEqual(notification(e), [1n, NEW_BUFFER | R_DRIVER_OK]);
  back.eoi(BACK_VIRQ);
  assert.equal(back.pending(), false);
  const q = e.call('virtio_mmio_backend_get_queue_info', e.vio, 0n, 0n);
  assert.deepEqual(q.x.slice(1, 6), [128n, 1n, 0x8000_4000n, 0x8000_5000n, 0x8000_6000n]);
  assert.equal(e.call('virtio_mmio_backend_get_drv_features', e.vio, 1n, 0n).x[1], 1n);
  // The device used a buffer: InterruptStatus bit 0, and the guest's VIRQ.
  e.must('virtio_mmio_backend_assert_virq', e.vio, 1n, 0n);
  assert.equal(e.run(), 'idle', 'the driver handled the interrupt and waits again');
  assert.deepEqual(e.results(9).slice(5), [FRONT_VIRQ, 1, 0, 1023], 'IAR, InterruptStatus, after ACK, nothing pending');
  assert.equal(e.reg(INTERRUPT_STATUS), 0);
  assert.equal(e.reg(STATUS), 0xf);
});
