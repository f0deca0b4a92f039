// The system as `gunyah run --primary` builds it (issue 5; RM spec §4.2, hypervisor-abi §11.3):
// the platform's device tree for the primary, left at 0x40F00000, comes back patched by the RM
// with /hypervisor, the primary's vCPU starts with X0 = its address; the tree decompiles with dtc.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { GunyahSystem, HLOS } from '../../src/vmm/system.js';
import { platformDt } from '../../src/vmm/dt/platform.js';
import { readFdt, writeFdt, type Fdt } from '../../src/machine/fdt/index.js';
import { generatorProgram } from '../../src/vmm/rm-client/program.js';
import type { RmVcpu } from '../../src/rm/port.js';
import { oracleMissing } from '../helpers/oracle.js';

const DTC = spawnSync('dtc', ['--version']).status === 0;
const skip = DTC ? false : oracleMissing('dtc', 'apt-get install device-tree-compiler');

/** Boot with the platform tree; the primary (a native program) reads its tree at X0. */
function bootAndRead(cpus: number, bootargs: string): { x0: bigint; tree: Fdt; primaryDt: string } {
  let x0 = 0n;
  let tree: Fdt | null = null;
  const dt = writeFdt(platformDt({ memory: [{ base: HLOS.base, size: HLOS.size }], cpus, bootargs }));
  const system = new GunyahSystem({
    cpus,
    onConsole: () => undefined,
    primary: {
      dt,
      program: generatorProgram(function* (v: RmVcpu) {
        x0 = v.bootX0;
        const head = v.memory!.read(x0, 8);
        assert.ok(head instanceof Uint8Array, 'the primary reads its tree');
        const total = new DataView(head.buffer, head.byteOffset).getUint32(4, false);
        const all = v.memory!.read(x0, total);
        assert.ok(all instanceof Uint8Array);
        tree = readFdt(all);
        yield 'wait';
      }),
    },
  });
  assert.equal(system.run(50_000_000), 'idle');
  assert.ok(tree !== null, 'the primary ran');
  return { x0, tree, primaryDt: system.rm.primaryDt };
}

test('RM §4.2: the primary boots with X0 = 0x40F00000, where the RM has added /hypervisor (VM node VMID 3, RM node @0000000000000000 with reg <0 1>, VIRQs 960/961, free-irq-start 960) to the platform tree, which keeps its memory, CPUs, GIC, timer, UART and bootargs', () => {
  const r = bootAndRead(2, 'console=ttyAMA0');
  assert.equal(r.primaryDt, 'patched');
  assert.equal(r.x0, 0x40f0_0000n);
  const t = r.tree;
  assert.equal(t.lookup('/hypervisor/qcom,gunyah-vm')?.getCells('qcom,vmid')?.[0], 3);
  const rmNode = t.lookup('/hypervisor/qcom,resource-manager-rpc@0000000000000000');
  assert.ok(rmNode, 'the RM node');
  assert.deepEqual(rmNode.getCells('reg'), [0, 0, 0, 1]);
  // GIC SPI specifiers: 960 - 32 = 0x3a0, 961 - 32 = 0x3a1, edge rising (1) (§1.1).
  assert.deepEqual(rmNode.getCells('interrupts'), [0, 0x3a0, 1, 0, 0x3a1, 1]);
  assert.deepEqual(rmNode.getCells('qcom,free-irq-start'), [960]);
  assert.deepEqual(t.lookup('/memory@40000000')?.getCells('reg'), [0, 0x4000_0000, 0, 0x4000_0000]);
  assert.ok(t.lookup('/cpus/cpu@0') && t.lookup('/cpus/cpu@1') && !t.lookup('/cpus/cpu@2'));
  // GICD 64 KiB at 0x0800_0000; two GICR frames of 128 KiB from 0x080A_0000 (hypervisor-abi §9.1).
  assert.deepEqual(
    t.lookup('/intc@8000000')?.getCells('reg'),
    [0, 0x0800_0000, 0, 0x1_0000, 0, 0x080a_0000, 0, 0x4_0000],
  );
  assert.deepEqual(t.lookup('/pl011@9000000')?.getCells('interrupts'), [0, 1, 4], 'SPI 33, level high');
  assert.equal(t.lookup('/chosen')?.getString('bootargs'), 'console=ttyAMA0');
});

test(
  'RM §4.2 (dtc): the patched primary tree decompiles with dtc and shows /hypervisor and the platform nodes',
  { skip },
  () => {
    const r = bootAndRead(1, 'quiet');
    const d = spawnSync('dtc', ['-q', '-I', 'dtb', '-O', 'dts'], { input: writeFdt(r.tree) });
    assert.equal(d.status, 0, String(d.stderr));
    const dts = String(d.stdout);
    for (const want of [
      /hypervisor \{/,
      /qcom,resource-manager-rpc@0000000000000000 \{/,
      /compatible = "arm,gic-v3";/,
      // dtc prints a string list as "a", "b" or, in some versions, "a\0b".
      /compatible = "arm,pl011(", "|\\0)arm,primecell";/,
      /bootargs = "quiet";/,
    ]) {
      assert.match(dts, want);
    }
  },
);

test('RM §4.2 [infer]: with no device tree at 0x40F00000 the RM still boots the primary and says why it patched nothing', () => {
  let ran = false;
  const system = new GunyahSystem({
    onConsole: () => undefined,
    primary: {
      program: generatorProgram(function* () {
        ran = true;
        yield 'wait';
      }),
    },
  });
  assert.equal(system.run(50_000_000), 'idle');
  assert.ok(ran);
  assert.equal(system.rm.primaryDt, 'no device tree at hlos_dt_base');
});
