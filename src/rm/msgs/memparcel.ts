// Memory parcels (resource-manager-protocol.md §2.8, lists §1.8): MEM_DONATE/LEND/SHARE, APPEND,
// ACCEPT, RELEASE, RECLAIM, NOTIFY, QCOM_LOOKUP_SGL, and the notifications MEM_SHARED,
// MEM_ACCEPTED, MEM_RELEASED, MEM_RECALL.
//
// List rules of the MEM_* messages (§1.8): at most 512 entries per list (NORESOURCE), a list
// header cut short or entries past the end → MSG_INVALID, trailing lists may be left out (empty),
// and the lists must use up the message exactly (MSG_INVALID). Encoders always write every list
// (Linux always sends an explicit empty attribute list).
//
// Left to the handlers, because the spec orders them after the handle lookup or makes them depend
// on the parcel: ACL rights combinations, mem_type/trans_type values and their match, MEM_ACCEPT's
// flag rules and map_vmid ≠ 0 (ARGUMENT_INVALID, after VALIDATE_FAILED — `mapVmid` is kept), the
// MEM_NOTIFY flags value (ARGUMENT_INVALID after HANDLE_INVALID) and its list's n = 0 or n > ACL
// size (ARGUMENT_INVALID). MEM_NOTIFY's own list errors (MSG_INVALID) come after the owner check
// (DENIED): a handler that needs that order decodes with `decodeMemNotifyHead` first and
// `decodeMemNotifyVmids` after its check.

import { MEM_LIST_MAX_ENTRIES, MsgId, RmError } from '../rpc/index.js';
import {
  checkUint,
  concat,
  decoded,
  fail,
  notificationOf,
  readTypedList,
  request,
  struct,
  u32Value,
  writeTypedList,
  type Codec,
  type DecodeFailure,
  type Decoded,
  type StructCodec,
} from './codec.js';
import { noData, vmidEntry } from './vm.js';

// ----------------------------------------------------------------------------- constants

/** ACL rights bits. Valid combinations: R, RX, RW, RWX. */
export const MemRights = { X: 1, W: 2, R: 4 } as const;
export const MemType = { NORMAL: 0, IO: 1 } as const;
export const TransType = { DONATE: 0, LEND: 1, SHARE: 2 } as const;
export const MemAttr = { NORMAL: 0, DEVICE: 1, UNCACHED: 2, CACHED: 3 } as const;
/** MEM_DONATE/LEND/SHARE flags. */
export const MemCreateFlag = { SANITIZE: 1, APPEND: 2 } as const;
/** MEM_APPEND flags bit 0: this is the last part. */
export const MEM_APPEND_FLAG_DONE = 1;
/** MEM_ACCEPT flags. */
export const MemAcceptFlag = {
  VALIDATE_SANITIZED: 1,
  VALIDATE_ACL_ATTR: 2,
  VALIDATE_LABEL: 4,
  MAP_OTHER: 8,
  MAP_CONTIGUOUS: 16,
  SANITIZE: 32,
  DONE: 128,
} as const;
/** MEM_ACCEPT reply flags bit 0: more IPAs to come, call again. */
export const MEM_ACCEPT_REPLY_INCOMPLETE = 1;
/** MEM_RELEASE / MEM_RECLAIM flags bit 0. */
export const MEM_RELEASE_FLAG_SANITIZE = 1;
/** MEM_NOTIFY flags: one value per message. */
export const MemNotifyFlag = { SHARED: 1, RELEASED: 2, ACCEPTED: 4, RECALL: 8 } as const;
/** MEM_SHARED notification flags bit 0: the parcel was sanitised at creation. */
export const MEM_SHARED_FLAG_SANITIZED = 1;

// ------------------------------------------------------------------------------- entries

/** ACL entry, 4 bytes `{u16 vmid; u8 rights; u8 res}`. */
export interface AclEntry {
  readonly vmid: number;
  readonly rights: number;
}
/** SGL entry, 16 bytes `{u64 ipa; u64 size}` (IPA in the sender's address space). */
export interface SglEntry {
  readonly ipa: bigint;
  readonly size: bigint;
}
/** Attribute entry, 4 bytes `{u16 attr; u16 vmid}`. */
export interface AttrEntry {
  readonly attr: number;
  readonly vmid: number;
}

export const aclEntry: StructCodec<AclEntry> = struct<AclEntry>('ACL entry', 4, {
  vmid: [0, 'u16'],
  rights: [2, 'u8'],
});
export const sglEntry: StructCodec<SglEntry> = struct<SglEntry>('SGL entry', 16, { ipa: [0, 'u64'], size: [8, 'u64'] });
export const attrEntry: StructCodec<AttrEntry> = struct<AttrEntry>('attribute entry', 4, {
  attr: [0, 'u16'],
  vmid: [2, 'u16'],
});

interface RegionSize {
  readonly size: bigint;
}
const regionSizeEntry = struct<RegionSize>('region size', 8, { size: [0, 'u64'] });

const view = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);

/** Reads the ACL, SGL and attribute lists from `offset` by the MEM_* rules. */
function readMemLists(
  b: Uint8Array,
  offset: number,
  name: string,
): Decoded<{ acl: AclEntry[]; sgl: SglEntry[]; sglField: number; attrs: AttrEntry[] }> {
  const acl = readTypedList(b, offset, aclEntry, MEM_LIST_MAX_ENTRIES, `${name} ACL`);
  if (!acl.ok) return acl;
  const sgl = readTypedList(b, acl.next, sglEntry, MEM_LIST_MAX_ENTRIES, `${name} SGL`);
  if (!sgl.ok) return sgl;
  const attrs = readTypedList(b, sgl.next, attrEntry, MEM_LIST_MAX_ENTRIES, `${name} attributes`);
  if (!attrs.ok) return attrs;
  if (attrs.next !== b.length) {
    return fail(RmError.MSG_INVALID, `${name}: ${b.length - attrs.next} bytes after the last list`);
  }
  return decoded({ acl: acl.items, sgl: sgl.items, sglField: sgl.field, attrs: attrs.items });
}

const tooShort = (name: string, b: Uint8Array, min: number): DecodeFailure | null =>
  b.length < min ? fail(RmError.MSG_INVALID, `${name}: ${b.length} bytes, need at least ${min}`) : null;

// ------------------------------------------------------------------ MEM_DONATE / LEND / SHARE

/**
 * MEM_DONATE / MEM_LEND / MEM_SHARE: `{u8 mem_type; u8 res; u8 flags; u8 res; u32 label; ACL; SGL;
 * attributes}`, at least 20 bytes. OK reply `{u32 handle}`.
 */
export interface MemCreateRequest {
  readonly memType: number;
  readonly flags: number;
  readonly label: number;
  readonly acl: readonly AclEntry[];
  readonly sgl: readonly SglEntry[];
  readonly attrs: readonly AttrEntry[];
}

/** The fixed part plus the ACL and SGL list headers. */
export const MEM_CREATE_MIN_SIZE = 20;

function memCreateRequest(name: string): Codec<MemCreateRequest> {
  const full = `${name} request`;
  return {
    name: full,
    encode(v) {
      const head = new Uint8Array(8);
      const dv = view(head);
      checkUint(`${full}: mem_type`, 'u8', v.memType);
      checkUint(`${full}: flags`, 'u8', v.flags);
      checkUint(`${full}: label`, 'u32', v.label);
      dv.setUint8(0, v.memType);
      dv.setUint8(2, v.flags);
      dv.setUint32(4, v.label, true);
      return concat([
        head,
        writeTypedList(v.acl, aclEntry),
        writeTypedList(v.sgl, sglEntry),
        writeTypedList(v.attrs, attrEntry),
      ]);
    },
    decode(b) {
      const short = tooShort(full, b, MEM_CREATE_MIN_SIZE);
      if (short) return short;
      const dv = view(b);
      const lists = readMemLists(b, 8, full);
      if (!lists.ok) return lists;
      const { acl, sgl, attrs } = lists.value;
      return decoded({ memType: dv.getUint8(0), flags: dv.getUint8(2), label: dv.getUint32(4, true), acl, sgl, attrs });
    },
  };
}

export const memDonateMsg = request(
  MsgId.MEM_DONATE,
  'MEM_DONATE',
  memCreateRequest('MEM_DONATE'),
  u32Value('MEM_DONATE reply'),
);
export const memLendMsg = request(MsgId.MEM_LEND, 'MEM_LEND', memCreateRequest('MEM_LEND'), u32Value('MEM_LEND reply'));
export const memShareMsg = request(
  MsgId.MEM_SHARE,
  'MEM_SHARE',
  memCreateRequest('MEM_SHARE'),
  u32Value('MEM_SHARE reply'),
);

// ---------------------------------------------------------------------------- MEM_APPEND

/** MEM_APPEND: `{u32 handle; u8 flags (bit 0 DONE); u8 res[3]; SGL}`. */
export interface MemAppendRequest {
  readonly handle: number;
  readonly flags: number;
  readonly sgl: readonly SglEntry[];
}

/**
 * [infer] At least the 8-byte fixed part; the SGL follows the MEM_* list rules (so it may be left
 * out, and nothing may follow it).
 */
const memAppendRequest: Codec<MemAppendRequest> = {
  name: 'MEM_APPEND request',
  encode(v) {
    checkUint('MEM_APPEND request: handle', 'u32', v.handle);
    checkUint('MEM_APPEND request: flags', 'u8', v.flags);
    const head = new Uint8Array(8);
    const dv = view(head);
    dv.setUint32(0, v.handle, true);
    dv.setUint8(4, v.flags);
    return concat([head, writeTypedList(v.sgl, sglEntry)]);
  },
  decode(b) {
    const name = 'MEM_APPEND request';
    const short = tooShort(name, b, 8);
    if (short) return short;
    const sgl = readTypedList(b, 8, sglEntry, MEM_LIST_MAX_ENTRIES, `${name} SGL`);
    if (!sgl.ok) return sgl;
    if (sgl.next !== b.length) return fail(RmError.MSG_INVALID, `${name}: ${b.length - sgl.next} bytes after the SGL`);
    const dv = view(b);
    return decoded({ handle: dv.getUint32(0, true), flags: dv.getUint8(4), sgl: sgl.items });
  },
};
export const memAppendMsg = request(MsgId.MEM_APPEND, 'MEM_APPEND', memAppendRequest, noData('MEM_APPEND'));

// ---------------------------------------------------------------------------- MEM_ACCEPT

/**
 * MEM_ACCEPT: `{u32 handle; u8 mem_type; u8 trans_type; u8 flags; u8 res; u32 label; ACL; SGL
 * (its header's second u16 is map_vmid); attributes}`, at least 24 bytes. An empty SGL asks the RM
 * to choose the IPAs.
 */
export interface MemAcceptRequest {
  readonly handle: number;
  readonly memType: number;
  readonly transType: number;
  readonly flags: number;
  readonly label: number;
  readonly acl: readonly AclEntry[];
  /** Must be 0 (ARGUMENT_INVALID, checked by the handler at its place in the order). */
  readonly mapVmid: number;
  readonly sgl: readonly SglEntry[];
  readonly attrs: readonly AttrEntry[];
}

export const MEM_ACCEPT_MIN_SIZE = 24;

const memAcceptRequest: Codec<MemAcceptRequest> = {
  name: 'MEM_ACCEPT request',
  encode(v) {
    const name = 'MEM_ACCEPT request';
    checkUint(`${name}: handle`, 'u32', v.handle);
    checkUint(`${name}: mem_type`, 'u8', v.memType);
    checkUint(`${name}: trans_type`, 'u8', v.transType);
    checkUint(`${name}: flags`, 'u8', v.flags);
    checkUint(`${name}: label`, 'u32', v.label);
    checkUint(`${name}: map_vmid`, 'u16', v.mapVmid);
    const head = new Uint8Array(12);
    const dv = view(head);
    dv.setUint32(0, v.handle, true);
    dv.setUint8(4, v.memType);
    dv.setUint8(5, v.transType);
    dv.setUint8(6, v.flags);
    dv.setUint32(8, v.label, true);
    return concat([
      head,
      writeTypedList(v.acl, aclEntry),
      writeTypedList(v.sgl, sglEntry, v.mapVmid),
      writeTypedList(v.attrs, attrEntry),
    ]);
  },
  decode(b) {
    const name = 'MEM_ACCEPT request';
    const short = tooShort(name, b, MEM_ACCEPT_MIN_SIZE);
    if (short) return short;
    const lists = readMemLists(b, 12, name);
    if (!lists.ok) return lists;
    const dv = view(b);
    const { acl, sgl, sglField, attrs } = lists.value;
    return decoded({
      handle: dv.getUint32(0, true),
      memType: dv.getUint8(4),
      transType: dv.getUint8(5),
      flags: dv.getUint8(6),
      label: dv.getUint32(8, true),
      acl,
      mapVmid: sglField,
      sgl,
      attrs,
    });
  },
};

/**
 * MEM_ACCEPT's OK reply when the request's SGL was empty: `{u16 n; u8 flags (bit 0 INCOMPLETE); u8
 * res; n × SGL entry}` (n ≤ 512); with IPAs given, no data (null).
 */
export interface MemAcceptPlaced {
  readonly flags: number;
  readonly sgl: readonly SglEntry[];
}

const memAcceptReply: Codec<MemAcceptPlaced | null> = {
  name: 'MEM_ACCEPT reply',
  encode(v) {
    if (v === null) return new Uint8Array(0);
    checkUint('MEM_ACCEPT reply: count', 'u16', v.sgl.length);
    checkUint('MEM_ACCEPT reply: flags', 'u8', v.flags);
    const head = new Uint8Array(4);
    const dv = view(head);
    dv.setUint16(0, v.sgl.length, true);
    dv.setUint8(2, v.flags);
    return concat([head, ...v.sgl.map((e) => sglEntry.encode(e))]);
  },
  decode(b) {
    const name = 'MEM_ACCEPT reply';
    if (b.length === 0) return decoded(null);
    if (b.length < 4) return fail(RmError.MSG_INVALID, `${name}: ${b.length} bytes, need 0 or at least 4`);
    const dv = view(b);
    const n = dv.getUint16(0, true);
    if (n > MEM_LIST_MAX_ENTRIES)
      return fail(RmError.NORESOURCE, `${name}: ${n} IPAs, at most ${MEM_LIST_MAX_ENTRIES}`);
    if (b.length !== 4 + 16 * n)
      return fail(RmError.MSG_INVALID, `${name}: ${n} IPAs need ${4 + 16 * n} bytes, got ${b.length}`);
    const sgl: SglEntry[] = [];
    for (let i = 0; i < n; i++) {
      const e = sglEntry.decode(b.subarray(4 + 16 * i, 20 + 16 * i));
      if (!e.ok) return e;
      sgl.push(e.value);
    }
    return decoded({ flags: dv.getUint8(2), sgl });
  },
};
export const memAcceptMsg = request(MsgId.MEM_ACCEPT, 'MEM_ACCEPT', memAcceptRequest, memAcceptReply);

// ------------------------------------------------------------------- MEM_RELEASE / RECLAIM

/** MEM_RELEASE / MEM_RECLAIM: `{u32 handle; u8 flags (bit 0 SANITIZE); u8 res[3]}`, at least 8 bytes. */
export interface MemHandleRequest {
  readonly handle: number;
  readonly flags: number;
}
const memHandleRequest = (name: string): StructCodec<MemHandleRequest> =>
  struct<MemHandleRequest>(`${name} request`, 8, { handle: [0, 'u32'], flags: [4, 'u8'] }, { length: 'min' });

export const memReleaseMsg = request(
  MsgId.MEM_RELEASE,
  'MEM_RELEASE',
  memHandleRequest('MEM_RELEASE'),
  noData('MEM_RELEASE'),
);
export const memReclaimMsg = request(
  MsgId.MEM_RECLAIM,
  'MEM_RECLAIM',
  memHandleRequest('MEM_RECLAIM'),
  noData('MEM_RECLAIM'),
);

// ---------------------------------------------------------------------------- MEM_NOTIFY

/**
 * MEM_NOTIFY: `{u32 handle; u8 flags; u8 res[3]; u32 mem_info_tag}`, then for SHARED and RECALL
 * `{u16 n; u16 res; n × {u16 vmid; u16 res}}`. `vmids` is present exactly for those two flags.
 */
export interface MemNotifyRequest {
  readonly handle: number;
  readonly flags: number;
  readonly memInfoTag: number;
  readonly vmids?: readonly number[];
}

export const MEM_NOTIFY_MIN_SIZE = 12;

/** Whether a MEM_NOTIFY with these flags carries the VMID list. */
export const memNotifyHasList = (flags: number): boolean =>
  flags === MemNotifyFlag.SHARED || flags === MemNotifyFlag.RECALL;

/** The fixed part of MEM_NOTIFY (at least 12 bytes, MSG_INVALID), for handlers that check the caller before the list. */
export function decodeMemNotifyHead(b: Uint8Array): Decoded<Omit<MemNotifyRequest, 'vmids'>> {
  const short = tooShort('MEM_NOTIFY request', b, MEM_NOTIFY_MIN_SIZE);
  if (short) return short;
  const dv = view(b);
  return decoded({ handle: dv.getUint32(0, true), flags: dv.getUint8(4), memInfoTag: dv.getUint32(8, true) });
}

/**
 * MEM_NOTIFY's VMID list at offset 12: fewer than 16 bytes, or entries past the end → MSG_INVALID;
 * bytes after the list are tolerated (§2.8). No entry cap here: n = 0 and n > ACL size are the
 * handler's (ARGUMENT_INVALID).
 */
export function decodeMemNotifyVmids(b: Uint8Array): Decoded<number[]> {
  if (b.length < 16) return fail(RmError.MSG_INVALID, `MEM_NOTIFY request: ${b.length} bytes, the VMID list needs 16`);
  const l = readTypedList(b, 12, vmidEntry, 0xffff, 'MEM_NOTIFY VMID list');
  return l.ok ? decoded(l.items.map((e) => e.vmid)) : l;
}

const memNotifyRequest: Codec<MemNotifyRequest> = {
  name: 'MEM_NOTIFY request',
  encode(v) {
    const name = 'MEM_NOTIFY request';
    checkUint(`${name}: handle`, 'u32', v.handle);
    checkUint(`${name}: flags`, 'u8', v.flags);
    checkUint(`${name}: mem_info_tag`, 'u32', v.memInfoTag);
    const head = new Uint8Array(12);
    const dv = view(head);
    dv.setUint32(0, v.handle, true);
    dv.setUint8(4, v.flags);
    dv.setUint32(8, v.memInfoTag, true);
    if (v.vmids === undefined) return head;
    return concat([
      head,
      writeTypedList(
        v.vmids.map((vmid) => ({ vmid })),
        vmidEntry,
      ),
    ]);
  },
  decode(b) {
    const head = decodeMemNotifyHead(b);
    if (!head.ok || !memNotifyHasList(head.value.flags)) return head;
    const vmids = decodeMemNotifyVmids(b);
    return vmids.ok ? decoded({ ...head.value, vmids: vmids.value }) : vmids;
  },
};
export const memNotifyMsg = request(MsgId.MEM_NOTIFY, 'MEM_NOTIFY', memNotifyRequest, noData('MEM_NOTIFY'));

// ---------------------------------------------------------------------- MEM_QCOM_LOOKUP_SGL

/** MEM_QCOM_LOOKUP_SGL: `{u8 mem_type; u8 res[3]; u32 label; ACL; SGL; attrs}`, at least 16 bytes; reply `{u32 handle}`. */
export interface MemLookupSglRequest {
  readonly memType: number;
  readonly label: number;
  readonly acl: readonly AclEntry[];
  readonly sgl: readonly SglEntry[];
  readonly attrs: readonly AttrEntry[];
}

export const MEM_LOOKUP_SGL_MIN_SIZE = 16;

const memLookupSglRequest: Codec<MemLookupSglRequest> = {
  name: 'MEM_QCOM_LOOKUP_SGL request',
  encode(v) {
    const name = 'MEM_QCOM_LOOKUP_SGL request';
    checkUint(`${name}: mem_type`, 'u8', v.memType);
    checkUint(`${name}: label`, 'u32', v.label);
    const head = new Uint8Array(8);
    const dv = view(head);
    dv.setUint8(0, v.memType);
    dv.setUint32(4, v.label, true);
    return concat([
      head,
      writeTypedList(v.acl, aclEntry),
      writeTypedList(v.sgl, sglEntry),
      writeTypedList(v.attrs, attrEntry),
    ]);
  },
  decode(b) {
    const name = 'MEM_QCOM_LOOKUP_SGL request';
    const short = tooShort(name, b, MEM_LOOKUP_SGL_MIN_SIZE);
    if (short) return short;
    const lists = readMemLists(b, 8, name);
    if (!lists.ok) return lists;
    const dv = view(b);
    const { acl, sgl, attrs } = lists.value;
    return decoded({ memType: dv.getUint8(0), label: dv.getUint32(4, true), acl, sgl, attrs });
  },
};
export const memLookupSglMsg = request(
  MsgId.MEM_QCOM_LOOKUP_SGL,
  'MEM_QCOM_LOOKUP_SGL',
  memLookupSglRequest,
  u32Value('MEM_QCOM_LOOKUP_SGL reply'),
);

// ---------------------------------------------------------------------------- notifications

/**
 * MEM_SHARED (to each target): `{u32 handle; u8 mem_type; u8 trans_type; u8 flags; u8 res; u16
 * owner_vmid; u16 res; u32 label; u32 tag}` (20 bytes) then three lists: ACL entries, region sizes
 * (u64 each — the RM sends sizes only, no IPAs), attribute entries. Decoded by the MEM_* list rules
 * [infer: the RM builds it with the same list writer]: ≤ 512 entries each, exact fill.
 */
export interface MemSharedNotification {
  readonly handle: number;
  readonly memType: number;
  readonly transType: number;
  readonly flags: number;
  readonly ownerVmid: number;
  readonly label: number;
  readonly tag: number;
  readonly acl: readonly AclEntry[];
  readonly regionSizes: readonly bigint[];
  readonly attrs: readonly AttrEntry[];
}

const memSharedPayload: Codec<MemSharedNotification> = {
  name: 'MEM_SHARED notification',
  encode(v) {
    const name = 'MEM_SHARED notification';
    checkUint(`${name}: handle`, 'u32', v.handle);
    checkUint(`${name}: mem_type`, 'u8', v.memType);
    checkUint(`${name}: trans_type`, 'u8', v.transType);
    checkUint(`${name}: flags`, 'u8', v.flags);
    checkUint(`${name}: owner_vmid`, 'u16', v.ownerVmid);
    checkUint(`${name}: label`, 'u32', v.label);
    checkUint(`${name}: tag`, 'u32', v.tag);
    const head = new Uint8Array(20);
    const dv = view(head);
    dv.setUint32(0, v.handle, true);
    dv.setUint8(4, v.memType);
    dv.setUint8(5, v.transType);
    dv.setUint8(6, v.flags);
    dv.setUint16(8, v.ownerVmid, true);
    dv.setUint32(12, v.label, true);
    dv.setUint32(16, v.tag, true);
    return concat([
      head,
      writeTypedList(v.acl, aclEntry),
      writeTypedList(
        v.regionSizes.map((size) => ({ size })),
        regionSizeEntry,
      ),
      writeTypedList(v.attrs, attrEntry),
    ]);
  },
  decode(b) {
    const name = 'MEM_SHARED notification';
    const short = tooShort(name, b, 20);
    if (short) return short;
    const acl = readTypedList(b, 20, aclEntry, MEM_LIST_MAX_ENTRIES, `${name} ACL`);
    if (!acl.ok) return acl;
    const sizes = readTypedList(b, acl.next, regionSizeEntry, MEM_LIST_MAX_ENTRIES, `${name} regions`);
    if (!sizes.ok) return sizes;
    const attrs = readTypedList(b, sizes.next, attrEntry, MEM_LIST_MAX_ENTRIES, `${name} attributes`);
    if (!attrs.ok) return attrs;
    if (attrs.next !== b.length)
      return fail(RmError.MSG_INVALID, `${name}: ${b.length - attrs.next} bytes after the last list`);
    const dv = view(b);
    return decoded({
      handle: dv.getUint32(0, true),
      memType: dv.getUint8(4),
      transType: dv.getUint8(5),
      flags: dv.getUint8(6),
      ownerVmid: dv.getUint16(8, true),
      label: dv.getUint32(12, true),
      tag: dv.getUint32(16, true),
      acl: acl.items,
      regionSizes: sizes.items.map((r) => r.size),
      attrs: attrs.items,
    });
  },
};
export const memSharedNotification = notificationOf(MsgId.MEM_SHARED, 'MEM_SHARED', memSharedPayload);

/** MEM_ACCEPTED / MEM_RELEASED (to the owner): 12 bytes `{u32 handle; u16 vmid; u16 res; u32 tag}`. */
export interface MemOwnerNotification {
  readonly handle: number;
  readonly vmid: number;
  readonly tag: number;
}
const memOwnerPayload = (name: string): StructCodec<MemOwnerNotification> =>
  struct<MemOwnerNotification>(`${name} notification`, 12, { handle: [0, 'u32'], vmid: [4, 'u16'], tag: [8, 'u32'] });
export const memAcceptedNotification = notificationOf(
  MsgId.MEM_ACCEPTED,
  'MEM_ACCEPTED',
  memOwnerPayload('MEM_ACCEPTED'),
);
export const memReleasedNotification = notificationOf(
  MsgId.MEM_RELEASED,
  'MEM_RELEASED',
  memOwnerPayload('MEM_RELEASED'),
);

/** MEM_RECALL (to the borrowers): 8 bytes `{u32 handle; u32 tag}`. */
export interface MemRecallNotification {
  readonly handle: number;
  readonly tag: number;
}
export const memRecallNotification = notificationOf(
  MsgId.MEM_RECALL,
  'MEM_RECALL',
  struct<MemRecallNotification>('MEM_RECALL notification', 8, { handle: [0, 'u32'], tag: [4, 'u32'] }),
);
