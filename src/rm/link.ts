// An RM RPC link (RM spec §1.2–§1.5): a pair of message queues between the RM and one client VM —
// the client sends on one (the RM receives), the RM sends on the other — with the RM's receive and
// send-space VIRQs on its own VIC and the client's on the client's VIC. Packets are at most 240
// bytes; messages are fragmented and reassembled by src/rm/rpc (RM rules on this side).
//
// The RM copies packets through two scratch buffers in its own memory (msgqueue_send/receive take
// addresses in the caller's address space). Flow control (§1.5): when the client's queue is full,
// one reply and up to 256 notifications wait per link (the oldest notification is dropped beyond
// that), and go out when the queue has room again (the TX VIRQ).

import { Err } from '../hyp/abi/errors.js';
import { MSGQUEUE_RIGHT } from '../hyp/abi/rights.js';
import type { Hyp } from './hyp.js';
import { RmReassembler, fragmentMessage, type RpcMessage, type RmRxEvent } from './rpc/index.js';
import { MsgType, RPC_PACKET_SIZE, MSGQ_TX_FLAG_PUSH } from './rpc/constants.js';

/** Queue shape of every RM link (§1.2): depth 8, 240-byte messages. */
export const LINK_QUEUE_DEPTH = 8n;
export const LINK_MSG_SIZE = BigInt(RPC_PACKET_SIZE);
/** Notifications waiting per link before the oldest is dropped (§1.5). */
export const LINK_MAX_PENDING_NOTIFICATIONS = 256;

export interface LinkScratch {
  /** IPA of a ≥240-byte buffer in the RM's memory for received packets. */
  rx: bigint;
  /** IPA of a ≥240-byte buffer for packets being sent. */
  tx: bigint;
}

/** What the client needs to reach the RM (its device-tree node, §1.1). */
export interface ClientEnd {
  /** Cap (in the client's cspace) of the queue the client transmits on. */
  txCap: bigint;
  /** Cap of the queue the client receives on. */
  rxCap: bigint;
  /** The client's VIRQs: TX (room to send again) and RX (a message is pending). */
  txVirq: number;
  rxVirq: number;
}

export class RpcLink {
  private readonly reasm = new RmReassembler();
  /** Packets waiting for room in the client's queue, in order. */
  private readonly outbox: { packets: Uint8Array[]; notification: boolean }[] = [];
  /** Dropped/discarded packet events, for traces and tests. */
  readonly drops: RmRxEvent[] = [];

  private constructor(
    private readonly hyp: Hyp,
    readonly peerVmid: number,
    /** Root caps: the queue the RM receives on (client → RM) and the one it sends on. */
    readonly rxQueue: bigint,
    readonly txQueue: bigint,
    /** The RM's VIRQs for this link. */
    readonly rmRxVirq: number,
    readonly rmTxVirq: number,
    readonly client: ClientEnd,
    /** Where the RM stages this link's packets in its own memory. */
    readonly buffers: LinkScratch,
  ) {}

  /**
   * Create the queue pair, bind the VIRQs, and give the client its caps — the client's TX queue cap
   * first, then its RX queue cap, so a fresh cspace gets caps 0 and 1 as on Gunyah (§9.1).
   */
  static create(
    hyp: Hyp,
    root: { partition: bigint; cspace: bigint; vic: bigint },
    peer: { vmid: number; cspace: bigint; vic: bigint },
    virqs: { rmRx: number; rmTx: number; clientTx: number; clientRx: number },
    scratch: LinkScratch,
  ): RpcLink {
    const queue = (): bigint => {
      const q = hyp.must('partition_create_msgqueue', root.partition, root.cspace, 0n);
      hyp.must('msgqueue_configure', q, LINK_QUEUE_DEPTH | (LINK_MSG_SIZE << 16n), 0n);
      hyp.must('object_activate', q, 0n);
      return q;
    };
    const up = queue(); // client → RM
    const down = queue(); // RM → client
    hyp.must('msgqueue_bind_receive_virq', up, root.vic, BigInt(virqs.rmRx), 0n);
    hyp.must('msgqueue_bind_send_virq', down, root.vic, BigInt(virqs.rmTx), 0n);
    hyp.must('msgqueue_bind_send_virq', up, peer.vic, BigInt(virqs.clientTx), 0n);
    hyp.must('msgqueue_bind_receive_virq', down, peer.vic, BigInt(virqs.clientRx), 0n);
    const give = (q: bigint, rights: number): bigint =>
      hyp.must('cspace_copy_cap_from', root.cspace, q, peer.cspace, BigInt(rights), 0n);
    const txCap = give(up, MSGQUEUE_RIGHT.send);
    const rxCap = give(down, MSGQUEUE_RIGHT.receive);
    return new RpcLink(
      hyp,
      peer.vmid,
      up,
      down,
      virqs.rmRx,
      virqs.rmTx,
      { txCap, rxCap, txVirq: virqs.clientTx, rxVirq: virqs.clientRx },
      scratch,
    );
  }

  /** Receive every packet the client has queued; returns the messages they completed. */
  receive(): RpcMessage[] {
    const out: RpcMessage[] = [];
    const mem = this.hyp.v.memory;
    if (mem === null) return out;
    for (;;) {
      const r = this.hyp.call('msgqueue_receive', this.rxQueue, this.buffers.rx, LINK_MSG_SIZE, 0n);
      if (r.e !== Err.OK) break; // MSGQUEUE_EMPTY (or a broken link: nothing to read)
      const size = Number(r.x[1]!);
      const packet = mem.read(this.buffers.rx, size);
      if (typeof packet === 'number') break;
      for (const ev of this.reasm.push(packet)) {
        if (ev.kind === 'delivered') out.push(ev.message);
        else if (ev.kind === 'dropped' || ev.kind === 'discarded') this.drops.push(ev);
      }
      if (r.x[2] === 0n) break; // not_empty false: the queue is drained
    }
    return out;
  }

  /** Send a message now, or queue it behind what is already waiting (in order, §1.5). */
  send(msg: RpcMessage): void {
    const notification = msg.type === MsgType.NOTIFICATION;
    this.outbox.push({ packets: fragmentMessage(msg, 'rm'), notification });
    // §1.5: at most 256 notifications wait; the oldest waiting one goes first.
    let waiting = this.outbox.filter((m) => m.notification).length;
    while (waiting > LINK_MAX_PENDING_NOTIFICATIONS) {
      const i = this.outbox.findIndex((m, k) => m.notification && k > 0);
      if (i < 0) break;
      this.outbox.splice(i, 1);
      waiting--;
    }
    this.flush();
  }

  /** Send what fits now (also when the TX VIRQ says the client made room). */
  flush(): void {
    const mem = this.hyp.v.memory;
    if (mem === null) return;
    while (this.outbox.length > 0) {
      const m = this.outbox[0]!;
      while (m.packets.length > 0) {
        const p = m.packets[0]!;
        if (mem.write(this.buffers.tx, p) !== Err.OK) return;
        // PUSH on the last packet of a message: the client is interrupted once per message.
        const push = m.packets.length === 1 ? BigInt(MSGQ_TX_FLAG_PUSH) : 0n;
        const r = this.hyp.call('msgqueue_send', this.txQueue, BigInt(p.length), this.buffers.tx, push, 0n);
        if (r.e === Err.MSGQUEUE_FULL) return; // wait for the TX VIRQ
        m.packets.shift();
        if (r.e !== Err.OK) {
          // A broken link: drop the message rather than spin.
          m.packets.length = 0;
        }
      }
      this.outbox.shift();
    }
  }

  /** Messages (or parts) still waiting for room. */
  get backlog(): number {
    return this.outbox.length;
  }
}
