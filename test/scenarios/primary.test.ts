// `gunyah run --primary FILE` end to end (issue 5; RM spec §4.2, hypervisor-abi §11.3): the user's
// own primary VM booted the way Gunyah's resource manager boots it on the QEMU platform — a raw
// binary at 0x41000000 (or an ELF linked there), its device tree at 0x40F00000 with the RM's
// /hypervisor overlay, the PL011 passed through — running real code that talks to the RM.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { guestPath, runCli } from './guest-run.js';

function withTmp<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(path.join(tmpdir(), 'gunyah-primary-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A refusal: exit code 2 and one line on stderr naming the problem. */
function assertBadInput(r: { status: number | null; stderr: string; stdout: string }, pattern: RegExp): void {
  assert.equal(r.status, 2, `exit status 2, got ${r.status}: ${r.stderr}`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `stderr must be one line, got:\n${r.stderr}`);
  assert.match(lines[0]!, /^gunyah: /);
  assert.match(lines[0]!, pattern);
  assert.equal(r.stdout, '');
}

for (const file of ['rm-share.bin', 'rm-share.elf']) {
  test(`CLI run --primary ${file}: the RM boots it as the primary VM; it lends and shares its memory over RM RPC and checks the results from inside; PSCI SYSTEM_OFF ends the run with exit 0`, () => {
    const r = runCli(['run', '--primary', guestPath(file)]);
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.equal(r.stderr, '');
    assert.doesNotMatch(r.stdout, /^FAIL/m);
    assert.match(r.stdout, /^PASS the primary is VMID 3$/m);
    assert.match(r.stdout, /^PASS a lender's read of lent memory aborts$/m);
    assert.match(r.stdout, /^PASS a sharer still reads shared memory$/m);
    assert.match(r.stdout, /^EXIT 0$/m);
  });
}

test('CLI run --primary: an empty file, an ELF for another entry or machine, a missing file, a bad --dtb and --primary with --bare are each refused with exit 2 and one line', () => {
  withTmp((dir) => {
    const empty = path.join(dir, 'empty.bin');
    writeFileSync(empty, '');
    assertBadInput(runCli(['run', '--primary', empty]), /empty/);
    assertBadInput(runCli(['run', '--primary', guestPath('hello.elf')]), /entry point is 0x40080000.*0x41000000/);
    assertBadInput(runCli(['run', '--primary', guestPath('not-arm64.elf')]), /x86-64/);
    assertBadInput(runCli(['run', '--primary', path.join(dir, 'nope.bin')]), /cannot read .*nope\.bin: ENOENT/);
    const dtb = path.join(dir, 'bad.dtb');
    writeFileSync(dtb, 'not a device tree');
    assertBadInput(runCli(['run', '--primary', guestPath('rm-share.bin'), '--dtb', dtb]), /bad\.dtb/);
    assertBadInput(runCli(['run', '--primary', guestPath('rm-share.bin'), '--bare']), /cannot be combined/);
  });
});
