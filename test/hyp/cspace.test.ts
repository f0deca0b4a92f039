// Objects and capabilities (hypervisor-abi.md §2.1, §2.2, §3.1, §4.2–4.4), through hypercalls only.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Hypervisor } from '../../src/hyp/hypervisor.js';
import { NativeVcpu } from '../../src/hyp/vm/native.js';
import { Err } from '../../src/hyp/abi/errors.js';
import { CAP_SLOTS_PER_TABLE, Cspace } from '../../src/hyp/core/cspace.js';
import { equipVcpu } from './vcpu-kit.js';

/** A well-formed cap ID naming an empty slot of the root cspace (table 31, slot 5: index 1927). */
const EMPTY = 0x1f05n;

function root() {
  const hv = new Hypervisor();
  const vm = hv.createRootVm();
  const v = new NativeVcpu(hv, vm.thread);
  const P = vm.caps.partition;
  const C = vm.caps.cspace;
  const create = (type: string): bigint => {
    const r = v.call(`partition_create_${type}`, P, C, 0n);
    assert.equal(r.e, Err.OK, `create ${type}`);
    return r.x[1]!;
  };
  return { hv, vm, v, P, C, create };
}

test('§11.2: root caps are allocated densely in order: cspace 0, partition 1, vcpu 2; new caps take the lowest free slot', () => {
  const { vm, create, v, C } = root();
  assert.deepEqual([vm.caps.cspace, vm.caps.partition, vm.caps.vcpu], [0n, 1n, 2n]);
  // The root VM also holds its VIC, hwirq and memory caps (§11.1): dense from slot 0, so the
  // next free slot follows the last of them.
  const held = [...vm.cspace.entries()].map(([id]) => id);
  assert.deepEqual(
    held,
    held.map((_, i) => Cspace.idOf(i)),
    'root caps are dense from slot 0',
  );
  const next = Cspace.idOf(held.length);
  const a = create('cspace');
  const b = create('cspace');
  assert.deepEqual([a, b], [next, Cspace.idOf(held.length + 1)]);
  assert.equal(v.call('cspace_delete_cap_from', C, a, 0n).e, Err.OK);
  assert.equal(create('cspace'), next, 'freed slot reused lowest-first');
});

test('§4.3: cap IDs are (table << 8) | slot with 62 slots per table; slot ≥ 62 or IDs ≥ 2^16 are ARGUMENT_INVALID, an unallocated table CAP_NULL', () => {
  const { v, C, create } = root();
  const cs = create('cspace');
  assert.equal(v.call('cspace_configure', cs, 200n, 0n).e, Err.OK);
  assert.equal(v.call('object_activate', cs, 0n).e, Err.OK);
  const ids: bigint[] = [];
  for (let k = 0; k < 70; k++) {
    const r = v.call('cspace_copy_cap_from', C, 0n, cs, 0x1n, 0n);
    assert.equal(r.e, Err.OK);
    ids.push(r.x[1]!);
  }
  assert.equal(ids[61], 61n);
  assert.equal(ids[62], BigInt(1 << 8), `slot ${CAP_SLOTS_PER_TABLE} starts table 1`);
  assert.equal(v.call('object_activate', 62n, 0n).e, Err.ARGUMENT_INVALID);
  assert.equal(v.call('object_activate', 0x1_0000n, 0n).e, Err.ARGUMENT_INVALID);
  assert.equal(
    v.call('object_activate', 0xffff_ffff_ffff_ffffn, 0n).e,
    Err.ARGUMENT_INVALID,
    'CAP_INVALID decodes as malformed',
  );
  assert.equal(
    v.call('object_activate', 0x2000n, 0n).e,
    Err.CSPACE_CAP_NULL,
    'table 32, slot 0: inside the root cspace, empty',
  );
  assert.equal(v.call('object_activate', EMPTY, 0n).e, Err.CSPACE_CAP_NULL);
});

test('§3.1: lookup errors come in order: NULL, REVOKED, wrong type, insufficient rights, not ACTIVE', () => {
  const { v, C, create } = root();
  const db = create('cspace');
  assert.equal(v.call('cspace_configure', EMPTY, 1n, 0n).e, Err.CSPACE_CAP_NULL);
  assert.equal(
    v.call('cspace_configure', 1n, 1n, 0n).e,
    Err.CSPACE_WRONG_OBJECT_TYPE,
    'partition cap where a cspace is needed',
  );
  // A copy with only cap_create, used where activate is needed: rights fail before state.
  const weak = v.call('cspace_copy_cap_from', C, db, C, 0x1n, 0n).x[1]!;
  assert.equal(v.call('object_activate', weak, 0n).e, Err.CSPACE_INSUFFICIENT_RIGHTS);
  // An INIT cspace where an ACTIVE one is needed (cap_create right present).
  assert.equal(v.call('partition_create_cspace', 1n, weak, 0n).e, Err.OBJECT_STATE);
  // Revoked: revoke all copies through the master.
  assert.equal(v.call('cspace_revoke_caps_from', C, db, 0n).e, Err.OK);
  assert.equal(v.call('cspace_configure', weak, 1n, 0n).e, Err.CSPACE_CAP_REVOKED);
  assert.equal(v.call('cspace_delete_cap_from', C, weak, 0n).e, Err.OK, 'a revoked cap can be deleted');
  assert.equal(v.call('cspace_delete_cap_from', C, weak, 0n).e, Err.CSPACE_CAP_NULL, 'double delete');
});

test('§4.2: activation only from INIT; a failed activation leaves the object FAILED for good', () => {
  const { v, create } = root();
  const cs = create('cspace');
  assert.equal(v.call('object_activate', cs, 0n).e, Err.OBJECT_CONFIG, 'max_caps = 0');
  assert.equal(v.call('cspace_configure', cs, 4n, 0n).e, Err.OBJECT_STATE, 'FAILED: no more configuration');
  assert.equal(v.call('object_activate', cs, 0n).e, Err.OBJECT_STATE);
  const ok = create('cspace');
  assert.equal(v.call('cspace_configure', ok, 4n, 0n).e, Err.OK);
  assert.equal(v.call('object_activate', ok, 0n).e, Err.OK);
  assert.equal(v.call('object_activate', ok, 0n).e, Err.OBJECT_STATE, 'already ACTIVE');
  assert.equal(v.call('cspace_configure', ok, 8n, 0n).e, Err.OBJECT_STATE, 'configure needs INIT');
});

test('§2.2: cspace_configure above the implementation limit is ARGUMENT_INVALID; a full cspace gives CSPACE_FULL, checked before the source cap', () => {
  const { v, C, create } = root();
  const cs = create('cspace');
  assert.equal(v.call('cspace_configure', cs, 1_000_000n, 0n).e, Err.ARGUMENT_INVALID);
  assert.equal(v.call('cspace_configure', cs, 1n, 0n).e, Err.OK);
  assert.equal(v.call('object_activate', cs, 0n).e, Err.OK);
  assert.equal(v.call('cspace_copy_cap_from', C, 1n, cs, 0xffffffffn, 0n).e, Err.OK);
  assert.equal(v.call('cspace_copy_cap_from', C, 1n, cs, 0xffffffffn, 0n).e, Err.CSPACE_FULL);
  assert.equal(
    v.call('cspace_copy_cap_from', C, 999n, cs, 0xffffffffn, 0n).e,
    Err.CSPACE_FULL,
    'full wins over a null source',
  );
});

test('§2.2: copying masks rights; a zero result is CSPACE_INSUFFICIENT_RIGHTS; copies are never master caps', () => {
  const { v, C, create } = root();
  const cs = create('cspace');
  assert.equal(v.call('cspace_copy_cap_from', C, cs, C, 0x40000000n, 0n).e, Err.CSPACE_INSUFFICIENT_RIGHTS);
  const copy = v.call('cspace_copy_cap_from', C, cs, C, 0xffffffffn, 0n).x[1]!;
  assert.equal(v.call('cspace_revoke_caps_from', C, copy, 0n).e, Err.CSPACE_INSUFFICIENT_RIGHTS, 'not a master cap');
});

test('§4.2: an object lives while a valid cap names it; deleting the last cap destroys it; revoked caps hold no reference', () => {
  const { hv, v, C, create } = root();
  const before = hv.liveOf('cspace').length;
  const cs = create('cspace');
  const copy = v.call('cspace_copy_cap_from', C, cs, C, 0xffffffffn, 0n).x[1]!;
  assert.equal(hv.liveOf('cspace').length, before + 1);
  assert.equal(v.call('cspace_delete_cap_from', C, cs, 0n).e, Err.OK);
  assert.equal(hv.liveOf('cspace').length, before + 1, 'the copy keeps it alive');
  assert.equal(v.call('cspace_delete_cap_from', C, copy, 0n).e, Err.OK);
  assert.equal(hv.liveOf('cspace').length, before, 'destroyed with its last cap');
  const t = create('cspace');
  const c2 = v.call('cspace_copy_cap_from', C, t, C, 0xffffffffn, 0n).x[1]!;
  v.call('cspace_revoke_caps_from', C, t, 0n);
  v.call('cspace_delete_cap_from', C, t, 0n);
  assert.equal(hv.liveOf('cspace').length, before, 'only a revoked cap remained: the object is gone');
  assert.equal(v.call('cspace_configure', c2, 1n, 0n).e, Err.CSPACE_CAP_REVOKED);
});

test('§2.1: object_activate_from activates a cap looked up in another cspace; a thread cannot activate without a cspace', () => {
  const { v, P, C, create } = root();
  const cs = create('cspace');
  v.call('cspace_configure', cs, 8n, 0n);
  v.call('object_activate', cs, 0n);
  const t = v.call('partition_create_thread', 1n, cs, 0n);
  assert.equal(t.e, Err.OK);
  // Its other §4.5 prerequisites (addrspace, VIC) are there, through a root copy of its cap.
  equipVcpu(v, P, C, v.call('cspace_copy_cap_from', cs, t.x[1]!, C, 0xffff_ffffn, 0n).x[1]!);
  assert.equal(v.call('object_activate_from', cs, t.x[1]!, 0n).e, Err.OBJECT_CONFIG, 'no cspace attached');
  const t2 = v.call('partition_create_thread', 1n, C, 0n).x[1]!;
  assert.equal(v.call('cspace_attach_thread', cs, t2, 0n).e, Err.OK);
  equipVcpu(v, P, C, t2);
  assert.equal(v.call('object_activate', t2, 0n).e, Err.OK);
  assert.equal(v.call('cspace_attach_thread', cs, t2, 0n).e, Err.OBJECT_STATE, 'attach needs an INIT thread');
});
