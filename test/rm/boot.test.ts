// The resource manager's start (hypervisor-abi.md §11.1–11.2): as the root VM's native vCPU it
// reads its boot environment from its own memory at X0 and learns its caps and the platform by
// key, checks the hypervisor's API, and then sleeps until an interrupt.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Hypervisor } from '../../src/hyp/hypervisor.js';
import { HypSystem } from '../../src/hyp/system.js';
import { ResourceManager } from '../../src/rm/rm.js';
import type { RmVcpu } from '../../src/rm/port.js';

const MiB = 1024 * 1024;

function boot() {
  // RAM covering the QEMU platform's RM region 0x8048_0000 + 0xA_0000 (§11.3).
  const hv = new Hypervisor({ memory: { base: 0x4000_0000, size: 2048 * MiB } });
  const root = hv.createRootVm();
  const sys = new HypSystem(hv, 1);
  const rm = new ResourceManager();
  const runner = sys.addNative(root.thread, rm);
  return { hv, root, sys, rm, runner };
}

test('RM start (§11.2): the RM reads its caps and the platform from the boot environment at X0, by key', () => {
  const { root, sys, rm, runner } = boot();
  assert.equal(sys.run(1_000_000), 'idle', 'the RM sleeps once started');
  assert.equal(rm.failure, null);
  const info = rm.info!;
  assert.deepEqual(
    { ...info.caps },
    {
      cspace: root.caps.cspace,
      partition: root.caps.partition,
      vcpu: root.caps.vcpu,
      vic: root.caps.vic,
      addrspace: root.caps.addrspace,
      rmMemextent: root.caps.rmMemextent,
      deviceMemextent: root.caps.deviceMemextent,
      uartMemextent: root.caps.uartMemextent,
    },
  );
  assert.deepEqual(info.rmRegion, { base: 0x8048_0000n, size: 0xa_0000n });
  assert.equal(info.gicdBase, 0x0800_0000n);
  assert.equal(info.gicrBase, 0x080a_0000n);
  assert.equal(info.timerFreq, 62_500_000n);
  assert.deepEqual(info.hlos, {
    base: 0x4000_0000n,
    size: 0x4000_0000n,
    entry: 0x4100_0000n,
    dtBase: 0x40f0_0000n,
    ramfsBase: 0x4080_0000n,
  });
  assert.equal(info.uartAddress, 0x0900_0000n);
  assert.ok(info.freeRanges.length > 0, 'free RAM listed');
  assert.equal(info.hwirqs[33], root.caps.hwirq[33], 'the UART SPI has a hwirq cap');
  assert.equal(rm.apiInfo, 0x5100000000008001n);
  assert.equal(runner.waiting, true, 'waiting for an interrupt');
});

test('RM start: a boot environment that cannot be read or decoded stops the RM with a one-line reason', () => {
  const rm = new ResourceManager();
  const fake = (bootX0: bigint, bytes: Uint8Array | number): RmVcpu => ({
    call: () => ({ e: 0, x: [0x5100000000008001n, 0n, 0n, 0n, 0n, 0n, 0n, 0n] }),
    irq: null,
    memory: { read: () => bytes, write: () => 0 },
    bootX0,
  });
  assert.equal(rm.step(fake(0x1000n, 22)), 'off');
  assert.match(rm.failure!, /cannot read the boot environment at 0x1000 \(error 22\)/);
  const rm2 = new ResourceManager();
  assert.equal(rm2.step(fake(0x1000n, new Uint8Array(0x4000))), 'off');
  assert.match(rm2.failure!, /bad boot environment/);
  const rm3 = new ResourceManager();
  const oldApi: RmVcpu = {
    ...fake(0n, 0),
    call: () => ({ e: 0, x: [0x5100000000000002n, 0n, 0n, 0n, 0n, 0n, 0n, 0n] }),
  };
  assert.equal(rm3.step(oldApi), 'off');
  assert.match(rm3.failure!, /unsupported hypervisor API/);
});
