// The toolkit the typed RM message codecs are built from (resource-manager-protocol.md §1.5, §1.8,
// §2): a codec is an `encode` from a typed value to payload bytes and a `decode` back that never
// throws — bad bytes give the RM error code the RM answers for them and a sentence saying why.
//
// Conventions shared by every message module:
// - Little-endian, offsets as the spec lists them; a u64 may sit at an offset that is not a
//   multiple of 8 (VM_SET_TIME_BASE, the 44-byte resource entry): DataView reads it as it is.
// - Bytes no field covers are reserved: encoders write 0, decoders ignore them, except where the
//   spec gives a rule for one (`mustBeZero`).
// - Encoders take anything the wire can carry (a u16 is 0..0xFFFF, a list up to 0xFFFF entries), so
//   a client can also send what the RM must refuse; a value the wire cannot carry is a caller bug
//   and throws RpcError. Decoders enforce the spec's lengths and field rules.
// - A decoder checks only what the bytes alone decide, in the spec's order. Checks that the spec
//   orders after a lookup (a handle, the caller's ownership) are left to the handler, which
//   finds the raw value in the decoded message; each module says which.

import { RmError, RpcError, readList, writeList, type RmErrorCode } from '../rpc/index.js';

// ---------------------------------------------------------------------------- results

export interface DecodeFailure {
  readonly ok: false;
  /** The RM error the RM answers for these bytes (§1.6). */
  readonly error: RmErrorCode;
  /** Why, for traces and error messages. */
  readonly detail: string;
}

export type Decoded<T> = { readonly ok: true; readonly value: T } | DecodeFailure;

export const fail = (error: RmErrorCode, detail: string): DecodeFailure => ({ ok: false, error, detail });
export const decoded = <T>(value: T): Decoded<T> => ({ ok: true, value });

/** A typed payload: one direction of one message (a request, its reply data, a notification). */
export interface Codec<T> {
  /** `VM_STOP request`, `MEM_SHARED notification`… for errors and traces. */
  readonly name: string;
  encode(value: T): Uint8Array;
  decode(bytes: Uint8Array): Decoded<T>;
}

/** The value of a message with no fields (an empty request, an error-only reply). */
export type Empty = Readonly<Record<string, never>>;

// --------------------------------------------------------------------- integers

export type UintKind = 'u8' | 'u16' | 'u32';
export type FieldKind = UintKind | 'u64';

const SIZE: Readonly<Record<FieldKind, number>> = { u8: 1, u16: 2, u32: 4, u64: 8 };
const MAX: Readonly<Record<UintKind, number>> = { u8: 0xff, u16: 0xffff, u32: 0xffff_ffff };
const U64_MAX = 0xffff_ffff_ffff_ffffn;

export const sizeOf = (k: FieldKind): number => SIZE[k];

/** Throws RpcError unless `v` fits `kind` (the sender-side check). */
export function checkUint(what: string, kind: FieldKind, v: number | bigint): void {
  if (kind === 'u64') {
    if (typeof v !== 'bigint' || v < 0n || v > U64_MAX) throw new RpcError(`${what} ${String(v)} is not a u64 bigint`);
    return;
  }
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX[kind]) {
    throw new RpcError(`${what} ${String(v)} is not a ${kind}`);
  }
}

const view = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);

/** Reads a field; the caller has checked the bounds. */
export function getField(dv: DataView, offset: number, kind: FieldKind): number | bigint {
  switch (kind) {
    case 'u8':
      return dv.getUint8(offset);
    case 'u16':
      return dv.getUint16(offset, true);
    case 'u32':
      return dv.getUint32(offset, true);
    case 'u64':
      return dv.getBigUint64(offset, true);
  }
}

/** Writes a field after checking that it fits. */
export function setField(dv: DataView, offset: number, kind: FieldKind, v: number | bigint, what: string): void {
  checkUint(what, kind, v);
  switch (kind) {
    case 'u8':
      dv.setUint8(offset, v as number);
      return;
    case 'u16':
      dv.setUint16(offset, v as number, true);
      return;
    case 'u32':
      dv.setUint32(offset, v as number, true);
      return;
    case 'u64':
      dv.setBigUint64(offset, v as bigint, true);
      return;
  }
}

export const align4 = (n: number): number => (n + 3) & ~3;

// ------------------------------------------------------------------------ structs

/** Where a field of a struct lives: its byte offset and width (a u64 field holds a bigint). */
export type FieldDef<V> = V extends bigint
  ? readonly [offset: number, kind: 'u64']
  : V extends number
    ? readonly [offset: number, kind: UintKind]
    : never;

export type StructFields<T> = { readonly [K in keyof T]-?: FieldDef<T[K]> };

export interface StructOptions<T> {
  /** 'exact' (default): the payload must be exactly `size` bytes; 'min': at least, the rest ignored. */
  readonly length?: 'exact' | 'min';
  /** Reserved fields with a rule: they must be 0, else the given error. */
  readonly mustBeZero?: readonly (readonly [offset: number, kind: FieldKind, error: RmErrorCode])[];
  /** Field rules on the decoded value, checked after the length and the reserved fields. */
  readonly check?: (value: T) => DecodeFailure | null;
}

/** A fixed-layout codec, with its layout for tests and traces. */
export interface StructCodec<T> extends Codec<T> {
  readonly size: number;
  readonly fields: StructFields<T>;
  readonly length: 'exact' | 'min';
}

/**
 * A codec for a fixed-size payload whose fields sit at the given offsets. The spec's error for a
 * payload of the wrong size is MSG_INVALID throughout §2, so that is the length error.
 */
export function struct<T extends object>(
  name: string,
  size: number,
  fields: StructFields<T>,
  options: StructOptions<T> = {},
): StructCodec<T> {
  const entries = Object.entries(fields) as [string, readonly [number, FieldKind]][];
  for (const [k, [off, kind]] of entries) {
    if (off < 0 || off + SIZE[kind] > size) throw new RpcError(`${name}: field ${k} does not fit in ${size} bytes`);
  }
  const length = options.length ?? 'exact';
  return {
    name,
    size,
    fields,
    length,
    encode(value: T): Uint8Array {
      const out = new Uint8Array(size);
      const dv = view(out);
      const rec = value as Record<string, number | bigint>;
      for (const [k, [off, kind]] of entries) setField(dv, off, kind, rec[k]!, `${name}: ${k}`);
      return out;
    },
    decode(bytes: Uint8Array): Decoded<T> {
      if (length === 'exact' ? bytes.length !== size : bytes.length < size) {
        return fail(
          RmError.MSG_INVALID,
          `${name}: ${bytes.length} bytes, ${length === 'exact' ? 'expected' : 'need at least'} ${size}`,
        );
      }
      const dv = view(bytes);
      for (const [off, kind, error] of options.mustBeZero ?? []) {
        const v = getField(dv, off, kind);
        if (v !== 0 && v !== 0n) return fail(error, `${name}: reserved ${kind} at byte ${off} is ${String(v)}, not 0`);
      }
      const out: Record<string, number | bigint> = {};
      for (const [k, [off, kind]] of entries) out[k] = getField(dv, off, kind);
      const value = out as T;
      return options.check?.(value) ?? decoded(value);
    },
  };
}

/** A payload that must be empty (the request of VM_GET_VMID…, the data of an error-only reply). */
export function empty(name: string): Codec<Empty> {
  return {
    name,
    encode: () => new Uint8Array(0),
    decode: (bytes) =>
      bytes.length === 0 ? decoded({}) : fail(RmError.MSG_INVALID, `${name}: ${bytes.length} bytes, expected none`),
  };
}

// --------------------------------------------------------------------------- lists (§1.8)

/** An encoded list may hold as many entries as its u16 count can say; caps are the decoder's. */
const ENCODE_CAP = 0xffff;

export interface ListRead<T> {
  readonly ok: true;
  readonly items: T[];
  /** The second u16 of the list header. */
  readonly field: number;
  /** Offset just past the list and its padding. */
  readonly next: number;
}

/** Reads the §1.8 list at `offset` with entries of `entry`'s layout (rpc/list.ts does the bounds). */
export function readTypedList<T>(
  bytes: Uint8Array,
  offset: number,
  entry: StructCodec<T>,
  maxEntries: number,
  what: string,
): ListRead<T> | DecodeFailure {
  const r = readList(bytes, offset, { entrySize: entry.size, maxEntries });
  if (!r.ok) return fail(r.error, `${what}: ${r.detail}`);
  const items: T[] = [];
  for (const e of r.list.entries) {
    const d = entry.decode(e);
    if (!d.ok) return d;
    items.push(d.value);
  }
  return { ok: true, items, field: r.list.field, next: r.next };
}

/** Encodes a §1.8 list of `items` (padded to 4 bytes). */
export function writeTypedList<T>(items: readonly T[], entry: StructCodec<T>, field = 0): Uint8Array {
  const w = writeList(
    items.map((i) => entry.encode(i)),
    { entrySize: entry.size, maxEntries: ENCODE_CAP },
    field,
  );
  if (!w.ok) throw new RpcError(`${entry.name}: ${w.detail}`);
  return w.bytes;
}

/** The concatenation of byte arrays. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// ------------------------------------------------------------- u32-counted arrays and strings

/**
 * Reads `{u32 n; n × entry}` filling the payload from `offset` exactly (the replies of
 * VM_GET_PEERS, VM_GET_HYP_RESOURCES, the VM lookups, IPA_RESERVE): a count the remaining bytes do
 * not match is MSG_INVALID. The count is checked against the length before anything is read.
 */
export function readCounted<T>(bytes: Uint8Array, offset: number, entry: StructCodec<T>, what: string): Decoded<T[]> {
  if (bytes.length - offset < 4) return fail(RmError.MSG_INVALID, `${what}: ${bytes.length} bytes, no u32 count`);
  const n = view(bytes).getUint32(offset, true);
  const want = offset + 4 + n * entry.size;
  if (bytes.length !== want) {
    return fail(RmError.MSG_INVALID, `${what}: count ${n} needs ${want} bytes, got ${bytes.length}`);
  }
  const items: T[] = [];
  for (let i = 0; i < n; i++) {
    const at = offset + 4 + i * entry.size;
    const d = entry.decode(bytes.subarray(at, at + entry.size));
    if (!d.ok) return d;
    items.push(d.value);
  }
  return decoded(items);
}

/** Encodes `{u32 n; n × entry}`. */
export function writeCounted<T>(items: readonly T[], entry: StructCodec<T>): Uint8Array {
  const head = new Uint8Array(4);
  setField(view(head), 0, 'u32', items.length, `${entry.name} count`);
  return concat([head, ...items.map((i) => entry.encode(i))]);
}

/**
 * The `{u16 len; u16 res; bytes[len] padded with zeros to 4}` string of VM_LOOKUP_URI/NAME,
 * VM_SET_CRASH_MSG and VM_GET_CRASH_MSG's reply. The payload must be exactly 4 + len rounded up
 * to 4 bytes [infer: the spec gives the padded form and no tolerance]; the padding's value is not
 * checked (like a reserved field). `maxLen` caps len (MSG_INVALID).
 */
export function paddedString(name: string, maxLen = 0xffff): Codec<Uint8Array> {
  return {
    name,
    encode(s: Uint8Array): Uint8Array {
      checkUint(`${name}: length`, 'u16', s.length);
      const out = new Uint8Array(4 + align4(s.length));
      view(out).setUint16(0, s.length, true);
      out.set(s, 4);
      return out;
    },
    decode(bytes: Uint8Array): Decoded<Uint8Array> {
      if (bytes.length < 4) return fail(RmError.MSG_INVALID, `${name}: ${bytes.length} bytes, need at least 4`);
      const len = view(bytes).getUint16(0, true);
      if (len > maxLen) return fail(RmError.MSG_INVALID, `${name}: length ${len} over the limit of ${maxLen}`);
      if (bytes.length !== 4 + align4(len)) {
        return fail(RmError.MSG_INVALID, `${name}: length ${len} needs ${4 + align4(len)} bytes, got ${bytes.length}`);
      }
      return decoded(bytes.slice(4, 4 + len));
    },
  };
}

// ----------------------------------------------------------------------- message descriptors

/** One request of §2 with the codecs of its request payload and of its reply's data. */
export interface RequestMessage<Req, Rep> {
  readonly kind: 'request';
  readonly id: number;
  readonly name: string;
  readonly request: Codec<Req>;
  /** The data after the rm_error word of an OK reply. */
  readonly reply: Codec<Rep>;
  /** The data after the rm_error word of an error reply, where the spec gives some. */
  readonly errorData?: Codec<number>;
}

/** One notification of §2 with the codec of its payload. */
export interface NotificationMessage<T> {
  readonly kind: 'notification';
  readonly id: number;
  readonly name: string;
  readonly payload: Codec<T>;
}

export function request<Req, Rep>(
  id: number,
  name: string,
  req: Codec<Req>,
  rep: Codec<Rep>,
  errorData?: Codec<number>,
): RequestMessage<Req, Rep> {
  return errorData === undefined
    ? { kind: 'request', id, name, request: req, reply: rep }
    : { kind: 'request', id, name, request: req, reply: rep, errorData };
}

export function notificationOf<T>(id: number, name: string, payload: Codec<T>): NotificationMessage<T> {
  return { kind: 'notification', id, name, payload };
}

/** The reply data `{u32 <key>}` as a bare number (handles, VMIDs, virqs). */
export function u32Value(name: string): Codec<number> {
  return {
    name,
    encode(v: number): Uint8Array {
      const out = new Uint8Array(4);
      setField(view(out), 0, 'u32', v, name);
      return out;
    },
    decode(bytes: Uint8Array): Decoded<number> {
      if (bytes.length !== 4) return fail(RmError.MSG_INVALID, `${name}: ${bytes.length} bytes, expected 4`);
      return decoded(view(bytes).getUint32(0, true));
    },
  };
}
