// VCPU configuration and power (hypervisor-abi.md §2.8, §4.2, §8.1), through hypercalls.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Hypervisor } from '../../src/hyp/hypervisor.js';
import { NativeVcpu } from '../../src/hyp/vm/native.js';
import { Err } from '../../src/hyp/abi/errors.js';
import { RunState, Thread } from '../../src/hyp/vm/thread.js';
import { Partition } from '../../src/hyp/core/partition.js';
import { equipVcpu, freshVic, type EquipOptions, type VcpuKit } from './vcpu-kit.js';

const ONES = 0xffff_ffff_ffff_ffffn;

function setup() {
  const hv = new Hypervisor();
  const vm = hv.createRootVm();
  const v = new NativeVcpu(hv, vm.thread);
  const P = vm.caps.partition;
  const C = vm.caps.cspace;
  const newVcpu = (): bigint => {
    const r = v.call('partition_create_thread', P, C, 0n);
    assert.equal(r.e, Err.OK);
    return r.x[1]!;
  };
  /** An addrspace and a VIC for the INIT thread `t` (§4.5), or the given ones. */
  const equip = (t: bigint, opts?: EquipOptions): VcpuKit => equipVcpu(v, P, C, t, opts);
  /** Give `t` everything §4.5 requires (its cspace is the root's) and activate it. */
  const activate = (t: bigint): void => {
    assert.equal(v.call('cspace_attach_thread', C, t, 0n).e, Err.OK);
    equip(t);
    assert.equal(v.call('object_activate', t, 0n).e, Err.OK);
  };
  const obj = (id: bigint): Thread => vm.cspace.lookup<Thread>(id, 'thread', 0, false) as Thread;
  return { hv, vm, v, P, C, newVcpu, equip, activate, obj };
}

test('§8.1: vcpu_configure rejects unknown option bits before the cap lookup, and needs an INIT vcpu', () => {
  const { v, newVcpu, activate } = setup();
  assert.equal(
    v.call('vcpu_configure', 999n, 1n << 6n, 0n).e,
    Err.ARGUMENT_INVALID,
    'bit 6 is not an option; checked before the bad cap',
  );
  const t = newVcpu();
  assert.equal(v.call('vcpu_configure', t, (1n << 9n) | (1n << 63n), 0n).e, Err.OK);
  assert.equal(v.call('vcpu_set_affinity', t, 1n, ONES).e, Err.OK, 'an HLOS vCPU needs an affinity (§8.1)');
  activate(t);
  assert.equal(v.call('vcpu_configure', t, 0n, 0n).e, Err.OBJECT_STATE);
});

test('§8.2: priorities 0..62 are accepted in INIT; 63 and above are DENIED; after activation OBJECT_STATE', () => {
  const { v, newVcpu, activate, obj } = setup();
  const t = newVcpu();
  assert.equal(obj(t).priority, 32, 'default 32');
  assert.equal(v.call('vcpu_set_priority', t, 62n).e, Err.OK);
  assert.equal(v.call('vcpu_set_priority', t, 63n).e, Err.DENIED);
  assert.equal(obj(t).priority, 62);
  activate(t);
  assert.equal(v.call('vcpu_set_priority', t, 10n).e, Err.OBJECT_STATE);
});

test('§8.2: timeslices must lie in [100 µs, 100 ms] (ns), default 5 ms', () => {
  const { v, newVcpu, obj } = setup();
  const t = newVcpu();
  assert.equal(obj(t).timesliceNs, 5_000_000n);
  assert.equal(v.call('vcpu_set_timeslice', t, 99_999n).e, Err.ARGUMENT_INVALID);
  assert.equal(v.call('vcpu_set_timeslice', t, 100_000_001n).e, Err.ARGUMENT_INVALID);
  assert.equal(v.call('vcpu_set_timeslice', t, 100_000n).e, Err.OK);
  assert.equal(v.call('vcpu_set_timeslice', t, 100_000_000n).e, Err.OK);
});

test('§2.8: vcpu_set_affinity takes CPUs 0..7 (res1 in x2), 0xFFFF needs the disable right, pinned vcpus cannot move once active', () => {
  const { v, C, newVcpu, equip, activate, obj } = setup();
  const t = newVcpu();
  assert.equal(v.call('vcpu_set_affinity', t, 3n, 0n).e, Err.ARGUMENT_INVALID, 'x2 must be all-ones');
  assert.equal(v.call('vcpu_set_affinity', t, 8n, ONES).e, Err.ARGUMENT_INVALID);
  assert.equal(v.call('vcpu_set_affinity', t, 3n, ONES).e, Err.OK);
  assert.equal(obj(t).affinity, 3);
  const noDisable = v.call('cspace_copy_cap_from', C, t, C, 0x2n, 0n).x[1]!;
  assert.equal(v.call('vcpu_set_affinity', noDisable, 0xffffn, ONES).e, Err.CSPACE_INSUFFICIENT_RIGHTS);
  assert.equal(v.call('vcpu_set_affinity', noDisable, 1n, ONES).e, Err.OK, 'affinity right alone moves it');
  assert.equal(v.call('vcpu_set_affinity', t, 0xffffn, ONES).e, Err.OK);
  const p = newVcpu();
  assert.equal(v.call('vcpu_configure', p, 1n, 0n).e, Err.OK);
  assert.equal(v.call('cspace_attach_thread', C, p, 0n).e, Err.OK);
  equip(p);
  assert.equal(v.call('object_activate', p, 0n).e, Err.OBJECT_CONFIG, 'pinned without affinity');
  const q = newVcpu();
  v.call('vcpu_configure', q, 1n, 0n);
  v.call('vcpu_set_affinity', q, 2n, ONES);
  activate(q);
  assert.equal(v.call('vcpu_set_affinity', q, 4n, ONES).e, Err.DENIED);
});

test('§8.1: vcpu_register_write sets X0..X30, a 4-byte-aligned PC and 16-byte-aligned SP_EL0/1 while powered off', () => {
  const { v, newVcpu, activate, obj } = setup();
  const t = newVcpu();
  activate(t);
  assert.equal(v.call('vcpu_register_write', t, 0n, 30n, 0x1234n, 0n).e, Err.OK);
  assert.equal(v.call('vcpu_register_write', t, 0n, 31n, 1n, 0n).e, Err.ARGUMENT_INVALID);
  assert.equal(v.call('vcpu_register_write', t, 1n, 0n, 0x8000_0002n, 0n).e, Err.ARGUMENT_INVALID, 'misaligned PC');
  assert.equal(v.call('vcpu_register_write', t, 1n, 0n, 0x8000_0000n, 0n).e, Err.OK);
  assert.equal(v.call('vcpu_register_write', t, 2n, 1n, 0x9000_0008n, 0n).e, Err.ARGUMENT_INVALID, 'misaligned SP');
  assert.equal(v.call('vcpu_register_write', t, 2n, 1n, 0x9000_0010n, 0n).e, Err.OK);
  assert.equal(v.call('vcpu_register_write', t, 3n, 0n, 0n, 0n).e, Err.ARGUMENT_INVALID, 'no register set 3');
  const o = obj(t);
  assert.deepEqual([o.regs[30], o.pc, o.spEl1], [0x1234n, 0x8000_0000n, 0x9000_0010n]);
  assert.equal(v.call('vcpu_poweron', t, 0x8000_1000n, 0x55n, 0n).e, Err.OK);
  assert.equal(v.call('vcpu_register_write', t, 0n, 0n, 1n, 0n).e, Err.BUSY, 'powered on');
});

test('§8.1: vcpu_poweron sets PC = entry and X0 = context (unless preserved), rejects unknown flags, BUSY when on, FAILURE when killed', () => {
  const { v, newVcpu, activate, obj } = setup();
  const t = newVcpu();
  activate(t);
  assert.equal(v.call('vcpu_poweron', t, 0x1000n, 7n, 4n).e, Err.ARGUMENT_INVALID);
  v.call('vcpu_register_write', t, 1n, 0n, 0x2000n, 0n);
  assert.equal(v.call('vcpu_poweron', t, 0x1000n, 7n, 1n).e, Err.OK, 'preserve_entry');
  assert.equal(obj(t).pc, 0x2000n);
  assert.equal(obj(t).regs[0], 7n);
  assert.equal(v.call('vcpu_poweron', t, 0x1000n, 7n, 0n).e, Err.BUSY);
  assert.equal(v.call('vcpu_kill', t, 0n).e, Err.OK);
  assert.equal(obj(t).runState, RunState.KILLED);
  assert.equal(v.call('vcpu_kill', t, 0n).e, Err.OK, 'killing again is OK');
  const u = newVcpu();
  assert.equal(v.call('vcpu_kill', u, 0n).e, Err.OBJECT_STATE, 'not yet activated');
});

test('§8.1: vcpu_poweroff works only on the calling vcpu, and outside a vpm_group only with last_vcpu set', () => {
  const { v, vm, newVcpu, activate, obj } = setup();
  const t = newVcpu();
  activate(t);
  assert.equal(v.call('vcpu_poweroff', t, 1n).e, Err.ARGUMENT_INVALID, 'not the caller');
  const self = vm.caps.vcpu;
  assert.equal(obj(self).poweredOff, false, 'the root vcpu runs from boot');
  assert.equal(v.call('vcpu_poweroff', self, 0n).e, Err.DENIED);
  assert.equal(v.call('vcpu_poweroff', self, 1n).e, Err.OK);
  assert.equal(obj(self).poweredOff, true);
});

test('§4.2: an activated vcpu holds a reference to itself: deleting its caps does not destroy it until it exits', () => {
  const { hv, v, C, newVcpu, activate, obj } = setup();
  const before = hv.liveOf('thread').length;
  const t = newVcpu();
  activate(t);
  const o = obj(t);
  assert.equal(v.call('cspace_delete_cap_from', C, t, 0n).e, Err.OK);
  assert.equal(hv.liveOf('thread').length, before + 1);
  o.exit();
  assert.equal(hv.liveOf('thread').length, before);
});

// ------------------------------------------------------------------ activation prerequisites (§4.5)

/** A vCPU activation attempt: the thread's error, and whether it is then FAILED for good (§4.2). */
function activation(v: NativeVcpu, t: bigint): { e: number; again: number } {
  const e = v.call('object_activate', t, 0n).e;
  return { e, again: v.call('object_activate', t, 0n).e };
}

test('§4.5: a vCPU with a cspace, an addrspace and a VIC activates READY and powered off; each one missing alone fails it for good (OBJECT_CONFIG, OBJECT_CONFIG, ARGUMENT_INVALID)', () => {
  const { v, C, newVcpu, equip, obj } = setup();
  const good = newVcpu();
  v.call('cspace_attach_thread', C, good, 0n);
  equip(good);
  assert.deepEqual(activation(v, good), { e: Err.OK, again: Err.OBJECT_STATE });
  assert.equal(obj(good).runState, RunState.READY);
  assert.equal(obj(good).poweredOff, true, 'a new vCPU starts powered off');

  const noCspace = newVcpu();
  equip(noCspace);
  assert.deepEqual(activation(v, noCspace), { e: Err.OBJECT_CONFIG, again: Err.OBJECT_STATE }, 'no cspace');
  assert.equal(obj(noCspace).runState, RunState.INIT, 'a failed vCPU never becomes READY');

  const noAddrspace = newVcpu();
  v.call('cspace_attach_thread', C, noAddrspace, 0n);
  v.call('vic_attach_vcpu', equip(newVcpu()).vic!, noAddrspace, 0n, 0n);
  assert.deepEqual(activation(v, noAddrspace), { e: Err.OBJECT_CONFIG, again: Err.OBJECT_STATE }, 'no addrspace');

  const noVic = newVcpu();
  v.call('cspace_attach_thread', C, noVic, 0n);
  equip(noVic, { vic: null });
  assert.deepEqual(activation(v, noVic), { e: Err.ARGUMENT_INVALID, again: Err.OBJECT_STATE }, 'no VIC');
  assert.equal(obj(noVic).runState, RunState.INIT);
});

test('§4.5/§11.3: an affinity naming a CPU that does not exist (≥ PLATFORM_MAX_CORES = 8) fails activation with OBJECT_CONFIG; CPU 7 is the last valid one', () => {
  // vcpu_set_affinity refuses CPU 8 (ARGUMENT_INVALID, §2.8), so the way to an activation with
  // one is the root VM's boot CPU: the hypervisor gives the root vCPU that affinity (§11.1).
  assert.throws(
    () => new Hypervisor().createRootVm({ bootCore: 8 }),
    new RegExp(`root vCPU activate failed \\(error ${Err.OBJECT_CONFIG}\\)`),
  );
  const vm = new Hypervisor().createRootVm({ bootCore: 7 });
  assert.equal(vm.thread.affinity, 7);
  assert.equal(vm.thread.runState, RunState.READY);
});

test('§4.5/§8.1: pinned needs a valid affinity at activation (OBJECT_CONFIG without), and activates with one', () => {
  const { v, C, newVcpu, equip } = setup();
  const p = newVcpu();
  v.call('vcpu_configure', p, 1n, 0n);
  v.call('cspace_attach_thread', C, p, 0n);
  equip(p);
  assert.deepEqual(activation(v, p), { e: Err.OBJECT_CONFIG, again: Err.OBJECT_STATE });
  const q = newVcpu();
  v.call('vcpu_configure', q, 1n, 0n);
  assert.equal(v.call('vcpu_set_affinity', q, 7n, ONES).e, Err.OK);
  v.call('cspace_attach_thread', C, q, 0n);
  equip(q);
  assert.equal(v.call('object_activate', q, 0n).e, Err.OK);
});

test('§4.5/§8.1: critical (bit 8) and hlos_vm (bit 63) need a privileged partition: vCPUs of the root partition activate with them, an unprivileged partition’s fail OBJECT_CONFIG', () => {
  const { hv, vm, v, C, newVcpu, equip } = setup();
  // The root partition is privileged (§11.1).
  for (const opt of [1n << 8n, 1n << 63n]) {
    const t = newVcpu();
    assert.equal(v.call('vcpu_configure', t, opt, 0n).e, Err.OK);
    // An HLOS vCPU also needs a valid affinity (§8.1).
    assert.equal(v.call('vcpu_set_affinity', t, 1n, ONES).e, Err.OK);
    v.call('cspace_attach_thread', C, t, 0n);
    equip(t);
    assert.equal(v.call('object_activate', t, 0n).e, Err.OK, `root partition, option ${opt}`);
  }
  // This build has no partition_create_partition (§2.1: unimplemented), so no hypercall makes an
  // unprivileged partition. The thread such a partition's partition_create_thread would make is
  // built here instead — the object and its master cap in the root cspace; everything after is
  // hypercalls.
  const unprivileged = hv.adopt(new Partition(hv, false));
  const threadOf = (opts: bigint): bigint => {
    const cap = vm.cspace.createMasterCap(hv.adopt(new Thread(hv, unprivileged)));
    assert.equal(typeof cap, 'bigint');
    const t = cap as bigint;
    assert.equal(v.call('vcpu_configure', t, opts, 0n).e, Err.OK);
    v.call('cspace_attach_thread', C, t, 0n);
    equip(t);
    return t;
  };
  assert.deepEqual(activation(v, threadOf(1n << 8n)), { e: Err.OBJECT_CONFIG, again: Err.OBJECT_STATE }, 'critical');
  assert.deepEqual(activation(v, threadOf(1n << 63n)), { e: Err.OBJECT_CONFIG, again: Err.OBJECT_STATE }, 'hlos_vm');
  // Other options are anyone's: pinned (with an affinity) and vcpu_run_scheduled.
  const plain = threadOf((1n << 0n) | (1n << 9n));
  v.call('vcpu_set_affinity', plain, 1n, ONES);
  assert.equal(v.call('object_activate', plain, 0n).e, Err.OK, 'no privileged option');
});

test('§4.5: a VIC index held by an active vCPU makes the next one BUSY; a vpm_group index taken makes it DENIED; a failed claim leaves the other index free', () => {
  const { v, P, C, newVcpu, equip } = setup();
  const vic = freshVic(v, P, C, 2);
  const g = v.call('partition_create_vpm_group', P, C, 0n).x[1]!;
  v.call('object_activate', g, 0n);
  const make = (vicIndex: number, vpmIndex: number | null): bigint => {
    const t = newVcpu();
    v.call('cspace_attach_thread', C, t, 0n);
    equip(t, { vic, vicIndex });
    if (vpmIndex !== null) assert.equal(v.call('vpm_group_attach_vcpu', g, t, BigInt(vpmIndex), 0n).e, Err.OK);
    return t;
  };
  assert.equal(v.call('object_activate', make(0, 0), 0n).e, Err.OK, 'VIC index 0, vpm index 0');
  assert.deepEqual(activation(v, make(0, 1)), { e: Err.BUSY, again: Err.OBJECT_STATE }, 'VIC index 0 again');
  assert.deepEqual(activation(v, make(1, 0)), { e: Err.DENIED, again: Err.OBJECT_STATE }, 'vpm index 0 again');
  // Neither failure kept the index it did get: VIC index 1 (lost by the DENIED one) and vpm
  // index 1 (free when the BUSY one failed) are both still free.
  assert.equal(v.call('object_activate', make(1, 1), 0n).e, Err.OK);
});

test('§4.5 order [infer: the table’s listing order]: OBJECT_CONFIG before BUSY before DENIED before ARGUMENT_INVALID (no VIC), with nothing claimed by a failure', () => {
  const { v, P, C, newVcpu, equip } = setup();
  const vic = freshVic(v, P, C, 2);
  const g = v.call('partition_create_vpm_group', P, C, 0n).x[1]!;
  v.call('object_activate', g, 0n);
  /** A thread in the root cspace; `as` false: no addrspace; vicIndex null: no VIC. */
  const make = (o: { as?: boolean; vicIndex?: number | null; vpm?: number; pinned?: boolean }): bigint => {
    const t = newVcpu();
    if (o.pinned) v.call('vcpu_configure', t, 1n, 0n);
    v.call('cspace_attach_thread', C, t, 0n);
    if (o.as !== false) equip(t, { vic: null });
    const vicIndex = o.vicIndex === undefined ? 0 : o.vicIndex;
    if (vicIndex !== null) v.call('vic_attach_vcpu', vic, t, BigInt(vicIndex), 0n);
    if (o.vpm !== undefined) v.call('vpm_group_attach_vcpu', g, t, BigInt(o.vpm), 0n);
    return t;
  };
  // VIC index 0 and vpm index 0 held by an active vCPU.
  assert.equal(v.call('object_activate', make({ vpm: 0 }), 0n).e, Err.OK);
  const cases: [string, Parameters<typeof make>[0], number][] = [
    ['no addrspace + VIC index taken', { as: false, vicIndex: 0 }, Err.OBJECT_CONFIG],
    ['pinned without affinity + VIC index taken', { pinned: true, vicIndex: 0 }, Err.OBJECT_CONFIG],
    ['no addrspace + vpm index taken', { as: false, vicIndex: 1, vpm: 0 }, Err.OBJECT_CONFIG],
    ['pinned without affinity + no VIC', { pinned: true, vicIndex: null }, Err.OBJECT_CONFIG],
    ['VIC index taken + vpm index taken', { vicIndex: 0, vpm: 0 }, Err.BUSY],
    ['VIC index taken, vpm index free', { vicIndex: 0, vpm: 1 }, Err.BUSY],
    ['vpm index taken + no VIC', { vicIndex: null, vpm: 0 }, Err.DENIED],
    ['no VIC, vpm index free', { vicIndex: null, vpm: 1 }, Err.ARGUMENT_INVALID],
    ['no VIC, no vpm_group', { vicIndex: null }, Err.ARGUMENT_INVALID],
  ];
  for (const [what, o, e] of cases) assert.equal(v.call('object_activate', make(o), 0n).e, e, what);
  // None of the failures kept a claim: VIC index 1 and vpm index 1 are free.
  assert.equal(v.call('object_activate', make({ vicIndex: 1, vpm: 1 }), 0n).e, Err.OK);
});

test('§4.5/§4.2: a vCPU that failed activation is freed with its last cap, and drops its addrspace and VIC with it (no leak)', () => {
  const { hv, v, C, newVcpu, equip } = setup();
  const types = ['thread', 'addrspace', 'vic'];
  const before = types.map((ty) => hv.liveOf(ty).length);
  const t = newVcpu();
  const kit = equip(t); // no cspace: OBJECT_CONFIG
  assert.equal(v.call('object_activate', t, 0n).e, Err.OBJECT_CONFIG);
  for (const cap of [kit.addrspace, kit.vic!]) assert.equal(v.call('cspace_delete_cap_from', C, cap, 0n).e, Err.OK);
  assert.deepEqual(
    types.map((ty) => hv.liveOf(ty).length),
    before.map((n) => n + 1),
    'the thread holds its addrspace and VIC',
  );
  assert.equal(v.call('cspace_delete_cap_from', C, t, 0n).e, Err.OK);
  assert.deepEqual(
    types.map((ty) => hv.liveOf(ty).length),
    before,
    'all gone with the thread: a failed vCPU holds no self-reference',
  );
});

test('§8.1: hlos_vm needs a valid affinity and one HLOS vCPU per CPU, and implies critical; sve_allowed fails here (no SVE in this CPU)', () => {
  const { v, C, newVcpu, equip, obj } = setup();
  const HLOS = 1n << 63n;
  const SVE = 1n << 3n;
  const CRITICAL = 1n << 8n;
  const make = (opts: bigint, cpu: bigint | null): bigint => {
    const t = newVcpu();
    assert.equal(v.call('vcpu_configure', t, opts, 0n).e, Err.OK);
    if (cpu !== null) assert.equal(v.call('vcpu_set_affinity', t, cpu, ONES).e, Err.OK);
    v.call('cspace_attach_thread', C, t, 0n);
    equip(t);
    return t;
  };
  assert.equal(v.call('object_activate', make(HLOS, null), 0n).e, Err.OBJECT_CONFIG, 'no affinity');
  const first = make(HLOS, 2n);
  assert.equal(v.call('object_activate', first, 0n).e, Err.OK);
  assert.equal(obj(first).options & CRITICAL, CRITICAL, 'activation made it critical');
  assert.equal(v.call('object_activate', make(HLOS, 2n), 0n).e, Err.OBJECT_CONFIG, 'CPU 2 already has one');
  assert.equal(v.call('object_activate', make(HLOS, 3n), 0n).e, Err.OK, 'CPU 3 is free');
  assert.equal(v.call('object_activate', make(HLOS | SVE, 4n), 0n).e, Err.OBJECT_CONFIG, 'SVE is absent');
  assert.equal(v.call('object_activate', make(SVE, 4n), 0n).e, Err.OBJECT_CONFIG, 'sve_allowed without hlos_vm');
  // The slot frees when the HLOS vCPU goes.
  assert.equal(v.call('cspace_delete_cap_from', C, first, 0n).e, Err.OK);
});
