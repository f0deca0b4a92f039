// Message queues (hypervisor-abi.md §5): a bounded FIFO of messages copied by value between
// vCPUs. The sender side (send right) and receiver side (receive right) each have a VIRQ source:
// RX ("not empty") and TX ("not full"), both level-triggered (§5.3).
//
// Messages live in a hypervisor-owned ring allocated once at activation: `depth` slots of
// `max_msg_size` bytes plus a size per slot. send copies straight from the sender's memory into the
// tail slot, receive straight from the head slot into the receiver's memory; nothing else is
// allocated per message.
//
// Copy errors (§13 #14): the snapshot Gunyah swallows them (OK returned, nothing enqueued or
// dequeued). We follow the spec's recommendation and return the documented error instead —
// ARGUMENT_SIZE, ARGUMENT_INVALID (stage-1 fault), DENIED (stage-2 permission), ADDR_INVALID (other
// stage-2 fault), ADDR_OVERFLOW (VA range wraps) — still leaving the queue unchanged. A thread with
// no memory view at all (thread.access null) gets ADDR_INVALID, as for an unmapped address.

import { Err } from '../abi/errors.js';
import { HypObject, type ObjectEvents } from '../core/object.js';
import type { GuestAccess } from '../vm/guest-access.js';
import { VirqSource } from '../virq.js';

/** Exclusive upper bounds of create_info's fields (§5.1): depth ≤ 255, max_msg_size ≤ 1023. */
export const MSGQUEUE_MAX_QUEUE_DEPTH = 256;
export const MSGQUEUE_MAX_MAX_MSG_SIZE = 1024;
/** configure_send/receive: keep the threshold (or holdoff) as it is. */
export const MSGQUEUE_THRESHOLD_UNCHANGED = 0xffff_ffff;
/** configure_receive: set the not-empty threshold to the queue depth (without re-evaluating). */
export const MSGQUEUE_THRESHOLD_MAXIMUM = 0xffff_fffe;
export const MSGQUEUE_DELAY_UNCHANGED = 0xffff_ffff;
/** msgqueue_send flags: bit 0 push (assert RX whatever the threshold); other bits are ignored. */
export const MSGQUEUE_SEND_PUSH = 1;

/** create_info (u64) → [depth, max_msg_size]: bits 15:0 and 31:16; bits 63:32 are ignored (§5.1). */
export function decodeCreateInfo(createInfo: bigint): [depth: number, maxMsgSize: number] {
  const lo = Number(createInfo & 0xffff_ffffn);
  return [lo & 0xffff, lo >>> 16];
}

const EMPTY = new Uint8Array(0);

export class Msgqueue extends HypObject {
  readonly type = 'msgqueue' as const;
  queueDepth = 0;
  maxMsgSize = 0;
  /** Messages in the queue. */
  count = 0;
  /** Slot of the oldest message, and the slot the next message goes to. */
  head = 0;
  tail = 0;
  /** TX VIRQ when a receive leaves exactly this many messages (default depth - 1). */
  notfullThd = 0;
  /** RX VIRQ when a send makes exactly this many messages (default 1). */
  notemptyThd = 0;
  /** Size of the message the last successful receive returned. */
  receivedSize = 0;
  /** `depth` slots of `maxMsgSize` bytes, from activation. */
  private ring = EMPTY;
  private sizes = new Uint16Array(0);
  /** TX: "not full", for the sender. */
  readonly sendSource: VirqSource;
  /** RX: "not empty", for the receiver. */
  readonly rcvSource: VirqSource;

  constructor(events: ObjectEvents | null) {
    super(events);
    // Level predicates (§5.3); a reassertion since the guest's acknowledge keeps the VIRQ pending.
    this.sendSource = new VirqSource((re) => re || this.count <= this.notfullThd, `${String(this)} tx`);
    this.rcvSource = new VirqSource((re) => re || this.count >= this.notemptyThd, `${String(this)} rx`);
  }

  /** msgqueue_configure (state INIT checked by the caller): depth 1..255, max size 1..1023. */
  configure(createInfo: bigint): number {
    const [depth, size] = decodeCreateInfo(createInfo);
    if (depth === 0 || size === 0 || depth >= MSGQUEUE_MAX_QUEUE_DEPTH || size >= MSGQUEUE_MAX_MAX_MSG_SIZE) {
      return Err.ARGUMENT_INVALID;
    }
    this.queueDepth = depth;
    this.maxMsgSize = size;
    return Err.OK;
  }

  protected override doActivate(): number {
    if (this.queueDepth === 0 || this.maxMsgSize === 0) return Err.OBJECT_CONFIG;
    this.ring = new Uint8Array(this.queueDepth * this.maxMsgSize);
    this.sizes = new Uint16Array(this.queueDepth);
    this.count = 0;
    this.head = 0;
    this.tail = 0;
    this.notfullThd = this.queueDepth - 1;
    this.notemptyThd = 1;
    return Err.OK;
  }

  protected override doDeactivate(): void {
    this.ring = EMPTY;
    this.sizes = new Uint16Array(0);
    this.count = this.head = this.tail = 0;
    this.sendSource.unbind();
    this.rcvSource.unbind();
  }

  /**
   * msgqueue_send (§5.2): MSGQUEUE_FULL first; then size 1..max_msg_size (ARGUMENT_SIZE) and the
   * copy from the sender's VA (its errors); then enqueue and assert RX if `push` or the count has
   * just reached notempty_thd. On any error the queue is unchanged. The caller reports
   * not_full = count < depth, which is right for every outcome.
   */
  send(access: GuestAccess | null, size: bigint, va: bigint, push: boolean): number {
    if (this.count === this.queueDepth) return Err.MSGQUEUE_FULL;
    // Compare as numbers once the value is known to be small (no BigInt made per call).
    if (size === 0n || size >= 1024n || Number(size) > this.maxMsgSize) return Err.ARGUMENT_SIZE;
    if (access === null) return Err.ADDR_INVALID;
    const n = Number(size);
    // Straight from the sender's memory into the slot: a failed copy leaves the queue unchanged,
    // as the slot only counts once `tail` moves.
    const slot = this.tail;
    const e = access.readInto(va, this.ring, slot * this.maxMsgSize, n);
    if (e !== Err.OK) return e;
    this.sizes[slot] = n;
    this.tail = slot + 1 === this.queueDepth ? 0 : slot + 1;
    this.count++;
    if (push || this.count === this.notemptyThd) this.rcvSource.assert(false);
    return Err.OK;
  }

  /**
   * msgqueue_receive (§5.2): MSGQUEUE_EMPTY first; then buf_size ≥ the message's size
   * (ARGUMENT_SIZE) and the copy to the receiver's VA (its errors) — on error the message stays
   * queued; then dequeue and assert TX if the count has just reached notfull_thd. The size is left
   * in `receivedSize`; the caller reports not_empty = count > 0, right for every outcome.
   */
  receive(access: GuestAccess | null, va: bigint, bufSize: bigint): number {
    this.receivedSize = 0;
    if (this.count === 0) return Err.MSGQUEUE_EMPTY;
    const slot = this.head;
    const n = this.sizes[slot]!;
    if (bufSize < 1024n && Number(bufSize) < n) return Err.ARGUMENT_SIZE;
    if (access === null) return Err.ADDR_INVALID;
    const off = slot * this.maxMsgSize;
    const e = access.writeFrom(va, this.ring, off, n);
    if (e !== Err.OK) return e;
    this.head = slot + 1 === this.queueDepth ? 0 : slot + 1;
    this.count--;
    this.receivedSize = n;
    if (this.count === this.notfullThd) this.sendSource.assert(false);
    return Err.OK;
  }

  /** msgqueue_flush: if anything was queued, assert TX and clear RX; then empty the ring. */
  flush(): void {
    if (this.count !== 0) {
      this.sendSource.assert(false);
      this.rcvSource.clear();
    }
    this.count = this.head = this.tail = 0;
  }

  /**
   * msgqueue_configure_send (§5.2): holdoff must be "unchanged" (UNIMPLEMENTED: no delays), then
   * thd < depth or "unchanged" (ARGUMENT_INVALID). A new threshold re-evaluates TX at once.
   */
  configureSend(thd: number, holdoff: number): number {
    if (holdoff !== MSGQUEUE_DELAY_UNCHANGED) return Err.UNIMPLEMENTED;
    if (thd >= this.queueDepth && thd !== MSGQUEUE_THRESHOLD_UNCHANGED) return Err.ARGUMENT_INVALID;
    if (thd !== MSGQUEUE_THRESHOLD_UNCHANGED) {
      this.notfullThd = thd;
      if (this.count <= thd) this.sendSource.assert(false);
      else this.sendSource.clear();
    }
    return Err.OK;
  }

  /**
   * msgqueue_configure_receive (§5.2): holdoff "unchanged" only (UNIMPLEMENTED); thd 0 or above
   * depth is ARGUMENT_INVALID unless "unchanged" or "maximum" (= depth, set without re-evaluating
   * RX). An explicit threshold re-evaluates RX at once.
   */
  configureReceive(thd: number, holdoff: number): number {
    if (holdoff !== MSGQUEUE_DELAY_UNCHANGED) return Err.UNIMPLEMENTED;
    if (
      thd === 0 ||
      (thd > this.queueDepth && thd !== MSGQUEUE_THRESHOLD_MAXIMUM && thd !== MSGQUEUE_THRESHOLD_UNCHANGED)
    ) {
      return Err.ARGUMENT_INVALID;
    }
    if (thd === MSGQUEUE_THRESHOLD_MAXIMUM) {
      this.notemptyThd = this.queueDepth;
    } else if (thd !== MSGQUEUE_THRESHOLD_UNCHANGED) {
      this.notemptyThd = thd;
      if (this.count >= thd) this.rcvSource.assert(false);
      else this.rcvSource.clear();
    }
    return Err.OK;
  }
}
