// The capability-free calls of hypervisor-abi.md §2.10: prng_get_entropy (sizes, data words,
// determinism, the per-thread rate limit in virtual time) and trace_update_class_flags (public
// class bits only, never DENIED).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Hypervisor, type HypervisorOptions } from '../../src/hyp/hypervisor.js';
import { NativeVcpu } from '../../src/hyp/vm/native.js';
import { Err } from '../../src/hyp/abi/errors.js';
import type { Thread } from '../../src/hyp/vm/thread.js';
import { TRACE_CLASS, TRACE_DEFAULT_CLASS_FLAGS, TRACE_PUBLIC_CLASS_FLAGS } from '../../src/hyp/trace.js';
import { equipVcpu } from './vcpu-kit.js';

const NS_PER_TICK = 16; // 62.5 MHz counter (§9.2)
const MS = 1_000_000;
const bit = (c: number): bigint => 1n << BigInt(c);

function setup(opts: HypervisorOptions = {}) {
  const hv = new Hypervisor(opts);
  const vm = hv.createRootVm();
  const v = new NativeVcpu(hv, vm.thread);
  let now = 0;
  hv.now = () => now;
  const at = (ns: number): void => {
    now = ns;
  };
  const entropy = (n: bigint, res0 = 0n) => v.call('prng_get_entropy', n, res0);
  /**
   * A second vCPU of the root VM (its own rate-limit state): the root's cspace and addrspace, and
   * a VIC of its own (the root VIC has room for one vCPU, §11.1).
   */
  const other = (): NativeVcpu => {
    const C = vm.caps.cspace;
    const t = v.call('partition_create_thread', vm.caps.partition, C, 0n).x[1]!;
    assert.equal(v.call('cspace_attach_thread', C, t, 0n).e, Err.OK);
    equipVcpu(v, vm.caps.partition, C, t, { addrspace: vm.caps.addrspace });
    assert.equal(v.call('object_activate', t, 0n).e, Err.OK);
    return new NativeVcpu(hv, vm.cspace.lookup<Thread>(t, 'thread', 0, false) as Thread);
  };
  return { hv, vm, v, at, entropy, other };
}

test('§2.10 prng_get_entropy: num_bytes 0 or > 16 is ARGUMENT_SIZE, a non-multiple of 4 ARGUMENT_ALIGNMENT (size first); all data words 0 on error', () => {
  const { entropy, at } = setup();
  at(1000 * MS);
  for (const [n, e] of [
    [0n, Err.ARGUMENT_SIZE],
    [17n, Err.ARGUMENT_SIZE],
    [20n, Err.ARGUMENT_SIZE],
    [0xffff_ffffn, Err.ARGUMENT_SIZE],
    [1n, Err.ARGUMENT_ALIGNMENT],
    [6n, Err.ARGUMENT_ALIGNMENT],
    [15n, Err.ARGUMENT_ALIGNMENT],
  ] as const) {
    const r = entropy(n);
    assert.equal(r.e, e, `num_bytes ${n}`);
    assert.deepEqual(r.x.slice(1, 5), [0n, 0n, 0n, 0n], `no data with num_bytes ${n}`);
  }
  const r = entropy(4n, 1n);
  assert.equal(r.e, Err.ARGUMENT_INVALID, 'x1 is res0');
  assert.deepEqual(r.x.slice(1, 5), [0n, 0n, 0n, 0n]);
  assert.equal(entropy(0x1_0000_0004n).e, Err.OK, 'num_bytes is a u32: 0x1_0000_0004 is 4');
});

test('§2.10 prng_get_entropy: num_bytes/4 words come back in x1.. as u32s, the other data registers 0', () => {
  const { entropy, at } = setup();
  const seen = new Set<bigint>();
  for (const [k, n] of [4n, 8n, 12n, 16n].entries()) {
    at((k + 1) * 100 * MS); // a fresh rate-limit window each time
    const r = entropy(n);
    assert.equal(r.e, Err.OK);
    const words = Number(n) / 4;
    for (let i = 1; i <= 4; i++) {
      if (i <= words) {
        assert.ok(r.x[i]! <= 0xffff_ffffn, `x${i} is 32 bits`);
        seen.add(r.x[i]!);
      } else {
        assert.equal(r.x[i], 0n, `x${i} unused`);
      }
    }
  }
  assert.equal(seen.size, 10, 'ten different words (a stream, not a constant)');
});

test('prng determinism: the same seed gives the same words in the same order; another seed other words', () => {
  const words = (opts: HypervisorOptions): bigint[] => {
    const { entropy, at } = setup(opts);
    at(500 * MS);
    return entropy(16n).x.slice(1, 5);
  };
  assert.deepEqual(words({}), words({}));
  assert.deepEqual(words({ seed: 7n }), words({ seed: 7 }));
  assert.notDeepEqual(words({ seed: 7n }), words({ seed: 8n }));
  assert.notDeepEqual(words({ seed: 1n }), words({ seed: 1n | (1n << 40n) }), 'the high seed bits count too');
});

test('§2.10 rate limit: four reads per 33 ms window per thread, the fifth BUSY with no data; the window runs from its first read', () => {
  const { entropy, at } = setup();
  const t0 = 1000 * MS; // tick 62 500 000, a multiple of 4
  at(t0);
  for (let k = 0; k < 4; k++) assert.equal(entropy(16n).e, Err.OK, `read ${k + 1}`);
  at(t0 + 10 * MS);
  const busy = entropy(16n);
  assert.equal(busy.e, Err.BUSY, 'fifth read in the window');
  assert.deepEqual(busy.x.slice(1, 5), [0n, 0n, 0n, 0n]);
  assert.equal(entropy(6n).e, Err.ARGUMENT_ALIGNMENT, 'argument errors come before the rate limit');
  at(t0 + 33 * MS - NS_PER_TICK);
  assert.equal(entropy(4n).e, Err.BUSY, 'one tick before 33 ms');
  at(t0 + 33 * MS);
  assert.equal(entropy(4n).e, Err.OK, 'exactly 33 ms (2 062 500 ticks) later: a new window');
  at(t0 + 40 * MS);
  for (let k = 0; k < 3; k++) assert.equal(entropy(4n).e, Err.OK, `new window read ${k + 2}`);
  assert.equal(entropy(4n).e, Err.BUSY, 'the new window also holds four');
});

test('§2.10 rate limit: each thread has its own windows', () => {
  const { entropy, at, other } = setup();
  const b = other();
  at(2000 * MS);
  for (let k = 0; k < 4; k++) assert.equal(entropy(4n).e, Err.OK);
  assert.equal(entropy(4n).e, Err.BUSY);
  for (let k = 0; k < 4; k++) assert.equal(b.call('prng_get_entropy', 4n, 0n).e, Err.OK, `other thread read ${k + 1}`);
  assert.equal(b.call('prng_get_entropy', 4n, 0n).e, Err.BUSY);
});

test('§2.10 rate limit [code quirk]: in the first 33 ms of time a thread that never read finds its zeroed state inside the window at tick 0 — three reads, then BUSY', () => {
  const { entropy, at } = setup();
  at(5 * MS);
  for (let k = 0; k < 3; k++) assert.equal(entropy(4n).e, Err.OK, `read ${k + 1}`);
  assert.equal(entropy(4n).e, Err.BUSY, 'the fourth');
  at(33 * MS);
  assert.equal(entropy(4n).e, Err.OK, 'from 33 ms on, a normal window');
});

test('§1.2: prng_get_entropy through SMCCC (0xC6008057) returns the same kind of data; the hypervisor clock defaults to 0', () => {
  const hv = new Hypervisor();
  const vm = hv.createRootVm();
  assert.equal(hv.now(), 0);
  const v = new NativeVcpu(hv, vm.thread);
  const r = v.callSmccc('prng_get_entropy', 8n, 0n);
  assert.equal(r.e, Err.OK);
  const h2 = new Hypervisor();
  const r2 = new NativeVcpu(h2, h2.createRootVm().thread).call('prng_get_entropy', 8n, 0n);
  assert.deepEqual(r.x.slice(1, 3), r2.x.slice(1, 3), 'both paths draw from the same seeded stream');
});

test('§2.10 trace_update_class_flags: set/clear public bits and read the flags back; clear applies before set', () => {
  const { v } = setup();
  const upd = (set: bigint, clear: bigint) => v.call('trace_update_class_flags', set, clear, 0n);
  const r0 = upd(0n, 0n);
  assert.equal(r0.e, Err.OK);
  assert.equal(r0.x[1], TRACE_DEFAULT_CLASS_FLAGS, 'ERROR, LOG_BUFFER, TRACE_BUFFER at boot');
  assert.equal(
    TRACE_DEFAULT_CLASS_FLAGS,
    bit(TRACE_CLASS.ERROR) | bit(TRACE_CLASS.LOG_BUFFER) | bit(TRACE_CLASS.TRACE_BUFFER),
  );
  assert.equal(upd(bit(TRACE_CLASS.DEBUG), 0n).x[1], TRACE_DEFAULT_CLASS_FLAGS | bit(TRACE_CLASS.DEBUG));
  assert.equal(
    upd(0n, bit(TRACE_CLASS.DEBUG) | bit(TRACE_CLASS.ERROR)).x[1],
    bit(TRACE_CLASS.LOG_BUFFER) | bit(TRACE_CLASS.TRACE_BUFFER),
  );
  assert.equal(upd(bit(9), bit(9)).x[1] & bit(9), bit(9), 'a bit both set and cleared ends up set');
});

test('§2.10 trace_update_class_flags: LOG_BUFFER, LOG_TRACE_BUFFER and bits 63:32 are not public and never change', () => {
  const { v } = setup();
  const upd = (set: bigint, clear: bigint) => v.call('trace_update_class_flags', set, clear, 0n).x[1]!;
  assert.equal(
    TRACE_PUBLIC_CLASS_FLAGS,
    0xffff_ffffn & ~(bit(TRACE_CLASS.LOG_BUFFER) | bit(TRACE_CLASS.LOG_TRACE_BUFFER)),
  );
  const before = upd(0n, 0n);
  assert.equal(upd(0n, bit(TRACE_CLASS.LOG_BUFFER)) & bit(TRACE_CLASS.LOG_BUFFER), bit(TRACE_CLASS.LOG_BUFFER));
  assert.equal(upd(bit(TRACE_CLASS.LOG_TRACE_BUFFER), 0n) & bit(TRACE_CLASS.LOG_TRACE_BUFFER), 0n);
  assert.equal(upd(0xffff_ffff_0000_0000n, 0n) >> 32n, 0n, 'bits 63:32 (Gunyah’s public mask is a 32-bit ~0U)');
  const all = upd(0xffff_ffff_ffff_ffffn, 0n);
  assert.equal(
    all,
    TRACE_PUBLIC_CLASS_FLAGS | bit(TRACE_CLASS.LOG_BUFFER),
    'every public bit set, the private ones as they were',
  );
  assert.equal(upd(0n, 0xffff_ffff_ffff_ffffn), bit(TRACE_CLASS.LOG_BUFFER), 'clearing all leaves LOG_BUFFER');
  assert.notEqual(before, 0n);
});

test('§2.10 trace_update_class_flags: no cap needed and never DENIED on QEMU — any vCPU may call it, and the flags are global; x2 is res0', () => {
  const { v, other } = setup();
  const b = other();
  const r = b.call('trace_update_class_flags', bit(TRACE_CLASS.DEBUG), 0n, 0n);
  assert.equal(r.e, Err.OK);
  assert.equal(v.call('trace_update_class_flags', 0n, 0n, 0n).x[1]! & bit(TRACE_CLASS.DEBUG), bit(TRACE_CLASS.DEBUG));
  const bad = v.call('trace_update_class_flags', 0n, 0n, 1n);
  assert.equal(bad.e, Err.ARGUMENT_INVALID);
  assert.equal(bad.x[1], 0n, 'no flags with an error');
});
