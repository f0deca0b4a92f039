// Physical interrupts (hypervisor-abi.md §2.5, §4.1, §7, §11.1 item 4): the platform's interrupt
// controller as the hypervisor sees it, and the hwirq objects through which the root VM forwards
// physical lines to VIRQs.
//
// PlatformIrqs holds the level of every physical line (the emulated platform's devices drive them
// through Hypervisor.platformIrq) and which hwirq object has claimed each INTID. Only the
// hypervisor creates hwirqs — one per usable INTID, at boot, with a master cap in the root cspace
// (boot/rootvm.ts); partition_create cannot make them.
//
// A hwirq for an SPI has the "forward SPI" action: hwirq_bind_virq ties it to a shared VIRQ of a
// VIC, and from then on the VIRQ is a level source mirroring the physical line (§7): a rising line
// level-asserts it, a falling line clears it, and at the guest's deactivation the re-evaluation
// answers the line's current level. On an edge-configured vSPI each rise is one edge. Binding
// while the line is already high asserts at once (Gunyah enables the physical IRQ on bind, and the
// GIC then delivers it).
//
// Choice: Gunyah forwards with hardware-linked list registers, so a vSPI whose line drops after it
// was delivered to the hypervisor but before the guest acknowledged it stays pending (the guest's
// driver then finds nothing to do). This model mirrors the line exactly instead; a guest can only
// tell the difference by that spurious interrupt.
//
// A hwirq for a PPI has the "forward private" action. Gunyah can bind it to a PPI of every pinned
// vCPU of a VIC; this model does not implement private forwarding, and hwirq_bind_virq on such a
// hwirq returns ARGUMENT_INVALID (documented choice; the QEMU RM forwards only SPIs).

import { Err } from '../abi/errors.js';
import { HypObject, type ObjectEvents } from '../core/object.js';
import { VIRQ_SPI_FIRST, VIRQ_SPI_LAST, VirqSource } from '../virq.js';
import type { Vic } from './vic.js';

/** INTID ranges of the GICv3 (§9.1). */
export const GIC_SGI_BASE = 0;
export const GIC_PPI_BASE = 16;
export const GIC_SPI_BASE = 32;

/**
 * The highest physical INTID (platform_irq_max): QEMU virt's GICv3 has 256 SPIs, so its
 * GICD_TYPER.ITLinesNumber is 8 and the INTIDs run up to 32 × (8 + 1) − 1 = 287. The root VM gets
 * hwirqs for SPIs 32..287 and the usable PPIs; vic_hwirq in the boot env covers INTIDs 0..287.
 */
export const PLATFORM_IRQ_MAX = 287;

/**
 * PPIs the hypervisor has claimed for itself before the root VM is built: PMU 23, GIC maintenance
 * 25, hypervisor timer 26, virtual timer 27, physical timer 30 (§11.3). The root's hwirq for
 * one of them fails activation with BUSY, so its vic_hwirq entry is all-ones [infer from the boot
 * order: those drivers register their IRQs at cold boot, before rootvm_init].
 */
export const HYP_RESERVED_PPIS: readonly number[] = [23, 25, 26, 27, 30];

export const enum HwirqAction {
  /** An SPI forwarded to a shared VIRQ (HWIRQ_ACTION_VGIC_FORWARD_SPI). */
  FORWARD_SPI = 0,
  /** A PPI forwarded to private VIRQs (HWIRQ_ACTION_VIC_BASE_FORWARD_PRIVATE). */
  FORWARD_PRIVATE = 1,
}

/** The action Gunyah gives the hwirq of `intid` at boot, or null (SGIs, beyond the platform: no hwirq). */
export function hwirqActionFor(intid: number): HwirqAction | null {
  if (intid >= GIC_SPI_BASE && intid <= PLATFORM_IRQ_MAX) return HwirqAction.FORWARD_SPI;
  if (intid >= GIC_PPI_BASE && intid < GIC_SPI_BASE) return HwirqAction.FORWARD_PRIVATE;
  return null;
}

// The owner of an INTID claimed by the hypervisor itself.
const HYP_CLAIM = Symbol('hypervisor');

/** The physical interrupt controller's state the hypervisor keeps: line levels and claims. */
export class PlatformIrqs {
  /** Line level per INTID (1 = asserted). */
  private readonly lines = new Uint8Array(PLATFORM_IRQ_MAX + 1);
  /** The hwirq registered for each INTID (or the hypervisor's claim), null if free. */
  private readonly owners: (Hwirq | typeof HYP_CLAIM | null)[] = new Array<Hwirq | typeof HYP_CLAIM | null>(
    PLATFORM_IRQ_MAX + 1,
  ).fill(null);

  constructor() {
    for (const ppi of HYP_RESERVED_PPIS) this.owners[ppi] = HYP_CLAIM;
  }

  /**
   * Claim `h.irq` for `h` (hwirq activation): ARGUMENT_INVALID for an INTID the platform does not
   * have, or whose kind does not match the action; BUSY if already claimed.
   */
  register(h: Hwirq): number {
    if (hwirqActionFor(h.irq) !== h.action) return Err.ARGUMENT_INVALID;
    if (this.owners[h.irq] !== null) return Err.BUSY;
    this.owners[h.irq] = h;
    return Err.OK;
  }

  /** Release `h`'s claim (hwirq deactivation). */
  unregister(h: Hwirq): void {
    if (this.owners[h.irq] === h) this.owners[h.irq] = null;
  }

  /** The hwirq registered for `intid`, if any (inspection). */
  hwirqOf(intid: number): Hwirq | null {
    const o = this.owners[intid];
    return o instanceof Hwirq ? o : null;
  }

  /** The current level of physical line `intid`. */
  line(intid: number): boolean {
    return this.lines[intid] === 1;
  }

  /**
   * A platform device drives physical SPI `intid` (32..PLATFORM_IRQ_MAX). Only changes reach the
   * bound VIRQ. PPIs are per-CPU and SGIs are software-generated, so neither has a platform line
   * here: asking for one is a wiring error and throws.
   */
  setLine(intid: number, level: boolean): void {
    if (!Number.isInteger(intid) || intid < GIC_SPI_BASE || intid > PLATFORM_IRQ_MAX) {
      throw new RangeError(`platform IRQ ${intid} is not an SPI of this platform (32..${PLATFORM_IRQ_MAX})`);
    }
    const v = level ? 1 : 0;
    if (this.lines[intid] === v) return;
    this.lines[intid] = v;
    const o = this.owners[intid];
    if (o instanceof Hwirq) o.lineChanged(level);
  }
}

export class Hwirq extends HypObject {
  readonly type = 'hwirq' as const;
  /** The VIRQ source a forwarded SPI drives (unused for PPIs). */
  readonly source: VirqSource;

  constructor(
    events: ObjectEvents | null,
    private readonly irqs: PlatformIrqs,
    /** The physical INTID. */
    readonly irq: number,
    readonly action: HwirqAction,
  ) {
    super(events);
    // Level source tied to the physical line: the re-evaluation after the guest's deactivation
    // answers the line itself (a reassertion since the acknowledge can only have come from the
    // line rising again, so the line already says so).
    this.source = new VirqSource(() => this.irqs.line(this.irq), `${String(this)} (INTID ${irq})`);
  }

  protected override doActivate(): number {
    return this.irqs.register(this);
  }

  protected override doDeactivate(): void {
    this.source.unbind();
    this.irqs.unregister(this);
  }

  /**
   * hwirq_bind_virq after both lookups (§2.5, §7). Forward-private (PPI) hwirqs: ARGUMENT_INVALID
   * (not modelled). Then, in Gunyah's order: virq not an SPI (32..1019) → ARGUMENT_INVALID;
   * already bound → VIRQ_BOUND; virq − 32 ≥ the VIC's max_virqs → ARGUMENT_INVALID; VIRQ held by
   * another source → BUSY.
   */
  bind(vic: Vic, virq: number): number {
    if (this.action !== HwirqAction.FORWARD_SPI) return Err.ARGUMENT_INVALID;
    if (virq < VIRQ_SPI_FIRST || virq > VIRQ_SPI_LAST) return Err.ARGUMENT_INVALID;
    const e = this.source.bind(vic, virq);
    if (e !== Err.OK) return e;
    if (this.irqs.line(this.irq)) this.source.assert(false);
    return Err.OK;
  }

  /**
   * hwirq_unbind_virq: VIRQ_NOT_BOUND if not bound (unlike doorbells and queues, whose unbind
   * always succeeds — Gunyah's forwarded-SPI unbind reports it). The VIRQ's level drops.
   */
  unbind(): number {
    if (!this.source.bound) return Err.VIRQ_NOT_BOUND;
    this.source.unbind();
    return Err.OK;
  }

  /** @internal The physical line changed (PlatformIrqs.setLine). */
  lineChanged(level: boolean): void {
    if (level) this.source.assert(false);
    else this.source.clear();
  }
}
