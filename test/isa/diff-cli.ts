// Command line for the Unicorn differential test, for whoever is writing an encoding group:
//   node dist/test/isa/diff-cli.js --group <name-substring> [--row <name-substring>] --count N --seed S
// prints each mismatch (word, disassembly, row, initial state, differing registers) and a summary.
// See test/isa/README.md.

import { parseArgs } from 'node:util';
import { findUnicornPython } from '../helpers/oracle.js';
import { formatMismatch, formatSummary, runDifferential } from './diff.js';

const USAGE = `usage: node dist/test/isa/diff-cli.js [--group <substr>] [--row <substr>] [--count N] [--seed S]
                                     [--procs P] [--max-reports M] [--list]
  --group        only rows whose group name contains this (case-insensitive)
  --row          only rows whose row name contains this (case-insensitive)
  --count        instructions to run (default 10000)
  --seed         PRNG seed (default 1); the same seed gives the same instructions
  --procs        parallel Unicorn processes (default 2)
  --max-reports  mismatches printed in full (default 20)
  --list         list the selected rows and exit`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      group: { type: 'string' },
      row: { type: 'string' },
      count: { type: 'string', default: '10000' },
      seed: { type: 'string', default: '1' },
      procs: { type: 'string', default: '2' },
      'max-reports': { type: 'string', default: '20' },
      list: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const python = findUnicornPython();
  if (!python) {
    console.error('ORACLE MISSING: python3-unicorn (apt-get install python3-unicorn); no python can import unicorn');
    return 2;
  }
  const seed = Number(values.seed);
  const count = Number(values.count);
  if (!Number.isInteger(seed) || !Number.isInteger(count) || count < 0) {
    console.error(USAGE);
    return 2;
  }
  const r = await runDifferential(python, {
    seed,
    count: values.list ? 0 : count,
    group: values.group,
    row: values.row,
    procs: Number(values.procs),
    maxReports: Number(values['max-reports']),
  });
  if (values.list) {
    for (const row of r.selectedRows) console.log(`${row.group}\t${row.name}\t${row.pattern}`);
    return 0;
  }
  if (r.selectedRows.length === 0) {
    console.error('no rows match the filters (noRandom rows are never generated)');
    return 2;
  }
  for (const m of r.mismatches) console.log(formatMismatch(m, seed) + '\n');
  console.log(formatSummary(r));
  return r.mismatched > 0 || r.batchErrors.length > 0 ? 1 : 0;
}

// The test runner loads every .js under dist/test/; only run when invoked as a program.
if (process.env.NODE_TEST_CONTEXT === undefined) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      console.error(e);
      process.exitCode = 2;
    },
  );
}
