// `gunyah run` with no arguments: the built-in demo (issue 5) — RM, host VMM, and two guest VMs of
// real code (guests/demo.c) that find each other through /hypervisor, exchange messages over a
// message-queue pair, ring a doorbell, and pass a page one lends to the other (RM spec §2.8,
// §4.1; hypervisor-abi §5, §9.6). The story is each VM's console, prefixed by its name.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from './guest-run.js';

test('CLI run (the demo): alice and bob meet over their queues, alice lends bob a page she can then no longer read, bob answers through it, both power off; exit 0; the same story twice', () => {
  const a = runCli(['run']);
  assert.equal(a.status, 0, a.stderr + a.stdout);
  assert.equal(a.stderr, '');
  const lines = a.stdout.split('\n');
  for (const want of [
    /^host {2}\| started alice \(VMID 0x80, 1 vCPU, 16 MiB at 0x80000000\)$/,
    /^host {2}\| started bob \(VMID 0x81, 1 vCPU, 16 MiB at 0x80000000\)$/,
    /^alice \| bob says: "hello alice, I am bob, VMID 0x81"$/,
    /^alice \| sent "ping 3", got "pong 3"$/,
    /^alice \| reading it myself now aborts: it is not mine while lent$/,
    /^bob {3}\| the doorbell rang \(flags 0x1\)$/,
    /^bob {3}\| accepted it at 0x[0-9a-f]+: "a note from alice, written before she lent this page"$/,
    /^alice \| reclaimed the page; it now says: "bob was here"$/,
    /^host {2}\| both guests powered off; the demo is over$/,
  ]) {
    assert.ok(
      lines.some((l) => want.test(l)),
      `no line matching ${want} in:\n${a.stdout}`,
    );
  }
  assert.ok(!lines.some((l) => /FAIL|unexpected/.test(l)), a.stdout);
  // Order where it is causal: bob reads the note only after alice lent it and rang.
  const at = (re: RegExp): number => lines.findIndex((l) => re.test(l));
  assert.ok(at(/alice \| lent page/) < at(/bob {3}\| the doorbell rang/));
  assert.ok(at(/bob {3}\| accepted it/) < at(/alice \| reclaimed the page/));
  const b = runCli(['run']);
  assert.equal(b.stdout, a.stdout, 'deterministic: the same story twice');
});

test('CLI run --stats (the demo): instructions, seconds, MIPS, hypercalls by name, exits by reason (vcpu_run returns, VMMIO reads and writes) and how each guest ended', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gunyah-demo-'));
  try {
    const file = path.join(dir, 'stats.json');
    const r = runCli(['run', '--stats', file]);
    assert.equal(r.status, 0, r.stderr);
    const s = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    for (const k of ['instructions', 'seconds', 'mips']) assert.equal(typeof s[k], 'number', k);
    const h = s.hypercalls as Record<string, number>;
    assert.ok(h.vcpu_run! > 0 && h.msgqueue_send! > 0 && h.doorbell_send! >= 1, JSON.stringify(h));
    const exits = s.exits as Record<string, number>;
    // Every character a guest prints is one VMMIO write exit to the host's PL011.
    const printed = r.stdout
      .split('\n')
      .filter((l) => /^(alice|bob {3}) \| /.test(l))
      .reduce((n, l) => n + l.length - 7, 0);
    assert.ok(exits.vmmio_write! >= printed, `${exits.vmmio_write} VMMIO writes for ${printed} characters`);
    assert.deepEqual(
      (s.guests as { name: string; exitType: number }[]).map((g) => [g.name, g.exitType]),
      [
        ['alice', 1],
        ['bob', 1],
      ],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
