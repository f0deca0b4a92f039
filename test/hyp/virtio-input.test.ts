// virtio-input on virtio-mmio (hypervisor-abi.md §2.11: virtio_input_configure 0x5E,
// virtio_input_set_data 0x5F): the backend hands over the device's configuration data, and the
// hypervisor answers the driver's select/subsel queries in the page (virtio spec §5.8.4,
// struct virtio_input_config at 0x100: select, subsel, size, u at +8). The driver side is real
// guest code (virtio-env.ts); the backend's data comes from the root VM's memory by VA.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Err } from '../../src/hyp/abi/errors.js';
import { INPUT, OP, VALID_TYPE, at, shown, virtioVm } from './virtio-env.js';

const SELECT = 0x100;
const SUBSEL = 0x101;
const SIZE = 0x102;
const U = 0x108;
const ID_NAME = 0x01n;
const ID_SERIAL = 0x02n;
const ID_DEVIDS = 0x03n;
const PROP_BITS = 0x10n;
const EV_BITS = 0x11n;
const ABS_INFO = 0x12n;
const ONES = 0xffff_ffff_ffff_ffffn;

function inputVm() {
  const e = virtioVm({ flags: VALID_TYPE, type: INPUT });
  const buf = BigInt(e.root.env.heapIpa);
  /** Put bytes in the backend's (root's) memory and return their VA. */
  const put = (bytes: ArrayLike<number>, off = 0): bigint => {
    assert.equal(e.root.thread.access!.write(buf + BigInt(off), Uint8Array.from(bytes)), Err.OK);
    return buf + BigInt(off);
  };
  const setData = (sel: bigint, subsel: bigint, bytes: ArrayLike<number>) =>
    e.call('virtio_input_set_data', e.vio, sel, subsel, BigInt(bytes.length), put(bytes), 0n).e;
  return { ...e, buf, put, setData };
}

/** The guest selects (sel, subsel) with byte stores, then reads size and the first `words` words of u. */
function query(e: ReturnType<typeof inputVm>, sel: bigint, subsel: bigint, words: number): number[] {
  return e.guest(
    [
      [OP.W8, Number(sel), at(SELECT)],
      [OP.W8, Number(subsel), at(SUBSEL)],
      [OP.R8, 0, at(SIZE)],
      ...Array.from({ length: words }, (_, k) => [OP.R32, 0, at(U + 4 * k)] as const),
    ],
    1 + words,
  );
}

const words = (bytes: number[]): number[] => {
  const padded = [...bytes, 0, 0, 0].slice(0, Math.ceil(bytes.length / 4) * 4);
  return Array.from(
    { length: padded.length / 4 },
    (_, k) =>
      (padded[4 * k]! | (padded[4 * k + 1]! << 8) | (padded[4 * k + 2]! << 16) | (padded[4 * k + 3]! << 24)) >>> 0,
  );
};
const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));

test('§2.11: virtio_input_configure needs a virtio-input device (OBJECT_CONFIG), ACTIVE, with the config right', () => {
  const plain = virtioVm();
  assert.equal(plain.call('virtio_input_configure', plain.vio, 0n, 0n, 0n, 0n, 0n).e, Err.OBJECT_CONFIG);
  assert.equal(
    plain.call('virtio_input_set_data', plain.vio, ID_NAME, 0n, 1n, 0n, 0n).e,
    Err.CSPACE_WRONG_OBJECT_TYPE,
    'set_data on a device of another type: Gunyah answers WRONG_OBJECT_TYPE there',
  );
  const e = inputVm();
  const noConfig = e.must('cspace_copy_cap_from', e.C, e.vio, e.C, 0x8000_0007n, 0n)[1]!;
  assert.equal(e.call('virtio_input_configure', noConfig, 0n, 0n, 1n, 1n, 0n).e, Err.CSPACE_INSUFFICIENT_RIGHTS);
  assert.equal(e.call('virtio_input_configure', e.vio, 0n, 0n, 1n, 1n, 0n).e, Err.OK);
});

test('§2.11: num_evtypes ≤ 32 and num_absaxes ≤ 64 (else ARGUMENT_INVALID, though devids and prop_bits are stored first); each table is sized once (BUSY)', () => {
  const e = inputVm();
  const cfg = (devids: bigint, prop: bigint, ev: bigint, abs: bigint) =>
    e.call('virtio_input_configure', e.vio, devids, prop, ev, abs, 0n).e;
  assert.equal(cfg(0x0004_0003_0002_0001n, 0x5n, 33n, 0n), Err.ARGUMENT_INVALID);
  assert.equal(cfg(0x0004_0003_0002_0001n, 0x5n, 0n, 65n), Err.ARGUMENT_INVALID);
  assert.deepEqual(query(e, ID_DEVIDS, 0n, 2), [8, 0x0002_0001, 0x0004_0003], 'devids kept despite the error');
  assert.deepEqual(query(e, PROP_BITS, 0n, 1), [4, 5]);
  assert.equal(cfg(1n, 0n, 32n, 64n), Err.OK, 'both limits inclusive');
  assert.equal(cfg(1n, 0n, 1n, 0n), Err.BUSY, 'event-type table exists');
  assert.equal(cfg(1n, 0n, 0n, 1n), Err.BUSY, 'axis table exists');
  assert.equal(cfg(0x77n, 0x9n, 0n, 0n), Err.OK, 'no tables asked: only the IDs change');
  assert.deepEqual(query(e, ID_DEVIDS, 0n, 2), [8, 0x77, 0]);
  // An event-type table made by a call whose axis table is then refused stays.
  const f = inputVm();
  assert.equal(f.call('virtio_input_configure', f.vio, 0n, 0n, 0n, 2n, 0n).e, Err.OK);
  assert.equal(f.call('virtio_input_configure', f.vio, 0n, 0n, 2n, 2n, 0n).e, Err.BUSY);
  assert.equal(f.setData(EV_BITS, 1n, [0xff]), Err.OK);
});

test('§2.11: set_data — ID_NAME/ID_SERIAL take up to 128 bytes, ID_DEVIDS 8, PROP_BITS 4, all with subsel 0; size 0 or too big is ARGUMENT_SIZE, other selects ARGUMENT_INVALID', () => {
  const e = inputVm();
  const d = (sel: bigint, subsel: bigint, size: bigint) =>
    e.call('virtio_input_set_data', e.vio, sel, subsel, size, e.buf, 0n).e;
  for (const sel of [0n, 0x04n, 0x13n, 0x111n])
    assert.equal(d(sel, 0n, 4n), Err.ARGUMENT_INVALID, `select 0x${sel.toString(16)}`);
  for (const sel of [ID_NAME, ID_SERIAL, ID_DEVIDS, PROP_BITS]) {
    assert.equal(d(sel, 1n, 4n), Err.ARGUMENT_INVALID, `select ${sel} subsel 1`);
    assert.equal(d(sel, 0n, 0n), Err.ARGUMENT_SIZE, `select ${sel} size 0`);
  }
  assert.equal(d(ID_NAME, 0n, 128n), Err.OK);
  assert.equal(d(ID_NAME, 0n, 129n), Err.ARGUMENT_SIZE);
  assert.equal(d(ID_SERIAL, 0n, 129n), Err.ARGUMENT_SIZE);
  assert.equal(d(ID_DEVIDS, 0n, 9n), Err.ARGUMENT_SIZE);
  assert.equal(d(ID_DEVIDS, 0n, 8n), Err.OK);
  assert.equal(d(PROP_BITS, 0n, 5n), Err.ARGUMENT_SIZE);
  assert.equal(d(PROP_BITS, 0n, 4n), Err.OK);
  assert.equal(d(ID_NAME, 0x1_0000_0000n, 4n), Err.OK, 'subsel is a u32: 0x1_0000_0000 is 0');
});

test('§2.11: set_data copies from the caller’s VA — unmapped ADDR_INVALID, wrapping ADDR_OVERFLOW, unreadable DENIED — and a failed name or serial copy leaves it empty', () => {
  const e = inputVm();
  assert.equal(e.setData(ID_NAME, 0n, ascii('kbd')), Err.OK);
  assert.deepEqual(query(e, ID_NAME, 0n, 1), [3, words(ascii('kbd'))[0]]);
  const d = (va: bigint, size = 4n) => e.call('virtio_input_set_data', e.vio, ID_NAME, 0n, size, va, 0n).e;
  assert.equal(d(0x9_0000_0000n), Err.ADDR_INVALID);
  assert.deepEqual(query(e, ID_NAME, 0n, 0), [0], 'the name is gone');
  assert.equal(d(ONES - 1n), Err.ADDR_OVERFLOW);
  // A write-only mapping in the backend's addrspace: the read is a stage-2 permission fault.
  const wo = e.mk('memextent');
  e.must('memextent_configure', wo, 0x4200_3000n, 0x1000n, 6n, 0n);
  e.must('object_activate', wo, 0n);
  e.must('addrspace_map', e.root.caps.addrspace, wo, 0x8_1000_0000n, 2n | (2n << 4n) | (15n << 16n), 0n, 0n, 0n);
  assert.equal(d(0x8_1000_0000n), Err.DENIED);
  assert.equal(
    e.call('virtio_input_set_data', e.vio, ID_DEVIDS, 0n, 8n, 0x9_0000_0000n, 0n).e,
    Err.ADDR_INVALID,
    'the same for the other selects',
  );
});

test('§2.11: EV_BITS (subsel < 32, ≤ 128 bytes) and ABS_INFO (subsel < 64, ≤ 20 bytes) need their table configured (ARGUMENT_INVALID) and a free entry (NORESOURCES)', () => {
  const e = inputVm();
  assert.equal(e.setData(EV_BITS, 1n, [1]), Err.ARGUMENT_INVALID, 'no event-type table yet');
  assert.equal(e.setData(ABS_INFO, 0n, [1]), Err.ARGUMENT_INVALID, 'no axis table yet');
  e.must('virtio_input_configure', e.vio, 0n, 0n, 2n, 1n, 0n);
  assert.equal(e.setData(EV_BITS, 32n, [1]), Err.ARGUMENT_INVALID, 'event type 32');
  assert.equal(e.setData(ABS_INFO, 64n, [1]), Err.ARGUMENT_INVALID, 'axis 64');
  assert.equal(e.setData(EV_BITS, 1n, Array(129).fill(1)), Err.ARGUMENT_SIZE);
  assert.equal(e.setData(ABS_INFO, 0n, Array(21).fill(1)), Err.ARGUMENT_SIZE);
  assert.equal(e.setData(EV_BITS, 1n, Array(128).fill(1)), Err.OK);
  assert.equal(e.setData(EV_BITS, 3n, [7]), Err.OK);
  assert.equal(e.setData(EV_BITS, 4n, [7]), Err.NORESOURCES, 'two entries, both used');
  assert.equal(e.setData(ABS_INFO, 63n, Array(20).fill(2)), Err.OK);
  assert.equal(e.setData(ABS_INFO, 0n, [1]), Err.NORESOURCES);
});

test('§2.11/virtio §5.8.4: the driver’s select/subsel stores make the hypervisor write size and u — name, serial, device IDs, property bits, an event-type bitmap, an axis — and size 0 for anything not provided', () => {
  const e = inputVm();
  e.must('virtio_input_configure', e.vio, 0x0001_0002_0003_0006n, 0x0000_0022n, 2n, 1n, 0n);
  const name = ascii('gunyah-ts virtual keyboard');
  assert.equal(e.setData(ID_NAME, 0n, name), Err.OK);
  assert.equal(e.setData(ID_SERIAL, 0n, ascii('0042')), Err.OK);
  const keys = Array.from({ length: 16 }, (_, k) => (k * 37 + 1) & 0xff);
  assert.equal(e.setData(EV_BITS, 1n, keys), Err.OK); // EV_KEY
  const abs = Array.from({ length: 20 }, (_, k) => 0x80 + k);
  assert.equal(e.setData(ABS_INFO, 0n, abs), Err.OK); // ABS_X
  assert.deepEqual(query(e, ID_NAME, 0n, 7), [name.length, ...words(name)]);
  assert.deepEqual(query(e, ID_SERIAL, 0n, 1), [4, ...words(ascii('0042'))]);
  assert.deepEqual(query(e, ID_DEVIDS, 0n, 2), [8, 0x0003_0006, 0x0001_0002]);
  assert.deepEqual(query(e, PROP_BITS, 0n, 1), [4, 0x22]);
  assert.deepEqual(query(e, EV_BITS, 1n, 4), [16, ...words(keys)]);
  assert.deepEqual(query(e, ABS_INFO, 0n, 5), [20, ...words(abs)]);
  assert.deepEqual(query(e, EV_BITS, 2n, 0), [0], 'event type without a bitmap');
  assert.deepEqual(query(e, ABS_INFO, 1n, 0), [0], 'axis without information');
  assert.deepEqual(query(e, ID_NAME, 1n, 0), [0], 'names have subsel 0 only');
  assert.deepEqual(query(e, 0n, 0n, 0), [0], 'UNSET');
  assert.deepEqual(query(e, 0x20n, 0n, 0), [0], 'unknown select');
  // The page keeps the driver's selection.
  assert.deepEqual(e.guest([[OP.R32, 0, at(SELECT)]], 1), [0x20]);
});

test('§2.11: the first subsel entry wins — setting an event type twice uses a second entry the driver never sees', () => {
  const e = inputVm();
  e.must('virtio_input_configure', e.vio, 0n, 0n, 2n, 0n, 0n);
  assert.equal(e.setData(EV_BITS, 1n, [0x11]), Err.OK);
  assert.equal(e.setData(EV_BITS, 1n, [0x22, 0x33]), Err.OK);
  assert.deepEqual(query(e, EV_BITS, 1n, 1), [1, 0x11]);
  assert.equal(e.setData(EV_BITS, 2n, [0x44]), Err.NORESOURCES);
});

test('§2.11: on a virtio-input device only the select and subsel bytes of the configuration are writable; a word store over both updates them, then aborts (Gunyah’s quirk)', () => {
  const e = inputVm();
  e.must('virtio_input_configure', e.vio, 0x1234n, 0n, 0n, 0n, 0n);
  const r = e.guest(
    [
      [OP.W32, Number(ID_DEVIDS), at(SELECT)], // select 3, subsel 0 — then offset 0x102
      [OP.R8, 0, at(SELECT)],
      [OP.R8, 0, at(SIZE)],
      [OP.R32, 0, at(U)],
      [OP.W8, 5, at(SIZE)],
      [OP.W8, 5, at(U)],
      [OP.W32, 0, at(0x104)],
      [OP.W16, 0x0101, at(SELECT)],
      [OP.R8, 0, at(SIZE)],
      [OP.W32, 0xf, at(0x070)], // the transport registers still work
      [OP.R32, 0, at(0x070)],
    ],
    9,
  );
  assert.deepEqual(shown(r), ['abort', 3, 8, 0x1234, 'abort', 'abort', 'abort', 'abort', 8]);
  assert.deepEqual(e.guest([[OP.R32, 0, at(0x070)]], 1), [0xf]);
});
