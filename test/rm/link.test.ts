// RM RPC over real message queues (RM spec §1, §9.1): the RM builds the primary VM (VMID 3) with
// its link as caps 0 (TX) and 1 (RX) and VIRQs 960/961, and a native program on the primary's
// vCPU talks to it as Linux's driver does.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Hypervisor } from '../../src/hyp/hypervisor.js';
import { HypSystem } from '../../src/hyp/system.js';
import { ResourceManager, PRIMARY_LINK_RX_VIRQ, PRIMARY_LINK_TX_VIRQ, PRIMARY_VMID } from '../../src/rm/rm.js';
import { RmClientTransport, rmCall, type CallOutcome } from '../../src/vmm/rm-client/transport.js';
import { generatorProgram, type ProgramBody } from '../../src/vmm/rm-client/program.js';
import type { RmVcpu } from '../../src/rm/port.js';
import { MsgId, RmError } from '../../src/rm/rpc/index.js';

const MiB = 1024 * 1024;
/** Scratch buffers in the primary's memory (its RAM starts at 0x4000_0000). */
const SCRATCH = { rx: 0x4000_1000n, tx: 0x4000_1100n };

function system(body: (v: RmVcpu, t: RmClientTransport) => ProgramBody) {
  const hv = new Hypervisor({ memory: { base: 0x4000_0000, size: 2048 * MiB } });
  const root = hv.createRootVm();
  const sys = new HypSystem(hv, 1);
  const rm = new ResourceManager();
  sys.addNative(root.thread, rm);
  let spawned = 0;
  sys.spawn = () => {
    spawned++;
    return generatorProgram((v) => body(v, new RmClientTransport(v, { txCap: 0n, rxCap: 1n, scratch: SCRATCH })));
  };
  return { hv, sys, rm, spawned: () => spawned };
}

const u32 = (d: Uint8Array): number => new DataView(d.buffer, d.byteOffset).getUint32(0, true);

test('RM §2.2/§9.1: the primary VM (VMID 3) reaches the RM through caps 0/1 and VIRQs 960/961; VM_GET_VMID answers 3', () => {
  const outcomes: CallOutcome[] = [];
  const { sys, rm, spawned } = system(function* (v, t) {
    v.irq!.init();
    v.irq!.enable(PRIMARY_LINK_TX_VIRQ);
    v.irq!.enable(PRIMARY_LINK_RX_VIRQ);
    outcomes.push(yield* rmCall(v.irq, t, MsgId.VM_GET_VMID));
  });
  assert.equal(sys.run(50_000_000), 'idle');
  assert.equal(rm.failure, null);
  assert.equal(spawned(), 1, 'the primary vCPU was powered on by the RM');
  assert.equal(outcomes.length, 1);
  const o = outcomes[0]!;
  assert.ok(o.ok, JSON.stringify(o));
  assert.equal(o.error, RmError.OK);
  assert.equal(u32(o.data), PRIMARY_VMID);
});

test('RM §1.5: an unknown message ID gets UNIMPLEMENTED (0xFFFFFFFF); a wrong-length VM_GET_VMID (2 fragments) gets MSG_INVALID; a runt packet is dropped and the link serves on', () => {
  const outcomes: CallOutcome[] = [];
  const { sys, rm } = system(function* (v, t) {
    v.irq!.init();
    v.irq!.enable(PRIMARY_LINK_TX_VIRQ);
    v.irq!.enable(PRIMARY_LINK_RX_VIRQ);
    outcomes.push(yield* rmCall(v.irq, t, 0x5600_00ff));
    outcomes.push(yield* rmCall(v.irq, t, MsgId.VM_GET_VMID, new Uint8Array(300)));
    t.sendRaw(new Uint8Array([0x21, 0x01, 0, 0]));
    outcomes.push(yield* rmCall(v.irq, t, MsgId.VM_GET_VMID));
  });
  assert.equal(sys.run(50_000_000), 'idle');
  assert.deepEqual(
    outcomes.map((o) => (o.ok ? o.error : o.reason)),
    [RmError.UNIMPLEMENTED, RmError.MSG_INVALID, RmError.OK],
  );
  const link = rm.vms.get(PRIMARY_VMID)!.link!;
  assert.equal(link.drops.length, 1, 'the 4-byte packet');
  assert.equal(link.drops[0]!.kind, 'dropped');
});
