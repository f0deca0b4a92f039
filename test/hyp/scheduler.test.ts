// The FPRR scheduler's decisions (hypervisor-abi.md §8.2), on stand-in threads.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler, SchedState, type Schedulable } from '../../src/hyp/core/scheduler.js';

class T implements Schedulable {
  sched = new SchedState();
  blocked = false;
  constructor(
    readonly name: string,
    public priority = 32,
    public affinity = 0,
    readonly timesliceNs = 5_000_000n,
  ) {}
  runnable(): boolean {
    return !this.blocked;
  }
}

const name = (t: Schedulable | null): string => (t as T | null)?.name ?? 'idle';

test('§8.2: the highest-priority runnable thread runs; an empty CPU is idle', () => {
  const s = new Scheduler(2);
  assert.equal(s.schedule(0), null);
  const lo = new T('lo', 10);
  const hi = new T('hi', 40);
  s.wake(lo);
  s.wake(hi);
  assert.equal(name(s.schedule(0)), 'hi');
  assert.equal(s.schedule(1), null, 'threads only run on their affinity CPU');
});

test('§8.2: equal priorities round-robin on timeslice expiry; the expired thread goes to the tail with a fresh slice', () => {
  const s = new Scheduler(1);
  const a = new T('a');
  const b = new T('b');
  const c = new T('c');
  [a, b, c].forEach((t) => s.wake(t));
  const order: string[] = [];
  for (let k = 0; k < 6; k++) {
    order.push(name(s.schedule(0)));
    s.account(0, 5_000_000);
  }
  assert.deepEqual(order, ['a', 'b', 'c', 'a', 'b', 'c']);
});

test('§8.2: with no other thread of its priority queued, an expired thread keeps running (slice refilled)', () => {
  const s = new Scheduler(1);
  const a = new T('a', 32);
  const lo = new T('lo', 5);
  s.wake(a);
  s.wake(lo);
  assert.equal(name(s.schedule(0)), 'a');
  s.account(0, 6_000_000);
  assert.equal(name(s.schedule(0)), 'a');
  assert.equal(s.sliceLeft(0), 5_000_000);
});

test('§8.2: a strictly higher-priority wakeup displaces the current thread, which goes back to the HEAD of its queue', () => {
  const s = new Scheduler(1);
  const a = new T('a');
  const b = new T('b');
  s.wake(a);
  s.wake(b);
  assert.equal(name(s.schedule(0)), 'a');
  s.account(0, 1_000_000);
  const hi = new T('hi', 50);
  assert.equal(s.wake(hi), true, 'reschedule requested');
  assert.equal(name(s.schedule(0)), 'hi');
  assert.deepEqual(s.queued(0, 32).map(name), ['a', 'b'], 'a kept its place at the head');
  hi.blocked = true;
  s.block(hi);
  assert.equal(name(s.schedule(0)), 'a');
  assert.equal(s.sliceLeft(0), 4_000_000, 'with the rest of its slice');
});

test('§8.2: an equal-priority wakeup asks for a reschedule but waits in the queue until the current slice expires', () => {
  const s = new Scheduler(1);
  const a = new T('a');
  s.wake(a);
  s.schedule(0);
  const b = new T('b');
  assert.equal(s.wake(b), true);
  assert.equal(name(s.schedule(0)), 'a');
  s.account(0, 5_000_000);
  assert.equal(name(s.schedule(0)), 'b');
  assert.equal(s.wake(new T('low', 1)), false, 'a lower-priority wakeup does not ask');
});

test('§8.2: threads with affinity NONE (0xFFFF) are never queued', () => {
  const s = new Scheduler(1);
  const t = new T('t', 32, 0xffff);
  assert.equal(s.wake(t), false);
  assert.equal(s.schedule(0), null);
});

test("§8.2: a directed yield runs the target in the yielder's place on its slice; it ends when the slice runs out, the target blocks, or the target yields", () => {
  const s = new Scheduler(1);
  const y = new T('yielder', 40);
  const tgt = new T('target', 10, 0xffff);
  s.wake(y);
  s.schedule(0);
  assert.equal(s.yieldTo(0, y, tgt), true);
  assert.equal(name(s.running(0)), 'target');
  assert.equal(name(s.current(0)), 'yielder', 'the yielder stays chosen at its priority');
  s.account(0, 5_000_000);
  assert.equal(name(s.running(0)), 'yielder', 'slice expired: the yield ended');
  s.schedule(0);
  s.yieldTo(0, y, tgt);
  tgt.blocked = true;
  s.block(tgt);
  assert.equal(name(s.running(0)), 'yielder', 'target blocked');
  tgt.blocked = false;
  s.yieldTo(0, y, tgt);
  s.yieldSlice(0, tgt);
  assert.equal(name(s.running(0)), 'yielder', 'target yielded (hint 0)');
  s.yieldTo(0, y, tgt);
  s.wake(y);
  assert.equal(name(s.running(0)), 'yielder', 'a wakeup for the yielder ends it');
});

test('§8.2: a yield target yielding back to its donor ends the yield; to a third thread re-targets the donation', () => {
  const s = new Scheduler(1);
  const y = new T('y', 40);
  const a = new T('a', 10, 0xffff);
  const b = new T('b', 10, 0xffff);
  s.wake(y);
  s.schedule(0);
  s.yieldTo(0, y, a);
  assert.equal(s.yieldTo(0, a, b), true);
  assert.equal(name(s.running(0)), 'b');
  assert.equal(s.yieldTo(0, b, y), false);
  assert.equal(name(s.running(0)), 'y');
});

test('§8.2: a directed yield to a blocked thread or one bound to another CPU does nothing', () => {
  const s = new Scheduler(2);
  const y = new T('y');
  s.wake(y);
  s.schedule(0);
  const blocked = new T('b', 32, 0xffff);
  blocked.blocked = true;
  assert.equal(s.yieldTo(0, y, blocked), false);
  assert.equal(s.yieldTo(0, y, new T('elsewhere', 32, 1)), false);
  assert.equal(name(s.running(0)), 'y');
});
