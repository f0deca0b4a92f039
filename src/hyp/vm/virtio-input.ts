// virtio-input on a virtio-mmio device (hypervisor-abi.md §2.11: virtio_input_configure,
// virtio_input_set_data): for device type 18 the hypervisor itself emulates the device
// configuration, so that the backend need not answer the driver's configuration queries. The
// backend hands the data over once (name, serial, device IDs, property bits, per-event-type
// bitmaps, per-axis absinfo); the driver then selects what to read by writing `select` and
// `subsel`, and reads `size` and the union `u` (virtio spec §5.8.4, struct virtio_input_config):
//
//   0x100 select (u8)   0x101 subsel (u8)   0x102 size (u8)   0x103..0x107 reserved
//   0x108 u: string[128] | bitmap[128] | virtio_input_absinfo (20 bytes) | devids (u64)
//
// Each select/subsel store rewrites `size` and the first `size` bytes of `u` in the page (bytes
// beyond `size` keep what they held: the driver reads only `size` bytes). Select values: 0x01
// ID_NAME, 0x02 ID_SERIAL, 0x03 ID_DEVIDS, 0x10 PROP_BITS (subsel 0 only), 0x11 EV_BITS (subsel =
// event type < 32), 0x12 ABS_INFO (subsel = axis < 64); anything else reads size 0.
//
// Quirk kept from Gunyah: a store covering select and subsel with one 4-byte write updates both
// and then refuses the rest of the word (offset 0x102 is not writable), so the driver takes an
// external abort after the side effects. Drivers write the two bytes separately (virtio_cwrite8).

import { Err } from '../abi/errors.js';
import type { GuestAccess } from './guest-access.js';
import type { VirtioMmio } from './virtio-mmio.js';

/** virtio_device_type INPUT (virtio spec §5.8). */
export const VIRTIO_DEVICE_TYPE_INPUT = 18;
/** Limits of virtio_input_configure and the sizes of the stored data. */
export const VIRTIO_INPUT_MAX_EV_TYPES = 32;
export const VIRTIO_INPUT_MAX_ABS_AXES = 64;
export const VIRTIO_INPUT_MAX_STRING_SIZE = 128;
export const VIRTIO_INPUT_MAX_BITMAP_SIZE = 128;
export const VIRTIO_INPUT_ABSINFO_SIZE = 20;
/** A free ev_bits/absinfo entry. */
const SUBSEL_FREE = 255;

/** virtio_input_config_select values. */
export const VIRTIO_INPUT_CFG = {
  UNSET: 0x00,
  ID_NAME: 0x01,
  ID_SERIAL: 0x02,
  ID_DEVIDS: 0x03,
  PROP_BITS: 0x10,
  EV_BITS: 0x11,
  ABS_INFO: 0x12,
} as const;

/** Offsets inside the device configuration (from 0x100 of the register page). */
const CFG_BASE = 0x100;
const CFG_SELECT = 0x00;
const CFG_SUBSEL = 0x01;
const CFG_SIZE = 0x02;
const CFG_U = 0x08;

class EvBitsEntry {
  subsel = SUBSEL_FREE;
  size = 0;
  readonly data = new Uint8Array(VIRTIO_INPUT_MAX_BITMAP_SIZE);
}

class AbsInfoEntry {
  subsel = SUBSEL_FREE;
  readonly data = new Uint8Array(VIRTIO_INPUT_ABSINFO_SIZE);
}

/** What the backend gave for the configuration space (allocated when the device activates). */
export class VirtioInputData {
  readonly name = new Uint8Array(VIRTIO_INPUT_MAX_STRING_SIZE);
  nameSize = 0;
  readonly serial = new Uint8Array(VIRTIO_INPUT_MAX_STRING_SIZE);
  serialSize = 0;
  /** struct virtio_input_devids (bustype, vendor, product, version: u16 each), little-endian. */
  readonly devids = new Uint8Array(8);
  /** The property bitmap's first 32 bits, little-endian. */
  readonly propBits = new Uint8Array(4);
  /** Entries for event-type bitmaps (num_evtypes of them), null until configured. */
  evBits: EvBitsEntry[] | null = null;
  /** Entries for axis information (num_absaxes of them), null until configured. */
  absInfo: AbsInfoEntry[] | null = null;
}

/**
 * virtio_input_configure(devids, prop_bits, num_evtypes, num_absaxes) on an ACTIVE device, in
 * Gunyah's order: not a virtio-input device → OBJECT_CONFIG; devids and prop_bits are stored
 * (even if the counts are then refused); num_evtypes > 32 or num_absaxes > 64 → ARGUMENT_INVALID;
 * a nonzero count for a table that already exists → BUSY (the tables are sized once; an
 * event-type table made by this call stays if the axis table is then refused).
 */
export function virtioInputConfigure(
  vio: VirtioMmio,
  devids: bigint,
  propBits: number,
  numEvTypes: number,
  numAbsAxes: number,
): number {
  const d = vio.input;
  if (d === null) return Err.OBJECT_CONFIG;
  new DataView(d.devids.buffer).setBigUint64(0, devids, true);
  new DataView(d.propBits.buffer).setUint32(0, propBits >>> 0, true);
  if (numEvTypes > VIRTIO_INPUT_MAX_EV_TYPES || numAbsAxes > VIRTIO_INPUT_MAX_ABS_AXES) {
    return Err.ARGUMENT_INVALID;
  }
  if (numEvTypes > 0) {
    if (d.evBits !== null) return Err.BUSY;
    d.evBits = Array.from({ length: numEvTypes }, () => new EvBitsEntry());
  }
  if (numAbsAxes > 0) {
    if (d.absInfo !== null) return Err.BUSY;
    d.absInfo = Array.from({ length: numAbsAxes }, () => new AbsInfoEntry());
  }
  return Err.OK;
}

/**
 * Copy `size` bytes from the caller's virtual address `va` into `dst` (at most its length), as
 * Gunyah's copy from a guest VA: size 0 or larger than `dst` → ARGUMENT_SIZE, then the access's
 * own errors (ADDR_OVERFLOW, ARGUMENT_INVALID for a stage-1 fault, DENIED, ADDR_INVALID; a caller
 * without any memory view: ADDR_INVALID). Nothing is copied on error.
 */
function copyIn(access: GuestAccess | null, dst: Uint8Array, va: bigint, size: number): number {
  if (size === 0 || size > dst.length) return Err.ARGUMENT_SIZE;
  if (access === null) return Err.ADDR_INVALID;
  return access.readInto(va, dst, 0, size);
}

/**
 * virtio_input_set_data(sel, subsel, size, data) on an ACTIVE device: not a virtio-input device
 * → CSPACE_WRONG_OBJECT_TYPE (Gunyah's answer here, unlike configure's OBJECT_CONFIG); then by
 * select — ID_NAME / ID_SERIAL (≤ 128 bytes; a failed copy empties the string), ID_DEVIDS (≤ 8),
 * PROP_BITS (≤ 4) take subsel 0 only (else ARGUMENT_INVALID); EV_BITS (≤ 128 bytes) and ABS_INFO
 * (≤ 20) need their table configured and subsel < 32 / < 64 (else ARGUMENT_INVALID), and take
 * the first free entry (none left → NORESOURCES; setting a subsel twice uses a second entry, and
 * the driver sees the first). Other selects → ARGUMENT_INVALID.
 */
export function virtioInputSetData(
  vio: VirtioMmio,
  access: GuestAccess | null,
  sel: number,
  subsel: number,
  size: number,
  va: bigint,
): number {
  const d = vio.input;
  if (d === null) return Err.CSPACE_WRONG_OBJECT_TYPE;
  const C = VIRTIO_INPUT_CFG;
  switch (sel) {
    case C.ID_NAME:
    case C.ID_SERIAL: {
      if (subsel !== 0) return Err.ARGUMENT_INVALID;
      const name = sel === C.ID_NAME;
      const e = copyIn(access, name ? d.name : d.serial, va, size);
      const n = e === Err.OK ? size : 0;
      if (name) d.nameSize = n;
      else d.serialSize = n;
      return e;
    }
    case C.ID_DEVIDS:
      if (subsel !== 0) return Err.ARGUMENT_INVALID;
      return copyIn(access, d.devids, va, size);
    case C.PROP_BITS:
      if (subsel !== 0) return Err.ARGUMENT_INVALID;
      return copyIn(access, d.propBits, va, size);
    case C.EV_BITS: {
      if (d.evBits === null || subsel >= VIRTIO_INPUT_MAX_EV_TYPES) return Err.ARGUMENT_INVALID;
      const entry = d.evBits.find((x) => x.subsel === SUBSEL_FREE);
      if (entry === undefined) return Err.NORESOURCES;
      const e = copyIn(access, entry.data, va, size);
      if (e === Err.OK) {
        entry.size = size;
        entry.subsel = subsel;
      }
      return e;
    }
    case C.ABS_INFO: {
      if (d.absInfo === null || subsel >= VIRTIO_INPUT_MAX_ABS_AXES) return Err.ARGUMENT_INVALID;
      const entry = d.absInfo.find((x) => x.subsel === SUBSEL_FREE);
      if (entry === undefined) return Err.NORESOURCES;
      const e = copyIn(access, entry.data, va, size);
      if (e === Err.OK) entry.subsel = subsel;
      return e;
    }
    default:
      return Err.ARGUMENT_INVALID;
  }
}

/**
 * A frontend store in a virtio-input device's configuration (see the header): bytes at select
 * and subsel are stored and refresh `size` and `u`; the first byte at any other offset (and any
 * store below 0x100) is refused. True if the whole store was emulated.
 */
export function virtioInputConfigWrite(vio: VirtioMmio, off: number, size: number, val: number): boolean {
  if (off < CFG_BASE) return false;
  const b = vio.bytes;
  let o = off - CFG_BASE;
  let v = val;
  for (let i = 0; i < size; i++, o++, v >>>= 8) {
    if (o === CFG_SELECT) {
      b[CFG_BASE + CFG_SELECT] = v & 0xff;
      fillU(vio, v & 0xff, b[CFG_BASE + CFG_SUBSEL]!);
    } else if (o === CFG_SUBSEL) {
      b[CFG_BASE + CFG_SUBSEL] = v & 0xff;
      fillU(vio, b[CFG_BASE + CFG_SELECT]!, v & 0xff);
    } else {
      return false;
    }
  }
  return true;
}

/** Rewrite `size` and `u` for (select, subsel). */
function fillU(vio: VirtioMmio, sel: number, subsel: number): void {
  const d = vio.input!;
  const b = vio.bytes;
  const u = CFG_BASE + CFG_U;
  const C = VIRTIO_INPUT_CFG;
  let n = 0;
  switch (sel) {
    case C.ID_NAME:
    case C.ID_SERIAL:
      if (subsel === 0) {
        n = sel === C.ID_NAME ? d.nameSize : d.serialSize;
        b.set((sel === C.ID_NAME ? d.name : d.serial).subarray(0, n), u);
      }
      break;
    case C.ID_DEVIDS:
      if (subsel === 0) {
        b.set(d.devids, u);
        n = d.devids.length;
      }
      break;
    case C.PROP_BITS:
      if (subsel === 0) {
        b.set(d.propBits, u);
        n = d.propBits.length;
      }
      break;
    case C.EV_BITS:
      if (subsel < VIRTIO_INPUT_MAX_EV_TYPES) {
        const entry = d.evBits?.find((x) => x.subsel === subsel);
        if (entry !== undefined) {
          b.set(entry.data.subarray(0, entry.size), u);
          n = entry.size;
        }
      }
      break;
    case C.ABS_INFO:
      if (subsel < VIRTIO_INPUT_MAX_ABS_AXES) {
        const entry = d.absInfo?.find((x) => x.subsel === subsel);
        if (entry !== undefined) {
          b.set(entry.data, u);
          n = VIRTIO_INPUT_ABSINFO_SIZE;
        }
      }
      break;
    default:
  }
  b[CFG_BASE + CFG_SIZE] = n;
}
