// Building the root VM at boot (hypervisor-abi.md §11.1–11.2): what Gunyah's rootvm_init and its
// root-VM-init event handlers do before the resource manager runs its first instruction.
//
// Order, which fixes the cap IDs in the root cspace (debug-build dense numbering; callers read
// them from the result or the boot env, never hardcode them):
//   0 the root cspace itself, 1 the root partition, 2 the root vCPU,
//   3 the root VIC, then one hwirq per usable physical INTID (ascending),
//   then the root addrspace, the RM memory extent, the device extent and the UART extent.
// The CBOR map of the boot env is written in the same order as Gunyah emits its keys: the three
// caps, free_ranges, the vGIC's keys, then the other handlers' (the order among those handlers is
// our reading [infer]; the RM looks keys up by name).
//
// free_ranges [?] (§11.2): Gunyah walks the root partition's memory right after creating the
// first three caps, before the handlers that create the RM memory extent, so the RM region is
// still the partition's at that moment and appears in the list. We keep that order: free_ranges
// is every RAM range the root partition owns before any extent exists — here all of RAM, which
// includes the RM region (the hypervisor's own image is not part of the modelled RAM). An RM must
// not hand out its own region; the real one learns it from me_ipa_base/me_size.

import { Err } from '../abi/errors.js';
import { ObjState } from '../core/object.js';
import { CAP_INVALID, Cspace } from '../core/cspace.js';
import { Partition } from '../core/partition.js';
import type { Hypervisor } from '../hypervisor.js';
import type { Addrspace } from '../mem/addrspace.js';
import { PAGE_SIZE } from '../mem/attrs.js';
import type { MemExtent } from '../mem/memextent.js';
import {
  DEVICE_WINDOW,
  GICD_FRAME,
  GICR_FRAMES,
  UART_FRAME,
  buildRootMemory,
  giveRamToRootPartition,
} from '../mem/rootvm.js';
import { Hwirq, PLATFORM_IRQ_MAX, hwirqActionFor } from '../vm/hwirq.js';
import { Thread, VCPU_DEFAULT_PRIORITY, VCPU_OPTION } from '../vm/thread.js';
import { VIC_OPTION, Vic, vicAttachVcpu, vicAttachVdevice } from '../vm/vic.js';
import type { CborValue } from './cbor.js';
import { PLATFORM_TIMER_FREQ, QCBOR_ENV_CONFIG_SIZE, encodeBootEnv } from './env.js';

/** Root cspace size (MAX_CAPS in rootvm_init). */
export const ROOT_CSPACE_MAX_CAPS = 2048;
/** The root VIC (§11.1 item 5): one vCPU, 64 bindable SPIs (INTIDs 32..95), no MSIs. */
export const ROOT_VIC_MAX_VCPUS = 1;
export const ROOT_VIC_MAX_VIRQS = 64;
/** GICR frame stride and count of the QEMU platform (§9.1, §11.2 gicr_ranges). */
export const GICR_STRIDE = 0x2_0000;
export const PLATFORM_GICR_COUNT = 8;
/** usable_cores on QEMU: CPUs 0..7. */
export const PLATFORM_USABLE_CORES = 0xff;
/** Where the RM boots the HLOS (§11.3): its memory, kernel entry, DTB and initrd addresses. */
export const HLOS_VM_BASE = 0x4000_0000;
export const HLOS_VM_SIZE = 0x4000_0000;
export const HLOS_ENTRY = 0x4100_0000;
export const HLOS_DT_BASE = 0x40f0_0000;
export const HLOS_RAMFS_BASE = 0x4080_0000;

export interface RootVmOptions {
  /**
   * Where the RM images were loaded in the RM region (the ELF loader's result): runtime and
   * application image bases, and the first byte after the last loaded segment. Default: nothing
   * loaded — both bases at the start of the region, which is also where the env goes.
   */
  images?: { runtimeIpa: number; appIpa: number; end: number };
  /** The root vCPU's first PC (runtime entry + runtime_ipa). Default: the runtime image base. */
  entry?: number;
  /** The boot CPU (boot_core, and the root vCPU's affinity). Default 0. */
  bootCore?: number;
  /** sve_supported in the env (the modelled CPU has no SVE). Default false. */
  sveSupported?: boolean;
  /**
   * hlos_vm_size in the env: the primary's memory from HLOS_VM_BASE. Default HLOS_VM_SIZE (the QEMU
   * platform's 1 GiB, written as is whatever the RAM: small test machines never start a primary). A
   * size given here must be whole 2 MiB blocks inside RAM, clear of the RM region.
   */
  hlosSize?: number;
}

export interface RootVm {
  partition: Partition;
  cspace: Cspace;
  thread: Thread;
  /** The root VIC (§11.1 item 5), the root vCPU attached at index 0. */
  vic: Vic;
  /** The root's hwirq objects by physical INTID (only INTIDs that got one). */
  hwirqs: ReadonlyMap<number, Hwirq>;
  /** The root addrspace (VMID 255), attached to the root vCPU. */
  addrspace: Addrspace;
  /** The RM memory extent, identity-mapped into the root addrspace (§11.1 item 6). */
  rmMemextent: MemExtent;
  /** The boot environment (§11.2) in the RM region, and the root vCPU's entry. */
  env: {
    /** env_ipa = PA (X0 of the root vCPU). */
    ipa: number;
    /** QCBOR_ENV_CONFIG_SIZE. */
    size: number;
    /** The root vCPU's first PC. */
    entry: number;
    heapIpa: number;
    heapSize: number;
  };
  /**
   * Cap IDs in the root cspace (order in the header above). The device and UART extents exist only
   * when RAM lies above the device window.
   */
  caps: {
    cspace: bigint;
    partition: bigint;
    vcpu: bigint;
    vic: bigint;
    /** vic_hwirq: the hwirq cap of each INTID 0..PLATFORM_IRQ_MAX, CAP_INVALID where none. */
    hwirq: readonly bigint[];
    addrspace: bigint;
    rmMemextent: bigint;
    deviceMemextent?: bigint;
    uartMemextent?: bigint;
  };
}

function must(e: number, what: string): void {
  if (e !== Err.OK) throw new Error(`root VM: ${what} failed (error ${e})`);
}

function masterCap(cs: Cspace, obj: Parameters<Cspace['createMasterCap']>[0], what: string): bigint {
  const id = cs.createMasterCap(obj);
  if (typeof id === 'number') throw new Error(`root VM: no cap slot for ${what} (error ${id})`);
  return id;
}

/** Build the root VM (Hypervisor.createRootVm). */
export function buildRootVm(hv: Hypervisor, opts: RootVmOptions = {}): RootVm {
  const mem = hv.mem;
  const rm = mem.rmRegion;
  const rmEnd = rm.base + rm.size;
  const images = opts.images ?? { runtimeIpa: rm.base, appIpa: rm.base, end: rm.base };
  const bootCore = opts.bootCore ?? 0;
  const envIpa = Math.ceil(images.end / PAGE_SIZE) * PAGE_SIZE;
  if (images.end < rm.base || envIpa + QCBOR_ENV_CONFIG_SIZE > rmEnd) {
    throw new Error(
      `root VM: the boot env (0x${QCBOR_ENV_CONFIG_SIZE.toString(16)} bytes after the images, ending at ` +
        `0x${images.end.toString(16)}) does not fit the RM region [0x${rm.base.toString(16)}, 0x${rmEnd.toString(16)})`,
    );
  }
  const entry = opts.entry ?? images.runtimeIpa;
  const hlosSize = opts.hlosSize ?? HLOS_VM_SIZE;
  const hlosEnd = HLOS_VM_BASE + hlosSize;
  if (
    opts.hlosSize !== undefined &&
    (hlosSize <= 0 ||
      hlosSize % 0x20_0000 !== 0 ||
      !mem.phys.contains(HLOS_VM_BASE, hlosSize) ||
      (HLOS_VM_BASE < rmEnd && rm.base < hlosEnd))
  ) {
    throw new Error(
      `root VM: the HLOS memory [0x${HLOS_VM_BASE.toString(16)}, 0x${hlosEnd.toString(16)}) must be whole 2 MiB ` +
        `blocks inside RAM, clear of the RM region [0x${rm.base.toString(16)}, 0x${rmEnd.toString(16)})`,
    );
  }

  // Partition, cspace (with a cap to itself), the root vCPU: priority 32, affinity = the boot CPU,
  // critical (§11.1 items 1–3).
  const partition = hv.adopt(new Partition(hv, true));
  const cspace = hv.adopt(new Cspace(hv));
  must(cspace.configure(ROOT_CSPACE_MAX_CAPS), 'cspace configure');
  must(cspace.activate(), 'cspace activate');
  const thread = hv.adopt(new Thread(hv, partition));
  thread.label = 'root';
  thread.priority = VCPU_DEFAULT_PRIORITY;
  thread.affinity = bootCore;
  thread.options |= VCPU_OPTION.critical;
  thread.attachCspace(cspace);
  const capCspace = masterCap(cspace, cspace, 'the cspace');
  const capPartition = masterCap(cspace, partition, 'the partition');
  partition.state = ObjState.ACTIVE;
  const capVcpu = masterCap(cspace, thread, 'the root vCPU');

  // All RAM to the root partition, then the free_ranges walk (see the header on its [?]).
  giveRamToRootPartition(mem, partition);
  const freeRanges: [bigint, bigint][] = mem.memdb
    .runs(0, Number.MAX_SAFE_INTEGER, partition)
    .map(([a, b]) => [BigInt(a * PAGE_SIZE), BigInt((b - a) * PAGE_SIZE)]);

  // The root VIC: configured, activated, capped, then the root vCPU attached at index 0 (§11.1
  // item 5). Fixed addresses disabled (options bit 1).
  // Its vGIC frames are attached to the root addrspace once the root vCPU is active (below).
  const vic = hv.adopt(new Vic(hv));
  must(vic.configure(ROOT_VIC_MAX_VCPUS, ROOT_VIC_MAX_VIRQS, VIC_OPTION.disable_default_addr, 0), 'VIC configure');
  must(vic.activate(), 'VIC activate');
  const capVic = masterCap(cspace, vic, 'the VIC');
  must(vicAttachVcpu(vic, thread, 0), 'VIC attach');

  // One hwirq per physical INTID that can have one (SPIs forward, PPIs forward-private); SGIs, and
  // INTIDs whose activation fails (claimed by the hypervisor), get CAP_INVALID.
  const hwirqs = new Map<number, Hwirq>();
  const hwirqCaps: bigint[] = [];
  for (let intid = 0; intid <= PLATFORM_IRQ_MAX; intid++) {
    const action = hwirqActionFor(intid);
    if (action === null) {
      hwirqCaps.push(CAP_INVALID);
      continue;
    }
    const h = hv.adopt(new Hwirq(hv, hv.irqs, intid, action));
    const e = h.activate();
    if (e !== Err.OK) {
      if (e !== Err.BUSY && e !== Err.ARGUMENT_INVALID && e !== Err.DENIED) must(e, `hwirq ${intid} activate`);
      // Nobody holds it: taking and dropping one reference destroys it.
      h.get();
      h.put();
      hwirqCaps.push(CAP_INVALID);
      continue;
    }
    hwirqCaps.push(masterCap(cspace, h, `hwirq ${intid}`));
    hwirqs.set(intid, h);
  }

  // Addrspace and memory extents (mem/rootvm.ts).
  const memory = buildRootMemory(hv, mem, partition, cspace, thread);

  // The boot environment (§11.2), written into the RM region (IPA = PA) as the hypervisor does.
  const heapIpa = envIpa + QCBOR_ENV_CONFIG_SIZE;
  const config = new Map<string, CborValue>([
    ['cspace_capid', capCspace],
    ['partition_capid', capPartition],
    ['vcpu_capid', capVcpu],
    ['free_ranges', freeRanges],
    ['gicd_base', GICD_FRAME.base],
    ['gicr_stride', GICR_STRIDE],
    ['gicr_ranges', [[GICR_FRAMES.base, PLATFORM_GICR_COUNT]]],
    ['vic', capVic],
    ['vic_hwirq', hwirqCaps],
    ['addrspace_capid', memory.caps.addrspace],
    ['me_capid', memory.caps.rmMemextent],
    ['me_ipa_base', rm.base],
    ['me_size', rm.size],
    ['ipa_offset', 0],
    // Without a device window (RAM below 0x4000_0000) there are no device/UART extents: their caps
    // are CAP_INVALID (our choice; the real platform always has them).
    ['device_me_capid', memory.caps.deviceMemextent ?? CAP_INVALID],
    ['device_me_base', DEVICE_WINDOW.base],
    ['device_me_size', DEVICE_WINDOW.size],
    ['uart_address', UART_FRAME.base],
    ['uart_me_capid', memory.caps.uartMemextent ?? CAP_INVALID],
    ['boot_core', bootCore],
    ['usable_cores', PLATFORM_USABLE_CORES],
    ['hlos_vm_base', HLOS_VM_BASE],
    ['hlos_vm_size', hlosSize],
    ['entry_hlos', HLOS_ENTRY],
    ['hlos_dt_base', HLOS_DT_BASE],
    ['hlos_ramfs_base', HLOS_RAMFS_BASE],
    ['watchdog_supported', 0],
    ['sve_supported', opts.sveSupported ?? false],
  ]);
  const env = encodeBootEnv(
    {
      runtimeIpa: BigInt(images.runtimeIpa),
      appIpa: BigInt(images.appIpa),
      appHeapIpa: BigInt(heapIpa),
      appHeapSize: BigInt(rmEnd - heapIpa),
      vcpuCapid: capVcpu,
      timerFreq: BigInt(PLATFORM_TIMER_FREQ),
      gicdBase: BigInt(GICD_FRAME.base),
      gicrBase: BigInt(GICR_FRAMES.base),
    },
    config,
  );
  mem.phys.preload(envIpa, env);

  // Activate the root vCPU and power it on at the entry with X0 = env_ipa (§11.1 item 8): the
  // first run resets EL1 (EL1h, DAIF masked, MMU off).
  must(thread.activate(), 'root vCPU activate');
  // The root vGIC at the physical GIC's addresses (§11.1 item 5), as Gunyah's late root-VM init
  // does: GICD (64 KiB) and GICR0 (one 0x20000 stride); fixed addresses are off for this VIC.
  must(vicAttachVdevice(vic, memory.addrspace, 0, BigInt(GICD_FRAME.base), BigInt(GICD_FRAME.size), 0n), 'GICD attach');
  must(vicAttachVdevice(vic, memory.addrspace, 1, BigInt(GICR_FRAMES.base), BigInt(GICR_STRIDE), 0n), 'GICR0 attach');
  thread.pc = BigInt(entry);
  thread.regs[0] = BigInt(envIpa);
  thread.resetPending = true;
  thread.poweredOff = false;

  return {
    partition,
    cspace,
    thread,
    vic,
    hwirqs,
    addrspace: memory.addrspace,
    rmMemextent: memory.rmMemextent,
    env: { ipa: envIpa, size: QCBOR_ENV_CONFIG_SIZE, entry, heapIpa, heapSize: rmEnd - heapIpa },
    caps: {
      cspace: capCspace,
      partition: capPartition,
      vcpu: capVcpu,
      vic: capVic,
      hwirq: hwirqCaps,
      ...memory.caps,
    },
  };
}
