// A primary VM made of real AArch64 code (guests/rm-share.c, linked at the HLOS entry 0x41000000)
// lends and shares its own memory through the RM over its RPC link, and checks from inside what it
// can still touch (RM spec §2.8, §6.1; hypervisor-abi.md §9.6, §11.3): the whole path — the RM
// booting the primary as Gunyah's RM does, the guest's RM client in C, the RM's memparcel policy,
// the hypervisor's stage 2 and the abort it injects — with the UART the RM passes through.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Hypervisor } from '../../src/hyp/hypervisor.js';
import { HypSystem } from '../../src/hyp/system.js';
import { ResourceManager } from '../../src/rm/rm.js';
import { parseElf } from '../../src/vmm/loader/elf.js';
import { Pl011 } from '../../src/machine/pl011.js';

const MiB = 1024 * 1024;
const UART_PA = 0x0900_0000;
const UART_SPI = 33;

function runPrimary(elf: string): { stop: string; out: string; rm: ResourceManager } {
  const hv = new Hypervisor({ memory: { base: 0x4000_0000, size: 2048 * MiB } });
  const root = hv.createRootVm();
  const sys = new HypSystem(hv, 1);
  let out = '';
  sys.mapDevice(
    UART_PA,
    0x1000,
    new Pl011(
      (b) => (out += String.fromCharCode(b)),
      (level) => hv.platformIrq(UART_SPI, level),
    ),
  );
  const image = parseElf(readFileSync(new URL(`../../../guests/bin/${elf}`, import.meta.url)));
  assert.equal(image.entry, 0x4100_0000, 'linked for the primary entry (RM spec §4.2)');
  for (const s of image.segments) {
    const bytes = new Uint8Array(s.memsz);
    bytes.set(s.data);
    hv.mem.phys.preload(s.paddr, bytes);
  }
  const rm = new ResourceManager();
  sys.addNative(root.thread, rm);
  sys.spawn = () => 'emulate'; // the primary's vCPU runs the image's code
  const stop = sys.run(2_000_000_000);
  return { stop, out, rm };
}

test('RM §2.8/§6.1, hypervisor-abi §9.6: from inside a primary VM of real code — lent memory aborts on read and write until reclaimed (contents intact), shared memory stays usable, a share keeping the owner at R aborts its writes', () => {
  const r = runPrimary('rm-share.elf');
  assert.equal(r.rm.failure, null);
  const lines = r.out.split('\n').filter((l) => l.length > 0);
  assert.deepEqual(
    lines.filter((l) => l.startsWith('FAIL') || l.startsWith('UNEXPECTED')),
    [],
    r.out,
  );
  for (const claim of [
    "PASS a lender's read of lent memory aborts",
    "PASS a lender's write to lent memory aborts",
    'PASS   synchronous external abort at the lent address',
    'PASS a sharer still reads shared memory',
    'PASS a sharer still writes shared memory',
    'PASS the reclaimed page reads again',
    'PASS   with what the lender wrote before lending',
    "PASS the owner's write to its read-only share aborts",
    'PASS the owner writes the page again',
    'PASS VM_DEALLOCATE',
  ]) {
    assert.ok(lines.includes(claim), `missing "${claim}" in:\n${r.out}`);
  }
  assert.ok(lines.includes('EXIT 0'), r.out);
  // The primary is critical: its SYSTEM_OFF powers the platform off (hypervisor-abi §8.6).
  assert.equal(r.stop, 'platform-off');
});
