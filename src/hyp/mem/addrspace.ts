// Address spaces (hypervisor-abi.md §10.4–10.6): a VM's stage-2 translation (IPA → PA), its VMID,
// the vCPUs that run in it, an optional info area, and the VMMIO ranges whose faults a
// proxy-scheduled vCPU reports to its VMM through vcpu_run.
//
// Mappings are made and removed by memory extents (memextent.ts), which keep the stage 2 in step
// with page ownership; the addrspace remembers which extents map into it so that its destruction
// can clear their records. Mappings hold no reference to the addrspace (as in Gunyah): deleting
// the last cap destroys it, and the extents forget it.

import { Err } from '../abi/errors.js';
import { HypObject, type ObjectEvents } from '../core/object.js';
import type { Partition } from '../core/partition.js';
import type { Thread } from '../vm/thread.js';
import type { HypMemory } from './memory.js';
import type { MemExtent } from './memextent.js';
import { Stage2, type Ipn } from './stage2.js';
import {
  ADDRSPACE_MAX_THREADS,
  ADDRSPACE_MAX_VMMIO_RANGES,
  IPA_BITS,
  MEMEXTENT_MEMTYPE,
  MEMEXTENT_TYPE,
  PAGE_SIZE,
  PGTABLE_ACCESS,
  VMID_MAX,
  VMID_MIN,
  VMMIO_OP,
  accessWithin,
} from './attrs.js';

const TWO64 = 1n << 64n;
const IPA_LIMIT = 1n << BigInt(IPA_BITS);
/** Largest info area (§10.5): one page. */
export const INFO_AREA_MAX_SIZE = PAGE_SIZE;

/** Which addrspace each thread is attached to (the thread → addrspace link of §4.2). */
const attachedTo = new WeakMap<Thread, Addrspace>();

/** The addrspace a vCPU runs in (addrspace_attach_thread), or null. */
export function addrspaceOf(thread: Thread): Addrspace | null {
  return attachedTo.get(thread) ?? null;
}

/**
 * Drop a thread's attachment and the reference it holds. For the thread's destruction path
 * (Thread.released) — the attachment otherwise lives as long as the thread.
 */
export function addrspaceDetachThread(thread: Thread): void {
  const as = attachedTo.get(thread);
  if (!as) return;
  attachedTo.delete(thread);
  const i = as.threads.indexOf(thread);
  if (i >= 0) as.threads.splice(i, 1);
  as.put();
}

export class Addrspace extends HypObject {
  readonly type = 'addrspace' as const;
  /** Configured VMID (0 = not configured: activation is then BUSY, VMID 0 being reserved). */
  vmid = 0;
  /** Whether `vmid` is claimed in the VMID table (between activation and destruction). */
  private vmidClaimed = false;
  readonly stage2 = new Stage2();
  /** Extents with at least one mapping slot in this addrspace. */
  readonly mappedBy = new Set<MemExtent>();
  /** Attached vCPUs (at most ADDRSPACE_MAX_THREADS). */
  readonly threads: Thread[] = [];
  /** The info area: a BASIC extent and its IPA (a reference is held while configured). */
  infoArea: { me: MemExtent; ipn: Ipn } | null = null;
  /** VMMIO ranges as [base, end) byte IPAs, sorted, non-overlapping. */
  readonly vmmio: [number, number][] = [];

  constructor(
    events: ObjectEvents | null,
    readonly mem: HypMemory,
    readonly partition: Partition,
  ) {
    super(events);
  }

  /** addrspace_configure: VMID 1..255 (§10.5), INIT only (checked by the caller). */
  configure(vmid: number): number {
    if (vmid < VMID_MIN || vmid > VMID_MAX) return Err.ARGUMENT_INVALID;
    this.vmid = vmid;
    return Err.OK;
  }

  /**
   * Activation (§4.5): claim the VMID (BUSY if an active addrspace has it, or if none was
   * configured: VMID 0 is reserved), then attach the info area (BUSY if another user has the
   * extent attached — our choice) and zero it.
   */
  protected override doActivate(): number {
    const ids = this.mem.vmids;
    if (ids[this.vmid] !== 0) return Err.BUSY;
    const info = this.infoArea;
    if (info !== null && info.me.attachedTo !== null) return Err.BUSY;
    ids[this.vmid] = 1;
    this.vmidClaimed = true;
    if (info !== null) {
      info.me.attachedTo = this;
      for (const [a, b] of this.mem.memdb.runs(info.me.base, info.me.end, info.me)) {
        const lo = a * PAGE_SIZE;
        if (this.mem.phys.contains(lo, (b - a) * PAGE_SIZE)) this.mem.phys.zero(lo, (b - a) * PAGE_SIZE);
      }
    }
    return Err.OK;
  }

  protected override doDeactivate(): void {
    for (const me of [...this.mappedBy]) me.forgetAddrspace(this);
    this.mappedBy.clear();
    this.stage2.clear();
    if (this.vmidClaimed) this.mem.vmids[this.vmid] = 0;
    this.vmidClaimed = false;
    if (this.infoArea && this.infoArea.me.attachedTo === this) this.infoArea.me.attachedTo = null;
  }

  protected override released(): void {
    const info = this.infoArea;
    this.infoArea = null;
    info?.me.put();
  }

  /**
   * addrspace_attach_thread (§2.6): the thread (INIT, checked by the caller) runs in this addrspace
   * from activation. At most 8 threads (NOMEM); a thread attached elsewhere moves here.
   */
  attachThread(thread: Thread): number {
    const prev = attachedTo.get(thread);
    if (prev === this) return Err.OK;
    if (this.threads.length >= ADDRSPACE_MAX_THREADS) return Err.NOMEM;
    if (prev) addrspaceDetachThread(thread);
    this.get();
    this.threads.push(thread);
    attachedTo.set(thread, this);
    return Err.OK;
  }

  /**
   * addrspace_configure_info_area (§10.5). The checks and their errors are our choice where the
   * spec names none ([infer], after memextent_attach): an extent from another partition or not
   * readable and writable → DENIED; not BASIC or memtype not ANY → ARGUMENT_INVALID; larger than
   * 4 KiB → ARGUMENT_SIZE; IPA not page-aligned → ARGUMENT_ALIGNMENT; beyond the 36-bit IPA space
   * → ADDR_INVALID.
   */
  configureInfoArea(me: MemExtent, ipa: bigint): number {
    if (me.partition !== this.partition) return Err.DENIED;
    if (!accessWithin(me.access, PGTABLE_ACCESS.RW)) return Err.DENIED;
    if (me.kind !== MEMEXTENT_TYPE.BASIC || me.memtype !== MEMEXTENT_MEMTYPE.ANY) return Err.ARGUMENT_INVALID;
    if (me.pages * PAGE_SIZE > INFO_AREA_MAX_SIZE) return Err.ARGUMENT_SIZE;
    if ((ipa & 0xfffn) !== 0n) return Err.ARGUMENT_ALIGNMENT;
    if (ipa + BigInt(me.pages * PAGE_SIZE) > IPA_LIMIT) return Err.ADDR_INVALID;
    me.get();
    const old = this.infoArea;
    this.infoArea = { me, ipn: Number(ipa >> 12n) };
    old?.me.put();
    return Err.OK;
  }

  /**
   * addrspace_configure_vmmio (§10.6), allowed while INIT or ACTIVE. ADD: size ≠ 0
   * (ARGUMENT_SIZE), no wrap (ADDR_OVERFLOW), at most 128 ranges (NORESOURCES), inside the 36-bit
   * IPA space (ARGUMENT_SIZE: the range table's width), no overlap (BUSY). REMOVE: the same size
   * and wrap checks, then the range must be exactly one that was added (BUSY otherwise, [infer]).
   * Other ops: UNIMPLEMENTED.
   */
  configureVmmio(base: bigint, size: bigint, op: number): number {
    if (op !== VMMIO_OP.ADD && op !== VMMIO_OP.REMOVE) return Err.UNIMPLEMENTED;
    if (size === 0n) return Err.ARGUMENT_SIZE;
    if (base + size - 1n >= TWO64) return Err.ADDR_OVERFLOW;
    const r = this.vmmio;
    if (op === VMMIO_OP.REMOVE) {
      if (base + size > IPA_LIMIT) return Err.BUSY;
      const b = Number(base);
      const e = b + Number(size);
      const i = r.findIndex(([x, y]) => x === b && y === e);
      if (i < 0) return Err.BUSY;
      r.splice(i, 1);
      return Err.OK;
    }
    if (r.length >= ADDRSPACE_MAX_VMMIO_RANGES) return Err.NORESOURCES;
    if (base + size > IPA_LIMIT) return Err.ARGUMENT_SIZE;
    const b = Number(base);
    const e = b + Number(size);
    let i = 0;
    while (i < r.length && r[i]![1] <= b) i++;
    if (i < r.length && r[i]![0] < e) return Err.BUSY;
    r.splice(i, 0, [b, e]);
    return Err.OK;
  }

  /** Whether the access [ipa, ipa + size) lies inside one VMMIO range (the fault path, §10.6). */
  vmmioContains(ipa: number, size: number): boolean {
    for (const [b, e] of this.vmmio) if (ipa >= b && ipa + size <= e) return true;
    return false;
  }
}
