// Shared setup for the memory tests: a root VM on a small machine, driven through hypercalls from
// its native vCPU. Helpers only make calls a resource manager would make; object inspection is
// limited to what the tests say they inspect (ownership, stage-2 contents, leak counts).

import assert from 'node:assert/strict';
import { Hypervisor } from '../../src/hyp/hypervisor.js';
import { NativeVcpu } from '../../src/hyp/vm/native.js';
import { Err, errorName } from '../../src/hyp/abi/errors.js';
import type { Thread } from '../../src/hyp/vm/thread.js';
import type { HypObject } from '../../src/hyp/core/object.js';
import { equipVcpu, freshVic } from './vcpu-kit.js';
import {
  MEMEXTENT_MEMTYPE as MT,
  MEMEXTENT_TYPE as KIND,
  PGTABLE_ACCESS as ACC,
  VM_MEMTYPE,
  encodeExtentAttrs,
  mappingAttrs,
} from '../../src/hyp/mem/attrs.js';

export const RAM_BASE = 0x4000_0000;
export const MiB = 1024 * 1024;
export const PAGE = 0x1000n;

/** RW, memtype ANY, BASIC / SPARSE extent attributes. */
export const BASIC_RW = encodeExtentAttrs(ACC.RW, MT.ANY, KIND.BASIC);
export const BASIC_RWX = encodeExtentAttrs(ACC.RWX, MT.ANY, KIND.BASIC);
export const SPARSE_RWX = encodeExtentAttrs(ACC.RWX, MT.ANY, KIND.SPARSE);
/** Mapping attributes: user and kernel RW / RWX / R, normal write-back. */
export const MAP_RW = mappingAttrs(ACC.RW, ACC.RW, VM_MEMTYPE.NORMAL_WB);
export const MAP_RWX = mappingAttrs(ACC.RWX, ACC.RWX, VM_MEMTYPE.NORMAL_WB);
export const MAP_R = mappingAttrs(ACC.R, ACC.R, VM_MEMTYPE.NORMAL_WB);

export interface RootOptions {
  ramSize?: number;
}

export function root(opts: RootOptions = {}) {
  const ramSize = opts.ramSize ?? 16 * MiB;
  // RM region: the top 64 KiB of RAM.
  const hv = new Hypervisor({
    memory: { base: RAM_BASE, size: ramSize, rmRegion: { base: RAM_BASE + ramSize - 0x1_0000, size: 0x1_0000 } },
  });
  const vm = hv.createRootVm();
  const v = new NativeVcpu(hv, vm.thread);
  const P = vm.caps.partition;
  const C = vm.caps.cspace;

  /** Make a call that must succeed; returns x1..x7. */
  const ok = (name: string, ...args: bigint[]): bigint[] => {
    const r = v.call(name, ...args);
    assert.equal(r.e, Err.OK, `${name} → ${errorName(r.e)}`);
    return r.x.slice(1);
  };
  /** The error of a call. */
  const err = (name: string, ...args: bigint[]): number => v.call(name, ...args).e;
  const create = (type: string): bigint => ok(`partition_create_${type}`, P, C, 0n)[0]!;
  /** The object a root cap names (inspection). */
  const obj = <T extends HypObject>(cap: bigint): T => {
    for (const [id, c] of vm.cspace.entries()) if (id === cap) return c.obj as T;
    throw new Error(`no cap ${cap}`);
  };

  /** A configured and activated extent over [phys, phys + size). */
  const extent = (phys: bigint, size: bigint, attrs = BASIC_RW): bigint => {
    const me = create('memextent');
    ok('memextent_configure', me, phys, size, BigInt(attrs), 0n);
    ok('object_activate', me, 0n);
    return me;
  };
  /** A derived, activated extent. */
  const derive = (parent: bigint, offset: bigint, size: bigint, attrs = BASIC_RW): bigint => {
    const me = create('memextent');
    ok('memextent_configure_derive', me, parent, offset, size, BigInt(attrs), 0n);
    ok('object_activate', me, 0n);
    return me;
  };
  let nextVmid = 1n;
  /** A configured and activated addrspace (fresh VMID). */
  const addrspace = (vmid = nextVmid++): bigint => {
    const as = create('addrspace');
    ok('addrspace_configure', as, vmid, 0n);
    ok('object_activate', as, 0n);
    return as;
  };
  /** A configured, activated one-vCPU VIC. */
  const vic = (): bigint => freshVic(v, P, C);
  /** A vCPU in the root cspace attached to `as` and to a VIC of its own (§4.5), activated, with a native driver. */
  const vcpu = (as: bigint): { cap: bigint; thread: Thread; v: NativeVcpu } => {
    const t = create('thread');
    ok('cspace_attach_thread', C, t, 0n);
    equipVcpu(v, P, C, t, { addrspace: as });
    ok('object_activate', t, 0n);
    const thread = obj<Thread>(t);
    return { cap: t, thread, v: new NativeVcpu(hv, thread) };
  };
  /** A copy of `cap` in the root cspace with rights `mask`. */
  const copy = (cap: bigint, mask: number): bigint => ok('cspace_copy_cap_from', C, cap, C, BigInt(mask), 0n)[0]!;

  return { hv, vm, v, P, C, ok, err, create, obj, extent, derive, addrspace, vic, vcpu, copy };
}

/** PA of RAM page `n`. */
export const ramPage = (n: number): bigint => BigInt(RAM_BASE) + BigInt(n) * PAGE;
