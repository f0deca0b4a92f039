// VM management over RM RPC (RM spec §1.7, §2.2, §3, §9.1–9.3), from a native program on the
// primary VM's vCPU through the real link: VMID allocation and deallocation, state queries,
// owner/peers/host type, and the errors of each.

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
import { generatorProgram, type ProgramBody } from '../../src/vmm/rm-client/program.js';
import type { RmVcpu } from '../../src/rm/port.js';
import { MsgId, RmError } from '../../src/rm/rpc/index.js';
import { VmState } from '../../src/rm/vm-mgmt.js';

const MiB = 1024 * 1024;
const SCRATCH = { rx: 0x4000_1000n, tx: 0x4000_1100n };

type Call = (msgId: number, payload?: Uint8Array) => Generator<'wait', CallOutcome, void>;

/** Run `body` as the primary VM's program against a fresh RM; returns what it recorded. */
function withPrimary(body: (call: Call) => ProgramBody) {
  const hv = new Hypervisor({ memory: { base: 0x4000_0000, size: 2048 * MiB } });
  const root = hv.createRootVm();
  const sys = new HypSystem(hv, 1);
  const rm = new ResourceManager();
  sys.addNative(root.thread, rm);
  sys.spawn = () =>
    generatorProgram(function* (v: RmVcpu) {
      const t = new RmClientTransport(v, { txCap: 0n, rxCap: 1n, scratch: SCRATCH });
      v.irq!.init();
      v.irq!.enable(PRIMARY_LINK_TX_VIRQ);
      v.irq!.enable(PRIMARY_LINK_RX_VIRQ);
      yield* body((id, p) => rmCall(v.irq, t, id, p));
    });
  assert.equal(sys.run(100_000_000), 'idle');
  assert.equal(rm.failure, null);
  return rm;
}

const vmidReq = (vmid: number): Uint8Array => new Uint8Array([vmid & 0xff, vmid >> 8, 0, 0]);
const word = (o: CallOutcome): number | string =>
  o.ok
    ? o.error !== 0
      ? `error ${o.error}`
      : o.data.length >= 4
        ? new DataView(o.data.buffer, o.data.byteOffset).getUint32(0, true)
        : 'ok'
    : o.reason;

test('RM §2.2/§9.1: VM_ALLOCATE(0) hands out 0x80, 0x81...; a fixed secondary VMID once, with no payload; out of range or taken is NORESOURCE', () => {
  const got: (number | string)[] = [];
  withPrimary(function* (call) {
    got.push(word(yield* call(MsgId.VM_ALLOCATE, vmidReq(0))));
    got.push(word(yield* call(MsgId.VM_ALLOCATE, vmidReq(0))));
    got.push(word(yield* call(MsgId.VM_ALLOCATE, vmidReq(10))));
    got.push(word(yield* call(MsgId.VM_ALLOCATE, vmidReq(10))));
    got.push(word(yield* call(MsgId.VM_ALLOCATE, vmidReq(45))));
    got.push(word(yield* call(MsgId.VM_ALLOCATE, vmidReq(3))));
    got.push(word(yield* call(MsgId.VM_ALLOCATE, new Uint8Array(2))));
  });
  assert.deepEqual(got, [
    0x80,
    0x81,
    'ok',
    `error ${RmError.NORESOURCE}`,
    `error ${RmError.NORESOURCE}`,
    `error ${RmError.NORESOURCE}`,
    `error ${RmError.MSG_INVALID}`,
  ]);
});

test('RM §2.2/§3: a new VM is in LOAD; VM_GET_STATE(0) is the caller (RUNNING); unknown VMIDs are NORESOURCE; DEALLOCATE frees, and a second DEALLOCATE is VMID_INVALID (§9.3)', () => {
  const got: (number | string)[] = [];
  withPrimary(function* (call) {
    got.push(word(yield* call(MsgId.VM_GET_STATE, vmidReq(0))));
    yield* call(MsgId.VM_ALLOCATE, vmidReq(0));
    got.push(word(yield* call(MsgId.VM_GET_STATE, vmidReq(0x80))));
    got.push(word(yield* call(MsgId.VM_GET_STATE, vmidReq(0x99))));
    got.push(word(yield* call(MsgId.VM_DEALLOCATE, vmidReq(0x80))));
    got.push(word(yield* call(MsgId.VM_DEALLOCATE, vmidReq(0x80))));
    got.push(word(yield* call(MsgId.VM_GET_STATE, vmidReq(0x80))));
    got.push(word(yield* call(MsgId.VM_ALLOCATE, vmidReq(0))));
    got.push(word(yield* call(MsgId.VM_DEALLOCATE, new Uint8Array(8))));
  });
  assert.deepEqual(got, [
    VmState.RUNNING,
    VmState.LOAD,
    `error ${RmError.NORESOURCE}`,
    'ok',
    `error ${RmError.VMID_INVALID}`,
    `error ${RmError.NORESOURCE}`,
    0x80,
    `error ${RmError.MSG_INVALID}`,
  ]);
});

test('RM §2.2/§9.1: VM_GET_OWNER of the primary is 0xFF, VM_HOST_GET_TYPE is 0x01000164, VM_GET_PEERS lists the VMs it allocated; non-empty requests are MSG_INVALID', () => {
  const got: (number | string)[] = [];
  let peers: number[] = [];
  withPrimary(function* (call) {
    got.push(word(yield* call(MsgId.VM_GET_OWNER)));
    got.push(word(yield* call(MsgId.VM_HOST_GET_TYPE)));
    yield* call(MsgId.VM_ALLOCATE, vmidReq(0));
    yield* call(MsgId.VM_ALLOCATE, vmidReq(7));
    const p = yield* call(MsgId.VM_GET_PEERS);
    if (p.ok) {
      const dv = new DataView(p.data.buffer, p.data.byteOffset);
      peers = [...Array(dv.getUint32(0, true)).keys()].map((k) => dv.getUint32(4 + 4 * k, true));
    }
    got.push(word(yield* call(MsgId.VM_GET_OWNER, new Uint8Array(4))));
    got.push(word(yield* call(MsgId.VM_GET_VMID)));
  });
  assert.deepEqual(got, [0xff, 0x0100_0164, `error ${RmError.MSG_INVALID}`, 3]);
  assert.deepEqual(peers, [7, 0x80]);
});

test('RM §9.2: a secondary VM the RM builds reaches it over its own link (caps 0/1, VIRQs 94/95): VM_GET_VMID → 0x80, VM_GET_OWNER → 3; the owner holds caps to its vCPUs', () => {
  const hv = new Hypervisor({ memory: { base: 0x4000_0000, size: 2048 * MiB } });
  const root = hv.createRootVm();
  const sys = new HypSystem(hv, 1);
  const rm = new ResourceManager();
  const rmRunner = sys.addNative(root.thread, rm);
  const got: (number | string)[] = [];
  const spawned: string[] = [];
  sys.spawn = (t) => {
    const primary = spawned.length === 0;
    spawned.push(primary ? 'primary' : String(t));
    const [tx, rx] = primary
      ? [PRIMARY_LINK_TX_VIRQ, PRIMARY_LINK_RX_VIRQ]
      : [SECONDARY_LINK_TX_VIRQ, SECONDARY_LINK_RX_VIRQ];
    return generatorProgram(function* (v: RmVcpu) {
      const tr = new RmClientTransport(v, {
        txCap: 0n,
        rxCap: 1n,
        scratch: primary ? SCRATCH : { rx: 0x1000n, tx: 0x1100n },
      });
      v.irq!.init();
      v.irq!.enable(tx);
      v.irq!.enable(rx);
      if (primary) {
        got.push(word(yield* rmCall(v.irq, tr, MsgId.VM_ALLOCATE, vmidReq(0))));
      } else {
        got.push(word(yield* rmCall(v.irq, tr, MsgId.VM_GET_VMID)));
        got.push(word(yield* rmCall(v.irq, tr, MsgId.VM_GET_OWNER)));
      }
    });
  };
  assert.equal(sys.run(50_000_000), 'idle');
  // The RM's own vCPU builds the VM (VM_INIT will do this), then powers its vCPU on.
  const rmVcpu = rmRunner.vcpu;
  const vm = rm.buildSecondary(rmVcpu, 0x80, { proxy: false });
  assert.equal(vm.ownerVcpuCaps.length, 1);
  // The secondary needs memory for its scratch buffers: lend it a page of RAM directly here (memory
  // parcels come with MEM_LEND/ACCEPT).
  const P = root.caps.partition;
  const C = root.caps.cspace;
  const me = rmVcpu.call('partition_create_memextent', P, C, 0n).x[1]!;
  assert.equal(rmVcpu.call('memextent_configure', me, 0x9000_0000n, 0x1000n, 7n, 0n).e, 0);
  assert.equal(rmVcpu.call('object_activate', me, 0n).e, 0);
  assert.equal(
    rmVcpu.call('addrspace_map', vm.addrspace, me, 0x1000n, 7n | (7n << 4n) | (15n << 16n), 0n, 0n, 0n).e,
    0,
  );
  // The owner would run this vCPU with vcpu_run; here a native program stands in for the guest, so
  // it is scheduled like any vCPU instead (an affinity makes it runnable on CPU 0).
  assert.equal(rmVcpu.call('vcpu_set_affinity', vm.vcpus[0]!, 0n, 0xffff_ffff_ffff_ffffn).e, 0);
  assert.equal(rmVcpu.call('vcpu_poweron', vm.vcpus[0]!, 0n, 0n, 0n).e, 0);
  assert.equal(sys.run(100_000_000), 'idle');
  assert.deepEqual(spawned.length, 2);
  assert.deepEqual(got, [0x80, 0x80, 3]);
});
