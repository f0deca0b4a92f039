// Platform and miscellaneous messages (resource-manager-protocol.md §2.9): IPA_RESERVE with its
// fixed and alloc lists, FW_MILESTONE, FW_SET_VM_FIRMWARE. (IPA_UNRESERVE has no layout: the RM
// answers it UNIMPLEMENTED.)
//
// Left to the handler: the caller checks that come first (no IPA allocator → DENIED; not VMID 3 or
// after the milestone → DENIED), and whether the constraints map to an address tag
// (ARGUMENT_INVALID).

import { IPA_RESERVE_LIST_MAX_ENTRIES, MsgId, RmError } from '../rpc/index.js';
import {
  checkUint,
  concat,
  decoded,
  empty,
  fail,
  readCounted,
  readTypedList,
  request,
  struct,
  writeCounted,
  writeTypedList,
  type Codec,
} from './codec.js';
import { noData } from './vm.js';

// ----------------------------------------------------------------------------- IPA_RESERVE

export const IpaAllocType = { FIXED: 0, ALLOC: 1 } as const;
/** Generic constraint bits. */
export const IpaConstraint = {
  ECC: 0x1,
  TAGGED: 0x2,
  NORMAL: 0x4,
  IO: 0x8,
  OWNER_VM_VISIBLE: 0x10,
  EXTERNAL_BUS_VISIBLE: 0x20,
  BASE_MEMORY_COMPATIBLE: 0x40,
} as const;

/** A fixed-list entry: reserve exactly [base, base + size). */
export interface IpaFixedRange {
  readonly base: bigint;
  readonly size: bigint;
}
/** An alloc-list entry: find `size` bytes aligned to `alignment` inside the region. */
export interface IpaAllocRange {
  readonly regionBase: bigint;
  readonly regionSize: bigint;
  readonly size: bigint;
  readonly alignment: bigint;
}

const fixedEntry = struct<IpaFixedRange>('IPA_RESERVE fixed entry', 16, { base: [0, 'u64'], size: [8, 'u64'] });
const allocEntry = struct<IpaAllocRange>('IPA_RESERVE alloc entry', 32, {
  regionBase: [0, 'u64'],
  regionSize: [8, 'u64'],
  size: [16, 'u64'],
  alignment: [24, 'u64'],
});

interface IpaReserveCommon {
  readonly genericConstraints: number;
  readonly platformConstraints: number;
}
/**
 * IPA_RESERVE: 12-byte header `{u8 alloc_type; u8 res; u16 res; u32 generic_constraints; u32
 * platform_constraints}`, then one list of fixed or alloc entries.
 */
export type IpaReserveRequest =
  | (IpaReserveCommon & { readonly allocType: typeof IpaAllocType.FIXED; readonly ranges: readonly IpaFixedRange[] })
  | (IpaReserveCommon & { readonly allocType: typeof IpaAllocType.ALLOC; readonly ranges: readonly IpaAllocRange[] });

/** The header plus the (mandatory) list header. */
export const IPA_RESERVE_MIN_SIZE = 16;

/**
 * Decoding, in this order: under 16 bytes → MSG_INVALID; alloc_type not 0/1 → MSG_INVALID; more than
 * 30 entries → NORESOURCE; a length other than the list's exact end → MSG_INVALID.
 */
const ipaReserveRequest: Codec<IpaReserveRequest> = {
  name: 'IPA_RESERVE request',
  encode(v) {
    const name = 'IPA_RESERVE request';
    checkUint(`${name}: generic_constraints`, 'u32', v.genericConstraints);
    checkUint(`${name}: platform_constraints`, 'u32', v.platformConstraints);
    const head = new Uint8Array(12);
    const dv = new DataView(head.buffer);
    dv.setUint8(0, v.allocType);
    dv.setUint32(4, v.genericConstraints, true);
    dv.setUint32(8, v.platformConstraints, true);
    const list =
      v.allocType === IpaAllocType.FIXED ? writeTypedList(v.ranges, fixedEntry) : writeTypedList(v.ranges, allocEntry);
    return concat([head, list]);
  },
  decode(b) {
    const name = 'IPA_RESERVE request';
    if (b.length < IPA_RESERVE_MIN_SIZE) {
      return fail(RmError.MSG_INVALID, `${name}: ${b.length} bytes, need at least ${IPA_RESERVE_MIN_SIZE}`);
    }
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const allocType = dv.getUint8(0);
    const common = { genericConstraints: dv.getUint32(4, true), platformConstraints: dv.getUint32(8, true) };
    if (allocType === IpaAllocType.FIXED) {
      const l = readTypedList(b, 12, fixedEntry, IPA_RESERVE_LIST_MAX_ENTRIES, `${name} list`);
      if (!l.ok) return l;
      if (l.next !== b.length) return fail(RmError.MSG_INVALID, `${name}: ${b.length - l.next} bytes after the list`);
      return decoded({ allocType, ...common, ranges: l.items });
    }
    if (allocType === IpaAllocType.ALLOC) {
      const l = readTypedList(b, 12, allocEntry, IPA_RESERVE_LIST_MAX_ENTRIES, `${name} list`);
      if (!l.ok) return l;
      if (l.next !== b.length) return fail(RmError.MSG_INVALID, `${name}: ${b.length - l.next} bytes after the list`);
      return decoded({ allocType, ...common, ranges: l.items });
    }
    return fail(RmError.MSG_INVALID, `${name}: alloc_type ${allocType} is not 0 or 1`);
  },
};

/**
 * IPA_RESERVE's OK reply: for an alloc list `{u32 n; n × u64 chosen base}` (bases only), for a fixed
 * list no data (null).
 */
export interface IpaReservePlaced {
  readonly bases: readonly bigint[];
}
interface BaseEntry {
  readonly base: bigint;
}
const baseEntry = struct<BaseEntry>('IPA_RESERVE chosen base', 8, { base: [0, 'u64'] });
const ipaReserveReply: Codec<IpaReservePlaced | null> = {
  name: 'IPA_RESERVE reply',
  encode: (v) =>
    v === null
      ? new Uint8Array(0)
      : writeCounted(
          v.bases.map((base) => ({ base })),
          baseEntry,
        ),
  decode(b) {
    if (b.length === 0) return decoded(null);
    const d = readCounted(b, 0, baseEntry, 'IPA_RESERVE reply');
    return d.ok ? decoded({ bases: d.value.map((e) => e.base) }) : d;
  },
};

export const ipaReserveMsg = request(MsgId.IPA_RESERVE, 'IPA_RESERVE', ipaReserveRequest, ipaReserveReply);

// ---------------------------------------------------------------------------- firmware

/** FW_MILESTONE: empty (MSG_INVALID otherwise). */
export const fwMilestoneMsg = request(
  MsgId.FW_MILESTONE,
  'FW_MILESTONE',
  empty('FW_MILESTONE request'),
  noData('FW_MILESTONE'),
);

/**
 * FW_SET_VM_FIRMWARE: 24 bytes exact `{u16 auth_type; u16 res; u32 memparcel; u64 offset; u64
 * size}`; a non-zero res is UNIMPLEMENTED (the spec's code), checked after the length.
 */
export interface FwSetVmFirmwareRequest {
  readonly authType: number;
  readonly memparcel: number;
  readonly offset: bigint;
  readonly size: bigint;
}
export const fwSetVmFirmwareMsg = request(
  MsgId.FW_SET_VM_FIRMWARE,
  'FW_SET_VM_FIRMWARE',
  struct<FwSetVmFirmwareRequest>(
    'FW_SET_VM_FIRMWARE request',
    24,
    { authType: [0, 'u16'], memparcel: [4, 'u32'], offset: [8, 'u64'], size: [16, 'u64'] },
    { mustBeZero: [[2, 'u16', RmError.UNIMPLEMENTED]] },
  ),
  noData('FW_SET_VM_FIRMWARE'),
);
