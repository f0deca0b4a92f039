// The client end of an RM RPC link (RM spec §1.1–§1.5), as Linux's Gunyah driver drives it: send
// requests fragmented into ≤240-byte packets on the TX queue (PUSH on the last), receive packets on
// the RX queue and reassemble them by Linux's rules, match replies to calls by seq, keep
// notifications in arrival order. It runs on any vCPU with hypercalls and memory (RmVcpu-shaped;
// native programs pass their NativeVcpu); packets go through two scratch buffers in that vCPU's
// memory, because msgqueue_send/receive copy from and to the caller's address space.

import { Err } from '../../hyp/abi/errors.js';
import type { RmVcpu } from '../../rm/port.js';
import {
  LinuxReassembler,
  MsgType,
  RPC_PACKET_SIZE,
  decodeReplyPayload,
  fragmentMessage,
  type LinuxRxEvent,
  type RpcMessage,
} from '../../rm/rpc/index.js';

export interface ClientLinkConfig {
  /** Caps (in the client's cspace) of the queue it sends on and the one it receives on. */
  txCap: bigint;
  rxCap: bigint;
  /** Two ≥240-byte buffers in the client's memory. */
  scratch: { rx: bigint; tx: bigint };
}

/** A finished call: the RM's error word and the data after it, or why there was no usable reply. */
export type CallOutcome = { ok: true; error: number; data: Uint8Array } | { ok: false; reason: string };

export class RmClientTransport {
  private readonly reasm = new LinuxReassembler();
  private seq = 0;
  private readonly done = new Map<number, CallOutcome>();
  /** Notifications received, oldest first (the caller takes them). */
  readonly notifications: RpcMessage[] = [];
  /** Packets the client ignored, for traces and tests. */
  readonly ignored: LinuxRxEvent[] = [];

  constructor(
    private readonly v: RmVcpu,
    readonly config: ClientLinkConfig,
  ) {}

  /**
   * Send a request; returns its seq (the key of its outcome) or a reason it could not be sent
   * (payload over Linux's limit, the queue full, a hypercall error).
   */
  request(msgId: number, payload: Uint8Array): number | string {
    const seq = this.seq;
    this.seq = (this.seq + 1) & 0xffff;
    let packets: Uint8Array[];
    try {
      packets = fragmentMessage({ type: MsgType.REQUEST, seq, msgId, payload }, 'linux');
    } catch (e) {
      return (e as Error).message;
    }
    this.reasm.expectReply(seq, msgId);
    const mem = this.v.memory;
    if (mem === null) return 'no memory view';
    for (let k = 0; k < packets.length; k++) {
      const p = packets[k]!;
      const e = mem.write(this.config.scratch.tx, p);
      if (e !== Err.OK) return `cannot stage a packet (error ${e})`;
      const push = k === packets.length - 1 ? 1n : 0n;
      const r = this.v.call('msgqueue_send', this.config.txCap, BigInt(p.length), this.config.scratch.tx, push, 0n);
      if (r.e !== Err.OK) return `msgqueue_send failed (error ${r.e})`;
    }
    return seq;
  }

  /** Send raw packets as they are (tests of malformed input). */
  sendRaw(packet: Uint8Array, push = true): number {
    const mem = this.v.memory;
    if (mem === null) return Err.ADDR_INVALID;
    const e = mem.write(this.config.scratch.tx, packet);
    if (e !== Err.OK) return e;
    return this.v.call(
      'msgqueue_send',
      this.config.txCap,
      BigInt(packet.length),
      this.config.scratch.tx,
      push ? 1n : 0n,
      0n,
    ).e;
  }

  /** Receive every queued packet; completes calls and collects notifications. */
  pump(): void {
    const mem = this.v.memory;
    if (mem === null) return;
    for (;;) {
      const r = this.v.call('msgqueue_receive', this.config.rxCap, this.config.scratch.rx, BigInt(RPC_PACKET_SIZE), 0n);
      if (r.e !== Err.OK) return;
      const packet = mem.read(this.config.scratch.rx, Number(r.x[1]!));
      if (typeof packet === 'number') return;
      for (const ev of this.reasm.push(packet)) {
        if (ev.kind === 'delivered') {
          const m = ev.message;
          if (m.type === MsgType.NOTIFICATION) this.notifications.push(m);
          else {
            const d = decodeReplyPayload(m.payload);
            this.done.set(m.seq, d.ok ? { ok: true, error: d.error, data: d.data } : { ok: false, reason: d.detail });
          }
        } else if (ev.kind === 'call-failed') {
          this.done.set(ev.seq, { ok: false, reason: `${ev.reason} (${ev.errno})` });
        } else if (ev.kind !== 'accepted') {
          this.ignored.push(ev);
          // Linux stops reading the queue for this interrupt after a bad byte 0 or a REQUEST; the
          // packets behind it wait for the next one.
          if (ev.kind === 'dropped' && ev.stopBatch) return;
        }
      }
    }
  }

  /** The outcome of call `seq` once its reply has arrived (and forget it), else undefined. */
  take(seq: number): CallOutcome | undefined {
    const o = this.done.get(seq);
    if (o !== undefined) this.done.delete(seq);
    return o;
  }
}

/** The interrupt side a client program needs (its vCPU's virtual GIC). */
interface ClientIrq {
  ack(): number;
  eoi(intid: number): void;
}

/**
 * Make one call and wait for its outcome (for generator programs: `yield*` it). While waiting the
 * program sleeps until an interrupt; on each wake it drains the RX queue, then ends the interrupts
 * it took, so the queue's level VIRQ drops once the queue is empty.
 */
export function* rmCall(
  irq: ClientIrq | null,
  t: RmClientTransport,
  msgId: number,
  payload: Uint8Array = new Uint8Array(0),
): Generator<'wait', CallOutcome, void> {
  const seq = t.request(msgId, payload);
  if (typeof seq === 'string') return { ok: false, reason: seq };
  for (;;) {
    const taken: number[] = [];
    if (irq !== null) for (let id = irq.ack(); id !== 1023; id = irq.ack()) taken.push(id);
    t.pump();
    for (const id of taken) irq!.eoi(id);
    const o = t.take(seq);
    if (o !== undefined) return o;
    yield 'wait';
  }
}
