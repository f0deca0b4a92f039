// Stage-2 translation tables of one address space (hypervisor-abi.md §10.4–10.5): IPA page → PA
// page with per-page EL0 ("user") and EL1 ("kernel") access and a stage-2 memory type, stored as
// maximal intervals along which the PA advances with the IPA. IPA size 36 bits, 4 KiB granule.
//
// Semantics of the real page tables that the memextent code relies on: `map` overwrites whatever
// is there (Gunyah maps extents without try_map), and `unmapMatching` removes only entries that
// still point at the PAs being unmapped, so unmapping one extent never tears down another extent's
// mapping that replaced it.
//
// CPUs cache translations in their TLBs; every change is reported to the `onChange` listeners at
// once (with the IPA page range), and `generation` counts changes, so an unmap or a permission
// change takes effect before the next guest instruction. `translate` is the hot path of the CPU's
// stage-2 hook: a binary search with a one-entry hint, no allocation.
//
// Per-EL access: stage-2 descriptors have one R/W permission for EL0 and EL1 and, with FEAT_XNX,
// separate execute-never bits. Gunyah's mapping attributes carry a full user and kernel access;
// we enforce each in full for its exception level (our choice, [infer]: identical to the hardware
// whenever user and kernel R/W agree, as in every mapping the RM makes).

import { IntervalMap } from './interval-map.js';
import { IPA_PAGES, PAGE_SIZE, kernelAccess, userAccess } from './attrs.js';

/** IPA page number (IPA >> 12). */
export type Ipn = number;

/** Result of `translate` when no page is mapped at the IPA (stage-2 translation fault). */
export const S2_TRANSLATION_FAULT = -1;
/** Result of `translate` when the page is mapped without the access asked for (permission fault). */
export const S2_PERMISSION_FAULT = -2;

/** One interval's value at its first IPA page: PA page and memextent_mapping_attrs. */
export interface S2Entry {
  readonly pa: number;
  readonly attrs: number;
}

/**
 * Access kinds as the CPU's stage-2 hook passes them (arch/aarch64 `Access`: Read 1, Write 2,
 * Fetch 4) → pgtable_access bits (R 4, W 2, X 1).
 */
const CPU_ACCESS_TO_PGTABLE = new Uint8Array([0, 4, 2, 0, 1, 0, 0, 0]);
/** pgtable_access → the CPU's Access bits (for TLB permission caching). */
const PGTABLE_TO_CPU_ACCESS = new Uint8Array([0, 4, 2, 6, 1, 5, 3, 7]);

export type Stage2Listener = (ipnStart: Ipn, ipnEnd: Ipn) => void;

export class Stage2 {
  private readonly map = new IntervalMap<S2Entry>({
    shift: (v, by) => ({ pa: v.pa + by, attrs: v.attrs }),
    joins: (a, b, d) => a.attrs === b.attrs && a.pa + d === b.pa,
  });
  /** Incremented on every change; a CPU can compare it with the value its TLB was filled at. */
  generation = 0;
  /** Called synchronously after each change with the IPA page range affected. */
  readonly listeners = new Set<Stage2Listener>();
  /**
   * After a successful `translate`: what the page allows at that exception level, in the CPU's
   * Access bits (Read 1, Write 2, Fetch 4), so the TLB can cache the stage-2 rights too.
   */
  lastAllowed = 0;

  /**
   * Translate the page-aligned IPA `ipa` for a CPU access (`acc`: the CPU's Access value) at
   * exception level `el` (0 uses the user access, 1 the kernel access). Returns the page-aligned
   * PA, or S2_TRANSLATION_FAULT / S2_PERMISSION_FAULT. Does not allocate.
   */
  translate(ipa: number, acc: number, el: number): number {
    const m = this.map;
    const page = Math.floor(ipa / PAGE_SIZE);
    if (!m.lookup(page)) return S2_TRANSLATION_FAULT;
    const v = m.hitVal!;
    const allowed = el === 0 ? v.attrs & 7 : (v.attrs >>> 4) & 7;
    if ((allowed & CPU_ACCESS_TO_PGTABLE[acc & 7]!) === 0) return S2_PERMISSION_FAULT;
    this.lastAllowed = PGTABLE_TO_CPU_ACCESS[allowed]!;
    return (v.pa + (page - m.hitStart)) * PAGE_SIZE;
  }

  /** The entry for one IPA page (PA page and attributes), or undefined. */
  lookupPage(ipn: Ipn): S2Entry | undefined {
    return this.map.get(ipn);
  }

  /**
   * The mapping at `ipn` and how far it runs with contiguous PAs and identical attributes, capped
   * at `maxPages` (addrspace_lookup). Null when nothing is mapped there.
   */
  run(ipn: Ipn, maxPages: number): { pa: number; attrs: number; pages: number } | null {
    const m = this.map;
    if (!m.lookup(ipn)) return null;
    const v = m.hitVal!;
    // Intervals are maximal: the next one never continues this one.
    const pages = Math.min(m.hitEnd - ipn, maxPages);
    return { pa: v.pa + (ipn - m.hitStart), attrs: v.attrs, pages };
  }

  /** Whether [ipn, ipn + pages) lies inside the 36-bit IPA space. */
  static inRange(ipn: Ipn, pages: number): boolean {
    return ipn >= 0 && pages >= 0 && ipn + pages <= IPA_PAGES;
  }

  /** Map [ipn, ipn + pages) → [pa, pa + pages) with `attrs`, replacing what was there. */
  mapRange(ipn: Ipn, pa: number, pages: number, attrs: number): void {
    if (pages <= 0) return;
    this.map.set(ipn, ipn + pages, { pa, attrs });
    this.changed(ipn, ipn + pages);
  }

  /** Remove the entries of [ipn, ipn + pages) that map IPA ipn+k to PA pa+k (and no others). */
  unmapMatching(ipn: Ipn, pa: number, pages: number): void {
    if (pages <= 0) return;
    let touched = false;
    for (const [a, b, v] of this.map.piecesIn(ipn, ipn + pages)) {
      if (v.pa - a !== pa - ipn) continue; // another mapping replaced ours here
      this.map.set(a, b, null);
      touched = true;
    }
    if (touched) this.changed(ipn, ipn + pages);
  }

  /** Drop every entry (the address space is being destroyed). */
  clear(): void {
    const first = this.map.first();
    const last = this.map.last();
    if (!first || !last) return;
    const lo = first[0];
    const hi = last[1];
    this.map.clear();
    this.changed(lo, hi);
  }

  private changed(a: Ipn, b: Ipn): void {
    this.generation++;
    for (const fn of this.listeners) fn(a, b);
  }

  /** Number of mapped IPA pages (inspection). */
  get mappedPages(): number {
    let n = 0;
    for (const [a, b] of this.map.entries()) n += b - a;
    return n;
  }

  /** Every interval as [ipnStart, ipnEnd, paPageStart, attrs] (inspection and tests). */
  entries(): [Ipn, Ipn, number, number][] {
    return this.map.entries().map(([a, b, v]) => [a, b, v.pa, v.attrs]);
  }

  /** The access a page allows at an exception level (pgtable_access bits), or -1 if unmapped. */
  accessAt(ipn: Ipn, el: number): number {
    const v = this.map.get(ipn);
    if (!v) return -1;
    return el === 0 ? userAccess(v.attrs) : kernelAccess(v.attrs);
  }
}
