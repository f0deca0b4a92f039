// QEMU as the oracle (DESIGN.md §6): the same guest ELF under `qemu-system-aarch64 -M virt -cpu
// cortex-a57 -kernel` and on our bare board must print byte-identical UART output. Without QEMU
// the tests say so loudly: they fail under CI and are skipped with a warning elsewhere.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { guestPath, qemuAvailable, QEMU, ROOT, runGuest } from './guest-run.js';

function needQemu(t: TestContext): boolean {
  if (qemuAvailable()) return true;
  const msg = `ORACLE MISSING: ${QEMU} not on PATH (Debian package qemu-system-arm); cannot compare with QEMU`;
  if (process.env.CI) assert.fail(msg);
  console.warn(msg);
  t.skip(msg);
  return false;
}

interface QemuRun {
  text: string;
  insns: number | null;
}

/** Run under QEMU, with the instruction-count plugin when `plugin` is given. */
function qemu(guest: string, plugin?: string): QemuRun {
  const dir = mkdtempSync(path.join(tmpdir(), 'gunyah-oracle-'));
  try {
    const log = path.join(dir, 'plugin.log');
    const args = ['-M', 'virt', '-cpu', 'cortex-a57', '-m', '128M', '-nographic', '-nic', 'none'];
    if (plugin) args.push('-plugin', plugin, '-d', 'plugin', '-D', log);
    args.push('-kernel', guestPath(guest));
    const r = spawnSync(QEMU, args, { encoding: 'latin1', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });
    assert.equal(r.status, 0, `QEMU failed: ${r.stderr}`);
    const m = plugin && existsSync(log) ? /insns: (\d+)/.exec(readFileSync(log, 'utf8')) : null;
    return { text: r.stdout, insns: m ? Number(m[1]) : null };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const guest of ['hello.elf', 'bench-small.elf', 'fp.elf']) {
  test(`QEMU oracle: ${guest} prints byte-identical UART output under QEMU virt and on our board`, (t) => {
    if (!needQemu(t)) return;
    const ours = runGuest(guest);
    const theirs = qemu(guest);
    assert.equal(ours.result.stop, 'system-off', ours.result.message);
    assert.ok(theirs.text.length > 0, 'QEMU printed nothing');
    assert.equal(ours.text, theirs.text);
  });
}

test('QEMU oracle: bench-small.elf retires exactly as many instructions as QEMU counts', (t) => {
  if (!needQemu(t)) return;
  const src = path.join(ROOT, 'bench', 'qemu-insncount.c');
  const gcc = spawnSync('gcc', ['--version'], { stdio: 'ignore' }).status === 0;
  if (!gcc || !existsSync(src)) {
    const msg = `ORACLE MISSING: ${gcc ? src + ' not found' : 'gcc not on PATH'}: cannot build QEMU's instruction-count plugin`;
    if (process.env.CI) assert.fail(msg);
    console.warn(msg);
    t.skip(msg);
    return;
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'gunyah-plugin-'));
  try {
    const so = path.join(dir, 'insncount.so');
    const cc = spawnSync('gcc', ['-shared', '-fPIC', '-O2', '-o', so, src], { encoding: 'utf8' });
    assert.equal(cc.status, 0, cc.stderr);
    const theirs = qemu('bench-small.elf', so);
    assert.notEqual(theirs.insns, null, 'the plugin reported no count');
    const ours = runGuest('bench-small.elf').result.instructions;
    assert.equal(ours, theirs.insns, `ours ${ours}, QEMU ${theirs.insns}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
