// The RM client library (RM spec §1.5, §2.2, §9.1–9.3): RmClient's typed calls from a native
// program on the primary VM, through the real link to the real RM, for the VM-management messages
// the RM implements; then the client's own handling of error data, malformed replies, link
// failures and notifications, against a stub transport.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Hypervisor } from '../../src/hyp/hypervisor.js';
import { HypSystem } from '../../src/hyp/system.js';
import { ResourceManager, PRIMARY_LINK_RX_VIRQ, PRIMARY_LINK_TX_VIRQ } from '../../src/rm/rm.js';
import { RmClientTransport, type CallOutcome } from '../../src/vmm/rm-client/transport.js';
import { RmClient, describeFailure, type RmResult } from '../../src/vmm/rm-client/client.js';
import { generatorProgram } from '../../src/vmm/rm-client/program.js';
import type { RmVcpu } from '../../src/rm/port.js';
import { MsgId, MsgType, RmError, type RpcMessage } from '../../src/rm/rpc/index.js';
import { empty, request, struct, vmSetTimeBaseMsg, vmidRequest } from '../../src/rm/msgs/index.js';
import { VmState } from '../../src/rm/vm-mgmt.js';

const MiB = 1024 * 1024;
const SCRATCH = { rx: 0x4000_1000n, tx: 0x4000_1100n };

/** Run `body` with an RmClient as the primary VM's program against a fresh RM. */
function withClient(body: (c: RmClient) => Generator<'wait', void, void>): void {
  const hv = new Hypervisor({ memory: { base: 0x4000_0000, size: 2048 * MiB } });
  const root = hv.createRootVm();
  const sys = new HypSystem(hv, 1);
  const rm = new ResourceManager();
  sys.addNative(root.thread, rm);
  let finished = false;
  sys.spawn = () =>
    generatorProgram(function* (v: RmVcpu) {
      const irq = v.irq!;
      irq.init();
      irq.enable(PRIMARY_LINK_TX_VIRQ);
      irq.enable(PRIMARY_LINK_RX_VIRQ);
      yield* body(new RmClient(new RmClientTransport(v, { txCap: 0n, rxCap: 1n, scratch: SCRATCH }), irq));
      finished = true;
    });
  assert.equal(sys.run(100_000_000), 'idle');
  assert.equal(rm.failure, null);
  assert.ok(finished, 'the client program ran to its end');
}

const ok = <T>(value: T): RmResult<T> => ({ ok: true, value });
const rmErr = (error: number): RmResult<never> => ({ ok: false, error });

test('RM §2.2/§9.1 via RmClient: vmAllocate(0) returns 0x80 then 0x81; vmAllocate(10) returns 10, then NORESOURCE; 45 is NORESOURCE', () => {
  const got: RmResult<number>[] = [];
  withClient(function* (c) {
    got.push(yield* c.vmAllocate(0));
    got.push(yield* c.vmAllocate());
    got.push(yield* c.vmAllocate(10));
    got.push(yield* c.vmAllocate(10));
    got.push(yield* c.vmAllocate(45));
  });
  assert.deepEqual(got, [ok(0x80), ok(0x81), ok(10), rmErr(RmError.NORESOURCE), rmErr(RmError.NORESOURCE)]);
});

test('RM §2.2/§3/§9.3 via RmClient: vmGetState reports RUNNING for self and LOAD for a new VM; vmDeallocate frees it; again is VMID_INVALID; its state then NORESOURCE', () => {
  const got: RmResult<unknown>[] = [];
  withClient(function* (c) {
    got.push(yield* c.vmGetState(0));
    const a = yield* c.vmAllocate(0);
    assert.deepEqual(a, ok(0x80));
    got.push(yield* c.vmGetState(0x80));
    got.push(yield* c.vmDeallocate(0x80));
    got.push(yield* c.vmDeallocate(0x80));
    got.push(yield* c.vmGetState(0x80));
  });
  assert.deepEqual(got, [
    ok({ vmState: VmState.RUNNING, osState: 0, appStatus: 0 }),
    ok({ vmState: VmState.LOAD, osState: 0, appStatus: 0 }),
    ok(undefined),
    rmErr(RmError.VMID_INVALID),
    rmErr(RmError.NORESOURCE),
  ]);
});

test('RM §2.2/§9.1 via RmClient: the primary is VMID 3, owned by 0xFF, host type 0x01000164, and its peers are the VMs it allocated, in order', () => {
  const got: RmResult<unknown>[] = [];
  withClient(function* (c) {
    got.push(yield* c.vmGetVmid());
    got.push(yield* c.vmGetOwner());
    got.push(yield* c.vmHostGetType());
    got.push(yield* c.vmGetPeers());
    yield* c.vmAllocate(0);
    yield* c.vmAllocate(7);
    got.push(yield* c.vmGetPeers());
  });
  assert.deepEqual(got, [ok(3), ok(0xff), ok(0x0100_0164), ok([]), ok([7, 0x80])]);
});

test('RM §1.5 via RmClient: a request the RM does not implement (VM_GET_HYP_CAPIDS) is UNIMPLEMENTED; a value the wire cannot carry is refused before sending', () => {
  const got: RmResult<unknown>[] = [];
  withClient(function* (c) {
    const capids = request(MsgId.VM_GET_HYP_CAPIDS, 'VM_GET_HYP_CAPIDS', vmidRequest('VM_GET_HYP_CAPIDS'), empty('x'));
    got.push(yield* c.call(capids, { vmid: 0 }));
    got.push(yield* c.vmAllocate(0x1_0000));
    // The refused call sent nothing: the next allocation is still the first.
    got.push(yield* c.vmAllocate(0));
  });
  assert.deepEqual(got[0], rmErr(RmError.UNIMPLEMENTED));
  assert.equal(describeFailure(got[0]!), 'UNIMPLEMENTED');
  const bad = got[1]!;
  assert.ok(!bad.ok && typeof bad.error === 'object' && bad.error.failure === 'transport', describeFailure(bad));
  assert.match(describeFailure(bad), /not a u16/);
  assert.deepEqual(got[2], ok(0x80));
});

test('RM §2.2 via RmClient: a reply whose data breaks the expected layout is a reply failure, not a value', () => {
  let r: RmResult<unknown> | undefined;
  withClient(function* (c) {
    // VM_GET_VMID answers 4 bytes; a descriptor expecting 8 must refuse them.
    const wrong = request(
      MsgId.VM_GET_VMID,
      'VM_GET_VMID',
      empty('VM_GET_VMID request'),
      struct<{ v: bigint }>('VM_GET_VMID reply', 8, { v: [0, 'u64'] }),
    );
    r = yield* c.call(wrong, {});
  });
  assert.ok(r && !r.ok && typeof r.error === 'object' && r.error.failure === 'reply');
  assert.match(describeFailure(r), /reply failure: VM_GET_VMID reply: 4 bytes, expected 8/);
});

// ----------------------------------------------------------------------- stub transport

/** A transport that answers every call with `outcome` and holds `notifications`. */
function stubTransport(outcome: CallOutcome, notifications: RpcMessage[] = []): RmClientTransport {
  const stub = {
    notifications,
    request: () => 0,
    pump: () => undefined,
    take: () => outcome,
  };
  return stub as unknown as RmClientTransport;
}

/** Runs a client generator that must not need to wait (the stub answers at once). */
function runNow<T>(g: Generator<'wait', T, void>): T {
  const r = g.next();
  assert.equal(r.done, true, 'the call completed without waiting');
  return r.value as T;
}

const hexBytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
const u32le = (v: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v, true);
  return b;
};

test('RM §2.2: an error reply of VM_SET_TIME_BASE gives the RM code and its extra u32 hypervisor error', () => {
  const c = new RmClient(stubTransport({ ok: true, error: RmError.DENIED, data: u32le(1) }), null);
  const r = runNow(c.vmSetTimeBase({ vmid: 0, timeBase: 1n, sysTimerRef: 2n }));
  assert.deepEqual(r, { ok: false, error: RmError.DENIED, hypError: 1 });
  assert.equal(describeFailure(r), 'DENIED (hypervisor error 1)');
  assert.ok(vmSetTimeBaseMsg.errorData);
});

test('RM §1.5: an error reply of a message without error data gives only the code; a link failure gives its reason', () => {
  const c = new RmClient(stubTransport({ ok: true, error: RmError.VM_STATE, data: u32le(9) }), null);
  assert.deepEqual(runNow(c.vmStart(0x80)), rmErr(RmError.VM_STATE));
  const t = new RmClient(stubTransport({ ok: false, reason: 'message aborted (EIO)' }), null);
  assert.deepEqual(runNow(t.vmStart(0x80)), {
    ok: false,
    error: { failure: 'transport', detail: 'message aborted (EIO)' },
  });
});

test('RM §2.8 via RmClient: memAccept returns the IPAs the RM chose; memLend the handle', () => {
  // {u16 n = 1; u8 flags = 0; u8 res} then {u64 ipa 0x80000000; u64 size 0x100000}.
  const placed = hexBytes('01 00 00 00 00 00 00 80 00 00 00 00 00 00 10 00 00 00 00 00');
  const c = new RmClient(stubTransport({ ok: true, error: 0, data: placed }), null);
  const r = runNow(
    c.memAccept({
      handle: 0,
      memType: 0,
      transType: 1,
      flags: 0x80,
      label: 0,
      acl: [],
      mapVmid: 0,
      sgl: [],
      attrs: [],
    }),
  );
  assert.deepEqual(r, ok({ flags: 0, sgl: [{ ipa: 0x8000_0000n, size: 0x10_0000n }] }));
  const l = new RmClient(stubTransport({ ok: true, error: 0, data: u32le(5) }), null);
  assert.deepEqual(runNow(l.memLend({ memType: 0, flags: 0, label: 0, acl: [], sgl: [], attrs: [] })), ok(5));
});

test('RM §2.4 via RmClient: takeNotifications decodes every notification in arrival order, including unknown and malformed ones, and empties the queue', () => {
  const n = (msgId: number, seq: number, hex: string): RpcMessage => ({
    type: MsgType.NOTIFICATION,
    seq,
    msgId,
    payload: hexBytes(hex),
  });
  const queue = [
    n(MsgId.NOTIFY_VM_STATUS, 0, '80 00 00 00 03 00 00 00'),
    n(MsgId.NOTIFY_VM_EXITED, 1, '80 00 01 00 04 00 00 00 00 00 00 00'),
    n(0x5610_0077, 2, ''),
    n(MsgId.MEM_RELEASED, 3, '00 00'),
    n(MsgId.MEM_RELEASED, 4, '00 00 00 00 80 00 00 00 00 00 00 00'),
  ];
  const c = new RmClient(stubTransport({ ok: false, reason: 'unused' }, queue), null);
  const got = c.takeNotifications();
  assert.deepEqual(
    got.map((x) => x.name),
    ['NOTIFY_VM_STATUS', 'NOTIFY_VM_EXITED', 'unknown', 'malformed', 'MEM_RELEASED'],
  );
  assert.deepEqual(got[0], {
    name: 'NOTIFY_VM_STATUS',
    seq: 0,
    value: { vmid: 0x80, vmStatus: 3, osStatus: 0, appStatus: 0 },
  });
  assert.deepEqual(got[4], { name: 'MEM_RELEASED', seq: 4, value: { handle: 0, vmid: 0x80, tag: 0 } });
  assert.deepEqual(c.takeNotifications(), []);
});
