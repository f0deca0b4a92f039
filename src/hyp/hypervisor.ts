// The hypervisor (EL2 in TypeScript): owns the objects, dispatches hypercalls for emulated and
// native vCPUs alike, and answers SMCCC calls (hypervisor-abi.md §1, §9.4). Mechanism only: it
// never decides who may have what — the resource manager does, through hypercalls.

import { Err } from './abi/errors.js';
import { HVC_BASE, SMCCC_HYPERCALL_BASE } from './abi/hypercalls.js';
import { Dispatcher, type Handler } from './dispatch.js';
import { HypObject, ObjState, resetObjectIds, type ObjectEvents } from './core/object.js';
import { Cspace } from './core/cspace.js';
import { Partition } from './core/partition.js';
import { Thread } from './vm/thread.js';
import { HANDLERS } from './calls/index.js';
import { GUNYAH_UID, HYP_API_INFO, SMCCC } from './abi/smccc.js';
import { HypMemory, type MemoryOptions } from './mem/memory.js';
import { buildRootMemory } from './mem/rootvm.js';
import type { Addrspace } from './mem/addrspace.js';
import type { MemExtent } from './mem/memextent.js';

const ALL_ONES = 0xffff_ffff_ffff_ffffn;

export interface RootVm {
  partition: Partition;
  cspace: Cspace;
  thread: Thread;
  /** The root addrspace (VMID 255), attached to the root vCPU. */
  addrspace: Addrspace;
  /** The RM memory extent, identity-mapped into the root addrspace (§11.1 item 6). */
  rmMemextent: MemExtent;
  /**
   * Cap IDs in the root cspace, in allocation order (§11.2: cspace 0, partition 1, vcpu 2, then
   * addrspace, RM memextent, device memextent, UART memextent — read them from here, don't
   * hardcode). The device and UART extents exist only when RAM lies above the device window.
   */
  caps: {
    cspace: bigint;
    partition: bigint;
    vcpu: bigint;
    addrspace: bigint;
    rmMemextent: bigint;
    deviceMemextent?: bigint;
    uartMemextent?: bigint;
  };
}

export interface HypervisorOptions {
  /** Physical RAM (default: 64 MiB at 0x4000_0000, allocated on first touch). */
  memory?: MemoryOptions;
  /** Hypercall handlers (default: every handler of this build). */
  handlers?: ReadonlyMap<string, Handler>;
}

export class Hypervisor implements ObjectEvents {
  readonly dispatcher: Dispatcher;
  /** Objects alive (created and not yet destroyed), for leak checks and inspection. */
  readonly live = new Set<HypObject>();
  /** Scheduler hooks: a VCPU was powered on, powered itself off, or was killed. */
  vcpuPoweredOn: ((t: Thread) => void) | null = null;
  vcpuPoweredOff: ((t: Thread) => void) | null = null;
  vcpuKilled: ((t: Thread) => void) | null = null;

  /** Physical memory, the memory database and the VMID table (§10). */
  readonly mem: HypMemory;

  constructor(opts: HypervisorOptions | ReadonlyMap<string, Handler> = {}) {
    resetObjectIds();
    const o: HypervisorOptions = opts instanceof Map ? { handlers: opts } : (opts as HypervisorOptions);
    this.mem = new HypMemory(o.memory);
    this.dispatcher = new Dispatcher(this, o.handlers ?? HANDLERS);
  }

  objectEvent(obj: HypObject, what: 'create' | 'activate' | 'activate-failed' | 'destroy'): void {
    if (what === 'create') this.live.add(obj);
    else if (what === 'destroy') this.live.delete(obj);
  }

  /** Register a new object (every constructor path goes through here). */
  adopt<T extends HypObject>(obj: T): T {
    this.objectEvent(obj, 'create');
    return obj;
  }

  /**
   * Build the root VM's objects as the hypervisor does at boot (§11.1): a privileged root
   * partition, the root cspace (2048 caps, with a master cap to itself), and the root vCPU
   * attached to it; the root partition owns all RAM, and the root addrspace and memory extents
   * are built (mem/rootvm.ts). VIC and hwirq caps come with those modules.
   */
  createRootVm(): RootVm {
    const partition = this.adopt(new Partition(this, true));
    const cspace = this.adopt(new Cspace(this));
    cspace.configure(2048);
    cspace.activate();
    const capCspace = cspace.createMasterCap(cspace) as bigint;
    const capPartition = cspace.createMasterCap(partition) as bigint;
    partition.state = ObjState.ACTIVE;
    const thread = this.adopt(new Thread(this));
    thread.label = 'root';
    thread.attachCspace(cspace);
    const capVcpu = cspace.createMasterCap(thread) as bigint;
    const mem = buildRootMemory(this, this.mem, partition, cspace, thread);
    thread.activate();
    thread.poweredOff = false; // the root VCPU is powered on at boot (§11.1 item 8)
    return {
      partition,
      cspace,
      thread,
      addrspace: mem.addrspace,
      rmMemextent: mem.rmMemextent,
      caps: { cspace: capCspace, partition: capPartition, vcpu: capVcpu, ...mem.caps },
    };
  }

  /** HVC from a vCPU: `imm` is the HVC immediate (ESR ISS[15:0]). */
  hvc(thread: Thread, x: BigUint64Array, imm: number): void {
    if (imm === 0) return this.smccc(thread, x);
    if (imm >= HVC_BASE && imm < HVC_BASE + 0x200) return this.dispatcher.hvc(thread, x, imm - HVC_BASE);
    x[0] = ALL_ONES; // any other immediate: "unknown function", other registers unchanged (§1.3)
  }

  /** SMC from a vCPU (trapped, HCR_EL2.TSC): only `smc #0` is SMCCC. */
  smc(thread: Thread, x: BigUint64Array, imm: number): void {
    if (imm === 0) return this.smccc(thread, x);
    x[0] = ALL_ONES;
  }

  /** SMCCC dispatch for `hvc #0` / `smc #0` (§1.2, §9.4). */
  smccc(thread: Thread, x: BigUint64Array): void {
    const fid = Number(x[0]! & 0xffff_ffffn);
    if ((fid & 0x00fe_0000) !== 0) {
      x[0] = ALL_ONES; // bits 23:17 must be zero
      return;
    }
    const fast = (fid & 0x8000_0000) !== 0;
    const smc64 = (fid & 0x4000_0000) !== 0;
    const owner = (fid >>> 24) & 0x3f;
    const fn = fid & 0xffff;
    if (owner === SMCCC.OWNER_VENDOR_HYP) {
      const cls = fn >>> 14;
      if (cls === 0b10) {
        if (fast && smc64) return this.dispatcher.smcccHypercall(thread, x, fid & 0x3fff);
        x[0] = ALL_ONES;
        return;
      }
      if (cls === 0b11 && fast && !smc64) {
        if ((fn & 0x3fff) === 0x3f01) return write32(x, GUNYAH_UID);
        if ((fn & 0x3fff) === 0x3f03) {
          x[0] = HYP_API_INFO;
          return;
        }
      }
      x[0] = ALL_ONES;
      return;
    }
    if (fast && !smc64 && owner === SMCCC.OWNER_STANDARD_HYP) {
      if (fn === 0xff01) return write32(x, GUNYAH_UID);
      if (fn === 0xff03) return write32(x, [1, 0, Number(x[2]! & 0xffff_ffffn), Number(x[3]! & 0xffff_ffffn)]);
    }
    if (fast && !smc64 && owner === SMCCC.OWNER_ARCH) {
      if (fid === SMCCC.VERSION) return write32(x, [SMCCC.VERSION_1_3, keep(x, 1), keep(x, 2), keep(x, 3)]);
      if (fid === SMCCC.ARCH_FEATURES) {
        const q = Number(x[1]! & 0xffff_ffffn);
        const ok =
          q === SMCCC.VERSION || q === SMCCC.ARCH_FEATURES || q === SMCCC.STD_HYP_UID || q === SMCCC.STD_HYP_REVISION;
        return write32(x, [ok ? 0 : -1, keep(x, 1), keep(x, 2), keep(x, 3)]);
      }
    }
    if (fast && owner === SMCCC.OWNER_STANDARD && fn === 0x000a && !smc64) {
      // PSCI_FEATURES answers even without a vpm_group: 0 only for SMCCC_VERSION (§9.3).
      const q = Number(x[1]! & 0xffff_ffffn);
      return write32(x, [q === SMCCC.VERSION ? 0 : -1, keep(x, 1), keep(x, 2), keep(x, 3)]);
    }
    x[0] = ALL_ONES;
  }

  /** Objects of a type still alive (leak checks). */
  liveOf(type: string): HypObject[] {
    return [...this.live].filter((o) => o.type === type);
  }

  static readonly ERR = Err;
}

/** The low 32 bits of register `k`, as an SMC32 handler that did not set it leaves it. */
function keep(x: BigUint64Array, k: number): number {
  return Number(x[k]! & 0xffff_ffffn);
}

/** SMC32 results: x0..x3 rewritten as 32-bit values, zero-extended (§1.3). */
function write32(x: BigUint64Array, w: readonly number[]): void {
  for (let k = 0; k < 4; k++) x[k] = BigInt((w[k] ?? keep(x, k)) >>> 0);
}

export { SMCCC_HYPERCALL_BASE };
