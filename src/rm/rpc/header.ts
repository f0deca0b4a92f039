// The 8-byte RM RPC packet header (resource-manager-protocol.md §1.3): encoding, decoding, and the
// receiver validation the RM applies before looking at a packet. Decoding never throws: a packet the
// RM would silently drop comes back as a reason, so the caller can drop it and the trace can say why.
//
//   byte 0      bits 3:0 API version (1), bits 7:4 header words (2)  → always 0x21
//   byte 1      bits 1:0 message type, bits 7:2 fragment count (continuations after the first packet)
//   bytes 2–3   sequence number, u16 LE
//   bytes 4–7   message ID, u32 LE

import {
  MsgType,
  RPC_API_VERSION,
  RPC_FRAGMENTS_MASK,
  RPC_FRAGMENTS_SHIFT,
  RPC_HEADER_SIZE,
  RPC_HEADER_WORDS,
  RPC_MAX_FRAGMENTS,
  RPC_PACKET_SIZE,
  RPC_TYPE_MASK,
} from './constants.js';

/**
 * A sender-side mistake: a header field out of range, a payload over the sending end's limit, a
 * list entry of the wrong size. Never raised for received bytes — those give a drop reason instead.
 */
export class RpcError extends Error {
  constructor(message: string) {
    super(`RM RPC: ${message}`);
    this.name = 'RpcError';
  }
}

/** The header fields every packet carries. */
export interface RpcHeader {
  readonly type: MsgType;
  /** Continuation packets that follow the first packet of the message (0..62). */
  readonly fragments: number;
  readonly seq: number;
  readonly msgId: number;
}

/** A header as read off the wire, before validation: the version nibbles, and a count up to 63. */
export interface RawHeader extends RpcHeader {
  readonly apiVersion: number;
  readonly headerWords: number;
}

function checkField(name: string, v: number, max: number): void {
  if (!Number.isInteger(v) || v < 0 || v > max)
    throw new RpcError(`header ${name} ${v} is not an integer in 0..${max}`);
}

/** Writes a header at `offset` of `out`; throws RpcError for a field the wire cannot carry validly. */
export function writeHeader(out: Uint8Array, offset: number, h: RpcHeader): void {
  checkField('type', h.type, RPC_TYPE_MASK);
  // 63 fits the 6-bit field but every receiver drops it, so no sender may write it.
  checkField('fragment count', h.fragments, RPC_MAX_FRAGMENTS);
  checkField('seq', h.seq, 0xffff);
  checkField('msg_id', h.msgId, 0xffff_ffff);
  if (offset < 0 || offset + RPC_HEADER_SIZE > out.length) throw new RpcError('no room for the header');
  out[offset] = (RPC_HEADER_WORDS << 4) | RPC_API_VERSION;
  out[offset + 1] = (h.fragments << RPC_FRAGMENTS_SHIFT) | h.type;
  const dv = new DataView(out.buffer, out.byteOffset + offset, RPC_HEADER_SIZE);
  dv.setUint16(2, h.seq, true);
  dv.setUint32(4, h.msgId, true);
}

/** The 8 header bytes for `h`. */
export function encodeHeader(h: RpcHeader): Uint8Array {
  const out = new Uint8Array(RPC_HEADER_SIZE);
  writeHeader(out, 0, h);
  return out;
}

/** The header fields of a packet, unvalidated; undefined if the packet is shorter than a header. */
export function readRawHeader(packet: Uint8Array): RawHeader | undefined {
  if (packet.length < RPC_HEADER_SIZE) return undefined;
  const dv = new DataView(packet.buffer, packet.byteOffset, RPC_HEADER_SIZE);
  const b0 = packet[0]!;
  const b1 = packet[1]!;
  return {
    apiVersion: b0 & 0xf,
    headerWords: b0 >> 4,
    type: (b1 & RPC_TYPE_MASK) as MsgType,
    fragments: (b1 >> RPC_FRAGMENTS_SHIFT) & RPC_FRAGMENTS_MASK,
    seq: dv.getUint16(2, true),
    msgId: dv.getUint32(4, true),
  };
}

/**
 * Why a receiver drops a packet on its header alone. The first four are the RM's rules (§1.3);
 * `oversize` is ours: a message queue never delivers more than 240 bytes (§1.2), so a longer
 * "packet" can only come from a caller bypassing the transport, and it is dropped rather than
 * trusted.
 */
export type HeaderDropReason = 'short' | 'oversize' | 'api-version' | 'header-words' | 'fragment-count';

export type PacketCheck =
  | {
      readonly ok: true;
      readonly header: RpcHeader;
      /** A view into the packet, not a copy. */ readonly payload: Uint8Array;
    }
  | { readonly ok: false; readonly reason: HeaderDropReason; readonly detail: string };

/**
 * The RM's receiver validation (§1.3): shorter than 8 bytes, API version ≠ 1, header words ≠ 2 or
 * fragment count > 62 → dropped. Checked in that order, so the reason names the first rule broken.
 */
export function checkPacket(packet: Uint8Array): PacketCheck {
  if (packet.length > RPC_PACKET_SIZE) {
    return { ok: false, reason: 'oversize', detail: `${packet.length}-byte packet exceeds ${RPC_PACKET_SIZE} bytes` };
  }
  const h = readRawHeader(packet);
  if (h === undefined) {
    return { ok: false, reason: 'short', detail: `${packet.length}-byte packet is shorter than the 8-byte header` };
  }
  if (h.apiVersion !== RPC_API_VERSION) {
    return { ok: false, reason: 'api-version', detail: `API version ${h.apiVersion}, expected ${RPC_API_VERSION}` };
  }
  if (h.headerWords !== RPC_HEADER_WORDS) {
    return {
      ok: false,
      reason: 'header-words',
      detail: `header length ${h.headerWords} words, expected ${RPC_HEADER_WORDS}`,
    };
  }
  if (h.fragments > RPC_MAX_FRAGMENTS) {
    return {
      ok: false,
      reason: 'fragment-count',
      detail: `fragment count ${h.fragments} exceeds ${RPC_MAX_FRAGMENTS}`,
    };
  }
  return {
    ok: true,
    header: { type: h.type, fragments: h.fragments, seq: h.seq, msgId: h.msgId },
    payload: packet.subarray(RPC_HEADER_SIZE),
  };
}
