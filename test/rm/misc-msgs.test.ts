// The remaining RM messages through the real link (RM spec §2.2, §2.6, §2.8, §2.9, §7, §9): VM
// identity (VM_GET_ID, VM_LOOKUP_*), crash messages, VM_SET_STATUS, VM_SET_TIME_BASE,
// VM_SET_FIRMWARE_MEM, FW_MILESTONE, FW_SET_VM_FIRMWARE, VM_AUTH_IMAGE, VM_SET_BOOT_CONTEXT,
// VM_SET_DEMAND_PAGING, VM_SET_ADDRESS_LAYOUT, IPA_RESERVE and MEM_QCOM_LOOKUP_SGL. The callers are
// native programs: the primary VM's VMM, and guests — one started through the whole lifecycle and
// run with vcpu_run, one built directly. Every reply is compared byte for byte with the layout the
// spec gives (the expected bytes are typed in here, in hex).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ResourceManager } from '../../src/rm/rm.js';
import { rmCall, type CallOutcome, type RmClientTransport } from '../../src/vmm/rm-client/transport.js';
import type { RmClient, RmResult } from '../../src/vmm/rm-client/client.js';
import { generatorProgram, type ProgramBody } from '../../src/vmm/rm-client/program.js';
import type { RmVcpu } from '../../src/rm/port.js';
import { MsgId, RmError, type RpcMessage } from '../../src/rm/rpc/index.js';
import { VmState } from '../../src/rm/vm-mgmt.js';
import { guidBytes } from '../../src/rm/vm-misc.js';
import {
  buildGuest,
  createVm,
  guestDt,
  must as value,
  newSystem,
  primarySystem,
  rmLink,
  runToIdle,
} from './harness.js';

/** Each VM's image parcel: a 2 MiB slot of the primary's RAM (IPA = PA there). */
const GUEST_SIZE = 0x20_0000n;
const slotPa = (i: number): bigint => 0x4800_0000n + BigInt(i) * GUEST_SIZE;
/** Where a VM's image parcel lands in its own IPA space (crosvm's base, §9.2). */
const GUEST_BASE = 0x8000_0000n;

// ------------------------------------------------------------------------ bytes

const hex = (b: Uint8Array): string => [...b].map((x) => x.toString(16).padStart(2, '0')).join(' ');
const u16 = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff];
const u32 = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
const u64 = (n: bigint): number[] => [...Array(8).keys()].map((i) => Number((n >> BigInt(8 * i)) & 0xffn));
const bytes = (...parts: (number | readonly number[])[]): Uint8Array =>
  new Uint8Array(parts.flatMap((p) => (typeof p === 'number' ? [p] : [...p])));
const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));
const vmidReq = (vmid: number): Uint8Array => bytes(u16(vmid), 0, 0);

/** A reply as `error: data-in-hex`, for comparing with typed-in vectors. */
type Got = string;
const got = (o: CallOutcome): Got => (o.ok ? `${o.error}: ${hex(o.data)}` : `no reply: ${o.reason}`);
const want = (error: number, data = ''): Got => `${error}: ${data}`;

// ------------------------------------------------------------------------ VM config

interface DtOpts {
  name?: string;
  uri?: string;
  guid?: string;
  /** Give the VM a vRTC (a vrtc-pl031 vdevice), the target of VM_SET_TIME_BASE. */
  vrtc?: boolean;
}

/** The VM-config DT a VMM supplies (§4.3, §9.2): memory, a CPU, PSCI, the rm-rpc vdevice. */
const configDt = (o: DtOpts): Uint8Array =>
  guestDt({
    imageName: o.name,
    uri: o.uri,
    guid: o.guid,
    vdevices: o.vrtc ? { rtc: { 'vdevice-type': 'vrtc-pl031' } } : {},
  });

// ------------------------------------------------------------------------ harness

interface Env {
  v: RmVcpu;
  c: RmClient;
  t: RmClientTransport;
  /** A raw call; notifications that arrived with it are moved to `notes`. */
  call(msgId: number, payload?: Uint8Array): Generator<'wait', CallOutcome, void>;
  /** Every notification received, raw, in arrival order. */
  notes: RpcMessage[];
}

function env(v: RmVcpu, primary: boolean, scratch: { rx: bigint; tx: bigint }): Env {
  const { irq, t, c } = rmLink(v, { secondary: !primary, scratch });
  const notes: RpcMessage[] = [];
  return {
    v,
    t,
    notes,
    c,
    *call(msgId, payload = new Uint8Array(0)) {
      const o = yield* rmCall(irq, t, msgId, payload);
      notes.push(...t.notifications.splice(0));
      return o;
    },
  };
}

function must<T>(e: Env, what: string, r: RmResult<T>): T {
  e.notes.push(...e.t.notifications.splice(0));
  return value(what, r);
}

/** The VM_STATUS notifications about `vmid`, as payload hex. */
const statusOf = (e: Env, vmid: number): string[] =>
  e.notes
    .filter((m) => m.msgId === MsgId.NOTIFY_VM_STATUS && (m.payload[0]! | (m.payload[1]! << 8)) === vmid)
    .map((m) => hex(m.payload));

/** Wait until a VM_STATUS about `vmid` with vm_status `state` has arrived. */
function* waitStatus(e: Env, vmid: number, state: number): Generator<'wait', void, void> {
  const irq = e.v.irq!;
  for (;;) {
    const taken: number[] = [];
    for (let id = irq.ack(); id !== 1023; id = irq.ack()) taken.push(id);
    e.t.pump();
    for (const id of taken) irq.eoi(id);
    e.notes.push(...e.t.notifications.splice(0));
    const hit = e.notes.some(
      (m) =>
        m.msgId === MsgId.NOTIFY_VM_STATUS && (m.payload[0]! | (m.payload[1]! << 8)) === vmid && m.payload[4] === state,
    );
    if (hit) return;
    yield 'wait';
  }
}

interface VmOpts {
  /** A fixed secondary VMID to allocate (default: VM_ALLOCATE(0), a dynamic one). */
  vmid?: number;
  slot: number;
  dt?: DtOpts;
  auth?: number;
  /** Run VM_INIT (default true). */
  init?: boolean;
}

/** Allocate, lend the VM's slot with its config DT, CONFIG_IMAGE and (by default) VM_INIT → READY. */
function* makeVm(e: Env, o: VmOpts): Generator<'wait', { vmid: number; handle: number }, void> {
  const vm = yield* createVm(e.v, e.c, {
    vmid: o.vmid,
    pa: slotPa(o.slot),
    dt: configDt(o.dt ?? {}),
    authType: o.auth,
    init: o.init,
  });
  e.notes.push(...e.t.notifications.splice(0));
  return vm;
}

/** A fresh system with the RM; `primary` runs as the primary VM's VMM, `guest` as started VMs' vCPUs. */
function runSystem(
  primary: (e: Env, rm: ResourceManager) => ProgramBody,
  guest?: (e: Env) => ProgramBody,
): ResourceManager {
  const s = primarySystem(
    (v, { rm }) => primary(env(v, true, { rx: 0x4000_1000n, tx: 0x4000_1100n }), rm),
    // A started guest: its scratch buffers in its own RAM (the image parcel at GUEST_BASE).
    () =>
      guest === undefined
        ? 'emulate'
        : (v) => guest(env(v, false, { rx: GUEST_BASE + 0x10_0000n, tx: GUEST_BASE + 0x10_0100n })),
  );
  runToIdle(s, 2_000_000_000);
  return s.rm;
}

// ---------------------------------------------------------------------- identity (§2.2)

const GUID = '00112233-4455-6677-8899-AABBCCDDEEFF';
const GUID_HEX = '00 11 22 33 44 55 66 77 88 99 aa bb cc dd ee ff';
const ZERO_GUID = '00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00';
/** VM_GET_ID of a VM with name "alpha", URI "vm://alpha" and GUID above: GUID, NAME, URI, SIGN_AUTH "N/A". */
const ALPHA_ID = [
  '04 00 00 00',
  `00 00 10 00 ${GUID_HEX}`,
  '02 00 05 00 61 6c 70 68 61 00 00 00',
  '01 00 0a 00 76 6d 3a 2f 2f 61 6c 70 68 61 00 00',
  '03 00 03 00 4e 2f 41 00',
].join(' ');

test('RM §2.2: VM_GET_ID gives GUID (first, 16 bytes), NAME and URI if set, SIGN_AUTH "N/A" (last); a VM without a GUID has 16 zero bytes; the primary is "HLOS"; LOAD → VM_STATE, unknown → NORESOURCE', () => {
  const r: Got[] = [];
  runSystem(function* (e) {
    const a = yield* makeVm(e, { slot: 0, dt: { name: 'alpha', uri: 'vm://alpha', guid: GUID } });
    const b = yield* makeVm(e, { slot: 1, dt: { name: 'beta' } });
    const c = must(e, 'allocate', yield* e.c.vmAllocate(0));
    assert.deepEqual([a.vmid, b.vmid, c], [0x80, 0x81, 0x82]);
    r.push(got(yield* e.call(MsgId.VM_GET_ID, vmidReq(0x80))));
    r.push(got(yield* e.call(MsgId.VM_GET_ID, vmidReq(0x81))));
    r.push(got(yield* e.call(MsgId.VM_GET_ID, vmidReq(0))));
    r.push(got(yield* e.call(MsgId.VM_GET_ID, vmidReq(0x82))));
    r.push(got(yield* e.call(MsgId.VM_GET_ID, vmidReq(0x99))));
    r.push(got(yield* e.call(MsgId.VM_GET_ID, bytes(0x80, 0))));
  });
  assert.deepEqual(r, [
    want(RmError.OK, ALPHA_ID),
    want(RmError.OK, `03 00 00 00 00 00 10 00 ${ZERO_GUID} 02 00 04 00 62 65 74 61 03 00 03 00 4e 2f 41 00`),
    want(RmError.OK, `03 00 00 00 00 00 10 00 ${ZERO_GUID} 02 00 04 00 48 4c 4f 53 03 00 03 00 4e 2f 41 00`),
    want(RmError.VM_STATE),
    want(RmError.NORESOURCE),
    want(RmError.MSG_INVALID),
  ]);
});

test('RM §2.2: VM_LOOKUP_NAME/_URI/_GUID answer {u32 n; n × {u16 vmid; u16 pad}} in table order; an empty string or the zero GUID finds the VMs without one; len > 79 → ARGUMENT_INVALID; bad length or non-zero padding → MSG_INVALID', () => {
  const r: Got[] = [];
  runSystem(function* (e) {
    yield* makeVm(e, { slot: 0, dt: { name: 'alpha', uri: 'vm://alpha', guid: GUID } });
    yield* makeVm(e, { slot: 1, dt: { name: 'beta' } });
    must(e, 'allocate', yield* e.c.vmAllocate(0));
    r.push(got(yield* e.call(MsgId.VM_LOOKUP_NAME, bytes(5, 0, 0, 0, ascii('alpha'), 0, 0, 0))));
    r.push(got(yield* e.call(MsgId.VM_LOOKUP_NAME, bytes(4, 0, 0, 0, ascii('HLOS')))));
    r.push(got(yield* e.call(MsgId.VM_LOOKUP_NAME, bytes(5, 0, 0, 0, ascii('gamma'), 0, 0, 0))));
    r.push(got(yield* e.call(MsgId.VM_LOOKUP_URI, bytes(10, 0, 0, 0, ascii('vm://alpha'), 0, 0))));
    r.push(got(yield* e.call(MsgId.VM_LOOKUP_URI, bytes(0, 0, 0, 0))));
    r.push(got(yield* e.call(MsgId.VM_LOOKUP_GUID, guidBytesTyped())));
    r.push(got(yield* e.call(MsgId.VM_LOOKUP_GUID, new Uint8Array(16))));
    r.push(got(yield* e.call(MsgId.VM_LOOKUP_GUID, new Uint8Array(15))));
    r.push(got(yield* e.call(MsgId.VM_LOOKUP_NAME, bytes(80, 0, 0, 0, Array(80).fill(0x61)))));
    r.push(got(yield* e.call(MsgId.VM_LOOKUP_NAME, bytes(5, 0, 0, 0, ascii('alpha'), 0, 0, 1))));
    r.push(got(yield* e.call(MsgId.VM_LOOKUP_URI, bytes(3, 0, 0, 0, ascii('vm://alp')))));
    r.push(got(yield* e.call(MsgId.VM_LOOKUP_NAME, bytes(0, 0, 0))));
  });
  assert.deepEqual(r, [
    want(RmError.OK, '01 00 00 00 80 00 00 00'),
    want(RmError.OK, '01 00 00 00 03 00 00 00'),
    want(RmError.OK, '00 00 00 00'),
    want(RmError.OK, '01 00 00 00 80 00 00 00'),
    want(RmError.OK, '03 00 00 00 03 00 00 00 81 00 00 00 82 00 00 00'),
    want(RmError.OK, '01 00 00 00 80 00 00 00'),
    want(RmError.OK, '03 00 00 00 03 00 00 00 81 00 00 00 82 00 00 00'),
    want(RmError.MSG_INVALID),
    want(RmError.ARGUMENT_INVALID),
    want(RmError.MSG_INVALID),
    want(RmError.MSG_INVALID),
    want(RmError.MSG_INVALID),
  ]);
});

/** The GUID above as the 16 bytes on the wire, typed in. */
function guidBytesTyped(): Uint8Array {
  return bytes(0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff);
}

test('RM §4.3: vm-guid is stored as its hex digits in written order; a malformed one counts as unset (all zero)', () => {
  assert.equal(hex(guidBytes(GUID)), GUID_HEX);
  assert.equal(hex(guidBytes('00112233445566778899aabbccddeeff')), ZERO_GUID);
  assert.equal(hex(guidBytes('0011223-4455-6677-8899-aabbccddeeff0')), ZERO_GUID);
  assert.equal(hex(guidBytes(undefined)), ZERO_GUID);
});

// -------------------------------------------------------- a running guest (§2.2, §2.9, §2.4)

/** IPA_RESERVE: `{u8 alloc_type; u8; u16; u32 generic; u32 platform}` then the list of u64 entries. */
const ipaReq = (type: number, generic: number, platform: number, entries: readonly (readonly bigint[])[]): Uint8Array =>
  bytes(type, 0, 0, 0, u32(generic), u32(platform), u16(entries.length), 0, 0, entries.flat().flatMap(u64));
/** MEM_QCOM_LOOKUP_SGL: `{u8 mem_type; u8 res[3]; u32 label}`, ACL, SGL, attrs lists. */
const lookupSgl = (
  memType: number,
  acl: readonly (readonly [number, number])[],
  sgl: readonly (readonly [bigint, bigint])[],
  attrs: readonly (readonly [number, number])[] = [],
): Uint8Array =>
  bytes(
    memType,
    0,
    0,
    0,
    u32(0),
    u16(acl.length),
    0,
    0,
    acl.flatMap(([vmid, rights]) => [...u16(vmid), rights, 0]),
    u16(sgl.length),
    0,
    0,
    sgl.flatMap(([ipa, size]) => [...u64(ipa), ...u64(size)]),
    u16(attrs.length),
    0,
    0,
    attrs.flatMap(([attr, vmid]) => [...u16(attr), ...u16(vmid)]),
  );

test('RM §2.2/§2.9/§9.2: a started secondary VM (VMID 10) asks about itself and others, sets its status (VM_STATUS to the owner), reserves IPA ranges; HLOS-only and owner-only requests are DENIED; VM_RESET wipes its crash message, status and reservations', () => {
  const g: Got[] = [];
  const p: Got[] = [];
  let guestDone = false;
  let reservedBeforeReset: unknown = null;
  let reservedAfterReset: unknown = null;
  let status: string[] = [];
  const rm = runSystem(
    function* (e, rm) {
      const a = yield* makeVm(e, { vmid: 10, slot: 0, dt: { name: 'alpha', uri: 'vm://alpha', guid: GUID } });
      const b = yield* makeVm(e, { slot: 1, dt: { name: 'beta' } });
      assert.deepEqual([a.vmid, b.vmid], [10, 0x80]);
      const res = must(e, 'resources', yield* e.c.vmGetHypResources(10));
      e.v.irq!.enable(res[0]!.virq, true);
      must(e, 'start', yield* e.c.vmStart(10));
      for (let i = 0; !guestDone; i++) {
        assert.ok(i < 100_000, 'the guest finishes its requests');
        assert.equal(e.v.call('vcpu_run', res[0]!.capId, 0n, 0n, 0n, 0n).e, 0);
        e.v.call('scheduler_yield', 0n, 0n, 0n);
        yield 'yield';
      }
      p.push(got(yield* e.call(MsgId.VM_GET_CRASH_MSG, vmidReq(10))));
      p.push(got(yield* e.call(MsgId.VM_GET_ID, vmidReq(10))));
      p.push(got(yield* e.call(MsgId.VM_GET_STATE, vmidReq(10))));
      // The image parcel is held for the running VM: no longer "accepted by nobody".
      p.push(got(yield* e.call(MsgId.MEM_QCOM_LOOKUP_SGL, lookupSgl(0, [[10, 7]], [[slotPa(0), GUEST_SIZE]]))));
      reservedBeforeReset = rm.misc.ipaReservations(10);
      must(e, 'stop', yield* e.c.vmStop(10));
      must(e, 'reset', yield* e.c.vmReset(10));
      yield* waitStatus(e, 10, VmState.RESET);
      p.push(got(yield* e.call(MsgId.VM_GET_CRASH_MSG, vmidReq(10))));
      p.push(got(yield* e.call(MsgId.VM_GET_STATE, vmidReq(10))));
      reservedAfterReset = rm.misc.ipaReservations(10);
      status = statusOf(e, 10);
    },
    function* (e) {
      const call = function* (id: number, payload: Uint8Array) {
        g.push(got(yield* e.call(id, payload)));
      };
      yield* call(MsgId.VM_GET_ID, vmidReq(0));
      yield* call(MsgId.VM_GET_ID, vmidReq(0x80)); // a sibling: not a peer
      yield* call(MsgId.VM_LOOKUP_NAME, bytes(4, 0, 0, 0, ascii('beta')));
      yield* call(MsgId.VM_LOOKUP_NAME, bytes(4, 0, 0, 0, ascii('HLOS'))); // its owner is a peer
      // VM_SET_STATUS: a secondary VMID may.
      yield* call(MsgId.VM_SET_STATUS, bytes(0, 4, 0x34));
      yield* call(MsgId.VM_SET_STATUS, bytes(0, 8, 0, 0));
      yield* call(MsgId.VM_SET_STATUS, bytes(0, 4, 0x34, 0x12));
      yield* call(MsgId.VM_SET_STATUS, bytes(0xff, 0, 0x78, 0x56)); // os_state 0: no change
      // Not its business.
      yield* call(MsgId.VM_SET_TIME_BASE, bytes(u16(0x80), 0, 0, u64(1n), u64(2n)));
      yield* call(MsgId.VM_AUTH_IMAGE, bytes(u16(0x80), 0, 0));
      yield* call(MsgId.FW_MILESTONE, bytes());
      yield* call(MsgId.FW_SET_VM_FIRMWARE, new Uint8Array(24));
      yield* call(MsgId.VM_SET_BOOT_CONTEXT, bytes(u16(10), 1, 0, 0, 0, 0, 0, u64(0x8000_0000n)));
      // IPA_RESERVE in its own IPA space.
      yield* call(MsgId.IPA_RESERVE, ipaReq(0, 0, 0, [[0x1_0000_0000n, 0x1000n]]));
      yield* call(MsgId.IPA_RESERVE, ipaReq(0, 0, 0, [[0x1_0000_0000n, 0x1000n]]));
      yield* call(MsgId.IPA_RESERVE, ipaReq(1, 0, 0, [[0x1_0000_0000n, 0x10_0000n, 0x2000n, 0x1000n]]));
      yield* call(
        MsgId.IPA_RESERVE,
        ipaReq(1, 0, 0, [
          [0x2_0000_0000n, 0x1_0000n, 0x1000n, 0n],
          [GUEST_BASE, GUEST_SIZE, 0x1000n, 0x1000n], // its RAM: nothing free there
        ]),
      );
      yield* call(MsgId.IPA_RESERVE, ipaReq(1, 0, 0, [[0x2_0000_0000n, 0x1_0000n, 0x1000n, 0n]]));
      yield* call(MsgId.IPA_RESERVE, ipaReq(0, 0x4 | 0x1, 0, [[0x3_0000_0000n, 0x1000n]]));
      yield* call(MsgId.IPA_RESERVE, ipaReq(0, 0x8, 0, [[0x3_0001_0000n, 0x1000n]]));
      yield* call(MsgId.MEM_QCOM_LOOKUP_SGL, lookupSgl(0, [[10, 7]], [[slotPa(0), GUEST_SIZE]]));
      yield* call(MsgId.VM_SET_CRASH_MSG, bytes(4, 0, 0, 0, ascii('oops')));
      yield* call(MsgId.VM_GET_CRASH_MSG, vmidReq(10)); // only its owner may read it
      guestDone = true;
      for (;;) yield 'wait';
    },
  );
  assert.deepEqual(g, [
    want(RmError.OK, ALPHA_ID),
    want(RmError.NORESOURCE),
    want(RmError.OK, '00 00 00 00'),
    want(RmError.OK, '01 00 00 00 03 00 00 00'),
    want(RmError.MSG_INVALID),
    want(RmError.ARGUMENT_INVALID),
    want(RmError.OK),
    want(RmError.OK),
    want(RmError.DENIED, '01 00 00 00'),
    want(RmError.DENIED),
    want(RmError.DENIED),
    want(RmError.DENIED),
    want(RmError.DENIED),
    want(RmError.OK),
    want(RmError.DENIED),
    want(RmError.OK, '01 00 00 00 00 10 00 00 01 00 00 00'),
    want(RmError.DENIED),
    want(RmError.OK, '01 00 00 00 00 00 00 00 02 00 00 00'),
    want(RmError.OK),
    want(RmError.ARGUMENT_INVALID),
    want(RmError.LOOKUP_FAILED),
    want(RmError.OK),
    want(RmError.VMID_INVALID),
  ]);
  assert.deepEqual(p, [
    want(RmError.OK, '04 00 00 00 6f 6f 70 73'),
    want(RmError.OK, ALPHA_ID),
    want(RmError.OK, '03 04 78 56'),
    want(RmError.LOOKUP_FAILED),
    want(RmError.OK, '00 00 00 00'),
    want(RmError.OK, '0b 00 00 00'),
  ]);
  assert.deepEqual(reservedBeforeReset, [
    { base: 0x1_0000_0000n, size: 0x1000n },
    { base: 0x1_0000_1000n, size: 0x2000n },
    { base: 0x2_0000_0000n, size: 0x1000n },
    { base: 0x3_0000_0000n, size: 0x1000n },
  ]);
  assert.deepEqual(reservedAfterReset, []);
  // VM_STATUS to the owner (§2.4): INIT, READY, RUNNING, the two SET_STATUS updates, then EXITED and
  // RESETTING with the guest's os/app status, and RESET with it wiped.
  assert.deepEqual(status, [
    '0a 00 00 00 01 00 00 00',
    '0a 00 00 00 02 00 00 00',
    '0a 00 00 00 03 00 00 00',
    '0a 00 00 00 03 04 34 12',
    '0a 00 00 00 03 04 78 56',
    '0a 00 00 00 09 04 78 56',
    '0a 00 00 00 0a 04 78 56',
    '0a 00 00 00 0b 00 00 00',
  ]);
  assert.equal(rm.table.vms.get(10)?.state, VmState.RESET);
});

test('RM §2.2/§2.9: a dynamic-VMID VM the RM built but never configured: VM_SET_STATUS → DENIED, IPA_RESERVE → DENIED (no IPA allocator); its crash message is kept truncated to 192 bytes and only its owner reads it', () => {
  const system = newSystem();
  const { sys, rm } = system;
  let built = false;
  let guestDone = false;
  const owner: Got[] = [];
  const guest: Got[] = [];
  const long = Array.from({ length: 200 }, (_, i) => 0x20 + (i % 90));
  let spawned = 0;
  sys.spawn = () => {
    const primary = spawned++ === 0;
    return generatorProgram(function* (v: RmVcpu) {
      const e = env(v, primary, primary ? { rx: 0x4000_1000n, tx: 0x4000_1100n } : { rx: 0x1000n, tx: 0x1100n });
      if (primary) {
        owner.push(got(yield* e.call(MsgId.VM_ALLOCATE, vmidReq(0))));
        while (!built || !guestDone) {
          v.call('scheduler_yield', 0n, 0n, 0n);
          yield 'yield';
        }
        owner.push(got(yield* e.call(MsgId.VM_GET_CRASH_MSG, vmidReq(0x80))));
        owner.push(got(yield* e.call(MsgId.VM_GET_CRASH_MSG, vmidReq(0x99))));
        owner.push(got(yield* e.call(MsgId.VM_GET_CRASH_MSG, bytes(0x80, 0))));
        owner.push(got(yield* e.call(MsgId.VM_SET_STATUS, bytes(0, 4, 0, 0))));
      } else {
        guest.push(got(yield* e.call(MsgId.VM_SET_STATUS, bytes(0, 4, 0x34, 0x12))));
        guest.push(got(yield* e.call(MsgId.IPA_RESERVE, ipaReq(0, 0, 0, []))));
        guest.push(got(yield* e.call(MsgId.VM_SET_CRASH_MSG, bytes(200, 0, 0, 0, long))));
        guest.push(got(yield* e.call(MsgId.VM_SET_CRASH_MSG, bytes(1, 0, 0, 0, 0x41, 1, 0, 0))));
        guest.push(got(yield* e.call(MsgId.VM_SET_CRASH_MSG, bytes(5, 0, 0, 0, ascii('ABCDE')))));
        guest.push(got(yield* e.call(MsgId.VM_SET_CRASH_MSG, bytes(0, 0, 0))));
        guestDone = true;
      }
    });
  };
  assert.equal(sys.run(1_000_000), 'limit', 'the owner waits for its guest');
  buildGuest(system, 0x80);
  built = true;
  assert.equal(sys.run(500_000_000), 'idle');
  assert.equal(rm.failure, null);
  assert.deepEqual(guest, [
    want(RmError.DENIED),
    want(RmError.DENIED),
    want(RmError.OK),
    want(RmError.MSG_INVALID),
    want(RmError.MSG_INVALID),
    want(RmError.MSG_INVALID),
  ]);
  assert.deepEqual(owner, [
    want(RmError.OK, '80 00 00 00'),
    want(RmError.OK, `c0 00 00 00 ${hex(new Uint8Array(long.slice(0, 192)))}`),
    want(RmError.VMID_INVALID),
    want(RmError.MSG_INVALID),
    want(RmError.DENIED),
  ]);
});

// -------------------------------------------------------- time base and auth (§2.2)

test('RM §2.2: VM_SET_TIME_BASE reaches a READY VM with a vRTC; every error reply carries a u32 hypervisor error (1, or the vRTC call’s DENIED 30 when the VM has no vRTC)', () => {
  const r: Got[] = [];
  const rm = runSystem(function* (e) {
    const t = yield* makeVm(e, { slot: 0, dt: { name: 'rtc', vrtc: true } });
    const n = yield* makeVm(e, { slot: 1, dt: { name: 'plain' } });
    const l = must(e, 'allocate', yield* e.c.vmAllocate(0));
    const tb = (vmid: number) => bytes(u16(vmid), 0, 0, u64(0x1122_3344_5566_7788n), u64(0x99n));
    r.push(got(yield* e.call(MsgId.VM_SET_TIME_BASE, tb(t.vmid))));
    r.push(got(yield* e.call(MsgId.VM_SET_TIME_BASE, tb(n.vmid))));
    r.push(got(yield* e.call(MsgId.VM_SET_TIME_BASE, tb(l))));
    r.push(got(yield* e.call(MsgId.VM_SET_TIME_BASE, tb(0x99))));
    r.push(got(yield* e.call(MsgId.VM_SET_TIME_BASE, tb(0)))); // itself, RUNNING
    r.push(got(yield* e.call(MsgId.VM_SET_TIME_BASE, tb(t.vmid).subarray(0, 19))));
  });
  assert.deepEqual(r, [
    want(RmError.OK),
    want(RmError.ARGUMENT_INVALID, '1e 00 00 00'),
    want(RmError.VM_STATE, '01 00 00 00'),
    want(RmError.NORESOURCE, '01 00 00 00'),
    want(RmError.VM_STATE, '01 00 00 00'),
    want(RmError.MSG_INVALID, '01 00 00 00'),
  ]);
  assert.deepEqual(rm.misc.timeBase(0x80), { timeBase: 0x1122_3344_5566_7788n, sysTimerRef: 0x99n });
  assert.equal(rm.misc.timeBase(0x81), null);
});

test('RM §2.2/§3: VM_AUTH_IMAGE takes a PLATFORM VM from AUTH to INIT (VM_STATUS); exact length, unknown VM, wrong state; NONE/ANDROID auth → ARGUMENT_INVALID and INIT_FAILED', () => {
  const r: Got[] = [];
  let status: string[] = [];
  runSystem(function* (e, rm) {
    const pvm = yield* makeVm(e, { slot: 0, auth: 1, init: false });
    const q = yield* makeVm(e, { slot: 1, auth: 1, init: false });
    const l = must(e, 'allocate', yield* e.c.vmAllocate(0));
    r.push(got(yield* e.call(MsgId.VM_GET_STATE, vmidReq(pvm.vmid))));
    r.push(got(yield* e.call(MsgId.VM_AUTH_IMAGE, bytes(u16(pvm.vmid), 0))));
    r.push(got(yield* e.call(MsgId.VM_AUTH_IMAGE, bytes(u16(pvm.vmid), u16(1)))));
    r.push(got(yield* e.call(MsgId.VM_AUTH_IMAGE, bytes(u16(0x99), u16(0)))));
    r.push(got(yield* e.call(MsgId.VM_AUTH_IMAGE, bytes(u16(l), u16(0)))));
    r.push(got(yield* e.call(MsgId.VM_AUTH_IMAGE, bytes(u16(pvm.vmid), u16(1), u32(1), u32(2)))));
    r.push(got(yield* e.call(MsgId.VM_GET_STATE, vmidReq(pvm.vmid))));
    r.push(got(yield* e.call(MsgId.VM_AUTH_IMAGE, bytes(u16(pvm.vmid), u16(0)))));
    // A VM in AUTH always has PLATFORM auth over the wire; make its record say NONE to reach the
    // rule for the other auth types.
    rm.lifecycle.images.get(q.vmid)!.auth = 0;
    r.push(got(yield* e.call(MsgId.VM_AUTH_IMAGE, bytes(u16(q.vmid), u16(0)))));
    r.push(got(yield* e.call(MsgId.VM_GET_STATE, vmidReq(q.vmid))));
    status = [...statusOf(e, pvm.vmid), ...statusOf(e, q.vmid)];
  });
  assert.deepEqual(r, [
    want(RmError.OK, '06 00 00 00'),
    want(RmError.MSG_INVALID),
    want(RmError.MSG_INVALID),
    want(RmError.VMID_INVALID),
    want(RmError.VM_STATE),
    want(RmError.OK),
    want(RmError.OK, '01 00 00 00'),
    want(RmError.VM_STATE),
    want(RmError.ARGUMENT_INVALID),
    want(RmError.OK, '08 00 00 00'),
  ]);
  assert.deepEqual(status, [
    '80 00 00 00 06 00 00 00',
    '80 00 00 00 01 00 00 00',
    '81 00 00 00 06 00 00 00',
    '81 00 00 00 08 00 00 00',
  ]);
});

// -------------------------------------------------------------------- firmware (§2.2, §2.9)

test('RM §2.9/§2.2: FW_SET_VM_FIRMWARE registers a donated parcel for ANDROID once (the handle dies); VM_SET_FIRMWARE_MEM then names an ANDROID VM’s firmware range; FW_MILESTONE closes registration; every error in the spec’s order', () => {
  const r: Got[] = [];
  const rm = runSystem(function* (e) {
    const android = yield* makeVm(e, { slot: 0, auth: 2, init: false });
    const none = yield* makeVm(e, { slot: 1, auth: 0, init: false });
    const ready = yield* makeVm(e, { slot: 2, dt: { name: 'ready' } });
    const fw = must(
      e,
      'lend fw',
      yield* e.c.memLend({
        memType: 0,
        flags: 0,
        label: 1,
        acl: [{ vmid: android.vmid, rights: 7 }],
        sgl: [{ ipa: slotPa(3), size: GUEST_SIZE }],
        attrs: [],
      }),
    );
    const donated = must(
      e,
      'donate',
      yield* e.c.memDonate({
        memType: 0,
        flags: 0,
        label: 2,
        acl: [{ vmid: 0xff, rights: 7 }],
        sgl: [{ ipa: slotPa(4), size: 0x1_0000n }],
        attrs: [],
      }),
    );
    const lent = must(
      e,
      'lend to RM',
      yield* e.c.memLend({
        memType: 0,
        flags: 0,
        label: 3,
        acl: [{ vmid: 0xff, rights: 7 }],
        sgl: [{ ipa: slotPa(5), size: 0x1_0000n }],
        attrs: [],
      }),
    );
    const building = must(
      e,
      'donate, still being built',
      yield* e.c.memDonate({
        memType: 0,
        flags: 2,
        label: 4,
        acl: [{ vmid: 0xff, rights: 7 }],
        sgl: [{ ipa: slotPa(6), size: 0x1_0000n }],
        attrs: [],
      }),
    );
    const fwSet = (auth: number, res: number, handle: number, offset: bigint, size: bigint) =>
      bytes(u16(auth), u16(res), u32(handle), u64(offset), u64(size));
    const fwMem = (vmid: number, res: number, handle: number, offset: bigint, size: bigint) =>
      bytes(u16(vmid), u16(res), u32(handle), u64(offset), u64(size));
    // Before any firmware is registered.
    r.push(got(yield* e.call(MsgId.VM_SET_FIRMWARE_MEM, fwMem(android.vmid, 0, fw, 0n, 0x1000n))));
    r.push(got(yield* e.call(MsgId.VM_SET_FIRMWARE_MEM, fwMem(none.vmid, 0, fw, 0n, 0x1000n))));
    // FW_SET_VM_FIRMWARE's checks.
    r.push(got(yield* e.call(MsgId.FW_SET_VM_FIRMWARE, fwSet(2, 0, donated, 0n, 0x8000n).subarray(0, 23))));
    r.push(got(yield* e.call(MsgId.FW_SET_VM_FIRMWARE, fwSet(2, 1, donated, 0n, 0x8000n))));
    r.push(got(yield* e.call(MsgId.FW_SET_VM_FIRMWARE, fwSet(1, 0, donated, 0n, 0x8000n))));
    r.push(got(yield* e.call(MsgId.FW_SET_VM_FIRMWARE, fwSet(2, 0, 0x77, 0n, 0x8000n))));
    r.push(got(yield* e.call(MsgId.FW_SET_VM_FIRMWARE, fwSet(2, 0, fw, 0n, 0x8000n))));
    r.push(got(yield* e.call(MsgId.FW_SET_VM_FIRMWARE, fwSet(2, 0, donated, 0x1000n, 0x1000n))));
    r.push(got(yield* e.call(MsgId.FW_SET_VM_FIRMWARE, fwSet(2, 0, donated, 0n, 0n))));
    r.push(got(yield* e.call(MsgId.FW_SET_VM_FIRMWARE, fwSet(2, 0, donated, 0n, 0x1_1000n))));
    r.push(got(yield* e.call(MsgId.FW_SET_VM_FIRMWARE, fwSet(2, 0, lent, 0n, 0x8000n))));
    r.push(got(yield* e.call(MsgId.FW_SET_VM_FIRMWARE, fwSet(2, 0, building, 0n, 0x8000n))));
    r.push(got(yield* e.call(MsgId.FW_SET_VM_FIRMWARE, fwSet(2, 0, donated, 0n, 0x8000n))));
    r.push(got(yield* e.call(MsgId.MEM_RECLAIM, bytes(u32(donated), 0, 0, 0, 0))));
    r.push(got(yield* e.call(MsgId.FW_SET_VM_FIRMWARE, fwSet(2, 0, lent, 0n, 0x8000n))));
    // VM_SET_FIRMWARE_MEM's checks, now that a firmware image exists.
    r.push(got(yield* e.call(MsgId.VM_SET_FIRMWARE_MEM, fwMem(android.vmid, 0, fw, 0n, 0x1000n).subarray(0, 23))));
    r.push(got(yield* e.call(MsgId.VM_SET_FIRMWARE_MEM, fwMem(android.vmid, 1, fw, 0n, 0x1000n))));
    r.push(got(yield* e.call(MsgId.VM_SET_FIRMWARE_MEM, fwMem(0, 0, fw, 0n, 0x1000n))));
    r.push(got(yield* e.call(MsgId.VM_SET_FIRMWARE_MEM, fwMem(0x99, 0, fw, 0n, 0x1000n))));
    r.push(got(yield* e.call(MsgId.VM_SET_FIRMWARE_MEM, fwMem(ready.vmid, 0, fw, 0n, 0x1000n))));
    r.push(got(yield* e.call(MsgId.VM_SET_FIRMWARE_MEM, fwMem(android.vmid, 0, lent, 0n, 0x1000n))));
    r.push(got(yield* e.call(MsgId.VM_SET_FIRMWARE_MEM, fwMem(android.vmid, 0, fw, 0x1f_f000n, 0x2000n))));
    r.push(got(yield* e.call(MsgId.VM_SET_FIRMWARE_MEM, fwMem(android.vmid, 0, fw, 0x1_0000n, 0x1000n))));
    // FW_MILESTONE.
    r.push(got(yield* e.call(MsgId.FW_MILESTONE, bytes(0, 0, 0, 0))));
    r.push(got(yield* e.call(MsgId.FW_MILESTONE)));
    r.push(got(yield* e.call(MsgId.FW_MILESTONE)));
    r.push(got(yield* e.call(MsgId.FW_SET_VM_FIRMWARE, fwSet(2, 0, lent, 0n, 0x8000n))));
  });
  const ONE = '01 00 00 00';
  assert.deepEqual(r, [
    want(RmError.DENIED, ONE),
    want(RmError.ARGUMENT_INVALID, ONE),
    want(RmError.MSG_INVALID),
    want(RmError.UNIMPLEMENTED),
    want(RmError.ARGUMENT_INVALID),
    want(RmError.HANDLE_INVALID),
    want(RmError.HANDLE_INVALID),
    want(RmError.ARGUMENT_INVALID),
    want(RmError.ARGUMENT_INVALID),
    want(RmError.ARGUMENT_INVALID),
    want(RmError.ARGUMENT_INVALID), // a LEND is not a donation
    want(RmError.DENIED), // a donation still being built (APPEND)
    want(RmError.OK),
    want(RmError.HANDLE_INVALID), // the donated parcel is gone
    want(RmError.BUSY),
    want(RmError.MSG_INVALID, ONE),
    want(RmError.MSG_INVALID, ONE),
    want(RmError.NORESOURCE, ONE),
    want(RmError.NORESOURCE, ONE),
    want(RmError.VM_STATE, ONE),
    want(RmError.MEM_INVALID, ONE),
    want(RmError.ARGUMENT_INVALID, ONE),
    want(RmError.OK),
    want(RmError.MSG_INVALID),
    want(RmError.OK),
    want(RmError.DENIED),
    want(RmError.DENIED),
  ]);
  const m = rm.misc;
  assert.deepEqual(m.firmwareMem(0x80), { parcel: 3, offset: 0x1_0000n, size: 0x1000n });
  assert.equal(m.firmwareImage(2)?.size, 0x1_0000n, 'the whole donated parcel');
  assert.equal(m.firmwareImage(2)?.regions.length, 1);
  assert.equal(m.milestoneReached, true);
  assert.equal(rm.parcels.get(4), undefined);
});

// ------------------------------------------------------------------------------ §2.6

test('RM §2.6/§7: VM_SET_DEMAND_PAGING and VM_SET_ADDRESS_LAYOUT between CONFIG_IMAGE and INIT, VM_SET_BOOT_CONTEXT in READY, recorded for VM_START (a register set twice keeps the later value); errors; VM_RESET forgets them', () => {
  const r: Got[] = [];
  let boot: unknown = null;
  let afterReset: unknown = null;
  const rm = runSystem(function* (e, rm) {
    const { vmid } = yield* makeVm(e, { slot: 0, dt: { name: 'lnx' }, init: false });
    const dp = (id: number, ranges: readonly (readonly [bigint, bigint])[]) =>
      bytes(
        u16(id),
        0,
        0,
        u32(ranges.length),
        ranges.flatMap(([g, s]) => [...u64(g), ...u64(s)]),
      );
    const al = (id: number, range: number, base: bigint, size: bigint) =>
      bytes(u16(id), 0, 0, u32(range), u64(base), u64(size));
    const bc = (id: number, set: number, index: number, value: bigint) =>
      bytes(u16(id), set, index, 0, 0, 0, 0, u64(value));
    r.push(got(yield* e.call(MsgId.VM_SET_DEMAND_PAGING, dp(vmid, [[GUEST_BASE, GUEST_SIZE]]))));
    r.push(got(yield* e.call(MsgId.VM_SET_DEMAND_PAGING, dp(vmid, [[GUEST_BASE, GUEST_SIZE]]).subarray(0, 8))));
    r.push(got(yield* e.call(MsgId.VM_SET_DEMAND_PAGING, dp(vmid, [[GUEST_BASE + 0x800n, 0x1000n]]))));
    r.push(got(yield* e.call(MsgId.VM_SET_DEMAND_PAGING, dp(vmid, [[GUEST_BASE, 0n]]))));
    r.push(got(yield* e.call(MsgId.VM_SET_DEMAND_PAGING, dp(0x99, []))));
    r.push(got(yield* e.call(MsgId.VM_SET_ADDRESS_LAYOUT, al(vmid, 0, GUEST_BASE, GUEST_SIZE))));
    r.push(got(yield* e.call(MsgId.VM_SET_ADDRESS_LAYOUT, al(vmid, 1, 0x7000_0000n, 0x10_0000n))));
    r.push(got(yield* e.call(MsgId.VM_SET_ADDRESS_LAYOUT, al(vmid, 2, GUEST_BASE, GUEST_SIZE))));
    r.push(got(yield* e.call(MsgId.VM_SET_ADDRESS_LAYOUT, al(vmid, 0, GUEST_BASE, 0x1000n))));
    r.push(got(yield* e.call(MsgId.VM_SET_ADDRESS_LAYOUT, al(vmid, 0, GUEST_BASE + 0x10n, GUEST_SIZE))));
    r.push(got(yield* e.call(MsgId.VM_SET_ADDRESS_LAYOUT, al(vmid, 0, GUEST_BASE, GUEST_SIZE).subarray(0, 23))));
    r.push(got(yield* e.call(MsgId.VM_SET_BOOT_CONTEXT, bc(vmid, 1, 0, 0x8000_1000n))));
    must(e, 'init', yield* e.c.vmInit(vmid));
    r.push(got(yield* e.call(MsgId.VM_SET_DEMAND_PAGING, dp(vmid, [[GUEST_BASE, GUEST_SIZE]]))));
    r.push(got(yield* e.call(MsgId.VM_SET_ADDRESS_LAYOUT, al(vmid, 0, GUEST_BASE, GUEST_SIZE))));
    r.push(got(yield* e.call(MsgId.VM_SET_BOOT_CONTEXT, bc(vmid, 1, 0, 0x8000_1000n))));
    r.push(got(yield* e.call(MsgId.VM_SET_BOOT_CONTEXT, bc(vmid, 0, 0, 0x8001_0000n))));
    r.push(got(yield* e.call(MsgId.VM_SET_BOOT_CONTEXT, bc(vmid, 2, 1, 0x8020_0000n))));
    r.push(got(yield* e.call(MsgId.VM_SET_BOOT_CONTEXT, bc(vmid, 0, 0, 0x1234n))));
    r.push(got(yield* e.call(MsgId.VM_SET_BOOT_CONTEXT, bc(vmid, 3, 0, 0n))));
    r.push(got(yield* e.call(MsgId.VM_SET_BOOT_CONTEXT, bc(vmid, 0, 32, 0n))));
    r.push(got(yield* e.call(MsgId.VM_SET_BOOT_CONTEXT, bc(vmid, 1, 1, 0n))));
    r.push(got(yield* e.call(MsgId.VM_SET_BOOT_CONTEXT, bc(vmid, 2, 3, 0n))));
    r.push(got(yield* e.call(MsgId.VM_SET_BOOT_CONTEXT, bc(vmid, 1, 0, 0n).subarray(0, 15))));
    r.push(got(yield* e.call(MsgId.VM_SET_BOOT_CONTEXT, bc(0x99, 1, 0, 0n))));
    r.push(got(yield* e.call(MsgId.VM_SET_BOOT_CONTEXT, bc(3, 1, 0, 0n))));
    boot = rm.misc.bootContext(vmid);
    must(e, 'reset', yield* e.c.vmReset(vmid));
    yield* waitStatus(e, vmid, VmState.RESET);
    afterReset = [rm.misc.bootContext(vmid), rm.misc.demandPaging(vmid), rm.misc.addressLayout(vmid, 0)];
  });
  assert.deepEqual(r, [
    want(RmError.OK),
    want(RmError.MSG_INVALID),
    want(RmError.ARGUMENT_INVALID),
    want(RmError.ARGUMENT_INVALID),
    want(RmError.VMID_INVALID),
    want(RmError.OK),
    want(RmError.OK),
    want(RmError.ARGUMENT_INVALID),
    want(RmError.ARGUMENT_INVALID), // smaller than the image parcel
    want(RmError.ARGUMENT_INVALID),
    want(RmError.MSG_INVALID),
    want(RmError.VM_STATE), // boot context before INIT
    want(RmError.VM_STATE),
    want(RmError.VM_STATE),
    want(RmError.OK),
    want(RmError.OK),
    want(RmError.OK),
    want(RmError.OK),
    want(RmError.ARGUMENT_INVALID),
    want(RmError.ARGUMENT_INVALID),
    want(RmError.ARGUMENT_INVALID),
    want(RmError.ARGUMENT_INVALID),
    want(RmError.MSG_INVALID),
    want(RmError.VMID_INVALID),
    want(RmError.DENIED),
  ]);
  assert.deepEqual(boot, [
    { regSet: 1, regIndex: 0, value: 0x8000_1000n },
    { regSet: 0, regIndex: 0, value: 0x1234n },
    { regSet: 2, regIndex: 1, value: 0x8020_0000n },
  ]);
  assert.deepEqual(afterReset, [[], null, null]);
  assert.equal(rm.table.vms.get(0x80)?.state, VmState.RESET);
});

test('RM §2.6: what VM_SET_DEMAND_PAGING and VM_SET_ADDRESS_LAYOUT recorded is readable by the lifecycle', () => {
  let got2: unknown = null;
  runSystem(function* (e, rm) {
    const { vmid } = yield* makeVm(e, { slot: 0, init: false });
    yield* e.call(MsgId.VM_SET_DEMAND_PAGING, bytes(u16(vmid), 0, 0, u32(1), u64(GUEST_BASE), u64(0x10_0000n)));
    yield* e.call(MsgId.VM_SET_ADDRESS_LAYOUT, bytes(u16(vmid), 0, 0, u32(0), u64(GUEST_BASE), u64(GUEST_SIZE)));
    const m = rm.misc;
    got2 = [m.demandPaging(vmid), m.addressLayout(vmid, 0), m.addressLayout(vmid, 1)];
  });
  assert.deepEqual(got2, [[{ gpa: GUEST_BASE, size: 0x10_0000n }], { base: GUEST_BASE, size: GUEST_SIZE }, null]);
});

// ---------------------------------------------------------------- IPA_RESERVE (§2.9, §1.8)

test('RM §2.9/§1.8: IPA_RESERVE from the primary: empty lists succeed (fixed: no data; alloc: n = 0); its IPA space takes no reservations (DENIED); length, alloc_type, constraints (checked before the list), 30-entry cap', () => {
  const r: Got[] = [];
  runSystem(function* (e) {
    r.push(got(yield* e.call(MsgId.IPA_RESERVE, ipaReq(0, 0, 0, []))));
    r.push(got(yield* e.call(MsgId.IPA_RESERVE, ipaReq(1, 0, 0, []))));
    r.push(got(yield* e.call(MsgId.IPA_RESERVE, ipaReq(0, 0x40, 0, []))));
    r.push(got(yield* e.call(MsgId.IPA_RESERVE, ipaReq(0, 0x4 | 0x2, 0, []))));
    // Above the primary's RAM: free, but the primary's IPA space takes no reservations.
    r.push(got(yield* e.call(MsgId.IPA_RESERVE, ipaReq(0, 0, 0, [[0x2_0000_0000n, 0x1000n]]))));
    r.push(got(yield* e.call(MsgId.IPA_RESERVE, ipaReq(0, 0, 0, []).subarray(0, 15))));
    r.push(got(yield* e.call(MsgId.IPA_RESERVE, ipaReq(2, 0, 0, []))));
    r.push(got(yield* e.call(MsgId.IPA_RESERVE, ipaReq(0, 0x8, 0, []))));
    r.push(got(yield* e.call(MsgId.IPA_RESERVE, ipaReq(0, 0x1, 0, []))));
    r.push(got(yield* e.call(MsgId.IPA_RESERVE, ipaReq(0, 0x4, 1, []))));
    // Constraints before the list: a list running past the end is not looked at yet.
    r.push(got(yield* e.call(MsgId.IPA_RESERVE, bytes(0, 0, 0, 0, u32(0x8), u32(0), u16(1), 0, 0))));
    r.push(got(yield* e.call(MsgId.IPA_RESERVE, bytes(0, 0, 0, 0, u32(0), u32(0), u16(1), 0, 0))));
    const many = Array.from({ length: 31 }, (_, i) => [0x1_0000_0000n + BigInt(i) * 0x1000n, 0x1000n]);
    r.push(got(yield* e.call(MsgId.IPA_RESERVE, ipaReq(0, 0, 0, many))));
    r.push(got(yield* e.call(MsgId.IPA_RESERVE, bytes([...ipaReq(0, 0, 0, [])], 0, 0, 0, 0))));
  });
  assert.deepEqual(r, [
    want(RmError.OK),
    want(RmError.OK, '00 00 00 00'),
    want(RmError.OK),
    want(RmError.OK),
    want(RmError.DENIED),
    want(RmError.MSG_INVALID),
    want(RmError.MSG_INVALID),
    want(RmError.ARGUMENT_INVALID),
    want(RmError.ARGUMENT_INVALID),
    want(RmError.ARGUMENT_INVALID),
    want(RmError.ARGUMENT_INVALID),
    want(RmError.MSG_INVALID),
    want(RmError.NORESOURCE),
    want(RmError.MSG_INVALID),
  ]);
});

// ------------------------------------------------------------ MEM_QCOM_LOOKUP_SGL (§2.8)

test('RM §2.8: MEM_QCOM_LOOKUP_SGL finds the caller’s complete, unaccepted parcel with the same mem_type, ACL (in order), SGL (its region list) and attributes → {u32 handle}; anything else → LOOKUP_FAILED; under 16 bytes → MSG_INVALID', () => {
  const r: Got[] = [];
  runSystem(function* (e) {
    const vmid = must(e, 'allocate', yield* e.c.vmAllocate(0));
    const base = slotPa(0);
    const lend = (flags: number, acl: { vmid: number; rights: number }[], sgl: { ipa: bigint; size: bigint }[]) =>
      e.c.memLend({ memType: 0, flags, label: 7, acl, sgl, attrs: [] });
    const a = must(e, 'lend a', yield* lend(0, [{ vmid, rights: 7 }], [{ ipa: base, size: 0x2000n }]));
    const b = must(e, 'lend b', yield* lend(0, [{ vmid, rights: 5 }], [{ ipa: base + 0x2000n, size: 0x1000n }]));
    const s = must(
      e,
      'share',
      yield* e.c.memShare({
        memType: 0,
        flags: 0,
        label: 8,
        acl: [
          { vmid: 3, rights: 7 },
          { vmid, rights: 6 },
        ],
        sgl: [{ ipa: base + 0x4000n, size: 0x1000n }],
        attrs: [{ attr: 0, vmid }],
      }),
    );
    const app = must(
      e,
      'lend with append',
      yield* lend(2, [{ vmid, rights: 7 }], [{ ipa: base + 0x8000n, size: 0x1000n }]),
    );
    assert.deepEqual([a, b, s, app], [0, 1, 2, 3]);
    const look = function* (req: Uint8Array) {
      r.push(got(yield* e.call(MsgId.MEM_QCOM_LOOKUP_SGL, req)));
    };
    yield* look(lookupSgl(0, [[vmid, 7]], [[base, 0x2000n]]));
    yield* look(lookupSgl(0, [[vmid, 5]], [[base + 0x2000n, 0x1000n]]));
    yield* look(lookupSgl(0, [[vmid, 5]], [[base, 0x2000n]]));
    yield* look(lookupSgl(0, [[vmid, 7]], [[base, 0x1000n]]));
    yield* look(lookupSgl(1, [[vmid, 7]], [[base, 0x2000n]]));
    yield* look(lookupSgl(0, [[vmid, 7]], [[base, 0x2000n]], [[0, vmid]]));
    yield* look(
      lookupSgl(
        0,
        [
          [3, 7],
          [vmid, 6],
        ],
        [[base + 0x4000n, 0x1000n]],
        [[0, vmid]],
      ),
    );
    yield* look(
      lookupSgl(
        0,
        [
          [vmid, 6],
          [3, 7],
        ],
        [[base + 0x4000n, 0x1000n]],
        [[0, vmid]],
      ),
    );
    // Still being built (APPEND): not found until MEM_APPEND(DONE).
    yield* look(lookupSgl(0, [[vmid, 7]], [[base + 0x8000n, 0x1000n]]));
    must(e, 'append', yield* e.c.memAppend({ handle: app, flags: 1, sgl: [{ ipa: base + 0x9000n, size: 0x1000n }] }));
    yield* look(
      lookupSgl(
        0,
        [[vmid, 7]],
        [
          [base + 0x8000n, 0x1000n],
          [base + 0x9000n, 0x1000n],
        ],
      ),
    );
    yield* look(lookupSgl(0, [[vmid, 7]], [[base, 0x2000n]]).subarray(0, 15));
  });
  assert.deepEqual(r, [
    want(RmError.OK, '00 00 00 00'),
    want(RmError.OK, '01 00 00 00'),
    want(RmError.LOOKUP_FAILED),
    want(RmError.LOOKUP_FAILED),
    want(RmError.LOOKUP_FAILED),
    want(RmError.LOOKUP_FAILED),
    want(RmError.OK, '02 00 00 00'),
    want(RmError.LOOKUP_FAILED),
    want(RmError.LOOKUP_FAILED),
    want(RmError.OK, '03 00 00 00'),
    want(RmError.MSG_INVALID),
  ]);
});
