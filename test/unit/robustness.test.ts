// "The model itself never throws on guest input" (issue 2): any instruction word, in any register
// state, at EL0 or EL1, either executes or takes an architectural exception.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeCpu, RAM_BASE } from '../helpers/cpu.js';

/** splitmix32: a small seeded PRNG, so a failure names a reproducible seed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

const INTERESTING = [
  0n,
  1n,
  0x7fffffffn,
  0x80000000n,
  0xffffffffn,
  0x7fffffffffffffffn,
  0x8000000000000000n,
  0xffffffffffffffffn,
];

test('robustness: 40,000 random instruction words in random register states never raise a host exception', () => {
  const rnd = prng(0x5eed);
  const { cpu, code } = makeCpu(1 << 20);
  cpu.sys.vbarEl1 = BigInt(RAM_BASE + 0x8000);
  cpu.sys.cpacrEl1 = 0x300000n;
  let exceptions = 0;
  for (let n = 0; n < 40_000; n++) {
    const word = rnd();
    for (let r = 0; r < 32; r++) {
      const pick = rnd() & 7;
      cpu.x[r] =
        pick < 3
          ? INTERESTING[rnd() & 7]!
          : pick < 6
            ? BigInt(RAM_BASE + (rnd() & 0xffff8)) // often a valid RAM address
            : (BigInt(rnd()) << 32n) | BigInt(rnd());
      cpu.v[r] = (BigInt(rnd()) << 32n) | BigInt(rnd());
    }
    cpu.fpcr = rnd() & 0x07c00000;
    cpu.sys.esrEl1 = 0;
    if ((n & 1) === 1) {
      cpu.sys.spsrEl1 = 0; // EL0t
      cpu.sys.elrEl1 = BigInt(RAM_BASE);
      cpu.eret();
    }
    code(RAM_BASE, [word]);
    cpu.pc = RAM_BASE;
    try {
      cpu.step();
    } catch (e) {
      assert.fail(`word 0x${word.toString(16).padStart(8, '0')} (case ${n}) threw ${String(e)}`);
    }
    if (cpu.sys.esrEl1 !== 0) exceptions++;
    if (cpu.el === 0) {
      // Back to EL1 for the next case.
      cpu.reset(RAM_BASE);
      cpu.sys.vbarEl1 = BigInt(RAM_BASE + 0x8000);
      cpu.sys.cpacrEl1 = 0x300000n;
    }
  }
  // Most random words are unallocated: exceptions are the common outcome, and some words execute.
  assert.ok(exceptions > 10_000 && exceptions < 40_000, `exceptions taken: ${exceptions}`);
});
