// Splitting an RM RPC message into message-queue packets (resource-manager-protocol.md §1.4).
//
// The first packet carries the message's own type (REQUEST, REPLY or NOTIFICATION) and up to 232
// payload bytes; each following packet is a CONTINUATION that repeats the fragment count, sequence
// number and message ID, so a receiver can tell whose continuation it is. Every packet but the last
// is full (240 bytes); a zero-length message is one header-only packet.

import {
  MsgType,
  RPC_HEADER_SIZE,
  RPC_MAX_PAYLOAD_LINUX,
  RPC_MAX_PAYLOAD_RM,
  RPC_PAYLOAD_PER_PACKET,
  msgTypeName,
  type FirstMsgType,
} from './constants.js';
import { RpcError, writeHeader } from './header.js';

/** A whole message: what a sender fragments and a receiver delivers. */
export interface RpcMessage {
  readonly type: FirstMsgType;
  readonly seq: number;
  readonly msgId: number;
  readonly payload: Uint8Array;
}

/** Which end sends, and so which size limit applies (§1.4). */
export type Sender = 'rm' | 'linux';

/** The largest payload each end agrees to send. */
export const SEND_LIMIT: Readonly<Record<Sender, number>> = {
  /** The RM: 63 packets × 232 bytes. */
  rm: RPC_MAX_PAYLOAD_RM,
  /** Linux: 62 × 232 bytes, one packet short of what the wire can carry. */
  linux: RPC_MAX_PAYLOAD_LINUX,
};

const SENDER_NAME: Readonly<Record<Sender, string>> = { rm: "the RM's", linux: "Linux's" };

/** The header's fragment count for a payload of `len` bytes: packets after the first. */
export function fragmentCount(len: number): number {
  return len === 0 ? 0 : Math.ceil(len / RPC_PAYLOAD_PER_PACKET) - 1;
}

/**
 * The packets of `msg`, in sending order. Throws RpcError for a payload over the sender's limit
 * (the RM answers such a send with MSG_INVALID, Linux with -E2BIG: either way nothing is sent) or a
 * header field out of range.
 */
export function fragmentMessage(msg: RpcMessage, sender: Sender = 'rm'): Uint8Array[] {
  // The type says so already; the check is for callers that build messages from untyped data.
  if ((msg.type as number) === MsgType.CONTINUATION) {
    throw new RpcError(`a message cannot have type ${msgTypeName(msg.type)}`);
  }
  const len = msg.payload.length;
  const limit = SEND_LIMIT[sender];
  if (len > limit) {
    throw new RpcError(
      `a ${len}-byte payload exceeds ${SENDER_NAME[sender]} limit of ${limit} bytes ` +
        `(${limit / RPC_PAYLOAD_PER_PACKET} packets of ${RPC_PAYLOAD_PER_PACKET})`,
    );
  }
  const fragments = fragmentCount(len);
  const packets: Uint8Array[] = [];
  for (let i = 0, pos = 0; i <= fragments; i++) {
    const n = Math.min(RPC_PAYLOAD_PER_PACKET, len - pos);
    const p = new Uint8Array(RPC_HEADER_SIZE + n);
    writeHeader(p, 0, { type: i === 0 ? msg.type : MsgType.CONTINUATION, fragments, seq: msg.seq, msgId: msg.msgId });
    p.set(msg.payload.subarray(pos, pos + n), RPC_HEADER_SIZE);
    packets.push(p);
    pos += n;
  }
  return packets;
}
