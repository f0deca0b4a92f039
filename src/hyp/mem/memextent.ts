// Memory extents (hypervisor-abi.md §10.2–10.4): a physical range [base, base + size) with an
// access and memory type, which owns some of those pages in the memory database and maps what it
// owns into address spaces.
//
// BASIC extents own their whole range once active (taken from their partition, or from their
// parent if derived) and have up to 4 mappings, each the whole extent at one (addrspace, vbase).
// SPARSE extents start owning nothing and gain or lose pages by donation; they have 4 slots, each
// belonging to one addrspace and recording any number of non-overlapping (PA range → vbase)
// mappings. Both kinds are modelled the same way: a slot is an addrspace plus an interval map of
// mapping records keyed by PA page (a BASIC slot's records cover the whole extent).
//
// The invariant everything here keeps (§10.1): a stage-2 entry exists only for a page its extent
// owns. Records may describe pages the extent does not own (yet): they become live when the page
// arrives (derive, donation, a child's destruction) and are unmapped the moment it leaves — so
// lending memory to a VM is "donate to its extent", and its stage 2 follows.

import { Err } from '../abi/errors.js';
import { HypObject, ObjState, type ObjectEvents } from '../core/object.js';
import type { Partition } from '../core/partition.js';
import { IntervalMap } from './interval-map.js';
import type { HypMemory } from './memory.js';
import type { MemOwner, Ppn } from './memdb.js';
import type { Addrspace } from './addrspace.js';
import { Stage2, type Ipn } from './stage2.js';
import {
  MEMEXTENT_MAX_MAPS,
  MEMEXTENT_MEMTYPE,
  MEMEXTENT_TYPE,
  MODIFY_OP,
  PAGE_SIZE,
  PGTABLE_ACCESS,
  SPARSE_VBASE_BITS,
  accessWithin,
  decodeExtentAttrs,
  mappingAttrs,
  mappingMemtype,
  maskMappingAccess,
} from './attrs.js';

const TWO64 = 1n << 64n;
const PAGE_MASK = 0xfffn;
const SPARSE_VBASE_LIMIT = 1n << BigInt(SPARSE_VBASE_BITS);

/** A mapping record: the IPA page of the record's first PA page, and memextent_mapping_attrs. */
export interface MappingRecord {
  readonly vbase: Ipn;
  readonly attrs: number;
}

const RECORD_OPS = {
  shift: (v: MappingRecord, by: number): MappingRecord => ({ vbase: v.vbase + by, attrs: v.attrs }),
  joins: (a: MappingRecord, b: MappingRecord, d: number): boolean => a.attrs === b.attrs && a.vbase + d === b.vbase,
};

/** One mapping (BASIC) or one addrspace's mappings (SPARSE) of an extent. */
export class MappingSlot {
  readonly records = new IntervalMap<MappingRecord>(RECORD_OPS);
  constructor(readonly as: Addrspace) {}
}

export class MemExtent extends HypObject {
  readonly type = 'memextent' as const;
  /** First physical page and size in pages (pages ≤ 2^52, exact as Numbers). */
  base: Ppn = 0;
  pages = 0;
  access: number = PGTABLE_ACCESS.NONE;
  memtype: number = MEMEXTENT_MEMTYPE.ANY;
  kind: number = MEMEXTENT_TYPE.BASIC;
  /** The extent this one was derived from (a reference is held while configured so). */
  parent: MemExtent | null = null;
  /** Device memory inserted by the hypervisor itself (§10.3): never taken from a partition. */
  device = false;
  /** Active extents derived from this one. */
  readonly children = new Set<MemExtent>();
  /** Attached to a hypervisor user (an addrspace's info area): derive is then BUSY (§4.5). */
  attachedTo: object | null = null;
  readonly slots: (MappingSlot | null)[] = new Array<MappingSlot | null>(MEMEXTENT_MAX_MAPS).fill(null);
  /** The slot the last successful addSparseRecord used. */
  private lastSlot = -1;

  constructor(
    events: ObjectEvents | null,
    readonly mem: HypMemory,
    /** The partition the extent was created from: its pages come from and return to it. */
    readonly partition: Partition,
  ) {
    super(events);
  }

  get end(): Ppn {
    return this.base + this.pages;
  }

  /** memextent_configure (§10.3), INIT only (checked by the caller). */
  configure(phys: bigint, size: bigint, attrs: number): number {
    if (size === 0n || phys + size - 1n >= TWO64) return Err.ARGUMENT_INVALID;
    if (((phys | size) & PAGE_MASK) !== 0n) return Err.ARGUMENT_ALIGNMENT;
    const a = decodeExtentAttrs(attrs);
    if (a === null) return Err.ARGUMENT_INVALID;
    this.base = Number(phys >> 12n);
    this.pages = Number(size >> 12n);
    this.access = a.access;
    this.memtype = a.memtype;
    this.kind = a.kind;
    const old = this.parent;
    this.parent = null;
    old?.put();
    return Err.OK;
  }

  /** memextent_configure_derive (§10.3): a sub-range of an active parent, INIT only. */
  configureDerive(parent: MemExtent, offset: bigint, size: bigint, attrs: number): number {
    if (size === 0n || offset + size - 1n >= TWO64) return Err.ARGUMENT_INVALID;
    const pBase = BigInt(parent.base) << 12n;
    const pSize = BigInt(parent.pages) << 12n;
    if (pBase + offset >= TWO64 || offset >= pSize || offset + size > pSize) return Err.ADDR_INVALID;
    if (((offset | size) & PAGE_MASK) !== 0n) return Err.ARGUMENT_ALIGNMENT;
    const a = decodeExtentAttrs(attrs);
    if (a === null) return Err.ARGUMENT_INVALID;
    if (!accessWithin(parent.access, a.access)) return Err.ARGUMENT_INVALID;
    if (parent.memtype !== MEMEXTENT_MEMTYPE.ANY && parent.memtype !== a.memtype) return Err.ARGUMENT_INVALID;
    this.base = parent.base + Number(offset >> 12n);
    this.pages = Number(size >> 12n);
    this.access = a.access;
    this.memtype = a.memtype;
    this.kind = a.kind;
    parent.get();
    const old = this.parent;
    this.parent = parent;
    old?.put();
    return Err.OK;
  }

  // ---------------------------------------------------------------------------------------------
  // Activation and destruction
  // ---------------------------------------------------------------------------------------------

  protected override doActivate(): number {
    const p = this.parent;
    if (p === null) {
      if (this.pages === 0) return Err.OBJECT_CONFIG;
      if (this.device) return this.mem.memdb.insert(this.base, this.end, this);
      if (this.kind === MEMEXTENT_TYPE.SPARSE) return Err.OK; // pages come by donation
      return this.mem.memdb.update(this.base, this.end, this, this.partition);
    }
    // A derived extent's memory type must still match its parent's (configure checked it against
    // the parent as it was then; the parent cannot change since, but keep the activation check).
    if (p.memtype !== MEMEXTENT_MEMTYPE.ANY && p.memtype !== this.memtype) return Err.ARGUMENT_INVALID;
    if (p.attachedTo !== null) return Err.BUSY;
    const e = this.kind === MEMEXTENT_TYPE.BASIC ? this.activateDerivedBasic(p) : this.activateDerivedSparse(p);
    if (e === Err.OK) p.children.add(this);
    return e;
  }

  /**
   * A BASIC child takes its whole range from the parent and inherits, slot for slot, the parent's
   * mappings of that range with access reduced to its own. A parent slot that maps only part of
   * the range (or maps it non-linearly) cannot be expressed as a BASIC mapping: DENIED.
   * We check ownership (MEMDB_NOT_OWNER) before the mappings (DENIED) — our order; nothing
   * changes until both pass.
   */
  private activateDerivedBasic(p: MemExtent): number {
    const db = this.mem.memdb;
    if (!db.ownsAll(this.base, this.end, p)) return Err.MEMDB_NOT_OWNER;
    const inherited: (MappingRecord | null)[] = [];
    for (const slot of p.slots) {
      if (slot === null || !slot.records.overlaps(this.base, this.end)) {
        inherited.push(null);
        continue;
      }
      if (!slot.records.lookup(this.base) || slot.records.hitEnd < this.end) return Err.DENIED;
      const rec = slot.records.get(this.base)!;
      inherited.push({ vbase: rec.vbase, attrs: maskMappingAccess(rec.attrs, this.access) });
    }
    for (let k = 0; k < inherited.length; k++) {
      const rec = inherited[k];
      if (!rec) continue;
      const slot = this.newSlot(k, p.slots[k]!.as);
      slot.records.set(this.base, this.end, rec);
    }
    return transfer(this.mem, p, this, this.base, this.end);
  }

  /**
   * A SPARSE child copies the parent's mapping records of its range (access reduced); under a
   * BASIC parent (which cannot donate) it also takes the whole range now, under a SPARSE parent it
   * takes nothing until donated to — and the copied records then make donated pages live at once.
   */
  private activateDerivedSparse(p: MemExtent): number {
    const takeAll = p.kind !== MEMEXTENT_TYPE.SPARSE;
    if (takeAll && !this.mem.memdb.ownsAll(this.base, this.end, p)) return Err.MEMDB_NOT_OWNER;
    for (const slot of p.slots) {
      if (slot === null) continue;
      for (const [a, b, rec] of slot.records.piecesIn(this.base, this.end)) {
        const e = this.addSparseRecord(slot.as, a, b, rec.vbase, maskMappingAccess(rec.attrs, this.access));
        if (e !== Err.OK) {
          // Cannot happen (each parent slot fits in one child slot); undo anyway.
          this.clearSlots();
          return e;
        }
      }
    }
    return takeAll ? transfer(this.mem, p, this, this.base, this.end) : Err.OK;
  }

  /**
   * Destruction of an active extent (§10.3): its pages go back to the parent extent (whose
   * mappings of them become live again) or to the partition, and its mappings disappear.
   * Children hold references, so there are none by now.
   */
  protected override doDeactivate(): void {
    const db = this.mem.memdb;
    const to: MemOwner = this.parent ?? this.partition;
    for (const [a, b] of db.runs(this.base, this.end, this)) transfer(this.mem, this, to, a, b);
    this.clearSlots();
    this.parent?.children.delete(this);
  }

  protected override released(): void {
    const p = this.parent;
    this.parent = null;
    p?.put();
  }

  // ---------------------------------------------------------------------------------------------
  // Slots and live mappings
  // ---------------------------------------------------------------------------------------------

  private newSlot(i: number, as: Addrspace): MappingSlot {
    const slot = new MappingSlot(as);
    this.slots[i] = slot;
    as.mappedBy.add(this);
    return slot;
  }

  private freeSlot(i: number): void {
    const slot = this.slots[i];
    if (!slot) return;
    this.slots[i] = null;
    if (!this.slots.some((s) => s !== null && s.as === slot.as)) slot.as.mappedBy.delete(this);
  }

  private clearSlots(): void {
    for (let i = 0; i < this.slots.length; i++) this.freeSlot(i);
  }

  /** The addrspace is being destroyed: forget every mapping into it (its stage 2 goes with it). */
  forgetAddrspace(as: Addrspace): void {
    for (let i = 0; i < this.slots.length; i++) if (this.slots[i]?.as === as) this.freeSlot(i);
  }

  /** Make the slot's records over the owned pages of [a, b) live in its addrspace's stage 2. */
  private slotMap(slot: MappingSlot, a: Ppn, b: Ppn): void {
    const s2 = slot.as.stage2;
    for (const [ra, rb] of this.mem.memdb.runs(a, b, this)) {
      slot.records.forEachIn(ra, rb, (lo, hi, rec) => s2.mapRange(rec.vbase, lo, hi - lo, rec.attrs));
    }
  }

  /** Remove the slot's live entries for the owned pages of [a, b). */
  private slotUnmap(slot: MappingSlot, a: Ppn, b: Ppn): void {
    const s2 = slot.as.stage2;
    for (const [ra, rb] of this.mem.memdb.runs(a, b, this)) {
      slot.records.forEachIn(ra, rb, (lo, hi, rec) => s2.unmapMatching(rec.vbase, lo, hi - lo));
    }
  }

  /** Make every record over the owned pages of [a, b) live. */
  liveMap(a: Ppn, b: Ppn): void {
    for (const slot of this.slots) if (slot) this.slotMap(slot, a, b);
  }

  /** Remove every live entry for the owned pages of [a, b). */
  liveUnmap(a: Ppn, b: Ppn): void {
    for (const slot of this.slots) if (slot) this.slotUnmap(slot, a, b);
  }

  /**
   * Record a sparse mapping [a, b) → vbase in a slot of `as`: the first slot of that addrspace
   * whose records do not overlap the range, else the first free slot, else
   * MEMEXTENT_MAPPINGS_FULL (§10.3). Returns an error or OK; the slot index is in `lastSlot`.
   */
  private addSparseRecord(as: Addrspace, a: Ppn, b: Ppn, vbase: Ipn, attrs: number): number {
    let empty = -1;
    for (let i = 0; i < this.slots.length; i++) {
      const s = this.slots[i];
      if (s && s.as === as) {
        if (!s.records.overlaps(a, b)) {
          s.records.set(a, b, { vbase, attrs });
          this.lastSlot = i;
          return Err.OK;
        }
      } else if (!s && empty < 0) {
        empty = i;
      }
    }
    if (empty < 0) return Err.MEMEXTENT_MAPPINGS_FULL;
    this.newSlot(empty, as).records.set(a, b, { vbase, attrs });
    this.lastSlot = empty;
    return Err.OK;
  }

  /** The BASIC mapping of (as, vbase), or -1. */
  private findBasic(as: Addrspace, vbase: Ipn): number {
    for (let i = 0; i < this.slots.length; i++) {
      const s = this.slots[i];
      if (s && s.as === as && s.records.first()?.[2].vbase === vbase) return i;
    }
    return -1;
  }

  // ---------------------------------------------------------------------------------------------
  // Map / unmap / update access (§10.4). The caller (the hypercall) has checked reserved bits,
  // alignment, sizes and attributes in the spec's order; these are the type-specific parts.
  // ---------------------------------------------------------------------------------------------

  /** addrspace_map of the whole extent at `vbase` (bytes, page-aligned). */
  map(as: Addrspace, vbase: bigint, attrs: number): number {
    if (this.kind === MEMEXTENT_TYPE.SPARSE) return this.mapSparse(as, vbase, 0, this.pages, attrs);
    if (vbase + (BigInt(this.pages) << 12n) - 1n >= TWO64) return Err.ADDR_OVERFLOW;
    let free = -1;
    for (let i = 0; i < this.slots.length && free < 0; i++) if (this.slots[i] === null) free = i;
    if (free < 0) return Err.MEMEXTENT_MAPPINGS_FULL;
    const ipn = Number(vbase >> 12n);
    // [infer] The stage-2 tables cover a 36-bit IPA space; a mapping beyond it fails to map.
    if (!Stage2.inRange(ipn, this.pages)) return Err.ADDR_INVALID;
    const slot = this.newSlot(free, as);
    slot.records.set(this.base, this.end, { vbase: ipn, attrs: maskMappingAccess(attrs, this.access) });
    this.slotMap(slot, this.base, this.end);
    return Err.OK;
  }

  /** addrspace_map with the partial flag: [offset, offset + pages) of a SPARSE extent. */
  mapPartial(as: Addrspace, vbase: bigint, offset: number, pages: number, attrs: number): number {
    if (this.kind !== MEMEXTENT_TYPE.SPARSE) return Err.MEMEXTENT_TYPE;
    return this.mapSparse(as, vbase, offset, pages, attrs);
  }

  private mapSparse(as: Addrspace, vbase: bigint, offset: number, pages: number, attrs: number): number {
    const e = sparseVbaseCheck(vbase, pages);
    if (e !== Err.OK) return e;
    const ipn = Number(vbase >> 12n);
    const a = this.base + offset;
    const r = this.addSparseRecord(as, a, a + pages, ipn, attrs);
    if (r !== Err.OK) return r;
    this.slotMap(this.slots[this.lastSlot]!, a, a + pages);
    return Err.OK;
  }

  /** addrspace_unmap of the mapping at `vbase` (the whole extent). */
  unmap(as: Addrspace, vbase: bigint): number {
    if (this.kind === MEMEXTENT_TYPE.SPARSE) return this.unmapSparse(as, vbase, 0, this.pages);
    const i = this.findBasic(as, Number(vbase >> 12n));
    if (i < 0) return Err.ADDR_INVALID;
    this.slotUnmap(this.slots[i]!, this.base, this.end);
    this.freeSlot(i);
    return Err.OK;
  }

  unmapPartial(as: Addrspace, vbase: bigint, offset: number, pages: number): number {
    if (this.kind !== MEMEXTENT_TYPE.SPARSE) return Err.MEMEXTENT_TYPE;
    return this.unmapSparse(as, vbase, offset, pages);
  }

  /**
   * Remove the records of [offset, offset + pages) → vbase from the first slot of `as` that holds
   * exactly that (linear, any attributes); ADDR_INVALID if none does (§10.4).
   */
  private unmapSparse(as: Addrspace, vbase: bigint, offset: number, pages: number): number {
    const e = sparseVbaseCheck(vbase, pages);
    if (e !== Err.OK) return e;
    const ipn = Number(vbase >> 12n);
    const a = this.base + offset;
    const b = a + pages;
    for (let i = 0; i < this.slots.length; i++) {
      const s = this.slots[i];
      if (!s || s.as !== as || !recordsAre(s.records, a, b, ipn, -1)) continue;
      this.slotUnmap(s, a, b);
      s.records.set(a, b, null);
      if (s.records.size === 0) this.freeSlot(i);
      return Err.OK;
    }
    return Err.ADDR_INVALID;
  }

  /** addrspace_update_access of the mapping at `vbase` (the whole extent). */
  updateAccess(as: Addrspace, vbase: bigint, user: number, kernel: number): number {
    if (this.kind === MEMEXTENT_TYPE.SPARSE) return this.updateSparse(as, vbase, 0, this.pages, user, kernel);
    const i = this.findBasic(as, Number(vbase >> 12n));
    if (i < 0) return Err.ADDR_INVALID;
    const slot = this.slots[i]!;
    const old = slot.records.first()![2];
    const attrs = mappingAttrs(user & this.access, kernel & this.access, mappingMemtype(old.attrs));
    slot.records.set(this.base, this.end, { vbase: old.vbase, attrs });
    this.slotMap(slot, this.base, this.end);
    return Err.OK;
  }

  updateAccessPartial(
    as: Addrspace,
    vbase: bigint,
    offset: number,
    pages: number,
    user: number,
    kernel: number,
  ): number {
    if (this.kind !== MEMEXTENT_TYPE.SPARSE) return Err.MEMEXTENT_TYPE;
    return this.updateSparse(as, vbase, offset, pages, user, kernel);
  }

  /**
   * Change the access of a sparse mapping: the first slot of `as` whose record for the range's
   * first page has this vbase; the whole range must be one mapping with one set of attributes
   * (the memory type is kept). [infer] The snapshot's code never selects the slot it found and so
   * always answers ADDR_INVALID; we implement the evident intent (the spec's "changes user/kernel
   * access of an existing mapping") and answer ADDR_INVALID when no such mapping covers the range.
   */
  private updateSparse(
    as: Addrspace,
    vbase: bigint,
    offset: number,
    pages: number,
    user: number,
    kernel: number,
  ): number {
    const e = sparseVbaseCheck(vbase, pages);
    if (e !== Err.OK) return e;
    const ipn = Number(vbase >> 12n);
    const a = this.base + offset;
    const b = a + pages;
    for (const s of this.slots) {
      if (!s || s.as !== as) continue;
      const first = s.records.get(a);
      if (!first || first.vbase !== ipn) continue;
      if (!recordsAre(s.records, a, b, ipn, first.attrs)) return Err.ADDR_INVALID;
      s.records.set(a, b, { vbase: ipn, attrs: mappingAttrs(user, kernel, mappingMemtype(first.attrs)) });
      this.slotMap(s, a, b);
      return Err.OK;
    }
    return Err.ADDR_INVALID;
  }

  /** memextent_modify UNMAP_ALL: every mapping of the extent, from every addrspace. */
  unmapAll(): void {
    for (let i = 0; i < this.slots.length; i++) {
      const s = this.slots[i];
      if (!s) continue;
      this.slotUnmap(s, this.base, this.end);
      this.freeSlot(i);
    }
  }

  /**
   * memextent_modify ZERO_RANGE / CACHE_CLEAN_RANGE / CACHE_FLUSH_RANGE on the owned pages of
   * [offset, offset + size) (§10.4, in the spec's check order). Caches are not modelled: clean and
   * flush only validate.
   */
  cleanRange(op: number, offset: bigint, size: bigint): number {
    if (this.memtype === MEMEXTENT_MEMTYPE.DEVICE || (this.access & PGTABLE_ACCESS.W) === 0) return Err.DENIED;
    if (((offset | size) & PAGE_MASK) !== 0n) return Err.ARGUMENT_ALIGNMENT;
    const phys = (BigInt(this.base) << 12n) + offset;
    if (phys >= TWO64) return Err.ARGUMENT_INVALID;
    if (size === 0n || phys + size - 1n >= TWO64) return Err.ARGUMENT_SIZE;
    if (phys + size > BigInt(this.end) << 12n) return Err.ARGUMENT_INVALID;
    if (op === MODIFY_OP.ZERO_RANGE) {
      const a = Number(phys >> 12n);
      const b = a + Number(size >> 12n);
      const ram = this.mem.phys;
      for (const [ra, rb] of this.mem.memdb.runs(a, b, this)) {
        // Owned pages outside RAM would be device memory, which DENIED already excluded.
        const lo = Math.max(ra * PAGE_SIZE, ram.base);
        const hi = Math.min(rb * PAGE_SIZE, ram.base + ram.size);
        if (lo < hi) ram.zero(lo, hi - lo);
      }
    }
    return Err.OK;
  }

  /** Pages of the extent's range it owns now. */
  get ownedPages(): number {
    return this.mem.memdb.countOwned(this, this.base, this.end);
  }

  get active(): boolean {
    return this.state === ObjState.ACTIVE;
  }
}

/**
 * The vbase limits of sparse mappings: vbase + size − 1 must be below 2^48 (the record's vbase
 * field, ADDR_INVALID, §10.4) and — [infer] — inside the 36-bit IPA space, so that a later
 * donation can never fail half-way on an unmappable IPA (ADDR_INVALID as well). A wrapping range
 * is ADDR_OVERFLOW (the partial path rejected it earlier as ARGUMENT_SIZE).
 */
function sparseVbaseCheck(vbase: bigint, pages: number): number {
  const last = vbase + (BigInt(pages) << 12n) - 1n;
  if (last >= TWO64) return Err.ADDR_OVERFLOW;
  if (last >= SPARSE_VBASE_LIMIT) return Err.ADDR_INVALID;
  if (!Stage2.inRange(Number(vbase >> 12n), pages)) return Err.ADDR_INVALID;
  return Err.OK;
}

/** Whether [a, b) is wholly recorded as mapping to vbase + (p − a), with `attrs` unless −1. */
function recordsAre(records: IntervalMap<MappingRecord>, a: Ppn, b: Ppn, vbase: Ipn, attrs: number): boolean {
  if (!records.covers(a, b)) return false;
  let ok = true;
  records.forEachIn(a, b, (lo, _hi, rec) => {
    if (rec.vbase !== vbase + (lo - a) || (attrs !== -1 && rec.attrs !== attrs)) ok = false;
  });
  return ok;
}

/**
 * Move ownership of [a, b) from `from` to `to` (partitions or extents), all or nothing
 * (MEMDB_NOT_OWNER unless `from` owns every page), moving the live mappings with it: the donor's
 * entries for those pages are removed before the pages leave it, and the receiver's records
 * become live once they arrive.
 */
export function transfer(mem: HypMemory, from: MemOwner, to: MemOwner, a: Ppn, b: Ppn): number {
  const db = mem.memdb;
  if (!db.ownsAll(a, b, from)) return Err.MEMDB_NOT_OWNER;
  if (from instanceof MemExtent) from.liveUnmap(a, b);
  db.update(a, b, to, from);
  if (to instanceof MemExtent) to.liveMap(a, b);
  return Err.OK;
}

/** Range checks shared by the donate paths: offset/size relative to `me` (§10.4). */
function donateRange(me: MemExtent, offset: bigint, size: bigint): { a: Ppn; b: Ppn } | number {
  if (((offset | size) & PAGE_MASK) !== 0n) return Err.ARGUMENT_ALIGNMENT;
  const phys = (BigInt(me.base) << 12n) + offset;
  if (phys >= TWO64) return Err.ARGUMENT_INVALID;
  if (size === 0n || phys + size - 1n >= TWO64) return Err.ARGUMENT_SIZE;
  if (phys + size > BigInt(me.end) << 12n) return Err.ARGUMENT_INVALID;
  const a = Number(phys >> 12n);
  return { a, b: a + Number(size >> 12n) };
}

/**
 * memextent_donate TO_CHILD (`reverse` false) or TO_PARENT (true) once the caller has checked that
 * the other party really is the child's parent (extent) or partition. Offset is relative to the
 * child's base.
 */
export function donateChild(child: MemExtent, offset: bigint, size: bigint, reverse: boolean): number {
  const r = donateRange(child, offset, size);
  if (typeof r === 'number') return r;
  if (child.kind !== MEMEXTENT_TYPE.SPARSE) return Err.MEMEXTENT_TYPE;
  const parent: MemOwner = child.parent ?? child.partition;
  if (child.parent !== null && child.parent.kind !== MEMEXTENT_TYPE.SPARSE) return Err.ARGUMENT_INVALID;
  return reverse ? transfer(child.mem, child, parent, r.a, r.b) : transfer(child.mem, parent, child, r.a, r.b);
}

/** memextent_donate TO_SIBLING: offset relative to `from`'s base, range inside both (§10.4). */
export function donateSibling(from: MemExtent, to: MemExtent, offset: bigint, size: bigint): number {
  const r = donateRange(from, offset, size);
  if (typeof r === 'number') return r;
  if (r.a < to.base || r.b > to.end) return Err.ARGUMENT_INVALID;
  if (from === to || from.parent === null || from.parent !== to.parent) return Err.ARGUMENT_INVALID;
  if (from.kind !== MEMEXTENT_TYPE.SPARSE) return Err.MEMEXTENT_TYPE;
  if (to.kind !== MEMEXTENT_TYPE.SPARSE) return Err.ARGUMENT_INVALID;
  return transfer(from.mem, from, to, r.a, r.b);
}
