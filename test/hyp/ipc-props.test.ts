// Property tests of the doorbell and message-queue state machines (hypervisor-abi.md §5, §6, §7)
// against small reference models written here from the spec: random sequences of hypercalls and
// guest interrupt handling (acknowledge / EOI), comparing every return value and output, the bytes
// delivered, and the VIRQs' pending / active state and IRQ line as the guest's GIC shows them.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Err } from '../../src/hyp/abi/errors.js';
import { env, GuestGic, MEM_BASE, MEM_SIZE, type Env } from './ipc-env.js';

const ALL = 0xffff_ffff_ffff_ffffn;
const U32_ALL = 0xffff_ffff;
const SPURIOUS = 1023;

/** The spec's VIRQ delivery (§7) for one SPI with one source, as the guest's GIC shows it. */
class VirqModel {
  line = false;
  latch = false;
  active = false;
  reasserted = false;
  bound = true;

  constructor(
    readonly intid: number,
    readonly edge: boolean,
    readonly predicate: () => boolean,
  ) {}

  get pending(): boolean {
    return this.edge ? this.latch : this.line;
  }

  assert(edgeOnly: boolean): void {
    if (!this.bound) return;
    this.reasserted = true;
    if (this.edge) this.latch = true;
    else if (!edgeOnly) this.line = true;
  }

  clear(): void {
    if (this.bound) this.line = false;
  }

  unbind(): void {
    if (!this.bound) return;
    this.bound = false;
    this.line = false;
    this.reasserted = false;
  }

  /** A successful bind (the caller checks VIRQ_BOUND first). */
  bind(): void {
    if (this.bound) return;
    this.bound = true;
    this.reasserted = false;
  }

  /** ICC_IAR1_EL1 on the SPI's CPU (the only interrupt that CPU has). */
  ack(): number {
    if (!this.pending || this.active) return SPURIOUS;
    this.active = true;
    this.latch = false;
    this.reasserted = false;
    return this.intid;
  }

  /** ICC_EOIR1_EL1 (EOImode 0): ignored when nothing is active. */
  eoi(): void {
    if (!this.active) return;
    this.active = false;
    if (this.bound && this.line && !(this.reasserted || this.predicate())) this.line = false;
  }

  check(g: GuestGic, cpu: number, where: string): void {
    assert.equal(g.pending(this.intid), this.pending, `${where}: SPI ${this.intid} pending`);
    assert.equal(g.active(this.intid), this.active, `${where}: SPI ${this.intid} active`);
    assert.equal(g.irq(cpu), this.pending && !this.active, `${where}: IRQ line of CPU ${cpu}`);
  }
}

// ------------------------------------------------------------------------------------- doorbell

type DbOp =
  | { op: 'send'; flags: bigint }
  | { op: 'receive'; clear: bigint }
  | { op: 'mask'; enable: bigint; ack: bigint }
  | { op: 'reset' }
  | { op: 'ack' }
  | { op: 'eoi' }
  | { op: 'unbind' }
  | { op: 'bind' };

/** Small flag values so that flags, enable and ack masks overlap often; plus the extremes. */
const flagArb = fc.oneof(fc.bigInt({ min: 0n, max: 15n }), fc.constantFrom(0n, ALL, 1n << 63n, ALL - 1n));

const dbOpArb: fc.Arbitrary<DbOp> = fc.oneof(
  { weight: 4, arbitrary: flagArb.map((flags) => ({ op: 'send' as const, flags })) },
  { weight: 3, arbitrary: flagArb.map((clear) => ({ op: 'receive' as const, clear })) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('mask' as const), enable: flagArb, ack: flagArb }) },
  { weight: 1, arbitrary: fc.constant({ op: 'reset' as const }) },
  { weight: 3, arbitrary: fc.constant({ op: 'ack' as const }) },
  { weight: 3, arbitrary: fc.constant({ op: 'eoi' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'unbind' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'bind' as const }) },
);

test('ipc props §6, §7: doorbell calls and its VIRQ match the reference model for any sequence of calls and guest handling', () => {
  fc.assert(
    fc.property(fc.boolean(), fc.array(dbOpArb, { maxLength: 50, size: 'max' }), (edge, ops) => {
      const e = env();
      const vic = e.vic(1, 32);
      const g = GuestGic.of(e, vic);
      const SPI = 40;
      g.enable(SPI, edge);
      const db = e.doorbell();
      e.ok('doorbell_bind_virq', db, vic, BigInt(SPI), 0n);
      // The model.
      let flags = 0n;
      let enable = ALL;
      let ackMask = 0n;
      const virq = new VirqModel(SPI, edge, () => (flags & enable) !== 0n);
      ops.forEach((o, step) => {
        const where = `step ${step} ${JSON.stringify(o, (_, v: unknown) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v))}`;
        switch (o.op) {
          case 'send': {
            const r = e.call('doorbell_send', db, o.flags, 0n);
            const old = flags;
            flags |= o.flags;
            if ((flags & enable) !== 0n) {
              virq.assert(false);
              flags &= ~ackMask;
            } else {
              virq.assert(true);
            }
            assert.deepEqual([r.e, r.x[1]], [Err.OK, old], where);
            break;
          }
          case 'receive': {
            const r = e.call('doorbell_receive', db, o.clear, 0n);
            if (o.clear === 0n) {
              assert.deepEqual([r.e, r.x[1]], [Err.ARGUMENT_INVALID, 0n], where);
            } else {
              assert.deepEqual([r.e, r.x[1]], [Err.OK, flags], where);
              flags &= ~o.clear;
            }
            break;
          }
          case 'mask': {
            assert.equal(e.call('doorbell_mask', db, o.enable, o.ack, 0n).e, Err.OK, where);
            const was = (flags & enable) !== 0n;
            const now = (flags & o.enable) !== 0n;
            enable = o.enable;
            ackMask = o.ack;
            if (was && !now) virq.clear();
            else if (!was && now) {
              virq.assert(false);
              flags &= ~ackMask;
            } else if (was && now) flags &= ~ackMask;
            break;
          }
          case 'reset':
            assert.equal(e.call('doorbell_reset', db, 0n).e, Err.OK, where);
            virq.clear();
            flags = 0n;
            ackMask = 0n;
            enable = ALL;
            break;
          case 'ack':
            assert.equal(g.ack(), virq.ack(), where);
            break;
          case 'eoi':
            g.eoi(SPI);
            virq.eoi();
            break;
          case 'unbind':
            assert.equal(e.call('doorbell_unbind_virq', db, 0n).e, Err.OK, where);
            virq.unbind();
            break;
          case 'bind': {
            const r = e.call('doorbell_bind_virq', db, vic, BigInt(SPI), 0n);
            assert.equal(r.e, virq.bound ? Err.VIRQ_BOUND : Err.OK, where);
            virq.bind();
            break;
          }
        }
        virq.check(g, 0, where);
      });
    }),
    { numRuns: 300 },
  );
});

// ------------------------------------------------------------------------------------- msgqueue

type Fault = 'none' | 'unmapped' | 'overflow' | 'denied';

type MqOp =
  | { op: 'send'; size: number; fault: Fault; push: boolean; other: number; seed: number }
  | { op: 'receive'; bufSize: number; fault: Fault }
  | { op: 'flush' }
  | { op: 'configureSend'; thd: number; holdoff: number }
  | { op: 'configureReceive'; thd: number; holdoff: number }
  | { op: 'ack'; side: 'tx' | 'rx' }
  | { op: 'eoi'; side: 'tx' | 'rx' }
  | { op: 'unbind'; side: 'tx' | 'rx' }
  | { op: 'bind'; side: 'tx' | 'rx' };

const MAX_DEPTH = 4;
const MAX_SIZE = 6;
const sideArb = fc.constantFrom('tx' as const, 'rx' as const);
const thdArb = fc.oneof(fc.integer({ min: 0, max: MAX_DEPTH + 1 }), fc.constantFrom(U32_ALL, U32_ALL - 1, 2 ** 31));
const holdArb = fc.oneof(
  { weight: 5, arbitrary: fc.constant(U32_ALL) },
  { weight: 1, arbitrary: fc.constantFrom(0, 7) },
);
const faultArb = fc.oneof(
  { weight: 6, arbitrary: fc.constant('none' as const) },
  { weight: 1, arbitrary: fc.constantFrom('unmapped' as const, 'overflow' as const, 'denied' as const) },
);

const mqOpArb: fc.Arbitrary<MqOp> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant('send' as const),
      size: fc.integer({ min: 0, max: MAX_SIZE + 1 }),
      fault: faultArb,
      push: fc.boolean(),
      other: fc.integer({ min: 0, max: 0x7fff_ffff }),
      seed: fc.integer({ min: 0, max: 255 }),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant('receive' as const),
      bufSize: fc.integer({ min: 0, max: MAX_SIZE + 1 }),
      fault: faultArb,
    }),
  },
  { weight: 1, arbitrary: fc.constant({ op: 'flush' as const }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('configureSend' as const), thd: thdArb, holdoff: holdArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('configureReceive' as const), thd: thdArb, holdoff: holdArb }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('ack' as const), side: sideArb }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('eoi' as const), side: sideArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('unbind' as const), side: sideArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('bind' as const), side: sideArb }) },
);

const SRC = MEM_BASE + 0x100n;
const DST = MEM_BASE + 0x800n;
/** A read-only page: receives into it are DENIED. */
const RO = MEM_BASE + 0x1000n;

function faultVa(f: Fault, good: bigint): bigint {
  switch (f) {
    case 'none':
      return good;
    case 'unmapped':
      return MEM_BASE + BigInt(MEM_SIZE) + 0x1000n;
    case 'overflow':
      return ALL - 2n;
    case 'denied':
      return RO;
  }
}

/** The error GuestAccess gives for `len` bytes at faultVa(f): a 1- or 2-byte range at 2^64 - 2 fits but is unmapped. */
function faultError(f: Fault, write: boolean, len: number): number {
  switch (f) {
    case 'none':
      return Err.OK;
    case 'unmapped':
      return Err.ADDR_INVALID;
    case 'overflow':
      return ALL - 2n + BigInt(len) > ALL + 1n ? Err.ADDR_OVERFLOW : Err.ADDR_INVALID;
    case 'denied':
      return write ? Err.DENIED : Err.OK; // a read-only page reads fine
  }
}

const TX_SPI = 40;
const RX_SPI = 41;

test('ipc props §5, §7: message-queue calls, delivered bytes and both VIRQs match the reference model for any sequence', () => {
  const cfgArb = fc.record({
    depth: fc.integer({ min: 1, max: MAX_DEPTH }),
    size: fc.integer({ min: 1, max: MAX_SIZE }),
    txEdge: fc.boolean(),
    rxEdge: fc.boolean(),
  });
  fc.assert(
    fc.property(cfgArb, fc.array(mqOpArb, { maxLength: 60, size: 'max' }), (cfg, ops) => {
      const e: Env = env();
      e.mem.readOnly.push([RO, RO + 0x100n]);
      const vic = e.vic(2, 32);
      const g = GuestGic.of(e, vic);
      // TX is handled by vCPU 0, RX by vCPU 1, so each side's interrupt has its own CPU interface.
      g.enable(TX_SPI, cfg.txEdge, 0);
      g.enable(RX_SPI, cfg.rxEdge, 1);
      const mq = e.msgqueue(cfg.depth, cfg.size);
      e.ok('msgqueue_bind_send_virq', mq, vic, BigInt(TX_SPI), 0n);
      e.ok('msgqueue_bind_receive_virq', mq, vic, BigInt(RX_SPI), 0n);
      // The model.
      const queue: number[][] = [];
      let notfull = cfg.depth - 1;
      let notempty = 1;
      const tx = new VirqModel(TX_SPI, cfg.txEdge, () => queue.length <= notfull);
      const rx = new VirqModel(RX_SPI, cfg.rxEdge, () => queue.length >= notempty);
      const virqs = { tx, rx };
      const cpus = { tx: 0, rx: 1 };
      ops.forEach((o, step) => {
        const where = `step ${step} ${JSON.stringify(o)} (depth ${cfg.depth}, size ${cfg.size}, count ${queue.length})`;
        switch (o.op) {
          case 'send': {
            const data = Array.from({ length: o.size }, (_, k) => (o.seed * 7 + k) & 0xff);
            const va = faultVa(o.fault, SRC);
            if (o.fault === 'none' || o.fault === 'denied') e.mem.put(va, data);
            const flags = BigInt((o.other << 1) | (o.push ? 1 : 0));
            const r = e.call('msgqueue_send', mq, BigInt(o.size), va, flags, 0n);
            let want: number;
            if (queue.length === cfg.depth) want = Err.MSGQUEUE_FULL;
            else if (o.size === 0 || o.size > cfg.size) want = Err.ARGUMENT_SIZE;
            else want = faultError(o.fault, false, o.size);
            if (want === Err.OK) {
              queue.push(data);
              if (o.push || queue.length === notempty) rx.assert(false);
            }
            assert.deepEqual([r.e, r.x[1]], [want, queue.length < cfg.depth ? 1n : 0n], where);
            break;
          }
          case 'receive': {
            const r = e.call('msgqueue_receive', mq, faultVa(o.fault, DST), BigInt(o.bufSize), 0n);
            const head = queue[0];
            let want: number;
            if (head === undefined) want = Err.MSGQUEUE_EMPTY;
            else if (o.bufSize < head.length) want = Err.ARGUMENT_SIZE;
            else want = faultError(o.fault, true, head.length);
            let size = 0;
            if (want === Err.OK) {
              queue.shift();
              size = head!.length;
              assert.deepEqual(e.mem.get(DST, size), head, `${where}: bytes`);
              if (queue.length === notfull) tx.assert(false);
            }
            assert.deepEqual([r.e, r.x[1], r.x[2]], [want, BigInt(size), queue.length > 0 ? 1n : 0n], where);
            break;
          }
          case 'flush':
            assert.equal(e.call('msgqueue_flush', mq, 0n).e, Err.OK, where);
            if (queue.length !== 0) {
              tx.assert(false);
              rx.clear();
            }
            queue.length = 0;
            break;
          case 'configureSend': {
            const r = e.call('msgqueue_configure_send', mq, BigInt(o.thd), BigInt(o.holdoff), ALL);
            let want: number = Err.OK;
            if (o.holdoff !== U32_ALL) want = Err.UNIMPLEMENTED;
            else if (o.thd >= cfg.depth && o.thd !== U32_ALL) want = Err.ARGUMENT_INVALID;
            else if (o.thd !== U32_ALL) {
              notfull = o.thd;
              if (queue.length <= notfull) tx.assert(false);
              else tx.clear();
            }
            assert.equal(r.e, want, where);
            break;
          }
          case 'configureReceive': {
            const r = e.call('msgqueue_configure_receive', mq, BigInt(o.thd), BigInt(o.holdoff), ALL);
            let want: number = Err.OK;
            if (o.holdoff !== U32_ALL) want = Err.UNIMPLEMENTED;
            else if (o.thd === 0 || (o.thd > cfg.depth && o.thd !== U32_ALL && o.thd !== U32_ALL - 1)) {
              want = Err.ARGUMENT_INVALID;
            } else if (o.thd === U32_ALL - 1) notempty = cfg.depth;
            else if (o.thd !== U32_ALL) {
              notempty = o.thd;
              if (queue.length >= notempty) rx.assert(false);
              else rx.clear();
            }
            assert.equal(r.e, want, where);
            break;
          }
          case 'ack':
            assert.equal(g.ack(cpus[o.side]), virqs[o.side].ack(), where);
            break;
          case 'eoi':
            g.eoi(virqs[o.side].intid, cpus[o.side]);
            virqs[o.side].eoi();
            break;
          case 'unbind':
            assert.equal(e.call(`msgqueue_unbind_${o.side === 'tx' ? 'send' : 'receive'}_virq`, mq, 0n).e, Err.OK);
            virqs[o.side].unbind();
            break;
          case 'bind': {
            const name = `msgqueue_bind_${o.side === 'tx' ? 'send' : 'receive'}_virq`;
            const r = e.call(name, mq, vic, BigInt(virqs[o.side].intid), 0n);
            assert.equal(r.e, virqs[o.side].bound ? Err.VIRQ_BOUND : Err.OK, where);
            virqs[o.side].bind();
            break;
          }
        }
        tx.check(g, 0, where);
        rx.check(g, 1, where);
      });
    }),
    { numRuns: 300 },
  );
});
