// Calls and lifecycle rules the area test files leave out (hypervisor-abi.md §2.1, §2.9, §4.2–4.5,
// §7): object creation for every type through its own partition_create_* call, the vpm_group's
// VIRQ, and object lifecycle misuse for every type — double activation, FAILED being terminal,
// double delete, and objects freed exactly when their last reference goes (revoked caps and
// internal links included). Everything runs from the root VM's native vCPU, through hypercalls.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Err, errorName } from '../../src/hyp/abi/errors.js';
import type { ObjectTypeName } from '../../src/hyp/abi/rights.js';
import { createInfo, env, type Env } from './ipc-env.js';

const PAGE = 0x1000n;
/** Physical RAM the root partition owns (64 MiB at 0x4000_0000 by default). */
const RAM = 0x4100_0000n;
/** memextent attributes: RW, memtype ANY, BASIC (§10.2). */
const BASIC_RW = 6n;
const ALL_ONES_32 = 0xffff_ffffn;

/**
 * Every object type a guest can create, with its creation call, its ALL rights mask (§4.4), and how
 * a resource manager configures it before activation (§12).
 */
const KINDS: readonly {
  type: ObjectTypeName;
  create: string;
  all: number;
  configure: (e: Env, cap: bigint) => void;
}[] = [
  {
    type: 'cspace',
    create: 'partition_create_cspace',
    all: 0x8000_001f,
    configure: (e, c) => e.ok('cspace_configure', c, 4n, 0n),
  },
  {
    type: 'addrspace',
    create: 'partition_create_addrspace',
    all: 0x8000_000f,
    configure: (e, c) => e.ok('addrspace_configure', c, BigInt(nextVmid++), 0n),
  },
  {
    type: 'memextent',
    create: 'partition_create_memextent',
    all: 0x8000_001f,
    configure: (e, c) => e.ok('memextent_configure', c, RAM + BigInt(nextPage++) * PAGE, PAGE, BASIC_RW, 0n),
  },
  {
    type: 'thread',
    create: 'partition_create_thread',
    all: 0x8000_03ff,
    // §4.5: a cspace, an addrspace and a VIC.
    configure: (e, c) => {
      e.ok('cspace_attach_thread', e.C, c, 0n);
      e.equip(c);
    },
  },
  { type: 'doorbell', create: 'partition_create_doorbell', all: 0x8000_0007, configure: () => {} },
  {
    type: 'msgqueue',
    create: 'partition_create_msgqueue',
    all: 0x8000_000f,
    configure: (e, c) => e.ok('msgqueue_configure', c, createInfo(2, 16), 0n),
  },
  {
    type: 'vic',
    create: 'partition_create_vic',
    all: 0x8000_0007,
    configure: (e, c) => e.ok('vic_configure', c, 1n, 32n, 0n, 0n),
  },
  { type: 'vpm_group', create: 'partition_create_vpm_group', all: 0x8000_0007, configure: () => {} },
];
let nextVmid = 1;
let nextPage = 0;

/** §4.5: the activation failure each type can be driven into (an unconfigured object). */
const FAILS: Partial<Record<ObjectTypeName, { error: number; configure: string; args: bigint[] }>> = {
  cspace: { error: Err.OBJECT_CONFIG, configure: 'cspace_configure', args: [4n, 0n] },
  addrspace: { error: Err.BUSY, configure: 'addrspace_configure', args: [9n, 0n] },
  memextent: { error: Err.OBJECT_CONFIG, configure: 'memextent_configure', args: [RAM, PAGE, BASIC_RW, 0n] },
  thread: { error: Err.OBJECT_CONFIG, configure: 'vcpu_configure', args: [0n, 0n] },
  msgqueue: { error: Err.OBJECT_CONFIG, configure: 'msgqueue_configure', args: [createInfo(2, 16), 0n] },
};

const err = (e: Env, name: string, ...args: bigint[]): number => e.call(name, ...args).e;
const named = (n: number): string => errorName(n);

test('§2.1/§4.4: each partition_create_* call makes an INIT object of its type whose cap is a master cap holding exactly the type’s rights', () => {
  for (const k of KINDS) {
    const e = env();
    const before = e.hv.liveOf(k.type).length;
    const r = e.call(k.create, e.P, e.C, 0n);
    assert.equal(r.e, Err.OK, k.create);
    const cap = r.x[1]!;
    assert.equal(e.hv.liveOf(k.type).length, before + 1, `${k.create}: one new ${k.type}`);
    // INIT: configuring is allowed, which §4.2 allows only in INIT (and activation, at the end).
    k.configure(e, cap);
    // Each right of the type is held: a copy restricted to that one right exists.
    for (let b = 0; b < 32; b++) {
      const bit = 2 ** b;
      const copy = e.call('cspace_copy_cap_from', e.C, cap, e.C, BigInt(bit), 0n);
      assert.equal(copy.e, (k.all & bit) !== 0 ? Err.OK : Err.CSPACE_INSUFFICIENT_RIGHTS, `${k.create}: right ${bit}`);
    }
    // A master cap: it may revoke the object's other caps (§2.2), which the copies are not.
    const copy = e.copy(cap, k.all);
    assert.equal(err(e, 'cspace_revoke_caps_from', e.C, copy, 0n), Err.CSPACE_INSUFFICIENT_RIGHTS, 'a copy');
    assert.equal(err(e, 'cspace_revoke_caps_from', e.C, cap, 0n), Err.OK, `${k.create}: master`);
    assert.equal(err(e, 'object_activate', cap, 0n), Err.OK, `${k.create}: INIT, so it activates once configured`);
  }
});

test('§2.1/§4.3: partition_create_* into a full cspace is CSPACE_FULL and leaves no object behind', () => {
  for (const k of KINDS) {
    const e = env();
    const small = e.create('cspace');
    e.ok('cspace_configure', small, 1n, 0n);
    e.ok('object_activate', small, 0n);
    e.ok('cspace_copy_cap_from', e.C, e.P, small, ALL_ONES_32, 0n);
    const before = e.hv.liveOf(k.type).length;
    assert.equal(err(e, k.create, e.P, small, 0n), Err.CSPACE_FULL, k.create);
    assert.equal(e.hv.liveOf(k.type).length, before, `${k.create}: no ${k.type} leaked`);
  }
});

test('§2.1: partition_create_addrspace, partition_create_vic and partition_create_vpm_group need object_create on an ACTIVE partition and cap_create on an ACTIVE cspace', () => {
  const e = env();
  const noCreate = e.copy(e.P, 0x8000_0002); // donate and activate, no object_create
  const noCapCreate = e.copy(e.C, 0x8000_001e);
  const initCspace = e.create('cspace');
  for (const call of ['partition_create_addrspace', 'partition_create_vic', 'partition_create_vpm_group']) {
    assert.equal(err(e, call, noCreate, e.C, 0n), Err.CSPACE_INSUFFICIENT_RIGHTS, `${call}: partition right`);
    assert.equal(err(e, call, e.P, noCapCreate, 0n), Err.CSPACE_INSUFFICIENT_RIGHTS, `${call}: cspace right`);
    assert.equal(err(e, call, e.P, initCspace, 0n), Err.OBJECT_STATE, `${call}: INIT cspace`);
    assert.equal(err(e, call, e.C, e.C, 0n), Err.CSPACE_WRONG_OBJECT_TYPE, `${call}: a cspace is not a partition`);
  }
});

// ---------------------------------------------------------------------------- vpm_group VIRQ (§2.9, §7)

test('§2.9/§7: vpm_group_bind_virq binds the group’s VIRQ to a VIC SPI: the SPI is then taken (BUSY for others), the group cannot bind twice (VIRQ_BOUND)', () => {
  const e = env();
  const vic = e.vic(1, 64);
  const g = e.create('vpm_group');
  e.ok('object_activate', g, 0n);
  assert.equal(err(e, 'vpm_group_bind_virq', g, vic, 40n, 0n), Err.OK);
  const db = e.doorbell();
  assert.equal(err(e, 'doorbell_bind_virq', db, vic, 40n, 0n), Err.BUSY, 'SPI 40 is the group’s');
  assert.equal(err(e, 'vpm_group_bind_virq', g, vic, 41n, 0n), Err.VIRQ_BOUND, 'bound already, even elsewhere');
  assert.equal(err(e, 'vpm_group_unbind_virq', g, 0n), Err.OK);
  assert.equal(err(e, 'doorbell_bind_virq', db, vic, 40n, 0n), Err.OK, 'unbinding freed SPI 40');
  assert.equal(err(e, 'vpm_group_unbind_virq', g, 0n), Err.OK, 'unbinding an unbound group is OK');
  assert.equal(err(e, 'vpm_group_bind_virq', g, vic, 41n, 0n), Err.OK, 'and it can bind again');
});

test('§7: vpm_group_bind_virq takes shared VIRQs only: 32 ≤ virq ≤ 1019 and virq − 32 < max_virqs, else ARGUMENT_INVALID', () => {
  const e = env();
  const vic = e.vic(1, 64);
  const g = e.create('vpm_group');
  e.ok('object_activate', g, 0n);
  for (const virq of [0n, 16n, 31n, 96n, 1019n, 1020n, 0xffff_ffffn]) {
    assert.equal(err(e, 'vpm_group_bind_virq', g, vic, virq, 0n), Err.ARGUMENT_INVALID, `virq ${virq}`);
  }
  assert.equal(err(e, 'vpm_group_bind_virq', g, vic, 95n, 0n), Err.OK, '95 = 32 + 64 − 1, the last bindable');
  e.ok('vpm_group_unbind_virq', g, 0n);
  assert.equal(err(e, 'vpm_group_bind_virq', g, vic, 0x1_0000_0020n, 0n), Err.OK, 'virq is a u32 (§1.1): SPI 32');
});

test('§4.2/§7: destroying a bound vpm_group (its last cap deleted) unbinds its VIRQ; destroying the VIC instead leaves the group free to bind elsewhere', () => {
  const e = env();
  const vic = e.vic(1, 64);
  const g = e.create('vpm_group');
  e.ok('object_activate', g, 0n);
  e.ok('vpm_group_bind_virq', g, vic, 50n, 0n);
  const before = e.hv.liveOf('vpm_group').length;
  e.ok('cspace_delete_cap_from', e.C, g, 0n);
  assert.equal(e.hv.liveOf('vpm_group').length, before - 1, 'the group is gone');
  const db = e.doorbell();
  assert.equal(err(e, 'doorbell_bind_virq', db, vic, 50n, 0n), Err.OK, 'SPI 50 is free again');

  const g2 = e.create('vpm_group');
  e.ok('object_activate', g2, 0n);
  const vic2 = e.vic(1, 64);
  e.ok('vpm_group_bind_virq', g2, vic2, 60n, 0n);
  e.ok('cspace_delete_cap_from', e.C, vic2, 0n);
  assert.equal(err(e, 'vpm_group_bind_virq', g2, vic, 60n, 0n), Err.OK, 'the VIC’s destruction unbound it');
});

// ---------------------------------------------------------------------------- lifecycle misuse (§4.2)

test('§4.2: for every type, object_activate succeeds once and a second activation is OBJECT_STATE (through object_activate_from too)', () => {
  for (const k of KINDS) {
    const e = env();
    const cap = e.create(k.type);
    k.configure(e, cap);
    assert.equal(err(e, 'object_activate', cap, 0n), Err.OK, `${k.type}: first`);
    assert.equal(err(e, 'object_activate', cap, 0n), Err.OBJECT_STATE, `${k.type}: second`);
    assert.equal(err(e, 'object_activate_from', e.C, cap, 0n), Err.OBJECT_STATE, `${k.type}: second, from`);
  }
});

test('§4.2/§4.5: a failed activation leaves the object FAILED for good: configure and activate are OBJECT_STATE; deleting its cap frees it', () => {
  for (const [type, f] of Object.entries(FAILS) as [ObjectTypeName, NonNullable<(typeof FAILS)['cspace']>][]) {
    const e = env();
    const before = e.hv.liveOf(type).length;
    const cap = e.create(type);
    assert.equal(err(e, 'object_activate', cap, 0n), f.error, `${type}: unconfigured activation → ${named(f.error)}`);
    assert.equal(err(e, f.configure, cap, ...f.args), Err.OBJECT_STATE, `${type}: ${f.configure} once FAILED`);
    assert.equal(err(e, 'object_activate', cap, 0n), Err.OBJECT_STATE, `${type}: activate once FAILED`);
    e.ok('cspace_delete_cap_from', e.C, cap, 0n);
    assert.equal(e.hv.liveOf(type).length, before, `${type}: freed`);
  }
});

test('§2.2/§4.2: for every type, deleting a cap twice is CSPACE_CAP_NULL the second time; the object is freed by the first', () => {
  for (const k of KINDS) {
    for (const activate of [false, true]) {
      if (k.type === 'thread' && activate) continue; // an active vCPU holds itself (next test)
      const e = env();
      const before = e.hv.liveOf(k.type).length;
      const cap = e.create(k.type);
      if (activate) {
        k.configure(e, cap);
        e.ok('object_activate', cap, 0n);
      }
      const what = `${k.type} (${activate ? 'ACTIVE' : 'INIT'})`;
      assert.equal(err(e, 'cspace_delete_cap_from', e.C, cap, 0n), Err.OK, what);
      assert.equal(e.hv.liveOf(k.type).length, before, `${what}: freed with its only cap`);
      assert.equal(err(e, 'cspace_delete_cap_from', e.C, cap, 0n), Err.CSPACE_CAP_NULL, `${what}: second delete`);
      assert.equal(err(e, 'object_activate', cap, 0n), Err.CSPACE_CAP_NULL, `${what}: use after delete`);
    }
  }
});

test('§4.2: an ACTIVE vCPU outlives its caps until it is killed and exits; an INIT one is freed with its last cap', () => {
  const e = env();
  const before = e.hv.liveOf('thread').length;
  const t = e.create('thread');
  e.ok('cspace_attach_thread', e.C, t, 0n);
  e.equip(t);
  e.ok('object_activate', t, 0n);
  const kill = e.copy(t, 0x80); // lifecycle only
  e.ok('cspace_delete_cap_from', e.C, t, 0n);
  assert.equal(e.hv.liveOf('thread').length, before + 1, 'its self-reference keeps it');
  assert.equal(err(e, 'vcpu_kill', kill, 0n), Err.OK);
  assert.equal(err(e, 'vcpu_kill', kill, 0n), Err.OK, 'killing a killed vCPU is OK');
  e.ok('cspace_delete_cap_from', e.C, kill, 0n);
  const init = e.create('thread');
  assert.equal(err(e, 'vcpu_kill', init, 0n), Err.OBJECT_STATE, 'not started: OBJECT_STATE');
  e.ok('cspace_delete_cap_from', e.C, init, 0n);
  assert.equal(
    e.hv.liveOf('thread').length,
    before + 1,
    'the INIT thread is gone; the killed one exits when it next runs',
  );
});

test('§4.2: for every type, copies keep the object alive after the master is deleted; revoked copies do not, and still answer CSPACE_CAP_REVOKED until deleted', () => {
  for (const k of KINDS) {
    const e = env();
    const before = e.hv.liveOf(k.type).length;
    const cap = e.create(k.type);
    const kept = e.copy(cap, k.all);
    e.ok('cspace_delete_cap_from', e.C, cap, 0n);
    assert.equal(e.hv.liveOf(k.type).length, before + 1, `${k.type}: the copy holds it`);
    e.ok('cspace_delete_cap_from', e.C, kept, 0n);
    assert.equal(e.hv.liveOf(k.type).length, before, `${k.type}: freed with the copy`);

    const master = e.create(k.type);
    const revoked = e.copy(master, k.all);
    e.ok('cspace_revoke_caps_from', e.C, master, 0n);
    e.ok('cspace_delete_cap_from', e.C, master, 0n);
    assert.equal(e.hv.liveOf(k.type).length, before, `${k.type}: a revoked copy holds no reference`);
    assert.equal(err(e, 'object_activate', revoked, 0n), Err.CSPACE_CAP_REVOKED, `${k.type}: revoked copy`);
    assert.equal(err(e, 'cspace_delete_cap_from', e.C, revoked, 0n), Err.OK, `${k.type}: delete the revoked copy`);
    assert.equal(err(e, 'cspace_delete_cap_from', e.C, revoked, 0n), Err.CSPACE_CAP_NULL, `${k.type}: then it is NULL`);
  }
});

test('§4.2: a thread’s links hold references — its cspace, addrspace, VIC and vpm_group outlive their caps until the (INIT) thread is deleted', () => {
  const e = env();
  const types: ObjectTypeName[] = ['cspace', 'addrspace', 'vic', 'vpm_group'];
  const before = types.map((t) => e.hv.liveOf(t).length);
  const cs = e.create('cspace');
  e.ok('cspace_configure', cs, 4n, 0n);
  e.ok('object_activate', cs, 0n);
  const as = e.create('addrspace');
  e.ok('addrspace_configure', as, 3n, 0n);
  e.ok('object_activate', as, 0n);
  const vic = e.vic(1, 32);
  const g = e.create('vpm_group');
  e.ok('object_activate', g, 0n);
  const t = e.create('thread');
  e.ok('cspace_attach_thread', cs, t, 0n);
  e.ok('addrspace_attach_thread', as, t, 0n);
  e.ok('vic_attach_vcpu', vic, t, 0n, 0n);
  e.ok('vpm_group_attach_vcpu', g, t, 0n, 0n);
  for (const cap of [cs, as, vic, g]) e.ok('cspace_delete_cap_from', e.C, cap, 0n);
  assert.deepEqual(
    types.map((ty) => e.hv.liveOf(ty).length),
    before.map((n) => n + 1),
    'each still held by the thread',
  );
  e.ok('cspace_delete_cap_from', e.C, t, 0n);
  assert.deepEqual(
    types.map((ty) => e.hv.liveOf(ty).length),
    before,
    'all freed with the thread',
  );
});

test('§4.2: use before activate — an INIT object is OBJECT_STATE for the calls that need it ACTIVE, and works once activated', () => {
  const e = env();
  const db = e.create('doorbell');
  assert.equal(err(e, 'doorbell_send', db, 1n, 0n), Err.OBJECT_STATE);
  const mq = e.create('msgqueue');
  e.ok('msgqueue_configure', mq, createInfo(2, 16), 0n);
  assert.equal(err(e, 'msgqueue_flush', mq, 0n), Err.OBJECT_STATE);
  const g = e.create('vpm_group');
  assert.equal(err(e, 'vpm_group_get_state', g, 0n), Err.OBJECT_STATE);
  const vic = e.create('vic');
  assert.equal(err(e, 'vpm_group_bind_virq', g, vic, 40n, 0n), Err.OBJECT_STATE, 'group INIT');
  for (const cap of [db, mq, g, vic]) e.ok('object_activate', cap, 0n);
  assert.equal(err(e, 'doorbell_send', db, 1n, 0n), Err.OK);
  assert.equal(err(e, 'msgqueue_flush', mq, 0n), Err.OK);
  assert.equal(err(e, 'vpm_group_get_state', g, 0n), Err.OK);
});

test('§2.1: object_activate_from looks its cap up in the named cspace (activate right, any type and state): NULL, REVOKED, rights, malformed and already-ACTIVE errors come from there', () => {
  const e = env();
  const other = e.create('cspace');
  e.ok('cspace_configure', other, 8n, 0n);
  e.ok('object_activate', other, 0n);
  const db = e.create('doorbell');
  // The doorbell's cap in `other` (slot 0 there), with every right; a second one without ACT.
  const there = e.ok('cspace_copy_cap_from', e.C, db, other, ALL_ONES_32, 0n)[1]!;
  const noAct = e.ok('cspace_copy_cap_from', e.C, db, other, 0x7n, 0n)[1]!;
  assert.equal(there, 0n, 'first cap of a fresh cspace is 0 (§4.3)');
  assert.equal(err(e, 'object_activate_from', other, 5n, 0n), Err.CSPACE_CAP_NULL, 'empty slot there');
  assert.equal(err(e, 'object_activate_from', other, 0xffn, 0n), Err.ARGUMENT_INVALID, 'malformed');
  assert.equal(err(e, 'object_activate_from', other, noAct, 0n), Err.CSPACE_INSUFFICIENT_RIGHTS, 'no ACT');
  assert.equal(err(e, 'object_activate_from', other, there, 0n), Err.OK, 'activates the doorbell');
  assert.equal(err(e, 'doorbell_send', db, 1n, 0n), Err.OK, 'the root cap sees it ACTIVE');
  assert.equal(err(e, 'object_activate_from', other, there, 0n), Err.OBJECT_STATE, 'already ACTIVE');
  e.ok('cspace_revoke_caps_from', e.C, db, 0n);
  assert.equal(err(e, 'object_activate_from', other, there, 0n), Err.CSPACE_CAP_REVOKED, 'revoked there');
});
