// The CPU benchmark (`npm run bench`): runs guests/bin/bench.elf — plain integer C, about 2e8
// instructions — on our CPU through the bare board, and, when qemu-system-aarch64 is on PATH,
// the same ELF under QEMU TCG with an instruction-count plugin (bench/qemu-insncount.c,
// built with gcc into a temporary directory). Prints instructions, wall seconds and MIPS for both,
// the ratio, and checks that both printed the same checksum (DESIGN.md §7: measured, never guessed).
//
// Usage: node dist/bench/cpu.js [FILE.elf] [--no-qemu]

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { BareBoard } from '../src/machine/board.js';
import { parseElf } from '../src/vmm/loader/elf.js';

const ROOT = ((): string => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'guests'))) return dir;
    dir = path.dirname(dir);
  }
  return process.cwd();
})();

interface Measurement {
  instructions: number | null;
  seconds: number;
  checksum: string | null;
  ok: boolean;
  note?: string;
}

function checksumOf(text: string): string | null {
  const m = /^CHECKSUM ([0-9a-f]+)$/m.exec(text);
  return m ? m[1]! : null;
}

function runOurs(file: string): Measurement {
  const image = parseElf(readFileSync(file));
  const board = new BareBoard();
  board.load(image.segments, image.entry);
  const t0 = performance.now();
  const r = board.run(20_000_000_000);
  const seconds = (performance.now() - t0) / 1000;
  const text = board.uartText();
  const m: Measurement = {
    instructions: r.instructions,
    seconds,
    checksum: checksumOf(text),
    ok: r.stop === 'system-off',
  };
  if (!m.ok) m.note = `stopped: ${r.message ?? r.stop}; output ends: ${JSON.stringify(text.slice(-200))}`;
  return m;
}

function have(cmd: string, args: string[]): boolean {
  return spawnSync(cmd, args, { stdio: 'ignore', timeout: 20_000 }).status === 0;
}

function runQemu(file: string): Measurement | string {
  if (!have('qemu-system-aarch64', ['--version'])) return 'qemu-system-aarch64 not on PATH: no QEMU comparison';
  const tmp = mkdtempSync(path.join(tmpdir(), 'gunyah-bench-'));
  try {
    let plugin: string | null = null;
    let note: string | undefined;
    const src = path.join(ROOT, 'bench', 'qemu-insncount.c');
    if (!have('gcc', ['--version'])) {
      note = 'gcc not found: cannot build the instruction-count plugin, so QEMU instructions and MIPS are unknown';
    } else if (!existsSync(src)) {
      note = `${src} not found: no instruction-count plugin, so QEMU instructions and MIPS are unknown`;
    } else {
      plugin = path.join(tmp, 'insncount.so');
      const cc = spawnSync('gcc', ['-shared', '-fPIC', '-O2', '-o', plugin, src], { encoding: 'utf8' });
      if (cc.status !== 0) {
        note = `building the instruction-count plugin failed: ${cc.stderr.trim().split('\n')[0]}`;
        plugin = null;
      }
    }
    const log = path.join(tmp, 'plugin.log');
    const args = ['-M', 'virt', '-cpu', 'cortex-a57', '-m', '128M', '-nographic', '-nic', 'none', '-kernel', file];
    if (plugin) args.push('-plugin', plugin, '-d', 'plugin', '-D', log);
    const t0 = performance.now();
    const r = spawnSync('qemu-system-aarch64', args, {
      encoding: 'latin1',
      timeout: 600_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const seconds = (performance.now() - t0) / 1000;
    let instructions: number | null = null;
    if (plugin && existsSync(log)) {
      const m = /insns: (\d+)/.exec(readFileSync(log, 'utf8'));
      if (m) instructions = Number(m[1]);
    }
    const m: Measurement = { instructions, seconds, checksum: checksumOf(r.stdout), ok: r.status === 0 };
    if (!m.ok) m.note = `QEMU exited with ${r.status ?? r.signal}: ${r.stderr.trim().split('\n')[0] ?? ''}`;
    else if (note) m.note = note;
    return m;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function fmtInt(n: number | null): string {
  return n === null ? '?' : n.toLocaleString('en-US');
}

function mips(m: Measurement): number | null {
  return m.instructions === null ? null : m.instructions / m.seconds / 1e6;
}

function row(name: string, m: Measurement): string {
  const mp = mips(m);
  return (
    `${name.padEnd(8)} ${fmtInt(m.instructions).padStart(15)} insns ${m.seconds.toFixed(3).padStart(9)} s ` +
    `${(mp === null ? '?' : mp.toFixed(1)).padStart(9)} MIPS   checksum ${m.checksum ?? '(none)'}`
  );
}

function main(argv: string[]): number {
  const noQemu = argv.includes('--no-qemu');
  const file = path.resolve(argv.find((a) => !a.startsWith('--')) ?? path.join(ROOT, 'guests', 'bin', 'bench.elf'));
  console.log(`bench: ${path.relative(process.cwd(), file) || file}`);
  const ours = runOurs(file);
  console.log(row('gunyah', ours));
  if (ours.note) console.log(`  ${ours.note}`);
  let status = ours.ok && ours.checksum !== null ? 0 : 1;
  if (noQemu) return status;
  const q = runQemu(file);
  if (typeof q === 'string') {
    console.log(`qemu     ${q}`);
    return status;
  }
  console.log(row('qemu', q));
  if (q.note) console.log(`  ${q.note}`);
  console.log('  (QEMU seconds include its start-up, about 0.05 s)');
  const om = mips(ours);
  const qm = mips(q);
  if (om !== null && qm !== null) {
    console.log(`ratio    ours/QEMU = ${(om / qm).toFixed(3)} (QEMU is ${(qm / om).toFixed(1)}x faster)`);
  }
  if (ours.instructions !== null && q.instructions !== null && ours.instructions !== q.instructions) {
    console.log(`note     instruction counts differ by ${ours.instructions - q.instructions}`);
  }
  if (q.ok && ours.checksum !== q.checksum) {
    console.log(`FAIL     checksums differ: ours ${ours.checksum ?? '(none)'}, QEMU ${q.checksum ?? '(none)'}`);
    status = 1;
  } else if (q.ok) {
    console.log('checksum identical');
  }
  return status;
}

process.exitCode = main(process.argv.slice(2));
