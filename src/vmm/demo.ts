// The built-in demo of `gunyah run` (issue 5): the resource manager, the host VMM on the primary
// VM, and two guest VMs, "alice" and "bob", running guests/bin/demo.elf (guests/demo.c). Each finds
// the other through the /hypervisor nodes the RM wrote for it: a message-queue pair and a doorbell
// between the two, declared in both VM configs with `peer = "vm-name:<other>"`; alice also gets a
// page the host donates to her (an shm vdevice at a fixed base), which she lends to bob.
// The story is the host's log plus each VM's console, line by line, prefixed with its name.

import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { parseElf } from './loader/elf.js';
import { loadKernel } from './loader/kernel.js';
import { GUEST_RAM_BASE, type GuestSpec } from './host.js';

const MiB = 1024n * 1024n;
/** Where alice's donated page sits in her address space (demo.c GIFT_BASE). */
export const DEMO_GIFT_BASE = 0x9000_0000n;
const GUEST_RAM = 16n * MiB;

/** guests/bin/demo.elf, found from this module (src/vmm or dist/src/vmm). */
export function demoImagePath(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const p = path.join(dir, 'guests', 'bin', 'demo.elf');
    if (existsSync(p)) return p;
    dir = path.dirname(dir);
  }
  return path.join(process.cwd(), 'guests', 'bin', 'demo.elf');
}

/** A console sink that prefixes each complete line with `name | `. */
export function linePrefixer(name: string, write: (line: string) => void): (byte: number) => void {
  let line = '';
  return (b) => {
    if (b === 10) {
      write(`${name.padEnd(5)} | ${line}`);
      line = '';
    } else if (b !== 13) {
      line += String.fromCharCode(b);
    }
  };
}

/** The two guests of the demo, their consoles going to `write` line by line. */
export function demoGuests(write: (line: string) => void): GuestSpec[] {
  const bytes = readFileSync(demoImagePath());
  parseElf(bytes); // a clear error early if the file is damaged
  const kernel = loadKernel(bytes, { base: GUEST_RAM_BASE, size: GUEST_RAM }, 'demo.elf');
  const common = { ramSize: GUEST_RAM, cpus: 1, segments: kernel.segments, entry: kernel.entry };
  return [
    {
      ...common,
      name: 'alice',
      vdevices: {
        'mq-bob': {
          'vdevice-type': 'message-queue-pair',
          peer: 'vm-name:bob',
          label: 1,
          generate: '/hypervisor/mq-bob',
        },
        'bell-bob': {
          'vdevice-type': 'doorbell-source',
          peer: 'vm-name:bob',
          label: 2,
          generate: '/hypervisor/bell-bob',
        },
        // optional: a donated parcel is the VM's own once accepted, so no parcel names it at VM_START.
        gift: {
          'vdevice-type': 'shm',
          label: 3,
          base: DEMO_GIFT_BASE,
          'peer-default': true,
          optional: true,
          generate: '/hypervisor/gift',
        },
      },
      donations: [{ label: 3, size: 0x1000n }],
      onConsole: linePrefixer('alice', write),
    },
    {
      ...common,
      name: 'bob',
      vdevices: {
        'mq-alice': {
          'vdevice-type': 'message-queue-pair',
          peer: 'vm-name:alice',
          label: 1,
          generate: '/hypervisor/mq-alice',
        },
        'bell-alice': {
          'vdevice-type': 'doorbell',
          peer: 'vm-name:alice',
          label: 2,
          generate: '/hypervisor/bell-alice',
        },
      },
      onConsole: linePrefixer('bob', write),
    },
  ];
}
