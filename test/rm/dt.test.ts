// The device-tree nodes the RM writes (RM spec §1.1, §4.1, §4.2, §9.1): values checked against the
// spec's numbers, and the blobs decompiled by dtc (Debian's device-tree-compiler, the oracle).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { oracleMissing } from '../helpers/oracle.js';
import { Fdt, readFdt, writeFdt } from '../../src/machine/fdt/index.js';
import {
  DtError,
  addPrimaryHypervisor,
  addSecondaryHypervisor,
  gicSpecifier,
} from '../../src/rm/dt/hypervisor-node.js';

const DTC = spawnSync('dtc', ['--version']).status === 0;
const skip = DTC ? false : oracleMissing('dtc', 'apt-get install device-tree-compiler');

function dtcDecompile(blob: Uint8Array): string {
  const r = spawnSync('dtc', ['-q', '-I', 'dtb', '-O', 'dts'], { input: blob });
  assert.equal(r.status, 0, `dtc failed: ${r.stderr}`);
  return r.stdout.toString();
}

test("RM §9.1/§4.2: the primary's /hypervisor has the RM node qcom,resource-manager-rpc@0000000000000000 with reg <0 0 0 1>, interrupts <0 0x3a0 1 0 0x3a1 1>, free-irq-start 0x3c0, sizes 240, depths 8", () => {
  const fdt = new Fdt();
  addPrimaryHypervisor(fdt, { txCap: 0n, rxCap: 1n, txVirq: 960, rxVirq: 961 });
  const back = readFdt(writeFdt(fdt));
  const rm = back.lookup('/hypervisor/qcom,resource-manager-rpc@0000000000000000')!;
  assert.ok(rm, 'the RM node, named by the TX cap in 16 hex digits');
  assert.deepEqual(rm.getStrings('compatible'), [
    'gunyah-resource-manager',
    'qcom,resource-manager-1-0',
    'qcom,resource-manager',
  ]);
  assert.deepEqual(rm.getCells('reg'), [0, 0, 0, 1]);
  assert.deepEqual(rm.getCells('interrupts'), [0, 0x3a0, 1, 0, 0x3a1, 1]);
  assert.deepEqual(rm.getCells('qcom,free-irq-start'), [0x3c0]);
  assert.deepEqual(rm.getCells('qcom,tx-message-size'), [0xf0]);
  assert.deepEqual(rm.getCells('qcom,rx-queue-depth'), [8]);
  assert.equal(rm.hasProperty('qcom,is-full-duplex'), true);
  const h = back.lookup('/hypervisor')!;
  assert.deepEqual(h.getCells('#address-cells'), [2]);
  assert.deepEqual(h.getCells('#size-cells'), [0]);
  assert.ok(h.getStrings('compatible')!.includes('qcom,gunyah-hypervisor'));
  assert.deepEqual(back.lookup('/hypervisor/qcom,gunyah-vm')!.getCells('qcom,vmid'), [3]);
});

test("RM §4.1/§1.1: a secondary's RM node sits at its generate path @ the RX cap (hex, no leading zeros), push-compatibles first; the VM node carries vmid, owner, vendor, image name", () => {
  const fdt = new Fdt();
  addSecondaryHypervisor(
    fdt,
    { vmid: 0x80, owner: 3, imageName: 'guest', guid: 'C1D58FCD-A453-5FDB-9265-CE36673D5F14' },
    { txCap: 0n, rxCap: 0x2an, txVirq: 94, rxVirq: 95, pushCompatible: ['vendor,rm'] },
  );
  const back = readFdt(writeFdt(fdt));
  const rm = back.lookup('/hypervisor/gunyah-resource-mgr@2a')!;
  assert.ok(rm);
  assert.deepEqual(rm.getStrings('compatible'), [
    'vendor,rm',
    'gunyah-resource-manager',
    'qcom,resource-manager',
    'qcom,resource-manager-1-0',
    'qcom,gunyah-message-queue',
    'qcom,gunyah-capability',
  ]);
  assert.deepEqual(rm.getCells('interrupts'), [0, 62, 1, 0, 63, 1]);
  assert.deepEqual(rm.getCells('qcom,free-irq-start'), [0]);
  const vm = back.lookup('/hypervisor/qcom,gunyah-vm')!;
  assert.deepEqual([vm.getCells('qcom,vmid'), vm.getCells('qcom,owner-vmid')], [[0x80], [3]]);
  assert.equal(vm.getString('qcom,image-name'), 'guest');
  assert.equal(vm.getString('qcom,vm-guid'), 'c1d58fcd-a453-5fdb-9265-ce36673d5f14', 'lower-case');
});

test('RM §4.1: a tree that already has /hypervisor is refused; GIC specifiers cover SPI, PPI, ESPI, EPPI and nothing else (§1.1)', () => {
  const fdt = new Fdt();
  fdt.addNode('/hypervisor');
  assert.throws(() => addPrimaryHypervisor(fdt, { txCap: 0n, rxCap: 1n, txVirq: 960, rxVirq: 961 }), DtError);
  assert.deepEqual(gicSpecifier(32), [0, 0, 1]);
  assert.deepEqual(gicSpecifier(1019, 4), [0, 987, 4]);
  assert.deepEqual(gicSpecifier(27), [1, 11, 1]);
  assert.deepEqual(gicSpecifier(4096), [2, 0, 1]);
  assert.deepEqual(gicSpecifier(1119), [3, 63, 1]);
  for (const bad of [0, 15, 1020, 1055, 1120, 4095, 5120]) assert.throws(() => gicSpecifier(bad), DtError, String(bad));
});

test('RM §4.1/§4.2 (dtc): both trees decompile with dtc and show the nodes', { skip }, () => {
  const p = new Fdt();
  addPrimaryHypervisor(p, { txCap: 0n, rxCap: 1n, txVirq: 960, rxVirq: 961 });
  const dts = dtcDecompile(writeFdt(p));
  assert.match(dts, /qcom,resource-manager-rpc@0000000000000000 \{/);
  assert.match(dts, /interrupts = <0x00 0x3a0 0x01 0x00 0x3a1 0x01>;/);
  const s = new Fdt();
  addSecondaryHypervisor(s, { vmid: 0x80, owner: 3, imageName: '' }, { txCap: 0n, rxCap: 1n, txVirq: 94, rxVirq: 95 });
  assert.match(dtcDecompile(writeFdt(s)), /gunyah-resource-mgr@1 \{/);
});
