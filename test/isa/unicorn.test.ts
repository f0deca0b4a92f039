// DESIGN.md §6: the CPU's instruction semantics against Unicorn (QEMU's TCG), an oracle no one
// here wrote. 100,000 seeded random instructions from the encoding table, every randomisable row at
// least once; X0–X30, SP, PC, NZCV, memory and (FP, load/store) V0–V31 and FPSR must agree.
// ISA_DIFF_COUNT and ISA_DIFF_SEED override the size and the seed (the default seed is fixed, so
// a failure reproduces with `node dist/test/isa/diff-cli.js --seed <seed> --row <name>`).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findUnicornPython, oracleMissing } from '../helpers/oracle.js';
import { formatMismatch, formatSummary, runDifferential, type DiffResult } from './diff.js';
import { ALL_GROUPS } from '../../src/arch/aarch64/decode/all.js';
import type { Cpu } from '../../src/arch/aarch64/cpu.js';
import type { InsnRow } from '../../src/arch/aarch64/decode/table.js';
import { rowKind, WINDOW_CENTER } from '../helpers/gen.js';

const COUNT = Number(process.env.ISA_DIFF_COUNT ?? 100_000);
const SEED = Number(process.env.ISA_DIFF_SEED ?? 0x15a0);

const python = findUnicornPython();
const skip = python
  ? false
  : oracleMissing('python3-unicorn', 'apt-get install python3-unicorn; needs /usr/bin/python3');

let result: DiffResult | undefined;
let failure: unknown;

async function run(): Promise<DiffResult> {
  if (result) return result;
  if (failure) throw failure;
  try {
    result = await runDifferential(python!, { seed: SEED, count: COUNT, maxReports: 30 });
    console.log(formatSummary(result));
    return result;
  } catch (e) {
    failure = e;
    throw e;
  }
}

test(
  `DESIGN §6 / Arm ARM C6: ${COUNT} random A64 instructions give the same registers, flags, PC and memory as Unicorn`,
  { skip, timeout: 15 * 60 * 1000 },
  async () => {
    const r = await run();
    const report = r.mismatches.map((m) => formatMismatch(m, SEED)).join('\n\n');
    assert.equal(r.mismatched, 0, `${r.mismatched} mismatches (first ${r.mismatches.length}):\n\n${report}`);
    assert.deepEqual(r.batchErrors, [], 'whole-batch problems');
    assert.ok(r.total >= COUNT * 0.99, `only ${r.total} of ${COUNT} instructions were compared`);
  },
);

test('DESIGN §6: every randomisable row of the encoding table was generated and compared', { skip }, async () => {
  const r = await run();
  assert.deepEqual(
    r.ungeneratable.map((x) => `${x.group}: ${x.name}`),
    [],
    'rows for which no random word decodes back to the row (check the pattern and the ok guard)',
  );
  const never = [...r.rows.values()].filter((s) => s.tested === 0).map((s) => `${s.row.group}: ${s.row.name}`);
  assert.deepEqual(never, [], 'rows never compared');
});

test(
  'DESIGN §6: every encoding group with randomisable rows got a fair share of the instructions',
  { skip },
  async () => {
    const r = await run();
    const withRows = ALL_GROUPS.filter((g) => g.rows.some((x) => !x.noRandom));
    const min = Math.floor(COUNT / withRows.length / 2);
    for (const g of withRows) {
      const st = r.groups.get(g.name);
      assert.ok(st && st.tested >= min, `group '${g.name}': ${st?.tested ?? 0} instructions tested, want ≥ ${min}`);
    }
    // The oracle itself must not have died on a meaningful share of the cases.
    assert.ok(r.oracleCrashes.length <= 20, `Unicorn crashed on ${r.oracleCrashes.length} cases`);
  },
);

// The harness itself must be able to fail: corrupt one execute function at a time (flags, a V
// register, memory) and check that the comparison notices.
test('DESIGN §6: the differential harness reports a corrupted flag, V register or memory byte', { skip }, async () => {
  const rows = ALL_GROUPS.flatMap((g) => g.rows).filter((r) => !r.noRandom);
  const faults: { pick: (r: InsnRow) => boolean; corrupt: (cpu: Cpu, insn: number) => void; what: string }[] = [
    { what: 'NZCV', pick: (r) => /^ADDS/.test(r.name) && rowKind(r) === 'other', corrupt: (cpu) => (cpu.cf ^= 1) },
    { what: 'V register', pick: (r) => rowKind(r) === 'fp', corrupt: (cpu) => (cpu.v[63] = cpu.v[63]! ^ 1n) },
    {
      what: 'memory',
      pick: (r) => rowKind(r) === 'ldst' && /^STR\b/.test(r.name),
      corrupt: (cpu) => cpu.write8(WINDOW_CENTER + 0x40, 0x5a ^ cpu.read8(WINDOW_CENTER + 0x40)),
    },
  ];
  for (const f of faults) {
    const row = rows.find(f.pick);
    if (!row) continue; // that group has no rows yet
    const mutable = row as { exec: InsnRow['exec'] };
    const orig = row.exec;
    mutable.exec = (cpu, insn) => {
      orig(cpu, insn);
      f.corrupt(cpu, insn);
    };
    try {
      const r = await runDifferential(python!, { seed: 7, count: 60, row: row.name, procs: 1, maxReports: 1 });
      const st = r.rows.get(row)!;
      assert.ok(st.tested > 0, `${row.name}: nothing compared`);
      assert.equal(st.mismatched + st.exceptions, st.tested, `${f.what} corruption in ${row.name} went unnoticed`);
    } finally {
      mutable.exec = orig;
    }
  }
});
