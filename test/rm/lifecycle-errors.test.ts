// The VM lifecycle's error paths and exits (RM spec §2.2, §2.3, §2.4, §3, §9.2), through the real
// link: a native VMM on the primary VM drives the RM with RmClient, the guests are real AArch64
// code (emulated) or, where the guest must talk to the RM itself, a native program on the
// secondary's proxy-scheduled vCPU that the VMM runs with vcpu_run. Every packet the VMM receives
// is logged from the message queue itself (below the client library), so the tests check the
// wire: request and notification IDs, error codes, state numbers and payload bytes are typed in
// from the spec, not taken from the code under test.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Hypervisor } from '../../src/hyp/hypervisor.js';
import { rmCall, type CallOutcome } from '../../src/vmm/rm-client/transport.js';
import type { RmClient } from '../../src/vmm/rm-client/client.js';
import type { Pause } from '../../src/vmm/rm-client/program.js';
import type { RmVcpu, HypCallResult } from '../../src/rm/port.js';
import type { AclEntry, AttrEntry } from '../../src/rm/msgs/index.js';
import { guestDt as vmConfigDt, must, primarySystem, rmLink, type GuestDtOptions } from './harness.js';

// ------------------------------------------------------------------ numbers from the spec

/** Message IDs (§2.1). */
const MSG = {
  VM_ALLOCATE: 0x5600_0001,
  VM_DEALLOCATE: 0x5600_0002,
  VM_START: 0x5600_0004,
  VM_STOP: 0x5600_0005,
  VM_RESET: 0x5600_0006,
  VM_CONFIG_IMAGE: 0x5600_0009,
  VM_INIT: 0x5600_000b,
  VM_GET_STATE: 0x5600_0017,
  VM_GET_HYP_RESOURCES: 0x5600_0020,
  VM_GET_VMID: 0x5600_0024,
  VM_EXIT: 0x5600_0085,
  VM_SET_CRASH_MSG: 0x5600_0086,
  VM_SET_BOOT_CONTEXT: 0x5600_0031,
  NOTIFY_VM_EXITED: 0x5610_0001,
  NOTIFY_VM_SHUTDOWN: 0x5610_0002,
  NOTIFY_VM_STATUS: 0x5610_0008,
  MEM_RELEASED: 0x5110_0012,
} as const;
/** RM error codes (§1.6). */
const E = {
  OK: 0,
  NORESOURCE: 0x2,
  DENIED: 0x3,
  MSG_INVALID: 0x4,
  ARGUMENT_INVALID: 0x6,
  MEM_INVALID: 0xa,
  VMID_INVALID: 0xd,
  VM_STATE: 0x14,
} as const;
/** VM states (§3). */
const S = {
  INIT: 1,
  READY: 2,
  RUNNING: 3,
  LOAD: 5,
  AUTH: 6,
  INIT_FAILED: 8,
  EXITED: 9,
  RESETTING: 10,
  RESET: 11,
} as const;
/** Packet header message types (§1.3). */
const REPLY = 2;
const NOTIFICATION = 3;
/** vcpu_run states (hypervisor-abi.md §8.4). */
const RUN = { READY: 0, EXPECTS_WAKEUP: 1, POWERED_OFF: 2, FAULT: 6, PSCI_SYSTEM_RESET: 0x100 } as const;
const RWX = 7;

// ------------------------------------------------------------------ guest memory and images

/** Where the guests' RAM is in their own IPA space (crosvm's base, §9.2). */
const GUEST_BASE = 0x8000_0000n;
const PARCEL_SIZE = 0x20_0000n;
const DT_OFFSET = 0x1_0000n;
const DT_SIZE = 0x4000n;
/** Parcel k comes from this range of the primary's RAM (IPA = PA there). */
const slotPa = (k: number): bigint => 0x4800_0000n + BigInt(k) * PARCEL_SIZE;
/** A guest's own RM link buffers, in its RAM (the image parcel, accepted at GUEST_BASE). */
const GUEST_SCRATCH = { rx: GUEST_BASE + 0x8000n, tx: GUEST_BASE + 0x8100n };

// A64 guest programs (encodings checked against llvm-mc).
const HVC_0 = 0xd4000002;
const B_SELF = 0x14000000;
/** b . — runs until stopped. */
const G_SPIN = [B_SELF];
/** x0 = 0x84000008; hvc #0 — PSCI SYSTEM_OFF. */
const G_SYSTEM_OFF = [0xd2b08000, 0xf2800100, HVC_0, B_SELF];
/** x0 = 0x84000009; hvc #0 — PSCI SYSTEM_RESET. */
const G_SYSTEM_RESET = [0xd2b08000, 0xf2800120, HVC_0, B_SELF];
/** x1 = 0x8000_0001 (a vendor reset type), x2 = 0xdead_beef_1234_5678 (the cookie). */
const RESET2_ARGS = [0xd2b00001, 0xf2800021, 0xd28acf02, 0xf2a24682, 0xf2d7dde2, 0xf2fbd5a2];
/** x0 = 0x84000012 — PSCI SYSTEM_RESET2, SMC32: the cookie's top half is not passed. */
const G_RESET2_32 = [0xd2b08000, 0xf2800240, ...RESET2_ARGS, HVC_0, B_SELF];
/** x0 = 0xC4000012 — PSCI SYSTEM_RESET2, SMC64. */
const G_RESET2_64 = [0xd2b88000, 0xf2800240, ...RESET2_ARGS, HVC_0, B_SELF];
/**
 * VBAR_EL1 = the image base, then `udf #0`: the synchronous exception vector (base + 0x200) holds
 * zeros, which are `udf #0` too, so the vCPU takes exception after exception.
 */
const G_EXCEPTION_LOOP = [0xd2b00001, 0xd518c001, 0xd5033fdf, 0x00000000];

/**
 * What the tests vary in the VM-config DT: a /hypervisor node already there (§4.1 precondition),
 * /gunyah-vm-config/memory base-address and vm-attrs (§3, §4.3).
 */
type DtOptions = Pick<GuestDtOptions, 'hypervisor' | 'baseAddress' | 'attrs'>;

/** The VM-config DT a VMM supplies (§4.3, §9.2): memory, a CPU, PSCI, the rm-rpc vdevice. */
const guestDt = (o: DtOptions = {}): Uint8Array => vmConfigDt({ ...o, imageName: 'errors' });

const words = (w: readonly number[]): Uint8Array => {
  const out = new Uint8Array(4 * w.length);
  const dv = new DataView(out.buffer);
  w.forEach((x, i) => dv.setUint32(4 * i, x >>> 0, true));
  return out;
};

// ------------------------------------------------------------------ requests, as §2.2 lays them out

/** The common `{u16 vmid; u16 res}` request. */
const vmidReq = (vmid: number): Uint8Array => new Uint8Array([vmid & 0xff, vmid >> 8, 0, 0]);

/** VM_CONFIG_IMAGE: 40 bytes. */
function configImageReq(
  vmid: number,
  o: { auth?: number; handle: number; imageOffset?: bigint; imageSize?: bigint; dtOffset?: bigint; dtSize?: bigint },
): Uint8Array {
  const b = new Uint8Array(40);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, vmid, true);
  dv.setUint16(2, o.auth ?? 0, true);
  dv.setUint32(4, o.handle >>> 0, true);
  dv.setBigUint64(8, o.imageOffset ?? 0n, true);
  dv.setBigUint64(16, o.imageSize ?? 0x1000n, true);
  dv.setBigUint64(24, o.dtOffset ?? DT_OFFSET, true);
  dv.setBigUint64(32, o.dtSize ?? DT_SIZE, true);
  return b;
}

/** VM_CONFIG_IMAGE through the client: the image at 0 (0x1000 bytes), the DT at DT_OFFSET (`dtSize` bytes). */
const configImage = (m: Vmm, vmid: number, handle: number, dtSize = DT_SIZE) =>
  m.c.vmConfigImage({
    vmid,
    authType: 0,
    memparcel: handle,
    imageOffset: 0n,
    imageSize: 0x1000n,
    dtOffset: DT_OFFSET,
    dtSize,
  });

/** VM_STOP: `{u16 vmid; u8 flags; u8 res; u32 stop_reason}`. */
function stopReq(vmid: number, flags: number, reason: number): Uint8Array {
  const b = new Uint8Array(8);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, vmid, true);
  b[2] = flags;
  dv.setUint32(4, reason, true);
  return b;
}
const FORCE = 1;

/** VM_EXIT: `{u16 exit_flags; u8 exit_code; u8 res}`. */
const exitReq = (flags: number, code: number): Uint8Array => new Uint8Array([flags & 0xff, flags >> 8, code, 0]);

// ------------------------------------------------------------------ the harness

/** One packet the VMM received, read from its RX queue. */
interface Packet {
  type: number;
  msgId: number;
  payload: Uint8Array;
}

const u16 = (b: Uint8Array, at: number): number => b[at]! | (b[at + 1]! << 8);
const u32 = (b: Uint8Array, at: number): number => new DataView(b.buffer, b.byteOffset).getUint32(at, true);

/**
 * `v` with every successful msgqueue_receive on `rxCap` logged as a packet (header §1.3). The
 * client library reads the queue through it, so the log is the wire in arrival order.
 */
function tap(v: RmVcpu, rxCap: bigint, wire: Packet[]): RmVcpu {
  return {
    call(name: string, ...args: bigint[]): HypCallResult {
      const r = v.call(name, ...args);
      if (name === 'msgqueue_receive' && args[0] === rxCap && r.e === 0) {
        const p = v.memory!.read(args[1]!, Number(r.x[1]!));
        if (typeof p !== 'number' && p.length >= 8) {
          // Every message in these tests fits one packet; a fragmented one would be a finding.
          assert.equal(p[1]! >> 2, 0, 'a single-packet message');
          wire.push({ type: p[1]! & 3, msgId: u32(p, 4), payload: p.slice(8) });
        }
      }
      return r;
    },
    get irq() {
      return v.irq;
    },
    get memory() {
      return v.memory;
    },
    get bootX0() {
      return v.bootX0;
    },
  };
}

/** The hypervisor objects a VM is built from (the leak check). */
const OBJECT_TYPES = ['thread', 'msgqueue', 'cspace', 'addrspace', 'vic', 'vpm_group'] as const;

/** What the VMM program works with. */
interface Vmm {
  readonly v: RmVcpu;
  readonly c: RmClient;
  readonly hv: Hypervisor;
  /** Every packet received on the primary's RM link, in order. */
  readonly wire: Packet[];
  /** Record the step being taken (named in the failure message if the VMM gets stuck). */
  step(name: string): void;
}

type VmmBody = (m: Vmm) => Generator<Pause, void, void>;
type GuestBody = (v: RmVcpu) => Generator<Pause, void, void>;

/**
 * A fresh system: hypervisor, RM, and `body` as the primary VM's VMM. Each secondary vCPU powered
 * on takes the next of `guests` as its native program ('emulate' or none left: real code).
 */
function runSystem(guests: (GuestBody | 'emulate')[], body: VmmBody, rmAbort?: RegExp): void {
  let at = 'start';
  let finished = false;
  const { sys, rm } = primarySystem(
    function* (raw: RmVcpu, { hv }) {
      const wire: Packet[] = [];
      const v = tap(raw, 1n, wire);
      const { c } = rmLink(raw, { via: v });
      yield* body({ v, c, hv, wire, step: (s) => (at = s) });
      finished = true;
    },
    () => guests.shift() ?? 'emulate',
  );
  assert.equal(sys.run(4_000_000_000), 'idle');
  if (rmAbort) {
    // The RM stopped on purpose: the VMM is left waiting for it.
    assert.match(rm.failure ?? '(the RM did not stop)', rmAbort);
    return;
  }
  assert.equal(rm.failure, null);
  assert.ok(finished, `the VMM did not finish: it was stuck at "${at}"`);
}

/** Live hypervisor objects by type. */
function liveCounts(hv: Hypervisor): Record<string, number> {
  return Object.fromEntries(OBJECT_TYPES.map((t) => [t, hv.liveOf(t).length]));
}

/** The error word of a raw call (a link failure is a failed assertion). */
function errOf(o: CallOutcome): number {
  if (!o.ok) assert.fail(`no reply: ${o.reason}`);
  return o.error;
}

/** A raw call: `msgId` with `payload` exactly as given. */
function call(m: Vmm, msgId: number, payload: Uint8Array = new Uint8Array(0)) {
  return rmCall(m.v.irq, m.c.transport, msgId, payload);
}

function* stateOf(m: Vmm, vmid: number): Generator<'wait', number, void> {
  const o = yield* call(m, MSG.VM_GET_STATE, vmidReq(vmid));
  if (!o.ok || o.error !== E.OK) return -1;
  return o.data[0]!;
}

/** vm_status of every NOTIFY_VM_STATUS about `vmid` so far (§2.4: vm_status at byte 4). */
const statuses = (m: Vmm, vmid: number, from = 0): number[] =>
  m.wire
    .slice(from)
    .filter((p) => p.type === NOTIFICATION && p.msgId === MSG.NOTIFY_VM_STATUS && u16(p.payload, 0) === vmid)
    .map((p) => p.payload[4]!);

/** The payloads of every NOTIFY_VM_EXITED about `vmid` so far. */
const exitedOf = (m: Vmm, vmid: number, from = 0): Uint8Array[] =>
  m.wire
    .slice(from)
    .filter((p) => p.type === NOTIFICATION && p.msgId === MSG.NOTIFY_VM_EXITED && u16(p.payload, 0) === vmid)
    .map((p) => p.payload);

const isStatus = (vmid: number, s: number) => (p: Packet) =>
  p.type === NOTIFICATION && p.msgId === MSG.NOTIFY_VM_STATUS && u16(p.payload, 0) === vmid && p.payload[4] === s;
const isReply = (msgId: number) => (p: Packet) => p.type === REPLY && p.msgId === msgId;

/** Wait (sleeping until notifications arrive) until `ready()` holds. */
function* waitUntil(m: Vmm, what: string, ready: () => boolean): Generator<'wait', void, void> {
  m.step(`waiting for ${what}`);
  while (!ready()) yield* m.c.nextNotifications();
}

/**
 * Load `code` and `dt` into parcel slot `k` of the primary's RAM, then lend it (or share it) with
 * `acl` (default: `vmid` with RWX) and `attrs`. Returns the handle.
 */
function* lendImage(
  m: Vmm,
  k: number,
  vmid: number,
  o: {
    code?: readonly number[];
    dt?: Uint8Array;
    share?: boolean;
    acl?: AclEntry[];
    attrs?: AttrEntry[];
  } = {},
): Generator<'wait', number, void> {
  const pa = slotPa(k);
  const mem = m.v.memory!;
  // The image area is rewritten whole: zeros after the code (the exception-loop guest's vector).
  const image = new Uint8Array(0x1000);
  image.set(words(o.code ?? G_SPIN));
  assert.equal(mem.write(pa, image), 0);
  assert.equal(mem.write(pa + DT_OFFSET, o.dt ?? guestDt()), 0);
  const req = {
    memType: 0,
    flags: 0,
    label: 0,
    acl: o.acl ?? [{ vmid, rights: RWX }],
    sgl: [{ ipa: pa, size: PARCEL_SIZE }],
    attrs: o.attrs ?? [],
  };
  return must(`lend slot ${k}`, o.share ? yield* m.c.memShare(req) : yield* m.c.memLend(req));
}

/** The started VM's vCPU: the owner's cap and its run-wakeup VIRQ (GET_HYP_RESOURCES, §2.3). */
interface Started {
  vmid: number;
  handle: number;
  cap: bigint;
}

/** ALLOCATE, lend slot `k`, CONFIG_IMAGE, INIT, GET_HYP_RESOURCES, START. */
function* startVm(m: Vmm, k: number, code: readonly number[], dt?: DtOptions): Generator<'wait', Started, void> {
  m.step(`start a VM with slot ${k}`);
  const vmid = must('allocate', yield* m.c.vmAllocate(0));
  const handle = yield* lendImage(m, k, vmid, { code, dt: dt ? guestDt(dt) : undefined });
  must('config image', yield* configImage(m, vmid, handle));
  must('init', yield* m.c.vmInit(vmid));
  const res = must('resources', yield* m.c.vmGetHypResources(vmid));
  assert.equal(res.length, 1, 'one vCPU');
  m.v.irq!.enable(res[0]!.virq, true);
  must('start', yield* m.c.vmStart(vmid));
  return { vmid, handle, cap: res[0]!.capId };
}

/**
 * Run the vCPU `cap` with vcpu_run until it stops (powered off, faulted, asks for a system reset)
 * or `enough()` holds; sleeps while it waits for an interrupt. Returns the last run state.
 */
function* runGuest(m: Vmm, cap: bigint, enough: () => boolean = () => false): Generator<Pause, number, void> {
  m.step('running the guest');
  for (let i = 0; i < 5000; i++) {
    const r = m.v.call('vcpu_run', cap, 0n, 0n, 0n, 0n);
    assert.equal(r.e, 0, 'vcpu_run');
    const state = Number(r.x[1]!);
    if (state === RUN.POWERED_OFF || state === RUN.FAULT || state === RUN.PSCI_SYSTEM_RESET || enough()) return state;
    if (state === RUN.EXPECTS_WAKEUP) {
      yield 'wait';
      // Woken by the vCPU's run-wakeup VIRQ or the RM link: take them, and read the link.
      const irq = m.v.irq!;
      const taken: number[] = [];
      for (let id = irq.ack(); id !== 1023; id = irq.ack()) taken.push(id);
      m.c.takeNotifications();
      for (const id of taken) irq.eoi(id);
    } else {
      yield 'yield';
    }
  }
  return assert.fail('the guest never stopped');
}

/** RESET (waiting for VM_STATUS RESET), RECLAIM its parcels, DEALLOCATE. */
function* teardown(m: Vmm, vmid: number, handles: readonly number[]): Generator<'wait', void, void> {
  m.step(`tear down VM ${vmid}`);
  const s = yield* stateOf(m, vmid);
  if (s !== S.RESET) {
    assert.equal(errOf(yield* call(m, MSG.VM_RESET, vmidReq(vmid))), E.OK, `reset ${vmid}`);
    yield* waitUntil(m, `VM ${vmid} RESET`, () => statuses(m, vmid).at(-1) === S.RESET);
  }
  for (const h of handles) must(`reclaim ${h}`, yield* m.c.memReclaim(h));
  assert.equal(errOf(yield* call(m, MSG.VM_DEALLOCATE, vmidReq(vmid))), E.OK, `deallocate ${vmid}`);
}

// ================================================================== VM_CONFIG_IMAGE

test('RM §2.2: VM_CONFIG_IMAGE checks length, target, owner, state, parcel, ranges, auth type in that order; failures after the state check leave INIT_FAILED with a VM_STATUS, earlier ones change nothing', () => {
  runSystem([], function* (m) {
    const got: [string, number][] = [];
    const check = function* (what: string, payload: Uint8Array) {
      got.push([what, errOf(yield* call(m, MSG.VM_CONFIG_IMAGE, payload))]);
    };
    const vms: number[] = [];
    for (let i = 0; i < 8; i++) vms.push(must('allocate', yield* m.c.vmAllocate(0)));
    const [a, b, c, d, e, f, g, h] = vms as [number, number, number, number, number, number, number, number];
    const handles: number[] = [];
    for (let i = 0; i < 8; i++) handles.push(yield* lendImage(m, i, vms[i]!));
    // b is offered c's parcel, which names only c.
    const forC = handles[2]!;
    const good = (vmid: number, handle: number) => configImageReq(vmid, { handle });

    m.step('length, target, owner');
    yield* check('39 bytes', good(a, handles[0]!).subarray(0, 39));
    yield* check('41 bytes naming an unknown VM', new Uint8Array([...configImageReq(0x99, { handle: 0 }), 0]));
    yield* check('unknown target', good(0x99, handles[0]!));
    yield* check('the primary (owned by the RM)', good(3, handles[0]!));
    got.push(['a is still LOAD', yield* stateOf(m, a)]);

    m.step('parcel');
    // A missing parcel with bad ranges and a bad auth type: the parcel is checked first.
    yield* check(
      'a: no such parcel (ranges and auth bad too)',
      configImageReq(a, { handle: 0x7777, auth: 9, imageOffset: 0x40_0000n }),
    );
    got.push(['a is INIT_FAILED', yield* stateOf(m, a)]);
    yield* check('a: again, in INIT_FAILED', good(a, handles[0]!));
    yield* check("b: c's parcel, which does not name b", good(b, forC));

    m.step('ranges');
    yield* check(
      'c: image past the parcel end',
      configImageReq(c, { handle: forC, imageOffset: 0x1f_f000n, imageSize: 0x2000n }),
    );
    yield* check(
      'd: DT past the parcel end',
      configImageReq(d, { handle: handles[3]!, dtOffset: 0x1f_e000n, dtSize: 0x4000n }),
    );
    yield* check(
      'e: image offset + size wraps 64 bits',
      configImageReq(e, { handle: handles[4]!, imageOffset: 0xffff_ffff_ffff_f000n, imageSize: 0x2000n }),
    );

    m.step('auth type');
    yield* check('f: auth type 3', configImageReq(f, { handle: handles[5]!, auth: 3 }));

    m.step('success');
    // Ranges that end exactly at the parcel's end are inside it.
    yield* check(
      'g: both ranges end at the parcel end',
      configImageReq(g, { handle: handles[6]!, imageOffset: 0x1f_b000n, dtOffset: 0x1f_c000n }),
    );
    yield* check('g: again, in INIT, naming no parcel', configImageReq(g, { handle: 0x7777 }));
    yield* check('h: auth PLATFORM', configImageReq(h, { handle: handles[7]!, auth: 1 }));
    for (const vmid of vms) got.push([`state of ${vmid}`, yield* stateOf(m, vmid)]);

    assert.deepEqual(got, [
      ['39 bytes', E.MSG_INVALID],
      ['41 bytes naming an unknown VM', E.MSG_INVALID],
      ['unknown target', E.VMID_INVALID],
      ['the primary (owned by the RM)', E.DENIED],
      ['a is still LOAD', S.LOAD],
      ['a: no such parcel (ranges and auth bad too)', E.MEM_INVALID],
      ['a is INIT_FAILED', S.INIT_FAILED],
      ['a: again, in INIT_FAILED', E.VM_STATE],
      ["b: c's parcel, which does not name b", E.MEM_INVALID],
      ['c: image past the parcel end', E.ARGUMENT_INVALID],
      ['d: DT past the parcel end', E.ARGUMENT_INVALID],
      ['e: image offset + size wraps 64 bits', E.ARGUMENT_INVALID],
      ['f: auth type 3', E.ARGUMENT_INVALID],
      ['g: both ranges end at the parcel end', E.OK],
      ['g: again, in INIT, naming no parcel', E.VM_STATE],
      ['h: auth PLATFORM', E.OK],
      [`state of ${a}`, S.INIT_FAILED],
      [`state of ${b}`, S.INIT_FAILED],
      [`state of ${c}`, S.INIT_FAILED],
      [`state of ${d}`, S.INIT_FAILED],
      [`state of ${e}`, S.INIT_FAILED],
      [`state of ${f}`, S.INIT_FAILED],
      [`state of ${g}`, S.INIT],
      [`state of ${h}`, S.AUTH],
    ]);
    // One VM_STATUS per state change, "either way" (§2.2); none for the refused requests.
    m.c.takeNotifications();
    assert.deepEqual(
      vms.map((vmid) => [vmid, statuses(m, vmid)]),
      [
        [a, [S.INIT_FAILED]],
        [b, [S.INIT_FAILED]],
        [c, [S.INIT_FAILED]],
        [d, [S.INIT_FAILED]],
        [e, [S.INIT_FAILED]],
        [f, [S.INIT_FAILED]],
        [g, [S.INIT]],
        [h, [S.AUTH]],
      ],
    );
    assert.equal(statuses(m, 3).length, 0, 'nothing about the primary');
    assert.equal(statuses(m, 0x99).length, 0, 'nothing about an unknown VM');
  });
});

// ================================================================== VM_INIT, VM_GET_HYP_RESOURCES

test('RM §2.2/§2.3: VM_INIT refuses non-owners and wrong states, fails a DT that is not a DT (MEM_INVALID) and a bad vm-config (ARGUMENT_INVALID) into INIT_FAILED; GET_HYP_RESOURCES is ARGUMENT_INVALID, NORESOURCE, empty, then one vCPU', () => {
  runSystem([], function* (m) {
    const before = liveCounts(m.hv);
    const got: [string, number | string][] = [];
    const raw = function* (what: string, msgId: number, payload: Uint8Array) {
      const o = yield* call(m, msgId, payload);
      got.push([what, errOf(o)]);
      return o.ok ? o.data : new Uint8Array(0);
    };
    const a = must('allocate', yield* m.c.vmAllocate(0));
    const b = must('allocate', yield* m.c.vmAllocate(0));
    const c = must('allocate', yield* m.c.vmAllocate(0));

    m.step('GET_HYP_RESOURCES before configuration');
    yield* raw('resources of an unknown VM', MSG.VM_GET_HYP_RESOURCES, vmidReq(0x99));
    yield* raw('resources in LOAD', MSG.VM_GET_HYP_RESOURCES, vmidReq(a));
    yield* raw('INIT in LOAD', MSG.VM_INIT, vmidReq(a));
    yield* raw('INIT of the primary', MSG.VM_INIT, vmidReq(3));
    got.push(['a still LOAD', yield* stateOf(m, a)]);

    m.step('a: configure, then resources and INIT');
    const ha = yield* lendImage(m, 0, a);
    yield* raw('a: config image', MSG.VM_CONFIG_IMAGE, configImageReq(a, { handle: ha }));
    const empty = yield* raw('resources between CONFIG_IMAGE and INIT', MSG.VM_GET_HYP_RESOURCES, vmidReq(a));
    got.push(['  its data', [...empty].join(',')]);
    yield* raw('a: INIT', MSG.VM_INIT, vmidReq(a));
    yield* raw('a: INIT again, in READY', MSG.VM_INIT, vmidReq(a));
    const one = yield* raw('resources after INIT', MSG.VM_GET_HYP_RESOURCES, vmidReq(a));
    // {u32 n = 1} and one 44-byte entry: type 4 (VIRTUAL_CPU), partner 0, handle 0, label 0, the
    // owner's cap, virq handle 0, virq 962 (free-irq-start + 2, §9.2), base 0, size 0.
    assert.equal(one.length, 4 + 44, 'reply data is 4 + 44·n bytes');
    const cap = new DataView(one.buffer, one.byteOffset).getBigUint64(4 + 12, true);
    const expected = new Uint8Array(48);
    expected.set([1, 0, 0, 0, 4], 0);
    new DataView(expected.buffer).setBigUint64(4 + 12, cap, true);
    expected.set([0xc2, 0x03, 0, 0], 4 + 24);
    assert.deepEqual([...one], [...expected]);
    // The cap is the owner's: vcpu_run accepts it (the vCPU is not powered on yet).
    const r = m.v.call('vcpu_run', cap, 0n, 0n, 0n, 0n);
    assert.deepEqual([r.e, Number(r.x[1]!)], [0, RUN.POWERED_OFF], "the entry's cap runs the VM's vCPU");

    m.step('b: a DT that is not a DT');
    const hb = yield* lendImage(m, 1, b, { dt: new Uint8Array(64).fill(0xee) });
    yield* raw('b: config image', MSG.VM_CONFIG_IMAGE, configImageReq(b, { handle: hb }));
    yield* raw('b: INIT with garbage where the DT is', MSG.VM_INIT, vmidReq(b));
    got.push(['b state', yield* stateOf(m, b)]);

    m.step('c: a bad vm-config');
    const hc = yield* lendImage(m, 2, c, { dt: guestDt({ baseAddress: 0x8000_0800n }) });
    yield* raw('c: config image', MSG.VM_CONFIG_IMAGE, configImageReq(c, { handle: hc }));
    yield* raw('c: INIT with base-address not 4 KiB aligned', MSG.VM_INIT, vmidReq(c));
    got.push(['c state', yield* stateOf(m, c)]);
    got.push(['vCPUs built', m.hv.liveOf('thread').length - before.thread!]);

    assert.deepEqual(got, [
      ['resources of an unknown VM', E.ARGUMENT_INVALID],
      ['resources in LOAD', E.NORESOURCE],
      ['INIT in LOAD', E.VM_STATE],
      ['INIT of the primary', E.DENIED],
      ['a still LOAD', S.LOAD],
      ['a: config image', E.OK],
      ['resources between CONFIG_IMAGE and INIT', E.OK],
      ['  its data', '0,0,0,0'],
      ['a: INIT', E.OK],
      ['a: INIT again, in READY', E.VM_STATE],
      ['resources after INIT', E.OK],
      ['b: config image', E.OK],
      ['b: INIT with garbage where the DT is', E.MEM_INVALID],
      ['b state', S.INIT_FAILED],
      ['c: config image', E.OK],
      ['c: INIT with base-address not 4 KiB aligned', E.ARGUMENT_INVALID],
      ['c state', S.INIT_FAILED],
      ['vCPUs built', 1],
    ]);
    m.c.takeNotifications();
    assert.deepEqual(statuses(m, a), [S.INIT, S.READY]);
    assert.deepEqual(statuses(m, b), [S.INIT, S.INIT_FAILED]);
    assert.deepEqual(statuses(m, c), [S.INIT, S.INIT_FAILED]);

    // READY and INIT_FAILED VMs reset (§2.2), which gives every object back.
    yield* teardown(m, a, [ha]);
    yield* teardown(m, b, [hb]);
    yield* teardown(m, c, [hc]);
  });
});

// ================================================================== VM_START

test('RM §2.2/§4.1: VM_START refuses non-owners and VMs not READY; an image parcel that was shared, has two ACL entries, rights other than RWX or attributes, and a DT with /hypervisor or without room for the overlay, each give NORESOURCE and INIT_FAILED', () => {
  runSystem([], function* (m) {
    const before = liveCounts(m.hv);
    const got: [string, number][] = [];
    const start = function* (what: string, vmid: number) {
      got.push([what, errOf(yield* call(m, MSG.VM_START, vmidReq(vmid)))]);
    };
    const configure = function* (vmid: number, handle: number, dtSize = DT_SIZE) {
      must('config', yield* configImage(m, vmid, handle, dtSize));
    };

    m.step('owner and state');
    const a = must('allocate', yield* m.c.vmAllocate(0));
    const ha = yield* lendImage(m, 0, a);
    yield* start('a in LOAD', a);
    yield* configure(a, ha);
    yield* start('a in INIT', a);
    must('init', yield* m.c.vmInit(a));
    yield* start('the primary', 3);
    got.push(['a is READY', yield* stateOf(m, a)]);

    m.step('image parcel constraints');
    const cases: {
      what: string;
      share?: boolean;
      acl?: (vmid: number) => AclEntry[];
      attrs?: (vmid: number) => AttrEntry[];
      dt?: Uint8Array;
      dtSize?: bigint;
    }[] = [
      {
        what: 'shared (owner in the ACL too)',
        share: true,
        acl: (vmid) => [
          { vmid, rights: RWX },
          { vmid: 3, rights: RWX },
        ],
      },
      {
        what: 'lent to two VMs',
        acl: (vmid) => [
          { vmid, rights: RWX },
          { vmid: 10, rights: RWX },
        ],
      },
      { what: 'lent RW, not RWX', acl: (vmid) => [{ vmid, rights: 6 }] },
      { what: 'lent with an attribute entry', attrs: (vmid) => [{ attr: 0, vmid }] },
      { what: 'a DT that has /hypervisor', dt: guestDt({ hypervisor: true }) },
      // The DT region is exactly the DT: no room for the nodes the RM adds (§2.2 "DT size").
      { what: 'a DT region with no room for the overlay', dtSize: BigInt(guestDt().length) },
    ];
    const failed: { vmid: number; handle: number }[] = [];
    for (let i = 0; i < cases.length; i++) {
      const k = cases[i]!;
      const vmid = must('allocate', yield* m.c.vmAllocate(0));
      const handle = yield* lendImage(m, 1 + i, vmid, {
        share: k.share,
        ...(k.acl ? { acl: k.acl(vmid) } : {}),
        ...(k.attrs ? { attrs: k.attrs(vmid) } : {}),
        ...(k.dt ? { dt: k.dt } : {}),
      });
      yield* configure(vmid, handle, k.dtSize ?? DT_SIZE);
      must(`init (${k.what})`, yield* m.c.vmInit(vmid));
      yield* start(k.what, vmid);
      got.push([`  state`, yield* stateOf(m, vmid)]);
      failed.push({ vmid, handle });
    }
    assert.deepEqual(got, [
      ['a in LOAD', E.VM_STATE],
      ['a in INIT', E.VM_STATE],
      ['the primary', E.DENIED],
      ['a is READY', S.READY],
      ['shared (owner in the ACL too)', E.NORESOURCE],
      ['  state', S.INIT_FAILED],
      ['lent to two VMs', E.NORESOURCE],
      ['  state', S.INIT_FAILED],
      ['lent RW, not RWX', E.NORESOURCE],
      ['  state', S.INIT_FAILED],
      ['lent with an attribute entry', E.NORESOURCE],
      ['  state', S.INIT_FAILED],
      ['a DT that has /hypervisor', E.NORESOURCE],
      ['  state', S.INIT_FAILED],
      ['a DT region with no room for the overlay', E.NORESOURCE],
      ['  state', S.INIT_FAILED],
    ]);
    m.c.takeNotifications();
    for (const { vmid } of failed) assert.deepEqual(statuses(m, vmid), [S.INIT, S.READY, S.INIT_FAILED], `VM ${vmid}`);
    assert.deepEqual(statuses(m, a), [S.INIT, S.READY]);
    assert.equal(m.hv.liveOf('thread').length - before.thread!, 1 + cases.length, 'no vCPU was lost or added by START');

    m.step('reset the failed VMs');
    const wireAt = m.wire.length;
    for (const { vmid, handle } of failed) yield* teardown(m, vmid, [handle]);
    // Only parcels START had accepted before the overlay failed come back with MEM_RELEASED (§2.2).
    const released = m.wire
      .slice(wireAt)
      .filter((p) => p.type === NOTIFICATION && p.msgId === MSG.MEM_RELEASED)
      .map((p) => u32(p.payload, 0));
    assert.deepEqual(released, [failed[4]!.handle, failed[5]!.handle]);
    yield* teardown(m, a, [ha]);
  });
});

// ================================================================== VM_STOP FORCE, VM_RESET, and a second life

test('RM §2.2/§2.4/§3: VM_STATUS RUNNING comes before the START reply; VM_STOP refuses non-owners (VMID_INVALID) and wrong states; FORCE gives EXITED, VM_STATUS, VM_EXITED type 7, then the reply; later exits are ignored; every object is given back', () => {
  runSystem([], function* (m) {
    const before = liveCounts(m.hv);
    const got: [string, number][] = [];
    const req = function* (what: string, msgId: number, payload: Uint8Array) {
      got.push([what, errOf(yield* call(m, msgId, payload))]);
    };
    const a = must('allocate', yield* m.c.vmAllocate(0));
    const ha = yield* lendImage(m, 0, a, { code: G_SPIN });
    must('config', yield* configImage(m, a, ha));
    must('init', yield* m.c.vmInit(a));
    yield* req('STOP in READY', MSG.VM_STOP, stopReq(a, FORCE, 3));
    const res = must('resources', yield* m.c.vmGetHypResources(a));
    m.v.irq!.enable(res[0]!.virq, true);

    m.step('start');
    const startAt = m.wire.length;
    yield* req('START', MSG.VM_START, vmidReq(a));
    const startWire = m.wire.slice(startAt);
    const running = startWire.findIndex(isStatus(a, S.RUNNING));
    const reply = startWire.findIndex(isReply(MSG.VM_START));
    assert.ok(
      running >= 0 && running < reply,
      `VM_STATUS RUNNING (at ${running}) before the START reply (at ${reply})`,
    );
    const spun = yield* runGuest(m, res[0]!.capId, () => true);
    assert.equal(spun, RUN.READY, 'the guest spins');

    m.step('refused stops, resets and deallocation while RUNNING');
    yield* req('STOP of the primary', MSG.VM_STOP, stopReq(3, FORCE, 3));
    yield* req('STOP of an unknown VM', MSG.VM_STOP, stopReq(0x99, FORCE, 3));
    yield* req('STOP, 7 bytes', MSG.VM_STOP, stopReq(a, FORCE, 3).subarray(0, 7));
    yield* req('RESET while RUNNING', MSG.VM_RESET, vmidReq(a));
    yield* req('DEALLOCATE while RUNNING', MSG.VM_DEALLOCATE, vmidReq(a));
    got.push(['still RUNNING', yield* stateOf(m, a)]);

    m.step('STOP FORCE');
    const stopAt = m.wire.length;
    yield* req('STOP FORCE', MSG.VM_STOP, stopReq(a, FORCE, 3));
    const stopWire = m.wire.slice(stopAt);
    const order = [
      stopWire.findIndex(isStatus(a, S.EXITED)),
      stopWire.findIndex((p) => p.type === NOTIFICATION && p.msgId === MSG.NOTIFY_VM_EXITED),
      stopWire.findIndex(isReply(MSG.VM_STOP)),
    ];
    assert.ok(
      order[0]! >= 0 && order[0]! < order[1]! && order[1]! < order[2]!,
      `VM_STATUS EXITED, VM_EXITED, reply: ${order}`,
    );
    const after = m.v.call('vcpu_run', res[0]!.capId, 0n, 0n, 0n, 0n);
    assert.equal(Number(after.x[1]!), RUN.POWERED_OFF, 'the stopped vCPU reports POWERED_OFF');
    yield* req('STOP FORCE again, in EXITED', MSG.VM_STOP, stopReq(a, FORCE, 3));
    yield* req('DEALLOCATE in EXITED', MSG.VM_DEALLOCATE, vmidReq(a));
    // Let the halt of the killed vCPU reach the RM: a second exit must not be reported.
    for (let i = 0; i < 5; i++) got.push([`state ${i}`, yield* stateOf(m, a)]);
    m.c.takeNotifications();

    assert.deepEqual(got, [
      ['STOP in READY', E.VM_STATE],
      ['START', E.OK],
      ['STOP of the primary', E.VMID_INVALID],
      ['STOP of an unknown VM', E.VMID_INVALID],
      ['STOP, 7 bytes', E.MSG_INVALID],
      ['RESET while RUNNING', E.VM_STATE],
      ['DEALLOCATE while RUNNING', E.VM_STATE],
      ['still RUNNING', S.RUNNING],
      ['STOP FORCE', E.OK],
      ['STOP FORCE again, in EXITED', E.VM_STATE],
      ['DEALLOCATE in EXITED', E.VM_STATE],
      ...[0, 1, 2, 3, 4].map((i): [string, number] => [`state ${i}`, S.EXITED]),
    ]);
    // {u16 vmid; u16 exit_type 7; u32 reason_size 4; reason: flags 0 | code NORMAL << 16}
    assert.deepEqual(
      exitedOf(m, a).map((p) => [...p]),
      [[a, 0, 7, 0, 4, 0, 0, 0, 0, 0, 0, 0]],
      'exactly one VM_EXITED, type VM_STOP_FORCED',
    );
    assert.deepEqual(statuses(m, a), [S.INIT, S.READY, S.RUNNING, S.EXITED]);
    yield* teardown(m, a, [ha]);
    assert.deepEqual(liveCounts(m.hv), before, 'objects after teardown');
  });
});

test('RM §2.2/§2.8/§3: VM_RESET refuses non-owners (VMID_INVALID) and LOAD, INIT, RUNNING, RESET; from EXITED it sends RESETTING, the reply, MEM_RELEASED, RESET in that order; the VM configures, runs and exits again from RESET; DEALLOCATE works from RESET', () => {
  runSystem([], function* (m) {
    const got: [string, number][] = [];
    const reset = function* (what: string, vmid: number) {
      got.push([what, errOf(yield* call(m, MSG.VM_RESET, vmidReq(vmid)))]);
    };
    const b = must('allocate', yield* m.c.vmAllocate(0));
    yield* reset('RESET in LOAD', b);
    const hb = yield* lendImage(m, 8, b);
    must('config b', yield* configImage(m, b, hb));
    yield* reset('RESET in INIT', b);
    yield* reset('RESET of the primary', 3);
    yield* reset('RESET of an unknown VM', 0x99);

    m.step('first life: SYSTEM_OFF');
    const first = yield* startVm(m, 0, G_SYSTEM_OFF);
    const a = first.vmid;
    yield* reset('RESET in RUNNING', a);
    assert.equal(yield* runGuest(m, first.cap), RUN.POWERED_OFF);
    yield* waitUntil(m, 'VM_EXITED', () => exitedOf(m, a).length === 1);
    const resetAt = m.wire.length;
    yield* reset('RESET in EXITED', a);
    yield* waitUntil(m, 'RESET', () => statuses(m, a).at(-1) === S.RESET);
    const w = m.wire.slice(resetAt);
    const order = [
      w.findIndex(isStatus(a, S.RESETTING)),
      w.findIndex(isReply(MSG.VM_RESET)),
      w.findIndex((p) => p.type === NOTIFICATION && p.msgId === MSG.MEM_RELEASED),
      w.findIndex(isStatus(a, S.RESET)),
    ];
    assert.ok(
      order.every((x, i) => x >= 0 && (i === 0 || x > order[i - 1]!)),
      `RESETTING, reply, MEM_RELEASED, RESET: ${order}`,
    );
    // MEM_RELEASED to the owner: {u32 handle; u16 vmid; u16 res; u32 tag} with tag 0 (§2.8, §9.2).
    const rel = w[order[2]!]!.payload;
    assert.deepEqual([...rel], [...words([first.handle]), a & 0xff, a >> 8, 0, 0, 0, 0, 0, 0]);
    yield* reset('RESET in RESET', a);
    got.push(['a is RESET', yield* stateOf(m, a)]);

    m.step('second life from RESET');
    must('reclaim', yield* m.c.memReclaim(first.handle));
    // Fresh image and DT (the first DT was patched in place), lent again, configured from RESET.
    const h2 = yield* lendImage(m, 0, a, { code: G_SYSTEM_RESET });
    must('config from RESET', yield* configImage(m, a, h2));
    must('init', yield* m.c.vmInit(a));
    const res = must('resources', yield* m.c.vmGetHypResources(a));
    m.v.irq!.enable(res[0]!.virq, true);
    must('start', yield* m.c.vmStart(a));
    assert.equal(yield* runGuest(m, res[0]!.capId), RUN.PSCI_SYSTEM_RESET);
    yield* waitUntil(m, 'second VM_EXITED', () => exitedOf(m, a).length === 2);
    must('reset', yield* m.c.vmReset(a));
    yield* waitUntil(m, 'second RESET', () => statuses(m, a).filter((s) => s === S.RESET).length === 2);
    must('reclaim', yield* m.c.memReclaim(h2));
    got.push(['DEALLOCATE from RESET', errOf(yield* call(m, MSG.VM_DEALLOCATE, vmidReq(a)))]);
    got.push(['GET_STATE after', errOf(yield* call(m, MSG.VM_GET_STATE, vmidReq(a)))]);

    assert.deepEqual(got, [
      ['RESET in LOAD', E.VM_STATE],
      ['RESET in INIT', E.VM_STATE],
      ['RESET of the primary', E.VMID_INVALID],
      ['RESET of an unknown VM', E.VMID_INVALID],
      ['RESET in RUNNING', E.VM_STATE],
      ['RESET in EXITED', E.OK],
      ['RESET in RESET', E.VM_STATE],
      ['a is RESET', S.RESET],
      ['DEALLOCATE from RESET', E.OK],
      ['GET_STATE after', E.NORESOURCE],
    ]);
    const life = [S.INIT, S.READY, S.RUNNING, S.EXITED, S.RESETTING, S.RESET];
    assert.deepEqual(statuses(m, a), [...life, ...life]);
    assert.deepEqual(
      exitedOf(m, a).map((p) => u16(p, 2)),
      [1, 2],
      'PLATFORM_OFF, then PLATFORM_RESET in the second life',
    );
    // b, left in INIT, can only be reset once READY.
    must('init b', yield* m.c.vmInit(b));
    yield* teardown(m, b, [hb]);
  });
});

// ================================================================== a guest with its own RM link

test('RM §2.2/§2.3/§2.4: a running guest is refused CONFIG_IMAGE/INIT/START (DENIED, caller checked before length) and STOP/RESET of itself (VMID_INVALID), gets no vCPU entries, has bad VM_EXITs refused; a non-FORCE STOP reaches it as NOTIFY_VM_SHUTDOWN {stop_reason}, and its VM_EXIT gives VM_EXITED type 0 with its reason word', () => {
  const guestLog: [string, number | string][] = [];
  let guestWaiting = false;
  let shutdown: { msgId: number; payload: number[] } | null = null;
  const guest: GuestBody = function* (v) {
    // Its link's scratch buffers in its own RAM (the image parcel, accepted at GUEST_BASE).
    const { irq, t } = rmLink(v, { secondary: true, scratch: GUEST_SCRATCH });
    const g = function* (what: string, msgId: number, payload: Uint8Array) {
      const o = yield* rmCall(irq, t, msgId, payload);
      guestLog.push([what, o.ok ? o.error : o.reason]);
      return o.ok ? o.data : new Uint8Array(0);
    };
    const me = yield* g('GET_VMID', MSG.VM_GET_VMID, new Uint8Array(0));
    const vmid = me.length === 4 ? u32(me, 0) : -1;
    const res = yield* g('resources of itself', MSG.VM_GET_HYP_RESOURCES, vmidReq(vmid));
    guestLog.push(['  its data', [...res].join(',')]);
    yield* g('CONFIG_IMAGE, 2 bytes', MSG.VM_CONFIG_IMAGE, new Uint8Array(2));
    yield* g('CONFIG_IMAGE of itself', MSG.VM_CONFIG_IMAGE, configImageReq(vmid, { handle: 0 }));
    yield* g('INIT of itself', MSG.VM_INIT, vmidReq(vmid));
    yield* g('START of itself', MSG.VM_START, vmidReq(vmid));
    yield* g('STOP of itself', MSG.VM_STOP, stopReq(vmid, FORCE, 0));
    yield* g('RESET of itself', MSG.VM_RESET, vmidReq(vmid));
    yield* g('EXIT code 2 (UNKNOWN_ERROR)', MSG.VM_EXIT, exitReq(0, 2));
    yield* g('EXIT code 5', MSG.VM_EXIT, exitReq(0, 5));
    yield* g('EXIT, 3 bytes', MSG.VM_EXIT, exitReq(0, 0).subarray(0, 3));
    guestWaiting = true;
    for (;;) {
      const taken: number[] = [];
      for (let id = irq.ack(); id !== 1023; id = irq.ack()) taken.push(id);
      t.pump();
      for (const id of taken) irq.eoi(id);
      const n = t.notifications.shift();
      if (n !== undefined) {
        shutdown = { msgId: n.msgId, payload: [...n.payload] };
        break;
      }
      yield 'wait';
    }
    // exit_flags RESTART (bit 0), exit_code BUS_ERROR (3). The RM stops this vCPU, so the reply is
    // never read: reaching the line after would be a finding.
    yield* g('EXIT(RESTART, BUS_ERROR)', MSG.VM_EXIT, exitReq(1, 3));
  };
  runSystem([guest], function* (m) {
    const vm = yield* startVm(m, 0, G_SPIN);
    const a = vm.vmid;
    yield* runGuest(m, vm.cap, () => guestWaiting);
    assert.ok(guestWaiting, 'the guest made its calls');
    m.step('non-FORCE stop');
    const stopAt = m.wire.length;
    assert.equal(errOf(yield* call(m, MSG.VM_STOP, stopReq(a, 0, 0x1234_5678))), E.OK, 'STOP without FORCE');
    assert.equal(yield* stateOf(m, a), S.RUNNING, 'the VM runs until it exits itself');
    assert.equal(statuses(m, a).length, 3, 'no state change, no VM_STATUS');
    assert.equal(yield* runGuest(m, vm.cap), RUN.POWERED_OFF, 'VM_EXIT stops the vCPU');
    yield* waitUntil(m, 'VM_EXITED', () => exitedOf(m, a).length > 0);
    for (let i = 0; i < 3; i++) yield* stateOf(m, a);
    m.c.takeNotifications();

    assert.deepEqual(guestLog, [
      ['GET_VMID', E.OK],
      ['resources of itself', E.OK],
      ['  its data', '0,0,0,0'],
      ['CONFIG_IMAGE, 2 bytes', E.DENIED],
      ['CONFIG_IMAGE of itself', E.DENIED],
      ['INIT of itself', E.DENIED],
      ['START of itself', E.DENIED],
      ['STOP of itself', E.VMID_INVALID],
      ['RESET of itself', E.VMID_INVALID],
      ['EXIT code 2 (UNKNOWN_ERROR)', E.MSG_INVALID],
      ['EXIT code 5', E.MSG_INVALID],
      ['EXIT, 3 bytes', E.MSG_INVALID],
    ]);
    // NOTIFY_VM_SHUTDOWN to the guest: u32 stop_reason.
    assert.deepEqual(shutdown, { msgId: MSG.NOTIFY_VM_SHUTDOWN, payload: [0x78, 0x56, 0x34, 0x12] });
    assert.equal(
      m.wire.slice(stopAt).filter((p) => p.msgId === MSG.NOTIFY_VM_SHUTDOWN).length,
      0,
      'the owner gets no VM_SHUTDOWN',
    );
    // VM_EXITED {vmid; type 0 VM_EXIT; size 4; flags 1 | code 3 << 16}, once.
    assert.deepEqual(
      exitedOf(m, a).map((p) => [...p]),
      [[a, 0, 0, 0, 4, 0, 0, 0, 1, 0, 3, 0]],
    );
    assert.deepEqual(statuses(m, a), [S.INIT, S.READY, S.RUNNING, S.EXITED]);
    yield* teardown(m, a, [vm.handle]);
  });
});

// ================================================================== exits from guest code

test('RM §2.4/§3: exits from real guest code — PSCI SYSTEM_RESET is type 2, SYSTEM_RESET2 type 3 with a 16-byte reason (SMC32: cookie truncated; SMC64: flag bit 15, full cookie), an exception loop is type 5 SOFTWARE_ERROR; each reported once, and every object is given back', () => {
  runSystem([], function* (m) {
    const before = liveCounts(m.hv);
    const cases: { what: string; code: readonly number[]; run: number; reason: number[] }[] = [
      {
        what: 'SYSTEM_RESET',
        code: G_SYSTEM_RESET,
        run: RUN.PSCI_SYSTEM_RESET,
        reason: [2, 0, 4, 0, 0, 0, 0, 0, 0, 0],
      },
      {
        what: 'SYSTEM_RESET2 (SMC32)',
        code: G_RESET2_32,
        run: RUN.PSCI_SYSTEM_RESET,
        // type 3, size 16: flags 0 | NORMAL; reset_type 0x80000001; cookie 0x12345678, high word 0.
        reason: [3, 0, 16, 0, 0, 0, ...[0, 0, 0, 0], ...[1, 0, 0, 0x80], ...[0x78, 0x56, 0x34, 0x12], ...[0, 0, 0, 0]],
      },
      {
        what: 'SYSTEM_RESET2 (SMC64)',
        code: G_RESET2_64,
        run: RUN.PSCI_SYSTEM_RESET,
        // flags bit 15: a 64-bit call; the whole cookie 0xdeadbeef_12345678.
        reason: [
          3,
          0,
          16,
          0,
          0,
          0,
          ...[0, 0x80, 0, 0],
          ...[1, 0, 0, 0x80],
          ...[0x78, 0x56, 0x34, 0x12],
          ...[0xef, 0xbe, 0xad, 0xde],
        ],
      },
      {
        what: 'exception loop',
        code: G_EXCEPTION_LOOP,
        run: RUN.FAULT,
        // A vCPU-halt exit with no crash message stored: exit code NORMAL (§2.4).
        reason: [5, 0, 4, 0, 0, 0, 0, 0, 0, 0],
      },
    ];
    for (const k of cases) {
      m.step(k.what);
      // VMIDs are reused after DEALLOCATE: look only at what this VM's life put on the wire.
      const from = m.wire.length;
      const vm = yield* startVm(m, 0, k.code);
      assert.equal(yield* runGuest(m, vm.cap), k.run, `${k.what}: vcpu_run state`);
      yield* waitUntil(m, `VM_EXITED after ${k.what}`, () => exitedOf(m, vm.vmid, from).length > 0);
      // A few more round trips, and the vCPU run again: nothing more is reported.
      m.v.call('vcpu_run', vm.cap, 0n, 0n, 0n, 0n);
      for (let i = 0; i < 3; i++) assert.equal(yield* stateOf(m, vm.vmid), S.EXITED, `${k.what}: state`);
      m.c.takeNotifications();
      assert.deepEqual(
        exitedOf(m, vm.vmid, from).map((p) => [...p]),
        [[vm.vmid & 0xff, vm.vmid >> 8, ...k.reason]],
        `${k.what}: one VM_EXITED {vmid, exit_type, reason_size, reason}`,
      );
      assert.deepEqual(statuses(m, vm.vmid, from), [S.INIT, S.READY, S.RUNNING, S.EXITED], k.what);
      yield* teardown(m, vm.vmid, [vm.handle]);
    }
    assert.deepEqual(liveCounts(m.hv), before, 'objects after teardown');
  });
});

// ================================================================== leak checks

test('RM §2.2/§3, hypervisor-abi §3: VMs reset before they ever ran — one READY, one INIT_FAILED at START — give back every thread, msgqueue, cspace, addrspace, vic and vpm_group', () => {
  runSystem([], function* (m) {
    const before = liveCounts(m.hv);
    const config = (vmid: number, handle: number) => configImage(m, vmid, handle);
    const a = must('allocate', yield* m.c.vmAllocate(0));
    const ha = yield* lendImage(m, 0, a);
    must('config a', yield* config(a, ha));
    must('init a', yield* m.c.vmInit(a));
    // b is allocated first, so it does not get a's VMID again (an addrspace that is never freed
    // keeps its VMID).
    const b = must('allocate', yield* m.c.vmAllocate(0));
    yield* teardown(m, a, [ha]);
    const hb = yield* lendImage(m, 1, b, { dt: guestDt({ hypervisor: true }) });
    must('config b', yield* config(b, hb));
    must('init b', yield* m.c.vmInit(b));
    assert.equal(errOf(yield* call(m, MSG.VM_START, vmidReq(b))), E.NORESOURCE);
    yield* teardown(m, b, [hb]);
    const stuck = m.hv.liveOf('thread').length - before.thread!;
    assert.deepEqual(
      liveCounts(m.hv),
      before,
      `objects left after RESET and DEALLOCATE: ${stuck} vCPU thread(s) the RM killed at reset, never powered on, never exit, ` +
        'and hold their VM’s cspace, addrspace, VIC, vpm_group and RM-link queues',
    );
  });
});

test('RM §2.2 VM_EXIT, hypervisor-abi §3: a guest run as a native program that leaves by VM_EXIT, its killed vCPU run to POWERED_OFF (exited), gives back every object after reset', () => {
  const guest: GuestBody = function* (v) {
    const { irq, t } = rmLink(v, { secondary: true, scratch: GUEST_SCRATCH });
    yield* rmCall(irq, t, MSG.VM_EXIT, exitReq(0, 0));
  };
  runSystem([guest], function* (m) {
    const before = liveCounts(m.hv);
    const vm = yield* startVm(m, 0, G_SPIN);
    assert.equal(yield* runGuest(m, vm.cap), RUN.POWERED_OFF);
    const r = m.v.call('vcpu_run', vm.cap, 0n, 0n, 0n, 0n);
    assert.deepEqual([r.e, Number(r.x[1]!), Number(r.x[2]! & 1n)], [0, RUN.POWERED_OFF, 1], 'POWERED_OFF, exited');
    yield* waitUntil(m, 'VM_EXITED', () => exitedOf(m, vm.vmid).length > 0);
    yield* teardown(m, vm.vmid, [vm.handle]);
    const stuck = m.hv.liveOf('thread').length - before.thread!;
    assert.deepEqual(
      liveCounts(m.hv),
      before,
      `objects left after RESET and DEALLOCATE: ${stuck} native vCPU thread(s), killed by VM_EXIT and reported ` +
        'POWERED_OFF (exited), never exit and hold their VM’s objects',
    );
  });
});

/** More VMs than the RM's VIC (SPIs 32..95) or the primary's VIRQs 962..1019 could serve once each. */
const VMS_IN_A_ROW = 60;

test('RM §2.2/§3: sixty VMs one after another — allocate, lend, configure, init, start, run to SYSTEM_OFF, reset, reclaim, deallocate — all work: nothing the RM hands out per VM runs out', () => {
  runSystem([], function* (m) {
    const before = liveCounts(m.hv);
    for (let i = 0; i < VMS_IN_A_ROW; i++) {
      m.step(`VM number ${i + 1}`);
      const from = m.wire.length;
      let vm: Started;
      try {
        vm = yield* startVm(m, 0, G_SYSTEM_OFF);
      } catch (e) {
        return assert.fail(
          `VM number ${i + 1} (after ${i} created, run and deallocated): ${(e as Error).message} — something the RM ` +
            'takes per VM (its own VIRQs for the link and the vCPU halt, the owner’s wake-up VIRQs) is not given back',
        );
      }
      assert.equal(yield* runGuest(m, vm.cap), RUN.POWERED_OFF, `VM number ${i + 1} ran`);
      yield* waitUntil(m, 'VM_EXITED', () => exitedOf(m, vm.vmid, from).length > 0);
      yield* teardown(m, vm.vmid, [vm.handle]);
    }
    assert.deepEqual(liveCounts(m.hv), before, 'objects after the last VM');
  });
});

// ================================================================== what VM_START and exits read

test('RM §2.4: a vCPU-halt exit of a VM that stored a crash message (VM_SET_CRASH_MSG) has exit code SOFTWARE_ERROR (1), not NORMAL', () => {
  // The guest, a native program on its own vCPU: stores a crash message, then calls PSCI
  // SYSTEM_OFF (hvc #0, x0 = 0x84000008), which halts its vCPU: exit type PLATFORM_OFF.
  const guest: GuestBody = function* (v) {
    const { irq, t } = rmLink(v, { secondary: true, scratch: GUEST_SCRATCH });
    // {u16 len; u16 res; bytes padded to 4} (§2.2): "oops".
    const o = yield* rmCall(irq, t, MSG.VM_SET_CRASH_MSG, new Uint8Array([4, 0, 0, 0, 0x6f, 0x6f, 0x70, 0x73]));
    assert.ok(o.ok && o.error === E.OK, 'crash message stored');
    (v as unknown as { hvcImm(imm: number, args: readonly bigint[]): bigint[] }).hvcImm(0, [0x8400_0008n]);
  };
  runSystem([guest], function* (m) {
    const vm = yield* startVm(m, 0, G_SPIN);
    assert.equal(yield* runGuest(m, vm.cap), RUN.POWERED_OFF);
    yield* waitUntil(m, 'VM_EXITED', () => exitedOf(m, vm.vmid).length > 0);
    // {u16 vmid; u16 exit_type 1 PLATFORM_OFF; u32 reason_size 4; u32 exit_flags | exit_code << 16}
    assert.deepEqual(
      exitedOf(m, vm.vmid).map((p) => [...p]),
      [[vm.vmid & 0xff, vm.vmid >> 8, 1, 0, 4, 0, 0, 0, 0, 0, 1, 0]],
    );
    yield* teardown(m, vm.vmid, [vm.handle]);
  });
});

test('RM §2.6/hypervisor-abi §8.4: VM_SET_BOOT_CONTEXT registers reach the boot vCPU at VM_START — a PC and X0 set win over the image entry and the DT address, other registers are written as given', () => {
  // At the image base: `b .` (the entry VM_START would use); at +4: store x0 and x5, SYSTEM_OFF.
  // adr x1, .+0x7fc; str x0,[x1]; str x5,[x1,#8]; x0 = 0x84000008; hvc #0
  const code = [B_SELF, 0x10003fe1, 0xf9000020, 0xf9000425, 0xd2b08000, 0xf2800100, HVC_0, B_SELF];
  const x0 = 0x1234_5678_9abc_def0n;
  const x5 = 0x0bad_cafe_0000_0005n;
  /** VM_SET_BOOT_CONTEXT: `{u16 vmid; u8 reg_set; u8 reg_index; u32 res; u64 value}`. */
  const ctx = (vmid: number, set: number, index: number, value: bigint): Uint8Array => {
    const b = new Uint8Array(16);
    const dv = new DataView(b.buffer);
    dv.setUint16(0, vmid, true);
    b[2] = set;
    b[3] = index;
    dv.setBigUint64(8, value, true);
    return b;
  };
  let seen = 0 as Uint8Array | number;
  runSystem([], function* (m) {
    const vmid = must('allocate', yield* m.c.vmAllocate(0));
    const handle = yield* lendImage(m, 0, vmid, { code });
    must('config image', yield* configImage(m, vmid, handle));
    must('init', yield* m.c.vmInit(vmid));
    for (const [set, index, value] of [
      [1, 0, GUEST_BASE + 4n],
      [0, 0, x0],
      [0, 5, x5],
    ] as const) {
      assert.equal(errOf(yield* call(m, MSG.VM_SET_BOOT_CONTEXT, ctx(vmid, set, index, value))), E.OK);
    }
    const res = must('resources', yield* m.c.vmGetHypResources(vmid));
    m.v.irq!.enable(res[0]!.virq, true);
    must('start', yield* m.c.vmStart(vmid));
    assert.equal(yield* runGuest(m, res[0]!.capId), RUN.POWERED_OFF, 'the guest started at PC = base + 4');
    yield* waitUntil(m, 'VM_EXITED', () => exitedOf(m, vmid).length > 0);
    yield* teardown(m, vmid, [handle]);
    seen = m.v.memory!.read(slotPa(0) + 0x800n, 16);
  });
  assert.ok(seen instanceof Uint8Array);
  const dv = new DataView(seen.buffer, seen.byteOffset);
  assert.equal(dv.getBigUint64(0, true), x0, 'X0 as set, not the DT address');
  assert.equal(dv.getBigUint64(8, true), x5, 'X5 as set');
});

// ================================================================== vm-attrs

test("RM §2.2/§3: a no-reset VM refuses VM_RESET (DENIED, before the state check) and stays as it was; a no-shutdown VM refuses the owner's VM_STOP, FORCE or not (VM_STATE), until its own VM_EXIT, which succeeds", () => {
  const guest: GuestBody = function* (v) {
    const { irq, t } = rmLink(v, { secondary: true, scratch: GUEST_SCRATCH });
    // Wait until the owner has tried to stop it, then leave by VM_EXIT.
    for (let i = 0; i < 50; i++) yield 'yield';
    const o = yield* rmCall(irq, t, MSG.VM_EXIT, exitReq(0, 0));
    assert.ok(o.ok && o.error === E.OK, 'a no-shutdown VM may leave by VM_EXIT');
  };
  runSystem([guest], function* (m) {
    // no-reset: READY, then RESET refused.
    const a = must('allocate', yield* m.c.vmAllocate(0));
    const ha = yield* lendImage(m, 0, a, { dt: guestDt({ attrs: ['no-reset'] }) });
    must('config', yield* configImage(m, a, ha));
    must('init', yield* m.c.vmInit(a));
    assert.equal(errOf(yield* call(m, MSG.VM_RESET, vmidReq(a))), E.DENIED, 'no-reset: VM_RESET is DENIED');
    assert.equal(yield* stateOf(m, a), S.READY, 'and the VM is still READY');
    // no-shutdown: running, STOP refused both ways, then the guest's VM_EXIT.
    const b = yield* startVm(m, 1, G_SPIN, { attrs: ['no-shutdown'] });
    assert.equal(errOf(yield* call(m, MSG.VM_STOP, stopReq(b.vmid, FORCE, 3))), E.VM_STATE, 'FORCE STOP');
    assert.equal(errOf(yield* call(m, MSG.VM_STOP, stopReq(b.vmid, 0, 3))), E.VM_STATE, 'STOP');
    assert.equal(yield* stateOf(m, b.vmid), S.RUNNING);
    assert.equal(yield* runGuest(m, b.cap), RUN.POWERED_OFF);
    yield* waitUntil(m, 'VM_EXITED', () => exitedOf(m, b.vmid).length > 0);
    assert.equal(u16(exitedOf(m, b.vmid)[0]!, 2), 0, 'exit type 0 VM_EXIT');
    yield* teardown(m, b.vmid, [b.handle]);
  });
});

test('RM §2.2/§3: a crash-fatal VM refuses VM_EXIT (ARGUMENT_INVALID), VM_STOP (VM_STATE) and VM_RESET (DENIED) — and when it halts anyway (PSCI SYSTEM_OFF) the RM aborts the whole system', () => {
  const guest: GuestBody = function* (v) {
    const { irq, t } = rmLink(v, { secondary: true, scratch: GUEST_SCRATCH });
    const o = yield* rmCall(irq, t, MSG.VM_EXIT, exitReq(0, 0));
    assert.ok(o.ok && o.error === E.ARGUMENT_INVALID, 'crash-fatal: VM_EXIT is ARGUMENT_INVALID');
    for (let i = 0; i < 50; i++) yield 'yield';
    (v as unknown as { hvcImm(imm: number, args: readonly bigint[]): bigint[] }).hvcImm(0, [0x8400_0008n]);
  };
  let checked = false;
  runSystem(
    [guest],
    function* (m) {
      const vm = yield* startVm(m, 0, G_SPIN, { attrs: ['crash-fatal'] });
      assert.equal(errOf(yield* call(m, MSG.VM_STOP, stopReq(vm.vmid, FORCE, 3))), E.VM_STATE, 'STOP');
      assert.equal(errOf(yield* call(m, MSG.VM_RESET, vmidReq(vm.vmid))), E.DENIED, 'RESET');
      assert.equal(yield* stateOf(m, vm.vmid), S.RUNNING);
      checked = true;
      yield* runGuest(m, vm.cap);
      // The RM is gone now: nothing more will answer.
      yield* m.c.vmGetVmid();
    },
    /^resource manager abort: crash-fatal VM 128 exited/,
  );
  assert.ok(checked, 'the refusals were checked before the crash');
});
