// The RM's number pools (src/rm/pool.ts): what VIRQs and buffers the RM hands out and takes back.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { NumberPool } from '../../src/rm/pool.js';

test('NumberPool: lowest free first; a number given back is the next one taken; reserve takes a given number; exhaustion is null', () => {
  const p = new NumberPool(32, 36);
  assert.deepEqual([p.take(), p.take(), p.take()], [32, 33, 34]);
  p.give(33);
  assert.equal(p.take(), 33);
  assert.equal(p.reserve(36), true);
  assert.equal(p.reserve(36), false, 'already taken');
  assert.equal(p.reserve(31), false, 'outside the pool');
  assert.deepEqual([p.take(), p.take()], [35, null]);
  assert.equal(p.inUse, 5);
  p.give(99);
  p.give(32);
  p.give(32);
  assert.equal(p.inUse, 4, 'unknown and repeated gives are ignored');
  const s = new NumberPool(0, 10, 5);
  assert.deepEqual([s.take(), s.take(), s.take(), s.take()], [0, 5, 10, null]);
  assert.equal(s.reserve(3), false, 'not on the step');
});

test('NumberPool (property): whatever the sequence of take/give/reserve, no number is out twice and take always returns the lowest free one', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          fc.constant<['take']>(['take']),
          fc.tuple(fc.constantFrom('give', 'reserve'), fc.integer({ min: 28, max: 44 })),
        ),
        { maxLength: 80 },
      ),
      (ops) => {
        const p = new NumberPool(30, 40);
        const out = new Set<number>();
        for (const op of ops) {
          if (op[0] === 'take') {
            const n = p.take();
            const lowest = [...Array(11).keys()].map((k) => 30 + k).find((k) => !out.has(k)) ?? null;
            assert.equal(n, lowest);
            if (n !== null) out.add(n);
          } else if (op[0] === 'give') {
            p.give(op[1]);
            out.delete(op[1]);
          } else {
            const ok = p.reserve(op[1]);
            assert.equal(ok, op[1] >= 30 && op[1] <= 40 && !out.has(op[1]));
            if (ok) out.add(op[1]);
          }
          assert.equal(p.inUse, out.size);
        }
      },
    ),
  );
});
