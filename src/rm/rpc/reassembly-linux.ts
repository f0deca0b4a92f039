// Reassembly of RM RPC messages as Linux's RM driver does it (resource-manager-protocol.md §1.3–§1.5,
// "Reassembly (Linux)"), for the client library: a state machine fed one packet at a time that also
// tracks the calls waiting for a reply, because Linux decides what to do with a REPLY by its seq.
//
// Rules, where they differ from the RM's (reassembly-rm.ts):
//  * header: only length ≥ 8 and byte 0 = 0x21 are checked; the fragment count is checked (> 62 is
//    refused) only when a reply or notification starts;
//  * a REPLY is matched to its outstanding call by seq, then msg_id; a reply for no such call is
//    ignored and disturbs nothing;
//  * a new REPLY or NOTIFICATION while a message is incomplete aborts the incomplete one;
//  * continuations are matched on msg_id + fragment count only (seq is not re-checked); a mismatch
//    aborts the pending message rather than dropping the packet; with nothing pending it is ignored;
//  * aborting a pending REPLY fails its call with EIO; a first REPLY packet shorter than 12 bytes
//    (header + u32 rm_error) or announcing > 62 continuations fails the call at once;
//  * a REQUEST (a client never receives one) is refused.
// Packets are concatenated as they come, like the RM does; the delivered payload of a REPLY starts
// with its u32 rm_error (split it with decodeReply).

import { MsgType, RPC_HEADER_BYTE0, RPC_MAX_FRAGMENTS, RPC_PACKET_SIZE, RPC_PAYLOAD_PER_PACKET } from './constants.js';
import { RPC_REPLY_ERROR_SIZE } from './reply.js';
import type { RpcMessage } from './fragment.js';
import { RpcError, readRawHeader, type RpcHeader } from './header.js';
import type { PendingSummary } from './reassembly-rm.js';

/**
 * Why Linux ignores a packet. `short`, `api` and `request-type` are header checks; `unknown-seq` is
 * a reply no call waits for; `no-pending` a continuation with nothing pending; `fragment-count` a
 * notification announcing more than 62 continuations; `oversize` is ours (see header.ts).
 */
export type LinuxDropReason =
  'short' | 'oversize' | 'api' | 'request-type' | 'unknown-seq' | 'no-pending' | 'fragment-count';

/** Why a call failed without a reply: its reply was aborted (EIO), or its first packet was unusable. */
export type CallFailReason = 'aborted' | 'short-reply' | 'fragment-count';

export type LinuxRxEvent =
  | {
      readonly kind: 'dropped';
      readonly reason: LinuxDropReason;
      readonly detail: string;
      /**
       * Linux stops draining the RX queue for this interrupt after this packet (§1.3: a bad byte 0;
       * likewise a REQUEST). The packets behind it are the receive loop's business, not ours.
       */
      readonly stopBatch: boolean;
    }
  | { readonly kind: 'aborted'; readonly reason: 'mismatch' | 'superseded'; readonly pending: PendingSummary }
  | {
      readonly kind: 'call-failed';
      readonly seq: number;
      readonly msgId: number;
      readonly reason: CallFailReason;
      /**
       * What the call returns: EIO when aborted; ENOMEM when the first packet is unusable (Linux
       * reports its payload-setup failure as ENOMEM whatever the cause).
       */
      readonly errno: 'EIO' | 'ENOMEM';
    }
  | { readonly kind: 'accepted'; readonly pending: PendingSummary }
  | { readonly kind: 'delivered'; readonly message: RpcMessage };

/** Saved state of a LinuxReassembler (plain data). */
export interface LinuxReassemblerState {
  readonly calls: readonly { readonly seq: number; readonly msgId: number }[];
  readonly pending: (PendingSummary & { readonly payload: readonly number[] }) | null;
}

interface Pending {
  type: typeof MsgType.REPLY | typeof MsgType.NOTIFICATION;
  seq: number;
  msgId: number;
  fragments: number;
  received: number;
  buf: Uint8Array;
  len: number;
}

const summary = (p: Pending): PendingSummary => ({
  type: p.type,
  seq: p.seq,
  msgId: p.msgId,
  fragments: p.fragments,
  received: p.received,
  bytes: p.len,
});

const hex = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;

const drop = (reason: LinuxDropReason, detail: string, stopBatch = false): LinuxRxEvent => ({
  kind: 'dropped',
  reason,
  detail,
  stopBatch,
});

export class LinuxReassembler {
  /** Outstanding calls: seq → msg_id (Linux's call table). */
  private readonly calls = new Map<number, number>();
  private pending: Pending | undefined;

  /** Registers a call just sent as REQUEST (seq, msg_id), so its REPLY is recognised. */
  expectReply(seq: number, msgId: number): void {
    if (!Number.isInteger(seq) || seq < 0 || seq > 0xffff) throw new RpcError(`seq ${seq} is not a u16`);
    if (this.calls.has(seq)) throw new RpcError(`seq ${seq} already has a call waiting for its reply`);
    this.calls.set(seq, msgId >>> 0);
  }

  /** Drops a call that will get no reply (its request could not be sent); true if it was waiting. */
  forgetCall(seq: number): boolean {
    return this.calls.delete(seq);
  }

  /** Calls still waiting for their reply, as (seq, msg_id), in the order they were made. */
  get outstanding(): { seq: number; msgId: number }[] {
    return [...this.calls].map(([seq, msgId]) => ({ seq, msgId }));
  }

  /** The incomplete message, if any. */
  get partial(): PendingSummary | undefined {
    return this.pending && summary(this.pending);
  }

  /** Feeds one packet (as received from the queue); never throws. */
  push(packet: Uint8Array): LinuxRxEvent[] {
    if (packet.length > RPC_PACKET_SIZE) {
      return [drop('oversize', `${packet.length}-byte packet exceeds ${RPC_PACKET_SIZE} bytes`)];
    }
    const h = readRawHeader(packet);
    if (h === undefined) return [drop('short', `${packet.length}-byte packet is shorter than the 8-byte header`)];
    if (packet[0] !== RPC_HEADER_BYTE0) {
      return [drop('api', `header byte 0 is 0x${packet[0]!.toString(16)}, expected 0x21`, true)];
    }
    const payload = packet.subarray(8);
    switch (h.type) {
      case MsgType.NOTIFICATION:
        return this.startNotification(h, payload);
      case MsgType.REPLY:
        return this.startReply(h, payload);
      case MsgType.CONTINUATION:
        return this.continuation(h, payload);
      default:
        return [drop('request-type', `a client does not receive requests (msg_id ${hex(h.msgId)})`, true)];
    }
  }

  /** Forgets the incomplete message and every outstanding call (the link was reset). */
  reset(): void {
    this.pending = undefined;
    this.calls.clear();
  }

  save(): LinuxReassemblerState {
    const p = this.pending;
    return {
      calls: this.outstanding,
      pending: p ? { ...summary(p), payload: [...p.buf.subarray(0, p.len)] } : null,
    };
  }

  restore(s: LinuxReassemblerState): void {
    this.calls.clear();
    for (const c of s.calls) this.calls.set(c.seq, c.msgId);
    const p = s.pending;
    if (!p || (p.type !== MsgType.REPLY && p.type !== MsgType.NOTIFICATION)) {
      this.pending = undefined;
      return;
    }
    const buf = new Uint8Array((p.fragments + 1) * RPC_PAYLOAD_PER_PACKET);
    buf.set(p.payload);
    this.pending = {
      type: p.type,
      seq: p.seq,
      msgId: p.msgId,
      fragments: p.fragments,
      received: p.received,
      buf,
      len: p.payload.length,
    };
  }

  private startNotification(h: RpcHeader, payload: Uint8Array): LinuxRxEvent[] {
    // The incomplete message goes first, even if this notification then turns out unusable.
    const events = this.abort('superseded');
    if (h.fragments > RPC_MAX_FRAGMENTS) {
      events.push(drop('fragment-count', `notification ${hex(h.msgId)} announces ${h.fragments} continuations`));
      return events;
    }
    return [...events, ...this.begin(MsgType.NOTIFICATION, h, payload)];
  }

  private startReply(h: RpcHeader, payload: Uint8Array): LinuxRxEvent[] {
    const callMsgId = this.calls.get(h.seq);
    if (callMsgId === undefined || callMsgId !== h.msgId) {
      const why = callMsgId === undefined ? 'no call waits for it' : `the call with that seq sent ${hex(callMsgId)}`;
      return [drop('unknown-seq', `reply seq ${h.seq}, msg_id ${hex(h.msgId)}: ${why}`)];
    }
    const events = this.abort('superseded');
    // A duplicate first packet of this very reply: aborting the pending copy has just failed the
    // call (EIO). Linux would go on reassembling into a call whose waiter has already been woken
    // with EIO; we stop here, which gives the caller the same outcome.
    if (!this.calls.has(h.seq)) return events;
    if (payload.length < RPC_REPLY_ERROR_SIZE) {
      events.push(this.failCall(h.seq, h.msgId, 'short-reply', 'ENOMEM'));
      return events;
    }
    if (h.fragments > RPC_MAX_FRAGMENTS) {
      events.push(this.failCall(h.seq, h.msgId, 'fragment-count', 'ENOMEM'));
      return events;
    }
    return [...events, ...this.begin(MsgType.REPLY, h, payload)];
  }

  private continuation(h: RpcHeader, payload: Uint8Array): LinuxRxEvent[] {
    const p = this.pending;
    if (!p) return [drop('no-pending', `continuation of ${hex(h.msgId)} with no message pending`)];
    // Linux re-checks only what it calls the intact-header fields: msg_id and count, not seq.
    if (h.msgId !== p.msgId || h.fragments !== p.fragments) return this.abort('mismatch');
    p.buf.set(payload, p.len);
    p.len += payload.length;
    p.received++;
    if (p.received < p.fragments) return [{ kind: 'accepted', pending: summary(p) }];
    this.pending = undefined;
    return [this.deliver(p)];
  }

  private begin(type: Pending['type'], h: RpcHeader, payload: Uint8Array): LinuxRxEvent[] {
    const buf = new Uint8Array((h.fragments + 1) * RPC_PAYLOAD_PER_PACKET);
    buf.set(payload);
    const p: Pending = {
      type,
      seq: h.seq,
      msgId: h.msgId,
      fragments: h.fragments,
      received: 0,
      buf,
      len: payload.length,
    };
    if (h.fragments === 0) return [this.deliver(p)];
    this.pending = p;
    return [{ kind: 'accepted', pending: summary(p) }];
  }

  private deliver(p: Pending): LinuxRxEvent {
    if (p.type === MsgType.REPLY) this.calls.delete(p.seq);
    return { kind: 'delivered', message: { type: p.type, seq: p.seq, msgId: p.msgId, payload: p.buf.slice(0, p.len) } };
  }

  /** Aborts the incomplete message, if any; a pending reply fails its call with EIO. */
  private abort(reason: 'mismatch' | 'superseded'): LinuxRxEvent[] {
    const p = this.pending;
    if (!p) return [];
    this.pending = undefined;
    const events: LinuxRxEvent[] = [{ kind: 'aborted', reason, pending: summary(p) }];
    if (p.type === MsgType.REPLY) events.push(this.failCall(p.seq, p.msgId, 'aborted', 'EIO'));
    return events;
  }

  private failCall(seq: number, msgId: number, reason: CallFailReason, errno: 'EIO' | 'ENOMEM'): LinuxRxEvent {
    this.calls.delete(seq);
    return { kind: 'call-failed', seq, msgId, reason, errno };
  }
}
