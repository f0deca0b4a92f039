// Running the guest ELFs of guests/bin/ for the scenario tests: on our board through the library
// API, under the CLI as a child process, and under QEMU (the oracle of DESIGN.md §6) when it is
// installed. Not a test file itself: the *.test.ts files beside it use it.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BareBoard, type RunResult } from '../../src/machine/board.js';
import { parseElf } from '../../src/vmm/loader/elf.js';

/** The repository root, from dist/test/scenarios/ or test/scenarios/. */
export const ROOT = ((): string => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'guests'))) return dir;
    dir = path.dirname(dir);
  }
  return process.cwd();
})();

/** The command as it ships: the bundle `npm run build` makes (tools/bundle.ts), the package's bin. */
export const CLI = path.join(ROOT, 'dist', 'gunyah.mjs');

export function guestPath(name: string): string {
  return path.join(ROOT, 'guests', 'bin', name);
}

export interface GuestRun {
  /** Everything the guest wrote to the UART. */
  text: string;
  result: RunResult;
}

const runCache = new Map<string, GuestRun>();

/** Run a guest ELF on the bare board (memoised per file, as several tests read one run, unless `fresh`). */
export function runGuest(name: string, maxInstructions = 50_000_000, opts: { fresh?: boolean } = {}): GuestRun {
  const hit = runCache.get(name);
  if (hit && !opts.fresh) return hit;
  const image = parseElf(readFileSync(guestPath(name)));
  const board = new BareBoard();
  board.load(image.segments, image.entry);
  const result = board.run(maxInstructions);
  const run = { text: board.uartText(), result };
  if (!hit) runCache.set(name, run);
  return run;
}

/** The `PASS name` / `FAIL name ...` lines a guest printed. */
export function checkLines(text: string): { pass: string[]; fail: string[] } {
  const pass: string[] = [];
  const fail: string[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('PASS ')) pass.push(line.slice(5));
    else if (line.startsWith('FAIL ')) fail.push(line.slice(5));
  }
  return { pass, fail };
}

/** A short description of how a run ended, for assertion messages. */
export function describeRun(run: GuestRun): string {
  const tail = run.text.split('\n').slice(-6).join('\n');
  return `stop=${run.result.stop}${run.result.message ? ` (${run.result.message})` : ''}, output ends:\n${tail}`;
}

export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: readonly string[], timeoutMs = 120_000, input?: string): CliRun {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'latin1', timeout: timeoutMs, input });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export const QEMU = 'qemu-system-aarch64';

let qemuCache: boolean | undefined;

export function qemuAvailable(): boolean {
  if (qemuCache === undefined) {
    const r = spawnSync(QEMU, ['--version'], { stdio: 'ignore', timeout: 20_000 });
    qemuCache = r.status === 0;
  }
  return qemuCache;
}

/** Boot an ELF as QEMU's `virt` board does with -kernel (EL1, PSCI over HVC); returns the UART text. */
export function runQemu(file: string, timeoutMs = 60_000): { status: number | null; text: string; stderr: string } {
  const r = spawnSync(
    QEMU,
    ['-M', 'virt', '-cpu', 'cortex-a57', '-m', '128M', '-nographic', '-nic', 'none', '-kernel', file],
    { encoding: 'latin1', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return { status: r.status, text: r.stdout, stderr: r.stderr };
}
