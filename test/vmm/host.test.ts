// The host VMM (issue 5; RM spec §9.2, hypervisor-abi §8.4): on the primary VM it creates a guest
// through the RM as Linux's VM manager does, proxy-runs its vCPU with vcpu_run, emulates its PL011
// on VMMIO exits, follows VM_EXITED, and tears it down leaving nothing behind.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GunyahSystem } from '../../src/vmm/system.js';
import { GUEST_RAM_BASE, HostVmm, type GuestSpec } from '../../src/vmm/host.js';
import { generatorProgram } from '../../src/vmm/rm-client/program.js';

const MiB = 1024n * 1024n;
// movz x1,#0x0900,lsl #16; (mov w2,#c; str w2,[x1]) for 'H','i','\n'; x0 = 0x84000008; hvc #0; b .
// (encodings from llvm-mc)
const HELLO = [
  0xd2a12001, 0x52800902, 0xb9000022, 0x52800d22, 0xb9000022, 0x52800142, 0xb9000022, 0xd2b08000, 0xf2800100,
  0xd4000002, 0x14000000,
];

function words(w: readonly number[]): Uint8Array {
  const b = new Uint8Array(4 * w.length);
  const dv = new DataView(b.buffer);
  w.forEach((x, i) => dv.setUint32(4 * i, x >>> 0, true));
  return b;
}

function guest(name: string, out: number[], code = HELLO): GuestSpec {
  const data = words(code);
  return {
    name,
    ramSize: 16n * MiB,
    cpus: 1,
    segments: [{ ipa: GUEST_RAM_BASE, data, memsz: BigInt(data.length) }],
    entry: GUEST_RAM_BASE,
    onConsole: (b) => out.push(b),
  };
}

test('host VMM (RM §9.2, hypervisor-abi §8.4): a guest created through the RM prints through its emulated PL011, powers off (VM_EXITED PLATFORM_OFF), and is torn down leaving no VM, thread or queue behind', () => {
  const out: number[] = [];
  const log: string[] = [];
  const host = new HostVmm([guest('hello', out)], (l) => log.push(l));
  const system = new GunyahSystem({ onConsole: () => undefined, primary: { program: generatorProgram(host.body) } });
  const before = { thread: -1, msgqueue: -1 };
  // After the RM's boot, before the guest: the RM and the primary exist.
  assert.equal(system.run(1_000), 'limit');
  before.thread = system.hv.liveOf('thread').length;
  before.msgqueue = system.hv.liveOf('msgqueue').length;
  assert.equal(system.run(2_000_000_000), 'idle');
  assert.equal(system.rm.failure, null);
  assert.equal(String.fromCharCode(...out), 'Hi\n');
  assert.deepEqual(
    host.outcomes.map((o) => [o.name, o.vmid, o.kind, o.exitType]),
    [['hello', 0x80, 'exited', 1]],
  );
  assert.deepEqual(log, [
    'host: started hello (VMID 0x80, 1 vCPU, 16 MiB at 0x80000000)',
    'host: hello powered off (PSCI SYSTEM_OFF)',
  ]);
  assert.equal(host.exits.get('vmmio_write'), 3, 'one VMMIO write exit per character');
  assert.deepEqual([...system.rm.table.vms.keys()], [3], 'only the primary is left');
  assert.equal(system.hv.liveOf('thread').length, before.thread);
  assert.equal(system.hv.liveOf('msgqueue').length, before.msgqueue);
});

test('host VMM (RM §2.4): a guest that asks for a reset (PSCI SYSTEM_RESET, exit type PLATFORM_RESET) is rebooted — torn down and created again — and after 3 reboots in a row its run ends as a reset loop', () => {
  const out: number[] = [];
  const log: string[] = [];
  // 'H', then x0 = 0x84000009 (PSCI SYSTEM_RESET); hvc #0; b .
  const resetting = [0xd2a12001, 0x52800902, 0xb9000022, 0xd2b08000, 0xf2800120, 0xd4000002, 0x14000000];
  const host = new HostVmm([guest('looper', out, resetting)], (l) => log.push(l));
  const system = new GunyahSystem({ onConsole: () => undefined, primary: { program: generatorProgram(host.body) } });
  assert.equal(system.run(4_000_000_000), 'idle');
  assert.equal(system.rm.failure, null);
  assert.equal(String.fromCharCode(...out), 'HHHH', 'it booted four times');
  assert.deepEqual(
    log.filter((l) => l.startsWith('host: rebooting')),
    ['host: rebooting looper', 'host: rebooting looper', 'host: rebooting looper'],
  );
  assert.equal(host.outcomes.length, 1);
  const o = host.outcomes[0]!;
  assert.equal(o.exitType, 2, 'PLATFORM_RESET');
  assert.match(o.message, /4 times in a row \(a reset loop\)$/);
  assert.deepEqual([...system.rm.table.vms.keys()], [3], 'every incarnation was torn down');
});
