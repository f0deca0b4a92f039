// VCPU configuration and power (hypervisor-abi.md §2.8, §4.2, §8.1), through hypercalls.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Hypervisor } from '../../src/hyp/hypervisor.js';
import { NativeVcpu } from '../../src/hyp/vm/native.js';
import { Err } from '../../src/hyp/abi/errors.js';
import { RunState, type Thread } from '../../src/hyp/vm/thread.js';

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
  const activate = (t: bigint): void => {
    assert.equal(v.call('cspace_attach_thread', C, t, 0n).e, Err.OK);
    assert.equal(v.call('object_activate', t, 0n).e, Err.OK);
  };
  const obj = (id: bigint): Thread => vm.cspace.lookup<Thread>(id, 'thread', 0, false) as Thread;
  return { hv, vm, v, P, C, newVcpu, activate, obj };
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
  const { v, C, newVcpu, activate, obj } = setup();
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
