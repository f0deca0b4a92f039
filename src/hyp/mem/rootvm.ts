// The memory side of the root VM's construction at boot (hypervisor-abi.md §10.1, §11.1 items 1,
// 4 and 6): the root partition gets all RAM; the root addrspace (VMID 255) is created, activated
// and attached to the root vCPU; the RM memory extent covers the RM region and is identity-mapped
// (IPA = PA) into the root addrspace; the QEMU device window PA 0x0–0x3FFF_FFFF becomes a device
// SPARSE extent, with GICD/GICR carved out as derived extents the hypervisor keeps and the UART
// page as a derived extent given to the root VM. Caps go into the root cspace in that order (after
// the root VIC and hwirqs, boot/rootvm.ts).
//
// Choices ([infer]): the RM region is mapped as one RWX, NORMAL_WB mapping (an ELF loader may
// derive per-segment extents from it later, which inherit and narrow the mapping); the carve-outs
// and the UART extent are BASIC, DEVICE, RW; the device window exists only when RAM starts at or
// above 0x4000_0000 (it would otherwise overlap RAM).

import type { Cspace } from '../core/cspace.js';
import type { Partition } from '../core/partition.js';
import type { Hypervisor } from '../hypervisor.js';
import type { Thread } from '../vm/thread.js';
import { Stage2Access } from '../vm/stage2-access.js';
import { Addrspace } from './addrspace.js';
import { MemExtent } from './memextent.js';
import { HYP_OWNER } from './memdb.js';
import type { HypMemory } from './memory.js';
import {
  MEMEXTENT_MEMTYPE,
  MEMEXTENT_TYPE,
  PAGE_SIZE,
  PGTABLE_ACCESS,
  ROOT_VM_VMID,
  VM_MEMTYPE,
  encodeExtentAttrs,
  mappingAttrs,
} from './attrs.js';

/** QEMU virt's device window (below RAM) and the GIC/UART frames in it (§11.3). */
export const DEVICE_WINDOW = { base: 0x0, size: 0x4000_0000 } as const;
export const GICD_FRAME = { base: 0x0800_0000, size: 0x1_0000 } as const;
export const GICR_FRAMES = { base: 0x080a_0000, size: 8 * 0x2_0000 } as const;
export const UART_FRAME = { base: 0x0900_0000, size: 0x1000 } as const;

export interface RootMemory {
  addrspace: Addrspace;
  rmMemextent: MemExtent;
  deviceMemextent: MemExtent | null;
  uartMemextent: MemExtent | null;
  caps: { addrspace: bigint; rmMemextent: bigint; deviceMemextent?: bigint; uartMemextent?: bigint };
}

function must(e: number, what: string): void {
  if (e !== 0) throw new Error(`root VM memory: ${what} failed (error ${e})`);
}

function cap(cs: Cspace, obj: Addrspace | MemExtent): bigint {
  const id = cs.createMasterCap(obj);
  if (typeof id === 'number') throw new Error(`root VM memory: no cap slot (error ${id})`);
  return id;
}

/**
 * §10.1: at boot all RAM (the hypervisor's own memory is not part of the modelled RAM) goes to the
 * root partition. Called first, so the boot env's free_ranges walk sees it (boot/rootvm.ts).
 */
export function giveRamToRootPartition(mem: HypMemory, partition: Partition): void {
  const ram = mem.phys;
  must(
    mem.memdb.update(ram.base / PAGE_SIZE, (ram.base + ram.size) / PAGE_SIZE, partition, HYP_OWNER),
    'RAM to the root partition',
  );
}

/**
 * Called by the root VM build (boot/rootvm.ts) after giveRamToRootPartition, with the root thread
 * still INIT (it is activated afterwards).
 */
export function buildRootMemory(
  hv: Hypervisor,
  mem: HypMemory,
  partition: Partition,
  cspace: Cspace,
  thread: Thread,
): RootMemory {
  const ram = mem.phys;
  const addrspace = hv.adopt(new Addrspace(hv, mem, partition));
  must(addrspace.configure(ROOT_VM_VMID), 'root addrspace configure');
  const capAs = cap(cspace, addrspace);
  must(addrspace.activate(), 'root addrspace activate');
  must(addrspace.attachThread(thread), 'root addrspace attach');
  thread.access = new Stage2Access(addrspace.stage2, mem.phys);

  const rm = mem.rmRegion;
  const rmMe = hv.adopt(new MemExtent(hv, mem, partition));
  must(
    rmMe.configure(
      BigInt(rm.base),
      BigInt(rm.size),
      encodeExtentAttrs(PGTABLE_ACCESS.RWX, MEMEXTENT_MEMTYPE.ANY, MEMEXTENT_TYPE.BASIC),
    ),
    'RM memextent configure',
  );
  const capRm = cap(cspace, rmMe);
  must(rmMe.activate(), 'RM memextent activate');
  const rwxWb = mappingAttrs(PGTABLE_ACCESS.RWX, PGTABLE_ACCESS.RWX, VM_MEMTYPE.NORMAL_WB);
  must(rmMe.map(addrspace, BigInt(rm.base), rwxWb), 'RM region identity map');

  const out: RootMemory = {
    addrspace,
    rmMemextent: rmMe,
    deviceMemextent: null,
    uartMemextent: null,
    caps: { addrspace: capAs, rmMemextent: capRm },
  };
  if (ram.base < DEVICE_WINDOW.base + DEVICE_WINDOW.size) return out;

  const dev = hv.adopt(new MemExtent(hv, mem, partition));
  dev.device = true;
  must(
    dev.configure(
      BigInt(DEVICE_WINDOW.base),
      BigInt(DEVICE_WINDOW.size),
      encodeExtentAttrs(PGTABLE_ACCESS.RW, MEMEXTENT_MEMTYPE.DEVICE, MEMEXTENT_TYPE.SPARSE),
    ),
    'device memextent configure',
  );
  out.caps.deviceMemextent = cap(cspace, dev);
  must(dev.activate(), 'device memextent activate');
  out.deviceMemextent = dev;

  const frame = (f: { base: number; size: number }): MemExtent => {
    const me = hv.adopt(new MemExtent(hv, mem, partition));
    must(
      me.configureDerive(
        dev,
        BigInt(f.base - DEVICE_WINDOW.base),
        BigInt(f.size),
        encodeExtentAttrs(PGTABLE_ACCESS.RW, MEMEXTENT_MEMTYPE.DEVICE, MEMEXTENT_TYPE.BASIC),
      ),
      'device frame derive',
    );
    return me;
  };
  // The GIC frames stay the hypervisor's (the vGIC emulates them): it holds the only reference.
  for (const f of [GICD_FRAME, GICR_FRAMES]) {
    const me = frame(f);
    me.get();
    must(me.activate(), 'GIC frame activate');
  }
  const uart = frame(UART_FRAME);
  out.caps.uartMemextent = cap(cspace, uart);
  must(uart.activate(), 'UART memextent activate');
  out.uartMemextent = uart;
  return out;
}
