// The client end of an RM RPC link (RM spec §1.1–§1.5), as Linux's Gunyah driver drives it: send
// requests fragmented into ≤240-byte packets on the TX queue (PUSH on the last), receive packets on
// the RX queue and reassemble them by Linux's rules, match replies to calls by seq, keep
// notifications in arrival order. It runs on any vCPU with hypercalls and memory (RmVcpu-shaped;
// native programs pass their NativeVcpu); packets go through two scratch buffers in that vCPU's
// memory, because msgqueue_send/receive copy from and to the caller's address space.
//
// Flow control (§1.2): the queue holds 8 packets and a request may take 62. Like Linux, the sender
// does not fail on a full queue: when msgqueue_send answers MSGQUEUE_FULL the packets not yet sent
// wait in an outbox, in order, and go out when the link's TX VIRQ says the RM made room (every
// `pump` tries again). A message is never interleaved with another: the next request's packets
// queue behind it.

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

/** A request whose packets are not all in the TX queue yet. */
interface Outgoing {
  readonly seq: number;
  readonly packets: Uint8Array[];
  /** Index of the next packet to send. */
  next: number;
}

export class RmClientTransport {
  private readonly reasm = new LinuxReassembler();
  private seq = 0;
  private readonly done = new Map<number, CallOutcome>();
  /** Requests waiting for room in the TX queue, oldest first (the first may be partly sent). */
  private readonly outbox: Outgoing[] = [];
  /** Notifications received, oldest first (the caller takes them). */
  readonly notifications: RpcMessage[] = [];
  /** Packets the client ignored, for traces and tests. */
  readonly ignored: LinuxRxEvent[] = [];

  constructor(
    private readonly v: RmVcpu,
    readonly config: ClientLinkConfig,
  ) {}

  /**
   * Start a request; returns its seq (the key of its outcome, see `take`) or a reason it cannot be
   * sent at all (payload over Linux's limit, no memory view, a seq still waiting for its reply).
   * As many packets as fit go out now; the rest wait for room (`pump` sends them). A hypercall error
   * other than MSGQUEUE_FULL fails the call: its outcome says so.
   */
  request(msgId: number, payload: Uint8Array): number | string {
    if (this.v.memory === null) return 'no memory view';
    const seq = this.seq;
    let packets: Uint8Array[];
    try {
      packets = fragmentMessage({ type: MsgType.REQUEST, seq, msgId, payload }, 'linux');
      // Throws if 65 536 calls ago a call with this seq was made and is still unanswered.
      this.reasm.expectReply(seq, msgId);
    } catch (e) {
      return (e as Error).message;
    }
    this.seq = (this.seq + 1) & 0xffff;
    this.outbox.push({ seq, packets, next: 0 });
    this.flush();
    return seq;
  }

  /** Whether call `seq` still has packets waiting for room in the TX queue. */
  sending(seq: number): boolean {
    return this.outbox.some((m) => m.seq === seq);
  }

  /** Packets waiting for room in the TX queue, over every request. */
  get backlog(): number {
    let n = 0;
    for (const m of this.outbox) n += m.packets.length - m.next;
    return n;
  }

  /**
   * Send waiting packets until the queue is full or the outbox empty. PUSH goes on the last packet
   * of each message, as Linux sets it. A long message still reaches the RM while it is being sent:
   * the first packet into an empty queue raises the RX VIRQ whatever PUSH says (the not-empty
   * threshold is 1, hypervisor-abi.md §5.3).
   */
  private flush(): void {
    const mem = this.v.memory;
    if (mem === null) return;
    while (this.outbox.length > 0) {
      const m = this.outbox[0]!;
      let failure: string | null = null;
      while (m.next < m.packets.length) {
        const p = m.packets[m.next]!;
        const e = mem.write(this.config.scratch.tx, p);
        if (e !== Err.OK) {
          failure = `cannot stage a packet (error ${e})`;
          break;
        }
        const push = m.next === m.packets.length - 1 ? 1n : 0n;
        const r = this.v.call('msgqueue_send', this.config.txCap, BigInt(p.length), this.config.scratch.tx, push, 0n);
        // Full: keep this packet and the rest for the TX VIRQ (room again).
        if (r.e === Err.MSGQUEUE_FULL) return;
        if (r.e !== Err.OK) {
          failure = `msgqueue_send failed (error ${r.e})`;
          break;
        }
        m.next++;
      }
      this.outbox.shift();
      if (failure !== null) {
        // Packets already sent stay in the queue; the RM discards the partial message when the next
        // one starts (§1.4). The call gets no reply, so it is no longer waited for.
        this.reasm.forgetCall(m.seq);
        this.done.set(m.seq, { ok: false, reason: failure });
      }
    }
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

  /**
   * Service the link: send what waits for room, then receive every queued packet, completing calls
   * and collecting notifications.
   */
  pump(): void {
    this.flush();
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
 * program sleeps until an interrupt; on each wake it sends what the TX queue has room for (the TX
 * VIRQ woke it) and drains the RX queue, then ends the interrupts it took, so the queues' level
 * VIRQs drop once there is nothing to do. A request larger than the queue is thus sent in pieces
 * between wakes, and its reply waited for once the last piece is out.
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
