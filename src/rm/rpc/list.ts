// The common list encoding of the RM RPC (resource-manager-protocol.md §1.8), used by the MEM_* and
// IPA_* messages: `u16 count`, `u16 field` (reserved or message-specific), `count` fixed-size
// entries, then zero padding to the next 4-byte boundary.
//
// Parsing follows the RM: a list that would start exactly at the end of the buffer is empty (so
// trailing lists may be left out); fewer than 4 bytes where a header should be, or entries running
// past the end → MSG_INVALID; more entries than the message allows → NORESOURCE (checked before the
// length, as the RM does). The RM skips the padding without requiring it to be present: with an
// entry size that is not a multiple of 4 (none exists today) the next list would start past the
// end and fail MSG_INVALID; we keep that behaviour.

import { RmError } from './constants.js';
import { RpcError } from './header.js';

/** Size of the count + field header. */
export const LIST_HEADER_SIZE = 4;
/** Entry cap of every list in the MEM_* messages. */
export const MEM_LIST_MAX_ENTRIES = 512;
/** Entry cap of IPA_RESERVE's list. */
export const IPA_RESERVE_LIST_MAX_ENTRIES = 30;

export interface RpcList {
  /** The second u16 of the header (reserved in most lists; message-specific in some). */
  readonly field: number;
  /** Each entry's bytes (copies). */
  readonly entries: readonly Uint8Array[];
}

/** How a message lays out one of its lists. */
export interface ListLayout {
  readonly entrySize: number;
  readonly maxEntries: number;
}

export type ListRead =
  | {
      readonly ok: true;
      readonly list: RpcList;
      /** Offset just past the list and its padding. */ readonly next: number;
    }
  | {
      readonly ok: false;
      readonly error: typeof RmError.MSG_INVALID | typeof RmError.NORESOURCE;
      readonly detail: string;
    };

export type ListsRead =
  { readonly ok: true; readonly lists: readonly RpcList[]; readonly next: number } | Extract<ListRead, { ok: false }>;

const align4 = (n: number): number => (n + 3) & ~3;

function checkLayout(l: ListLayout): void {
  if (!Number.isInteger(l.entrySize) || l.entrySize <= 0)
    throw new RpcError(`list entry size ${l.entrySize} is not a positive integer`);
  if (!Number.isInteger(l.maxEntries) || l.maxEntries < 0 || l.maxEntries > 0xffff) {
    throw new RpcError(`list cap ${l.maxEntries} is not a u16`);
  }
}

/** Reads the list at `offset` of `buf`. Never throws for any bytes (only for a bad layout). */
export function readList(buf: Uint8Array, offset: number, layout: ListLayout): ListRead {
  checkLayout(layout);
  if (!Number.isInteger(offset) || offset < 0) throw new RpcError(`list offset ${offset} is not a byte offset`);
  if (offset === buf.length) return { ok: true, list: { field: 0, entries: [] }, next: offset };
  if (offset > buf.length || buf.length - offset < LIST_HEADER_SIZE) {
    return {
      ok: false,
      error: RmError.MSG_INVALID,
      detail: `list header at byte ${offset} runs past the ${buf.length}-byte message`,
    };
  }
  const dv = new DataView(buf.buffer, buf.byteOffset + offset, LIST_HEADER_SIZE);
  const count = dv.getUint16(0, true);
  const field = dv.getUint16(2, true);
  if (count > layout.maxEntries) {
    return {
      ok: false,
      error: RmError.NORESOURCE,
      detail: `list at byte ${offset} has ${count} entries, at most ${layout.maxEntries} allowed`,
    };
  }
  const start = offset + LIST_HEADER_SIZE;
  const size = count * layout.entrySize;
  if (start + size > buf.length) {
    return {
      ok: false,
      error: RmError.MSG_INVALID,
      detail: `list at byte ${offset}: ${count} entries of ${layout.entrySize} bytes run past the ${buf.length}-byte message`,
    };
  }
  const entries: Uint8Array[] = [];
  for (let i = 0; i < count; i++)
    entries.push(buf.slice(start + i * layout.entrySize, start + (i + 1) * layout.entrySize));
  return { ok: true, list: { field, entries }, next: start + align4(size) };
}

/**
 * Reads consecutive lists from `offset`, one per layout; lists missing at the end are empty. With
 * `exact` (the MEM_* rule) bytes left after the last list are MSG_INVALID.
 */
export function readLists(buf: Uint8Array, offset: number, layouts: readonly ListLayout[], exact: boolean): ListsRead {
  const lists: RpcList[] = [];
  let at = offset;
  for (const layout of layouts) {
    const r = readList(buf, at, layout);
    if (!r.ok) return r;
    lists.push(r.list);
    at = r.next;
  }
  if (exact && at !== buf.length) {
    return { ok: false, error: RmError.MSG_INVALID, detail: `${buf.length - at} bytes left after the last list` };
  }
  return { ok: true, lists, next: at };
}

export type ListWrite =
  | { readonly ok: true; readonly bytes: Uint8Array }
  | { readonly ok: false; readonly error: typeof RmError.ARGUMENT_INVALID; readonly detail: string };

/**
 * Encodes a list, padded to 4 bytes. More entries than `layout.maxEntries` is the RM's
 * ARGUMENT_INVALID (a list it refuses to construct); an entry of the wrong size is a caller bug
 * (RpcError).
 */
export function writeList(entries: readonly Uint8Array[], layout: ListLayout, field = 0): ListWrite {
  checkLayout(layout);
  if (!Number.isInteger(field) || field < 0 || field > 0xffff) throw new RpcError(`list field ${field} is not a u16`);
  if (entries.length > layout.maxEntries) {
    return {
      ok: false,
      error: RmError.ARGUMENT_INVALID,
      detail: `${entries.length} entries, at most ${layout.maxEntries} allowed`,
    };
  }
  const out = new Uint8Array(LIST_HEADER_SIZE + align4(entries.length * layout.entrySize));
  const dv = new DataView(out.buffer);
  dv.setUint16(0, entries.length, true);
  dv.setUint16(2, field, true);
  entries.forEach((e, i) => {
    if (e.length !== layout.entrySize)
      throw new RpcError(`list entry ${i} is ${e.length} bytes, expected ${layout.entrySize}`);
    out.set(e, LIST_HEADER_SIZE + i * layout.entrySize);
  });
  return { ok: true, bytes: out };
}
