// System files (issue 5; docs/system-yaml.md): parsing and checking the YAML that `gunyah run
// FILE.yaml` boots. A good file becomes the vm-config vdevices and donations src/vmm/demo.ts builds
// by hand; every bad one is a single-line error naming the file, the line, the field path and the
// problem.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  DEFAULT_MEM,
  SystemFileError,
  parseSystemFile,
  readSystemFile,
  systemGuests,
  type SystemFile,
} from '../../src/cli/system-file.js';
import { DEMO_GIFT_BASE } from '../../src/vmm/demo.js';
import { ROOT, guestPath } from '../scenarios/guest-run.js';

const MiB = 1024n * 1024n;
const FILE = 'sys.yaml';
const DEMO_ELF = guestPath('demo.elf');

function parse(text: string): SystemFile {
  return parseSystemFile(text, FILE, path.dirname(DEMO_ELF));
}

/** The error a bad file gives: one line, starting with the file (and a line number), naming `field`. */
function rejects(text: string, field: string, problem: RegExp, line?: number): string {
  let msg = '';
  assert.throws(
    () => parse(text),
    (e: unknown) => {
      assert.ok(e instanceof SystemFileError, `not a SystemFileError: ${String(e)}`);
      msg = e.message;
      return true;
    },
  );
  assert.ok(!msg.includes('\n'), `one line, got:\n${msg}`);
  const where = line === undefined ? `${FILE}(:\\d+)?` : `${FILE}:${line}`;
  assert.match(msg, new RegExp(`^${where}: `), msg);
  assert.ok(msg.includes(`: ${field}: `), `names ${field}: ${msg}`);
  assert.match(msg, problem);
  return msg;
}

const TWO = `vms:
  - name: alice
    kernel: demo.elf
  - name: bob
    kernel: demo.elf
`;

test('system file: examples/demo.yaml gives the vdevices and donation of the built-in demo (src/vmm/demo.ts), in its order', () => {
  const sys = readSystemFile(path.join(ROOT, 'examples', 'demo.yaml'));
  assert.deepEqual(
    sys.vms.map((v) => v.name),
    ['alice', 'bob'],
  );
  const [alice, bob] = sys.vms;
  assert.equal(alice!.mem, 16n * MiB);
  assert.equal(alice!.cpus, 1);
  assert.equal(alice!.kernelPath, DEMO_ELF);
  assert.deepEqual(alice!.vdevices, {
    'mq-bob-1': {
      'vdevice-type': 'message-queue-pair',
      peer: 'vm-name:bob',
      label: 1,
      generate: '/hypervisor/mq-bob-1',
    },
    'bell-bob-2': {
      'vdevice-type': 'doorbell-source',
      peer: 'vm-name:bob',
      label: 2,
      generate: '/hypervisor/bell-bob-2',
    },
    'shm-bob-3': {
      'vdevice-type': 'shm',
      base: DEMO_GIFT_BASE,
      optional: true,
      peer: 'vm-name:bob',
      label: 3,
      generate: '/hypervisor/shm-bob-3',
    },
  });
  assert.deepEqual(alice!.donations, [{ label: 3, size: 0x1000n }]);
  assert.deepEqual(bob!.vdevices, {
    'mq-alice-1': {
      'vdevice-type': 'message-queue-pair',
      peer: 'vm-name:alice',
      label: 1,
      generate: '/hypervisor/mq-alice-1',
    },
    'bell-alice-2': {
      'vdevice-type': 'doorbell',
      peer: 'vm-name:alice',
      label: 2,
      generate: '/hypervisor/bell-alice-2',
    },
    'shm-alice-3': {
      'vdevice-type': 'shm',
      optional: true,
      peer: 'vm-name:alice',
      label: 3,
      generate: '/hypervisor/shm-alice-3',
    },
  });
  assert.deepEqual(bob!.donations, []);
  assert.deepEqual(sys.sharedMemory, [{ owner: 'alice', with: 'bob', size: 0x1000n, label: 3, base: DEMO_GIFT_BASE }]);
});

test('system file: a VM without mem or cpus gets 64 MiB and one vCPU; paths are relative to the file', () => {
  const sys = parseSystemFile('vms:\n  - name: a\n    kernel: k.elf\n', 'dir/sub/x.yaml');
  assert.equal(sys.vms[0]!.mem, DEFAULT_MEM);
  assert.equal(DEFAULT_MEM, 64n * MiB);
  assert.equal(sys.vms[0]!.cpus, 1);
  assert.equal(sys.vms[0]!.kernelPath, path.resolve('dir/sub/k.elf'));
  assert.deepEqual(sys.vms[0]!.vdevices, {});
});

test('system file: sizes are bytes or K/M/G (KiB/MiB/GiB) numbers; labels and addresses take 0x', () => {
  const sys = parse(`${TWO}    mem: 0x2000000
shared-memory:
  - {owner: alice, with: bob, size: 8KiB, label: 0x10, base: "0x1_0000_0000"}
  - {owner: alice, with: bob, size: 1M, label: 17}
`);
  assert.equal(sys.vms[1]!.mem, 32n * MiB);
  assert.deepEqual(
    sys.sharedMemory.map((s) => [s.size, s.label, s.base]),
    [
      [0x2000n, 16, 0x1_0000_0000n],
      [MiB, 17, 0x1_0000_2000n],
    ],
  );
});

test("system file: shared memory without a base goes at the first 256 MiB boundary above the owner's RAM", () => {
  const sys = parse(`${TWO}shared-memory:\n  - {owner: bob, with: alice, size: 4K, label: 5}\n`);
  // bob: 64 MiB at 0x8000_0000, so RAM ends at 0x8400_0000.
  assert.equal(sys.sharedMemory[0]!.base, 0x9000_0000n);
});

test('system file: a YAML syntax error is reported with its line and column', () => {
  assert.throws(
    () => parse('vms:\n  - name: a\n    kernel: [x\n'),
    (e: unknown) => e instanceof SystemFileError && /^sys\.yaml:\d+:\d+: YAML syntax error: /.test(e.message),
  );
  assert.throws(
    () => parse('vms:\n  - name: a\n    name: b\n'),
    (e: unknown) =>
      e instanceof SystemFileError && e.message === 'sys.yaml:3:5: YAML syntax error: a key appears twice in one map',
  );
});

test('system file: an empty file, or one without vms, says a system lists its VMs', () => {
  assert.throws(() => parse(''), /^Error: sys\.yaml: the file is empty/);
  rejects('links: []\n', 'vms', /the field vms is missing/);
  rejects('vms: []\n', 'vms', /at least one VM/, 1);
  rejects('vms: alice\n', 'vms', /must be a list, not the string "alice"/, 1);
});

test('system file: an unknown field is named with its path and the fields allowed there', () => {
  rejects('vm: []\n', 'vm', /unknown field; the fields here are vms, links, shared-memory/, 1);
  rejects(`${TWO}    memory: 16M\n`, 'vms[1].memory', /unknown field; the fields here are name, kernel, mem, cpus/, 6);
  rejects(
    `${TWO}links:\n  - {type: message-queue, from: alice, between: [alice, bob], label: 1}\n`,
    'links[0].from',
    /unknown field; the fields here are type, between, label/,
  );
});

test('system file: a field of the wrong type names the field and what it got', () => {
  rejects(`${TWO}    cpus: two\n`, 'vms[1].cpus', /must be a whole number, not the string "two"/, 6);
  rejects(`${TWO}    cpus: 9\n`, 'vms[1].cpus', /9 is out of range \(1 to 8\)/);
  rejects('vms:\n  - name: 7\n    kernel: k\n', 'vms[0].name', /must be a string, not the number 7/, 2);
  rejects('vms:\n  - alice\n', 'vms[0]', /must be a map, not the string "alice"/, 2);
  rejects('vms:\n  - name: a\n', 'vms[0].kernel', /is missing/);
  rejects('vms:\n  - name: a\n    kernel: k\n    bootargs: [a]\n', 'vms[0].bootargs', /must be a string, not a list/);
});

test('system file: a bad mem size names vms[i].mem and the rule', () => {
  rejects(`${TWO}    mem: 15M\n`, 'vms[1].mem', /15 MiB is not a usable RAM size: it must be a multiple of 2 MiB/, 6);
  rejects(`${TWO}    mem: 2M\n`, 'vms[1].mem', /at least 4 MiB/);
  rejects(`${TWO}    mem: lots\n`, 'vms[1].mem', /must be a size like 4K, 16M or 1G, not the string "lots"/);
  rejects(`${TWO}    mem: 2G\n`, 'vms[1].mem', /the host VMM has 2011168768 bytes \(1\.9 GiB\)/);
});

test('system file: VM names are unique and usable as DT node names', () => {
  rejects('vms:\n  - {name: a, kernel: k}\n  - {name: a, kernel: k}\n', 'vms[1].name', /"a" is already vms\[0\]'s/, 3);
  rejects('vms:\n  - {name: Alice, kernel: k}\n', 'vms[0].name', /"Alice" is not a VM name/);
  rejects('vms:\n  - {name: a-very-long-name-indeed, kernel: k}\n', 'vms[0].name', /1 to 16 lower-case/);
});

test('system file: a link to an unknown VM names the end and lists the VMs', () => {
  rejects(
    `${TWO}links:\n  - {type: message-queue, between: [alice, carol], label: 1}\n`,
    'links[0].between[1]',
    /no VM is named "carol" \(the VMs are alice, bob\)/,
    7,
  );
  rejects(`${TWO}links:\n  - {type: doorbell, from: carol, to: bob, label: 1}\n`, 'links[0].from', /"carol"/);
  rejects(
    `${TWO}shared-memory:\n  - {owner: alice, with: eve, size: 4K, label: 1}\n`,
    'shared-memory[0].with',
    /"eve"/,
  );
});

test('system file: a VM linked to itself is refused', () => {
  rejects(
    `${TWO}links:\n  - {type: message-queue, between: [bob, bob], label: 1}\n`,
    'links[0].between[1]',
    /links bob to itself/,
  );
  rejects(`${TWO}links:\n  - {type: doorbell, from: alice, to: alice, label: 1}\n`, 'links[0].to', /to itself/);
  rejects(`${TWO}shared-memory:\n  - {owner: bob, with: bob, size: 4K, label: 1}\n`, 'shared-memory[0].with', /itself/);
});

test('system file: a label is used once between the same two VMs, whatever the kind or direction', () => {
  rejects(
    `${TWO}links:
  - {type: message-queue, between: [alice, bob], label: 1}
  - {type: doorbell, from: bob, to: alice, label: 1}
`,
    'links[1].label',
    /label 1 is already used between bob and alice \(links\[0\]\)/,
    8,
  );
  rejects(
    `${TWO}links:\n  - {type: doorbell, from: bob, to: alice, label: 4}\nshared-memory:\n  - {owner: alice, with: bob, size: 4K, label: 4}\n`,
    'shared-memory[0].label',
    /already used between alice and bob \(links\[0\]\)/,
  );
  // Between different pairs the same label is fine.
  const three = `${TWO}  - {name: carol, kernel: demo.elf}\nlinks:\n  - {type: message-queue, between: [alice, bob], label: 1}\n  - {type: message-queue, between: [alice, carol], label: 1}\n`;
  assert.equal(parse(three).links.length, 2);
});

test('system file: a link has a known type and the fields of that type', () => {
  rejects(
    `${TWO}links:\n  - {type: pipe, between: [alice, bob], label: 1}\n`,
    'links[0].type',
    /"pipe" is not a link type/,
  );
  rejects(`${TWO}links:\n  - {type: doorbell, from: alice, to: bob}\n`, 'links[0].label', /is missing/);
  rejects(`${TWO}links:\n  - {type: doorbell, from: alice, to: bob, label: -1}\n`, 'links[0].label', /out of range/);
  rejects(
    `${TWO}links:\n  - {type: message-queue, between: [alice], label: 1}\n`,
    'links[0].between',
    /exactly two VMs, not 1/,
  );
});

test('system file: shared memory is whole pages at a page-aligned base outside the devices and RAM, one label per owner', () => {
  const shm = (s: string): string => `${TWO}  - {name: carol, kernel: demo.elf}\nshared-memory:\n${s}`;
  rejects(
    shm('  - {owner: alice, with: bob, size: 100, label: 1}\n'),
    'shared-memory[0].size',
    /whole number of 4 KiB/,
  );
  rejects(
    shm('  - {owner: alice, with: bob, size: 4K, label: 1, base: 0x90000010}\n'),
    'shared-memory[0].base',
    /0x90000010 is not 4 KiB aligned/,
  );
  rejects(
    shm('  - {owner: alice, with: bob, size: 4K, label: 1, base: 0x9000000}\n'),
    'shared-memory[0].base',
    /first GiB/,
  );
  rejects(
    shm('  - {owner: alice, with: bob, size: 4K, label: 1, base: 0x80100000}\n'),
    'shared-memory[0].base',
    /overlaps alice's RAM \(0x80000000–0x84000000\)/,
  );
  rejects(
    shm(
      '  - {owner: alice, with: bob, size: 8K, label: 1, base: 0x90000000}\n  - {owner: alice, with: carol, size: 4K, label: 2, base: 0x90001000}\n',
    ),
    'shared-memory[1].base',
    /overlaps shared-memory\[0\]/,
  );
  rejects(
    shm('  - {owner: alice, with: bob, size: 4K, label: 1}\n  - {owner: alice, with: carol, size: 4K, label: 1}\n'),
    'shared-memory[1].label',
    /alice already owns shared memory with label 1 \(shared-memory\[0\]\)/,
  );
  rejects(shm('  - {owner: alice, with: bob, label: 1}\n'), 'shared-memory[0].size', /is missing/);
});

test("system file: the VMs' memory must fit in the host VMM's 1918 MiB pool", () => {
  rejects(
    'vms:\n  - {name: a, kernel: k, mem: 1G}\n  - {name: b, kernel: k, mem: 1G}\n',
    'vms[1].mem',
    /1 GiB more makes 2 GiB of guest memory; the host VMM has 2011168768 bytes \(1\.9 GiB\)/,
    3,
  );
});

function withTmp<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(path.join(tmpdir(), 'gunyah-sys-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function guestsError(dir: string, yaml: string): string {
  const file = path.join(dir, 'sys.yaml');
  writeFileSync(file, yaml);
  const sys = readSystemFile(file);
  try {
    systemGuests(sys, () => () => undefined);
  } catch (e) {
    assert.ok(e instanceof SystemFileError, String(e));
    assert.ok(!e.message.includes('\n'), e.message);
    assert.ok(e.message.startsWith(`${file}:`), e.message);
    return e.message;
  }
  assert.fail('no error');
}

test('system file: a missing kernel file names vms[i].kernel and where it was looked for', () => {
  withTmp((dir) => {
    const msg = guestsError(dir, 'vms:\n  - name: a\n    kernel: nope.elf\n');
    assert.equal(
      msg,
      `${path.join(dir, 'sys.yaml')}:3: vms[0].kernel: no such file: nope.elf (looked for ${path.join(dir, 'nope.elf')})`,
    );
  });
});

test('system file: a kernel the loader refuses names the VM and the field', () => {
  withTmp((dir) => {
    writeFileSync(path.join(dir, 'empty.bin'), new Uint8Array(0));
    const msg = guestsError(dir, 'vms:\n  - name: ok\n    kernel: empty.bin\n');
    assert.match(msg, /:3: vms\[0\]\.kernel: VM "ok" cannot boot: empty\.bin: the file is empty$/);
    writeFileSync(path.join(dir, 'bad.dtb'), new Uint8Array(64));
    const dtb = guestsError(dir, `vms:\n  - name: d\n    kernel: ${DEMO_ELF}\n    dtb: bad.dtb\n`);
    assert.match(dtb, /:4: vms\[0\]\.dtb: VM "d" cannot boot: bad\.dtb: not a usable device tree blob/);
    const initrd = guestsError(dir, `vms:\n  - name: r\n    kernel: ${DEMO_ELF}\n    initrd: gone.img\n`);
    assert.match(initrd, /:4: vms\[0\]\.initrd: no such file: gone\.img/);
  });
});

test('system file: a good file becomes GuestSpecs with the kernel loaded, vdevices, donations and a console per VM', () => {
  const sys = readSystemFile(path.join(ROOT, 'examples', 'demo.yaml'));
  const seen: string[] = [];
  const guests = systemGuests(sys, (name) => (b) => seen.push(`${name}:${b}`));
  assert.deepEqual(
    guests.map((g) => [g.name, g.ramSize, g.cpus, g.entry]),
    [
      ['alice', 16n * MiB, 1, 0x8000_0000n],
      ['bob', 16n * MiB, 1, 0x8000_0000n],
    ],
  );
  assert.equal(guests[0]!.vdevices, sys.vms[0]!.vdevices);
  assert.deepEqual(guests[0]!.donations, [{ label: 3, size: 0x1000n }]);
  guests[1]!.onConsole(65);
  assert.deepEqual(seen, ['bob:65']);
  assert.ok(readFileSync(DEMO_ELF).length > 0);
});
