// Properties of the RM RPC wire format (resource-manager-protocol.md §1.3–§1.4, §1.8), checked with
// fast-check: fragmenting then reassembling is the identity for every message within the limit, and
// no packet stream — random bytes or a mangled stream of real messages — makes a receiver throw or
// deliver a message that was not sent whole.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  LinuxReassembler,
  MsgType,
  RPC_MAX_PAYLOAD_LINUX,
  RPC_MAX_PAYLOAD_RM,
  RPC_PACKET_SIZE,
  RPC_PAYLOAD_PER_PACKET,
  RmReassembler,
  fragmentMessage,
  readList,
  readLists,
  writeList,
  type FirstMsgType,
  type LinuxRxEvent,
  type RmRxEvent,
  type RpcMessage,
} from '../../src/rm/rpc/index.js';

const RUNS = { numRuns: 150 };

/** Payloads: short random ones, and long ones (up to the RM's limit) filled from a seed. */
const payloadArb = (max: number, min = 0): fc.Arbitrary<Uint8Array> =>
  fc.oneof(
    fc.uint8Array({ minLength: min, maxLength: Math.min(max, 700) }),
    fc
      .tuple(fc.integer({ min, max }), fc.integer({ min: 0, max: 255 }))
      .map(([n, s]) => Uint8Array.from({ length: n }, (_, i) => (s + i * 31 + (i >> 8)) & 0xff)),
    fc.constantFrom(min, 232, 233, 464, 465, max).map((n) => new Uint8Array(Math.max(n, min)).fill(0x5a)),
  );

const seqArb = fc.integer({ min: 0, max: 0xffff });
const idArb = fc.integer({ min: 0, max: 0xffff_ffff });
const typeArb = fc.constantFrom<FirstMsgType>(MsgType.REQUEST, MsgType.REPLY, MsgType.NOTIFICATION);

const delivered = (evs: readonly (RmRxEvent | LinuxRxEvent)[]): RpcMessage[] =>
  evs.flatMap((e) => (e.kind === 'delivered' ? [e.message] : []));

test('RM §1.4 (property): fragment → RM reassembly is the identity for any type, seq, msg_id and payload ≤ 14 616 bytes', () => {
  fc.assert(
    fc.property(typeArb, seqArb, idArb, payloadArb(RPC_MAX_PAYLOAD_RM), (type, seq, msgId, payload) => {
      const msg: RpcMessage = { type, seq, msgId, payload };
      const packets = fragmentMessage(msg);
      // Shape: every packet ≤ 240 bytes, only the last short, count = packets − 1 everywhere.
      packets.forEach((p, i) => {
        assert.ok(p.length <= RPC_PACKET_SIZE);
        if (i < packets.length - 1) assert.equal(p.length, RPC_PACKET_SIZE);
        assert.equal(p[1]! >> 2, packets.length - 1);
        assert.equal(p[1]! & 3, i === 0 ? type : MsgType.CONTINUATION);
      });
      const rm = new RmReassembler();
      assert.deepEqual(delivered(packets.flatMap((p) => rm.push(p))), [msg]);
      assert.equal(rm.partial, undefined);
    }),
    RUNS,
  );
});

test('RM §1.4 (property): fragment → Linux reassembly is the identity for replies (≥ 4 bytes) and notifications', () => {
  fc.assert(
    fc.property(fc.boolean(), seqArb, idArb, payloadArb(RPC_MAX_PAYLOAD_RM, 4), (isReply, seq, msgId, payload) => {
      const msg: RpcMessage = { type: isReply ? MsgType.REPLY : MsgType.NOTIFICATION, seq, msgId, payload };
      const lx = new LinuxReassembler();
      if (isReply) lx.expectReply(seq, msgId);
      assert.deepEqual(delivered(fragmentMessage(msg).flatMap((p) => lx.push(p))), [msg]);
      assert.deepEqual(lx.outstanding, []);
    }),
    RUNS,
  );
});

test('RM §1.4 (property): Linux’s sender refuses exactly the payloads above 14 384 bytes, the RM’s above 14 616', () => {
  fc.assert(
    fc.property(fc.integer({ min: RPC_MAX_PAYLOAD_LINUX - 300, max: RPC_MAX_PAYLOAD_RM + 300 }), (n) => {
      const msg: RpcMessage = { type: MsgType.REQUEST, seq: 0, msgId: 1, payload: new Uint8Array(n) };
      const tryLinux = (): unknown => fragmentMessage(msg, 'linux');
      const tryRm = (): unknown => fragmentMessage(msg, 'rm');
      if (n > RPC_MAX_PAYLOAD_LINUX) assert.throws(tryLinux);
      else assert.equal(fragmentMessage(msg, 'linux').length, Math.max(1, Math.ceil(n / RPC_PAYLOAD_PER_PACKET)));
      if (n > RPC_MAX_PAYLOAD_RM) assert.throws(tryRm);
      else assert.doesNotThrow(tryRm);
    }),
    RUNS,
  );
});

/** Random packets, half of them with a plausible header so they get past the first checks. */
const junkPacketArb = fc.oneof(
  fc.uint8Array({ maxLength: 260 }),
  fc
    .tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }), seqArb)
    .chain(([b1, seqPick, idPick, seq]) =>
      fc.uint8Array({ maxLength: 232 }).map((body) => {
        const p = new Uint8Array(8 + body.length);
        p[0] = 0x21;
        p[1] = b1;
        // A few seqs and IDs only, so continuations sometimes match what is pending.
        new DataView(p.buffer).setUint16(2, seqPick === 0 ? seq : seqPick, true);
        new DataView(p.buffer).setUint32(4, 0x56000000 + idPick, true);
        p.set(body, 8);
        return p;
      }),
    ),
);

test('RM §1.3/§1.4 (property): random packets never make either receiver throw, and each delivery is built from packets it was fed', () => {
  fc.assert(
    fc.property(fc.array(junkPacketArb, { maxLength: 40 }), fc.array(seqArb, { maxLength: 4 }), (packets, calls) => {
      const rm = new RmReassembler();
      const lx = new LinuxReassembler();
      for (const s of new Set(calls)) lx.expectReply(s, 0x56000000 + (s & 3));
      const payloadBytes = packets.reduce((a, p) => a + Math.max(0, p.length - 8), 0);
      for (const evs of [packets.flatMap((p) => rm.push(p)), packets.flatMap((p) => lx.push(p))]) {
        for (const m of delivered(evs)) {
          assert.ok(m.payload.length <= Math.min(RPC_MAX_PAYLOAD_RM, payloadBytes));
          assert.notEqual(m.type, MsgType.CONTINUATION);
          // Its header came from one of the fed packets that starts a message.
          assert.ok(
            packets.some(
              (p) =>
                p.length >= 8 &&
                (p[1]! & 3) === m.type &&
                new DataView(p.buffer, p.byteOffset).getUint16(2, true) === m.seq &&
                new DataView(p.buffer, p.byteOffset).getUint32(4, true) === m.msgId,
            ),
          );
        }
      }
    }),
    { numRuns: 300 },
  );
});

/**
 * Mutations that a receiver can detect from headers alone (§1.3–§1.4): losing a packet, a first
 * packet repeated later, a continuation of a message never sent, a header broken by a bad byte 0 or
 * count 63, a packet cut below 8 bytes. (Reordering or repeating continuations, or editing a
 * payload, cannot be detected — continuations carry no index and packets no checksum — so they are
 * not in this set; rpc.test.ts shows what each receiver does with them.)
 */
type Mutation =
  | { kind: 'drop'; at: number }
  | { kind: 'repeat-first'; from: number; to: number }
  | { kind: 'stray'; to: number; count: number; seq: number }
  | { kind: 'bad-byte0'; at: number; b0: number }
  | { kind: 'count-63'; at: number }
  | { kind: 'cut'; at: number; len: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('drop' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('repeat-first' as const), from: fc.nat(), to: fc.nat() }),
  fc.record({ kind: fc.constant('stray' as const), to: fc.nat(), count: fc.integer({ min: 0, max: 62 }), seq: seqArb }),
  fc.record({
    kind: fc.constant('bad-byte0' as const),
    at: fc.nat(),
    b0: fc.integer({ min: 0, max: 255 }).filter((b) => b !== 0x21),
  }),
  fc.record({ kind: fc.constant('count-63' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat(), len: fc.integer({ min: 0, max: 7 }) }),
);

/** A msg_id no generated message uses (they use 0x51xxxxxx). */
const STRAY_ID = 0x56ff_0000;

function mutate(packets: Uint8Array[], m: Mutation): Uint8Array[] {
  const out = packets.slice();
  if (out.length === 0) return out;
  const pick = (n: number): number => n % out.length;
  switch (m.kind) {
    case 'drop':
      out.splice(pick(m.at), 1);
      break;
    case 'repeat-first': {
      const firsts = out.filter((p) => p.length >= 8 && (p[1]! & 3) !== MsgType.CONTINUATION);
      if (firsts.length > 0) out.splice(m.to % (out.length + 1), 0, firsts[m.from % firsts.length]!);
      break;
    }
    case 'stray': {
      const p = new Uint8Array(8 + 4);
      p[0] = 0x21;
      p[1] = m.count << 2;
      new DataView(p.buffer).setUint16(2, m.seq, true);
      new DataView(p.buffer).setUint32(4, STRAY_ID, true);
      out.splice(m.to % (out.length + 1), 0, p);
      break;
    }
    case 'bad-byte0': {
      const i = pick(m.at);
      const p = out[i]!.slice();
      p[0] = m.b0;
      out[i] = p;
      break;
    }
    case 'count-63': {
      const i = pick(m.at);
      const p = out[i]!.slice();
      p[1] = (63 << 2) | (p[1]! & 3);
      out[i] = p;
      break;
    }
    case 'cut': {
      const i = pick(m.at);
      out[i] = out[i]!.slice(0, m.len);
      break;
    }
  }
  return out;
}

const sameMessage = (a: RpcMessage, b: RpcMessage): boolean =>
  a.type === b.type &&
  a.seq === b.seq &&
  a.msgId === b.msgId &&
  a.payload.length === b.payload.length &&
  a.payload.every((x, i) => x === b.payload[i]);

/** A stream of messages with distinct seqs and distinct msg_ids (as consecutive real calls have distinct seqs). */
const streamArb = (types: readonly FirstMsgType[], minPayload: number) =>
  fc.uniqueArray(fc.integer({ min: 0, max: 0xffff }), { minLength: 1, maxLength: 6 }).chain((seqs) =>
    fc.tuple(
      ...seqs.map((seq, i) =>
        fc
          .record({
            type: fc.constantFrom(...types),
            seq: fc.constant(seq),
            msgId: fc.constant(0x5100_0000 + i),
            payload: fc.oneof(
              fc.uint8Array({ minLength: minPayload, maxLength: 800 }),
              fc.integer({ min: minPayload, max: 3000 }).map((n) => new Uint8Array(n).fill(seq & 0xff)),
            ),
          })
          .map((r): RpcMessage => ({ type: r.type, seq: r.seq, msgId: r.msgId, payload: r.payload })),
      ),
    ),
  );

test('RM §1.4 (property): the RM never delivers a message that was not sent whole, however packets are lost, repeated or broken', () => {
  fc.assert(
    fc.property(
      streamArb([MsgType.REQUEST, MsgType.NOTIFICATION], 0),
      fc.array(mutationArb, { maxLength: 6 }),
      (msgs, muts) => {
        const packets = muts.reduce(
          mutate,
          msgs.flatMap((m) => fragmentMessage(m)),
        );
        const rm = new RmReassembler();
        for (const m of delivered(packets.flatMap((p) => rm.push(p)))) {
          assert.ok(
            msgs.some((s) => sameMessage(s, m)),
            `delivered a message never sent whole: seq ${m.seq}, id ${m.msgId}`,
          );
        }
        // Unmangled, everything arrives in order.
        if (muts.length === 0) {
          const rm2 = new RmReassembler();
          assert.deepEqual(delivered(msgs.flatMap((m) => fragmentMessage(m)).flatMap((p) => rm2.push(p))), msgs);
        }
      },
    ),
    RUNS,
  );
});

test('RM §1.4 (property): Linux never delivers a reply or notification that was not sent whole, and every call ends once', () => {
  fc.assert(
    fc.property(
      streamArb([MsgType.REPLY, MsgType.NOTIFICATION], 4),
      fc.array(mutationArb, { maxLength: 6 }),
      (msgs, muts) => {
        const packets = muts.reduce(
          mutate,
          msgs.flatMap((m) => fragmentMessage(m)),
        );
        const lx = new LinuxReassembler();
        for (const m of msgs) if (m.type === MsgType.REPLY) lx.expectReply(m.seq, m.msgId);
        const evs = packets.flatMap((p) => lx.push(p));
        for (const m of delivered(evs)) {
          assert.ok(
            msgs.some((s) => sameMessage(s, m)),
            `delivered a message never sent whole: seq ${m.seq}`,
          );
        }
        // A call is answered or failed at most once, and if neither, it is still outstanding.
        const ended = evs.flatMap((e) =>
          e.kind === 'call-failed'
            ? [e.seq]
            : e.kind === 'delivered' && e.message.type === MsgType.REPLY
              ? [e.message.seq]
              : [],
        );
        assert.equal(new Set(ended).size, ended.length);
        const open = new Set(lx.outstanding.map((c) => c.seq));
        for (const m of msgs) {
          if (m.type === MsgType.REPLY) assert.equal(open.has(m.seq), !ended.includes(m.seq));
        }
        if (muts.length === 0) assert.deepEqual(delivered(evs), msgs);
      },
    ),
    RUNS,
  );
});

test('RM §1.8 (property): writeList → readList is the identity, and any bytes read never throw', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 6 }).map((w) => w * 4),
      fc.integer({ min: 0, max: 0xffff }),
      fc.integer({ min: 0, max: 40 }),
      fc.uint8Array({ maxLength: 64 }),
      (entrySize, field, n, junk) => {
        const layout = { entrySize, maxEntries: 40 };
        const entries = Array.from({ length: n }, (_, i) => new Uint8Array(entrySize).fill(i));
        const w = writeList(entries, layout, field);
        assert.ok(w.ok);
        const r = readList(w.bytes, 0, layout);
        assert.ok(r.ok);
        assert.deepEqual(r.list, { field, entries });
        assert.equal(r.next, w.bytes.length);
        // Arbitrary bytes: a result or an RM error, never an exception.
        const any = readLists(junk, 0, [layout, layout, layout], true);
        assert.ok(any.ok || any.error === 4 || any.error === 2);
      },
    ),
    RUNS,
  );
});
