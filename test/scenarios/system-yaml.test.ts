// `gunyah run FILE.yaml` end to end (issue 5; docs/system-yaml.md): the VMs a system file describes,
// created by the host VMM through the RM with their links and shared memory, each console prefixed
// by the VM's name. Exit 0 when every VM powered off through PSCI SYSTEM_OFF, 1 with a one-line
// reason otherwise, 2 with one line naming the field for a bad file.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT, guestPath, runCli } from './guest-run.js';

const DEMO_YAML = path.join(ROOT, 'examples', 'demo.yaml');
const DEMO_ELF = guestPath('demo.elf');

function withTmp<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(path.join(tmpdir(), 'gunyah-system-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function assertOneLine(r: { status: number | null; stderr: string }, code: number, pattern: RegExp): void {
  assert.equal(r.status, code, r.stderr);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `stderr must be one line, got:\n${r.stderr}`);
  assert.match(lines[0]!, /^gunyah: /);
  assert.match(lines[0]!, pattern);
}

/** The lines a VM wrote (`name | ...`) and the host's, but for the run's own first and last lines. */
function story(stdout: string): string[] {
  return stdout.split('\n').filter((l) => /^(alice|bob {3}|host {2}) \| /.test(l) && !/demo|every VM|link/.test(l));
}

test('CLI run examples/demo.yaml: alice and bob tell the story of the built-in demo line for line, then every VM powers off; exit 0', () => {
  const r = runCli(['run', DEMO_YAML]);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.equal(r.stderr, '');
  const lines = r.stdout.split('\n');
  for (const want of [
    /^host {2}\| .*demo\.yaml: 2 VMs \(alice, bob\), 2 links, 1 shared-memory region$/,
    /^host {2}\| donated 4 KiB to alice \(label 3\)$/,
    /^host {2}\| started alice \(VMID 0x80, 1 vCPU, 16 MiB at 0x80000000\)$/,
    /^host {2}\| started bob \(VMID 0x81, 1 vCPU, 16 MiB at 0x80000000\)$/,
    /^alice \| bob says: "hello alice, I am bob, VMID 0x81"$/,
    /^alice \| sent "ping 3", got "pong 3"$/,
    /^alice \| lent page 0x90000000 to bob \(VMID 0x81\) as parcel \d+$/,
    /^alice \| reading it myself now aborts: it is not mine while lent$/,
    /^bob {3}\| the doorbell rang \(flags 0x1\)$/,
    /^bob {3}\| accepted it at 0x[0-9a-f]+: "a note from alice, written before she lent this page"$/,
    /^alice \| reclaimed the page; it now says: "bob was here"$/,
    /^host {2}\| every VM powered off$/,
  ]) {
    assert.ok(
      lines.some((l) => want.test(l)),
      `no line matching ${want} in:\n${r.stdout}`,
    );
  }
  assert.ok(!lines.some((l) => /FAIL|unexpected/.test(l)), r.stdout);
  const demo = runCli(['run']);
  assert.equal(demo.status, 0, demo.stderr);
  assert.deepEqual(story(r.stdout), story(demo.stdout), 'the same story as `gunyah run`');
});

test('CLI run examples/hello-vm.yaml: one VM reads its name, RAM and bootargs from its device tree, gets its VMID from the RM and powers off; exit 0', () => {
  const r = runCli(['run', path.join(ROOT, 'examples', 'hello-vm.yaml')]);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.equal(r.stderr, '');
  const lines = r.stdout.split('\n');
  for (const want of [
    /^host {2}\| started hello \(VMID 0x80, 1 vCPU, 16 MiB at 0x80000000\)$/,
    /^hello \| hello from hello: 1 vCPU, 16 MiB of RAM at 0x80000000$/,
    /^hello \| bootargs: "greeting=hi"$/,
    /^hello \| {3}qcom,resource-mgr@[0-9a-f]+ /,
    /^hello \| the RM says I am VMID 0x80; powering off$/,
    /^host {2}\| every VM powered off$/,
  ]) {
    assert.ok(
      lines.some((l) => want.test(l)),
      `no line matching ${want} in:\n${r.stdout}`,
    );
  }
});

test('CLI run FILE.yaml: three VMs with two vCPUs, links between each pair and shared memory each way all boot and see their devices; exit 0', () => {
  withTmp((dir) => {
    const file = path.join(dir, 'three.yaml');
    const elf = guestPath('hello-vm.elf');
    writeFileSync(
      file,
      `vms:
  - {name: a, kernel: ${elf}, mem: 8M, cpus: 2}
  - {name: b, kernel: ${elf}, mem: 8M}
  - {name: c, kernel: ${elf}, mem: 8M}
links:
  - {type: message-queue, between: [a, b], label: 1}
  - {type: doorbell, from: b, to: c, label: 2}
shared-memory:
  - {owner: c, with: a, size: 8K, label: 3}
  - {owner: a, with: c, size: 4K, label: 4}
`,
    );
    const r = runCli(['run', file]);
    assert.equal(r.status, 0, r.stderr + r.stdout);
    const lines = r.stdout.split('\n');
    for (const want of [
      /^a {5}\| hello from a: 2 vCPU, 8 MiB of RAM at 0x80000000$/,
      /^a {5}\| {3}mq-b-1@[0-9a-f]+ \(qcom,gunyah-message-queue, label 1\)$/,
      /^a {5}\| {3}shm-c-3 \(qcom,shared-memory, label 3\)$/,
      /^a {5}\| {3}shm-c-4 \(qcom,shared-memory, label 4\)$/,
      /^b {5}\| {3}mq-a-1@[0-9a-f]+ \(qcom,gunyah-message-queue, label 1\)$/,
      /^b {5}\| {3}bell-c-2@[0-9a-f]+ \(qcom,gunyah-doorbell-source, label 2\)$/,
      /^c {5}\| {3}bell-b-2@[0-9a-f]+ \(qcom,gunyah-doorbell, label 2\)$/,
      /^host {2}\| donated 8 KiB to c \(label 3\)$/,
      /^host {2}\| every VM powered off$/,
    ]) {
      assert.ok(
        lines.some((l) => want.test(l)),
        `no line matching ${want} in:\n${r.stdout}`,
      );
    }
  });
});

test('CLI run FILE.yaml: a VM that resets in a loop ends the run with exit 1 and one line naming it', () => {
  withTmp((dir) => {
    // x1 = the PL011; write 'H', 'i', '\n'; x0 = PSCI SYSTEM_RESET (0x84000009); hvc #0; b .
    const words = [
      0xd2a12001, 0x52800902, 0xb9000022, 0x52800d22, 0xb9000022, 0x52800142, 0xb9000022, 0xd2b08000, 0xf2800120,
      0xd4000002, 0x14000000,
    ];
    const bin = new Uint8Array(4 * words.length);
    words.forEach((w, i) => new DataView(bin.buffer).setUint32(4 * i, w, true));
    writeFileSync(path.join(dir, 'reset.bin'), bin);
    const file = path.join(dir, 'loop.yaml');
    writeFileSync(file, 'vms:\n  - {name: looper, kernel: reset.bin, mem: 8M}\n');
    const r = runCli(['run', file]);
    assertOneLine(r, 1, /^gunyah: looper asked for a reset .*a reset loop/);
    assert.match(r.stdout, /^looper \| Hi$/m);
  });
});

test('CLI run FILE.yaml: each bad file exits 2 with one line naming the file, the field and the problem', () => {
  withTmp((dir) => {
    const two = `vms:\n  - name: alice\n    kernel: ${DEMO_ELF}\n    mem: 16M\n  - name: bob\n    kernel: ${DEMO_ELF}\n`;
    const cases: [string, string, RegExp][] = [
      ['syntax', 'vms:\n  - name: a\n  kernel: x\n  - bad\n', /^gunyah: .*syntax\.yaml:\d+:\d+: YAML syntax error: /],
      ['unknown', `${two}    memory: 1G\n`, /unknown\.yaml:7: vms\[1\]\.memory: unknown field/],
      ['type', `${two}    cpus: many\n`, /type\.yaml:7: vms\[1\]\.cpus: must be a whole number, not the string "many"/],
      [
        'mem',
        `vms:\n  - {name: a, kernel: ${DEMO_ELF}, mem: 5M}\n`,
        /mem\.yaml:2: vms\[0\]\.mem: 5 MiB is not a usable/,
      ],
      [
        'dup',
        `${two}  - {name: bob, kernel: ${DEMO_ELF}}\n`,
        /dup\.yaml:7: vms\[2\]\.name: the name "bob" is already vms\[1\]'s/,
      ],
      [
        'peer',
        `${two}links:\n  - {type: message-queue, between: [alice, carol], label: 1}\n`,
        /peer\.yaml:8: links\[0\]\.between\[1\]: no VM is named "carol"/,
      ],
      [
        'self',
        `${two}links:\n  - {type: doorbell, from: bob, to: bob, label: 2}\n`,
        /self\.yaml:8: links\[0\]\.to: links bob to itself/,
      ],
      [
        'label',
        `${two}links:\n  - {type: message-queue, between: [alice, bob], label: 1}\n  - {type: doorbell, from: alice, to: bob, label: 1}\n`,
        /label\.yaml:9: links\[1\]\.label: label 1 is already used between alice and bob/,
      ],
      [
        'kernel',
        'vms:\n  - name: a\n    kernel: missing.elf\n',
        /kernel\.yaml:3: vms\[0\]\.kernel: no such file: missing\.elf/,
      ],
      ['empty', '', /empty\.yaml: the file is empty/],
    ];
    for (const [name, text, want] of cases) {
      const file = path.join(dir, `${name}.yaml`);
      writeFileSync(file, text);
      const r = runCli(['run', file]);
      assertOneLine(r, 2, want);
      assert.equal(r.stdout, '', `${name}: nothing runs`);
    }
    assertOneLine(
      runCli(['run', path.join(dir, 'absent.yaml')]),
      2,
      /absent\.yaml: cannot read the system file: no such file/,
    );
    assertOneLine(
      runCli(['run', DEMO_YAML, '--kernel', DEMO_ELF]),
      2,
      /^gunyah: --kernel cannot be combined with a system file/,
    );
    assertOneLine(
      runCli(['run', DEMO_YAML, '--cpus', '2']),
      2,
      /^gunyah: --cpus cannot be combined with a system file/,
    );
  });
});
