// The RM console (RM spec §2.5, §9.2) between a secondary VM and its owner, over their real links:
// each side opens its end; writes reach the other side as NOTIFY_VM_CONSOLE_CHARS (from = the
// guest's VMID, or 0 from the owner); a closed writer is DENIED; a closed reader drops the write.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Hypervisor } from '../../src/hyp/hypervisor.js';
import { HypSystem } from '../../src/hyp/system.js';
import {
  ResourceManager,
  PRIMARY_LINK_RX_VIRQ,
  PRIMARY_LINK_TX_VIRQ,
  SECONDARY_LINK_RX_VIRQ,
  SECONDARY_LINK_TX_VIRQ,
} from '../../src/rm/rm.js';
import { RmClientTransport, rmCall, type CallOutcome } from '../../src/vmm/rm-client/transport.js';
import { generatorProgram } from '../../src/vmm/rm-client/program.js';
import type { RmVcpu } from '../../src/rm/port.js';
import { MsgId, RmError, type RpcMessage } from '../../src/rm/rpc/index.js';

const MiB = 1024 * 1024;
const ONES = 0xffff_ffff_ffff_ffffn;
const req = (target: number): Uint8Array => new Uint8Array([target & 0xff, target >> 8, 0, 0]);
const write = (target: number, text: string): Uint8Array => {
  const b = new TextEncoder().encode(text);
  return new Uint8Array([target & 0xff, target >> 8, b.length & 0xff, b.length >> 8, ...b]);
};
const err = (o: CallOutcome): number | string => (o.ok ? o.error : o.reason);
const chars = (m: RpcMessage): { from: number; text: string } => {
  const dv = new DataView(m.payload.buffer, m.payload.byteOffset);
  return {
    from: dv.getUint16(0, true),
    text: new TextDecoder().decode(m.payload.subarray(4, 4 + dv.getUint16(2, true))),
  };
};

/** Wait until `t` has a notification (waking on the vCPU's interrupts); return it. */
function* nextNotification(v: RmVcpu, t: RmClientTransport): Generator<'wait', RpcMessage, void> {
  for (;;) {
    const taken: number[] = [];
    for (let id = v.irq!.ack(); id !== 1023; id = v.irq!.ack()) taken.push(id);
    t.pump();
    for (const id of taken) v.irq!.eoi(id);
    const m = t.notifications.shift();
    if (m !== undefined) return m;
    yield 'wait';
  }
}

test('RM §2.5: a secondary VM and its owner talk over the console; closed ends, non-owners, unknown VMs and bad lengths get their errors', () => {
  const hv = new Hypervisor({ memory: { base: 0x4000_0000, size: 2048 * MiB } });
  const root = hv.createRootVm();
  const sys = new HypSystem(hv, 1);
  const rm = new ResourceManager();
  const rmRunner = sys.addNative(root.thread, rm);
  let built = false;
  const owner: (number | string)[] = [];
  const guest: (number | string)[] = [];
  let ownerGot: { from: number; text: string } | null = null;
  let guestGot: { from: number; text: string } | null = null;
  let spawned = 0;
  sys.spawn = () => {
    const primary = spawned++ === 0;
    return generatorProgram(function* (v: RmVcpu) {
      const t = new RmClientTransport(v, {
        txCap: 0n,
        rxCap: 1n,
        scratch: primary ? { rx: 0x4000_1000n, tx: 0x4000_1100n } : { rx: 0x1000n, tx: 0x1100n },
      });
      const call = (id: number, p: Uint8Array) => rmCall(v.irq, t, id, p);
      v.irq!.init();
      for (const n of primary
        ? [PRIMARY_LINK_TX_VIRQ, PRIMARY_LINK_RX_VIRQ]
        : [SECONDARY_LINK_TX_VIRQ, SECONDARY_LINK_RX_VIRQ])
        v.irq!.enable(n);
      if (primary) {
        owner.push(err(yield* call(MsgId.VM_ALLOCATE, req(0))));
        while (!built) {
          v.call('scheduler_yield', 0n, 0n, 0n);
          yield 'yield';
        }
        owner.push(err(yield* call(MsgId.VM_CONSOLE_OPEN, req(0x99))));
        owner.push(err(yield* call(MsgId.VM_CONSOLE_OPEN, req(0))));
        owner.push(err(yield* call(MsgId.VM_CONSOLE_OPEN, req(0x80))));
        ownerGot = chars(yield* nextNotification(v, t));
        owner.push(err(yield* call(MsgId.VM_CONSOLE_WRITE, write(0x80, 'hello guest'))));
      } else {
        guest.push(err(yield* call(MsgId.VM_CONSOLE_WRITE, write(0, 'too early'))));
        guest.push(err(yield* call(MsgId.VM_CONSOLE_OPEN, req(0x80))));
        guest.push(err(yield* call(MsgId.VM_CONSOLE_OPEN, new Uint8Array(2))));
        guest.push(err(yield* call(MsgId.VM_CONSOLE_OPEN, req(0))));
        guest.push(err(yield* call(MsgId.VM_CONSOLE_WRITE, new Uint8Array([0, 0, 5, 0, 65]))));
        guest.push(err(yield* call(MsgId.VM_CONSOLE_WRITE, write(0, 'hello owner'))));
        guestGot = chars(yield* nextNotification(v, t));
        guest.push(err(yield* call(MsgId.VM_CONSOLE_FLUSH, req(0))));
      }
    });
  };
  assert.equal(sys.run(1_000_000), 'limit', 'the owner waits for its guest');
  const v = rmRunner.vcpu;
  const vm = rm.buildSecondary(v, 0x80, { proxy: false });
  const me = v.call('partition_create_memextent', root.caps.partition, root.caps.cspace, 0n).x[1]!;
  assert.equal(v.call('memextent_configure', me, 0x9000_0000n, 0x1000n, 7n, 0n).e, 0);
  assert.equal(v.call('object_activate', me, 0n).e, 0);
  assert.equal(v.call('addrspace_map', vm.addrspace, me, 0x1000n, 7n | (7n << 4n) | (15n << 16n), 0n, 0n, 0n).e, 0);
  assert.equal(v.call('vcpu_set_affinity', vm.vcpus[0]!, 0n, ONES).e, 0);
  assert.equal(v.call('vcpu_poweron', vm.vcpus[0]!, 0n, 0n, 0n).e, 0);
  built = true;
  assert.equal(sys.run(200_000_000), 'idle');
  assert.deepEqual(owner, [RmError.OK, RmError.ARGUMENT_INVALID, RmError.ARGUMENT_INVALID, RmError.OK, RmError.OK]);
  assert.deepEqual(guest, [
    RmError.DENIED,
    RmError.DENIED,
    RmError.MSG_INVALID,
    RmError.OK,
    RmError.MSG_INVALID,
    RmError.OK,
    RmError.OK,
  ]);
  assert.deepEqual(ownerGot, { from: 0x80, text: 'hello owner' });
  assert.deepEqual(guestGot, { from: 0, text: 'hello guest' });
});
