// A minimal valid vCPU for tests and benches (no tests here). §4.5 lets a thread activate only with
// a cspace, an addrspace and a VIC; tests about something else (cspaces, scheduling, IPC...) give
// their threads the last two through `equipVcpu`, by hypercalls from a native vCPU, as a resource
// manager would. The cspace stays the caller's business: it is what many tests are about.

import { Err, errorName } from '../../src/hyp/abi/errors.js';
import type { Hypervisor } from '../../src/hyp/hypervisor.js';
import type { NativeVcpu } from '../../src/hyp/vm/native.js';

/**
 * VMIDs for fresh addrspaces count down from here (per hypervisor): tests that configure VMIDs
 * themselves use small ones (1, 2, ..., 40) or the ends of the range (254, and 255 = the root VM).
 */
const FIRST_KIT_VMID = 200;
const nextVmid = new WeakMap<Hypervisor, number>();

function must(v: NativeVcpu, name: string, ...args: bigint[]): bigint[] {
  const r = v.call(name, ...args);
  if (r.e !== Err.OK) throw new Error(`vcpu-kit: ${name} failed: ${errorName(r.e)}`);
  return r.x;
}

/**
 * A configured, activated addrspace whose VMID no active addrspace holds. `v` makes the calls;
 * P is its cap to the partition, C its cap to the cspace that receives the new cap.
 */
export function freshAddrspace(v: NativeVcpu, P: bigint, C: bigint): bigint {
  for (let vmid = nextVmid.get(v.hv) ?? FIRST_KIT_VMID; vmid >= 1; vmid--) {
    const as = must(v, 'partition_create_addrspace', P, C, 0n)[1]!;
    must(v, 'addrspace_configure', as, BigInt(vmid), 0n);
    const e = v.call('object_activate', as, 0n).e;
    if (e === Err.OK) {
      nextVmid.set(v.hv, vmid - 1);
      return as;
    }
    // BUSY: the test took this VMID itself. The addrspace is FAILED for good (§4.2): drop it.
    if (e !== Err.BUSY) throw new Error(`vcpu-kit: addrspace activation failed: ${errorName(e)}`);
    must(v, 'cspace_delete_cap_from', C, as, 0n);
  }
  throw new Error('vcpu-kit: no free VMID left');
}

/** A configured, activated VIC (no fixed addresses needed: options 0). */
export function freshVic(v: NativeVcpu, P: bigint, C: bigint, maxVcpus = 1, maxVirqs = 64): bigint {
  const vic = must(v, 'partition_create_vic', P, C, 0n)[1]!;
  must(v, 'vic_configure', vic, BigInt(maxVcpus), BigInt(maxVirqs), 0n, 0n);
  must(v, 'object_activate', vic, 0n);
  return vic;
}

export interface EquipOptions {
  /** Attach the thread to this addrspace rather than to a fresh one. */
  addrspace?: bigint;
  /** Attach the thread to this VIC rather than to a fresh one-vCPU VIC; null: leave it without. */
  vic?: bigint | null;
  /** The thread's index in `vic` (default 0). */
  vicIndex?: number;
}

/** The caps (in C) of what `equipVcpu` attached. */
export interface VcpuKit {
  addrspace: bigint;
  vic: bigint | null;
}

/**
 * Give the INIT thread `t` (a cap `v` can use) an addrspace and a VIC, the §4.5 prerequisites
 * besides its cspace. Fresh objects get their caps in C (P: the partition cap).
 */
export function equipVcpu(v: NativeVcpu, P: bigint, C: bigint, t: bigint, opts: EquipOptions = {}): VcpuKit {
  const addrspace = opts.addrspace ?? freshAddrspace(v, P, C);
  must(v, 'addrspace_attach_thread', addrspace, t, 0n);
  const vic = opts.vic === undefined ? freshVic(v, P, C) : opts.vic;
  if (vic !== null) must(v, 'vic_attach_vcpu', vic, t, BigInt(opts.vicIndex ?? 0), 0n);
  return { addrspace, vic };
}
