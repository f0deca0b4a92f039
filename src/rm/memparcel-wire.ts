// The memory-parcel messages on the wire (resource-manager-protocol.md §2.8, lists §1.8): request
// parsing for MEM_LEND / MEM_SHARE / MEM_DONATE, MEM_APPEND, MEM_ACCEPT, MEM_RELEASE / MEM_RECLAIM
// and MEM_NOTIFY, and the encoders of the replies that carry data and of the four notifications
// MEM_SHARED, MEM_RELEASED, MEM_ACCEPTED and MEM_RECALL. Pure functions over Uint8Array: every
// malformed request yields an RM error code, never an exception.
//
// Kept apart from the parcel policy (memparcel.ts) so that it can later give way to the shared
// payload codecs of src/rm/msgs/ without touching the policy.

import {
  LIST_HEADER_SIZE,
  MEM_LIST_MAX_ENTRIES,
  RmError,
  readLists,
  type ListLayout,
  type RpcList,
} from './rpc/index.js';

/** mem_type (§2.8). */
export const MemType = { NORMAL: 0, IO: 1 } as const;
/** trans_type (§2.8): the order of the values is the RM's, not the message IDs'. */
export const TransType = { DONATE: 0, LEND: 1, SHARE: 2 } as const;
/** ACL rights bits (§2.8); the valid combinations are R, RX, RW and RWX. */
export const MemRights = { X: 1, W: 2, R: 4, RX: 5, RW: 6, RWX: 7 } as const;
/** Attribute values (§2.8). */
export const MemAttr = { NORMAL: 0, DEVICE: 1, UNCACHED: 2, CACHED: 3 } as const;

/** Create flags (byte 2 of LEND/SHARE/DONATE). */
export const CREATE_FLAG_SANITIZE = 1;
export const CREATE_FLAG_APPEND = 2;
/** MEM_APPEND flags. */
export const APPEND_FLAG_DONE = 1;
/** MEM_ACCEPT flags. */
export const AcceptFlag = {
  VALIDATE_SANITIZED: 1,
  VALIDATE_ACL_ATTR: 2,
  VALIDATE_LABEL: 4,
  MAP_OTHER: 8,
  MAP_CONTIGUOUS: 16,
  SANITIZE: 32,
  DONE: 128,
} as const;
/** MEM_ACCEPT reply flags: bit 0 INCOMPLETE (more IPAs to place: call again). */
export const ACCEPT_RESP_INCOMPLETE = 1;
/** MEM_RELEASE / MEM_RECLAIM flags. */
export const RELEASE_FLAG_SANITIZE = 1;
/** MEM_NOTIFY flags: exactly one of these values. */
export const NotifyFlag = { SHARED: 1, RELEASED: 2, ACCEPTED: 4, RECALL: 8 } as const;

/** Fixed request sizes (the RM's request structs; shorter requests are MSG_INVALID). */
export const CREATE_MIN = 20;
export const APPEND_MIN = 12;
export const ACCEPT_MIN = 24;
export const RELEASE_MIN = 8;
export const NOTIFY_MIN = 12;

export interface AclEntry {
  readonly vmid: number;
  readonly rights: number;
}
export interface SglEntry {
  readonly ipa: bigint;
  readonly size: bigint;
}
export interface AttrEntry {
  readonly attr: number;
  readonly vmid: number;
}

const ACL: ListLayout = { entrySize: 4, maxEntries: MEM_LIST_MAX_ENTRIES };
const SGL: ListLayout = { entrySize: 16, maxEntries: MEM_LIST_MAX_ENTRIES };
const ATTR: ListLayout = { entrySize: 4, maxEntries: MEM_LIST_MAX_ENTRIES };

export interface WireError {
  readonly ok: false;
  readonly error: number;
}
const fail = (error: number): WireError => ({ ok: false, error });

const view = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);

const aclOf = (l: RpcList): AclEntry[] =>
  l.entries.map((e) => {
    const d = view(e);
    return { vmid: d.getUint16(0, true), rights: d.getUint8(2) };
  });
const sglOf = (l: RpcList): SglEntry[] =>
  l.entries.map((e) => {
    const d = view(e);
    return { ipa: d.getBigUint64(0, true), size: d.getBigUint64(8, true) };
  });
const attrOf = (l: RpcList): AttrEntry[] =>
  l.entries.map((e) => {
    const d = view(e);
    return { attr: d.getUint16(0, true), vmid: d.getUint16(2, true) };
  });

export interface CreateRequest {
  readonly ok: true;
  readonly memType: number;
  readonly flags: number;
  readonly label: number;
  readonly acl: AclEntry[];
  readonly sgl: SglEntry[];
  readonly attrs: AttrEntry[];
}

/**
 * MEM_LEND / MEM_SHARE / MEM_DONATE: `{u8 mem_type; u8 res; u8 flags; u8 res; u32 label}` then the
 * ACL, SGL and attribute lists, which must use the buffer up exactly (§1.8).
 */
export function parseCreate(p: Uint8Array): CreateRequest | WireError {
  if (p.length < CREATE_MIN) return fail(RmError.MSG_INVALID);
  const r = readLists(p, 8, [ACL, SGL, ATTR], true);
  if (!r.ok) return fail(r.error);
  const d = view(p);
  return {
    ok: true,
    memType: d.getUint8(0),
    flags: d.getUint8(2),
    label: d.getUint32(4, true),
    acl: aclOf(r.lists[0]!),
    sgl: sglOf(r.lists[1]!),
    attrs: attrOf(r.lists[2]!),
  };
}

export interface AppendRequest {
  readonly ok: true;
  readonly handle: number;
  readonly flags: number;
  readonly sgl: SglEntry[];
}

/** MEM_APPEND: `{u32 handle; u8 flags; u8 res[3]}` then the SGL list (the whole rest). */
export function parseAppend(p: Uint8Array): AppendRequest | WireError {
  if (p.length < APPEND_MIN) return fail(RmError.MSG_INVALID);
  const r = readLists(p, 8, [SGL], true);
  if (!r.ok) return fail(r.error);
  const d = view(p);
  return { ok: true, handle: d.getUint32(0, true), flags: d.getUint8(4), sgl: sglOf(r.lists[0]!) };
}

export interface AcceptRequest {
  readonly ok: true;
  readonly handle: number;
  readonly memType: number;
  readonly transType: number;
  readonly flags: number;
  readonly label: number;
  readonly acl: AclEntry[];
  /** The IPAs the accepter asks for (empty: the RM chooses). */
  readonly sgl: SglEntry[];
  /** The SGL list's second u16: the VM to map into (must be 0 = the caller). */
  readonly mapVmid: number;
  readonly attrs: AttrEntry[];
}

/** MEM_ACCEPT: `{u32 handle; u8 mem_type; u8 trans_type; u8 flags; u8 res; u32 label}` + 3 lists. */
export function parseAccept(p: Uint8Array): AcceptRequest | WireError {
  if (p.length < ACCEPT_MIN) return fail(RmError.MSG_INVALID);
  const r = readLists(p, 12, [ACL, SGL, ATTR], true);
  if (!r.ok) return fail(r.error);
  const d = view(p);
  return {
    ok: true,
    handle: d.getUint32(0, true),
    memType: d.getUint8(4),
    transType: d.getUint8(5),
    flags: d.getUint8(6),
    label: d.getUint32(8, true),
    acl: aclOf(r.lists[0]!),
    sgl: sglOf(r.lists[1]!),
    mapVmid: r.lists[1]!.field,
    attrs: attrOf(r.lists[2]!),
  };
}

export interface HandleFlagsRequest {
  readonly ok: true;
  readonly handle: number;
  readonly flags: number;
}

/** MEM_RELEASE / MEM_RECLAIM: `{u32 handle; u8 flags; u8 res[3]}`, at least 8 bytes (more is ignored). */
export function parseHandleFlags(p: Uint8Array): HandleFlagsRequest | WireError {
  if (p.length < RELEASE_MIN) return fail(RmError.MSG_INVALID);
  const d = view(p);
  return { ok: true, handle: d.getUint32(0, true), flags: d.getUint8(4) };
}

export interface NotifyRequest {
  readonly ok: true;
  readonly handle: number;
  readonly flags: number;
  readonly tag: number;
}

/** MEM_NOTIFY's fixed part: `{u32 handle; u8 flags; u8 res[3]; u32 mem_info_tag}`. */
export function parseNotify(p: Uint8Array): NotifyRequest | WireError {
  if (p.length < NOTIFY_MIN) return fail(RmError.MSG_INVALID);
  const d = view(p);
  return { ok: true, handle: d.getUint32(0, true), flags: d.getUint8(4), tag: d.getUint32(8, true) };
}

/**
 * MEM_NOTIFY's VMID list (SHARED and RECALL): `{u16 n; u16 res; n × {u16 vmid; u16 res}}` at byte
 * 12. Fewer than 16 bytes, or entries past the end → MSG_INVALID; n = 0 or n > `aclSize` →
 * ARGUMENT_INVALID (checked between the two length checks, as the RM does); bytes after the list
 * are tolerated (§2.8).
 */
export function parseNotifyVmids(p: Uint8Array, aclSize: number): { ok: true; vmids: number[] } | WireError {
  const at = NOTIFY_MIN + LIST_HEADER_SIZE;
  if (p.length < at) return fail(RmError.MSG_INVALID);
  const d = view(p);
  const n = d.getUint16(NOTIFY_MIN, true);
  if (n === 0) return fail(RmError.ARGUMENT_INVALID);
  if (p.length < at + 4 * n) return fail(RmError.MSG_INVALID);
  if (n > aclSize) return fail(RmError.ARGUMENT_INVALID);
  const vmids: number[] = [];
  for (let i = 0; i < n; i++) vmids.push(d.getUint16(at + 4 * i, true));
  return { ok: true, vmids };
}

// --------------------------------------------------------------------------------------- replies

/** `{u32 handle}`: the data of a successful LEND / SHARE / DONATE reply. */
export function encodeHandle(handle: number): Uint8Array {
  const b = new Uint8Array(4);
  view(b).setUint32(0, handle >>> 0, true);
  return b;
}

/** MEM_ACCEPT's data when the request's SGL was empty: `{u16 n; u8 flags; u8 res; n × SGL entry}`. */
export function encodeAcceptSgl(entries: readonly SglEntry[], incomplete: boolean): Uint8Array {
  const b = new Uint8Array(4 + 16 * entries.length);
  const d = view(b);
  d.setUint16(0, entries.length, true);
  d.setUint8(2, incomplete ? ACCEPT_RESP_INCOMPLETE : 0);
  entries.forEach((e, i) => {
    d.setBigUint64(4 + 16 * i, e.ipa, true);
    d.setBigUint64(12 + 16 * i, e.size, true);
  });
  return b;
}

// ---------------------------------------------------------------------------------- notifications

export interface SharedNotice {
  handle: number;
  memType: number;
  transType: number;
  /** The parcel was sanitised (zeroed) at create: flags bit 0. */
  sanitized: boolean;
  owner: number;
  label: number;
  tag: number;
  acl: readonly AclEntry[];
  /** Region sizes (the RM sends sizes only, §2.8), already truncated to 512. */
  regionSizes: readonly bigint[];
  attrs: readonly AttrEntry[];
}

/**
 * MEM_SHARED: `{u32 handle; u8 mem_type; u8 trans_type; u8 flags; u8 res; u16 owner; u16 res;
 * u32 label; u32 tag}`, then `{u16 n; u16 res}` + ACL entries, `{u16 n; u16 res}` + u64 region
 * sizes, `{u16 n; u16 res}` + attribute entries.
 */
export function encodeShared(n: SharedNotice): Uint8Array {
  const size = 20 + 4 + 4 * n.acl.length + 4 + 8 * n.regionSizes.length + 4 + 4 * n.attrs.length;
  const b = new Uint8Array(size);
  const d = view(b);
  d.setUint32(0, n.handle >>> 0, true);
  d.setUint8(4, n.memType);
  d.setUint8(5, n.transType);
  d.setUint8(6, n.sanitized ? 1 : 0);
  d.setUint16(8, n.owner, true);
  d.setUint32(12, n.label >>> 0, true);
  d.setUint32(16, n.tag >>> 0, true);
  let at = 20;
  d.setUint16(at, n.acl.length, true);
  at += 4;
  for (const e of n.acl) {
    d.setUint16(at, e.vmid, true);
    d.setUint8(at + 2, e.rights);
    at += 4;
  }
  d.setUint16(at, n.regionSizes.length, true);
  at += 4;
  for (const s of n.regionSizes) {
    d.setBigUint64(at, s, true);
    at += 8;
  }
  d.setUint16(at, n.attrs.length, true);
  at += 4;
  for (const e of n.attrs) {
    d.setUint16(at, e.attr, true);
    d.setUint16(at + 2, e.vmid, true);
    at += 4;
  }
  return b;
}

/** MEM_ACCEPTED / MEM_RELEASED (to the owner): `{u32 handle; u16 vmid; u16 res; u32 tag}`. */
export function encodeOwnerNotice(handle: number, vmid: number, tag: number): Uint8Array {
  const b = new Uint8Array(12);
  const d = view(b);
  d.setUint32(0, handle >>> 0, true);
  d.setUint16(4, vmid, true);
  d.setUint32(8, tag >>> 0, true);
  return b;
}

/** MEM_RECALL (to the borrowers): `{u32 handle; u32 tag}`. */
export function encodeRecall(handle: number, tag: number): Uint8Array {
  const b = new Uint8Array(8);
  const d = view(b);
  d.setUint32(0, handle >>> 0, true);
  d.setUint32(4, tag >>> 0, true);
  return b;
}
