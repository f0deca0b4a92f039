// The decoder generated from the encoding table. Rows are bucketed by op0 (bits 28:25, the Arm
// ARM's top-level split) and, within a bucket, tried most specific first, so a row with more
// fixed bits (an alias or a sub-encoding) wins over a general one. Decoding is cached per
// instruction word by the CPU, so this search runs once per distinct word.

import type { Group, InsnRow } from './table.js';

export class Decoder {
  private readonly buckets: InsnRow[][] = [];
  readonly rows: readonly InsnRow[];
  /**
   * Rows that access SIMD&FP state, which CPACR_EL1.FPEN can trap: the FP/AdvSIMD group and the
   * loads/stores whose V bit (26) is fixed at 1.
   */
  readonly fpRows: ReadonlySet<InsnRow>;

  constructor(groups: readonly Group[], fpGroup?: Group) {
    const rows = groups.flatMap((g) => g.rows);
    this.rows = rows;
    const V = 1 << 26;
    this.fpRows = new Set(
      rows.filter(
        (r) =>
          (fpGroup !== undefined && fpGroup.rows.includes(r)) ||
          (r.mask & V && r.value & V && (r.value & 0x0a000000) === 0x08000000),
      ),
    );
    for (let op0 = 0; op0 < 16; op0++) {
      const probe = op0 << 25;
      const bucket = rows.filter((r) => ((probe ^ r.value) & r.mask & 0x1e000000) === 0);
      bucket.sort((a, b) => popcount(b.mask) - popcount(a.mask));
      this.buckets.push(bucket);
    }
  }

  /** The row that encodes `insn`, or undefined when the encoding is unallocated or not modelled. */
  decode(insn: number): InsnRow | undefined {
    const bucket = this.buckets[(insn >>> 25) & 15]!;
    for (const r of bucket) {
      if (((insn ^ r.value) & r.mask) === 0 && (r.ok === undefined || r.ok(insn))) return r;
    }
    return undefined;
  }
}

function popcount(x: number): number {
  let n = 0;
  for (let v = x >>> 0; v !== 0; v &= v - 1) n++;
  return n;
}
