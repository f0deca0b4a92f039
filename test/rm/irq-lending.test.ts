// IRQ lending (RM spec §2.7) between the primary VM and a secondary it owns, over their real links:
// the primary lends the UART's hardware IRQ (SPI 33) it holds; the secondary accepts it and then
// takes the line; release and reclaim give it back; each misuse gets the spec's error.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Hypervisor } from '../../src/hyp/hypervisor.js';
import { HypSystem } from '../../src/hyp/system.js';
import type { Vic } from '../../src/hyp/vm/vic.js';
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
const le = (...words: [number, number][]): Uint8Array => {
  const out = new Uint8Array(words.reduce((n, [, size]) => n + size, 0));
  const dv = new DataView(out.buffer);
  let at = 0;
  for (const [v, size] of words) {
    if (size === 2) dv.setUint16(at, v, true);
    else dv.setUint32(at, v >>> 0, true);
    at += size;
  }
  return out;
};
const res = (o: CallOutcome): number | string => (o.ok ? o.error : o.reason);
const word = (o: CallOutcome): number =>
  o.ok && o.data.length >= 4 ? new DataView(o.data.buffer, o.data.byteOffset).getUint32(0, true) : -1;

/** Give the CPU to others (scheduler_yield, hint 0) while waiting for the test's next phase. */
function* spin(v: RmVcpu): Generator<'yield', void, void> {
  v.call('scheduler_yield', 0n, 0n, 0n);
  yield 'yield';
}

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

test('RM §2.7: lend the UART IRQ to a secondary, notify, accept (RM chooses the VIRQ), the line reaches the borrower; release, reclaim; every misuse gets its error', () => {
  const hv = new Hypervisor({ memory: { base: 0x4000_0000, size: 2048 * MiB } });
  const root = hv.createRootVm();
  const sys = new HypSystem(hv, 1);
  const rm = new ResourceManager();
  const rmRunner = sys.addNative(root.thread, rm);
  let phase = 0;
  let whileAccepted: boolean[] = [];
  const gicOf = (vmid: number) => (root.cspace.lookup<Vic>(rm.vms.get(vmid)!.vic, 'vic', 0, false) as Vic).gic!;
  const owner: (number | string)[] = [];
  const guest: (number | string)[] = [];
  let handle = 0;
  let lentNote: RpcMessage | null = null;
  const ownerNotes: RpcMessage[] = [];
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
        yield* call(MsgId.VM_ALLOCATE, le([0, 2], [0, 2]));
        while (phase < 1) yield* spin(v);
        owner.push(res(yield* call(MsgId.VM_IRQ_LEND, le([0x80, 2], [0, 2], [40, 4], [7, 4]))));
        const lend = yield* call(MsgId.VM_IRQ_LEND, le([0x80, 2], [0, 2], [33, 4], [0x1234, 4]));
        owner.push(res(lend));
        handle = word(lend);
        owner.push(res(yield* call(MsgId.VM_IRQ_LEND, le([0x80, 2], [0, 2], [33, 4], [0x1234, 4]))));
        owner.push(res(yield* call(MsgId.VM_IRQ_ACCEPT, le([handle, 4], [ONES_32, 4]))));
        owner.push(res(yield* call(MsgId.VM_IRQ_NOTIFY, le([handle, 4], [1, 4]))));
        ownerNotes.push(yield* nextNotification(v, t)); // ACCEPTED
        owner.push(res(yield* call(MsgId.VM_IRQ_RECLAIM, le([handle, 4]))));
        phase = 2;
        phase = 3;
        ownerNotes.push(yield* nextNotification(v, t)); // RELEASED
        owner.push(res(yield* call(MsgId.VM_IRQ_RECLAIM, le([handle, 4]))));
        owner.push(res(yield* call(MsgId.VM_IRQ_RECLAIM, le([handle, 4]))));
      } else {
        lentNote = yield* nextNotification(v, t);
        const h = new DataView(lentNote.payload.buffer, lentNote.payload.byteOffset).getUint32(4, true);
        guest.push(res(yield* call(MsgId.VM_IRQ_NOTIFY, le([h, 4], [4, 4]))));
        const acc = yield* call(MsgId.VM_IRQ_ACCEPT, le([h, 4], [ONES_32, 4]));
        guest.push(res(acc), word(acc));
        // The UART raises its line now: it reaches the borrower's VIC, not the owner's.
        hv.platformIrq(33, true);
        whileAccepted = [gicOf(3).spiLine(33), gicOf(0x80).spiLine(33)];
        hv.platformIrq(33, false);
        guest.push(res(yield* call(MsgId.VM_IRQ_ACCEPT, le([h, 4], [ONES_32, 4]))));
        guest.push(res(yield* call(MsgId.VM_IRQ_NOTIFY, le([h, 4], [4, 4]))));
        guest.push(res(yield* call(MsgId.VM_IRQ_NOTIFY, le([h, 4], [8, 4]))));
        guest.push(res(yield* call(MsgId.VM_IRQ_NOTIFY, le([h, 4], [2, 4], [0, 4]))));
        while (phase < 2) yield* spin(v);
        guest.push(res(yield* call(MsgId.VM_IRQ_RECLAIM, le([h, 4]))));
        guest.push(res(yield* call(MsgId.VM_IRQ_RELEASE, le([h, 4]))));
        guest.push(res(yield* call(MsgId.VM_IRQ_RELEASE, le([h, 4]))));
        guest.push(res(yield* call(MsgId.VM_IRQ_NOTIFY, le([h, 4], [2, 4]))));
        guest.push(res(yield* call(MsgId.VM_IRQ_ACCEPT, le([h + 1, 4], [ONES_32, 4]))));
      }
    });
  };
  assert.equal(sys.run(1_000_000), 'limit');
  const v = rmRunner.vcpu;
  const vm = rm.buildSecondary(v, 0x80, { proxy: false });
  const me = v.call('partition_create_memextent', root.caps.partition, root.caps.cspace, 0n).x[1]!;
  v.call('memextent_configure', me, 0x9000_0000n, 0x1000n, 7n, 0n);
  v.call('object_activate', me, 0n);
  v.call('addrspace_map', vm.addrspace, me, 0x1000n, 7n | (7n << 4n) | (15n << 16n), 0n, 0n, 0n);
  v.call('vcpu_set_affinity', vm.vcpus[0]!, 0n, ONES);
  v.call('vcpu_poweron', vm.vcpus[0]!, 0n, 0n, 0n);
  phase = 1;
  assert.equal(sys.run(300_000_000), 'idle');
  const E = RmError;
  assert.deepEqual(owner, [E.IRQ_INVALID, E.OK, E.IRQ_INUSE, E.HANDLE_INVALID, E.OK, E.IN_USE, E.OK, E.HANDLE_INVALID]);
  assert.deepEqual(guest, [
    E.IRQ_RELEASED,
    E.OK,
    33,
    E.IN_USE,
    E.OK,
    E.ARGUMENT_INVALID,
    E.MSG_INVALID,
    E.HANDLE_INVALID,
    E.OK,
    E.IN_USE,
    E.OK,
    E.HANDLE_INVALID,
  ]);
  assert.equal(handle, (rm.irqs!.handleBase + 33) >>> 0, 'handle = base + HW IRQ');
  const lent = new DataView(lentNote!.payload.buffer, lentNote!.payload.byteOffset);
  assert.deepEqual([lent.getUint16(0, true), lent.getUint32(4, true), lent.getUint32(8, true)], [3, handle, 0x1234]);
  assert.deepEqual(
    ownerNotes.map((m) => [m.msgId, new DataView(m.payload.buffer, m.payload.byteOffset).getUint32(0, true)]),
    [
      [MsgId.NOTIFY_VM_IRQ_ACCEPTED, handle],
      [MsgId.NOTIFY_VM_IRQ_RELEASED, handle],
    ],
  );
  assert.deepEqual(whileAccepted, [false, true], 'while accepted the line reaches only the borrower');
  // Reclaimed: the line reaches the primary's VIC again, not the secondary's.
  hv.platformIrq(33, true);
  assert.equal(gicOf(3).spiLine(33), true, 'the primary has the UART line again');
  assert.equal(gicOf(0x80).spiLine(33), false);
});

const ONES_32 = 0xffff_ffff;
