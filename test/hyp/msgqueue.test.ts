// Message queues (hypervisor-abi.md §2.4, §4.5, §5), through hypercalls from native vCPUs whose
// memory is a TestMemory; VIRQs are read from the VIC's virtual GIC as a guest reads them.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Err } from '../../src/hyp/abi/errors.js';
import { MSGQUEUE_RIGHT as MQ, VIC_RIGHT } from '../../src/hyp/abi/rights.js';
import type { Msgqueue } from '../../src/hyp/ipc/msgqueue.js';
import { createInfo, env, GuestGic, MEM_BASE, MEM_SIZE, type Env } from './ipc-env.js';

const U32_ALL = 0xffff_ffffn;
const ALL = 0xffff_ffff_ffff_ffffn;
const RES1 = ALL;
const BUF = MEM_BASE + 0x100n;
const OUT = MEM_BASE + 0x2000n;

/** Put `n` bytes starting at `seed` at BUF and send them. */
function send(e: Env, mq: bigint, n: number, seed: number, flags = 0n) {
  e.mem.put(
    BUF,
    Array.from({ length: n }, (_, k) => (seed + k) & 0xff),
  );
  return e.call('msgqueue_send', mq, BigInt(n), BUF, flags, 0n);
}

function recv(e: Env, mq: bigint, bufSize = 1024n) {
  return e.call('msgqueue_receive', mq, OUT, bufSize, 0n);
}

function bytes(n: number, seed: number): number[] {
  return Array.from({ length: n }, (_, k) => (seed + k) & 0xff);
}

test('msgqueue §5.1: msgqueue_configure takes depth in bits 15:0 and max size in bits 31:16; 1..255 and 1..1023, else ARGUMENT_INVALID', () => {
  const e = env();
  const mq = e.create('msgqueue');
  const cfg = (d: number, s: number, upper = 0n) => e.call('msgqueue_configure', mq, createInfo(d, s, upper), 0n).e;
  assert.equal(cfg(0, 16), Err.ARGUMENT_INVALID);
  assert.equal(cfg(256, 16), Err.ARGUMENT_INVALID);
  assert.equal(cfg(8, 0), Err.ARGUMENT_INVALID);
  assert.equal(cfg(8, 1024), Err.ARGUMENT_INVALID);
  assert.equal(cfg(255, 1023), Err.OK);
  assert.equal(cfg(1, 1), Err.OK);
  assert.equal(cfg(8, 240, 0xdead_beefn), Err.OK, 'bits 63:32 are ignored');
  const q = e.obj<Msgqueue>(mq);
  assert.deepEqual([q.queueDepth, q.maxMsgSize], [8, 240]);
  assert.equal(cfg(0, 0), Err.ARGUMENT_INVALID);
  assert.deepEqual([q.queueDepth, q.maxMsgSize], [8, 240], 'a failed configure changes nothing');
});

test('msgqueue §4.5: activating an unconfigured queue fails with OBJECT_CONFIG and leaves it FAILED for good', () => {
  const e = env();
  const mq = e.create('msgqueue');
  assert.equal(e.call('object_activate', mq, 0n).e, Err.OBJECT_CONFIG);
  assert.equal(e.call('msgqueue_configure', mq, createInfo(8, 240), 0n).e, Err.OBJECT_STATE);
  assert.equal(e.call('object_activate', mq, 0n).e, Err.OBJECT_STATE);
  assert.equal(send(e, mq, 4, 0).e, Err.OBJECT_STATE);
});

test('msgqueue §4.2: configure after activation is OBJECT_STATE; every queue call before activation is OBJECT_STATE', () => {
  const e = env();
  const vic = e.vic();
  const mq = e.create('msgqueue');
  e.ok('msgqueue_configure', mq, createInfo(4, 64), 0n);
  for (const [name, args] of [
    ['msgqueue_send', [4n, BUF, 0n, 0n]],
    ['msgqueue_receive', [OUT, 64n, 0n]],
    ['msgqueue_flush', [0n]],
    ['msgqueue_configure_send', [U32_ALL, U32_ALL, RES1]],
    ['msgqueue_configure_receive', [U32_ALL, U32_ALL, RES1]],
    ['msgqueue_bind_send_virq', [vic, 40n, 0n]],
    ['msgqueue_bind_receive_virq', [vic, 41n, 0n]],
    ['msgqueue_unbind_send_virq', [0n]],
    ['msgqueue_unbind_receive_virq', [0n]],
  ] as const) {
    assert.equal(e.call(name, mq, ...args).e, Err.OBJECT_STATE, name);
  }
  e.ok('object_activate', mq, 0n);
  assert.equal(e.call('msgqueue_configure', mq, createInfo(4, 64), 0n).e, Err.OBJECT_STATE);
});

test('msgqueue §5.2: messages come out in order with their sizes and bytes; not_full and not_empty follow the count', () => {
  const e = env();
  const mq = e.msgqueue(3, 32);
  let r = send(e, mq, 5, 10);
  assert.deepEqual([r.e, r.x[1]], [Err.OK, 1n]);
  r = send(e, mq, 32, 20);
  assert.deepEqual([r.e, r.x[1]], [Err.OK, 1n]);
  r = send(e, mq, 1, 30);
  assert.deepEqual([r.e, r.x[1]], [Err.OK, 0n], 'now full');
  r = recv(e, mq);
  assert.deepEqual([r.e, r.x[1], r.x[2]], [Err.OK, 5n, 1n]);
  assert.deepEqual(e.mem.get(OUT, 5), bytes(5, 10));
  r = recv(e, mq);
  assert.deepEqual([r.e, r.x[1], r.x[2]], [Err.OK, 32n, 1n]);
  assert.deepEqual(e.mem.get(OUT, 32), bytes(32, 20));
  r = recv(e, mq);
  assert.deepEqual([r.e, r.x[1], r.x[2]], [Err.OK, 1n, 0n]);
  assert.deepEqual(e.mem.get(OUT, 1), [30]);
});

test('msgqueue §5.2: the ring wraps around: many more messages than slots keep their order', () => {
  const e = env();
  const mq = e.msgqueue(3, 8);
  let next = 0;
  for (let k = 0; k < 20; k++) {
    assert.equal(send(e, mq, 1 + (k % 8), k).e, Err.OK);
    if (k % 3 !== 2) continue;
    while (true) {
      const r = recv(e, mq);
      if (r.e === Err.MSGQUEUE_EMPTY) break;
      assert.equal(r.x[1], BigInt(1 + (next % 8)));
      assert.deepEqual(e.mem.get(OUT, 1 + (next % 8)), bytes(1 + (next % 8), next));
      next++;
    }
  }
});

test('msgqueue §5.2: send on a full queue returns MSGQUEUE_FULL, not_full = 0, and leaves the queue unchanged (checked before size and copy)', () => {
  const e = env();
  const mq = e.msgqueue(2, 16);
  send(e, mq, 4, 1);
  send(e, mq, 4, 2);
  e.mem.reads = 0;
  for (const [n, va] of [
    [4n, BUF],
    [0n, BUF],
    [9999n, BUF],
    [4n, 0n],
  ] as const) {
    const r = e.call('msgqueue_send', mq, n, va, 0n, 0n);
    assert.deepEqual([r.e, r.x[1]], [Err.MSGQUEUE_FULL, 0n]);
  }
  assert.equal(e.mem.reads, 0, 'nothing was read');
  assert.deepEqual([recv(e, mq).x[1], e.mem.get(OUT, 4)], [4n, bytes(4, 1)]);
  assert.deepEqual([recv(e, mq).x[1], e.mem.get(OUT, 4)], [4n, bytes(4, 2)]);
  assert.equal(recv(e, mq).e, Err.MSGQUEUE_EMPTY);
});

test('msgqueue §5.2: receive on an empty queue returns MSGQUEUE_EMPTY with size 0 and not_empty = 0', () => {
  const e = env();
  const mq = e.msgqueue(2, 16);
  const r = recv(e, mq);
  assert.deepEqual([r.e, r.x[1], r.x[2]], [Err.MSGQUEUE_EMPTY, 0n, 0n]);
});

test('msgqueue §5.2: send size must be 1..max_msg_size (ARGUMENT_SIZE, not_full = 1, queue unchanged)', () => {
  const e = env();
  const mq = e.msgqueue(2, 16);
  for (const n of [0n, 17n, 1024n, 1n << 32n, ALL]) {
    const r = e.call('msgqueue_send', mq, n, BUF, 0n, 0n);
    assert.deepEqual([r.e, r.x[1]], [Err.ARGUMENT_SIZE, 1n], `size ${n}`);
  }
  assert.equal(recv(e, mq).e, Err.MSGQUEUE_EMPTY);
  assert.equal(send(e, mq, 16, 0).e, Err.OK);
});

test('msgqueue §5.2, §13 #14: a bad sender buffer returns the translation error and enqueues nothing', () => {
  const e = env();
  const vic = e.vic();
  const g = GuestGic.of(e, vic);
  g.enable(41);
  const mq = e.msgqueue(2, 16);
  e.ok('msgqueue_bind_receive_virq', mq, vic, 41n, 0n);
  e.mem.s1Fault.push([BUF, BUF + 4n]);
  const cases: [bigint, number][] = [
    [MEM_BASE - 8n, Err.ADDR_INVALID],
    [MEM_BASE + BigInt(MEM_SIZE) - 4n, Err.ADDR_INVALID],
    [ALL - 3n, Err.ADDR_OVERFLOW],
    [BUF, Err.ARGUMENT_INVALID],
  ];
  for (const [va, err] of cases) {
    const r = e.call('msgqueue_send', mq, 8n, va, 1n, 0n);
    assert.deepEqual([r.e, r.x[1]], [err, 1n], `va ${va.toString(16)}`);
  }
  assert.ok(!g.pending(41), 'no RX VIRQ for a failed send, even with push');
  assert.equal(recv(e, mq).e, Err.MSGQUEUE_EMPTY);
});

test('msgqueue §5.2, §13 #14: a bad receiver buffer returns the error with size 0, not_empty = 1, and the message stays', () => {
  const e = env();
  const mq = e.msgqueue(2, 16);
  send(e, mq, 8, 5);
  e.mem.readOnly.push([OUT, OUT + 8n]);
  e.mem.s1Fault.push([MEM_BASE + 0x3000n, MEM_BASE + 0x3001n]);
  const cases: [bigint, number][] = [
    [OUT, Err.DENIED],
    [MEM_BASE + 0x3000n, Err.ARGUMENT_INVALID],
    [MEM_BASE + BigInt(MEM_SIZE) - 4n, Err.ADDR_INVALID],
    [ALL - 3n, Err.ADDR_OVERFLOW],
  ];
  for (const [va, err] of cases) {
    const r = e.call('msgqueue_receive', mq, va, 16n, 0n);
    assert.deepEqual([r.e, r.x[1], r.x[2]], [err, 0n, 1n], `va ${va.toString(16)}`);
  }
  const r = e.call('msgqueue_receive', mq, OUT + 8n, 16n, 0n);
  assert.deepEqual([r.e, r.x[1], r.x[2]], [Err.OK, 8n, 0n]);
  assert.deepEqual(e.mem.get(OUT + 8n, 8), bytes(8, 5));
});

test('msgqueue §5.2: buf_size smaller than the message is ARGUMENT_SIZE and the message stays; equal is enough', () => {
  const e = env();
  const mq = e.msgqueue(2, 16);
  send(e, mq, 10, 3);
  for (const b of [0n, 9n]) {
    const r = recv(e, mq, b);
    assert.deepEqual([r.e, r.x[1], r.x[2]], [Err.ARGUMENT_SIZE, 0n, 1n]);
  }
  const r = recv(e, mq, 10n);
  assert.deepEqual([r.e, r.x[1]], [Err.OK, 10n]);
  send(e, mq, 10, 3);
  assert.equal(recv(e, mq, ALL).e, Err.OK, 'a huge buf_size is fine');
});

test('msgqueue §5.2: a vCPU with no memory view gets ADDR_INVALID and the queue is unchanged', () => {
  const e = env();
  const mq = e.msgqueue(2, 16);
  send(e, mq, 4, 0);
  const saved = e.v.thread.access;
  e.v.thread.access = null;
  assert.equal(send(e, mq, 4, 0).e, Err.ADDR_INVALID);
  assert.equal(recv(e, mq).e, Err.ADDR_INVALID);
  e.v.thread.access = saved;
  assert.equal(recv(e, mq).x[1], 4n);
  assert.equal(recv(e, mq).e, Err.MSGQUEUE_EMPTY);
});

test('msgqueue §5.2: RX VIRQ is asserted when the count reaches notempty_thd (1) or on push; other flag bits are ignored', () => {
  const e = env();
  const vic = e.vic();
  const g = GuestGic.of(e, vic);
  g.enable(41);
  const mq = e.msgqueue(4, 16);
  e.ok('msgqueue_bind_receive_virq', mq, vic, 41n, 0n);
  e.ok('msgqueue_configure_receive', mq, 3n, U32_ALL, RES1);
  send(e, mq, 1, 0, 0xffff_fffen); // every flag but push
  send(e, mq, 1, 0);
  assert.ok(!g.pending(41), 'below the threshold, no push');
  send(e, mq, 1, 0, 1n);
  assert.ok(g.pending(41), 'count == 3 == notempty_thd');
  e.ok('msgqueue_flush', mq, 0n);
  assert.ok(!g.pending(41));
  send(e, mq, 1, 0, 1n | 0x8000_0000n);
  assert.ok(g.pending(41), 'push asserts below the threshold');
  assert.equal(g.ack(), 41);
  g.eoi(41);
  assert.ok(!g.pending(41), 'level re-evaluated at EOI: count 1 < notempty_thd 3');
});

test('msgqueue §5.3: RX stays asserted across EOIs while count ≥ notempty_thd and drops when drained', () => {
  const e = env();
  const vic = e.vic();
  const g = GuestGic.of(e, vic);
  g.enable(41);
  const mq = e.msgqueue(4, 16);
  e.ok('msgqueue_bind_receive_virq', mq, vic, 41n, 0n);
  send(e, mq, 1, 0);
  send(e, mq, 1, 1);
  assert.equal(g.ack(), 41);
  recv(e, mq);
  g.eoi(41);
  assert.ok(g.pending(41), 'one message left: re-fires');
  assert.equal(g.ack(), 41);
  recv(e, mq);
  g.eoi(41);
  assert.ok(!g.pending(41) && !g.irq());
});

test('msgqueue §5.3: TX is asserted when a full queue drops to notfull_thd (depth - 1) and re-fires while not full', () => {
  const e = env();
  const vic = e.vic();
  const g = GuestGic.of(e, vic);
  g.enable(40);
  const mq = e.msgqueue(3, 16);
  e.ok('msgqueue_bind_send_virq', mq, vic, 40n, 0n);
  for (let k = 0; k < 3; k++) send(e, mq, 1, k);
  assert.ok(!g.pending(40), 'filling does not assert TX');
  recv(e, mq);
  assert.ok(g.pending(40), 'count 3 → 2 == notfull_thd');
  assert.equal(g.ack(), 40);
  g.eoi(40);
  assert.ok(g.pending(40), 'still not full: re-fires');
  assert.equal(g.ack(), 40);
  send(e, mq, 1, 9);
  // The send does not reassert TX: at EOI the predicate count 3 ≤ 2 is false.
  g.eoi(40);
  assert.ok(!g.pending(40));
});

test('msgqueue §5.2: flush empties the queue, asserts TX and clears RX when it held messages; on an empty queue it asserts nothing', () => {
  const e = env();
  const vic = e.vic();
  const g = GuestGic.of(e, vic);
  g.enable(40);
  g.enable(41);
  const mq = e.msgqueue(3, 16);
  e.ok('msgqueue_bind_send_virq', mq, vic, 40n, 0n);
  e.ok('msgqueue_bind_receive_virq', mq, vic, 41n, 0n);
  e.ok('msgqueue_flush', mq, 0n);
  assert.ok(!g.pending(40) && !g.pending(41));
  send(e, mq, 4, 0);
  assert.ok(g.pending(41));
  e.ok('msgqueue_flush', mq, 0n);
  assert.ok(g.pending(40) && !g.pending(41));
  assert.equal(recv(e, mq).e, Err.MSGQUEUE_EMPTY);
  for (let k = 0; k < 3; k++) assert.equal(send(e, mq, 2, k).e, Err.OK, 'all slots free again');
  assert.deepEqual([recv(e, mq).x[1], e.mem.get(OUT, 2)], [2n, bytes(2, 0)], 'head reset with the ring');
});

test('msgqueue §5.2: configure_send — holdoff must be 0xFFFFFFFF (else UNIMPLEMENTED, checked first), thd < depth or unchanged; it re-evaluates TX', () => {
  const e = env();
  const vic = e.vic();
  const g = GuestGic.of(e, vic);
  g.enable(40);
  const mq = e.msgqueue(4, 16);
  e.ok('msgqueue_bind_send_virq', mq, vic, 40n, 0n);
  const cs = (thd: bigint, hold: bigint) => e.call('msgqueue_configure_send', mq, thd, hold, RES1);
  const r = cs(1n, 0n);
  assert.equal(r.e, Err.UNIMPLEMENTED);
  assert.equal(r.x[0], 0xffff_ffffn, 'a C handler’s 32-bit -1');
  assert.equal(cs(99n, 5n).e, Err.UNIMPLEMENTED, 'holdoff before threshold');
  assert.equal(cs(4n, U32_ALL).e, Err.ARGUMENT_INVALID);
  assert.equal(cs(0xffff_fffen, U32_ALL).e, Err.ARGUMENT_INVALID, 'no "maximum" value on the send side');
  assert.equal(e.call('msgqueue_configure_send', mq, 1n, U32_ALL, 0n).e, Err.ARGUMENT_INVALID, 'x3 is res1');
  assert.ok(!g.pending(40));
  assert.equal(cs(0n, U32_ALL).e, Err.OK);
  assert.ok(g.pending(40), 'count 0 ≤ 0: asserted at once');
  send(e, mq, 1, 0);
  assert.equal(cs(U32_ALL, U32_ALL).e, Err.OK);
  assert.ok(g.pending(40), 'unchanged: no re-evaluation');
  assert.equal(cs(0n, U32_ALL).e, Err.OK);
  assert.ok(!g.pending(40), 'count 1 > 0: cleared');
  assert.equal(cs(3n, U32_ALL).e, Err.OK);
  assert.ok(g.pending(40));
  for (let k = 0; k < 3; k++) send(e, mq, 1, 0);
  recv(e, mq);
  assert.equal(e.obj<Msgqueue>(mq).notfullThd, 3);
});

test('msgqueue §5.2: configure_receive — holdoff 0xFFFFFFFF only; thd 0 or > depth invalid unless unchanged or 0xFFFFFFFE (= depth, no re-evaluation)', () => {
  const e = env();
  const vic = e.vic();
  const g = GuestGic.of(e, vic);
  g.enable(41);
  const mq = e.msgqueue(4, 16);
  const q = e.obj<Msgqueue>(mq);
  e.ok('msgqueue_bind_receive_virq', mq, vic, 41n, 0n);
  const cr = (thd: bigint, hold = U32_ALL) => e.call('msgqueue_configure_receive', mq, thd, hold, RES1).e;
  assert.equal(cr(1n, 7n), Err.UNIMPLEMENTED);
  assert.equal(cr(0n, 7n), Err.UNIMPLEMENTED, 'holdoff before threshold');
  assert.equal(cr(0n), Err.ARGUMENT_INVALID);
  assert.equal(cr(5n), Err.ARGUMENT_INVALID);
  assert.equal(cr(4n), Err.OK, 'thd == depth is allowed');
  assert.equal(q.notemptyThd, 4);
  send(e, mq, 1, 0);
  send(e, mq, 1, 0);
  assert.ok(!g.pending(41));
  assert.equal(cr(2n), Err.OK);
  assert.ok(g.pending(41), 'count 2 ≥ 2: asserted');
  assert.equal(cr(0xffff_fffen), Err.OK);
  assert.equal(q.notemptyThd, 4, 'maximum = depth');
  assert.ok(g.pending(41), 'maximum does not re-evaluate');
  assert.equal(cr(3n), Err.OK);
  assert.ok(!g.pending(41), 'count 2 < 3: cleared');
  assert.equal(cr(U32_ALL), Err.OK);
  assert.equal(q.notemptyThd, 3, 'unchanged');
  assert.equal(e.call('msgqueue_configure_receive', mq, 1n, U32_ALL, 0n).e, Err.ARGUMENT_INVALID, 'x3 is res1');
});

test('msgqueue §5.1: activation sets the default thresholds notfull_thd = depth - 1, notempty_thd = 1', () => {
  const e = env();
  const q = e.obj<Msgqueue>(e.msgqueue(8, 240));
  assert.deepEqual([q.notfullThd, q.notemptyThd, q.count], [7, 1, 0]);
});

test('msgqueue §2.4: each call needs its right — send, configure_send: send; receive, flush, configure_receive: receive; bind/unbind per side', () => {
  const e = env();
  const vic = e.vic();
  const mq = e.msgqueue(4, 16);
  e.mem.put(BUF, [1, 2, 3, 4]);
  const caps = {
    send: e.copy(mq, MQ.send),
    receive: e.copy(mq, MQ.receive),
    bind_send: e.copy(mq, MQ.bind_send),
    bind_receive: e.copy(mq, MQ.bind_receive),
  };
  const calls: [string, bigint[], keyof typeof caps][] = [
    ['msgqueue_send', [4n, BUF, 0n, 0n], 'send'],
    ['msgqueue_configure_send', [U32_ALL, U32_ALL, RES1], 'send'],
    ['msgqueue_receive', [OUT, 16n, 0n], 'receive'],
    ['msgqueue_flush', [0n], 'receive'],
    ['msgqueue_configure_receive', [U32_ALL, U32_ALL, RES1], 'receive'],
    ['msgqueue_bind_send_virq', [vic, 40n, 0n], 'bind_send'],
    ['msgqueue_unbind_send_virq', [0n], 'bind_send'],
    ['msgqueue_bind_receive_virq', [vic, 41n, 0n], 'bind_receive'],
    ['msgqueue_unbind_receive_virq', [0n], 'bind_receive'],
  ];
  for (const [name, args, right] of calls) {
    for (const [k, cap] of Object.entries(caps)) {
      const want = k === right ? Err.OK : Err.CSPACE_INSUFFICIENT_RIGHTS;
      assert.equal(e.call(name, cap, ...args).e, want, `${name} with ${k}`);
    }
  }
  assert.equal(
    e.call('msgqueue_bind_send_virq', mq, e.copy(vic, VIC_RIGHT.attach_vcpu), 40n, 0n).e,
    Err.CSPACE_INSUFFICIENT_RIGHTS,
  );
});

test('msgqueue §5.3: each side binds once (VIRQ_BOUND); the two sides may not share an SPI (BUSY); unbind is always OK', () => {
  const e = env();
  const vic = e.vic();
  const mq = e.msgqueue(4, 16);
  e.ok('msgqueue_bind_send_virq', mq, vic, 40n, 0n);
  assert.equal(e.call('msgqueue_bind_send_virq', mq, vic, 42n, 0n).e, Err.VIRQ_BOUND);
  assert.equal(e.call('msgqueue_bind_receive_virq', mq, vic, 40n, 0n).e, Err.BUSY);
  assert.equal(e.call('msgqueue_bind_receive_virq', mq, vic, 31n, 0n).e, Err.ARGUMENT_INVALID);
  e.ok('msgqueue_bind_receive_virq', mq, vic, 41n, 0n);
  e.ok('msgqueue_unbind_send_virq', mq, 0n);
  e.ok('msgqueue_unbind_send_virq', mq, 0n);
  e.ok('msgqueue_unbind_receive_virq', mq, 0n);
  e.ok('msgqueue_bind_receive_virq', mq, vic, 40n, 0n);
});

test('msgqueue §5.3: destroying the queue unbinds both VIRQs (levels drop, SPIs free) and frees it', () => {
  const e = env();
  const vic = e.vic();
  const g = GuestGic.of(e, vic);
  g.enable(40);
  g.enable(41);
  const mq = e.msgqueue(2, 16);
  e.ok('msgqueue_bind_send_virq', mq, vic, 40n, 0n);
  e.ok('msgqueue_bind_receive_virq', mq, vic, 41n, 0n);
  e.ok('msgqueue_configure_send', mq, 1n, U32_ALL, RES1);
  send(e, mq, 1, 0);
  assert.ok(g.pending(40) && g.pending(41));
  const copy = e.copy(mq, MQ.send);
  e.ok('cspace_delete_cap_from', e.C, mq, 0n);
  assert.ok(g.pending(41), 'a copy still holds the queue');
  e.ok('cspace_delete_cap_from', e.C, copy, 0n);
  assert.equal(e.hv.liveOf('msgqueue').length, 0);
  assert.ok(!g.pending(40) && !g.pending(41));
  const mq2 = e.msgqueue(2, 16);
  e.ok('msgqueue_bind_send_virq', mq2, vic, 41n, 0n);
  e.ok('msgqueue_bind_receive_virq', mq2, vic, 40n, 0n);
});

test('msgqueue §3.1: revoked caps give CSPACE_CAP_REVOKED, deleted ones CSPACE_CAP_NULL', () => {
  const e = env();
  const mq = e.msgqueue(2, 16);
  const c = e.copy(mq, MQ.send);
  e.ok('cspace_revoke_caps_from', e.C, mq, 0n);
  assert.equal(send(e, c, 1, 0).e, Err.CSPACE_CAP_REVOKED);
  e.ok('cspace_delete_cap_from', e.C, c, 0n);
  assert.equal(send(e, c, 1, 0).e, Err.CSPACE_CAP_NULL);
  assert.equal(send(e, mq, 1, 0).e, Err.OK, 'the master still works');
});

test('msgqueue §5, §12: two vCPUs with separate cspaces exchange 240-byte messages through one queue (send-only / receive-only caps), woken by their own VICs', () => {
  const e = env();
  const a = e.vcpu();
  const b = e.vcpu();
  const aVic = a.vic;
  const bVic = b.vic;
  const ga = GuestGic.of(e, aVic);
  const gb = GuestGic.of(e, bVic);
  ga.enable(64);
  gb.enable(65);
  const mq = e.msgqueue(8, 240);
  // The "RM" (root) hands each side its half, with the VIRQ binds done on its behalf.
  e.ok('msgqueue_bind_send_virq', mq, aVic, 64n, 0n);
  e.ok('msgqueue_bind_receive_virq', mq, bVic, 65n, 0n);
  const aq = a.give(mq, MQ.send);
  const bq = b.give(mq, MQ.receive);
  assert.equal(b.call('msgqueue_send', bq, 4n, BUF, 0n, 0n).e, Err.CSPACE_INSUFFICIENT_RIGHTS);
  assert.equal(a.call('msgqueue_receive', aq, OUT, 240n, 0n).e, Err.CSPACE_INSUFFICIENT_RIGHTS);
  let sent = 0;
  let got = 0;
  for (let round = 0; round < 5; round++) {
    // A sends until full.
    while (true) {
      a.mem.put(BUF, bytes(240, sent));
      const r = a.call('msgqueue_send', aq, 240n, BUF, 0n, 0n);
      if (r.e === Err.MSGQUEUE_FULL) break;
      assert.equal(r.e, Err.OK);
      sent++;
      if (r.x[1] === 0n) break;
    }
    if (round > 0) {
      // A was sending from its TX handler: the queue is full again, so TX drops at its EOI.
      ga.eoi(64);
      assert.ok(!ga.pending(64) && !ga.irq());
    }
    assert.ok(gb.irq(), 'B is interrupted');
    // B's handler drains the queue.
    assert.equal(gb.ack(), 65);
    while (true) {
      const r = b.call('msgqueue_receive', bq, OUT, 240n, 0n);
      if (r.e === Err.MSGQUEUE_EMPTY) break;
      assert.equal(r.x[1], 240n);
      assert.deepEqual(b.mem.get(OUT, 240), bytes(240, got));
      got++;
      if (r.x[2] === 0n) break;
    }
    gb.eoi(65);
    assert.ok(!gb.irq(), 'drained: no further interrupt');
    assert.ok(ga.irq(), 'A is told the queue is no longer full');
    assert.equal(ga.ack(), 64);
  }
  assert.equal(sent, 40);
  assert.equal(got, 40);
});
