// `gunyah run --primary FILE` end to end (issue 5; RM spec §4.2, hypervisor-abi §11.3): the user's
// own primary VM booted the way Gunyah's resource manager boots it on the QEMU platform — a raw
// binary at 0x41000000 (or an ELF linked there), its device tree at 0x40F00000 with the RM's
// /hypervisor overlay, the PL011 passed through — running real code that talks to the RM.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

test('CLI run --primary --trace --stats: the trace has the RM RPC messages and hypercalls, the stats count instructions and hypercalls by name; two runs give byte-identical consoles and traces', () => {
  withTmp((dir) => {
    const runs = [1, 2].map((k) => {
      const trace = path.join(dir, `t${k}.json`);
      const stats = path.join(dir, `s${k}.json`);
      const r = runCli(['run', '--primary', guestPath('rm-share.bin'), '--trace', trace, '--stats', stats]);
      assert.equal(r.status, 0, r.stderr);
      return {
        out: r.stdout,
        trace: readFileSync(trace, 'utf8'),
        stats: JSON.parse(readFileSync(stats, 'utf8')) as Record<string, unknown>,
      };
    });
    assert.equal(runs[0]!.out, runs[1]!.out);
    assert.equal(runs[0]!.trace, runs[1]!.trace, 'the same run twice traces the same');
    const t = JSON.parse(runs[0]!.trace) as { traceEvents?: { name: string }[] } | { name: string }[];
    const events = Array.isArray(t) ? t : (t.traceEvents ?? []);
    const names = events.map((e) => String(e.name));
    assert.ok(names.includes('VM 3 → RM: MEM_LEND request seq 2 (40 bytes)'), 'the RM RPC messages');
    assert.ok(names.includes('RM → VM 3: MEM_LEND reply seq 2 OK'));
    assert.ok(
      names.some((n) => n.startsWith('msgqueue_send')),
      'hypercalls',
    );
    const s = runs[0]!.stats;
    assert.equal(typeof s.instructions, 'number');
    assert.ok((s.instructions as number) > 1000);
    assert.equal(s.stop, 'platform-off');
    const h = s.hypercalls as Record<string, number>;
    // The primary's 7 RPC requests are one msgqueue_send each (single packets); the RM answers each.
    assert.ok(h.msgqueue_send! >= 14, JSON.stringify(h));
  });
});
