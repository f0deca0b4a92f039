// Doorbells (hypervisor-abi.md §6): 64 flag bits a sender ORs in and a receiver clears, with an
// enable mask deciding which flags raise the doorbell's VIRQ and an ack mask of flags cleared
// automatically once they have raised it. One VIRQ source per doorbell (§7).
//
// The VIRQ is level-triggered while any enabled flag is set: it is re-evaluated when the guest
// deactivates it, so a receiver that clears only some flags is interrupted again for the rest,
// and a receiver that clears them all sees no further interrupt. doorbell_receive itself never
// lowers the level — the drop happens at that re-evaluation.

import { HypObject, type ObjectEvents } from '../core/object.js';
import { VirqSource } from '../virq.js';

const ALL_ONES = 0xffff_ffff_ffff_ffffn;

export class Doorbell extends HypObject {
  readonly type = 'doorbell' as const;
  flags = 0n;
  enableMask = ALL_ONES;
  ackMask = 0n;
  readonly source: VirqSource;

  constructor(events: ObjectEvents | null) {
    super(events);
    // A reassertion since the guest's acknowledge keeps the VIRQ pending regardless (§6, §7).
    this.source = new VirqSource((reasserted) => reasserted || (this.flags & this.enableMask) !== 0n, String(this));
  }

  protected override doDeactivate(): void {
    this.source.unbind();
  }

  /**
   * doorbell_send: OR in `newFlags`; if any enabled flag is now set, level-assert and then clear
   * the ack-mask flags; otherwise an edge-only assert (seen only on an edge-configured SPI; it
   * happens even when `newFlags` is 0). Returns the flags before the call.
   */
  send(newFlags: bigint): bigint {
    const old = this.flags;
    this.flags = old | newFlags;
    if ((this.flags & this.enableMask) !== 0n) {
      this.source.assert(false);
      this.flags &= ~this.ackMask;
    } else {
      this.source.assert(true);
    }
    return old;
  }

  /** doorbell_receive (clear ≠ 0, checked by the caller): clear flags, return the old ones. */
  receive(clear: bigint): bigint {
    const old = this.flags;
    this.flags = old & ~clear;
    return old;
  }

  /** doorbell_reset: clear the VIRQ and return to the initial state. */
  reset(): void {
    this.source.clear();
    this.flags = 0n;
    this.ackMask = 0n;
    this.enableMask = ALL_ONES;
  }

  /**
   * doorbell_mask: store both masks; the VIRQ follows the change of "any enabled flag set":
   * set→clear clears it, clear→set level-asserts it; while set afterwards, the ack-mask flags clear.
   */
  mask(enable: bigint, ack: bigint): void {
    const was = (this.flags & this.enableMask) !== 0n;
    const now = (this.flags & enable) !== 0n;
    this.enableMask = enable;
    this.ackMask = ack;
    if (was && !now) {
      this.source.clear();
    } else if (!was && now) {
      this.source.assert(false);
      this.flags &= ~ack;
    } else if (was && now) {
      this.flags &= ~ack;
    }
  }
}
