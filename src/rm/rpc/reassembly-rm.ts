// Reassembly of RM RPC messages as the RM does it (resource-manager-protocol.md §1.3–§1.4,
// "Reassembly (RM)"): a state machine fed one packet at a time, one instance per peer (the RM tracks
// a single partial message per client link, keyed by the link it arrived on, §1.5 and §7).
//
// Rules:
//  * header validation (§1.3) first: a packet failing it is dropped and changes nothing;
//  * a non-continuation packet always starts a new message, discarding any half-received one;
//  * a continuation with nothing pending, or whose msg_id, seq or fragment count differ from the
//    pending message's, is dropped and the pending message keeps waiting;
//  * the message is delivered once `fragments` continuations have arrived.
// Packets are concatenated as they come: a short packet before the last is not an error (the RM
// does not check it; §1.4 only obliges senders), it just makes the message shorter.
// Any first-packet type is delivered, REPLY included: refusing what a client may not send (§1.5)
// is the dispatcher's decision, not the transport's.

import { MsgType, RPC_PAYLOAD_PER_PACKET, type FirstMsgType } from './constants.js';
import type { RpcMessage } from './fragment.js';
import { checkPacket, type HeaderDropReason } from './header.js';

/** A half-received message, as traces and tests see it. */
export interface PendingSummary {
  readonly type: FirstMsgType;
  readonly seq: number;
  readonly msgId: number;
  /** Continuations the first packet announced. */
  readonly fragments: number;
  /** Continuations received so far. */
  readonly received: number;
  /** Payload bytes received so far. */
  readonly bytes: number;
}

/** Why the RM drops a packet: its header (§1.3), or a continuation it cannot place (§1.4). */
export type RmDropReason = HeaderDropReason | 'no-pending' | 'mismatch';

/** What one packet did. A single packet can both discard a pending message and start (or deliver) a new one. */
export type RmRxEvent =
  | { readonly kind: 'dropped'; readonly reason: RmDropReason; readonly detail: string }
  | { readonly kind: 'discarded'; readonly reason: 'superseded'; readonly pending: PendingSummary }
  | { readonly kind: 'accepted'; readonly pending: PendingSummary }
  | { readonly kind: 'delivered'; readonly message: RpcMessage };

/** Saved state of an RmReassembler (plain data). */
export interface RmReassemblerState {
  readonly pending: (PendingSummary & { readonly payload: readonly number[] }) | null;
}

interface Pending {
  type: FirstMsgType;
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

const hex = (n: number, w: number): string => `0x${n.toString(16).padStart(w, '0')}`;

export class RmReassembler {
  private pending: Pending | undefined;

  /** The half-received message, if any. */
  get partial(): PendingSummary | undefined {
    return this.pending && summary(this.pending);
  }

  /** Feeds one packet (as received from the queue); never throws. */
  push(packet: Uint8Array): RmRxEvent[] {
    const c = checkPacket(packet);
    if (!c.ok) return [{ kind: 'dropped', reason: c.reason, detail: c.detail }];
    const { header: h, payload } = c;
    const events: RmRxEvent[] = [];

    if (h.type !== MsgType.CONTINUATION) {
      if (this.pending) {
        events.push({ kind: 'discarded', reason: 'superseded', pending: summary(this.pending) });
        this.pending = undefined;
      }
      // Room for the whole message as announced; the header check bounds it to 63 × 232 bytes.
      const buf = new Uint8Array((h.fragments + 1) * RPC_PAYLOAD_PER_PACKET);
      buf.set(payload);
      const p: Pending = {
        type: h.type,
        seq: h.seq,
        msgId: h.msgId,
        fragments: h.fragments,
        received: 0,
        buf,
        len: payload.length,
      };
      if (h.fragments === 0) return [...events, this.deliver(p)];
      this.pending = p;
      events.push({ kind: 'accepted', pending: summary(p) });
      return events;
    }

    const p = this.pending;
    if (!p) {
      return [
        { kind: 'dropped', reason: 'no-pending', detail: `continuation of ${hex(h.msgId, 8)} with no message pending` },
      ];
    }
    if (h.msgId !== p.msgId || h.seq !== p.seq || h.fragments !== p.fragments) {
      return [
        {
          kind: 'dropped',
          reason: 'mismatch',
          detail:
            `continuation (msg_id ${hex(h.msgId, 8)}, seq ${h.seq}, count ${h.fragments}) does not match the pending ` +
            `message (msg_id ${hex(p.msgId, 8)}, seq ${p.seq}, count ${p.fragments})`,
        },
      ];
    }
    p.buf.set(payload, p.len);
    p.len += payload.length;
    p.received++;
    if (p.received < p.fragments) return [{ kind: 'accepted', pending: summary(p) }];
    this.pending = undefined;
    return [this.deliver(p)];
  }

  /** Forgets any half-received message (the link was reset). */
  reset(): void {
    this.pending = undefined;
  }

  save(): RmReassemblerState {
    const p = this.pending;
    return { pending: p ? { ...summary(p), payload: [...p.buf.subarray(0, p.len)] } : null };
  }

  restore(s: RmReassemblerState): void {
    const p = s.pending;
    if (!p) {
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

  private deliver(p: Pending): RmRxEvent {
    return { kind: 'delivered', message: { type: p.type, seq: p.seq, msgId: p.msgId, payload: p.buf.slice(0, p.len) } };
  }
}
