// VIRQ sources (hypervisor-abi.md §7): the hypervisor-side end of a virtual interrupt. A doorbell,
// each side of a message queue (and later hwirqs, vpm groups, vCPU halt/run-wakeup, virtio-mmio)
// owns one source; a source is bound to at most one shared VIRQ (an SPI) of one VIC, and asserts
// or clears it there. Delivery itself — level vs edge, re-evaluation after the guest's EOI — is the
// VIC's business (vm/vic.ts); the source only supplies its level predicate.
//
// The predicate is Gunyah's `virq_check_pending(source, reasserted)`: it is polled when the guest
// deactivates a level-asserted VIRQ, with `reasserted` true when the source asserted again since
// the guest acknowledged it. Every source in this build answers "still pending" in that case (it
// cannot be sure the newer assertion was seen), and otherwise its own condition
// (`(flags & enable_mask) != 0` for a doorbell, `count >= notempty_thd` for a queue's RX side...).

import type { Vic } from './vm/vic.js';

/** The level predicate of a source, polled after the guest deactivates its VIRQ. */
export type VirqCheckPending = (reasserted: boolean) => boolean;

/** Lowest and highest shared (SPI) VIRQ numbers a hypercall may bind (§7). */
export const VIRQ_SPI_FIRST = 32;
export const VIRQ_SPI_LAST = 1019;

export class VirqSource {
  /** The VIC this source is bound to, or null when unbound. */
  vic: Vic | null = null;
  /** The bound VIRQ (INTID) while `vic` is set. */
  virq = 0;

  constructor(
    /** The source's level predicate (§7). */
    readonly checkPending: VirqCheckPending,
    /** A short name for traces and messages: `doorbell#4`, `msgqueue#7 rx`. */
    readonly label: string,
  ) {}

  get bound(): boolean {
    return this.vic !== null;
  }

  /**
   * Bind to shared VIRQ `virq` of `vic`: VIRQ_BOUND if this source is already bound (checked
   * first), ARGUMENT_INVALID unless 32 ≤ virq ≤ 1019 and virq - 32 < the VIC's max_virqs, BUSY if
   * another source holds that VIRQ.
   */
  bind(vic: Vic, virq: number): number {
    return vic.bindShared(this, virq);
  }

  /**
   * Unbind (always succeeds; nothing happens when unbound). The VIRQ's level drops; an edge already
   * latched in the guest's GIC stays pending, as on Gunyah, whose unbind clears only the source's
   * level.
   */
  unbind(): void {
    this.vic?.unbindSource(this);
  }

  /**
   * Assert the VIRQ. Level (`edgeOnly` false): pending until cleared or until the predicate says no
   * at a re-evaluation, if the guest configured the SPI level-triggered; one edge if it configured
   * it edge-triggered. Edge-only: delivered only to an edge-configured SPI. An unbound source
   * asserts nothing (Gunyah's VIRQ_NOT_BOUND, which every caller ignores).
   */
  assert(edgeOnly: boolean): void {
    this.vic?.assertSource(this, edgeOnly);
  }

  /** Drop the level (no effect on an edge already pending). */
  clear(): void {
    this.vic?.clearSource(this);
  }
}
