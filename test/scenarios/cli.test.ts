// The `gunyah run --bare --kernel FILE.elf` command end to end, as a user runs it: the guest's
// UART on stdout, exit 0 on PSCI SYSTEM_OFF, --stats JSON, and one-line errors with a non-zero
// exit for files it cannot boot and guests it cannot keep running.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { guestPath, runCli } from './guest-run.js';

function withTmp<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(path.join(tmpdir(), 'gunyah-cli-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function assertOneLineError(r: { status: number | null; stderr: string }, pattern: RegExp): void {
  assert.notEqual(r.status, 0, 'exit status must be non-zero');
  assert.notEqual(r.status, null, 'the CLI must exit, not be killed');
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `stderr must be one line, got:\n${r.stderr}`);
  assert.match(lines[0]!, /^gunyah: /);
  assert.match(lines[0]!, pattern);
}

test('CLI run --bare: hello.elf prints its UART output on stdout and exits 0 on PSCI SYSTEM_OFF', () => {
  const r = runCli(['run', '--bare', '--kernel', guestPath('hello.elf')]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^Hello from gunyah-ts/);
  assert.match(r.stdout, /^EXIT 0\n$/m);
  assert.equal(r.stderr, '');
});

test('CLI run --bare --stats: writes JSON with the guest instruction count, wall seconds and MIPS', () => {
  withTmp((dir) => {
    const stats = path.join(dir, 'stats.json');
    const r = runCli(['run', '--bare', '--kernel', guestPath('hello.elf'), '--stats', stats]);
    assert.equal(r.status, 0, r.stderr);
    const s = JSON.parse(readFileSync(stats, 'utf8')) as Record<string, unknown>;
    assert.equal(typeof s.instructions, 'number');
    assert.equal(typeof s.seconds, 'number');
    assert.equal(typeof s.mips, 'number');
    assert.ok(
      (s.instructions as number) > 1000 && (s.instructions as number) < 1_000_000,
      `instructions ${s.instructions}`,
    );
    assert.ok((s.seconds as number) >= 0);
  });
});

test('CLI run --bare: a file that is not an ELF is refused with one line on stderr and a non-zero exit', () => {
  withTmp((dir) => {
    const f = path.join(dir, 'notes.txt');
    writeFileSync(f, 'this is not an executable\n');
    const r = runCli(['run', '--bare', '--kernel', f]);
    assertOneLineError(r, /ELF/);
    assert.equal(r.stdout, '');
  });
});

test('CLI run --bare: an ELF for another machine (x86-64) is refused with one line naming the machine', () => {
  const r = runCli(['run', '--bare', '--kernel', guestPath('not-arm64.elf')]);
  assertOneLineError(r, /x86-64/);
  assert.equal(r.stdout, '');
});

test('CLI run --bare: a missing kernel file is one line on stderr and a non-zero exit', () => {
  const r = runCli(['run', '--bare', '--kernel', guestPath('no-such-guest.elf')]);
  assertOneLineError(r, /no-such-guest\.elf/);
});

test('CLI run --bare: a guest that faults with no vector table stops with a one-line error and a non-zero exit', () => {
  const r = runCli(['run', '--bare', '--kernel', guestPath('fault-novec.elf')], 60_000);
  assert.equal(r.stdout, '!\n', 'the UART output before the fault is kept');
  assertOneLineError(r, /abort|exception|fault/i);
});
