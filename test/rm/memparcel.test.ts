// Memory parcels (RM spec §2.8, §6; hypervisor-abi.md §10) end to end: native programs on the
// primary VM and on a secondary the RM builds talk to the RM over their real links; what they can
// read and write afterwards is what the hypervisor's stage 2 allows, and what is left afterwards is
// checked with hypercalls from the RM's own vCPU.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Err } from '../../src/hyp/abi/errors.js';
import { Hypervisor } from '../../src/hyp/hypervisor.js';
import { HypSystem } from '../../src/hyp/system.js';
import {
  ResourceManager,
  PRIMARY_LINK_RX_VIRQ,
  PRIMARY_LINK_TX_VIRQ,
  SECONDARY_LINK_RX_VIRQ,
  SECONDARY_LINK_TX_VIRQ,
} from '../../src/rm/rm.js';
import { MemParcels } from '../../src/rm/memparcel.js';
import { RmClientTransport, rmCall, type CallOutcome } from '../../src/vmm/rm-client/transport.js';
import { generatorProgram } from '../../src/vmm/rm-client/program.js';
import type { RmVcpu } from '../../src/rm/port.js';
import { MsgId, RmError, type RpcMessage } from '../../src/rm/rpc/index.js';
import { VmState, VmTable } from '../../src/rm/vm-mgmt.js';

const MiB = 1024 * 1024;
const ONES = 0xffff_ffff_ffff_ffffn;
const E = RmError;

// ------------------------------------------------------------------ request builders (from §2.8)

const u16 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff];
const u32 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
const u64 = (v: bigint): number[] => [...Array(8).keys()].map((k) => Number((v >> BigInt(8 * k)) & 0xffn));
const bytes = (...parts: number[][]): Uint8Array => new Uint8Array(parts.flat());
const hex = (s: string): Uint8Array =>
  new Uint8Array((s.replace(/\s+/g, '').match(/../g) ?? []).map((h) => parseInt(h, 16)));

/** ACL list: `{u16 n; u16 res}` + `{u16 vmid; u8 rights; u8 res}` entries. */
const aclList = (e: [number, number][]): number[] => [
  ...u16(e.length),
  0,
  0,
  ...e.flatMap(([v, r]) => [...u16(v), r, 0]),
];
/** SGL list: `{u16 n; u16 field}` + `{u64 ipa; u64 size}` entries. */
const sglList = (e: [bigint, bigint][], field = 0): number[] => [
  ...u16(e.length),
  ...u16(field),
  ...e.flatMap(([a, s]) => [...u64(a), ...u64(s)]),
];
/** Attribute list: `{u16 n; u16 res}` + `{u16 attr; u16 vmid}` entries. */
const attrList = (e: [number, number][]): number[] => [
  ...u16(e.length),
  0,
  0,
  ...e.flatMap(([a, v]) => [...u16(a), ...u16(v)]),
];

interface CreateArgs {
  memType?: number;
  flags?: number;
  label?: number;
  acl: [number, number][];
  sgl: [bigint, bigint][];
  attrs?: [number, number][];
}
/** LEND/SHARE/DONATE: `{u8 mem_type; u8 res; u8 flags; u8 res; u32 label}` + ACL, SGL, attrs. */
const createReq = (a: CreateArgs): Uint8Array =>
  bytes(
    [a.memType ?? 0, 0, a.flags ?? 0, 0],
    u32(a.label ?? 0),
    aclList(a.acl),
    sglList(a.sgl),
    attrList(a.attrs ?? []),
  );

interface AcceptArgs {
  handle: number;
  trans: number;
  memType?: number;
  flags?: number;
  label?: number;
  acl?: [number, number][];
  sgl?: [bigint, bigint][];
  mapVmid?: number;
  attrs?: [number, number][];
}
/** ACCEPT: `{u32 handle; u8 mem_type; u8 trans_type; u8 flags; u8 res; u32 label}` + 3 lists. */
const acceptReq = (a: AcceptArgs): Uint8Array =>
  bytes(
    u32(a.handle),
    [a.memType ?? 0, a.trans, a.flags ?? 0, 0],
    u32(a.label ?? 0),
    aclList(a.acl ?? []),
    sglList(a.sgl ?? [], a.mapVmid ?? 0),
    attrList(a.attrs ?? []),
  );
/** RELEASE / RECLAIM: `{u32 handle; u8 flags; u8 res[3]}`. */
const handleReq = (h: number, flags = 0): Uint8Array => bytes(u32(h), [flags, 0, 0, 0]);
/** NOTIFY: `{u32 handle; u8 flags; u8 res[3]; u32 tag}` + for SHARED/RECALL the VMID list. */
const notifyReq = (h: number, flags: number, tag: number, vmids?: number[]): Uint8Array =>
  bytes(
    u32(h),
    [flags, 0, 0, 0],
    u32(tag),
    vmids ? [...u16(vmids.length), 0, 0, ...vmids.flatMap((v) => [...u16(v), 0, 0])] : [],
  );
/** APPEND: `{u32 handle; u8 flags; u8 res[3]}` + SGL. */
const appendReq = (h: number, flags: number, sgl: [bigint, bigint][]): Uint8Array =>
  bytes(u32(h), [flags, 0, 0, 0], sglList(sgl));

const LEND = 1;
const SHARE = 2;
const DONATE = 0;
const DONE = 128;
const R = 4;
const RW = 6;
const RWX = 7;

const res = (o: CallOutcome): number | string => (o.ok ? o.error : o.reason);
const word = (o: CallOutcome): number =>
  o.ok && o.data.length >= 4 ? new DataView(o.data.buffer, o.data.byteOffset).getUint32(0, true) : -1;

// ------------------------------------------------------------------------------ the test system

interface Party {
  v: RmVcpu;
  t: RmClientTransport;
  call(id: number, p?: Uint8Array): Generator<'wait', CallOutcome, void>;
  /** The next notification (sleeping until one arrives). */
  note(): Generator<'wait', RpcMessage, void>;
  /** The vCPU's own memory through its stage 2: bytes, or the hypervisor error. */
  read(ipa: bigint, len: number): Uint8Array | number;
  write(ipa: bigint, data: Uint8Array): number;
}
type Body = (c: Party) => Generator<'wait' | 'yield', void, void>;

const PRIMARY_SCRATCH = { rx: 0x4000_1000n, tx: 0x4000_1100n };
const SECONDARY_SCRATCH = { rx: 0x1000n, tx: 0x1100n };

/**
 * A fresh system: the RM, the primary (which first allocates VM 0x80 and then waits for the
 * secondary to be built), and — with `secondary` — VM 0x80 built by the RM's own vCPU with one
 * page of scratch memory for its link buffers, its vCPU running `secondary`.
 */
interface RunOptions {
  /** Called with the RM before anything runs (for programs that inspect it). */
  onStart?: (rm: ResourceManager) => void;
  /** Called once everything is idle; the system then runs again. */
  between?: (rm: ResourceManager) => void;
}
function runSystem(primary: Body, secondary: Body | null, opts: RunOptions = {}) {
  const hv = new Hypervisor({ memory: { base: 0x4000_0000, size: 2048 * MiB } });
  const root = hv.createRootVm();
  const sys = new HypSystem(hv, 1);
  const rm = new ResourceManager();
  const rmRunner = sys.addNative(root.thread, rm);
  opts.onStart?.(rm);
  let phase = 0;
  let spawned = 0;
  sys.spawn = () => {
    const isPrimary = spawned++ === 0;
    return generatorProgram(function* (v: RmVcpu) {
      const t = new RmClientTransport(v, {
        txCap: 0n,
        rxCap: 1n,
        scratch: isPrimary ? PRIMARY_SCRATCH : SECONDARY_SCRATCH,
      });
      v.irq!.init();
      for (const n of isPrimary
        ? [PRIMARY_LINK_TX_VIRQ, PRIMARY_LINK_RX_VIRQ]
        : [SECONDARY_LINK_TX_VIRQ, SECONDARY_LINK_RX_VIRQ]) {
        v.irq!.enable(n);
      }
      const party: Party = {
        v,
        t,
        call: (id, p = new Uint8Array(0)) => rmCall(v.irq, t, id, p),
        *note() {
          for (;;) {
            const taken: number[] = [];
            for (let id = v.irq!.ack(); id !== 1023; id = v.irq!.ack()) taken.push(id);
            t.pump();
            for (const id of taken) v.irq!.eoi(id);
            // VM_STATUS notifications are not this test's business.
            const k = t.notifications.findIndex((m) => m.msgId !== MsgId.NOTIFY_VM_STATUS);
            if (k >= 0) return t.notifications.splice(k, 1)[0]!;
            yield 'wait';
          }
        },
        read: (ipa, len) => v.memory!.read(ipa, len),
        write: (ipa, data) => v.memory!.write(ipa, data),
      };
      if (isPrimary) {
        assert.equal(word(yield* party.call(MsgId.VM_ALLOCATE, bytes(u16(0), [0, 0]))), 0x80);
        while (phase < 1) {
          v.call('scheduler_yield', 0n, 0n, 0n);
          yield 'yield';
        }
        yield* primary(party);
      } else if (secondary) {
        yield* secondary(party);
      }
    });
  };
  assert.equal(sys.run(1_000_000), 'limit');
  const rmVcpu = rmRunner.vcpu;
  if (secondary) {
    const vm = rm.buildSecondary(rmVcpu, 0x80, { proxy: false });
    const me = rmVcpu.call('partition_create_memextent', root.caps.partition, root.caps.cspace, 0n).x[1]!;
    assert.equal(rmVcpu.call('memextent_configure', me, 0x9000_0000n, 0x1000n, 7n, 0n).e, 0);
    assert.equal(rmVcpu.call('object_activate', me, 0n).e, 0);
    assert.equal(
      rmVcpu.call('addrspace_map', vm.addrspace, me, 0x1000n, 7n | (7n << 4n) | (15n << 16n), 0n, 0n, 0n).e,
      0,
    );
    assert.equal(rmVcpu.call('vcpu_set_affinity', vm.vcpus[0]!, 0n, ONES).e, 0);
    assert.equal(rmVcpu.call('vcpu_poweron', vm.vcpus[0]!, 0n, 0n, 0n).e, 0);
  }
  phase = 1;
  assert.equal(sys.run(1_000_000_000), 'idle');
  if (opts.between) {
    opts.between(rm);
    assert.equal(sys.run(2_000_000_000), 'idle');
  }
  assert.equal(rm.failure, null);
  return { rm, rmVcpu, root };
}

const PAGE = 0x1000n;
const A = 0x4010_0000n; // pages of the primary's RAM (IPA = PA) used as parcel memory
const B = 0x4020_0000n;
const C = 0x4030_0000n;
const pattern = (seed: number, n = 16): Uint8Array => new Uint8Array(n).map((_, i) => (seed + i * 7) & 0xff);
const view = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);

// ------------------------------------------------------------------------------------------ tests

test('RM §2.8 wire: the LEND request the tests build is the spec layout byte for byte', () => {
  const got = createReq({ label: 0x11223344, acl: [[0x80, RW]], sgl: [[A, PAGE]] });
  assert.deepEqual(
    got,
    hex(`00 00 00 00 44332211
         0100 0000  8000 06 00
         0100 0000  0000 1040 0000 0000  0010 0000 0000 0000
         0000 0000`),
  );
});

test("RM §2.8/§6.1/§6.3: LEND → NOTIFY(SHARED) → ACCEPT at the receiver's IPA → the borrower reads what the lender wrote while the lender cannot; RECLAIM is MEM_INUSE until RELEASE; every notification has its exact payload; nothing is left after RECLAIM", () => {
  const owner: (number | string)[] = [];
  const guest: (number | string)[] = [];
  const notes: Record<string, Uint8Array> = {};
  let ownerReadWhileLent: Uint8Array | number = 0;
  let ownerReadAfter: Uint8Array | number = 0;
  let guestRead: Uint8Array | number = 0;
  let guestReadAfterRelease: Uint8Array | number = 0;
  let regionCap = -1n;
  let handleReply = -1;
  let rmRef: ResourceManager | null = null;
  const env = runSystem(
    function* (c) {
      assert.equal(c.write(A, pattern(1)), Err.OK);
      const lend = yield* c.call(MsgId.MEM_LEND, createReq({ label: 0x11223344, acl: [[0x80, RW]], sgl: [[A, PAGE]] }));
      owner.push(res(lend));
      handleReply = word(lend);
      regionCap = rmRef!.parcels.get(0)!.regions[0]!.memextent;
      // §6.1: lent memory is the owner's no more (unmapped from its stage 2: an access faults).
      ownerReadWhileLent = c.read(A, 16);
      owner.push(res(yield* c.call(MsgId.MEM_NOTIFY, notifyReq(0, 1, 0x55, [0x80]))));
      const accepted = yield* c.note();
      notes.accepted = accepted.msgId === MsgId.MEM_ACCEPTED ? accepted.payload : new Uint8Array();
      owner.push(res(yield* c.call(MsgId.MEM_RECLAIM, handleReq(0))));
      owner.push(res(yield* c.call(MsgId.MEM_NOTIFY, notifyReq(0, 8, 0x55, [0x80]))));
      const released = yield* c.note();
      notes.released = released.msgId === MsgId.MEM_RELEASED ? released.payload : new Uint8Array();
      owner.push(res(yield* c.call(MsgId.MEM_RECLAIM, handleReq(0))));
      ownerReadAfter = c.read(A, 16);
      owner.push(res(yield* c.call(MsgId.MEM_RECLAIM, handleReq(0))));
    },
    function* (c) {
      const shared = yield* c.note();
      notes.shared = shared.msgId === MsgId.MEM_SHARED ? shared.payload : new Uint8Array();
      const h = view(shared.payload).getUint32(0, true);
      // The receiver picks the IPA: 0x8000_0000, with the label checked.
      guest.push(
        res(
          yield* c.call(
            MsgId.MEM_ACCEPT,
            acceptReq({ handle: h, trans: LEND, flags: DONE | 4, label: 0x11223344, sgl: [[0x8000_0000n, PAGE]] }),
          ),
        ),
      );
      guestRead = c.read(0x8000_0000n, 16);
      guest.push(c.write(0x8000_0000n, pattern(9)));
      guest.push(res(yield* c.call(MsgId.MEM_NOTIFY, notifyReq(h, 4, 0x55))));
      const recall = yield* c.note();
      notes.recall = recall.msgId === MsgId.MEM_RECALL ? recall.payload : new Uint8Array();
      guest.push(res(yield* c.call(MsgId.MEM_RELEASE, handleReq(h))));
      guestReadAfterRelease = c.read(0x8000_0000n, 16);
      guest.push(res(yield* c.call(MsgId.MEM_RELEASE, handleReq(h))));
      guest.push(res(yield* c.call(MsgId.MEM_NOTIFY, notifyReq(h, 2, 0x55))));
    },
    { onStart: (rm) => (rmRef = rm) },
  );
  assert.equal(handleReply, 0);
  assert.deepEqual(owner, [E.OK, E.OK, E.MEM_INUSE, E.OK, E.OK, E.HANDLE_INVALID]);
  assert.deepEqual(guest, [E.OK, Err.OK, E.OK, E.OK, E.MEM_RELEASED, E.OK]);
  assert.equal(ownerReadWhileLent, Err.ADDR_INVALID);
  assert.deepEqual(guestRead, pattern(1));
  assert.equal(guestReadAfterRelease, Err.ADDR_INVALID);
  assert.deepEqual(ownerReadAfter, pattern(9));
  // MEM_SHARED: handle 0, NORMAL, LEND, not sanitised, owner 3, label, tag; ACL; one 4 KiB region; no attributes.
  assert.deepEqual(
    notes.shared,
    hex(`00000000 00 01 00 00 0300 0000 44332211 55000000
         0100 0000 8000 06 00
         0100 0000 0010000000000000
         0000 0000`),
  );
  assert.deepEqual(notes.accepted, hex('00000000 8000 0000 55000000'));
  assert.deepEqual(notes.recall, hex('00000000 55000000'));
  assert.deepEqual(notes.released, hex('00000000 8000 0000 55000000'));
  // Nothing left: the region extent is gone (its cap is null), the borrower maps nothing at its
  // IPA, and the owner's RAM extent owns and maps the page again.
  const { rm, rmVcpu, root } = env;
  const primary = rm.vms.get(3)!;
  const ram = primary.memory[0]!.memextent;
  assert.equal(rmVcpu.call('cspace_delete_cap_from', root.caps.cspace, regionCap, 0n).e, Err.CSPACE_CAP_NULL);
  assert.equal(
    rmVcpu.call('addrspace_lookup', rm.vms.get(0x80)!.addrspace, ram, 0x8000_0000n, PAGE, 0n).e,
    Err.ADDR_INVALID,
  );
  const back = rmVcpu.call('addrspace_lookup', primary.addrspace, ram, A, PAGE, 0n);
  assert.equal(back.e, Err.OK);
  assert.equal(back.x[1], A - 0x4000_0000n);
  assert.equal(rm.vms.get(0x80)!.memory.length, 0);
  assert.equal(rm.parcels.all().length, 0);
});

test("RM §6.1/§6.3: SHARE keeps the owner's access cut to its ACL rights; the RM chooses the IPA (lowest free above 1 GiB) and replies with it; a read-only borrower cannot write; RECLAIM with SANITIZE zeroes the memory and gives the owner RWX back", () => {
  const owner: (number | string | boolean)[] = [];
  const guest: (number | string | boolean)[] = [];
  let acceptData: Uint8Array = new Uint8Array();
  let guestSaw: Uint8Array | number = 0;
  let ownerSaw: Uint8Array | number = 0;
  let ownerAfter: Uint8Array | number = 0;
  runSystem(
    function* (c) {
      c.write(B, pattern(3));
      // Owner keeps R, the borrower gets RW.
      owner.push(
        res(
          yield* c.call(
            MsgId.MEM_SHARE,
            createReq({
              acl: [
                [3, R],
                [0x80, RW],
              ],
              sgl: [[B, PAGE]],
            }),
          ),
        ),
      );
      owner.push(c.write(B, pattern(4))); // DENIED: read-only now (update_access)
      owner.push(res(yield* c.call(MsgId.MEM_NOTIFY, notifyReq(0, 1, 7, [0x80]))));
      yield* c.note(); // MEM_ACCEPTED
      ownerSaw = c.read(B, 16);
      owner.push(res(yield* c.call(MsgId.MEM_RELEASE, handleReq(0)))); // the owner cannot release: DENIED
      owner.push(res(yield* c.call(MsgId.MEM_ACCEPT, acceptReq({ handle: 0, trans: SHARE, flags: DONE })))); // owner: DENIED
      yield* c.note(); // MEM_RELEASED
      owner.push(res(yield* c.call(MsgId.MEM_RECLAIM, handleReq(0, 1))));
      ownerAfter = c.read(B, 16);
      owner.push(c.write(B, pattern(5)));
    },
    function* (c) {
      yield* c.note();
      const acc = yield* c.call(
        MsgId.MEM_ACCEPT,
        acceptReq({
          handle: 0,
          trans: SHARE,
          flags: DONE | 2,
          acl: [
            [3, R],
            [0x80, RW],
          ],
        }),
      );
      guest.push(res(acc));
      acceptData = acc.ok ? acc.data : new Uint8Array();
      guestSaw = c.read(0x4000_0000n, 16);
      guest.push(c.write(0x4000_0000n, pattern(6)));
      guest.push(res(yield* c.call(MsgId.MEM_NOTIFY, notifyReq(0, 4, 7))));
      guest.push(res(yield* c.call(MsgId.MEM_RELEASE, handleReq(0))));
      guest.push(res(yield* c.call(MsgId.MEM_NOTIFY, notifyReq(0, 2, 7))));
    },
  );
  assert.deepEqual(owner, [E.OK, Err.DENIED, E.OK, E.DENIED, E.DENIED, E.OK, Err.OK]);
  assert.deepEqual(guest, [E.OK, Err.OK, E.OK, E.OK, E.OK]);
  // {u16 n = 1; u8 flags = 0; u8 res; {u64 ipa = 0x4000_0000; u64 size = 0x1000}}
  assert.deepEqual(acceptData, hex('0100 00 00 0000004000000000 0010000000000000'));
  assert.deepEqual(guestSaw, pattern(3));
  assert.deepEqual(ownerSaw, pattern(6));
  assert.deepEqual(ownerAfter, new Uint8Array(16));
});

test("RM §6.1: a read-only borrower's write is refused by the hypervisor; a borrower cannot lend on lent memory (MEM_INVALID) but can lend donated memory, which is its own after ACCEPT; a DONATE's handle dies with the accept", () => {
  const owner: (number | string)[] = [];
  const guest: (number | string)[] = [];
  let ownerRead: Uint8Array | number = 0;
  let backRead: Uint8Array | number = 0;
  runSystem(
    function* (c) {
      c.write(B, pattern(20));
      owner.push(res(yield* c.call(MsgId.MEM_LEND, createReq({ acl: [[0x80, R]], sgl: [[A, PAGE]] }))));
      owner.push(res(yield* c.call(MsgId.MEM_DONATE, createReq({ acl: [[0x80, RWX]], sgl: [[B, PAGE]] }))));
      owner.push(res(yield* c.call(MsgId.MEM_NOTIFY, notifyReq(1, 1, 0, [0x80]))));
      const shared = yield* c.note(); // the secondary lends the donated page back: MEM_SHARED
      const h = view(shared.payload).getUint32(0, true);
      owner.push(h, view(shared.payload).getUint16(8, true));
      owner.push(res(yield* c.call(MsgId.MEM_RECLAIM, handleReq(1)))); // donation done: no parcel
      ownerRead = c.read(B, 16); // not the primary's any more
      owner.push(
        res(
          yield* c.call(
            MsgId.MEM_ACCEPT,
            acceptReq({ handle: h, trans: LEND, flags: DONE, sgl: [[0x9000_0000n, PAGE]] }),
          ),
        ),
      );
      backRead = c.read(0x9000_0000n, 16);
    },
    function* (c) {
      yield* c.note();
      guest.push(
        res(
          yield* c.call(
            MsgId.MEM_ACCEPT,
            acceptReq({ handle: 0, trans: LEND, flags: DONE, sgl: [[0x8000_0000n, PAGE]] }),
          ),
        ),
      );
      guest.push(c.write(0x8000_0000n, pattern(1)));
      guest.push(
        res(
          yield* c.call(
            MsgId.MEM_ACCEPT,
            acceptReq({ handle: 1, trans: DONATE, flags: DONE, sgl: [[0x8010_0000n, PAGE]] }),
          ),
        ),
      );
      // Lent memory is not the borrower's to lend; donated memory is.
      guest.push(res(yield* c.call(MsgId.MEM_LEND, createReq({ acl: [[3, RW]], sgl: [[0x8000_0000n, PAGE]] }))));
      const lend = yield* c.call(MsgId.MEM_LEND, createReq({ acl: [[3, RW]], sgl: [[0x8010_0000n, PAGE]] }));
      guest.push(res(lend), word(lend));
      guest.push(res(yield* c.call(MsgId.MEM_NOTIFY, notifyReq(word(lend), 1, 0, [3]))));
    },
  );
  assert.deepEqual(owner, [E.OK, E.OK, E.OK, 3, 0x80, E.HANDLE_INVALID, E.OK]);
  // The failed LEND took handle 2 (§9.1); the next one is 3.
  assert.deepEqual(guest, [E.OK, Err.DENIED, E.OK, E.MEM_INVALID, E.OK, 3, E.OK]);
  assert.equal(ownerRead, Err.ADDR_INVALID);
  assert.deepEqual(backRead, pattern(20));
});

test('RM §2.8: IPAs over several ACCEPTs (a requested IPA, then DONE with the RM choosing and INCOMPLETE clear); MAP_CONTIGUOUS places a multi-region parcel at one IPA; placement errors: too many entries, wrong size, DONE too early, IPA taken or below 1 GiB', () => {
  const guest: (number | string)[] = [];
  const data: Uint8Array[] = [];
  const reads: (Uint8Array | number)[] = [];
  runSystem(
    function* (c) {
      c.write(A, pattern(30));
      c.write(C, pattern(31));
      c.write(B, pattern(32));
      c.write(B + 0x2000n, pattern(33));
      // Two regions each (the SGL entries are not adjacent).
      yield* c.call(
        MsgId.MEM_LEND,
        createReq({
          acl: [[0x80, RW]],
          sgl: [
            [A, PAGE],
            [C, PAGE],
          ],
        }),
      );
      yield* c.call(
        MsgId.MEM_LEND,
        createReq({
          acl: [[0x80, RW]],
          sgl: [
            [B, PAGE],
            [B + 0x2000n, PAGE],
          ],
        }),
      );
      yield* c.call(MsgId.MEM_NOTIFY, notifyReq(0, 1, 0, [0x80]));
    },
    function* (c) {
      yield* c.note();
      const acc = (a: Partial<AcceptArgs> & { handle: number }) =>
        c.call(MsgId.MEM_ACCEPT, acceptReq({ trans: LEND, ...a }));
      guest.push(
        res(
          yield* acc({
            handle: 0,
            sgl: [
              [0x8000_0000n, PAGE],
              [0x8000_1000n, PAGE],
              [0x8000_2000n, PAGE],
            ],
          }),
        ),
      );
      guest.push(res(yield* acc({ handle: 0, sgl: [[0x8000_0000n, 2n * PAGE]] })));
      guest.push(res(yield* acc({ handle: 0, sgl: [[0x1000_0000n, PAGE]] })));
      guest.push(res(yield* acc({ handle: 0, flags: DONE, sgl: [[0x8000_0000n, PAGE]] })));
      guest.push(res(yield* acc({ handle: 0, sgl: [[0x8000_0000n, PAGE]] })));
      // The second region may not overlap the first.
      guest.push(res(yield* acc({ handle: 0, flags: DONE, sgl: [[0x8000_0000n, PAGE]] })));
      const rest = yield* acc({ handle: 0, flags: DONE });
      guest.push(res(rest));
      if (rest.ok) data.push(rest.data);
      reads.push(c.read(0x8000_0000n, 16));
      // The RM's choice: the lowest free address above 1 GiB.
      reads.push(c.read(0x4000_0000n, 16));
      // Contiguous: both regions at one RM-chosen IPA.
      const contig = yield* acc({ handle: 1, flags: DONE | 16 });
      guest.push(res(contig));
      if (contig.ok) data.push(contig.data);
      reads.push(c.read(0x4000_1000n, 16), c.read(0x4000_2000n, 16));
    },
  );
  assert.deepEqual(guest, [
    E.ARGUMENT_INVALID,
    E.ARGUMENT_INVALID,
    E.NORESOURCE,
    E.ARGUMENT_INVALID,
    E.OK,
    E.NORESOURCE,
    E.OK,
    E.OK,
  ]);
  assert.deepEqual(data[0], hex('0100 00 00 0000004000000000 0010000000000000'));
  assert.deepEqual(data[1], hex('0100 00 00 0010004000000000 0020000000000000'));
  assert.deepEqual(reads, [pattern(30), pattern(31), pattern(32), pattern(33)]);
});

test('RM §2.8/§9.1: handles count up from 0; a LEND of memory the caller does not own is MEM_INVALID and uses up a handle; overlapping regions (in one request or with a live parcel) are MEM_INVALID; unknown handles are HANDLE_INVALID everywhere', () => {
  const got: (number | string)[] = [];
  runSystem(function* (c) {
    const lend = (sgl: [bigint, bigint][], acl: [number, number][] = [[0x80, RW]]) =>
      c.call(MsgId.MEM_LEND, createReq({ acl, sgl }));
    got.push(word(yield* lend([[A, PAGE]])));
    got.push(res(yield* lend([[0x9000_0000n, PAGE]]))); // outside the primary's RAM
    got.push(word(yield* lend([[B, PAGE]]))); // handle 2: 1 was used by the failure
    got.push(res(yield* lend([[A, PAGE]]))); // already lent
    got.push(
      res(
        yield* c.call(
          MsgId.MEM_SHARE,
          createReq({
            acl: [
              [3, RW],
              [0x80, R],
            ],
            sgl: [[B, 2n * PAGE]],
          }),
        ),
      ),
    );
    got.push(
      res(
        yield* lend([
          [C, 2n * PAGE],
          [C + PAGE, PAGE],
        ]),
      ),
    ); // the entries overlap
    got.push(word(yield* lend([[C, 2n * PAGE]]))); // ...and nothing of the failed one stuck (handle 6)
    got.push(res(yield* c.call(MsgId.MEM_ACCEPT, acceptReq({ handle: 99, trans: LEND, flags: DONE }))));
    got.push(res(yield* c.call(MsgId.MEM_RELEASE, handleReq(99))));
    got.push(res(yield* c.call(MsgId.MEM_RECLAIM, handleReq(99))));
    got.push(res(yield* c.call(MsgId.MEM_NOTIFY, notifyReq(99, 1, 0, [0x80]))));
    got.push(res(yield* c.call(MsgId.MEM_APPEND, appendReq(99, 1, [[A, PAGE]]))));
  }, null);
  const H = E.HANDLE_INVALID;
  assert.deepEqual(got, [0, E.MEM_INVALID, 2, E.MEM_INVALID, E.MEM_INVALID, E.MEM_INVALID, 6, H, H, H, H, H]);
});

test('RM §6.2: ACL and attribute checks — empty lists, duplicate or invalid VMIDs, bad rights, the owner in a LEND or missing from a SHARE, DONATE rules, attributes (VMID_INVALID when the VM is not in the ACL); misaligned SGL is ARGUMENT_INVALID', () => {
  const got: (number | string)[] = [];
  runSystem(function* (c) {
    const mk = (id: number, a: CreateArgs) => c.call(id, createReq(a));
    const sgl: [bigint, bigint][] = [[A, PAGE]];
    got.push(res(yield* mk(MsgId.MEM_LEND, { acl: [], sgl })));
    got.push(res(yield* mk(MsgId.MEM_LEND, { acl: [[0x80, RW]], sgl: [] })));
    got.push(
      res(
        yield* mk(MsgId.MEM_LEND, {
          acl: [
            [0x80, RW],
            [0x80, R],
          ],
          sgl,
        }),
      ),
    );
    got.push(res(yield* mk(MsgId.MEM_LEND, { acl: [[0x80, 2]], sgl }))); // W alone
    got.push(res(yield* mk(MsgId.MEM_LEND, { acl: [[0x90, RW]], sgl }))); // dynamic, not allocated
    got.push(res(yield* mk(MsgId.MEM_LEND, { acl: [[40, RW]], sgl }))); // outside the secondary range
    got.push(
      res(
        yield* mk(MsgId.MEM_LEND, {
          acl: [
            [0x80, RW],
            [3, RW],
          ],
          sgl,
        }),
      ),
    ); // owner in a LEND
    got.push(res(yield* mk(MsgId.MEM_SHARE, { acl: [[0x80, RW]], sgl }))); // owner not in a SHARE
    got.push(
      res(
        yield* mk(MsgId.MEM_DONATE, {
          acl: [
            [0x80, RWX],
            [5, RWX],
          ],
          sgl,
        }),
      ),
    );
    got.push(res(yield* mk(MsgId.MEM_DONATE, { acl: [[0x80, RW]], sgl })));
    got.push(res(yield* mk(MsgId.MEM_LEND, { acl: [[0x80, RW]], sgl, attrs: [[0, 5]] })));
    got.push(res(yield* mk(MsgId.MEM_LEND, { acl: [[0x80, RW]], sgl, attrs: [[4, 0x80]] })));
    got.push(res(yield* mk(MsgId.MEM_LEND, { acl: [[0x80, RW]], sgl, attrs: [[1, 0x80]] }))); // DEVICE on NORMAL
    got.push(res(yield* mk(MsgId.MEM_LEND, { memType: 1, acl: [[0x80, RWX]], sgl }))); // X on IO
    got.push(res(yield* mk(MsgId.MEM_LEND, { memType: 1, flags: 1, acl: [[0x80, RW]], sgl }))); // SANITIZE on IO
    got.push(res(yield* mk(MsgId.MEM_LEND, { acl: [[0x80, RW]], sgl: [[A + 0x10n, PAGE]] })));
    got.push(res(yield* mk(MsgId.MEM_LEND, { acl: [[0x80, RW]], sgl: [[A, 0x800n]] })));
    // A valid secondary VMID need not be allocated (§6.2); handle 13 (the ACL/attr failures above used 0..12).
    got.push(word(yield* mk(MsgId.MEM_LEND, { acl: [[5, RW]], sgl, attrs: [[2, 5]] })));
  }, null);
  const AI = E.ARGUMENT_INVALID;
  assert.deepEqual(got, [AI, AI, AI, AI, AI, AI, AI, AI, AI, E.DENIED, E.VMID_INVALID, AI, AI, AI, AI, AI, AI, 13]);
});

test('RM §1.8/§2.8: malformed lengths are MSG_INVALID (short requests, trailing bytes, lists running past the end); more than 512 list entries is NORESOURCE', () => {
  const got: (number | string)[] = [];
  runSystem(function* (c) {
    const good = createReq({ acl: [[0x80, RW]], sgl: [[A, PAGE]] });
    got.push(res(yield* c.call(MsgId.MEM_LEND, good.slice(0, 19))));
    got.push(res(yield* c.call(MsgId.MEM_LEND, bytes([...good], [0, 0, 0, 0]))));
    // The ACL says 5 entries; 12 bytes follow.
    got.push(
      res(
        yield* c.call(
          MsgId.MEM_LEND,
          bytes([0, 0, 0, 0], u32(0), u16(5), [0, 0], [0x80, 0, 6, 0], sglList([]), attrList([])),
        ),
      ),
    );
    // 513 ACL entries: the count is checked before the length (§1.8), so the entries need not follow.
    got.push(
      res(yield* c.call(MsgId.MEM_LEND, bytes([0, 0, 0, 0], u32(0), u16(513), [0, 0], sglList([]), attrList([])))),
    );
    got.push(res(yield* c.call(MsgId.MEM_ACCEPT, acceptReq({ handle: 0, trans: LEND }).slice(0, 23))));
    got.push(res(yield* c.call(MsgId.MEM_RELEASE, handleReq(0).slice(0, 7))));
    got.push(res(yield* c.call(MsgId.MEM_RECLAIM, handleReq(0).slice(0, 7))));
    got.push(res(yield* c.call(MsgId.MEM_NOTIFY, notifyReq(0, 1, 0).slice(0, 11))));
    got.push(res(yield* c.call(MsgId.MEM_APPEND, appendReq(0, 1, []).slice(0, 11))));
    // A real parcel, for the checks that come after the handle.
    got.push(word(yield* c.call(MsgId.MEM_LEND, good)));
    got.push(res(yield* c.call(MsgId.MEM_NOTIFY, notifyReq(0, 1, 0)))); // SHARED without its list
    got.push(res(yield* c.call(MsgId.MEM_NOTIFY, bytes([...notifyReq(0, 1, 0)], u16(2), [0, 0], [0x80, 0, 0, 0]))));
  }, null);
  const M = E.MSG_INVALID;
  assert.deepEqual(got, [M, M, M, E.NORESOURCE, M, M, M, M, M, 0, M, M]);
});

test('RM §2.8/§6.3: ACCEPT error order as seen by a VM that may not accept — wrong trans_type, VALIDATE_* mismatches, MAP_OTHER, map_vmid ≠ 0, not in the ACL (VMID_INVALID); RELEASE by a VM outside the ACL is HANDLE_INVALID; RECLAIM by a non-owner is DENIED', () => {
  const owner: (number | string)[] = [];
  const guest: (number | string)[] = [];
  runSystem(
    function* (c) {
      yield* c.call(MsgId.MEM_LEND, createReq({ label: 9, acl: [[0x80, RW]], sgl: [[A, PAGE]] }));
      yield* c.call(MsgId.MEM_LEND, createReq({ acl: [[5, RW]], sgl: [[B, PAGE]] }));
      const acc = (a: Partial<AcceptArgs>) =>
        c.call(MsgId.MEM_ACCEPT, acceptReq({ handle: 0, trans: LEND, flags: DONE, ...a }));
      owner.push(res(yield* acc({ trans: SHARE })));
      owner.push(res(yield* acc({ memType: 1 })));
      owner.push(res(yield* acc({ flags: DONE | 1 }))); // not sanitised at create
      owner.push(res(yield* acc({ flags: DONE | 4, label: 8 })));
      owner.push(res(yield* acc({ flags: DONE | 2, acl: [[0x80, R]] })));
      owner.push(res(yield* acc({ flags: DONE | 8 })));
      owner.push(res(yield* acc({ mapVmid: 3 })));
      owner.push(res(yield* acc({})));
      owner.push(res(yield* c.call(MsgId.MEM_RELEASE, handleReq(0))));
      yield* c.call(MsgId.MEM_NOTIFY, notifyReq(0, 1, 0, [0x80]));
    },
    function* (c) {
      yield* c.note();
      guest.push(res(yield* c.call(MsgId.MEM_RECLAIM, handleReq(0))));
      guest.push(res(yield* c.call(MsgId.MEM_ACCEPT, acceptReq({ handle: 1, trans: LEND, flags: DONE }))));
      guest.push(res(yield* c.call(MsgId.MEM_RELEASE, handleReq(1))));
      guest.push(res(yield* c.call(MsgId.MEM_RELEASE, handleReq(0)))); // in the ACL, not holding it
      guest.push(
        res(
          yield* c.call(
            MsgId.MEM_ACCEPT,
            acceptReq({ handle: 0, trans: LEND, flags: DONE | 32, sgl: [[0x8000_0000n, PAGE]] }),
          ),
        ),
      );
      guest.push(res(yield* c.call(MsgId.MEM_ACCEPT, acceptReq({ handle: 0, trans: LEND, flags: DONE }))));
      guest.push(res(yield* c.call(MsgId.MEM_ACCEPT, acceptReq({ handle: 0, trans: LEND, flags: DONE })))); // already mapped
      guest.push(res(yield* c.call(MsgId.MEM_RELEASE, handleReq(0, 1)))); // SANITIZE with W: allowed
    },
  );
  assert.deepEqual(owner, [
    E.ARGUMENT_INVALID,
    E.ARGUMENT_INVALID,
    E.VALIDATE_FAILED,
    E.VALIDATE_FAILED,
    E.VALIDATE_FAILED,
    E.DENIED,
    E.ARGUMENT_INVALID,
    E.VMID_INVALID,
    E.HANDLE_INVALID,
  ]);
  // SANITIZE on ACCEPT of an RW parcel is allowed (it arms the wipe at reclaim).
  assert.deepEqual(guest, [E.DENIED, E.VMID_INVALID, E.HANDLE_INVALID, E.MEM_RELEASED, E.OK, E.DENIED, E.DENIED, E.OK]);
});

test('RM §2.8: MEM_NOTIFY rules — flags value, VMID list (n = 0, n > ACL, unknown VM, VM outside the ACL), only the owner sends SHARED/RECALL, the first SHARED fixes the tag, ACCEPTED while not holding is MEM_RELEASED; SHARED to a READY VM with no matching vdevice answers MEM_RELEASED', () => {
  const got: (number | string)[] = [];
  const guest: (number | string)[] = [];
  let rmRef: ResourceManager | null = null;
  runSystem(
    function* (c) {
      yield* c.call(
        MsgId.MEM_LEND,
        createReq({
          acl: [
            [0x80, RW],
            [5, R],
          ],
          sgl: [[A, PAGE]],
        }),
      );
      got.push(res(yield* c.call(MsgId.MEM_NOTIFY, notifyReq(0, 3, 1, [0x80]))));
      got.push(res(yield* c.call(MsgId.MEM_NOTIFY, notifyReq(0, 1, 1, []))));
      got.push(res(yield* c.call(MsgId.MEM_NOTIFY, notifyReq(0, 1, 1, [0x80, 5, 3]))));
      got.push(res(yield* c.call(MsgId.MEM_NOTIFY, notifyReq(0, 1, 1, [5])))); // valid VMID, no such VM
      got.push(res(yield* c.call(MsgId.MEM_NOTIFY, notifyReq(0, 1, 1, [3])))); // a VM, not in the ACL
      got.push(res(yield* c.call(MsgId.MEM_NOTIFY, notifyReq(0, 1, 0x77, [0x80]))));
      got.push(res(yield* c.call(MsgId.MEM_NOTIFY, notifyReq(0, 8, 0x78, [0x80])))); // wrong tag now
      got.push(res(yield* c.call(MsgId.MEM_NOTIFY, notifyReq(0, 4, 0x77)))); // owner not in the ACL
      yield* c.note(); // from the guest
      // A READY target is accepted for by the RM; with no VM config, nothing matches. (0x81 is not
      // allocated yet: that LEND fails, using up handle 1.)
      got.push(res(yield* c.call(MsgId.MEM_LEND, createReq({ acl: [[0x81, RW]], sgl: [[B, PAGE]] }))));
      got.push(word(yield* c.call(MsgId.VM_ALLOCATE, bytes(u16(0), [0, 0]))));
      got.push(word(yield* c.call(MsgId.MEM_LEND, createReq({ acl: [[0x81, RW]], sgl: [[B, PAGE]] }))));
      // VM_INIT's state changes, made directly (this test stands in for it).
      const t = rmRef!.table;
      t.setState(t.vms.get(0x81)!, VmState.INIT);
      t.setState(t.vms.get(0x81)!, VmState.READY);
      got.push(res(yield* c.call(MsgId.MEM_NOTIFY, notifyReq(2, 1, 0, [0x81]))));
    },
    function* (c) {
      const s = yield* c.note();
      guest.push(view(s.payload).getUint32(16, true));
      guest.push(res(yield* c.call(MsgId.MEM_NOTIFY, notifyReq(0, 1, 0x77, [0x80]))));
      guest.push(res(yield* c.call(MsgId.MEM_NOTIFY, notifyReq(0, 4, 0x77))));
      guest.push(res(yield* c.call(MsgId.MEM_NOTIFY, notifyReq(0, 2, 0x77))));
      guest.push(res(yield* c.call(MsgId.MEM_ACCEPT, acceptReq({ handle: 0, trans: LEND, flags: DONE }))));
      guest.push(res(yield* c.call(MsgId.MEM_NOTIFY, notifyReq(0, 2, 0x77))));
      guest.push(res(yield* c.call(MsgId.MEM_NOTIFY, notifyReq(0, 4, 0x77))));
    },
    { onStart: (rm) => (rmRef = rm) },
  );
  const AI = E.ARGUMENT_INVALID;
  assert.deepEqual(got, [AI, AI, AI, E.VMID_INVALID, AI, E.OK, AI, E.HANDLE_INVALID, AI, 0x81, 2, E.MEM_RELEASED]);
  assert.deepEqual(guest, [0x77, E.DENIED, E.MEM_RELEASED, E.OK, E.OK, E.MEM_INUSE, E.OK]);
});

test("RM §6.3 step 7/§9.2: VM_RESET's force-release takes a parcel back from its borrower (unmapped, IPAs freed) and sends the owner MEM_RELEASED {handle, vmid, tag}; RECLAIM then succeeds", () => {
  const owner: (number | string)[] = [];
  let released: Uint8Array = new Uint8Array();
  const env = runSystem(
    function* (c) {
      owner.push(res(yield* c.call(MsgId.MEM_LEND, createReq({ acl: [[0x80, RW]], sgl: [[A, PAGE]] }))));
      owner.push(res(yield* c.call(MsgId.MEM_NOTIFY, notifyReq(0, 1, 0, [0x80]))));
      yield* c.note(); // ACCEPTED
      owner.push(res(yield* c.call(MsgId.MEM_RECLAIM, handleReq(0))));
      const n = yield* c.note(); // sent by the force-release, between the runs
      if (n.msgId === MsgId.MEM_RELEASED) released = n.payload;
      owner.push(res(yield* c.call(MsgId.MEM_RECLAIM, handleReq(0))));
    },
    function* (c) {
      yield* c.note();
      yield* c.call(MsgId.MEM_ACCEPT, acceptReq({ handle: 0, trans: LEND, flags: DONE }));
      yield* c.call(MsgId.MEM_NOTIFY, notifyReq(0, 4, 0));
    },
    { between: (rm) => rm.parcels.releaseAll(0x80) },
  );
  assert.deepEqual(owner, [E.OK, E.OK, E.MEM_INUSE, E.OK]);
  assert.deepEqual(released, hex('00000000 8000 0000 00000000'));
  const { rm, rmVcpu } = env;
  const ram = rm.vms.get(3)!.memory[0]!.memextent;
  assert.equal(rm.vms.get(0x80)!.memory.length, 0);
  assert.equal(
    rmVcpu.call('addrspace_lookup', rm.vms.get(0x80)!.addrspace, ram, 0x4000_0000n, PAGE, 0n).e,
    Err.ADDR_INVALID,
  );
  assert.equal(rmVcpu.call('addrspace_lookup', rm.vms.get(3)!.addrspace, ram, A, PAGE, 0n).e, Err.OK);
});

test('RM §1.8/§2.8 (property): any bytes sent as any MEM_* request get exactly one reply with an RM error code, never a host exception', () => {
  const known = new Set<number>(Object.values(RmError));
  const parcels = new MemParcels({ vms: new Map(), table: new VmTable(), hyp: null, info: null, notify: () => {} });
  const ids = [
    MsgId.MEM_LEND,
    MsgId.MEM_SHARE,
    MsgId.MEM_DONATE,
    MsgId.MEM_APPEND,
    MsgId.MEM_ACCEPT,
    MsgId.MEM_RELEASE,
    MsgId.MEM_RECLAIM,
    MsgId.MEM_NOTIFY,
  ];
  // Well-formed requests with random fields, and random bytes.
  const wellFormed = fc
    .record({
      memType: fc.integer({ min: 0, max: 3 }),
      flags: fc.integer({ min: 0, max: 255 }),
      acl: fc.array(fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
      sgl: fc.array(
        fc.tuple(
          fc.bigUint64Array({ minLength: 1, maxLength: 1 }).map((a) => a[0]!),
          fc.constantFrom(0n, PAGE, 0x800n),
        ),
        { maxLength: 3 },
      ),
    })
    .map((a) => createReq(a as CreateArgs));
  fc.assert(
    fc.property(
      fc.constantFrom(...ids),
      fc.oneof(fc.uint8Array({ maxLength: 80 }), wellFormed),
      fc.integer({ min: 0, max: 255 }),
      (id, p, caller) => {
        const r = parcels.handle(caller, id, p);
        assert.ok(r !== null);
        assert.ok(known.has(r.error), `error ${r.error}`);
        assert.notEqual(r.error, RmError.OK);
      },
    ),
    { numRuns: 3000 },
  );
  assert.equal(parcels.handle(3, MsgId.VM_ALLOCATE, new Uint8Array(4)), null);
});

test('RM §2.8/§6.2: an owner may have 64 live parcels; the 65th is DENIED (and takes no handle); after a RECLAIM it may create one again', () => {
  const got: (number | string)[] = [];
  runSystem(function* (c) {
    for (let i = 0; i < 64; i++) {
      const r = yield* c.call(MsgId.MEM_LEND, createReq({ acl: [[0x80, RW]], sgl: [[A + BigInt(i) * PAGE, PAGE]] }));
      if (word(r) !== i) got.push(`LEND ${i}: ${res(r)}`);
    }
    got.push(res(yield* c.call(MsgId.MEM_LEND, createReq({ acl: [[0x80, RW]], sgl: [[B, PAGE]] }))));
    got.push(res(yield* c.call(MsgId.MEM_RECLAIM, handleReq(10))));
    got.push(word(yield* c.call(MsgId.MEM_LEND, createReq({ acl: [[0x80, RW]], sgl: [[B, PAGE]] }))));
  }, null);
  assert.deepEqual(got, [E.DENIED, E.OK, 64]);
});

test('RM §2.8/§6.2: MEM_APPEND adds regions to a parcel created with APPEND until DONE; only the owner, only while building (DENIED); an empty SGL is ARGUMENT_INVALID; NOTIFY(SHARED) of a parcel still being built is DENIED', () => {
  const got: (number | string)[] = [];
  let rmRef: ResourceManager | null = null;
  const regions: number[] = [];
  runSystem(
    function* (c) {
      got.push(word(yield* c.call(MsgId.MEM_LEND, createReq({ flags: 2, acl: [[0x80, RW]], sgl: [[A, PAGE]] }))));
      got.push(word(yield* c.call(MsgId.MEM_LEND, createReq({ acl: [[0x80, RW]], sgl: [[B, PAGE]] }))));
      got.push(res(yield* c.call(MsgId.MEM_NOTIFY, notifyReq(0, 1, 0, [0x80]))));
      got.push(res(yield* c.call(MsgId.MEM_APPEND, appendReq(0, 0, []))));
      got.push(res(yield* c.call(MsgId.MEM_APPEND, appendReq(0, 0, [[C, PAGE]]))));
      got.push(res(yield* c.call(MsgId.MEM_APPEND, appendReq(0, 0, [[A, PAGE]])))); // already in it
      got.push(res(yield* c.call(MsgId.MEM_APPEND, appendReq(0, 1, [[C + 0x10_0000n, PAGE]]))));
      regions.push(rmRef!.parcels.get(0)!.regions.length);
      got.push(res(yield* c.call(MsgId.MEM_APPEND, appendReq(0, 1, [[C + 0x20_0000n, PAGE]]))));
      got.push(res(yield* c.call(MsgId.MEM_APPEND, appendReq(1, 1, [[C + 0x20_0000n, PAGE]]))));
      got.push(res(yield* c.call(MsgId.MEM_NOTIFY, notifyReq(0, 1, 0, [0x80]))));
    },
    function* (c) {
      const s = yield* c.note();
      // MEM_SHARED lists the three region sizes.
      const d = view(s.payload);
      regions.push(d.getUint16(28, true));
      got.push(res(yield* c.call(MsgId.MEM_APPEND, appendReq(0, 1, [[0x1000n, PAGE]]))));
    },
    { onStart: (rm) => (rmRef = rm) },
  );
  assert.deepEqual(got, [
    0,
    1,
    E.DENIED,
    E.ARGUMENT_INVALID,
    E.OK,
    E.MEM_INVALID,
    E.OK,
    E.DENIED,
    E.DENIED,
    E.OK,
    E.DENIED,
  ]);
  assert.deepEqual(regions, [3, 3]);
});

test('RM §2.8/§6.3: SANITIZE at create zeroes the memory (memextent_modify ZERO_RANGE); without it, and without a sanitise request, RECLAIM gives the memory back as it was', () => {
  const reads: (Uint8Array | number)[] = [];
  runSystem(function* (c) {
    c.write(A, pattern(40));
    c.write(B, pattern(41));
    yield* c.call(MsgId.MEM_LEND, createReq({ flags: 1, acl: [[0x80, RW]], sgl: [[A, PAGE]] }));
    yield* c.call(MsgId.MEM_LEND, createReq({ acl: [[0x80, RW]], sgl: [[B, PAGE]] }));
    yield* c.call(MsgId.MEM_RECLAIM, handleReq(0));
    yield* c.call(MsgId.MEM_RECLAIM, handleReq(1));
    reads.push(c.read(A, 16), c.read(B, 16));
  }, null);
  assert.deepEqual(reads, [new Uint8Array(16), pattern(41)]);
});
