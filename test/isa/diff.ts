// The differential test of the CPU against Unicorn (DESIGN.md §6): random instructions from the
// encoding table run once on our CPU and once in Unicorn from the same initial state; the final
// X0–X30, SP, PC, NZCV, memory window and (for FP and load/store rows) V0–V31 and FPSR must agree.
// Used by unicorn.test.ts (the full run) and diff-cli.ts (one group while it is being written).

import { Cpu, vaOf, type PhysBus } from '../../src/arch/aarch64/cpu.js';
import { Decoder } from '../../src/arch/aarch64/decode/decoder.js';
import { ALL_GROUPS } from '../../src/arch/aarch64/decode/all.js';
import type { Group, InsnRow } from '../../src/arch/aarch64/decode/table.js';
import { EC } from '../../src/arch/aarch64/esr.js';
import {
  InsnGenerator,
  makeWindow,
  NEAR_REGION,
  Rng,
  rowKind,
  WINDOW_BASE,
  WINDOW_CENTER,
  WINDOW_SIZE,
  type TestCase,
} from '../helpers/gen.js';
import { UnicornProcess, type UnicornCaseLine, type UnicornResult } from '../helpers/oracle.js';

/** Where our CPU's exception vectors point: far from the window, so no branch can land there. */
const VBAR = 0x7ff00000;
const SYNC_CURRENT_EL = VBAR + 0x200;
const CPACR_FPEN = 3n << 20n;

export interface DiffOptions {
  seed: number;
  count: number;
  group?: string;
  row?: string;
  /** Parallel Unicorn processes (default 2). */
  procs?: number;
  /** Stop collecting mismatch details after this many (all are still counted). */
  maxReports?: number;
  groups?: readonly Group[];
}

export interface RowStats {
  row: InsnRow;
  tested: number;
  mismatched: number;
  /** Cases where both sides took an exception (compared by kind only). */
  exceptions: number;
}

export interface Mismatch {
  tc: TestCase;
  /** Human-readable lines: what differed. */
  diffs: string[];
}

export interface DiffResult {
  total: number;
  mismatched: number;
  rows: Map<InsnRow, RowStats>;
  groups: Map<string, { tested: number; mismatched: number; rows: number; exceptions: number }>;
  mismatches: Mismatch[];
  /** Cases on which Unicorn itself died (QEMU assertion): not compared, reported. */
  oracleCrashes: TestCase[];
  ungeneratable: InsnRow[];
  /** Rows selected by the filters (not noRandom). */
  selectedRows: readonly InsnRow[];
  /** Problems with the whole batch (writes outside the near region, for example). */
  batchErrors: string[];
  seconds: number;
}

// ---- our side ----

interface OurResult {
  exc: string | null;
  x: BigUint64Array;
  pc: bigint;
  nzcv: number;
  v: BigUint64Array | null;
  fpsr: number;
  /** Bytes that differ from the initial window after the instruction: address → value. */
  mem: Map<number, number>;
}

/** Our CPU on a RAM window identical to Unicorn's, reset to the same EL1h, MMU-off state per case. */
class OurSide {
  readonly ram: Uint8Array;
  readonly ref: Uint8Array;
  private readonly ramBuf: Buffer;
  private readonly refBuf: Buffer;
  readonly cpu: Cpu;

  constructor(private readonly window: Uint8Array) {
    this.ram = window.slice();
    this.ref = window.slice();
    this.ramBuf = Buffer.from(this.ram.buffer, this.ram.byteOffset, this.ram.byteLength);
    this.refBuf = Buffer.from(this.ref.buffer, this.ref.byteOffset, this.ref.byteLength);
    const bus: PhysBus = { ramBase: WINDOW_BASE, ram: this.ram, mmioRead: () => null, mmioWrite: () => false };
    this.cpu = new Cpu(bus);
  }

  run(tc: TestCase): OurResult {
    const { cpu, ram, ref } = this;
    cpu.reset(tc.pc);
    cpu.sys.vbarEl1 = BigInt(VBAR);
    cpu.sys.cpacrEl1 = CPACR_FPEN;
    cpu.x.set(tc.x);
    cpu.x[32] = 0n;
    cpu.nf = (tc.nzcv >>> 3) & 1;
    cpu.zf = (tc.nzcv >>> 2) & 1;
    cpu.cf = (tc.nzcv >>> 1) & 1;
    cpu.vf = tc.nzcv & 1;
    if (tc.v) cpu.v.set(tc.v);
    cpu.fpcr = tc.fpcr;
    cpu.fpsr = tc.fpsr;
    const po = tc.pc - WINDOW_BASE;
    // The instruction and a UDF #0 after it, as unicorn_oracle.py places them.
    const code = [tc.insn & 0xff, (tc.insn >>> 8) & 0xff, (tc.insn >>> 16) & 0xff, tc.insn >>> 24, 0, 0, 0, 0];
    ram.set(code, po);
    ref.set(code, po);
    let exc: string | null = null;
    try {
      cpu.step();
      if (cpu.pc === SYNC_CURRENT_EL) exc = excKind(cpu.sys.esrEl1);
    } catch (e) {
      exc = `host-exception: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`;
    }
    const mem = new Map<number, number>();
    if (rowKind(tc.row) === 'ldst') {
      // Native memcmp over 4 KiB chunks of the near region; scan only the chunks that differ.
      const lo = WINDOW_CENTER - NEAR_REGION - WINDOW_BASE;
      const hi = WINDOW_CENTER + NEAR_REGION - WINDOW_BASE;
      for (let c = lo; c < hi; c += 4096) {
        if (this.ramBuf.compare(this.refBuf, c, c + 4096, c, c + 4096) === 0) continue;
        for (let b = c; b < c + 4096; b++) if (ram[b] !== ref[b]) mem.set(WINDOW_BASE + b, ram[b]!);
      }
    }
    const res: OurResult = {
      exc,
      x: cpu.x.slice(0, 32),
      pc: cpu.pcBig(),
      nzcv: (cpu.nf << 3) | (cpu.zf << 2) | (cpu.cf << 1) | cpu.vf,
      v: tc.v ? cpu.v.slice() : null,
      fpsr: cpu.fpsr >>> 0,
      mem,
    };
    // Put the window back for the next case.
    for (const a of mem.keys()) ram[a - WINDOW_BASE] = ref[a - WINDOW_BASE]!;
    const orig = this.window.subarray(po, po + 8);
    ram.set(orig, po);
    ref.set(orig, po);
    return res;
  }

  /** Whole-window check at the end of a batch: anything written outside the near region persists. */
  strayWrites(): string[] {
    const out: string[] = [];
    const w = this.window;
    for (let i = 0; i < w.length && out.length < 8; i++) {
      if (this.ram[i] !== w[i]) out.push(`window byte 0x${(WINDOW_BASE + i).toString(16)} changed and not restored`);
    }
    return out;
  }
}

/** The kind of exception, in the vocabulary of unicorn_oracle.py. */
function excKind(esr: number): string {
  const ec = esr >>> 26;
  const fsc = esr & 0x3f;
  switch (ec) {
    case EC.UNKNOWN:
    case EC.SYSREG:
    case EC.FP_ACCESS:
    case EC.ILLEGAL_STATE:
      return 'udef';
    case EC.SVC64:
      return 'svc';
    case EC.BRK64:
      return 'bkpt';
    case EC.IABORT_CUR:
    case EC.IABORT_LOWER:
      return 'pabort';
    case EC.DABORT_CUR:
    case EC.DABORT_LOWER:
      // A synchronous external abort is what our CPU takes where Unicorn has nothing mapped.
      return fsc === 0x10 ? 'unmapped' : 'dabort';
    default:
      return `ec0x${ec.toString(16)}`;
  }
}

// ---- comparison ----

const vaOfBig = (v: bigint): number => vaOf(v);
const h64 = (v: bigint): string => '0x' + v.toString(16).padStart(16, '0');
const regName = (i: number): string => (i === 31 ? 'sp' : `x${i}`);

function compare(window: Uint8Array, tc: TestCase, ours: OurResult, theirs: UnicornResult): string[] {
  const d: string[] = [];
  if (ours.exc !== null || theirs.exc !== null) {
    // After an exception the destination registers are UNKNOWN architecturally, and Unicorn stops
    // at the faulting instruction while we enter the vector: compare the kind only.
    if (ours.exc !== theirs.exc) d.push(`exception: ours ${ours.exc ?? 'none'}, oracle ${theirs.exc ?? 'none'}`);
    return d;
  }
  const tx = new BigUint64Array(theirs.x.buffer.slice(theirs.x.byteOffset, theirs.x.byteOffset + 256));
  for (let i = 0; i < 32; i++) {
    if (ours.x[i] !== tx[i]) {
      d.push(`${regName(i)}: ours ${h64(ours.x[i]!)} oracle ${h64(tx[i]!)} (initial ${h64(tc.x[i]!)})`);
    }
  }
  if (ours.pc !== theirs.pc) d.push(`pc: ours ${h64(ours.pc)} oracle ${h64(theirs.pc)}`);
  if (ours.nzcv !== theirs.nzcv) {
    d.push(`nzcv: ours ${nzcvStr(ours.nzcv)} oracle ${nzcvStr(theirs.nzcv)} (initial ${nzcvStr(tc.nzcv)})`);
  }
  if (tc.v && ours.v && theirs.v) {
    const tv = new BigUint64Array(theirs.v.buffer.slice(theirs.v.byteOffset, theirs.v.byteOffset + 512));
    for (let i = 0; i < 32; i++) {
      if (ours.v[2 * i] !== tv[2 * i] || ours.v[2 * i + 1] !== tv[2 * i + 1]) {
        d.push(`q${i}: ours ${q128(ours.v, i)} oracle ${q128(tv, i)} (initial ${q128(tc.v, i)})`);
      }
    }
    if (theirs.fpsr !== null && ours.fpsr !== theirs.fpsr) {
      d.push(
        `fpsr: ours 0x${ours.fpsr.toString(16)} oracle 0x${theirs.fpsr.toString(16)} (initial 0x${tc.fpsr.toString(16)})`,
      );
    }
  }
  // Memory: every byte Unicorn wrote, and every byte we changed.
  const oracleMem = new Map<number, number>();
  for (const [a, bytes] of theirs.mem) for (let k = 0; k < bytes.length; k++) oracleMem.set(a + k, bytes[k]!);
  const addrs = new Set<number>([...oracleMem.keys(), ...ours.mem.keys()]);
  const bad: string[] = [];
  for (const a of [...addrs].sort((p, q) => p - q)) {
    const initial = initialByte(window, tc, a);
    const o = ours.mem.get(a) ?? initial;
    const t = oracleMem.get(a) ?? initial;
    if (o !== t) bad.push(`[0x${a.toString(16)}] ours 0x${hx2(o)} oracle 0x${hx2(t)} (initial 0x${hx2(initial)})`);
  }
  if (bad.length) d.push(`memory: ${bad.slice(0, 16).join(', ')}${bad.length > 16 ? ` … ${bad.length} bytes` : ''}`);
  return d;
}

function initialByte(window: Uint8Array, tc: TestCase, a: number): number {
  const off = a - tc.pc;
  if (off >= 0 && off < 4) return (tc.insn >>> (8 * off)) & 0xff;
  if (off >= 4 && off < 8) return 0;
  return window[a - WINDOW_BASE] ?? -1;
}

const hx2 = (b: number): string => b.toString(16).padStart(2, '0');
const nzcvStr = (n: number): string => ['N', 'Z', 'C', 'V'].map((f, i) => ((n >>> (3 - i)) & 1 ? f : '-')).join('');
const q128 = (v: BigUint64Array, i: number): string =>
  '0x' + v[2 * i + 1]!.toString(16).padStart(16, '0') + '_' + v[2 * i]!.toString(16).padStart(16, '0');

// ---- reports ----

/** The disassembly of a case, or the exception the disassembler threw. */
export function disasm(row: InsnRow, insn: number, pc: number): string {
  try {
    return row.fmt(insn | 0, BigInt(pc)).replace(/\t/, ' ');
  } catch (e) {
    return `<fmt threw: ${e instanceof Error ? e.message : String(e)}>`;
  }
}

/** A readable report of one mismatch: the word, its disassembly, the row, the state, the differences. */
export function formatMismatch(m: Mismatch, seed: number): string {
  const { tc } = m;
  const lines: string[] = [];
  lines.push(
    `MISMATCH ${'0x' + (tc.insn >>> 0).toString(16).padStart(8, '0')}  ${disasm(tc.row, tc.insn, tc.pc)}` +
      `   [row '${tc.row.name}', group '${tc.row.group}', pattern '${tc.row.pattern}']`,
  );
  const regs = new Set<number>();
  for (const f of tc.row.fields) {
    if (f.width === 5 && /^R[a-z]\d?$/.test(f.name)) regs.add((tc.insn >>> f.lsb) & 31);
  }
  regs.add(31);
  const init = [...regs]
    .sort((a, b) => a - b)
    .map((r) => `${regName(r)}=${h64(tc.x[r]!)}`)
    .join(' ');
  lines.push(`  initial: pc=0x${tc.pc.toString(16)} nzcv=${nzcvStr(tc.nzcv)} ${init}`);
  if (tc.v) {
    const vregs = new Set<number>();
    for (const f of tc.row.fields) {
      if (f.width === 5 && /^(R|V)[a-z]\d?$/.test(f.name)) vregs.add((tc.insn >>> f.lsb) & 31);
    }
    const vs = [...vregs].sort((a, b) => a - b).map((r) => `q${r}=${q128(tc.v!, r)}`);
    lines.push(`  initial: fpcr=0x${tc.fpcr.toString(16)} fpsr=0x${tc.fpsr.toString(16)} ${vs.join(' ')}`);
  }
  for (const d of m.diffs) lines.push(`  differs: ${d}`);
  lines.push(
    `  case ${tc.id} of seed ${seed}; rerun the row: node dist/test/isa/diff-cli.js --row '${tc.row.name}' --seed ${seed}`,
  );
  return lines.join('\n');
}

// ---- the run ----

/** Run `count` random instructions on our CPU and in Unicorn (`python`), and compare. */
export async function runDifferential(python: string, opts: DiffOptions): Promise<DiffResult> {
  const t0 = performance.now();
  const groups = opts.groups ?? ALL_GROUPS;
  const decoder = new Decoder(groups);
  const window = makeWindow(opts.seed);
  const gen = new InsnGenerator(decoder, groups, window, { group: opts.group, row: opts.row });
  const rng = new Rng(opts.seed);
  const procs = Math.max(1, opts.procs ?? 2);
  const maxReports = opts.maxReports ?? 50;
  const ours = new OurSide(window);

  const rows = new Map<InsnRow, RowStats>();
  for (const r of gen.rows) rows.set(r, { row: r, tested: 0, mismatched: 0, exceptions: 0 });
  const mismatches: Mismatch[] = [];
  let mismatched = 0;
  let total = 0;
  const pending = new Map<number, { tc: TestCase; ours: OurResult }>();

  const onResult = (theirs: UnicornResult): void => {
    const p = pending.get(theirs.id);
    if (!p) throw new Error(`oracle returned unknown case ${theirs.id}`);
    pending.delete(theirs.id);
    const st = rows.get(p.tc.row)!;
    st.tested++;
    total++;
    if (p.ours.exc !== null && theirs.exc !== null) st.exceptions++;
    const diffs = compare(window, p.tc, p.ours, theirs);
    if (diffs.length) {
      st.mismatched++;
      mismatched++;
      if (mismatches.length < maxReports) mismatches.push({ tc: p.tc, diffs });
    }
  };

  const header = { base: WINDOW_BASE, size: WINDOW_SIZE, mem: window };
  const oracleCrashes: TestCase[] = [];
  const batchErrors: string[] = [];
  const line = (id: number): UnicornCaseLine => {
    const { tc, ours: res } = pending.get(id)!;
    const next = res.exc === null ? vaOfBig(res.pc) : tc.pc + 4;
    return {
      id,
      pc: tc.pc,
      insn: tc.insn,
      x: new Uint8Array(tc.x.buffer),
      nzcv: tc.nzcv,
      v: tc.v ? new Uint8Array(tc.v.buffer) : null,
      fpcr: tc.fpcr,
      fpsr: tc.fpsr,
      guard: next !== tc.pc + 4 ? next : undefined,
    };
  };
  const workers: UnicornProcess[] = [];
  const startWorker = (slot: number): UnicornProcess => {
    const w: UnicornProcess = new UnicornProcess(python, header, onResult, (unanswered, why) => {
      // QEMU aborted: the oldest unanswered case killed it. Record it, restart, resend the rest.
      if (unanswered.length === 0 || oracleCrashes.length >= 50) {
        batchErrors.push(why.slice(0, 2000));
        for (const id of unanswered) pending.delete(id);
        return;
      }
      const culprit = pending.get(unanswered[0]!)!;
      pending.delete(unanswered[0]!);
      oracleCrashes.push(culprit.tc);
      const fresh = startWorker(slot);
      for (const id of unanswered.slice(1)) void fresh.send(line(id));
    });
    workers[slot] = w;
    return w;
  };
  for (let i = 0; i < procs; i++) startWorker(i);
  try {
    const SLICE = 256;
    for (let id = 0; id < opts.count;) {
      const w = workers[Math.floor(id / SLICE) % procs]!;
      const sends: Promise<void>[] = [];
      for (let k = 0; k < SLICE && id < opts.count; k++, id++) {
        const tc = gen.makeCase(rng, id);
        if (!tc) break;
        pending.set(id, { tc, ours: ours.run(tc) });
        sends.push(w.send(line(id)));
      }
      if (sends.length === 0) break;
      await Promise.all(sends);
    }
    // Wait for every worker, including ones started to replace a crashed one meanwhile.
    for (;;) {
      const now = [...workers];
      await Promise.all(now.map((w) => w.finish()));
      if (now.every((w, i) => workers[i] === w)) break;
    }
  } finally {
    for (const w of workers) w.kill();
  }
  batchErrors.push(...ours.strayWrites());
  if (pending.size) batchErrors.push(`${pending.size} cases got no answer from the oracle`);

  const groupStats = new Map<string, { tested: number; mismatched: number; rows: number; exceptions: number }>();
  for (const st of rows.values()) {
    let g = groupStats.get(st.row.group);
    if (!g) groupStats.set(st.row.group, (g = { tested: 0, mismatched: 0, rows: 0, exceptions: 0 }));
    g.tested += st.tested;
    g.mismatched += st.mismatched;
    g.exceptions += st.exceptions;
    g.rows++;
  }
  return {
    total,
    mismatched,
    rows,
    groups: groupStats,
    mismatches,
    oracleCrashes,
    ungeneratable: [...gen.ungeneratable],
    selectedRows: gen.rows,
    batchErrors,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** A summary table: per group, then the rows with mismatches. */
export function formatSummary(r: DiffResult): string {
  const lines: string[] = [];
  lines.push(`${r.total} instructions, ${r.mismatched} mismatched, ${r.seconds.toFixed(1)} s`);
  for (const [g, s] of r.groups) {
    lines.push(
      `  ${g}: ${s.tested} tested over ${s.rows} rows (${s.exceptions} took the same exception on both), ` +
        `${s.mismatched} mismatched`,
    );
  }
  const badRows = [...r.rows.values()].filter((s) => s.mismatched > 0).sort((a, b) => b.mismatched - a.mismatched);
  if (badRows.length) {
    lines.push('rows with mismatches:');
    for (const s of badRows) lines.push(`  ${s.row.name} [${s.row.group}]: ${s.mismatched}/${s.tested}`);
  }
  const untested = [...r.rows.values()].filter((s) => s.tested === 0 && !r.ungeneratable.includes(s.row));
  if (untested.length) lines.push(`rows never tested: ${untested.map((s) => s.row.name).join(', ')}`);
  if (r.ungeneratable.length) {
    lines.push(`rows no random word decodes to: ${r.ungeneratable.map((x) => x.name).join(', ')}`);
  }
  for (const tc of r.oracleCrashes) {
    lines.push(
      `oracle crashed (not compared): 0x${(tc.insn >>> 0).toString(16).padStart(8, '0')} ${disasm(tc.row, tc.insn, tc.pc)} [${tc.row.name}]`,
    );
  }
  for (const e of r.batchErrors) lines.push(`batch: ${e}`);
  return lines.join('\n');
}
