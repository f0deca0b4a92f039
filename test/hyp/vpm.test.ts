// Virtual PM groups (hypervisor-abi.md §2.9, §4.5).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Hypervisor } from '../../src/hyp/hypervisor.js';
import { NativeVcpu } from '../../src/hyp/vm/native.js';
import { Err } from '../../src/hyp/abi/errors.js';
import { equipVcpu } from './vcpu-kit.js';

function setup() {
  const hv = new Hypervisor();
  const vm = hv.createRootVm();
  const v = new NativeVcpu(hv, vm.thread);
  const P = vm.caps.partition;
  const C = vm.caps.cspace;
  const mk = (type: string): bigint => v.call(`partition_create_${type}`, P, C, 0n).x[1]!;
  /** The root cspace, a fresh addrspace and a VIC of its own for the INIT thread `t` (§4.5). */
  const prepare = (t: bigint): void => {
    v.call('cspace_attach_thread', C, t, 0n);
    equipVcpu(v, P, C, t);
  };
  return { hv, v, C, mk, prepare };
}

test('§2.9: vpm_group_configure answers UNIMPLEMENTED for unknown flag bits before looking at the cap, accepts no_aggregation in INIT', () => {
  const { v, mk } = setup();
  assert.equal(v.call('vpm_group_configure', 999n, 2n, 0n).e, Err.UNIMPLEMENTED);
  const g = mk('vpm_group');
  assert.equal(v.call('vpm_group_configure', g, 1n, 0n).e, Err.OK);
  assert.equal(v.call('object_activate', g, 0n).e, Err.OK);
  assert.equal(v.call('vpm_group_configure', g, 1n, 0n).e, Err.OBJECT_STATE);
});

test("§2.9/§4.5: attach needs an ACTIVE group and an INIT vcpu, index < 8; a taken index makes the second vcpu's activation DENIED", () => {
  const { v, mk, prepare } = setup();
  const g = mk('vpm_group');
  const t1 = mk('thread');
  assert.equal(v.call('vpm_group_attach_vcpu', g, t1, 0n, 0n).e, Err.OBJECT_STATE, 'group not active');
  v.call('object_activate', g, 0n);
  assert.equal(v.call('vpm_group_attach_vcpu', g, t1, 8n, 0n).e, Err.ARGUMENT_INVALID);
  assert.equal(v.call('vpm_group_attach_vcpu', g, t1, 1n, 0n).e, Err.OK);
  const t2 = mk('thread');
  assert.equal(v.call('vpm_group_attach_vcpu', g, t2, 1n, 0n).e, Err.OK, 'the index is only claimed at activation');
  for (const t of [t1, t2]) prepare(t);
  assert.equal(v.call('object_activate', t1, 0n).e, Err.OK);
  assert.equal(v.call('object_activate', t2, 0n).e, Err.DENIED);
  assert.equal(v.call('vpm_group_attach_vcpu', g, t1, 2n, 0n).e, Err.OBJECT_STATE, 'vcpu no longer INIT');
});

test('§2.9: vpm_group_get_state is CPUS_SUSPENDED while every attached vcpu is off, RUNNING once one is powered on', () => {
  const { v, C, mk, prepare } = setup();
  const g = mk('vpm_group');
  v.call('object_activate', g, 0n);
  const t = mk('thread');
  v.call('vpm_group_attach_vcpu', g, t, 0n, 0n);
  prepare(t);
  assert.equal(v.call('object_activate', t, 0n).e, Err.OK);
  assert.deepEqual([v.call('vpm_group_get_state', g, 0n).e, v.call('vpm_group_get_state', g, 0n).x[1]], [Err.OK, 2n]);
  v.call('vcpu_poweron', t, 0x1000n, 0n, 0n);
  assert.equal(v.call('vpm_group_get_state', g, 0n).x[1], 1n);
  const noQuery = v.call('cspace_copy_cap_from', C, g, C, 0x1n, 0n).x[1]!;
  assert.equal(v.call('vpm_group_get_state', noQuery, 0n).e, Err.CSPACE_INSUFFICIENT_RIGHTS);
});
