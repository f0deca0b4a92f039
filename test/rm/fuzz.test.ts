// The RM against a hostile client (issue 4; RM spec §1.3–§1.5, §2, §6): a secondary VM built with
// rm.buildSecondary runs a native program that throws seeded random packets at the RM over its real
// link — random bytes, random valid headers with random payloads, mutated copies of a valid request
// of every message ID, truncated multi-packet messages, stray continuations, out-of-order and
// duplicated packets, and bursts that fill its queue — bounded by a packet count, not by time.
// Meanwhile the primary VM keeps making well-formed calls, each of which must get its right answer.
// Afterwards the RM must not have failed, every REQUEST the RM could have reassembled must have had
// exactly one reply, the hostile VM's link must still work, and nothing may exist that the VMs'
// construction and the primary's calls do not account for: VMs, parcels, IRQ lends, hypervisor
// objects, caps, mappings.
//
// Which packets complete a REQUEST is decided by an independent model of the RM's receive rules
// (§1.3 header checks, §1.4 reassembly), written here from the spec, fed with every packet the
// hostile VM's msgqueue_send accepted.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Err } from '../../src/hyp/abi/errors.js';
import { Hypervisor } from '../../src/hyp/hypervisor.js';
import { HypSystem } from '../../src/hyp/system.js';
import type { Addrspace } from '../../src/hyp/mem/addrspace.js';
import type { Cspace } from '../../src/hyp/core/cspace.js';
import type { MemExtent } from '../../src/hyp/mem/memextent.js';
import {
  ResourceManager,
  PRIMARY_LINK_RX_VIRQ,
  PRIMARY_LINK_TX_VIRQ,
  PRIMARY_VMID,
  SECONDARY_LINK_RX_VIRQ,
  SECONDARY_LINK_TX_VIRQ,
} from '../../src/rm/rm.js';
import { RmClientTransport, rmCall, type CallOutcome } from '../../src/vmm/rm-client/transport.js';
import { RmClient, describeFailure, type RmResult } from '../../src/vmm/rm-client/client.js';
import { generatorProgram, type ProgramBody } from '../../src/vmm/rm-client/program.js';
import type { RmVcpu } from '../../src/rm/port.js';
import { MESSAGES, MsgId, MsgType, RmError, fragmentMessage } from '../../src/rm/rpc/index.js';
import * as M from '../../src/rm/msgs/index.js';
import { VmState } from '../../src/rm/vm-mgmt.js';
import { Rng as BaseRng } from '../helpers/gen.js';

const MiB = 1024 * 1024;
const ONES = 0xffff_ffff_ffff_ffffn;
const PAGE = 0x1000n;
const HOSTILE = 0x80;
/** The VM the primary allocates, lends a page to and frees, round after round. */
const OTHER = 0x81;
const LENT_PAGE = 0x4400_0000n;
const PRIMARY_SCRATCH = { rx: 0x4000_1000n, tx: 0x4000_1100n };
/** The hostile VM's one page of memory (IPA 0x1000), mapped by the test: its link buffers. */
const HOSTILE_SCRATCH = { rx: 0x1000n, tx: 0x1100n };

// ------------------------------------------------------------------------------- seeded PRNG

/** The seeded generator of test/helpers/gen.ts (no Math.random: runs repeat exactly), plus bytes. */
class Rng extends BaseRng {
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.u32() & 0xff;
    return b;
  }
}

// ------------------------------------------------------- valid requests of every message ID

interface Sample {
  readonly msgId: number;
  readonly payload: Uint8Array;
}

/** Valid requests built with the message's own codec (so they stay valid as the codecs evolve). */
function sample<Req>(msg: M.RequestMessage<Req, unknown>, ...values: Req[]): Sample[] {
  return values.map((v) => ({ msgId: msg.id, payload: msg.request.encode(v) }));
}

const acl = (vmid: number, rights = 6): M.AclEntry => ({ vmid, rights });
const sgl = (ipa: bigint, size = PAGE): M.SglEntry => ({ ipa, size });
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

/**
 * Requests a hostile VM might send, aimed where they could do harm: itself, its owner, the VM the
 * primary keeps allocating, its own page of memory, the first parcel and IRQ-lend handles.
 */
const SAMPLES: readonly Sample[] = [
  ...sample(M.vmAllocateMsg, { vmid: 0 }, { vmid: 10 }),
  ...sample(M.vmDeallocateMsg, { vmid: HOSTILE }, { vmid: OTHER }),
  ...sample(M.vmConfigImageMsg, {
    vmid: HOSTILE,
    authType: 0,
    memparcel: 0,
    imageOffset: 0n,
    imageSize: PAGE,
    dtOffset: 0x800n,
    dtSize: 0x100n,
  }),
  ...sample(M.vmAuthImageMsg, { vmid: HOSTILE, params: [{ paramType: 1, param: 2 }] }),
  ...sample(M.vmInitMsg, { vmid: HOSTILE }, { vmid: OTHER }),
  ...sample(M.vmStartMsg, { vmid: HOSTILE }, { vmid: OTHER }),
  ...sample(M.vmStopMsg, { vmid: HOSTILE, flags: 1, stopReason: 3 }, { vmid: PRIMARY_VMID, flags: 1, stopReason: 3 }),
  ...sample(M.vmResetMsg, { vmid: HOSTILE }, { vmid: OTHER }),
  ...sample(M.vmExitMsg, { exitFlags: 0, exitCode: 0 }),
  ...sample(M.vmGetStateMsg, { vmid: 0 }, { vmid: PRIMARY_VMID }),
  ...sample(M.vmSetStatusMsg, { osState: 1, appStatus: 2 }),
  ...sample(M.vmGetVmidMsg, {}),
  ...sample(M.vmGetOwnerMsg, {}),
  ...sample(M.vmGetPeersMsg, {}),
  ...sample(M.vmHostGetTypeMsg, {}),
  ...sample(M.vmGetIdMsg, { vmid: HOSTILE }),
  ...sample(M.vmLookupUriMsg, text('vm://hostile')),
  ...sample(M.vmLookupGuidMsg, new Uint8Array(16).fill(0x5a)),
  ...sample(M.vmLookupNameMsg, text('hostile')),
  ...sample(M.vmSetCrashMsgMsg, text('boom')),
  ...sample(M.vmGetCrashMsgMsg, { vmid: HOSTILE }),
  ...sample(M.vmSetTimeBaseMsg, { vmid: HOSTILE, timeBase: 1n, sysTimerRef: 2n }),
  ...sample(M.vmSetFirmwareMemMsg, { vmid: HOSTILE, memparcel: 0, offset: 0n, size: PAGE }),
  ...sample(M.vmGetHypResourcesMsg, { vmid: HOSTILE }, { vmid: PRIMARY_VMID }),
  ...sample(M.vmConsoleOpenMsg, { vmid: 0 }, { vmid: HOSTILE }),
  ...sample(M.vmConsoleCloseMsg, { vmid: 0 }),
  ...sample(M.vmConsoleWriteMsg, { target: 0, data: text('hello') }, { target: PRIMARY_VMID, data: text('x') }),
  ...sample(M.vmConsoleFlushMsg, { vmid: 0 }),
  ...sample(M.vmSetBootContextMsg, { vmid: HOSTILE, regSet: 0, regIndex: 0, value: 0x8000_0000n }),
  ...sample(M.vmSetDemandPagingMsg, { vmid: HOSTILE, ranges: [{ gpa: 0x8000_0000n, size: PAGE }] }),
  ...sample(M.vmSetAddressLayoutMsg, { vmid: HOSTILE, rangeId: 0, base: 0x8000_0000n, size: PAGE }),
  ...sample(M.vmIrqLendMsg, { borrower: PRIMARY_VMID, virq: 33, label: 1 }, { borrower: HOSTILE, virq: 95, label: 0 }),
  ...sample(M.vmIrqNotifyMsg, { handle: 0, flags: 1, borrowers: [PRIMARY_VMID] }, { handle: 33, flags: 2 }),
  ...sample(M.vmIrqAcceptMsg, { handle: 33, virq: 0xffff_ffff }),
  ...sample(M.vmIrqReleaseMsg, { handle: 33 }),
  ...sample(M.vmIrqReclaimMsg, { handle: 33 }),
  ...sample(M.memDonateMsg, {
    memType: 0,
    flags: 0,
    label: 0,
    acl: [acl(PRIMARY_VMID, 7)],
    sgl: [sgl(0x1000n)],
    attrs: [],
  }),
  ...sample(
    M.memLendMsg,
    { memType: 0, flags: 0, label: 1, acl: [acl(PRIMARY_VMID)], sgl: [sgl(0x1000n)], attrs: [] },
    { memType: 0, flags: 2, label: 1, acl: [acl(OTHER)], sgl: [sgl(LENT_PAGE)], attrs: [] },
  ),
  ...sample(M.memShareMsg, {
    memType: 0,
    flags: 0,
    label: 2,
    acl: [acl(HOSTILE, 7), acl(PRIMARY_VMID, 4)],
    sgl: [sgl(0x1000n)],
    attrs: [{ attr: 0, vmid: PRIMARY_VMID }],
  }),
  ...sample(M.memAppendMsg, { handle: 0, flags: 1, sgl: [sgl(0x1000n)] }),
  ...sample(M.memAcceptMsg, {
    handle: 0,
    memType: 0,
    transType: 1,
    flags: 0x80,
    label: 0,
    acl: [],
    mapVmid: 0,
    sgl: [sgl(0x8000_0000n)],
    attrs: [],
  }),
  ...sample(M.memReleaseMsg, { handle: 0, flags: 0 }),
  ...sample(M.memReclaimMsg, { handle: 0, flags: 1 }),
  ...sample(
    M.memNotifyMsg,
    { handle: 0, flags: 1, memInfoTag: 7, vmids: [PRIMARY_VMID] },
    { handle: 0, flags: 2, memInfoTag: 0 },
  ),
  ...sample(M.memLookupSglMsg, { memType: 0, label: 0, acl: [acl(HOSTILE)], sgl: [sgl(0x1000n)], attrs: [] }),
  ...sample(
    M.ipaReserveMsg,
    {
      allocType: M.IpaAllocType.FIXED,
      genericConstraints: 0,
      platformConstraints: 0,
      ranges: [{ base: 0x8000_0000n, size: PAGE }],
    },
    {
      allocType: M.IpaAllocType.ALLOC,
      genericConstraints: 0,
      platformConstraints: 0,
      ranges: [{ regionBase: 0x8000_0000n, regionSize: 0x10_0000n, size: PAGE, alignment: PAGE }],
    },
  ),
  ...sample(M.fwMilestoneMsg, {}),
  ...sample(M.fwSetVmFirmwareMsg, { authType: 0, memparcel: 0, offset: 0n, size: PAGE }),
];

/** Every request ID of §2.1: its valid samples, or for IDs without a layout a VMID-shaped payload. */
const BASES: readonly Sample[] = MESSAGES.filter((m) => m.kind === 'request').flatMap((m) => {
  const own = SAMPLES.filter((s) => s.msgId === m.id);
  return own.length > 0 ? own : [{ msgId: m.id, payload: new Uint8Array([HOSTILE, 0, 0, 0]) }];
});

// ---------------------------------------------------------------------------- mutations

const INTERESTING_U32 = [0, 1, 3, 0x80, 0x81, 0xff, 0x1ff, 0x200, 0x201, 0xffff, 0x1_0000, 0x7fff_ffff, 0xffff_ffff];

/** A mutated copy of `p` (or, now and then, `p` as it is). */
function mutate(rng: Rng, p: Uint8Array): Uint8Array {
  let b: Uint8Array = p.slice();
  const rounds = rng.int(0, 3);
  for (let r = 0; r < rounds; r++) {
    switch (rng.below(7)) {
      case 0: // flip bits
        if (b.length > 0) for (let k = rng.int(1, 4); k > 0; k--) b[rng.below(b.length)]! ^= 1 << rng.below(8);
        break;
      case 1: // an interesting byte
        if (b.length > 0) b[rng.below(b.length)] = rng.pick([0, 1, 0x7f, 0x80, 0xff]);
        break;
      case 2: // an interesting u16/u32 at an aligned offset (lengths, counts, handles, VMIDs)
        if (b.length >= 4) {
          const at = rng.below(b.length >> 2) * 4;
          const v = rng.pick(INTERESTING_U32);
          const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
          if (rng.chance(0.5)) dv.setUint32(at, v >>> 0, true);
          else dv.setUint16(at + 2 * rng.below(2), v & 0xffff, true);
        }
        break;
      case 3: // truncate
        b = b.slice(0, rng.below(b.length + 1));
        break;
      case 4: // extend
        b = concat(b, rng.bytes(rng.chance(0.9) ? rng.int(1, 16) : rng.int(200, 2000)));
        break;
      case 5: // duplicate a chunk (a list's entries no longer match its count)
        if (b.length > 0) {
          const at = rng.below(b.length);
          const n = rng.int(1, Math.min(32, b.length - at));
          b = concat(b.slice(0, at + n), b.slice(at, at + n), b.slice(at + n));
        }
        break;
      default: // leave it valid
        break;
    }
  }
  return b;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** An 8-byte header (§1.3) with the fields as given (fragment count masked to 6 bits). */
function header(type: number, fragments: number, seq: number, msgId: number, byte0 = 0x21): Uint8Array {
  const h = new Uint8Array(8);
  const dv = new DataView(h.buffer);
  h[0] = byte0;
  h[1] = (type & 3) | ((fragments & 0x3f) << 2);
  dv.setUint16(2, seq & 0xffff, true);
  dv.setUint32(4, msgId >>> 0, true);
  return h;
}

const ALL_IDS = MESSAGES.map((m) => m.id);

// ------------------------------------------------------------- the RM's receive rules, modelled

/** What an RM link makes of a packet stream (§1.3, §1.4), written from the spec. */
class RmReceiveModel {
  private pending: {
    type: number;
    seq: number;
    msgId: number;
    fragments: number;
    got: number;
    bytes: Uint8Array[];
  } | null = null;

  /** Feed one packet; the message it completes, if any. */
  push(p: Uint8Array): { type: number; seq: number; msgId: number; payload: Uint8Array } | null {
    // §1.3: shorter than the header, API ≠ 1, header words ≠ 2, or fragment count > 62 → dropped.
    if (p.length < 8 || p[0] !== 0x21 || p[1]! >> 2 > 62) return null;
    const type = p[1]! & 3;
    const fragments = p[1]! >> 2;
    const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
    const seq = dv.getUint16(2, true);
    const msgId = dv.getUint32(4, true);
    const body = p.slice(8);
    if (type !== 0) {
      // §1.4: a non-continuation starts a new message, discarding any half-received one.
      this.pending = { type, seq, msgId, fragments, got: 0, bytes: [body] };
    } else {
      const q = this.pending;
      // §1.4: a continuation with nothing pending, or not matching msg_id / seq / count, is dropped.
      if (q === null || q.msgId !== msgId || q.seq !== seq || q.fragments !== fragments) return null;
      q.got++;
      q.bytes.push(body);
    }
    const q = this.pending!;
    if (q.got < q.fragments) return null;
    this.pending = null;
    return { type: q.type, seq: q.seq, msgId: q.msgId, payload: concat(...q.bytes) };
  }
}

// ---------------------------------------------------------------------------- the hostile VM

interface HostileLog {
  /** Packets msgqueue_send accepted, and how often it answered MSGQUEUE_FULL. */
  sent: number;
  full: number;
  /** Requests the RM must answer (seq, msg_id), in the order it completes them. */
  expected: string[];
  /** Replies received, as `seq:msg_id`, in arrival order, and their RM error by message. */
  replies: string[];
  errors: Map<number, Set<number>>;
  notifications: number;
  /** Message IDs a mutated valid request was sent for. */
  mutatedIds: Set<number>;
  /** The packet kinds sent, for the report. */
  kinds: Map<string, number>;
  fuzzDone: boolean;
  drained: boolean;
  final: CallOutcome | null;
  /** Whether the hostile VM could read its own page, the primary's lent page, and an unmapped IPA. */
  reads: (Uint8Array | number)[];
}

const key = (seq: number, msgId: number): string => `${seq}:0x${(msgId >>> 0).toString(16)}`;

/** The hostile program: `budget` packets of seeded garbage, then drain every reply, then one honest call. */
function* hostile(v: RmVcpu, seed: number, budget: number, log: HostileLog): ProgramBody {
  const rng = new Rng(seed);
  const irq = v.irq!;
  const mem = v.memory!;
  irq.init();
  // Edge-triggered, as Linux maps the RM link's interrupts (§1.1): one wake per assertion.
  irq.enable(SECONDARY_LINK_TX_VIRQ, true);
  irq.enable(SECONDARY_LINK_RX_VIRQ, true);
  const model = new RmReceiveModel();
  const incoming = new RmReceiveModel();

  const receiveAll = (): void => {
    for (;;) {
      const r = v.call('msgqueue_receive', 1n, HOSTILE_SCRATCH.rx, 240n, 0n);
      if (r.e !== Err.OK) return;
      const p = mem.read(HOSTILE_SCRATCH.rx, Number(r.x[1]!));
      assert.ok(typeof p !== 'number');
      const m = incoming.push(p);
      if (m === null) continue;
      if (m.type === MsgType.REPLY) {
        log.replies.push(key(m.seq, m.msgId));
        assert.ok(m.payload.length >= 4, 'every reply starts with its u32 error (§1.5)');
        const e = new DataView(m.payload.buffer, m.payload.byteOffset).getUint32(0, true);
        let s = log.errors.get(m.msgId);
        if (s === undefined) log.errors.set(m.msgId, (s = new Set()));
        s.add(e);
      } else if (m.type === MsgType.NOTIFICATION) {
        log.notifications++;
      } else {
        assert.fail(`the RM sent a ${m.type === MsgType.REQUEST ? 'REQUEST' : 'CONTINUATION-started'} message`);
      }
    }
  };
  /** Take the interrupts, maybe read the replies (leaving them makes the RM's outbox back up). */
  const service = (drain: boolean): void => {
    const taken: number[] = [];
    for (let id = irq.ack(); id !== 1023; id = irq.ack()) taken.push(id);
    if (drain) receiveAll();
    for (const id of taken) irq.eoi(id);
  };

  function* send(p: Uint8Array, kind: string): Generator<'wait', void, void> {
    log.kinds.set(kind, (log.kinds.get(kind) ?? 0) + 1);
    assert.equal(mem.write(HOSTILE_SCRATCH.tx, p), Err.OK);
    for (;;) {
      const push = rng.chance(0.5) ? 1n : 0n;
      const r = v.call('msgqueue_send', 0n, BigInt(p.length), HOSTILE_SCRATCH.tx, push, 0n);
      if (r.e === Err.OK) {
        log.sent++;
        const m = model.push(p);
        if (m !== null && m.type === MsgType.REQUEST) log.expected.push(key(m.seq, m.msgId));
        return;
      }
      assert.equal(r.e, Err.MSGQUEUE_FULL, 'a 1..240-byte packet is refused only for want of room');
      log.full++;
      // Wait for the TX edge (room again); interrupts are taken only after waking, so an edge that
      // came after the failed send is not lost.
      yield 'wait';
      service(rng.chance(0.6));
    }
  }

  /** The packets of a (possibly mutated) request of a random or the next message ID. */
  let nextBase = 0;
  const mutatedPackets = (): Uint8Array[] => {
    const base = rng.chance(0.5) ? BASES[nextBase++ % BASES.length]! : rng.pick(BASES);
    log.mutatedIds.add(base.msgId);
    let payload = mutate(rng, base.payload);
    if (payload.length > 63 * 232) payload = payload.slice(0, 63 * 232);
    // Mostly a REQUEST; sometimes a type a client may not send (§1.5: dropped, no reply).
    const type = rng.chance(0.9) ? MsgType.REQUEST : rng.pick([MsgType.REPLY, MsgType.NOTIFICATION]);
    return fragmentMessage({ type, seq: rng.below(0x1_0000), msgId: base.msgId, payload }, 'rm');
  };
  /** A message of `n` packets with a random payload, well formed. */
  const longMessage = (n: number): Uint8Array[] => {
    const payload = rng.bytes((n - 1) * 232 + rng.int(1, 232));
    return fragmentMessage(
      { type: MsgType.REQUEST, seq: rng.below(0x1_0000), msgId: rng.pick(ALL_IDS), payload },
      'rm',
    );
  };

  let last: Uint8Array[] = [];
  while (log.sent < budget) {
    const what = rng.below(100);
    let packets: Uint8Array[];
    let kind: string;
    if (what < 12) {
      kind = 'random bytes';
      const p = rng.bytes(rng.int(1, 240));
      if (rng.chance(0.5)) p[0] = 0x21;
      packets = [p];
    } else if (what < 27) {
      kind = 'random header';
      const id = rng.chance(0.8) ? rng.pick(ALL_IDS) : rng.u32();
      packets = [concat(header(rng.below(4), rng.below(64), rng.below(0x1_0000), id), rng.bytes(rng.int(0, 232)))];
    } else if (what < 72) {
      kind = 'mutated request';
      packets = mutatedPackets();
    } else if (what < 78) {
      kind = 'truncated message';
      const m = longMessage(rng.chance(0.8) ? rng.int(2, 12) : rng.int(13, 63));
      packets = m.slice(0, rng.int(1, m.length - 1));
    } else if (what < 86) {
      kind = 'stray continuation';
      // A continuation of the last message (extra, or with one field off), or of nothing.
      const ref = last.length > 0 ? rng.pick(last) : header(1, 0, 0, MsgId.VM_GET_VMID);
      const dv = new DataView(ref.buffer, ref.byteOffset, ref.byteLength);
      const seq = dv.getUint16(2, true) + (rng.chance(0.5) ? 0 : 1);
      const frags = (ref[1]! >> 2) + (rng.chance(0.7) ? 0 : 1);
      const id = rng.chance(0.8) ? dv.getUint32(4, true) : rng.pick(ALL_IDS);
      packets = [concat(header(0, frags, seq, id), rng.bytes(rng.int(0, 232)))];
    } else if (what < 92) {
      kind = 'reordered or duplicated';
      const m = longMessage(rng.int(2, 12));
      packets = m.slice();
      const i = rng.below(packets.length);
      const j = rng.below(packets.length);
      if (rng.chance(0.5)) [packets[i], packets[j]] = [packets[j]!, packets[i]!];
      else packets.splice(i, 0, packets[j]!);
    } else if (what < 97) {
      kind = 'burst';
      // Many small requests back to back: the queue fills, and so does the RM's way back.
      packets = [];
      for (let k = rng.int(8, 24); k > 0; k--) {
        packets.push(
          ...fragmentMessage(
            { type: MsgType.REQUEST, seq: rng.below(0x1_0000), msgId: MsgId.VM_GET_VMID, payload: new Uint8Array(0) },
            'rm',
          ),
        );
      }
    } else {
      kind = 'long message';
      packets = longMessage(rng.int(9, 63));
    }
    last = packets;
    for (const p of packets) {
      if (log.sent === budget) break;
      yield* send(p, kind);
    }
    // Now and then let the others run, and read (or ignore) what came back.
    if (rng.chance(0.2)) {
      service(rng.chance(0.7));
      v.call('scheduler_yield', 0n, 0n, 0n);
      yield 'yield';
    }
  }
  log.fuzzDone = true;

  // Every completed request must be answered: read until all replies are in (the RM's outbox drains
  // as the queue empties). If one never comes the system goes idle with `drained` false.
  service(true);
  while (log.replies.length < log.expected.length) {
    yield 'wait';
    service(true);
  }
  log.drained = true;

  // The link still works for an honest call (a fresh Linux-style transport, seq from 0).
  const t = new RmClientTransport(v, { txCap: 0n, rxCap: 1n, scratch: HOSTILE_SCRATCH });
  log.final = yield* rmCall(irq, t, MsgId.VM_GET_VMID);
  log.reads.push(mem.read(0x1000n, 4), mem.read(LENT_PAGE, 4), mem.read(0x8000_0000n, 4));
}

// ------------------------------------------------------------------------------ the primary VM

interface PrimaryLog {
  /** Rounds completed while the hostile VM was still sending, and in all. */
  roundsDuringFuzz: number;
  rounds: number;
  /** Calls whose answer was not the right one. */
  wrong: string[];
  /** The parcel handles it was given. */
  handles: number[];
}

const MIN_ROUNDS = 3;

function* primary(c: RmClient, v: RmVcpu, hostileLog: HostileLog, log: PrimaryLog): Generator<'wait', void, void> {
  const expect = <T>(what: string, r: RmResult<T>, want: T): void => {
    if (!r.ok || r.value !== want)
      log.wrong.push(`round ${log.rounds}: ${what} → ${r.ok ? String(r.value) : describeFailure(r)}`);
  };
  while (!hostileLog.fuzzDone || log.rounds < MIN_ROUNDS) {
    expect('VM_GET_VMID', yield* c.vmGetVmid(), PRIMARY_VMID);
    expect('VM_ALLOCATE(0)', yield* c.vmAllocate(0), OTHER);
    const lend = yield* c.memLend({
      memType: 0,
      flags: 0,
      label: log.rounds,
      acl: [acl(OTHER)],
      sgl: [sgl(LENT_PAGE)],
      attrs: [],
    });
    if (lend.ok) log.handles.push(lend.value);
    else log.wrong.push(`round ${log.rounds}: MEM_LEND → ${describeFailure(lend)}`);
    // Lent: the page is not the primary's until RECLAIM (§6.1).
    if (v.memory!.read(LENT_PAGE, 4) !== Err.ADDR_INVALID)
      log.wrong.push(`round ${log.rounds}: lent page still readable`);
    if (lend.ok) expect('MEM_RECLAIM', yield* c.memReclaim(lend.value), undefined);
    if (!(v.memory!.read(LENT_PAGE, 4) instanceof Uint8Array)) log.wrong.push(`round ${log.rounds}: page not back`);
    expect('VM_DEALLOCATE', yield* c.vmDeallocate(OTHER), undefined);
    if (!hostileLog.fuzzDone) log.roundsDuringFuzz++;
    log.rounds++;
  }
}

// ------------------------------------------------------------------------------ the system

const OBJECT_TYPES = [
  'cspace',
  'vic',
  'msgqueue',
  'addrspace',
  'memextent',
  'vpm_group',
  'thread',
  'doorbell',
  'hwirq',
];

function liveCounts(hv: Hypervisor): Record<string, number> {
  return Object.fromEntries(OBJECT_TYPES.map((t) => [t, hv.liveOf(t).length]));
}

/** Caps per cspace, mappings per addrspace, children and pages per extent: what could leak. */
function holdings(hv: Hypervisor): string[] {
  return [
    ...(hv.liveOf('cspace') as Cspace[]).map((c) => `${String(c)} caps ${c.capCount}`),
    ...(hv.liveOf('addrspace') as Addrspace[]).map((a) => `${String(a)} vmid ${a.vmid} maps ${a.mappedBy.size}`),
    ...(hv.liveOf('memextent') as MemExtent[]).map(
      (m) => `${String(m)} children ${m.children.size} owned ${m.ownedPages}`,
    ),
  ];
}

function fuzz(seed: number, budget: number) {
  const hv = new Hypervisor({ memory: { base: 0x4000_0000, size: 2048 * MiB } });
  const root = hv.createRootVm();
  const before = liveCounts(hv);
  const sys = new HypSystem(hv, 1);
  const rm = new ResourceManager();
  const rmRunner = sys.addNative(root.thread, rm);
  const hLog: HostileLog = {
    sent: 0,
    full: 0,
    expected: [],
    replies: [],
    errors: new Map(),
    notifications: 0,
    mutatedIds: new Set(),
    kinds: new Map(),
    fuzzDone: false,
    drained: false,
    final: null,
    reads: [],
  };
  const pLog: PrimaryLog = { roundsDuringFuzz: 0, rounds: 0, wrong: [], handles: [] };
  let phase = 0;
  let spawned = 0;
  let primaryDone = false;
  let hostileDone = false;
  sys.spawn = () => {
    const isPrimary = spawned++ === 0;
    return generatorProgram(function* (v: RmVcpu) {
      if (!isPrimary) {
        yield* hostile(v, seed, budget, hLog);
        hostileDone = true;
        return;
      }
      v.irq!.init();
      v.irq!.enable(PRIMARY_LINK_TX_VIRQ);
      v.irq!.enable(PRIMARY_LINK_RX_VIRQ);
      const c = new RmClient(new RmClientTransport(v, { txCap: 0n, rxCap: 1n, scratch: PRIMARY_SCRATCH }), v.irq);
      const a = yield* c.vmAllocate(0);
      assert.deepEqual(a, { ok: true, value: HOSTILE });
      while (phase < 1) {
        v.call('scheduler_yield', 0n, 0n, 0n);
        yield 'yield';
      }
      yield* primary(c, v, hLog, pLog);
      primaryDone = true;
    });
  };
  assert.equal(sys.run(1_000_000), 'limit');
  // The hostile VM: built by the RM's own vCPU, with one page of memory for its link buffers.
  const rmVcpu = rmRunner.vcpu;
  const vm = rm.buildSecondary(rmVcpu, HOSTILE, { proxy: false });
  const me = rmVcpu.call('partition_create_memextent', root.caps.partition, root.caps.cspace, 0n).x[1]!;
  assert.equal(rmVcpu.call('memextent_configure', me, 0x9000_0000n, PAGE, 7n, 0n).e, 0);
  assert.equal(rmVcpu.call('object_activate', me, 0n).e, 0);
  assert.equal(
    rmVcpu.call('addrspace_map', vm.addrspace, me, 0x1000n, 7n | (7n << 4n) | (15n << 16n), 0n, 0n, 0n).e,
    0,
  );
  assert.equal(rmVcpu.call('vcpu_set_affinity', vm.vcpus[0]!, 0n, ONES).e, 0);
  assert.equal(rmVcpu.call('vcpu_poweron', vm.vcpus[0]!, 0n, 0n, 0n).e, 0);
  // Everything the VMs are made of exists now: this is what must be left at the end.
  const built = liveCounts(hv);
  const builtHoldings = holdings(hv);
  phase = 1;
  const end = sys.run(Number(process.env.FUZZ_NS ?? 250_000_000));
  return { hv, rm, sys, end, before, built, builtHoldings, hLog, pLog, primaryDone, hostileDone };
}

// ---------------------------------------------------------------------------------- tests

test('fuzz setup: the hostile VM has a valid request of every message ID §2.1 gives a layout, and each decodes with its own codec', () => {
  for (const m of M.REQUEST_MESSAGES) {
    const mine = SAMPLES.filter((s) => s.msgId === m.id);
    assert.ok(mine.length > 0, `no sample for ${m.name}`);
    for (const s of mine) assert.ok(m.request.decode(s.payload).ok, `${m.name} sample decodes`);
  }
  // Request IDs without a layout still get mutated copies (of a VMID-shaped payload).
  const requestIds = MESSAGES.filter((m) => m.kind === 'request').map((m) => m.id);
  assert.deepEqual(new Set(BASES.map((b) => b.msgId)), new Set(requestIds));
});

test('fuzz setup: the model of the RM receive rules (§1.3, §1.4) drops bad headers and strays, discards a superseded message, and completes a fragmented one', () => {
  const m = new RmReceiveModel();
  const body = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill);
  assert.equal(m.push(new Uint8Array([0x21, 0x04, 0, 0])), null, 'runt');
  assert.equal(m.push(concat(header(1, 0, 1, 2, 0x11), body(4, 0))), null, 'API 1, 1 header word');
  assert.equal(m.push(concat(header(1, 63, 1, 2), body(4, 0))), null, 'fragment count 63');
  assert.equal(m.push(concat(header(0, 1, 1, 2), body(4, 0))), null, 'continuation with nothing pending');
  assert.equal(m.push(concat(header(1, 1, 5, 9), body(232, 1))), null, 'first of two');
  assert.equal(m.push(concat(header(0, 1, 6, 9), body(3, 2))), null, 'seq differs: dropped');
  assert.equal(m.push(concat(header(0, 2, 5, 9), body(3, 2))), null, 'count differs: dropped');
  const done = m.push(concat(header(0, 1, 5, 9), body(3, 2)));
  assert.deepEqual(done, { type: 1, seq: 5, msgId: 9, payload: concat(body(232, 1), body(3, 2)) });
  assert.equal(m.push(concat(header(1, 1, 7, 9), body(232, 1))), null);
  const next = m.push(concat(header(3, 0, 8, 10), body(2, 4)));
  assert.deepEqual(next, { type: 3, seq: 8, msgId: 10, payload: body(2, 4) }, 'a new message supersedes');
  assert.equal(m.push(concat(header(0, 1, 7, 9), body(3, 2))), null, 'the superseded one is gone');
});

for (const [seed, budget] of [
  [0x5eed_0001, 2500],
  [0x5eed_0002, 2500],
] as const) {
  test(`RM §1.3–§1.5/§2/§6 fuzz (seed 0x${seed.toString(16)}, ${budget} packets): a hostile VM's random, mutated, truncated, stray and bursting packets never crash or hang the RM; every request it completed gets exactly one reply; the primary's calls all get their right answers meanwhile; nothing is left that the VMs do not account for`, () => {
    const r = fuzz(seed, budget);
    const { rm, hLog, pLog } = r;
    assert.equal(r.end, 'idle', 'the system settles: no hang, no busy loop');
    assert.equal(rm.failure, null);
    assert.ok(r.hostileDone && r.primaryDone, `both programs ran to their end (hostile drained: ${hLog.drained})`);

    // The hostile VM sent what it meant to, in bursts that filled its queue.
    assert.equal(hLog.sent, budget);
    assert.ok(hLog.full > 0, 'its queue filled');
    assert.ok(hLog.expected.length > budget / 10, `${hLog.expected.length} requests completed`);
    assert.deepEqual(
      new Set(hLog.mutatedIds),
      new Set(BASES.map((b) => b.msgId)),
      'a mutated request of every message ID was sent',
    );
    // Exactly one reply per completed request, in order (§1.5), and nothing else.
    assert.deepEqual(hLog.replies, hLog.expected);
    // Its link still works.
    const f = hLog.final;
    assert.ok(f?.ok && f.error === RmError.OK, JSON.stringify(f));
    assert.equal(new DataView(f.data.buffer, f.data.byteOffset).getUint32(0, true), HOSTILE);
    // Nothing that creates anything ever succeeded for it.
    for (const id of [MsgId.VM_ALLOCATE, MsgId.MEM_LEND, MsgId.MEM_SHARE, MsgId.MEM_DONATE, MsgId.VM_IRQ_LEND]) {
      assert.ok(!(hLog.errors.get(id)?.has(RmError.OK) ?? false), `a hostile ${id.toString(16)} succeeded`);
    }
    // It can read its own page, and nothing else.
    assert.ok(hLog.reads[0] instanceof Uint8Array);
    assert.deepEqual(hLog.reads.slice(1), [Err.ADDR_INVALID, Err.ADDR_INVALID]);

    // The primary was served throughout, with the right answers.
    assert.deepEqual(pLog.wrong, []);
    assert.ok(pLog.roundsDuringFuzz >= MIN_ROUNDS, `${pLog.roundsDuringFuzz} rounds while the fuzz ran`);

    // No VM, parcel or IRQ lend beyond what the primary made (and it undid all of it).
    assert.deepEqual(
      [...rm.table.vms.keys()].sort((a, b) => a - b),
      [PRIMARY_VMID, HOSTILE],
    );
    assert.deepEqual(
      [...rm.vms.keys()].sort((a, b) => a - b),
      [PRIMARY_VMID, HOSTILE],
    );
    const rec = rm.table.vms.get(HOSTILE)!;
    assert.equal(rec.owner, PRIMARY_VMID);
    assert.equal(rec.state, VmState.LOAD, 'the hostile VM could not move itself through the lifecycle');
    assert.deepEqual(rm.parcels.all(), []);
    assert.deepEqual(rm.vms.get(HOSTILE)!.memory, [], 'the RM gave it no memory');
    assert.equal(rm.vms.get(PRIMARY_VMID)!.memory.length, 1, "the primary's RAM, and no borrowed parcel");
    assert.deepEqual(
      [...rm.irqs!.bindings.values()].map((b) => [b.hwIrq, b.vmid, b.virq]),
      [[33, PRIMARY_VMID, 33]],
      'the UART is still the primary’s, and nothing is lent',
    );

    // The hypervisor's objects are exactly what the two VMs and the hostile VM's page account for.
    const delta = {
      cspace: 2,
      vic: 2,
      msgqueue: 4,
      addrspace: 2,
      memextent: 2,
      vpm_group: 2,
      thread: 2,
      doorbell: 0,
      hwirq: 0,
    };
    assert.deepEqual(
      r.built,
      Object.fromEntries(OBJECT_TYPES.map((t) => [t, r.before[t]! + delta[t as keyof typeof delta]])),
      'per VM: cspace, VIC, two link queues, addrspace, vpm_group, one vCPU; RAM for the primary, a page for the hostile VM',
    );
    assert.deepEqual(liveCounts(r.hv), r.built, 'no object leaked');
    assert.deepEqual(holdings(r.hv), r.builtHoldings, 'no cap, mapping or derived extent leaked');
  });
}
