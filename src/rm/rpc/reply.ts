// Reply and notification conventions of the RM RPC (resource-manager-protocol.md §1.5): every
// REQUEST gets exactly one REPLY with the same msg_id and seq, whose payload is a u32 rm_error
// followed by the message's data; unknown IDs are answered UNIMPLEMENTED (0xFFFFFFFF);
// notifications carry their own IDs and a seq from a 16-bit counter the clients ignore.

import { MsgType, RmError } from './constants.js';
import type { RpcMessage } from './fragment.js';
import { RpcError } from './header.js';

/** Bytes of the rm_error word that starts every reply payload. */
export const RPC_REPLY_ERROR_SIZE = 4;

/** A reply payload: u32 LE `error`, then `data` (§1.5: data normally only on success; the caller decides). */
export function encodeReplyPayload(error: number, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  if (!Number.isInteger(error) || error < 0 || error > 0xffff_ffff)
    throw new RpcError(`rm_error ${error} is not a u32`);
  const out = new Uint8Array(RPC_REPLY_ERROR_SIZE + data.length);
  new DataView(out.buffer).setUint32(0, error, true);
  out.set(data, RPC_REPLY_ERROR_SIZE);
  return out;
}

export type ReplyPayload =
  | {
      readonly ok: true;
      readonly error: number;
      /** The bytes after the error word (a view). */ readonly data: Uint8Array;
    }
  | { readonly ok: false; readonly reason: 'short'; readonly detail: string };

/** Splits a reply payload into its rm_error and data; a payload under 4 bytes has no error word. */
export function decodeReplyPayload(payload: Uint8Array): ReplyPayload {
  if (payload.length < RPC_REPLY_ERROR_SIZE) {
    return { ok: false, reason: 'short', detail: `${payload.length}-byte reply payload has no u32 rm_error` };
  }
  const error = new DataView(payload.buffer, payload.byteOffset, RPC_REPLY_ERROR_SIZE).getUint32(0, true);
  return { ok: true, error, data: payload.subarray(RPC_REPLY_ERROR_SIZE) };
}

/** The REPLY to `request`: same msg_id and seq, payload = rm_error + data. */
export function replyTo(
  request: { readonly seq: number; readonly msgId: number },
  error: number,
  data?: Uint8Array,
): RpcMessage {
  return { type: MsgType.REPLY, seq: request.seq, msgId: request.msgId, payload: encodeReplyPayload(error, data) };
}

/** The reply to a request whose message ID no handler claims: error UNIMPLEMENTED, no data. */
export function unimplementedReply(request: { readonly seq: number; readonly msgId: number }): RpcMessage {
  return replyTo(request, RmError.UNIMPLEMENTED);
}

/** A NOTIFICATION message (seq from a NotificationSeq). */
export function notification(msgId: number, seq: number, payload: Uint8Array = new Uint8Array(0)): RpcMessage {
  return { type: MsgType.NOTIFICATION, seq, msgId, payload };
}

/**
 * The RM's notification sequence counter: one for all peers, incremented per notification and
 * wrapping at 16 bits (§1.5). The spec does not give its first value; we start at 0, as the public
 * RM's counter does. Clients ignore the value; it matters only for byte-identical traces.
 */
export class NotificationSeq {
  private value = 0;

  /** The seq for the next notification. */
  next(): number {
    const v = this.value;
    this.value = (v + 1) & 0xffff;
    return v;
  }

  save(): { readonly next: number } {
    return { next: this.value };
  }

  restore(s: { readonly next: number }): void {
    this.value = s.next & 0xffff;
  }
}
