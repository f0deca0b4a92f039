// The hypervisor's memory state (hypervisor-abi.md §10): physical RAM, the memory database that
// says who owns each page, and the VMIDs claimed by active address spaces. One per Hypervisor.

import { MemDb, HYP_OWNER } from './memdb.js';
import { PhysMem, type PhysMemOptions } from './physmem.js';
import { PAGE_SIZE, VMID_MAX } from './attrs.js';

export interface MemoryOptions extends PhysMemOptions {
  /**
   * The resource manager's region (§11.1 item 6), identity-mapped into the root addrspace through
   * the RM memory extent. Default: 0x8048_0000 + 0xA_0000 (PLATFORM_ROOTVM_LMA_BASE) when RAM
   * covers it, else the last 0xA_0000 bytes of RAM (our choice for small test machines).
   */
  rmRegion?: { base: number; size: number };
}

export const ROOTVM_LMA_BASE = 0x8048_0000;
export const ROOTVM_LMA_SIZE = 0xa_0000;

export class HypMemory {
  readonly phys: PhysMem;
  readonly memdb = new MemDb();
  /** VMIDs in use by active addrspaces (index = VMID); VMID 0 is reserved at boot (§4.5). */
  readonly vmids = new Uint8Array(VMID_MAX + 1);
  readonly rmRegion: { base: number; size: number };

  constructor(opts?: MemoryOptions) {
    this.phys = new PhysMem(opts);
    // All RAM starts as the hypervisor's; createRootVm hands it to the root partition (§10.1).
    this.memdb.insert(this.phys.base / PAGE_SIZE, (this.phys.base + this.phys.size) / PAGE_SIZE, HYP_OWNER);
    this.vmids[0] = 1;
    const want = opts?.rmRegion;
    if (want) {
      if (!this.phys.contains(want.base, want.size) || want.base % PAGE_SIZE !== 0 || want.size % PAGE_SIZE !== 0) {
        throw new Error('the RM region must be whole pages inside RAM');
      }
      this.rmRegion = want;
    } else if (this.phys.contains(ROOTVM_LMA_BASE, ROOTVM_LMA_SIZE)) {
      this.rmRegion = { base: ROOTVM_LMA_BASE, size: ROOTVM_LMA_SIZE };
    } else {
      const size = Math.min(ROOTVM_LMA_SIZE, this.phys.size);
      this.rmRegion = { base: this.phys.base + this.phys.size - size, size };
    }
  }
}
