// Shared-memory vdevices and the guest's /reserved-memory (RM spec §2.8 MEM_SHARED to a READY VM,
// §2.2 VM_START, §4.1 "shm / shm-doorbell", "message-queue", "/reserved-memory", "/memory",
// "/vsoc", §4.3 vm-config vdevices). A native VMM on the primary drives the RM with RmClient; the
// guest is a native program run by that VMM with vcpu_run, which finds its devices in the DT at X0
// as a kernel would and uses them. Expected values are the spec's; the blobs go through dtc.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { oracleMissing } from '../helpers/oracle.js';
import type { Hypervisor } from '../../src/hyp/hypervisor.js';
import type { ResourceManager } from '../../src/rm/rm.js';
import { describeFailure, type RmClient, type RmResult } from '../../src/vmm/rm-client/client.js';
import type { RmIrq, RmVcpu } from '../../src/rm/port.js';
import type { RpcMessage } from '../../src/rm/rpc/index.js';
import { Fdt, FdtNode, readFdt } from '../../src/machine/fdt/index.js';
import { encodeU32 } from '../../src/machine/fdt/props.js';
import type { HypResource } from '../../src/rm/msgs/hyp-resources.js';
import {
  createVm,
  guestDt,
  must,
  primarySystem,
  rmLink,
  runToIdle,
  vcpuRun,
  type GuestDtOptions,
  type VdevProps,
} from './harness.js';

const DTC = spawnSync('dtc', ['--version']).status === 0;
const skipDtc = DTC ? false : oracleMissing('dtc', 'apt-get install device-tree-compiler');

/** The guest's image parcel inside the primary's RAM (IPA = PA there), and where the guest sees it. */
const GUEST_PA = 0x4800_0000n;
const GUEST_SIZE = 0x20_0000n;
const GUEST_BASE = 0x8000_0000n;
const DT_SIZE = 0x4000n;
/** The shared buffers, in the primary's RAM, and the fixed base the shm vdevices give them. */
const SHM_PA = 0x4900_0000n;
const SHM_SIZE = 0x1_0000n;
const SHM_BASE = 0xa000_0000n;
const OWNER = 3;

// RM spec §2.1 / §2.8 / §2.4 numbers.
const MEM_RELEASED_NTF = 0x5110_0012;
const MEM_ACCEPTED_NTF = 0x5110_0013;
const NOTIFY_VM_STATUS = 0x5610_0008;
const E_OK = 0;
const E_MEM_RELEASED = 0xc;
const E_NORESOURCE = 0x2;
const E_MEM_INUSE = 0xb;
const NOTIFY_SHARED = 1;
const VM_STATUS_READY = 2;
const VM_STATUS_RUNNING = 3;
const VM_STATUS_INIT_FAILED = 8;
const VM_STATUS_RESET = 11;
/** §2.3 resource types. */
const DOORBELL_SRC = 0;
const DOORBELL = 1;
const MSG_QUEUE_SEND = 2;
const MSG_QUEUE_RECV = 3;
const VIRTUAL_CPU = 4;

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const str = (b: Uint8Array | number): string =>
  typeof b === 'number' ? `error ${b}` : new TextDecoder().decode(b).replace(/\0+$/, '');
const u64 = (v: Uint8Array): bigint => new DataView(v.buffer, v.byteOffset, v.byteLength).getBigUint64(0, false);
/** MEM_ACCEPTED / MEM_RELEASED as §2.8 lays them out: {u32 handle; u16 vmid; u16 res; u32 tag}, LE. */
function ownerNotice(handle: number, vmid: number, tag: number): Uint8Array {
  const b = new Uint8Array(12);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, handle, true);
  dv.setUint16(4, vmid, true);
  dv.setUint32(8, tag, true);
  return b;
}

/** The VM's DT with its VM-config (§4.3, §9.2): a CPU, PSCI, the rm-rpc vdevice and `vdevs`. */
const shmDt = (vdevs: Record<string, VdevProps>, extra?: GuestDtOptions['extra']): Uint8Array =>
  guestDt({ memory: false, affinity: null, vdevices: vdevs, extra });

/** What the owner's program gets: its vCPU, client, and helpers over the raw notifications. */
interface Owner {
  v: RmVcpu;
  c: RmClient;
  irq: RmIrq;
  /** Every notification received so far (raw, as on the wire), oldest first. */
  notes: RpcMessage[];
  must<T>(what: string, r: RmResult<T>): T;
  /** Collect the notifications that have arrived. */
  drain(): void;
  /** Wait until a notification satisfying `pred` has arrived. */
  until(pred: (m: RpcMessage) => boolean): Generator<'wait', void, void>;
  /** Allocate a VM, lend its image parcel with `dt` in it, CONFIG_IMAGE and INIT it. */
  create(dt: Uint8Array): Generator<'wait', { vmid: number; image: number }, void>;
  /** Lend (or share) SHM_SIZE bytes at `pa` to `vmid` with `label`. */
  lendShm(vmid: number, pa: bigint, label: number, share?: boolean): Generator<'wait', number, void>;
  /** STOP if running, RESET (waiting for VM_STATUS RESET), RECLAIM every parcel, DEALLOCATE. */
  teardown(vmid: number, parcels: number[]): Generator<'wait', void, void>;
  /** Run the guest's vCPU once: the vcpu_run state (1 EXPECTS_WAKEUP, 2 POWERED_OFF, …). */
  run(vcpu: HypResource): number;
}

interface Liveness {
  doorbell: number;
  msgqueue: number;
  memextent: number;
}

const live = (hv: Hypervisor): Liveness => ({
  doorbell: hv.liveOf('doorbell').length,
  msgqueue: hv.liveOf('msgqueue').length,
  memextent: hv.liveOf('memextent').length,
});

/**
 * Boot the hypervisor, the RM and the primary; run `owner` as the primary's VMM and `guest` as the
 * (first) guest VM's vCPU program. Returns the object counts when the primary started and at the end.
 */
function scenario(
  owner: (o: Owner) => Generator<'wait', void, void>,
  /** The guest's program; a plain function for one that never waits. */
  guest: (v: RmVcpu, dt: Fdt) => Generator<'wait', void, void> | void,
): { before: Liveness; after: Liveness; rm: ResourceManager } {
  let before: Liveness | null = null;
  const s = primarySystem(
    function* (v: RmVcpu, { hv }) {
      // The RM has booted and made the primary: count from here.
      before = live(hv);
      const { irq, c } = rmLink(v);
      const notes: RpcMessage[] = [];
      const drain = (): void => {
        c.transport.pump();
        notes.push(...c.transport.notifications.splice(0));
      };
      const o: Owner = {
        v,
        c,
        irq,
        notes,
        must,
        drain,
        *until(pred) {
          for (;;) {
            const taken: number[] = [];
            for (let id = irq.ack(); id !== 1023; id = irq.ack()) taken.push(id);
            drain();
            for (const id of taken) irq.eoi(id);
            if (notes.some(pred)) return;
            yield 'wait';
          }
        },
        *create(dt) {
          const { vmid, handle } = yield* createVm(v, c, { dt });
          return { vmid, image: handle };
        },
        *lendShm(vmid, pa, label, share = false) {
          const req = {
            memType: 0,
            flags: 0,
            label,
            acl: share
              ? [
                  { vmid, rights: 6 },
                  { vmid: OWNER, rights: 7 },
                ]
              : [{ vmid, rights: 6 }],
            sgl: [{ ipa: pa, size: SHM_SIZE }],
            attrs: [],
          };
          return must('lend shm', share ? yield* c.memShare(req) : yield* c.memLend(req));
        },
        *teardown(vmid, parcels) {
          // A guest that powered off may not have been seen to exit yet: STOP(FORCE) makes sure
          // (VM_STATE when it is not running — READY, INIT_FAILED or already EXITED).
          yield* c.vmStop(vmid);
          must('reset', yield* c.vmReset(vmid));
          yield* o.until(
            (m) => m.msgId === NOTIFY_VM_STATUS && m.payload[0] === vmid && m.payload[4] === VM_STATUS_RESET,
          );
          for (const h of parcels) must(`reclaim ${h}`, yield* c.memReclaim(h));
          must('deallocate', yield* c.vmDeallocate(vmid));
        },
        run: (vcpu) => vcpuRun(v, vcpu.capId),
      };
      yield* owner(o);
    },
    () =>
      function* (v: RmVcpu) {
        const bytes = v.memory!.read(v.bootX0, Number(DT_SIZE));
        if (typeof bytes === 'number') throw new Error(`guest cannot read its DT (${bytes})`);
        const g = guest(v, readFdt(bytes));
        if (g) yield* g;
      },
  );
  runToIdle(s, 800_000_000);
  assert.ok(before !== null, 'the primary ran');
  return { before, after: live(s.hv), rm: s.rm };
}

/** The node at `path` whose name starts with `prefix`. */
function childOf(dt: Fdt, path: string, prefix: string): [string, FdtNode] {
  const hit = [...dt.lookup(path)!.children].find(([name]) => name.startsWith(prefix));
  assert.ok(hit, `${path}/${prefix}… in the guest DT`);
  return [`${path}/${hit[0]}`, hit[1]];
}

function dtcDecompile(blob: Uint8Array): string {
  const r = spawnSync('dtc', ['-q', '-I', 'dtb', '-O', 'dts'], { input: blob });
  assert.equal(r.status, 0, `dtc failed: ${r.stderr}`);
  return r.stdout.toString();
}

const SHM_CONFIG: Record<string, VdevProps> = {
  shm0: {
    'vdevice-type': 'shm',
    generate: '/hypervisor/shm0',
    label: [5],
    base: [0, Number(SHM_BASE)],
    'peer-default': true,
    'push-compatible': ['vendor,ring'],
    dma_base: [0, 0x1000],
  },
};

test('RM §2.8/§4.1: an shm vdevice with a fixed base — NOTIFY(SHARED) of a parcel with its label to the READY VM is accepted by the RM at that base (MEM_ACCEPTED {handle, vmid, tag}); the guest finds the shm node, its /reserved-memory buffer node (handle, phandle = memory-region) and /memory, and reads and writes the buffer at the base; VM_RESET releases it and leaves no object behind', () => {
  const log: string[] = [];
  let guestDtSeen: Fdt | null = null;
  let handles = { vmid: 0, image: 0, shm: 0 };
  const { before, after } = scenario(
    function* (o) {
      const { vmid, image } = yield* o.create(shmDt(SHM_CONFIG));
      // The buffer's contents before the lend (the lender loses access with LEND, §6.1).
      o.v.memory!.write(SHM_PA, text('from the owner'));
      const shm = yield* o.lendShm(vmid, SHM_PA, 5);
      handles = { vmid, image, shm };
      o.drain();
      const n0 = o.notes.length;
      const r = yield* o.c.memNotify({ handle: shm, flags: NOTIFY_SHARED, memInfoTag: 0x77, vmids: [vmid] });
      log.push(r.ok ? 'notify OK' : `notify ${describeFailure(r)}`);
      o.drain();
      const mem = o.notes.slice(n0).filter((m) => m.msgId === MEM_ACCEPTED_NTF || m.msgId === MEM_RELEASED_NTF);
      assert.deepEqual(
        mem.map((m) => [m.msgId, [...m.payload]]),
        [[MEM_ACCEPTED_NTF, [...ownerNotice(shm, vmid, 0x77)]]],
        'one MEM_ACCEPTED, 12 bytes {handle, vmid, tag}',
      );
      // Accepted, so the RM holds it for the VM: RECLAIM is MEM_INUSE (§6.3 step 5).
      const rc = yield* o.c.memReclaim(shm);
      log.push(rc.ok ? 'reclaim OK' : `reclaim ${describeFailure(rc)}`);
      const res = o.must('resources', yield* o.c.vmGetHypResources(vmid));
      o.must('start', yield* o.c.vmStart(vmid));
      log.push(`run ${o.run(res.find((x) => x.type === VIRTUAL_CPU)!)}`);
      yield* o.teardown(vmid, [image, shm]);
      // The guest's write is in the owner's memory again.
      log.push(str(o.v.memory!.read(SHM_PA + 0x100n, 15)));
      const released = o.notes.filter((m) => m.msgId === MEM_RELEASED_NTF).map((m) => [...m.payload]);
      assert.deepEqual(
        released,
        [[...ownerNotice(image, vmid, 0)], [...ownerNotice(shm, vmid, 0x77)]].sort((a, b) => a[0]! - b[0]!),
        'VM_RESET force-releases both parcels, the shm one with its tag (§6.3 step 7)',
      );
    },
    (v, dt) => {
      guestDtSeen = dt;
      const shmNode = dt.lookup('/hypervisor/shm0')!;
      const region = shmNode.getCells('memory-region')![0]!;
      const rsv = dt.pathOfPhandle(region)!;
      const reg = dt.reg(rsv)!;
      log.push(`${rsv} ${reg.map((e) => `${e.address.toString(16)}+${e.size.toString(16)}`).join(',')}`);
      log.push(`guest reads ${str(v.memory!.read(reg[0]!.address, 14))}`);
      assert.equal(v.memory!.write(reg[0]!.address + 0x100n, text('from the guest!')), 0, 'the guest may write (RW)');
    },
  );
  assert.deepEqual(log, [
    'notify OK',
    `reclaim ${describeFailure({ ok: false, error: E_MEM_INUSE })}`,
    `/reserved-memory/buffer@${SHM_BASE.toString(16)} ${SHM_BASE.toString(16)}+${SHM_SIZE.toString(16)}`,
    'guest reads from the owner',
    'run 2',
    'from the guest!',
  ]);
  const dt = guestDtSeen as Fdt | null;
  assert.ok(dt);
  // §4.1 shm node: at the generate path without a unit address.
  const n = dt.lookup('/hypervisor/shm0')!;
  assert.equal(n.name, 'shm0');
  assert.deepEqual(n.getStrings('compatible'), ['vendor,ring', 'qcom,shared-memory'], 'push-compatibles first');
  const buf = dt.lookup(`/reserved-memory/buffer@${SHM_BASE.toString(16)}`)!;
  assert.deepEqual(n.getCells('memory-region'), [buf.phandle], 'memory-region = the buffer node phandle');
  assert.deepEqual(n.getCells('buffer'), [buf.phandle]);
  assert.deepEqual(n.getCells('peer'), [OWNER], 'peer: the owner VMID (u32)');
  assert.deepEqual([n.getCells('qcom,label'), n.getCells('label')], [[5], [5]]);
  assert.equal(u64(n.getProperty('dma_base')!), 0x1000n, 'dma_base (u64) as configured');
  // /reserved-memory: created with the root's cells and ranges; the buffer node's properties.
  const r = dt.lookup('/reserved-memory')!;
  assert.deepEqual([r.getCells('#address-cells'), r.getCells('#size-cells')], [[2], [2]]);
  assert.equal(r.getProperty('ranges')?.length, 0);
  assert.deepEqual(buf.getCells('reg'), [0, Number(SHM_BASE), 0, Number(SHM_SIZE)]);
  assert.equal(buf.getProperty('qcom,shared-memory')?.length, 0);
  assert.equal(buf.getProperty('no-map')?.length, 0);
  assert.deepEqual(buf.getCells('qcom,rm-mem-handle'), [handles.shm]);
  assert.deepEqual(buf.getCells('qcom,label'), [5]);
  // [infer] peers = the parcel's owner and the rest of its ACL, without the VM itself.
  assert.deepEqual(buf.getCells('peers'), [OWNER]);
  assert.deepEqual(buf.getStrings('compatible'), ['vendor,ring'], "the shm vdevice's push-compatibles");
  // /memory: every accepted range — the image parcel and the buffer — sorted (§4.1).
  assert.deepEqual(dt.lookup('/memory')!.getCells('reg'), [
    0,
    Number(GUEST_BASE),
    0,
    Number(GUEST_SIZE),
    0,
    Number(SHM_BASE),
    0,
    Number(SHM_SIZE),
  ]);
  // /vsoc simple-bus (§4.1).
  const vsoc = dt.lookup('/vsoc')!;
  assert.deepEqual(vsoc.getStrings('compatible'), ['simple-bus']);
  assert.deepEqual([vsoc.getCells('#address-cells'), vsoc.getCells('#size-cells')], [[2], [2]]);
  assert.equal(handles.vmid, 0x80);
  assert.deepEqual(after, before, 'no doorbell, message queue or memory extent left');
});

test('RM §2.8: NOTIFY(SHARED) to a READY VM — a label no shm vdevice has, or one whose shm has no fixed base (allocate-base), is not accepted: the reply is MEM_RELEASED and no notification is sent; a parcel whose accept fails (the base is taken by another) gets OK and MEM_RELEASED {handle, vmid, tag} to the owner', () => {
  const log: string[] = [];
  const { before, after } = scenario(
    function* (o) {
      const { vmid, image } = yield* o.create(
        shmDt({
          fixed: { 'vdevice-type': 'shm', label: [7], base: [0, Number(SHM_BASE)], 'peer-default': true },
          moving: { 'vdevice-type': 'shm', label: [11], 'allocate-base': true, 'peer-default': true, optional: true },
        }),
      );
      const first = yield* o.lendShm(vmid, SHM_PA, 7);
      const again = yield* o.lendShm(vmid, SHM_PA + SHM_SIZE, 7);
      const stranger = yield* o.lendShm(vmid, SHM_PA + 2n * SHM_SIZE, 9);
      const moving = yield* o.lendShm(vmid, SHM_PA + 3n * SHM_SIZE, 11);
      for (const [h, tag] of [
        [first, 1],
        [again, 2],
        [stranger, 3],
        [moving, 4],
      ] as const) {
        o.drain();
        const n0 = o.notes.length;
        const r = yield* o.c.memNotify({ handle: h, flags: NOTIFY_SHARED, memInfoTag: tag, vmids: [vmid] });
        o.drain();
        const sent = o.notes
          .slice(n0)
          .filter((m) => m.msgId === MEM_ACCEPTED_NTF || m.msgId === MEM_RELEASED_NTF)
          .map((m) => `${m.msgId === MEM_ACCEPTED_NTF ? 'ACCEPTED' : 'RELEASED'} ${[...m.payload].join(',')}`);
        log.push(`${tag}: ${r.ok ? E_OK : typeof r.error === 'number' ? r.error : 'transport'} [${sent.join('; ')}]`);
      }
      // Only the first is held by the VM: the others can be reclaimed at once (§6.3 step 5).
      for (const h of [again, stranger, moving]) o.must(`reclaim ${h}`, yield* o.c.memReclaim(h));
      const st = o.must('state', yield* o.c.vmGetState(vmid));
      log.push(`state ${st.vmState}`);
      yield* o.teardown(vmid, [image, first]);
    },
    () => {
      throw new Error('the guest never runs');
    },
  );
  const notice = (h: number, tag: number): string => [...ownerNotice(h, 0x80, tag)].join(',');
  assert.deepEqual(log, [
    `1: ${E_OK} [ACCEPTED ${notice(1, 1)}]`,
    `2: ${E_OK} [RELEASED ${notice(2, 2)}]`,
    `3: ${E_MEM_RELEASED} []`,
    `4: ${E_MEM_RELEASED} []`,
    `state ${VM_STATUS_READY}`,
  ]);
  assert.deepEqual(after, before, 'no memory extent left');
});

test('RM §4.1/§2.3/§2.2: an shm-doorbell — VM_START accepts the parcel with its label at the base; the node references its two doorbell nodes (tx: doorbell-source, rx: doorbell, each with a phandle) by tx-doorbell/rx-doorbell; the owner gets DOORBELL + DOORBELL_SRC with the label; guest and owner ping-pong through the buffer and the doorbells', () => {
  const log: string[] = [];
  let seen: Fdt | null = null;
  const { before, after } = scenario(
    function* (o) {
      const { vmid, image } = yield* o.create(
        shmDt({
          bells: {
            'vdevice-type': 'shm-doorbell',
            generate: '/hypervisor/bells',
            label: [3],
            base: [0, Number(SHM_BASE)],
            'peer-default': true,
          },
        }),
      );
      // Shared, so the owner keeps access to the buffer (§6.1); no NOTIFY: VM_START takes it.
      const shm = yield* o.lendShm(vmid, SHM_PA, 3, true);
      const res = o.must('resources', yield* o.c.vmGetHypResources(vmid));
      log.push(
        res
          .filter((x) => x.type !== VIRTUAL_CPU)
          .map((x) => `${x.type}:${x.label}:${x.partnerVmid}:${x.virq === 0 ? 'no virq' : 'virq'}`)
          .join(' '),
      );
      const rx = res.find((x) => x.type === DOORBELL)!; // the guest rings, the owner receives
      const tx = res.find((x) => x.type === DOORBELL_SRC)!; // the owner rings, the guest receives
      o.drain();
      const n0 = o.notes.length;
      o.must('start', yield* o.c.vmStart(vmid));
      o.drain();
      log.push(
        `status ${o.notes
          .slice(n0)
          .filter((m) => m.msgId === NOTIFY_VM_STATUS)
          .map((m) => m.payload[4])}`,
      );
      const vcpu = res.find((x) => x.type === VIRTUAL_CPU)!;
      log.push(`run ${o.run(vcpu)}`); // the guest writes "ping", rings, waits
      const got = o.v.call('doorbell_receive', rx.capId, 0xffn, 0n);
      log.push(`owner bell flags ${got.x[1]}, buffer "${str(o.v.memory!.read(SHM_PA, 4))}"`);
      o.v.memory!.write(SHM_PA, text('pong'));
      assert.equal(o.v.call('doorbell_send', tx.capId, 0x2n, 0n).e, 0, 'owner rings');
      log.push(`run ${o.run(vcpu)}`); // the guest sees "pong" and stops
      log.push(str(o.v.memory!.read(SHM_PA + 0x10n, 11)));
      yield* o.teardown(vmid, [image, shm]);
    },
    function* (v, dt): Generator<'wait', void, void> {
      seen = dt;
      const node = dt.lookup('/hypervisor/bells')!;
      const txPath = dt.pathOfPhandle(node.getCells('tx-doorbell')![0]!)!;
      const rxPath = dt.pathOfPhandle(node.getCells('rx-doorbell')![0]!)!;
      const txCap = u64(dt.lookup(txPath)!.getProperty('reg')!);
      const rxNode = dt.lookup(rxPath)!;
      const rxCap = u64(rxNode.getProperty('reg')!);
      const virq = rxNode.getCells('interrupts')![1]! + 32;
      const base = dt.reg(dt.pathOfPhandle(node.getCells('memory-region')![0]!)!)![0]!.address;
      const irq = v.irq!;
      irq.init();
      irq.enable(virq);
      v.memory!.write(base, text('ping'));
      assert.equal(v.call('doorbell_send', txCap, 0x1n, 0n).e, 0, 'guest rings');
      while (irq.ack() === 1023) yield 'wait';
      const flags = v.call('doorbell_receive', rxCap, 0xffn, 0n).x[1]!;
      irq.eoi(virq);
      v.memory!.write(base + 0x10n, text(`${str(v.memory!.read(base, 4))} flag ${flags}`));
    },
  );
  assert.deepEqual(log, [
    `${DOORBELL}:3:128:virq ${DOORBELL_SRC}:3:128:no virq`,
    `status ${VM_STATUS_RUNNING}`,
    'run 1',
    'owner bell flags 1, buffer "ping"',
    'run 2',
    'pong flag 2',
  ]);
  const dt = seen as Fdt | null;
  assert.ok(dt);
  const node = dt.lookup('/hypervisor/bells')!;
  assert.deepEqual(node.getStrings('compatible'), ['qcom,gunyah-shm-doorbell']);
  const txNode = dt.lookup(dt.pathOfPhandle(node.getCells('tx-doorbell')![0]!)!)!;
  const rxNode = dt.lookup(dt.pathOfPhandle(node.getCells('rx-doorbell')![0]!)!)!;
  assert.deepEqual(txNode.getStrings('compatible'), ['qcom,gunyah-doorbell-source', 'qcom,gunyah-capability']);
  assert.deepEqual(rxNode.getStrings('compatible'), ['qcom,gunyah-doorbell', 'qcom,gunyah-capability']);
  assert.equal(txNode.hasProperty('interrupts'), false, 'a source has no interrupt');
  assert.equal(rxNode.getCells('interrupts')!.length, 3);
  // Doorbell nodes are named <…>@<own cap id> (§4.1).
  assert.equal(txNode.unitAddress, u64(txNode.getProperty('reg')!).toString(16));
  assert.equal(rxNode.unitAddress, u64(rxNode.getProperty('reg')!).toString(16));
  assert.deepEqual([txNode.getCells('qcom,label'), rxNode.getCells('label')], [[3], [3]]);
  assert.equal(node.hasProperty('dma_base'), false, 'dma_base only if configured');
  // VM_START accepted the shared parcel at the base: /reserved-memory names it.
  const buf = dt.lookup(`/reserved-memory/buffer@${SHM_BASE.toString(16)}`)!;
  assert.deepEqual(node.getCells('memory-region'), [buf.phandle]);
  assert.deepEqual(buf.getCells('peers'), [OWNER], 'the owner (also in the ACL of a SHARE) once');
  assert.equal(buf.hasProperty('compatible'), false, 'no push-compatibles, no compatible');
  assert.deepEqual(after, before, 'doorbells and memory extents gone with the VM');
});

test('RM §4.1/§2.3: one-way message-queues — is-sender and is-receiver nodes @<own cap> with reg, the direction flag, tx_message_size, tx_queue_depth, interrupts and labels; the owner gets MSG_QUEUE_RECV / MSG_QUEUE_SEND; a message goes each way', () => {
  const log: string[] = [];
  let seen: Fdt | null = null;
  const { before, after } = scenario(
    function* (o) {
      const { vmid, image } = yield* o.create(
        shmDt({
          up: {
            'vdevice-type': 'message-queue',
            generate: '/hypervisor/up',
            'is-sender': true,
            label: [4],
            'message-size': [64],
            'queue-depth': [2],
            'peer-default': true,
          },
          down: {
            'vdevice-type': 'message-queue',
            generate: '/hypervisor/down',
            'is-receiver': true,
            label: [6],
            'message-size': [32],
            'queue-depth': [4],
            'peer-default': true,
          },
        }),
      );
      const res = o.must('resources', yield* o.c.vmGetHypResources(vmid));
      log.push(
        res
          .filter((x) => x.type !== VIRTUAL_CPU)
          .map((x) => `${x.type}:${x.label}:${x.partnerVmid}:${x.virq === 0 ? 'no virq' : 'virq'}`)
          .join(' '),
      );
      o.must('start', yield* o.c.vmStart(vmid));
      const vcpu = res.find((x) => x.type === VIRTUAL_CPU)!;
      const recv = res.find((x) => x.type === MSG_QUEUE_RECV)!;
      const send = res.find((x) => x.type === MSG_QUEUE_SEND)!;
      log.push(`run ${o.run(vcpu)}`); // the guest sends "up" and waits
      const buf = 0x4000_2000n;
      const r = o.v.call('msgqueue_receive', recv.capId, buf, 64n, 0n);
      log.push(`owner got "${str(o.v.memory!.read(buf, Number(r.x[1]!)))}"`);
      o.v.memory!.write(buf, text('down'));
      assert.equal(o.v.call('msgqueue_send', send.capId, 4n, buf, 1n, 0n).e, 0, 'owner send');
      log.push(`run ${o.run(vcpu)}`);
      yield* o.teardown(vmid, [image]);
      // The image parcel is the owner's again: the guest's note is in it.
      log.push(`guest said "${str(o.v.memory!.read(GUEST_PA + 0x3100n, 8))}"`);
    },
    function* (v, dt): Generator<'wait', void, void> {
      seen = dt;
      const [, up] = childOf(dt, '/hypervisor', 'up@');
      const [, down] = childOf(dt, '/hypervisor', 'down@');
      const buf = GUEST_BASE + 0x3000n;
      v.memory!.write(buf, text('up'));
      assert.equal(v.call('msgqueue_send', u64(up.getProperty('reg')!), 2n, buf, 1n, 0n).e, 0, 'guest send');
      const virq = down.getCells('interrupts')![1]! + 32;
      const irq = v.irq!;
      irq.init();
      irq.enable(virq);
      while (irq.ack() === 1023) yield 'wait';
      const r = v.call('msgqueue_receive', u64(down.getProperty('reg')!), buf, 32n, 0n);
      irq.eoi(virq);
      v.memory!.write(buf + 0x100n, text(`got ${str(v.memory!.read(buf, Number(r.x[1]!)))}`));
    },
  );
  assert.deepEqual(log, [
    `${MSG_QUEUE_RECV}:4:128:virq ${MSG_QUEUE_SEND}:6:128:virq`,
    'run 1',
    'owner got "up"',
    'run 2',
    'guest said "got down"',
  ]);
  const dt = seen as Fdt | null;
  assert.ok(dt);
  const [, up] = childOf(dt, '/hypervisor', 'up@');
  const [, down] = childOf(dt, '/hypervisor', 'down@');
  for (const [n, flag, size, depth, label] of [
    [up, 'is-sender', 64, 2, 4],
    [down, 'is-receiver', 32, 4, 6],
  ] as const) {
    assert.deepEqual(n.getStrings('compatible'), ['qcom,gunyah-message-queue', 'qcom,gunyah-capability']);
    assert.equal(n.getProperty('reg')!.length, 8, 'reg = <u64 cap>');
    assert.equal(n.unitAddress, u64(n.getProperty('reg')!).toString(16), '@<own cap id>');
    assert.equal(n.getProperty(flag)?.length, 0, flag);
    assert.equal(n.hasProperty(flag === 'is-sender' ? 'is-receiver' : 'is-sender'), false);
    assert.deepEqual([n.getCells('tx_message_size'), n.getCells('tx_queue_depth')], [[size], [depth]]);
    assert.equal(n.getCells('interrupts')!.length, 3);
    assert.deepEqual([n.getCells('qcom,label'), n.getCells('label')], [[label], [label]]);
  }
  assert.deepEqual(after, before, 'both queues gone with the VM');
});

test('RM §4.1: a required shm buffer with no parcel fails the overlay — VM_START is NORESOURCE and the VM INIT_FAILED; an optional one gets its node without memory-region', () => {
  const log: string[] = [];
  let seen: Fdt | null = null;
  scenario(
    function* (o) {
      const a = yield* o.create(shmDt({ need: { 'vdevice-type': 'shm', label: [1], 'peer-default': true } }));
      const r = yield* o.c.vmStart(a.vmid);
      log.push(r.ok ? 'start OK' : `start ${typeof r.error === 'number' ? r.error : 'transport'}`);
      log.push(`state ${o.must('state', yield* o.c.vmGetState(a.vmid)).vmState}`);
      yield* o.teardown(a.vmid, [a.image]);
      const b = yield* o.create(
        shmDt({ maybe: { 'vdevice-type': 'shm', label: [1], 'peer-default': true, optional: true } }),
      );
      const res = o.must('resources', yield* o.c.vmGetHypResources(b.vmid));
      o.must('start', yield* o.c.vmStart(b.vmid));
      log.push(`run ${o.run(res.find((x) => x.type === VIRTUAL_CPU)!)}`);
      yield* o.teardown(b.vmid, [b.image]);
    },
    (_v, dt) => {
      seen = dt;
    },
  );
  assert.deepEqual(log, [`start ${E_NORESOURCE}`, `state ${VM_STATUS_INIT_FAILED}`, 'run 2']);
  const dt = seen as Fdt | null;
  assert.ok(dt);
  // [infer] Without a generate of its own the node is <vdevices generate>/<config node name>.
  const n = dt.lookup('/hypervisor/maybe')!;
  assert.deepEqual(n.getStrings('compatible'), ['qcom,shared-memory']);
  assert.equal(n.hasProperty('memory-region'), false);
  assert.equal(n.hasProperty('buffer'), false);
  assert.deepEqual(n.getCells('peer'), [OWNER]);
});

test(
  'RM §4.1 (dtc): the whole patched guest DT — /hypervisor with shm, shm-doorbell, one-way queues, /reserved-memory with an existing labelled node and a buffer node, /memory, /vsoc — decompiles with dtc',
  { skip: skipDtc },
  () => {
    let blob: Uint8Array | null = null;
    let seen: Fdt | null = null;
    scenario(
      function* (o) {
        const { vmid, image } = yield* o.create(
          shmDt(
            {
              ...SHM_CONFIG,
              bells: {
                'vdevice-type': 'shm-doorbell',
                generate: '/hypervisor/bells',
                label: [3],
                base: [0, Number(SHM_BASE + SHM_SIZE)],
                'peer-default': true,
              },
              up: { 'vdevice-type': 'message-queue', 'is-sender': true, generate: '/hypervisor/up', label: [4] },
            },
            (f) => {
              // The VM's own reserved node for the shm-doorbell's buffer, found by qcom,label (§4.1).
              const r = f.addNode('/reserved-memory');
              r.setCells('#address-cells', [2]);
              r.setCells('#size-cells', [2]);
              r.setFlag('ranges');
              const mine = f.addNode('/reserved-memory/ring@a0010000');
              mine.setCells('reg', [0, Number(SHM_BASE + SHM_SIZE), 0, Number(SHM_SIZE)]);
              mine.setProperty('qcom,label', encodeU32(3));
              mine.setFlag('no-map');
            },
          ),
        );
        const shm = yield* o.lendShm(vmid, SHM_PA, 5);
        const bells = yield* o.lendShm(vmid, SHM_PA + SHM_SIZE, 3);
        const res = o.must('resources', yield* o.c.vmGetHypResources(vmid));
        o.must('start', yield* o.c.vmStart(vmid));
        o.run(res.find((x) => x.type === VIRTUAL_CPU)!);
        yield* o.teardown(vmid, [image, shm, bells]);
      },
      (v, dt) => {
        seen = dt;
        blob = v.memory!.read(v.bootX0, Number(DT_SIZE)) as Uint8Array;
      },
    );
    const dt = seen as Fdt | null;
    assert.ok(dt && blob);
    // The existing node was matched by its label: patched with the handle and given a phandle.
    const ring = dt.lookup('/reserved-memory/ring@a0010000')!;
    assert.equal(ring.getCells('qcom,rm-mem-handle')!.length, 1);
    assert.deepEqual(dt.lookup('/hypervisor/bells')!.getCells('memory-region'), [ring.phandle]);
    assert.equal(dt.lookup('/reserved-memory/buffer@a0010000'), undefined, 'no second node for it');
    const dts = dtcDecompile(blob);
    assert.match(dts, /reserved-memory \{/);
    assert.match(dts, /buffer@a0000000 \{[^}]*qcom,shared-memory;[^}]*no-map;/s);
    assert.match(dts, /ring@a0010000 \{[^}]*qcom,rm-mem-handle = <0x0?2>;/s);
    // (dtc cannot tell a string list from binary data in a blob: it prints the NULs.)
    assert.match(dts, /shm0 \{[^}]*compatible = "vendor,ring\\0qcom,shared-memory";/s);
    assert.match(dts, /bells \{[^}]*compatible = "qcom,gunyah-shm-doorbell";[^}]*tx-doorbell = <0x[0-9a-f]+>;/s);
    assert.match(dts, /up@[0-9a-f]+ \{[^}]*is-sender;/s);
    assert.match(dts, /vsoc \{[^}]*compatible = "simple-bus";/s);
    assert.match(dts, /memory \{[^}]*device_type = "memory";/s);
  },
);
