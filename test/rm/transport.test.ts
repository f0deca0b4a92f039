// Client flow control (RM spec §1.2, §1.4): a request longer than the 8-deep queue is sent the way
// Linux sends it — as many packets as fit, the rest when the TX VIRQ says the RM made room — so the
// RM sees it whole and answers once, and nothing is left in either queue. A native program on the
// primary VM talks to the real RM through its real link; its vCPU is wrapped to count what
// msgqueue_send answered.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Err } from '../../src/hyp/abi/errors.js';
import { Hypervisor } from '../../src/hyp/hypervisor.js';
import { HypSystem } from '../../src/hyp/system.js';
import type { Msgqueue } from '../../src/hyp/ipc/msgqueue.js';
import { ResourceManager, PRIMARY_LINK_RX_VIRQ, PRIMARY_LINK_TX_VIRQ, PRIMARY_VMID } from '../../src/rm/rm.js';
import { RmClientTransport, rmCall, type CallOutcome } from '../../src/vmm/rm-client/transport.js';
import { generatorProgram } from '../../src/vmm/rm-client/program.js';
import type { RmVcpu } from '../../src/rm/port.js';
import { MsgId, RmError } from '../../src/rm/rpc/index.js';

const MiB = 1024 * 1024;
const SCRATCH = { rx: 0x4000_1000n, tx: 0x4000_1100n };
const PAGE = 0x1000n;

// MEM_LEND request (§2.8): {u8 mem_type; u8 res; u8 flags; u8 res; u32 label}, then the ACL list
// ({u16 n; u16 res} + {u16 vmid; u8 rights; u8 res}), the SGL list ({u16 n; u16 res} + {u64 ipa;
// u64 size}) and the attribute list ({u16 n; u16 res} + {u16 attr; u16 vmid}).
const u16 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff];
const u64 = (v: bigint): number[] => [...Array(8).keys()].map((k) => Number((v >> BigInt(8 * k)) & 0xffn));
function lendReq(aclVmid: number, sgl: [bigint, bigint][], attrs: [number, number][] = []): Uint8Array {
  return new Uint8Array([
    ...[0, 0, 0, 0, 0, 0, 0, 0],
    ...u16(1),
    0,
    0,
    ...u16(aclVmid),
    6, // RW
    0,
    ...u16(sgl.length),
    0,
    0,
    ...sgl.flatMap(([ipa, size]) => [...u64(ipa), ...u64(size)]),
    ...u16(attrs.length),
    0,
    0,
    ...attrs.flatMap(([attr, vmid]) => [...u16(attr), ...u16(vmid)]),
  ]);
}
/** RECLAIM: {u32 handle; u8 flags; u8 res[3]}. */
const reclaimReq = (h: number): Uint8Array => new Uint8Array([h & 0xff, (h >>> 8) & 0xff, 0, 0, 0, 0, 0, 0]);
/** `n` single pages, every other page from `base` (so no two entries merge into one region). */
const pages = (base: bigint, n: number): [bigint, bigint][] =>
  [...Array(n).keys()].map((i) => [base + 2n * BigInt(i) * PAGE, PAGE]);

const res = (o: CallOutcome): number | string => (o.ok ? o.error : o.reason);
const word = (o: CallOutcome): number =>
  o.ok && o.data.length >= 4 ? new DataView(o.data.buffer, o.data.byteOffset).getUint32(0, true) : -1;

interface Sends {
  ok: number;
  full: number;
}

/** The vCPU with its msgqueue_send answers counted. */
function counting(v: RmVcpu, sends: Sends): RmVcpu {
  return {
    call(name, ...args) {
      const r = v.call(name, ...args);
      if (name === 'msgqueue_send') {
        if (r.e === Err.OK) sends.ok++;
        else if (r.e === Err.MSGQUEUE_FULL) sends.full++;
      }
      return r;
    },
    get irq() {
      return v.irq;
    },
    get memory() {
      return v.memory;
    },
    get bootX0() {
      return v.bootX0;
    },
  };
}

type Body = (v: RmVcpu, t: RmClientTransport, rm: ResourceManager, sends: Sends) => Generator<'wait', void, void>;

/** Run `body` as the primary's program against a fresh RM; the system must go idle with `body` done. */
function run(body: Body) {
  const hv = new Hypervisor({ memory: { base: 0x4000_0000, size: 2048 * MiB } });
  const root = hv.createRootVm();
  const sys = new HypSystem(hv, 1);
  const rm = new ResourceManager();
  sys.addNative(root.thread, rm);
  const sends: Sends = { ok: 0, full: 0 };
  let finished = false;
  let transport: RmClientTransport | null = null;
  sys.spawn = () =>
    generatorProgram(function* (raw: RmVcpu) {
      const v = counting(raw, sends);
      v.irq!.init();
      v.irq!.enable(PRIMARY_LINK_TX_VIRQ);
      v.irq!.enable(PRIMARY_LINK_RX_VIRQ);
      transport = new RmClientTransport(v, { txCap: 0n, rxCap: 1n, scratch: SCRATCH });
      yield* body(v, transport, rm, sends);
      finished = true;
    });
  assert.equal(sys.run(1_000_000_000), 'idle');
  assert.equal(rm.failure, null);
  assert.ok(finished, 'the client program ran to its end');
  const link = rm.vms.get(PRIMARY_VMID)!.link!;
  return { hv, rm, sends, link, transport: transport! as RmClientTransport };
}

/** Every message queue of the system is empty (nothing half-sent is left behind). */
function assertQueuesEmpty(hv: Hypervisor): void {
  const queues = hv.liveOf('msgqueue') as Msgqueue[];
  assert.equal(queues.length, 2, "the primary's link: one queue each way");
  for (const q of queues) assert.equal(q.count, 0, `${String(q)} still holds ${q.count} packets`);
}

test('RM §1.2/§1.4: a 14 384-byte request (62 packets, the most Linux sends) goes out in pieces as the RM drains the 8-deep queue; the RM sees it whole and answers once (an 897-entry SGL is NORESOURCE, §1.8); the queues are left empty', () => {
  // 8 + (4 + 4) + (4 + 897 × 16) + (4 + 2 × 4) = 14 384 bytes: every list well formed, the SGL over
  // the 512-entry cap, so only a whole message can give NORESOURCE (a cut one would be MSG_INVALID).
  const big = lendReq(10, pages(0x4400_0000n, 897), [
    [0, 10],
    [0, 11],
  ]);
  assert.equal(big.length, 14_384);
  const got: (number | string)[] = [];
  let sendsAtReply = { ok: 0, full: 0 };
  const { hv, sends, link, transport } = run(function* (v, t, _rm, counted) {
    got.push(res(yield* rmCall(v.irq, t, MsgId.MEM_LEND, big)));
    sendsAtReply = { ...counted };
    // The link is in step: the next call gets its own answer.
    const me = yield* rmCall(v.irq, t, MsgId.VM_GET_VMID);
    got.push(res(me), word(me));
  });
  assert.deepEqual(got, [RmError.NORESOURCE, RmError.OK, PRIMARY_VMID]);
  assert.equal(sendsAtReply.ok, 62, 'every packet of the request was sent once');
  assert.ok(sendsAtReply.full >= 1, 'the queue filled at least once (the sender waited for room)');
  assert.equal(sends.ok, 63);
  assert.deepEqual(link.drops, [], 'the RM dropped or discarded no packet');
  assert.deepEqual(transport.ignored, [], 'no second reply (nor anything else) came back');
  assert.equal(transport.backlog, 0);
  assertQueuesEmpty(hv);
});

test('RM §2.8/§1.4: a 200-page MEM_LEND (3 224 bytes, 14 packets) succeeds through flow control with one region per page; RECLAIM gives the pages back', () => {
  const got: (number | string)[] = [];
  let regions = -1;
  let readBack: Uint8Array | number = 0;
  const { hv, rm, sends } = run(function* (v, t, rm) {
    const req = lendReq(10, pages(0x4400_0000n, 200));
    assert.equal(req.length, 3224);
    const lend = yield* rmCall(v.irq, t, MsgId.MEM_LEND, req);
    got.push(res(lend), word(lend));
    regions = rm.parcels.get(word(lend))?.regions.length ?? -1;
    // Lent memory is not the owner's until RECLAIM (§6.1).
    got.push(v.memory!.read(0x4400_0000n, 4) as number);
    got.push(res(yield* rmCall(v.irq, t, MsgId.MEM_RECLAIM, reclaimReq(word(lend)))));
    readBack = v.memory!.read(0x4400_0000n + 2n * 199n * PAGE, 4);
  });
  assert.deepEqual(got, [RmError.OK, 0, Err.ADDR_INVALID, RmError.OK]);
  assert.equal(regions, 200);
  assert.ok(sends.full >= 1, 'the queue filled at least once');
  assert.equal(sends.ok, 14 + 1);
  assert.deepEqual(readBack, new Uint8Array(4), 'the last page is the owner’s again');
  assert.deepEqual(rm.parcels.all(), []);
  assertQueuesEmpty(hv);
});

test('RM §1.4/§1.5: two requests started back to back (62 packets, then 1) go out one after the other, never interleaved, and each gets its own reply', () => {
  const big = lendReq(10, pages(0x4400_0000n, 897), [
    [0, 10],
    [0, 11],
  ]);
  const got: (number | string)[] = [];
  let waitingAfterStart = false;
  const { hv, link, transport } = run(function* (v, t) {
    const a = t.request(MsgId.MEM_LEND, big);
    const b = t.request(MsgId.VM_GET_VMID, new Uint8Array(0));
    assert.ok(typeof a === 'number' && typeof b === 'number');
    waitingAfterStart = t.sending(a) && t.sending(b);
    const outcomes = new Map<number, CallOutcome>();
    while (outcomes.size < 2) {
      const taken: number[] = [];
      for (let id = v.irq!.ack(); id !== 1023; id = v.irq!.ack()) taken.push(id);
      t.pump();
      for (const id of taken) v.irq!.eoi(id);
      for (const s of [a, b]) {
        const o = t.take(s);
        if (o !== undefined) outcomes.set(s, o);
      }
      if (outcomes.size < 2) yield 'wait';
    }
    got.push(res(outcomes.get(a)!), res(outcomes.get(b)!), word(outcomes.get(b)!));
  });
  assert.ok(waitingAfterStart, 'both were still waiting for room right after they were started');
  assert.deepEqual(got, [RmError.NORESOURCE, RmError.OK, PRIMARY_VMID]);
  assert.deepEqual(link.drops, [], 'no packet of one message landed inside the other');
  assert.deepEqual(transport.ignored, []);
  assertQueuesEmpty(hv);
});

test("RM §1.4: a payload over Linux's 14 384-byte limit is refused before anything is sent, and the link serves on", () => {
  const got: (number | string)[] = [];
  const { sends, hv } = run(function* (v, t, _rm, counted) {
    const o = yield* rmCall(v.irq, t, MsgId.MEM_LEND, new Uint8Array(14_385));
    got.push(res(o));
    got.push(counted.ok);
    got.push(word(yield* rmCall(v.irq, t, MsgId.VM_GET_VMID)));
  });
  assert.match(String(got[0]), /14385-byte payload exceeds Linux's limit of 14384 bytes/);
  assert.deepEqual(got.slice(1), [0, PRIMARY_VMID]);
  assert.equal(sends.ok, 1);
  assertQueuesEmpty(hv);
});
