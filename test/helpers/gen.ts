// Seeded random instruction generator for the differential tests (DESIGN.md §6): picks rows of
// the encoding table (src/arch/aarch64/decode/all.ts), fills their fields and don't-care bits at
// random until the decoder maps the word back to that row (so `ok` guards are respected), and
// builds an initial CPU state in which loads and stores hit a mapped data window.
// Deterministic: the same seed gives the same cases on every machine (no Math.random).

import type { Decoder } from '../../src/arch/aarch64/decode/decoder.js';
import type { Group, InsnRow } from '../../src/arch/aarch64/decode/table.js';

// ---- the memory layout shared by our CPU and the oracle ----

/** RAM (and Unicorn's mapped memory) is this one window; both sides start from the same bytes. */
export const WINDOW_BASE = 0x40000000;
export const WINDOW_SIZE = 0x400000;
/** Code and data addresses cluster here, so every PC-relative literal (±1 MiB) stays in the window. */
export const WINDOW_CENTER = WINDOW_BASE + WINDOW_SIZE / 2;
/**
 * Loads and stores with a base register land within this distance of the centre (base jitter
 * ±2 KiB plus scaled 12-bit offsets up to 64 KiB); our side checks this region for writes after
 * each load/store case and the whole window at the end of a batch.
 */
export const NEAR_REGION = 0x14000;

// ---- PRNG: sfc32 seeded through splitmix32 ----

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** Uniform 32-bit unsigned integer. */
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform integer in [0, n) for n ≤ 2^32. */
  below(n: number): number {
    return Math.floor((this.u32() / 4294967296) * n);
  }

  /** Uniform integer in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number {
    return lo + this.below(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.u32() / 4294967296 < p;
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.below(xs.length)]!;
  }

  u64(): bigint {
    return (BigInt(this.u32()) << 32n) | BigInt(this.u32());
  }

  fill(bytes: Uint8Array): void {
    const n = bytes.length & ~3;
    for (let i = 0; i < n; i += 4) {
      const v = this.u32();
      bytes[i] = v;
      bytes[i + 1] = v >>> 8;
      bytes[i + 2] = v >>> 16;
      bytes[i + 3] = v >>> 24;
    }
    for (let i = n; i < bytes.length; i++) bytes[i] = this.u32();
  }
}

/** The initial contents of the data window for a batch (random bytes, a few zero and 0xff runs). */
export function makeWindow(seed: number): Uint8Array {
  const w = new Uint8Array(WINDOW_SIZE);
  const rng = new Rng(seed ^ 0x5eed5eed);
  rng.fill(w);
  for (let k = 0; k < 64; k++) {
    const at = WINDOW_CENTER - NEAR_REGION + rng.below(2 * NEAR_REGION - 256);
    w.fill(rng.chance(0.5) ? 0 : 0xff, at, at + rng.int(8, 256));
  }
  return w;
}

// ---- rows ----

export type RowKind = 'ldst' | 'fp' | 'branch' | 'other';

/** What the differential test must set up and compare for a row, from its group. */
export function rowKind(row: InsnRow): RowKind {
  const g = row.group;
  if (/load|store|ldst/i.test(g)) return 'ldst';
  if (/\bfp\b|float|simd|neon|vector/i.test(g)) return 'fp';
  if (/branch/i.test(g)) return 'branch';
  return 'other';
}

/** Whether the case initialises and compares V0–V31, FPCR and FPSR. */
export function usesV(row: InsnRow): boolean {
  const k = rowKind(row);
  return k === 'fp' || k === 'ldst';
}

// ---- Unicorn 2.0.1 (QEMU 5.0) errata the generator steers around ----
// Each is a deviation of the oracle from the Arm ARM, confirmed by hand against the pseudocode;
// the generator shapes the inputs so the oracle's answer is the architectural one, and says so
// here rather than hiding a mismatch.

/**
 * E1/E2: QEMU 5.0 does not check the alignment of ordered accesses (LDAR, STLR, LDLAR, STLLR; the
 * Arm ARM's CheckAlignment faults for AccType_ORDERED whatever SCTLR.A) and fails a store-exclusive
 * whose monitor is open without the alignment check that AArch64.ExclusiveMonitorsPass makes
 * first. Such rows get naturally aligned (16-byte) addresses; the alignment fault paths stay
 * covered by LDXR/LDAXR and the LSE atomics, which QEMU checks.
 */
export const ERRATUM_ALIGN_UNCHECKED = /^(STLLR|LDLAR|STLR|LDAR|LDAPR|STXR|STLXR|STXP|STLXP)\b/;

/**
 * E3: QEMU 5.0's non-parallel LD<op> (Unicorn runs single-threaded) compares the memory operand
 * zero-extended from the access size with all 64 bits of Rs, so LDSMAX/LDSMIN/LDUMAX/LDUMIN (and
 * their ST aliases) of bytes, halfwords and words are wrong when Rs is not extended or, for the
 * signed ones, when the value in memory is negative. Those cases get Rs extended from the size and,
 * for the signed ones, an address holding a non-negative value.
 */
export const ERRATUM_ATOMIC_MINMAX = /^LD<op>/;

/** Register fields that address memory or must not alias in loads and stores. */
const LDST_REG_FIELDS = ['Rt', 'Rt2', 'Rs', 'Rn', 'Rm'];

export interface TestCase {
  readonly id: number;
  readonly row: InsnRow;
  /** The instruction word, unsigned. */
  readonly insn: number;
  readonly pc: number;
  /** X0..X30 then SP (slot 31), as in `Cpu.x`. */
  readonly x: BigUint64Array;
  readonly nzcv: number;
  /** Q0..Q31 as lo/hi 64-bit halves (as in `Cpu.v`), or null when the row does not use V registers. */
  readonly v: BigUint64Array | null;
  readonly fpcr: number;
  readonly fpsr: number;
}

export interface GeneratorOptions {
  /** Only rows whose group name contains this (case-insensitive). */
  group?: string;
  /** Only rows whose name contains this (case-insensitive). */
  row?: string;
  /** Attempts to hit a row before it is declared ungeneratable. */
  maxTries?: number;
  /** Also generate `noRandom` rows (for disassembly, which executes nothing). */
  includeNoRandom?: boolean;
}

const SPECIAL64: readonly bigint[] = [
  0n,
  1n,
  2n,
  0xffffffffffffffffn,
  0xfffffffffffffffen,
  0x7fffffffffffffffn,
  0x8000000000000000n,
  0x8000000000000001n,
  0xffffffffn,
  0x7fffffffn,
  0x80000000n,
  0x100000000n,
  0xffffffff80000000n,
  0xffffffff7fffffffn,
  0x00000000ffff0000n,
  0xaaaaaaaaaaaaaaaan,
  0x5555555555555555n,
  0x0123456789abcdefn,
  63n,
  64n,
  31n,
  32n,
];

const F64_SPECIAL: readonly bigint[] = [
  0x0000000000000000n, // +0
  0x8000000000000000n, // -0
  0x3ff0000000000000n, // 1
  0xbff0000000000000n, // -1
  0x3fe0000000000000n, // 0.5
  0x4000000000000000n, // 2
  0x7ff0000000000000n, // +inf
  0xfff0000000000000n, // -inf
  0x7ff8000000000000n, // default qNaN
  0x7ff4000000000001n, // sNaN
  0xfff8000000000123n, // negative qNaN with payload
  0x0010000000000000n, // min normal
  0x000fffffffffffffn, // max subnormal
  0x0000000000000001n, // min subnormal
  0x7fefffffffffffffn, // max finite
  0x41dfffffffc00000n, // 2^31 - 1
  0x43e0000000000000n, // 2^63
  0xc3e0000000000000n, // -2^63
  0x3fdfffffffffffffn, // just below 0.5
  0x4004000000000000n, // 2.5
];

const F32_SPECIAL: readonly number[] = [
  0x00000000, 0x80000000, 0x3f800000, 0xbf800000, 0x3f000000, 0x40000000, 0x7f800000, 0xff800000, 0x7fc00000,
  0x7fa00001, 0xffc00123, 0x00800000, 0x007fffff, 0x00000001, 0x7f7fffff, 0x4f000000, 0xcf000000, 0x5f000000,
  0x3effffff, 0x40200000,
];

/** A 64-bit register value: biased towards boundaries, small numbers and sign-extended 32-bit values. */
export function randomX(rng: Rng): bigint {
  const r = rng.below(100);
  if (r < 35) return rng.u64();
  if (r < 55) return rng.pick(SPECIAL64);
  if (r < 70) return BigInt(rng.int(0, 300));
  if (r < 78) return BigInt.asUintN(64, BigInt(-rng.int(1, 300)));
  if (r < 90) {
    const lo = BigInt(rng.u32());
    return rng.chance(0.5) ? lo : lo | 0xffffffff00000000n;
  }
  return rng.u64() >> BigInt(rng.int(1, 63));
}

/** One 64-bit half of a vector register: raw bits, or lanes of interesting doubles or floats. */
export function randomV64(rng: Rng): bigint {
  const r = rng.below(100);
  if (r < 30) return rng.u64();
  if (r < 55) {
    if (rng.chance(0.6)) return rng.pick(F64_SPECIAL);
    // A moderate double: random sign, exponent near 1.0, random mantissa.
    const e = BigInt(1023 + rng.int(-70, 70));
    return (BigInt(rng.below(2)) << 63n) | (e << 52n) | (rng.u64() & 0xfffffffffffffn);
  }
  if (r < 85) {
    const lane = (): bigint => {
      if (rng.chance(0.5)) return BigInt(rng.pick(F32_SPECIAL));
      const e = 127 + rng.int(-40, 40);
      return BigInt(((rng.below(2) << 31) | (e << 23) | (rng.u32() & 0x7fffff)) >>> 0);
    };
    return (lane() << 32n) | lane();
  }
  return randomX(rng);
}

export class InsnGenerator {
  /** Rows the generator may produce (not `noRandom`, matching the filters). */
  readonly rows: readonly InsnRow[];
  readonly groups: readonly string[];
  private readonly byGroup = new Map<string, InsnRow[]>();
  /** Rows for which no random word decoded back to the row. */
  readonly ungeneratable = new Set<InsnRow>();
  private readonly maxTries: number;
  private roundRobin = 0;

  constructor(
    private readonly decoder: Decoder,
    groups: readonly Group[],
    private readonly window: Uint8Array,
    opts: GeneratorOptions = {},
  ) {
    const gf = opts.group?.toLowerCase();
    const rf = opts.row?.toLowerCase();
    const rows = groups
      .flatMap((g) => g.rows)
      .filter(
        (r) =>
          (!r.noRandom || opts.includeNoRandom === true) &&
          (gf === undefined || r.group.toLowerCase().includes(gf)) &&
          (rf === undefined || r.name.toLowerCase().includes(rf)),
      );
    this.rows = rows;
    for (const r of rows) {
      let list = this.byGroup.get(r.group);
      if (!list) this.byGroup.set(r.group, (list = []));
      list.push(r);
    }
    this.groups = [...this.byGroup.keys()];
    this.maxTries = opts.maxTries ?? 4000;
  }

  /**
   * The next row: first every row once, in table order (so each is covered whatever the count),
   * then a uniformly chosen group and a uniformly chosen row within it.
   */
  nextRow(rng: Rng): InsnRow | undefined {
    while (this.roundRobin < this.rows.length) {
      const r = this.rows[this.roundRobin++]!;
      if (!this.ungeneratable.has(r)) return r;
    }
    for (let attempt = 0; attempt < 64; attempt++) {
      const list = this.byGroup.get(rng.pick(this.groups))!;
      const r = rng.pick(list);
      if (!this.ungeneratable.has(r)) return r;
    }
    const live = this.rows.filter((r) => !this.ungeneratable.has(r));
    return live.length ? rng.pick(live) : undefined;
  }

  /** A random word that decodes to `row`, or undefined after `maxTries` attempts. */
  word(rng: Rng, row: InsnRow): number | undefined {
    const free = ~row.mask >>> 0;
    const ldst = rowKind(row) === 'ldst';
    const regFields = ldst ? row.fields.filter((f) => f.width === 5 && LDST_REG_FIELDS.includes(f.name)) : [];
    for (let t = 0; t < this.maxTries; t++) {
      let w = (row.value | (rng.u32() & free)) >>> 0;
      if (regFields.length > 1) w = this.distinctRegs(rng, w, regFields);
      if (this.decoder.decode(w | 0) === row) return w;
    }
    return undefined;
  }

  /**
   * Loads and stores whose registers overlap (Rt = Rn with write-back, Rt = Rt2 on a load pair,
   * Rs = Rt on a store-exclusive) are CONSTRAINED UNPREDICTABLE: two correct CPUs may differ.
   * Re-draw register fields until they are pairwise distinct (31 may repeat as XZR vs SP, except
   * Rt and Rt2).
   */
  private distinctRegs(rng: Rng, w: number, fields: readonly { name: string; lsb: number }[]): number {
    const isPair = (name: string): boolean => name === 'Rt' || name === 'Rt2';
    const assigned: { name: string; v: number }[] = [];
    let out = w;
    for (const f of fields) {
      const clash = (v: number): boolean =>
        assigned.some((a) => a.v === v && (v !== 31 || (isPair(a.name) && isPair(f.name))));
      let v = (out >>> f.lsb) & 31;
      for (let k = 0; k < 64 && clash(v); k++) v = rng.below(32);
      out = ((out & ~(31 << f.lsb)) | (v << f.lsb)) >>> 0;
      assigned.push({ name: f.name, v });
    }
    return out;
  }

  /** A whole test case for `row` (or the next row), or undefined if the row cannot be generated. */
  makeCase(rng: Rng, id: number, row?: InsnRow): TestCase | undefined {
    for (;;) {
      const r = row ?? this.nextRow(rng);
      if (!r) return undefined;
      const insn = this.word(rng, r);
      if (insn === undefined) {
        this.ungeneratable.add(r);
        if (row) return undefined;
        continue;
      }
      return this.state(rng, id, r, insn);
    }
  }

  private state(rng: Rng, id: number, row: InsnRow, insn: number): TestCase {
    const x = new BigUint64Array(32);
    for (let i = 0; i < 31; i++) x[i] = randomX(rng);
    x[31] = rng.chance(0.7) ? randomX(rng) & ~15n : randomX(rng);
    const pc = WINDOW_CENTER + 4 * rng.int(-512, 511);
    if (rowKind(row) === 'ldst') this.placeData(rng, row, insn, x);
    let v: BigUint64Array | null = null;
    let fpcr = 0;
    let fpsr = 0;
    if (usesV(row)) {
      v = new BigUint64Array(64);
      for (let i = 0; i < 64; i++) v[i] = randomV64(rng);
      if (rng.chance(0.35)) {
        // RMode (23:22), FZ (24), DN (25), AHP (26); exception trap enables stay 0 (QEMU has none).
        fpcr = (rng.below(8) << 24) | (rng.below(4) << 22);
      }
      if (rng.chance(0.3)) fpsr = (rng.u32() & 0x0800009f) >>> 0; // cumulative flags IOC..IXC, IDC, QC
    }
    return { id, row, insn, pc, x, nzcv: rng.below(16), v, fpcr, fpsr };
  }

  /** Point the base register into the data window, keep index registers small. */
  private placeData(rng: Rng, row: InsnRow, insn: number, x: BigUint64Array): void {
    const fieldOf = (name: string): number | undefined => {
      const f = row.fields.find((ff) => ff.name === name);
      return f ? (insn >>> f.lsb) & ((1 << f.width) - 1) : undefined;
    };
    const n = fieldOf('Rn');
    let addr = WINDOW_CENTER + 16 * rng.int(-128, 127);
    // SP is 16-byte aligned (a base of SP gets no jitter); other bases are sometimes unaligned.
    if (n !== 31 && rng.chance(0.15) && !ERRATUM_ALIGN_UNCHECKED.test(row.name)) addr += rng.int(1, 15);
    // E3 (see above): atomic min/max below 64 bits.
    const size = fieldOf('size');
    const opc = fieldOf('opc');
    let minmax: { bits: number; signed: boolean } | null = null;
    if (ERRATUM_ATOMIC_MINMAX.test(row.name) && size !== undefined && opc !== undefined && opc >= 4 && size < 3) {
      minmax = { bits: 8 << size, signed: opc < 6 };
      for (let k = 0; minmax.signed && k < 64; k++) {
        const top = this.window[addr - WINDOW_BASE + (1 << size) - 1]!;
        if ((top & 0x80) === 0) break;
        addr += 16;
      }
    }
    // SP always points into the window (16-byte aligned) for loads and stores, so [SP, ...] works.
    x[31] = BigInt(n === 31 ? addr : WINDOW_CENTER - 16 * rng.int(-128, 127));
    if (n !== undefined && n !== 31) x[n] = BigInt(addr);
    const m = fieldOf('Rm');
    if (m !== undefined && m !== 31 && m !== n) {
      x[m] = rng.chance(0.85) ? BigInt(rng.int(0, 64)) : BigInt.asUintN(64, BigInt(-rng.int(1, 64)));
    }
    const s = fieldOf('Rs');
    if (minmax && s !== undefined && s !== 31 && s !== n) {
      x[s] = minmax.signed ? BigInt.asUintN(64, BigInt.asIntN(minmax.bits, x[s]!)) : BigInt.asUintN(minmax.bits, x[s]!);
    }
    // Compare-and-swap: half the time make the comparison succeed with the bytes in memory.
    if (s !== undefined && s !== n && s + 1 !== n && /^CAS/i.test(row.name) && rng.chance(0.5)) {
      const off = addr - WINDOW_BASE;
      if (off >= 0 && off + 16 <= this.window.length) {
        const dv = new DataView(this.window.buffer, this.window.byteOffset);
        if (/CASP/i.test(row.name) && rng.chance(0.5)) {
          // 32-bit pair layout: W(s) and W(s+1) from consecutive words.
          if (s !== 31) x[s] = BigInt(dv.getUint32(off, true));
          if (s + 1 < 31) x[s + 1] = BigInt(dv.getUint32(off + 4, true));
        } else {
          if (s !== 31) x[s] = dv.getBigUint64(off, true);
          if (/CASP/i.test(row.name) && s + 1 < 31) x[s + 1] = dv.getBigUint64(off + 8, true);
        }
      }
    }
  }
}
