// Room for large guests (issue 5): a native primary (the built-in host VMM) gets nearly 2 GiB of
// memory (HOST_HLOS) instead of the QEMU platform's 1 GiB, told to the RM as hlos_vm_size in the boot
// env (hypervisor-abi §11.2), with the RM region moved above it; an image primary keeps the
// platform's map (RM spec §4.2). The host VMM carves guest RAM out of that memory.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GunyahSystem, HLOS, HOST_HLOS } from '../../src/vmm/system.js';
import { GUEST_RAM_BASE, HostVmm, type GuestSpec } from '../../src/vmm/host.js';
import { generatorProgram } from '../../src/vmm/rm-client/program.js';
import { Hypervisor } from '../../src/hyp/hypervisor.js';
import { HLOS_VM_BASE } from '../../src/hyp/boot/rootvm.js';

const MiB = 1024n * 1024n;
const GiB = 1024n * MiB;
// Prints "Hi\n" on its PL011 and powers off (PSCI SYSTEM_OFF); test/vmm/host.test.ts's guest.
const HELLO = [
  0xd2a12001, 0x52800902, 0xb9000022, 0x52800d22, 0xb9000022, 0x52800142, 0xb9000022, 0xd2b08000, 0xf2800100,
  0xd4000002, 0x14000000,
];

function guest(name: string, ramSize: bigint, out: number[]): GuestSpec {
  const data = new Uint8Array(4 * HELLO.length);
  HELLO.forEach((w, i) => new DataView(data.buffer).setUint32(4 * i, w, true));
  return {
    name,
    ramSize,
    cpus: 1,
    segments: [{ ipa: GUEST_RAM_BASE, data, memsz: BigInt(data.length) }],
    entry: GUEST_RAM_BASE,
    onConsole: (b) => out.push(b),
  };
}

function runHost(guests: GuestSpec[]): { system: GunyahSystem; host: HostVmm } {
  const host = new HostVmm(guests);
  const system = new GunyahSystem({ onConsole: () => undefined, primary: { program: generatorProgram(host.body) } });
  assert.equal(system.run(2_000_000_000), 'idle');
  assert.equal(system.rm.failure, null);
  return { system, host };
}

test('hypervisor-abi §11.2: a native primary gets HOST_HLOS — hlos_vm_size 0x7FE0_0000 from 0x4000_0000 in the boot env, the RM region in the last 2 MiB of RAM — while an image primary keeps the QEMU platform map (1 GiB, RM region at 0x8048_0000)', () => {
  const native = runHost([]).system;
  assert.equal(native.hlos, HOST_HLOS);
  assert.deepEqual(native.rm.info?.hlos.base, 0x4000_0000n);
  assert.deepEqual(native.rm.info?.hlos.size, 0x7fe0_0000n);
  assert.deepEqual(native.rm.info?.rmRegion, { base: 0xbfe0_0000n, size: 0xa_0000n });
  assert.equal(native.hv.mem.phys.base + native.hv.mem.phys.size, 0xc000_0000, 'RAM is still 2 GiB');

  const image = new GunyahSystem({
    onConsole: () => undefined,
    primary: { segments: [{ paddr: Number(HLOS.entry), data: new Uint8Array([0x7f, 0x20, 0x03, 0xd5]), memsz: 4 }] },
  });
  image.run(1_000_000);
  assert.equal(image.hlos, HLOS);
  assert.deepEqual(image.rm.info?.hlos.size, 0x4000_0000n);
  assert.deepEqual(image.rm.info?.rmRegion, { base: 0x8048_0000n, size: 0xa_0000n });
});

test("host VMM (RM §2.8 MEM_LEND): a guest with 1 GiB of RAM runs, and a guest after it, whose RAM (from PA 0x8800_0000) lies beyond the platform primary's 1 GiB and around the platform RM region, runs too", () => {
  const a: number[] = [];
  const b: number[] = [];
  const { host } = runHost([guest('big', 1n * GiB, a), guest('high', 16n * MiB, b)]);
  assert.deepEqual(
    host.outcomes.map((o) => [o.name, o.kind, o.exitType]),
    [
      ['big', 'exited', 1],
      ['high', 'exited', 1],
    ],
  );
  assert.equal(String.fromCharCode(...a), 'Hi\n');
  assert.equal(String.fromCharCode(...b), 'Hi\n');
});

test('host VMM: guest RAM that would pass the end of the primary memory is refused before VM_ALLOCATE ("no host memory left"), and the guests that fit still run', () => {
  const out: number[] = [];
  const { host } = runHost([guest('first', 1n * GiB, out), guest('too-big', 1n * GiB, out)]);
  assert.deepEqual(
    host.outcomes.map((o) => [o.name, o.kind, o.message]),
    [
      ['too-big', 'failed', 'no host memory left for its RAM'],
      ['first', 'exited', 'powered off (PSCI SYSTEM_OFF)'],
    ],
  );
});

test('hypervisor-abi §11.2: the root VM refuses an hlos_vm_size that is not whole 2 MiB blocks, leaves RAM or covers the RM region', () => {
  const boot = (hlosSize: number): void => {
    new Hypervisor({ memory: { base: HLOS_VM_BASE, size: 0x8000_0000 } }).createRootVm({ hlosSize });
  };
  assert.throws(() => boot(0x4000_1000), /whole 2 MiB blocks/);
  assert.throws(() => boot(0x4080_0000), /clear of the RM region \[0x80480000, 0x80520000\)/);
  assert.throws(() => boot(0x9000_0000), /inside RAM/);
  assert.doesNotThrow(() => boot(0x4040_0000), 'up to the RM region');
});
