// A map from integer keys (page numbers) to values, stored as sorted, non-overlapping half-open
// intervals [start, end) — the shape shared by the memory database (PA page → owner), the stage-2
// tables (IPA page → PA page + attributes) and the memextent mapping records (PA page → IPA page
// + attributes) of hypervisor-abi.md §10. Costs depend on the number of intervals, never on the
// number of pages, so a 1 GiB VM (262,144 pages) in a few intervals is as cheap as one page.
// Gaps are "no value".
//
// Values may vary linearly along an interval (a stage-2 interval maps IPA page s+k to PA page
// pa+k): `shift(v, by)` gives the value of the piece starting `by` keys later, and `joins(a, b, d)`
// says whether `b` continues `a` when it starts `d` keys after `a` (then the two merge). Intervals
// are kept maximal, so equal maps have equal interval lists.
//
// Storage: the intervals live in chunks of at most 2 × CHUNK entries (the leaves of a one-level
// B+-tree), with each chunk's first start in `mins`. A change touches one or two chunks, so a
// memory database fragmented into 10^5 runs by page-by-page donation in random order still
// updates in microseconds; lookups are two binary searches, with a one-entry hint, and allocate
// nothing.

export interface IntervalOps<V> {
  /** The value of a piece that starts `by` keys after the start of an interval with value `v`. */
  shift(v: V, by: number): V;
  /** Whether `b` continues `a` when `b`'s interval starts `distance` keys after `a`'s. */
  joins(a: V, b: V, distance: number): boolean;
}

const CHUNK = 64;

interface Chunk<V> {
  s: number[];
  e: number[];
  v: V[];
}

export class IntervalMap<V> {
  private chunks: Chunk<V>[] = [];
  /** mins[c] = chunks[c].s[0]; every chunk is non-empty. */
  private mins: number[] = [];
  private n = 0;
  // The chunk and index of the last hit, and what `lookup` found (read right after a hit).
  private hc = 0;
  private hi = 0;
  hitStart = 0;
  hitEnd = 0;
  hitVal: V | undefined = undefined;

  constructor(
    private readonly ops: IntervalOps<V>,
    /** Chunk size (tests use tiny chunks to exercise splitting and merging across chunks). */
    private readonly chunk = CHUNK,
  ) {}

  /** Number of intervals. */
  get size(): number {
    return this.n;
  }

  /** Index of the last chunk whose first start is ≤ k, or -1. */
  private chunkAt(k: number): number {
    const m = this.mins;
    let lo = 0;
    let hi = m.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (m[mid]! <= k) lo = mid + 1;
      else hi = mid - 1;
    }
    return hi;
  }

  /** Index in `s` of the last start ≤ k, or -1. */
  private static lastAtOrBefore(s: number[], k: number): number {
    let lo = 0;
    let hi = s.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (s[mid]! <= k) lo = mid + 1;
      else hi = mid - 1;
    }
    return hi;
  }

  /**
   * Whether key `k` has a value; if so `hitStart`, `hitEnd` and `hitVal` describe its interval
   * (the value at `hitStart`). Does not allocate.
   */
  lookup(k: number): boolean {
    const chunks = this.chunks;
    let ch = chunks[this.hc];
    if (ch !== undefined) {
      const i = this.hi;
      if (i < ch.s.length && ch.s[i]! <= k && k < ch.e[i]!) {
        this.hitStart = ch.s[i]!;
        this.hitEnd = ch.e[i]!;
        this.hitVal = ch.v[i]!;
        return true;
      }
    }
    const c = this.chunkAt(k);
    if (c < 0) return false;
    ch = chunks[c]!;
    const i = IntervalMap.lastAtOrBefore(ch.s, k);
    if (i < 0 || k >= ch.e[i]!) return false;
    this.hc = c;
    this.hi = i;
    this.hitStart = ch.s[i]!;
    this.hitEnd = ch.e[i]!;
    this.hitVal = ch.v[i]!;
    return true;
  }

  /** The value at key `k` (shifted to `k`), or undefined. */
  get(k: number): V | undefined {
    if (!this.lookup(k)) return undefined;
    return k === this.hitStart ? this.hitVal : this.ops.shift(this.hitVal!, k - this.hitStart);
  }

  /** Position (chunk, index) of the first interval whose end is after `k`; chunk = length if none. */
  private firstEndingAfter(k: number): [number, number] {
    let c = this.chunkAt(k);
    if (c < 0) c = 0;
    const chunks = this.chunks;
    while (c < chunks.length) {
      const e = chunks[c]!.e;
      // First index with e > k (ends are sorted like starts).
      let lo = 0;
      let hi = e.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (e[mid]! <= k) lo = mid + 1;
        else hi = mid;
      }
      if (lo < e.length) return [c, lo];
      c++;
    }
    return [c, 0];
  }

  /**
   * Call `fn(start, end, value)` for each piece of [a, b) that has a value, clipped to [a, b),
   * with the value shifted to the piece's start. `fn` must not modify the map.
   */
  forEachIn(a: number, b: number, fn: (start: number, end: number, v: V) => void): void {
    if (a >= b) return;
    const chunks = this.chunks;
    let [c, i] = this.firstEndingAfter(a);
    for (; c < chunks.length; c++, i = 0) {
      const ch = chunks[c]!;
      for (; i < ch.s.length; i++) {
        const s = ch.s[i]!;
        if (s >= b) return;
        const lo = Math.max(a, s);
        fn(lo, Math.min(b, ch.e[i]!), lo === s ? ch.v[i]! : this.ops.shift(ch.v[i]!, lo - s));
      }
    }
  }

  /** The pieces of [a, b) that have a value, as a list (safe to modify the map afterwards). */
  piecesIn(a: number, b: number): [number, number, V][] {
    const out: [number, number, V][] = [];
    this.forEachIn(a, b, (lo, hi, v) => out.push([lo, hi, v]));
    return out;
  }

  /** Whether every key of [a, b) has a value. */
  covers(a: number, b: number): boolean {
    let k = a;
    this.forEachIn(a, b, (lo, hi) => {
      if (lo === k) k = hi;
    });
    return k >= b;
  }

  /** Whether any key of [a, b) has a value. */
  overlaps(a: number, b: number): boolean {
    if (a >= b) return false;
    const [c, i] = this.firstEndingAfter(a);
    return c < this.chunks.length && this.chunks[c]!.s[i]! < b;
  }

  /** Number of keys with a value in [a, b). */
  countIn(a: number, b: number): number {
    let n = 0;
    this.forEachIn(a, b, (lo, hi) => (n += hi - lo));
    return n;
  }

  /** The first and last interval, or undefined when empty. */
  first(): [number, number, V] | undefined {
    const ch = this.chunks[0];
    return ch ? [ch.s[0]!, ch.e[0]!, ch.v[0]!] : undefined;
  }
  last(): [number, number, V] | undefined {
    const ch = this.chunks[this.chunks.length - 1];
    if (!ch) return undefined;
    const i = ch.s.length - 1;
    return [ch.s[i]!, ch.e[i]!, ch.v[i]!];
  }

  /** Give every key of [a, b) the value `v` (shifted along the range); `null` removes them. */
  set(a: number, b: number, v: V | null): void {
    if (a >= b) return;
    this.splitAt(a);
    this.splitAt(b);
    this.removeStartsIn(a, b);
    if (v !== null) {
      this.insert(a, b, v);
      // Keep intervals maximal: merge with the neighbours the new interval continues.
      this.mergeAt(b);
      this.mergeAt(a);
    }
    this.hc = 0;
    this.hi = 0;
  }

  clear(): void {
    this.chunks = [];
    this.mins = [];
    this.n = 0;
    this.hc = 0;
    this.hi = 0;
  }

  /** Every interval as [start, end, value] (inspection and tests). */
  entries(): [number, number, V][] {
    const out: [number, number, V][] = [];
    for (const ch of this.chunks) for (let i = 0; i < ch.s.length; i++) out.push([ch.s[i]!, ch.e[i]!, ch.v[i]!]);
    return out;
  }

  // --- structural primitives ---------------------------------------------------------------

  /** Position of the interval containing k, or null. */
  private locate(k: number): [number, number] | null {
    const c = this.chunkAt(k);
    if (c < 0) return null;
    const ch = this.chunks[c]!;
    const i = IntervalMap.lastAtOrBefore(ch.s, k);
    return i >= 0 && k < ch.e[i]! ? [c, i] : null;
  }

  /** Make k an interval boundary: split the interval that contains it strictly inside. */
  private splitAt(k: number): void {
    const p = this.locate(k);
    if (p === null) return;
    const [c, i] = p;
    const ch = this.chunks[c]!;
    const s = ch.s[i]!;
    if (s === k) return;
    const e = ch.e[i]!;
    ch.e[i] = k;
    this.insertInChunk(c, i + 1, k, e, this.ops.shift(ch.v[i]!, k - s));
  }

  /** Remove every interval whose start lies in [a, b) (after splitAt(a), splitAt(b)). */
  private removeStartsIn(a: number, b: number): void {
    let [c, i] = this.firstEndingAfter(a);
    while (c < this.chunks.length) {
      const ch = this.chunks[c]!;
      let j = i;
      while (j < ch.s.length && ch.s[j]! < b) j++;
      const stoppedInside = j < ch.s.length;
      if (j > i) {
        ch.s.splice(i, j - i);
        ch.e.splice(i, j - i);
        ch.v.splice(i, j - i);
        this.n -= j - i;
      }
      if (ch.s.length === 0) {
        this.chunks.splice(c, 1);
        this.mins.splice(c, 1);
      } else {
        this.mins[c] = ch.s[0]!;
        c++;
      }
      if (stoppedInside) return;
      i = 0;
    }
  }

  /** Insert [a, b) → v where no interval overlaps it. */
  private insert(a: number, b: number, v: V): void {
    if (this.chunks.length === 0) {
      this.chunks.push({ s: [a], e: [b], v: [v] });
      this.mins.push(a);
      this.n = 1;
      return;
    }
    const c = Math.max(0, this.chunkAt(a));
    const ch = this.chunks[c]!;
    this.insertInChunk(c, IntervalMap.lastAtOrBefore(ch.s, a) + 1, a, b, v);
  }

  private insertInChunk(c: number, i: number, a: number, b: number, v: V): void {
    const ch = this.chunks[c]!;
    ch.s.splice(i, 0, a);
    ch.e.splice(i, 0, b);
    ch.v.splice(i, 0, v);
    this.n++;
    this.mins[c] = ch.s[0]!;
    if (ch.s.length > 2 * this.chunk) {
      const k = this.chunk;
      const right: Chunk<V> = { s: ch.s.splice(k), e: ch.e.splice(k), v: ch.v.splice(k) };
      this.chunks.splice(c + 1, 0, right);
      this.mins.splice(c + 1, 0, right.s[0]!);
    }
  }

  /** Merge the interval ending at k with the one starting at k when the second continues the first. */
  private mergeAt(k: number): void {
    const r = this.locate(k);
    const l = this.locate(k - 1);
    if (r === null || l === null) return;
    const lc = this.chunks[l[0]]!;
    const rc = this.chunks[r[0]]!;
    if (lc.e[l[1]] !== k || rc.s[r[1]] !== k) return;
    const ls = lc.s[l[1]]!;
    if (!this.ops.joins(lc.v[l[1]]!, rc.v[r[1]]!, k - ls)) return;
    lc.e[l[1]] = rc.e[r[1]]!;
    rc.s.splice(r[1], 1);
    rc.e.splice(r[1], 1);
    rc.v.splice(r[1], 1);
    this.n--;
    if (rc.s.length === 0) {
      this.chunks.splice(r[0], 1);
      this.mins.splice(r[0], 1);
    } else {
      this.mins[r[0]] = rc.s[0]!;
    }
  }
}
