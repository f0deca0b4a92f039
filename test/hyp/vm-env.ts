// A VM built by the root VM through hypercalls only, for tests that run guest code on emulated
// vCPUs (hypervisor-abi.md §12: memextent, addrspace, VIC, vpm_group, threads). Guest code is
// placed in the VM's memory directly (loading images is the RM's job in later layers).

import assert from 'node:assert/strict';
import { Hypervisor } from '../../src/hyp/hypervisor.js';
import { NativeVcpu } from '../../src/hyp/vm/native.js';
import { HypSystem } from '../../src/hyp/system.js';
import { Err } from '../../src/hyp/abi/errors.js';
import type { Thread } from '../../src/hyp/vm/thread.js';

export const ONES = 0xffff_ffff_ffff_ffffn;
export const GUEST_PA = 0x4100_0000;
export const GUEST_IPA = 0x8000_0000n;
export const GUEST_SIZE = 0x10_0000;
const RWX = 7n;
/** user RWX, kernel RWX, NORMAL_WB (§10.2). */
export const MAP_ATTRS = 7n | (7n << 4n) | (15n << 16n);
export const VCPU_OPTION_PROXY = 1n << 9n;

export interface VmOptions {
  vcpus?: number;
  /** Physical CPUs of the system. */
  pcpus?: number;
  /** Put the vCPUs in a vpm_group (PSCI). */
  vpm?: boolean;
  /** vcpu_configure options for every vCPU. */
  vcpuOptions?: bigint;
  /** vic_configure options (default 0: the fixed legacy GIC addresses answer). */
  vicOptions?: bigint;
  /** Affinity of every vCPU (default: vCPU i on physical CPU i mod pcpus). */
  affinity?: (i: number) => bigint;
  /** IPA of the VM's memory (default GUEST_IPA) and its size (default GUEST_SIZE). */
  ipa?: bigint;
  size?: number;
  /** Code words at offset 0 and, keyed by offset, elsewhere in the VM's memory. */
  code?: Record<number, readonly number[]>;
}

export function ok(r: { e: number; x: bigint[] }, what: string): bigint {
  assert.equal(r.e, Err.OK, what);
  return r.x[1]!;
}

export function buildVm(o: VmOptions = {}) {
  const nv = o.vcpus ?? 1;
  const pcpus = o.pcpus ?? 1;
  const hv = new Hypervisor();
  const root = hv.createRootVm();
  const v = new NativeVcpu(hv, root.thread);
  const { partition: P, cspace: C } = root.caps;
  const mk = (type: string): bigint => ok(v.call(`partition_create_${type}`, P, C, 0n), `create ${type}`);
  const me = mk('memextent');
  ok(v.call('memextent_configure', me, BigInt(GUEST_PA), BigInt(o.size ?? GUEST_SIZE), RWX, 0n), 'memextent_configure');
  ok(v.call('object_activate', me, 0n), 'activate memextent');
  const as = mk('addrspace');
  ok(v.call('addrspace_configure', as, 10n, 0n), 'addrspace_configure');
  ok(v.call('object_activate', as, 0n), 'activate addrspace');
  ok(v.call('addrspace_map', as, me, o.ipa ?? GUEST_IPA, MAP_ATTRS, 0n, 0n, 0n), 'addrspace_map');
  const vic = mk('vic');
  ok(v.call('vic_configure', vic, BigInt(nv), 32n, o.vicOptions ?? 0n, 0n), 'vic_configure');
  ok(v.call('object_activate', vic, 0n), 'activate vic');
  let vpm = 0n;
  if (o.vpm) {
    vpm = mk('vpm_group');
    ok(v.call('vpm_group_configure', vpm, 0n, 0n), 'vpm_group_configure');
    ok(v.call('object_activate', vpm, 0n), 'activate vpm_group');
  }
  const threads: bigint[] = [];
  for (let i = 0; i < nv; i++) {
    const t = mk('thread');
    if (o.vcpuOptions) ok(v.call('vcpu_configure', t, o.vcpuOptions, 0n), 'vcpu_configure');
    const aff = o.affinity ? o.affinity(i) : BigInt(i % pcpus);
    ok(v.call('vcpu_set_affinity', t, aff, ONES), 'affinity');
    ok(v.call('cspace_attach_thread', C, t, 0n), 'cspace_attach_thread');
    ok(v.call('addrspace_attach_thread', as, t, 0n), 'addrspace_attach_thread');
    ok(v.call('vic_attach_vcpu', vic, t, BigInt(i), 0n), 'vic_attach_vcpu');
    if (o.vpm) ok(v.call('vpm_group_attach_vcpu', vpm, t, BigInt(i), 0n), 'vpm_group_attach_vcpu');
    ok(v.call('object_activate', t, 0n), 'activate thread');
    threads.push(t);
  }
  const ram = hv.mem.phys.bytes;
  const dv = new DataView(ram.buffer, ram.byteOffset);
  const base = GUEST_PA - hv.mem.phys.base;
  for (const [off, words] of Object.entries(o.code ?? {})) {
    words.forEach((w, k) => dv.setUint32(base + Number(off) + 4 * k, w, true));
  }
  const sys = new HypSystem(hv, pcpus);
  const objs = threads.map((t) => root.cspace.lookup<Thread>(t, 'thread', 0, false) as Thread);
  objs.forEach((t) => sys.addEmulated(t));
  /** Read a u64 of guest memory at byte offset `off` from the VM's IPA base. */
  const peek = (off: number): bigint => dv.getBigUint64(base + off, true);
  return { hv, root, v, sys, P, C, me, as, vic, vpm, threads, objs, dv, base, peek, mk };
}
