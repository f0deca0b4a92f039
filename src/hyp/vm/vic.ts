// The VIC object (hypervisor-abi.md §2.5, §4.5, §7, §9.1): a VM's virtual interrupt controller.
// Configured in INIT (vic_configure: number of vCPUs, number of bindable shared VIRQs, options),
// then activated; an ACTIVE VIC owns a virtual GICv3 — the same model as the board's GIC
// (src/machine/gicv3), with Gunyah's identification, every redistributor awake at reset — plus the
// table of VIRQ sources bound to its SPIs and the table of vCPUs by attach index (GICR number).
//
// Delivery of hypervisor VIRQs (§7) is modelled on the GIC's SPI input lines:
// * level assert on a level-configured SPI raises the line; the GIC keeps it pending while the
//   line is high (also while it is active, so it re-fires after EOI, as a level interrupt does);
// * on an edge-configured SPI any assert (level or edge-only) is one edge (the GIC's latch);
// * edge-only assert on a level-configured SPI is ignored;
// * clear lowers the line;
// * when the guest deactivates the SPI (EOI with EOImode 0, ICC_DIR_EL1, GICD_ICACTIVER) while the
//   line is high, the source's predicate is polled with `reasserted` = "the source asserted again
//   since the guest acknowledged it"; if it answers false the line drops.
// The GIC tells us about acknowledge and deactivation through its opt-in SpiObserver hook.
//
// The VIC also owns its vGIC's place in guest memory (addrspace_attach_vdevice, §9.1, §10.6): the
// attached GICD and GICR vdevice ranges (vdevice.ts), whose register accesses vgic-mmio.ts
// emulates, and the CPU index ↔ MPIDR mapping (vgic_set_mpidr_mapping) that gives each vCPU its
// MPIDR_EL1, its GICR_TYPER affinity and its SGI/SPI routing affinity.

import { Err } from '../abi/errors.js';
import { HypObject, type ObjectEvents } from '../core/object.js';
import { Gicv3 } from '../../machine/gicv3/index.js';
import type { SpiObserver } from '../../machine/gicv3/index.js';
import { VIRQ_SPI_FIRST, VIRQ_SPI_LAST, type VirqSource } from '../virq.js';
import type { Thread } from './thread.js';
import type { Addrspace } from '../mem/addrspace.js';
import { VdeviceKind, VdeviceRange, vdeviceInsert, vdeviceRangeCheck } from './vdevice.js';

/** PLATFORM_MAX_CORES of the QEMU build: the largest max_vcpus (§9.1). */
export const VIC_MAX_VCPUS = 8;
/** GIC_SPI_NUM: INTIDs 32..1019, the largest max_virqs (§9.1). */
export const VIC_MAX_VIRQS = 988;
/** vic_configure option bits (§9.1); bits 63:2 must be zero. */
export const VIC_OPTION = { max_msis_valid: 1n << 0n, disable_default_addr: 1n << 1n } as const;
const VIC_OPTIONS_VALID = VIC_OPTION.max_msis_valid | VIC_OPTION.disable_default_addr;
/**
 * GICD_IIDR / GICR_IIDR of Gunyah's vGIC (§9.1): ProductID 'G' (0x47) in bits 31:24, variant and
 * revision 0, implementer 0x070 (JEP106 Qualcomm) in bits 11:0.
 */
export const VGIC_IIDR = 0x4700_0070;
/** GICD_PIDR2 / GICR_PIDR2 of Gunyah's vGIC: ArchRev 3 (GICv3) in bits 7:4, nothing else. */
export const VGIC_PIDR2 = 0x30;
/** addrspace_attach_vdevice flags of a GICR (§9.1): bit 0 last_valid, bit 1 last; others must be 0. */
export const VGIC_GICR_FLAG = { last_valid: 1n << 0n, last: 1n << 1n } as const;
/**
 * The largest combined index field of an MPIDR mapping, exclusive: the index must fit a 16-bit CPU
 * index and never reach CPU_INDEX_INVALID (0xFFFF), so at most 15 contiguous bits (§9.1).
 */
const CPU_INDEX_INVALID = 0xffffn;
/** MPIDR_EL1 bits: RES1 (31), U (30, uniprocessor), MT (24). */
const MPIDR_RES1 = 1n << 31n;
const MPIDR_U = 1n << 30n;
const MPIDR_MT = 1n << 24n;

/** A vCPU's attachment to a VIC (vic_attach_vcpu): which VIC, which GICR index. */
export interface VcpuAttachment {
  readonly vic: Vic;
  readonly index: number;
}

// The thread → VIC link. Kept here rather than on Thread so this module owns all VIC state; the
// thread module reaches it through the vicVcpu* functions below.
const attachments = new WeakMap<Thread, VcpuAttachment>();

export class Vic extends HypObject implements SpiObserver {
  readonly type = 'vic' as const;
  /** Number of GICRs / attachable vCPUs. Gunyah's default for an unconfigured VIC is 1. */
  maxVcpus = 1;
  /** Number of bindable shared VIRQs, INTIDs 32 .. 32 + maxVirqs - 1. Default 0. */
  maxVirqs = 0;
  /**
   * Whether the vGIC also answers at the fixed legacy addresses (GICD 0x0800_0000, GICR
   * 0x080A_0000 + n × 0x20000) on unmapped-IPA faults: options bit 1 (disable_default_addr) clear.
   * An unconfigured VIC does not (our reading of Gunyah: the flag is only ever set by
   * vic_configure, and objects start zeroed) [infer].
   */
  allowFixedAddrs = false;
  /** The virtual GICv3, from activation on (null in INIT and after deactivation). */
  gic: Gicv3 | null = null;
  /** Bound source per shared VIRQ, index virq - 32 (allocated at activation). */
  private sources: (VirqSource | null)[] = [];
  /** Per shared VIRQ: 1 when its source asserted since the guest last acknowledged it. */
  private reasserted = new Uint8Array(0);
  /** Active vCPU per GICR index (allocated at activation). */
  private vcpus: (Thread | null)[] = [];

  // ---- CPU index ↔ MPIDR mapping (§9.1): Aff_i = (index >> affShift[i]) & affMask[i] ----
  /**
   * Shift of each affinity level's field in the CPU index. The default is the QEMU platform's
   * hardware mapping (Aff0 = index, mask 0x7 for PLATFORM_MAX_CORES = 8; the other levels unused).
   */
  readonly affShift = new Uint8Array(4);
  /** Mask of each affinity level (MPIDR Aff0..Aff3 fields of the mapping's mask). */
  readonly affMask = Uint8Array.of(0x7, 0, 0, 0);
  /**
   * MPIDR_EL1.MT and .U of every vCPU. The default mapping copies them from the physical CPUs'
   * MPIDR; QEMU virt's CPUs have both clear [infer: QEMU sets U only for uniprocessor cores].
   * A set mapping gives MT = its mt argument and U = (its index field is empty).
   */
  mpidrMt = false;
  mpidrU = false;

  // ---- vGIC frames in guest memory (§9.1, §10.6) ----
  /** The attached GICD vdevice range (addrspace_attach_vdevice index 0), or null. */
  gicdRange: VdeviceRange | null = null;
  /** Per GICR index: the attached GICR vdevice range, or null (allocated at activation). */
  gicrRanges: (VdeviceRange | null)[] = [];
  /** The virtual GICD_STATUSR: RRD 1, WRD 2, RWOD 4, WROD 8 (write 1 to clear). */
  gicdStatusr = 0;
  /** The virtual GICR_STATUSR per GICR index (Gunyah keeps it in the vCPU: reset when one takes the index). */
  gicrStatusr = new Uint32Array(0);

  constructor(events: ObjectEvents | null) {
    super(events);
  }

  /**
   * vic_configure's argument checks, after the cap lookup and the options check (§9.1). As in
   * Gunyah each field is stored as soon as it has been checked, so a call failing on max_virqs
   * still changes max_vcpus (and a failure on max_msis keeps both) — a quirk a guest can observe
   * only by activating after a failed configure; we keep it.
   */
  configure(maxVcpus: number, maxVirqs: number, options: bigint, maxMsis: number): number {
    this.allowFixedAddrs = (options & VIC_OPTION.disable_default_addr) === 0n;
    if (maxVcpus === 0 || maxVcpus > VIC_MAX_VCPUS) return Err.ARGUMENT_INVALID;
    this.maxVcpus = maxVcpus;
    if (maxVirqs > VIC_MAX_VIRQS) return Err.ARGUMENT_INVALID;
    this.maxVirqs = maxVirqs;
    // No LPIs on this platform: any MSI count is invalid (a count without the valid flag is ignored).
    if ((options & VIC_OPTION.max_msis_valid) !== 0n && maxMsis !== 0) return Err.ARGUMENT_INVALID;
    return Err.OK;
  }

  /** Whether `options` has only the defined bits (vic_configure checks this before the state). */
  static optionsValid(options: bigint): boolean {
    return (options & ~VIC_OPTIONS_VALID) === 0n;
  }

  /**
   * vgic_set_mpidr_mapping's checks and effect (§9.1), after the lookup and the INIT check: every
   * shift below 32; the fields (mask's Aff_i << shift_i) pairwise disjoint; their union a
   * contiguous low-bit mask (2^k − 1) below 0xFFFF. All ARGUMENT_INVALID, nothing stored on error.
   * Only the mask's Aff0..Aff3 fields (bits 7:0, 15:8, 23:16, 39:32) count; its other bits are
   * ignored. Gunyah does not check that the mapping gives each vCPU a distinct MPIDR.
   */
  setMpidrMapping(mask: bigint, shifts: readonly number[], mt: boolean): number {
    const masks = [mask & 0xffn, (mask >> 8n) & 0xffn, (mask >> 16n) & 0xffn, (mask >> 32n) & 0xffn];
    let index = 0n;
    for (let i = 0; i < 4; i++) {
      if (shifts[i]! >= 32) return Err.ARGUMENT_INVALID;
      const field = masks[i]! << BigInt(shifts[i]!);
      if ((index & field) !== 0n) return Err.ARGUMENT_INVALID;
      index |= field;
    }
    if ((index & (index + 1n)) !== 0n || index >= CPU_INDEX_INVALID) return Err.ARGUMENT_INVALID;
    for (let i = 0; i < 4; i++) {
      this.affShift[i] = shifts[i]!;
      this.affMask[i] = Number(masks[i]!);
    }
    this.mpidrMt = mt;
    this.mpidrU = index === 0n;
    return Err.OK;
  }

  /** The packed Aff3:Aff2:Aff1:Aff0 affinity of GICR index `index` under the mapping. */
  affinityOf(index: number): number {
    let a = 0;
    for (let i = 0; i < 4; i++) a |= ((index >>> this.affShift[i]!) & this.affMask[i]!) << (8 * i);
    return a >>> 0;
  }

  protected override doActivate(): number {
    // The virtual GIC always implements all 988 SPIs (GICD_TYPER.ITLinesNumber = 31, §9.1);
    // max_virqs only limits which of them hypervisor sources may bind. CPU affinities follow the
    // MPIDR mapping, which is fixed from here on (it may only be set in INIT).
    const gic = new Gicv3({
      cpus: this.maxVcpus,
      spis: VIC_MAX_VIRQS,
      iidr: VGIC_IIDR,
      asleepAtReset: false,
      affinities: Array.from({ length: this.maxVcpus }, (_, i) => this.affinityOf(i)),
      sharedAffinities: true,
    });
    gic.spiObserver = this;
    this.gic = gic;
    this.sources = new Array<VirqSource | null>(this.maxVirqs).fill(null);
    this.reasserted = new Uint8Array(this.maxVirqs);
    this.vcpus = new Array<Thread | null>(this.maxVcpus).fill(null);
    this.gicrRanges = new Array<VdeviceRange | null>(this.maxVcpus).fill(null);
    this.gicrStatusr = new Uint32Array(this.maxVcpus);
    this.gicdStatusr = 0;
    return Err.OK;
  }

  protected override doDeactivate(): void {
    // Every bound source is detached; their owners may bind them again elsewhere. (No vCPU can be
    // attached: each attached thread holds a reference to this VIC.)
    for (const s of this.sources) if (s !== null) this.unbindSource(s);
    this.sources = [];
    // The GICD leaves guest memory with its VIC (GICR ranges already left with their vCPUs).
    this.gicdRange?.detach();
    this.gicdRange = null;
    if (this.gic !== null) this.gic.spiObserver = null;
    this.gic = null;
  }

  // ------------------------------------------------------------------ VIRQ sources (§7)

  /** See VirqSource.bind. */
  bindShared(src: VirqSource, virq: number): number {
    if (src.vic !== null) return Err.VIRQ_BOUND;
    if (virq < VIRQ_SPI_FIRST || virq > VIRQ_SPI_LAST) return Err.ARGUMENT_INVALID;
    const i = virq - VIRQ_SPI_FIRST;
    // sources.length is max_virqs while ACTIVE (and 0 before activation and after deactivation).
    if (i >= this.sources.length) return Err.ARGUMENT_INVALID;
    if (this.sources[i] !== null) return Err.BUSY;
    this.sources[i] = src;
    this.reasserted[i] = 0;
    src.vic = this;
    src.virq = virq;
    return Err.OK;
  }

  /** See VirqSource.unbind. */
  unbindSource(src: VirqSource): void {
    if (src.vic !== this) return;
    const i = src.virq - VIRQ_SPI_FIRST;
    src.vic = null;
    if (this.sources[i] !== src) return;
    this.sources[i] = null;
    this.reasserted[i] = 0;
    this.gic?.setSpiLevel(src.virq, false);
  }

  /** The source bound to shared VIRQ `virq`, or null (inspection). */
  sourceOf(virq: number): VirqSource | null {
    const i = virq - VIRQ_SPI_FIRST;
    return i >= 0 && i < this.sources.length ? this.sources[i]! : null;
  }

  /** A vIRQ trace event, when tracing is on. */
  private trace(what: 'assert' | 'clear' | 'ack' | 'eoi', virq: number, source: string): void {
    const tr = this.events?.tracer;
    if (tr?.on) tr.emit({ kind: 'virq', t: tr.now(), what, vic: String(this), virq, source });
  }

  /** See VirqSource.assert. */
  assertSource(src: VirqSource, edgeOnly: boolean): void {
    const gic = this.gic;
    if (gic === null) return;
    const virq = src.virq;
    if (this.events?.tracer?.on) this.trace('assert', virq, edgeOnly ? `${src.label} (edge)` : src.label);
    this.reasserted[virq - VIRQ_SPI_FIRST] = 1;
    if (gic.isSpiEdge(virq)) gic.pulseSpi(virq);
    else if (!edgeOnly) gic.setSpiLevel(virq, true);
  }

  /** See VirqSource.clear. */
  clearSource(src: VirqSource): void {
    if (this.events?.tracer?.on) this.trace('clear', src.virq, src.label);
    this.gic?.setSpiLevel(src.virq, false);
  }

  /** @internal SpiObserver: the guest acknowledged `intid`; later asserts count as reassertions. */
  spiAcknowledged(intid: number): void {
    const i = intid - VIRQ_SPI_FIRST;
    if (this.events?.tracer?.on) this.trace('ack', intid, this.sources[i]?.label ?? '');
    if (i < this.reasserted.length) this.reasserted[i] = 0;
  }

  /** @internal SpiObserver: the guest deactivated `intid`; re-evaluate a raised level source. */
  spiDeactivated(intid: number): void {
    const i = intid - VIRQ_SPI_FIRST;
    if (this.events?.tracer?.on) this.trace('eoi', intid, this.sources[i]?.label ?? '');
    const gic = this.gic;
    if (gic === null || i >= this.sources.length) return;
    const src = this.sources[i]!;
    if (src === null || !gic.spiLine(intid)) return;
    if (!src.checkPending(this.reasserted[i] !== 0)) gic.setSpiLevel(intid, false);
  }

  // ------------------------------------------------------------------ vCPUs (§2.5, §9.1)

  /** The active vCPU at GICR index `index`, or null (for GICR vdevice attachment: ERROR_IDLE). */
  vcpuAt(index: number): Thread | null {
    return this.vcpus[index] ?? null;
  }

  /** @internal */
  occupy(index: number, t: Thread | null): void {
    this.vcpus[index] = t;
    if (t !== null) this.gicrStatusr[index] = 0;
  }
}

/**
 * addrspace_attach_vdevice for a VIC, after the addrspace (map) and VIC (attach_vdevice) lookups
 * (§9.1). In Gunyah's order: index ≤ max_vcpus (ARGUMENT_INVALID); index 0 = the GICD: flags must
 * be 0 (ARGUMENT_INVALID), BUSY if the GICD is attached anywhere; index n = GICR n−1: flags only
 * last_valid/last (ARGUMENT_INVALID), its vCPU attached and activated (IDLE), BUSY if that GICR is
 * attached anywhere; then the range-table checks (vdevice.ts). GICR_TYPER.Last through this range
 * is the `last` flag if last_valid is set, else (n == max_vcpus).
 */
export function vicAttachVdevice(
  vic: Vic,
  as: Addrspace,
  index: number,
  base: bigint,
  size: bigint,
  flags: bigint,
): number {
  if (index > vic.maxVcpus) return Err.ARGUMENT_INVALID;
  let kind: VdeviceKind;
  let last = false;
  if (index === 0) {
    if (flags !== 0n) return Err.ARGUMENT_INVALID;
    if (vic.gicdRange !== null) return Err.BUSY;
    kind = VdeviceKind.GICD;
  } else {
    if ((flags & ~(VGIC_GICR_FLAG.last_valid | VGIC_GICR_FLAG.last)) !== 0n) return Err.ARGUMENT_INVALID;
    if (vic.vcpuAt(index - 1) === null) return Err.IDLE;
    if (vic.gicrRanges[index - 1] !== null) return Err.BUSY;
    last = (flags & VGIC_GICR_FLAG.last_valid) !== 0n ? (flags & VGIC_GICR_FLAG.last) !== 0n : index === vic.maxVcpus;
    kind = VdeviceKind.GICR;
  }
  const e = vdeviceRangeCheck(as, base, size);
  if (e !== Err.OK) return e;
  const b = Number(base);
  const r = new VdeviceRange(kind, vic, index - 1, last, as, b, b + Number(size));
  vdeviceInsert(r);
  if (kind === VdeviceKind.GICD) vic.gicdRange = r;
  else vic.gicrRanges[index - 1] = r;
  return Err.OK;
}

/**
 * The MPIDR_EL1 of the vCPU at GICR index `index` of `vic` under its mapping (§8.1, §9.1): RES1
 * bit 31, U and MT as the mapping says, Aff_i = (index >> shift_i) & mask_i.
 */
export function vicMpidrOfIndex(vic: Vic, index: number): bigint {
  const a = vic.affinityOf(index);
  return (
    MPIDR_RES1 |
    (vic.mpidrU ? MPIDR_U : 0n) |
    (vic.mpidrMt ? MPIDR_MT : 0n) |
    (BigInt(a >>> 24) << 32n) |
    BigInt(a & 0xffffff)
  );
}

/**
 * The GICR index an MPIDR names under `vic`'s mapping (for PSCI CPU_ON / AFFINITY_INFO), or −1
 * if none: an affinity field has bits outside the mapping's mask for that level, or the index is
 * ≥ max_vcpus (as Gunyah's vgic_get_index_for_mpidr). Only Aff0..Aff3 are read (U, MT and the
 * other bits are ignored). Whether a vCPU holds that index: `vic.vcpuAt(index)`.
 */
export function vicIndexOfMpidr(vic: Vic, mpidr: bigint): number {
  const aff = [mpidr & 0xffn, (mpidr >> 8n) & 0xffn, (mpidr >> 16n) & 0xffn, (mpidr >> 32n) & 0xffn];
  let index = 0;
  for (let i = 0; i < 4; i++) {
    const a = Number(aff[i]!);
    if ((a & ~vic.affMask[i]!) !== 0) return -1;
    // The fields are disjoint and the index is below 0xFFFF, so adding is OR-ing without overflow.
    index += a * 2 ** vic.affShift[i]!;
  }
  return index < vic.maxVcpus ? index : -1;
}

/**
 * vic_attach_vcpu after the lookups (vic ACTIVE with attach_vcpu; thread INIT): index must be below
 * max_vcpus (ARGUMENT_INVALID). Attaching again replaces the previous attachment. The thread holds
 * a reference to the VIC until it is released (vicVcpuRelease).
 */
export function vicAttachVcpu(vic: Vic, thread: Thread, index: number): number {
  if (index >= vic.maxVcpus) return Err.ARGUMENT_INVALID;
  const old = attachments.get(thread);
  vic.get();
  attachments.set(thread, { vic, index });
  old?.vic.put();
  return Err.OK;
}

/** The VIC and index a thread is attached to, or null. */
export function vicOfVcpu(thread: Thread): VcpuAttachment | null {
  return attachments.get(thread) ?? null;
}

/**
 * For thread activation (vm/thread.ts, §4.5, §9.1): claim the thread's GICR index in its VIC —
 * BUSY if another active vCPU holds it. A thread with no VIC passes here (OK); §4.5's "no VIC
 * attached → ARGUMENT_INVALID" comes from binding the arch-timer PPIs at activation, which belongs
 * to the thread/vtimer code.
 */
export function vicVcpuActivate(thread: Thread): number {
  const a = attachments.get(thread);
  if (a === undefined) return Err.OK;
  if (a.vic.vcpuAt(a.index) !== null) return Err.BUSY;
  a.vic.occupy(a.index, thread);
  return Err.OK;
}

/**
 * For thread deactivation (and failed activation after vicVcpuActivate): free the GICR index, and
 * take the vCPU's GICR frame out of guest memory (it is the vCPU's, §9.1).
 */
export function vicVcpuDeactivate(thread: Thread): void {
  const a = attachments.get(thread);
  if (a === undefined || a.vic.vcpuAt(a.index) !== thread) return;
  a.vic.occupy(a.index, null);
  a.vic.gicrRanges[a.index]?.detach();
  a.vic.gicrRanges[a.index] = null;
}

/** For thread release (its last reference gone): drop the thread's reference to its VIC. */
export function vicVcpuRelease(thread: Thread): void {
  const a = attachments.get(thread);
  if (a === undefined) return;
  attachments.delete(thread);
  a.vic.put();
}
