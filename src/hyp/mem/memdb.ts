// The memory database (hypervisor-abi.md §10.1): every 4 KiB page of physical memory the
// hypervisor knows (RAM and device windows) has exactly one owner — the hypervisor, a partition or
// a memory extent. Pages outside every inserted range have no owner and can never be taken.
// Ownership moves only as a whole range and only from the expected owner (`update`), which is what
// makes "a memextent maps only pages it owns" enforceable: an extent can only ever gain pages its
// parent (or partition) really had. Kept as an interval map over page numbers.

import { Err } from '../abi/errors.js';
import { IntervalMap } from './interval-map.js';

/** The hypervisor's own pages (its image, heap, and RAM not yet handed to the root partition). */
export const HYP_OWNER = Object.freeze({ kind: 'hypervisor' as const, toString: () => 'hypervisor' });

/** A page owner: HYP_OWNER, a Partition or a MemExtent (compared by identity). */
export type MemOwner = object;

/** Physical page number (PA >> 12). */
export type Ppn = number;

export class MemDb {
  private readonly map = new IntervalMap<MemOwner>({
    shift: (v) => v,
    joins: (a, b) => a === b,
  });

  /** Add pages that were not in the database, owned by `owner` (boot: RAM, device windows). */
  insert(start: Ppn, end: Ppn, owner: MemOwner): number {
    if (start >= end) return Err.ARGUMENT_SIZE;
    if (this.map.overlaps(start, end)) return Err.BUSY;
    this.map.set(start, end, owner);
    return Err.OK;
  }

  ownerOf(page: Ppn): MemOwner | null {
    return this.map.lookup(page) ? this.map.hitVal! : null;
  }

  /** Whether `owner` owns every page of [start, end). */
  ownsAll(start: Ppn, end: Ppn, owner: MemOwner): boolean {
    if (start >= end) return true;
    // Intervals are maximal, so one owner's contiguous run is one interval.
    const m = this.map;
    return m.lookup(start) && m.hitVal === owner && m.hitEnd >= end;
  }

  /**
   * Move [start, end) from `expected` to `owner`: all or nothing, MEMDB_NOT_OWNER unless
   * `expected` owns every page.
   */
  update(start: Ppn, end: Ppn, owner: MemOwner, expected: MemOwner): number {
    if (!this.ownsAll(start, end, expected)) return Err.MEMDB_NOT_OWNER;
    this.map.set(start, end, owner);
    return Err.OK;
  }

  /** Call `fn` for each maximal run of [start, end) owned by `owner`. */
  walk(start: Ppn, end: Ppn, owner: MemOwner, fn: (start: Ppn, end: Ppn) => void): void {
    for (const [a, b, o] of this.map.piecesIn(start, end)) if (o === owner) fn(a, b);
  }

  /** The runs of [start, end) owned by `owner`. */
  runs(start: Ppn, end: Ppn, owner: MemOwner): [Ppn, Ppn][] {
    const out: [Ppn, Ppn][] = [];
    this.walk(start, end, owner, (a, b) => out.push([a, b]));
    return out;
  }

  /** Pages of [start, end) owned by `owner` (whole database when no range is given). */
  countOwned(owner: MemOwner, start = 0, end = Number.MAX_SAFE_INTEGER): number {
    let n = 0;
    this.walk(start, end, owner, (a, b) => (n += b - a));
    return n;
  }

  /** Every run of the database as [start, end, owner] (inspection and tests). */
  entries(): [Ppn, Ppn, MemOwner][] {
    return this.map.entries();
  }
}
