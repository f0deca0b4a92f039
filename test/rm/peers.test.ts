// Vdevices between two secondary VMs (RM spec §2.3, §4.1, §4.3): two guests, "alice" and "bob", made
// by the same host, whose VM configs name each other with `peer = "vm-name:<image-name>"`, get a
// message-queue pair and a doorbell between them — built when the second of them passes VM_INIT,
// written into each one's own device tree at its VM_START, and gone when either is reset. The
// guests are native programs run by the owner's VMM with vcpu_run; each finds its ends in its own
// /hypervisor by compatible and label (not by path), as a kernel driver would.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { oracleMissing } from '../helpers/oracle.js';
import type { Hypervisor } from '../../src/hyp/hypervisor.js';
import { Err } from '../../src/hyp/abi/errors.js';
import { RmClientTransport } from '../../src/vmm/rm-client/transport.js';
import { RmClient, describeFailure, type RmResult } from '../../src/vmm/rm-client/client.js';
import type { ProgramBody } from '../../src/vmm/rm-client/program.js';
import type { RmVcpu } from '../../src/rm/port.js';
import { Fdt, readFdt } from '../../src/machine/fdt/index.js';
import type { FdtNode } from '../../src/machine/fdt/tree.js';
import { HypResourceType } from '../../src/rm/msgs/hyp-resources.js';
import { parseVmConfig } from '../../src/rm/dt/vm-config.js';
import { peerVdevicesMatch } from '../../src/rm/vdevices.js';
import { VmState } from '../../src/rm/vm-mgmt.js';
import { createVm, endsOf, guestDt, must, primarySystem, rmLink, runToIdle, slotPa, vcpuRun } from './harness.js';

const DTC = spawnSync('dtc', ['--version']).status === 0;
const skipDtc = DTC ? false : oracleMissing('dtc', 'apt-get install device-tree-compiler');

/** Where each guest sees its memory. */
const GUEST_BASE = 0x8000_0000n;
const DT_OFFSET = 0x1_0000n;
const DT_SIZE = 0x4000n;
/** RM status RESET (§2.4 VM_STATUS, §3). */
const VM_STATUS_RESET = VmState.RESET;
/** vcpu_run states (hypervisor-abi §8.4). */
const RUN_EXPECTS_WAKEUP = 1;
const RUN_POWERED_OFF = 2;
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

interface VdevSpec {
  node: string;
  type: string;
  label: number;
  peer: string;
  sender?: boolean;
}

/** The DT a VMM writes for a guest: its image name and the vdevices of its VM config (§4.3). */
function peerDt(name: string, vdevs: readonly VdevSpec[]): Uint8Array {
  return guestDt({
    memory: false,
    cpuReg: false,
    affinity: null,
    imageName: name,
    vdevices: Object.fromEntries(
      vdevs.map((d) => [
        d.node,
        {
          'vdevice-type': d.type,
          label: [d.label],
          peer: d.peer,
          ...(d.sender === undefined ? {} : { [d.sender ? 'is-sender' : 'is-receiver']: true as const }),
        },
      ]),
    ),
  });
}

/** alice: a message-queue pair (label 7) and a doorbell she receives (label 9), both with bob. */
const ALICE: VdevSpec[] = [
  { node: 'chat', type: 'message-queue-pair', label: 7, peer: 'vm-name:bob' },
  { node: 'ring', type: 'doorbell', label: 9, peer: 'vm-name:bob' },
  // No VM is called carol: this one is never paired.
  { node: 'stray', type: 'message-queue-pair', label: 11, peer: 'vm-name:carol' },
];
/** bob: the other ends — his message-queue pair and the doorbell-source he rings. */
const BOB: VdevSpec[] = [
  { node: 'chat', type: 'message-queue-pair', label: 7, peer: 'vm-name:alice' },
  { node: 'ring', type: 'doorbell-source', label: 9, peer: 'vm-name:alice' },
];

/** The node under /hypervisor (at any depth) whose compatible has `compatible` and whose label is `label`. */
function findNode(dt: Fdt, compatible: string, label: number): { path: string; node: FdtNode } | undefined {
  const walk = (path: string, n: FdtNode): { path: string; node: FdtNode } | undefined => {
    for (const [name, child] of n.children) {
      const p = `${path}/${name}`;
      if (child.getStrings('compatible')?.includes(compatible) && child.getU32('label') === label)
        return { path: p, node: child };
      const deeper = walk(p, child);
      if (deeper !== undefined) return deeper;
    }
    return undefined;
  };
  const h = dt.lookup('/hypervisor');
  return h === undefined ? undefined : walk('/hypervisor', h);
}

/** The guest's RM link (§1.1: found by the compatible Linux matches) as an RM client. */
function rmClientOf(v: RmVcpu, dt: Fdt): RmClient {
  const [, link] = [...dt.lookup('/hypervisor')!.children].find(([, n]) =>
    n.getStrings('compatible')?.includes('gunyah-resource-manager'),
  )!;
  const { caps, virqs } = endsOf(link);
  for (const n of virqs) v.irq!.enable(n);
  const scratch = { rx: GUEST_BASE + 0x5000n, tx: GUEST_BASE + 0x5100n };
  return new RmClient(new RmClientTransport(v, { txCap: caps[0]!, rxCap: caps[1]!, scratch }), v.irq!);
}

/** A guest's program after it has read its DT; one that never waits may be a plain function. */
type GuestFn = (v: RmVcpu, dt: Fdt) => ProgramBody | void;

interface Vm {
  vmid: number;
  name: string;
  handle: number;
  vcpu: bigint;
}

/** What the VMM program may do: RM calls that must succeed, and running guests. */
interface Host {
  v: RmVcpu;
  c: RmClient;
  must<T>(what: string, r: RmResult<T>): T;
  /** Allocate, write the guest's DT into its own slot, lend the slot, VM_CONFIG_IMAGE. */
  create(name: string, vdevs: readonly VdevSpec[]): Generator<'wait', Vm, void>;
  /** VM_INIT and the vCPU cap from VM_GET_HYP_RESOURCES. */
  init(vm: Vm): Generator<'wait', void, void>;
  /** One vcpu_run of the guest: its state. */
  run(vm: Vm): number;
  /** vcpu_run until the guest is powered off, letting the RM run while the guest waits for it. */
  runToEnd(vm: Vm): Generator<'yield', number, void>;
  /** VM_RESET and wait for its VM_STATUS RESET (§2.2). */
  reset(vm: Vm): Generator<'wait', void, void>;
  live(): { doorbell: number; msgqueue: number };
}

/** A system with the RM and a native VMM running `vmm`; guests run `guests[<their image-name>]`. */
function world(
  vmm: (h: Host) => ProgramBody,
  guests: Readonly<Record<string, GuestFn>>,
): { dts: { name: string; dt: Uint8Array }[]; hv: Hypervisor } {
  const dts: { name: string; dt: Uint8Array }[] = [];
  const s = primarySystem(
    function* (v: RmVcpu, { hv }) {
      const { c } = rmLink(v);
      let slot = 0;
      const h: Host = {
        v,
        c,
        must,
        *create(name, vdevs) {
          const { vmid, handle } = yield* createVm(v, c, { pa: slotPa(slot++), dt: peerDt(name, vdevs), init: false });
          return { vmid, name, handle, vcpu: 0n };
        },
        *init(vm) {
          must(`init ${vm.name}`, yield* c.vmInit(vm.vmid));
          const res = must('resources', yield* c.vmGetHypResources(vm.vmid));
          vm.vcpu = res.find((r) => r.type === HypResourceType.VIRTUAL_CPU)!.capId;
        },
        run: (vm) => vcpuRun(v, vm.vcpu),
        *runToEnd(vm) {
          for (;;) {
            const s = h.run(vm);
            if (s !== RUN_EXPECTS_WAKEUP) return s;
            v.call('scheduler_yield', 0n, 0n, 0n);
            yield 'yield';
          }
        },
        *reset(vm) {
          must(`reset ${vm.name}`, yield* c.vmReset(vm.vmid));
          for (;;) {
            const n = yield* c.nextNotifications();
            if (
              n.some(
                (x) =>
                  x.name === 'NOTIFY_VM_STATUS' && x.value.vmid === vm.vmid && x.value.vmStatus === VM_STATUS_RESET,
              )
            )
              return;
          }
        },
        live: () => ({ doorbell: hv.liveOf('doorbell').length, msgqueue: hv.liveOf('msgqueue').length }),
      };
      yield* vmm(h);
    },
    () =>
      function* (v: RmVcpu) {
        const bytes = v.memory!.read(v.bootX0, Number(DT_SIZE));
        if (typeof bytes === 'number') throw new Error(`guest cannot read its DT (${bytes})`);
        const dt = readFdt(bytes);
        const name = dt.lookup('/hypervisor/qcom,gunyah-vm')!.getString('qcom,image-name')!;
        dts.push({ name, dt: bytes.slice() });
        v.irq!.init();
        const body = guests[name]!(v, dt);
        if (body !== undefined) yield* body;
      },
  );
  runToIdle(s, 1_000_000_000);
  return { dts, hv: s.hv };
}

/** alice: says hello on the pair, waits for bob's doorbell, then reads his answer. */
function alice(log: string[]): GuestFn {
  return function* (v, dt): ProgramBody {
    const mq = endsOf(findNode(dt, 'qcom,gunyah-message-queue', 7)!.node);
    const bell = endsOf(findNode(dt, 'qcom,gunyah-doorbell', 9)!.node);
    const irq = v.irq!;
    irq.enable(bell.virqs[0]!);
    const buf = GUEST_BASE + 0x3000n;
    v.memory!.write(buf, text('hello bob'));
    assert.equal(v.call('msgqueue_send', mq.caps[0]!, 9n, buf, 1n, 0n).e, 0, 'alice sends');
    let got = irq.ack();
    while (got === 1023) {
      yield 'wait';
      got = irq.ack();
    }
    assert.equal(got, bell.virqs[0], "the interrupt is the doorbell's");
    const flags = v.call('doorbell_receive', bell.caps[0]!, 0xffn, 0n).x[1]!;
    irq.eoi(got);
    const r = v.call('msgqueue_receive', mq.caps[1]!, buf, 240n, 0n);
    assert.equal(r.e, 0, 'alice receives');
    const answer = new TextDecoder().decode(v.memory!.read(buf, Number(r.x[1]!)) as Uint8Array);
    log.push(`alice: rang ${flags}, "${answer}"`);
  };
}

/** bob: reads alice's hello, asks the RM about her (§2.3) and his peers, answers, rings her. */
function bob(log: string[], asked: { resources?: string[]; peers?: readonly number[] }): GuestFn {
  return function* (v, dt): ProgramBody {
    const mqNode = findNode(dt, 'qcom,gunyah-message-queue', 7)!.node;
    const mq = endsOf(mqNode);
    const bell = endsOf(findNode(dt, 'qcom,gunyah-doorbell-source', 9)!.node);
    const buf = GUEST_BASE + 0x3000n;
    const r = v.call('msgqueue_receive', mq.caps[1]!, buf, 240n, 0n);
    assert.equal(r.e, 0, 'bob receives');
    log.push(`bob: "${new TextDecoder().decode(v.memory!.read(buf, Number(r.x[1]!)) as Uint8Array)}"`);
    const c = rmClientOf(v, dt);
    const peer = mqNode.getU32('qcom,peer-vmid')!;
    const res = yield* c.vmGetHypResources(peer);
    assert.ok(res.ok, 'bob asks about alice');
    asked.resources = res.value.map((x) => `${x.type}:${x.label}:${x.partnerVmid}:${x.capId}:${x.virq}`);
    const peers = yield* c.vmGetPeers();
    assert.ok(peers.ok);
    asked.peers = peers.value;
    v.memory!.write(buf, text('hi alice'));
    assert.equal(v.call('msgqueue_send', mq.caps[0]!, 8n, buf, 1n, 0n).e, 0, 'bob answers');
    assert.equal(v.call('doorbell_send', bell.caps[0]!, 0x5n, 0n).e, 0, 'bob rings');
  };
}

interface Talk {
  log: string[];
  dts: Map<string, Fdt>;
  raw: Map<string, Uint8Array>;
  vmids: Map<string, number>;
  ownerViews: Map<string, string[]>;
  asked: { resources?: string[]; peers?: readonly number[] };
  counts: Record<string, { doorbell: number; msgqueue: number }>;
}

/** alice and bob made, INITed (alice first), started and talking, then reset one after the other. */
function talk(): Talk {
  const log: string[] = [];
  const asked: Talk['asked'] = {};
  const vmids = new Map<string, number>();
  const ownerViews = new Map<string, string[]>();
  const counts: Talk['counts'] = {};
  const { dts } = world(
    function* (h) {
      counts.before = h.live();
      const a = yield* h.create('alice', ALICE);
      const b = yield* h.create('bob', BOB);
      vmids.set('alice', a.vmid).set('bob', b.vmid);
      yield* h.init(a);
      counts.aliceInit = h.live();
      yield* h.init(b);
      counts.bothInit = h.live();
      for (const vm of [a, b]) {
        const res = h.must('resources', yield* h.c.vmGetHypResources(vm.vmid));
        ownerViews.set(
          vm.name,
          res.map((r) => `${r.type}:${r.label}`),
        );
      }
      h.must('start alice', yield* h.c.vmStart(a.vmid));
      h.must('start bob', yield* h.c.vmStart(b.vmid));
      log.push(`run alice ${h.run(a)}`); // hello sent, waiting for the doorbell
      log.push(`run bob ${yield* h.runToEnd(b)}`); // reads, asks the RM, answers, rings, stops
      log.push(`run alice ${h.run(a)}`); // rang, reads the answer, stops
      for (const vm of [a, b]) h.must('stop', yield* h.c.vmStop(vm.vmid));
      yield* h.reset(a);
      counts.aliceReset = h.live();
      yield* h.reset(b);
      counts.bothReset = h.live();
      for (const vm of [a, b]) {
        h.must('reclaim', yield* h.c.memReclaim(vm.handle));
        h.must('deallocate', yield* h.c.vmDeallocate(vm.vmid));
      }
    },
    { alice: alice(log), bob: bob(log, asked) },
  );
  return {
    log,
    dts: new Map(dts.map((d) => [d.name, readFdt(d.dt)])),
    raw: new Map(dts.map((d) => [d.name, d.dt])),
    vmids,
    ownerViews,
    asked,
    counts,
  };
}

let talked: Talk | null = null;
const talkOnce = (): Talk => (talked ??= talk());

test('RM §4.1/§4.3: two VMs whose configs name each other (peer = "vm-name:<image-name>") get a message-queue pair and a doorbell between them; each finds its ends in its own /hypervisor by compatible and label, and they talk both ways', () => {
  const t = talkOnce();
  assert.deepEqual(t.log, [
    `run alice ${RUN_EXPECTS_WAKEUP}`,
    'bob: "hello bob"',
    `run bob ${RUN_POWERED_OFF}`,
    'alice: rang 5, "hi alice"',
    `run alice ${RUN_POWERED_OFF}`,
  ]);
  // [infer] The objects are made when the second VM passes VM_INIT: after alice's INIT only her RM
  // link's two queues; after bob's, his link's two, the pair's two and the doorbell.
  const { before, aliceInit, bothInit } = t.counts;
  assert.deepEqual(aliceInit, { doorbell: before!.doorbell, msgqueue: before!.msgqueue + 2 });
  assert.deepEqual(bothInit, { doorbell: before!.doorbell + 1, msgqueue: before!.msgqueue + 6 });
});

test('RM §4.1: each side gets a message-queue-pair node (qcom,gunyah-message-queue, reg <tx rx>, two interrupts, sizes 240, depths 8, qcom,peer-vmid = the other VM, peer = its config string) and a doorbell / doorbell-source node; the VM node lists qcom,peers', () => {
  const t = talkOnce();
  const aliceVmid = t.vmids.get('alice')!;
  const bobVmid = t.vmids.get('bob')!;
  for (const [me, other, peer] of [
    ['alice', bobVmid, 'vm-name:bob'],
    ['bob', aliceVmid, 'vm-name:alice'],
  ] as const) {
    const dt = t.dts.get(me)!;
    const { path, node } = findNode(dt, 'qcom,gunyah-message-queue', 7)!;
    const { caps, virqs } = endsOf(node);
    // §4.1: generate (the vdevices-wide /hypervisor, then the vdevice's name) @ the RX cap.
    assert.equal(path, `/hypervisor/chat@${caps[1]!.toString(16)}`, `${me}'s pair node`);
    assert.deepEqual(node.getStrings('compatible'), ['qcom,gunyah-message-queue', 'qcom,gunyah-capability']);
    assert.equal(caps.length, 2);
    assert.equal(virqs.length, 2);
    assert.deepEqual(
      node.getCells('interrupts')!.filter((_, i) => i % 3 !== 1),
      [0, 1, 0, 1],
      'SPI, edge rising',
    );
    assert.equal(node.hasProperty('qcom,is-full-duplex'), true);
    for (const p of ['qcom,tx-message-size', 'qcom,rx-message-size']) assert.equal(node.getU32(p), 240, p);
    for (const p of ['qcom,tx-queue-depth', 'qcom,rx-queue-depth']) assert.equal(node.getU32(p), 8, p);
    assert.equal(node.getU32('qcom,peer-vmid'), other);
    assert.equal(node.getString('peer'), peer);
    assert.equal(node.getU32('qcom,label'), 7);
    const vm = dt.lookup('/hypervisor/qcom,gunyah-vm')!;
    // §4.1: distinct peer-ids of the message-queue pairs that have a peer vdevice (not carol's).
    assert.deepEqual(vm.getStrings('qcom,peers'), [peer]);
  }
  const a = findNode(t.dts.get('alice')!, 'qcom,gunyah-doorbell', 9)!;
  assert.deepEqual(a.node.getStrings('compatible'), ['qcom,gunyah-doorbell', 'qcom,gunyah-capability']);
  assert.equal(a.path, `/hypervisor/ring@${endsOf(a.node).caps[0]!.toString(16)}`);
  assert.equal(endsOf(a.node).virqs.length, 1, 'the receiver has the interrupt');
  const b = findNode(t.dts.get('bob')!, 'qcom,gunyah-doorbell-source', 9)!;
  assert.deepEqual(b.node.getStrings('compatible'), ['qcom,gunyah-doorbell-source', 'qcom,gunyah-capability']);
  assert.equal(b.node.hasProperty('interrupts'), false, 'the source has none');
  assert.equal(findNode(t.dts.get('bob')!, 'qcom,gunyah-doorbell', 9), undefined);
});

test('RM §4.1: a vdevice naming a VM that does not exist (vm-name:carol) is left out of the DT and makes no objects; only paired message-queue pairs count for qcom,peers', () => {
  const t = talkOnce();
  assert.equal(findNode(t.dts.get('alice')!, 'qcom,gunyah-message-queue', 11), undefined);
  assert.equal(
    [...t.dts.get('alice')!.lookup('/hypervisor')!.children.keys()].some((n) => n.startsWith('stray')),
    false,
  );
  // Counted above: alice's INIT made her link only, bob's exactly the pair and the doorbell.
  assert.deepEqual(t.dts.get('alice')!.lookup('/hypervisor/qcom,gunyah-vm')!.getStrings('qcom,peers'), ['vm-name:bob']);
});

test("RM §2.3: VM_GET_HYP_RESOURCES — the owner's view of each VM lists its vCPU only (a VM-to-VM device's peer is not the owner); a VM asking about its peer VM gets its own ends (pair SEND + RECV with its VIRQs, DOORBELL_SRC with virq 0), partner = the queried VM; VM_GET_PEERS lists the owner and the peer VM", () => {
  const t = talkOnce();
  assert.deepEqual(t.ownerViews.get('alice'), [`${HypResourceType.VIRTUAL_CPU}:0`]);
  assert.deepEqual(t.ownerViews.get('bob'), [`${HypResourceType.VIRTUAL_CPU}:0`]);
  const dt = t.dts.get('bob')!;
  const mq = endsOf(findNode(dt, 'qcom,gunyah-message-queue', 7)!.node);
  const bell = endsOf(findNode(dt, 'qcom,gunyah-doorbell-source', 9)!.node);
  const alice = t.vmids.get('alice')!;
  assert.deepEqual(t.asked.resources, [
    `${HypResourceType.MSG_QUEUE_SEND}:7:${alice}:${mq.caps[0]}:${mq.virqs[0]}`,
    `${HypResourceType.MSG_QUEUE_RECV}:7:${alice}:${mq.caps[1]}:${mq.virqs[1]}`,
    `${HypResourceType.DOORBELL_SRC}:9:${alice}:${bell.caps[0]}:0`,
  ]);
  // [infer] paired VMs are peers (§2.2 VM_GET_PEERS: the caller left out, ascending).
  assert.deepEqual(t.asked.peers, [3, alice]);
});

test('RM §2.2 (VM_RESET teardown): resetting one VM destroys the devices it shares with its peer; after both resets the doorbell and queue counts are back where they started', () => {
  const t = talkOnce();
  const { before, aliceReset, bothReset } = t.counts;
  // After alice's reset: bob's RM link only (his ends of the pair and the doorbell are gone too).
  assert.deepEqual(aliceReset, { doorbell: before!.doorbell, msgqueue: before!.msgqueue + 2 });
  assert.deepEqual(bothReset, before);
});

test("RM §2.2/§4.1 [infer]: the survivor of a reset keeps nothing — its hypercalls on the old caps fail with CSPACE_CAP_NULL, it hears the peer's RESET status and stops being its peer; a re-INITed peer pairs again with it while it is READY, on the same (freed) VIRQs", () => {
  const got: Record<string, unknown> = {};
  const virqsOf = (dt: Fdt): number[] => [
    ...endsOf(findNode(dt, 'qcom,gunyah-message-queue', 7)!.node).virqs,
    ...(findNode(dt, 'qcom,gunyah-doorbell', 9) ? endsOf(findNode(dt, 'qcom,gunyah-doorbell', 9)!.node).virqs : []),
  ];
  const log: string[] = [];
  const { dts } = world(
    function* (h) {
      const before = h.live();
      let a = yield* h.create('alice', ALICE);
      const b = yield* h.create('bob', BOB);
      yield* h.init(a);
      yield* h.init(b); // pair 1
      yield* h.reset(a); // bob is READY: he keeps nothing
      got.afterFirstReset = h.live();
      got.expectAfterFirstReset = { doorbell: before.doorbell, msgqueue: before.msgqueue + 2 };
      h.must(
        'config again',
        yield* h.c.vmConfigImage({
          vmid: a.vmid,
          authType: 0,
          memparcel: a.handle,
          imageOffset: 0n,
          imageSize: 0x1000n,
          dtOffset: DT_OFFSET,
          dtSize: DT_SIZE,
        }),
      );
      a = { ...a };
      yield* h.init(a); // pair 2, with READY bob
      got.afterReinit = h.live();
      got.expectAfterReinit = { doorbell: before.doorbell + 1, msgqueue: before.msgqueue + 6 };
      h.must('start alice', yield* h.c.vmStart(a.vmid));
      h.must('start bob', yield* h.c.vmStart(b.vmid));
      log.push(`run alice ${h.run(a)}`); // hello sent, waiting
      h.must('stop alice', yield* h.c.vmStop(a.vmid));
      yield* h.reset(a); // bob is RUNNING: his caps go
      got.afterSecondReset = h.live();
      log.push(`run bob ${yield* h.runToEnd(b)}`);
      h.must('stop bob', yield* h.c.vmStop(b.vmid));
      yield* h.reset(b);
      got.end = h.live();
      got.before = before;
    },
    {
      alice: function* (v, dt): ProgramBody {
        const mq = endsOf(findNode(dt, 'qcom,gunyah-message-queue', 7)!.node);
        const buf = GUEST_BASE + 0x3000n;
        v.memory!.write(buf, text('hello bob'));
        assert.equal(v.call('msgqueue_send', mq.caps[0]!, 9n, buf, 1n, 0n).e, 0);
        for (;;) yield 'wait'; // until stopped
      },
      bob: function* (v, dt): ProgramBody {
        const mq = endsOf(findNode(dt, 'qcom,gunyah-message-queue', 7)!.node);
        const bell = endsOf(findNode(dt, 'qcom,gunyah-doorbell-source', 9)!.node);
        const c = rmClientOf(v, dt);
        const alice = findNode(dt, 'qcom,gunyah-message-queue', 7)!.node.getU32('qcom,peer-vmid')!;
        const statuses: number[] = [];
        while (!statuses.includes(VM_STATUS_RESET)) {
          for (const n of yield* c.nextNotifications())
            if (n.name === 'NOTIFY_VM_STATUS' && n.value.vmid === alice) statuses.push(n.value.vmStatus);
        }
        got.statuses = statuses;
        const buf = GUEST_BASE + 0x3000n;
        got.receive = v.call('msgqueue_receive', mq.caps[1]!, buf, 240n, 0n).e;
        got.send = v.call('msgqueue_send', mq.caps[0]!, 1n, buf, 1n, 0n).e;
        got.ring = v.call('doorbell_send', bell.caps[0]!, 1n, 0n).e;
        const peers = yield* c.vmGetPeers();
        got.peers = peers.ok ? peers.value : describeFailure(peers);
        const res = yield* c.vmGetHypResources(alice);
        got.resources = res.ok ? res.value.length : describeFailure(res);
      },
    },
  );
  assert.deepEqual(log, [`run alice ${RUN_EXPECTS_WAKEUP}`, `run bob ${RUN_POWERED_OFF}`]);
  assert.deepEqual(got.afterFirstReset, got.expectAfterFirstReset);
  assert.deepEqual(got.afterReinit, got.expectAfterReinit);
  const b = got.before as { doorbell: number; msgqueue: number };
  assert.deepEqual(got.afterSecondReset, { doorbell: b.doorbell, msgqueue: b.msgqueue + 2 }, "bob's link only");
  assert.deepEqual(got.end, got.before);
  assert.deepEqual([got.receive, got.send, got.ring], [Err.CSPACE_CAP_NULL, Err.CSPACE_CAP_NULL, Err.CSPACE_CAP_NULL]);
  // alice's EXITED (the force stop), RESETTING, RESET (§2.4: VM_STATUS to running peers, §3 states).
  assert.deepEqual(got.statuses, [VmState.EXITED, VmState.RESETTING, VmState.RESET]);
  assert.deepEqual(got.peers, [3], 'no longer peers');
  // §2.3: alice is RESET and has no config any more → NORESOURCE.
  assert.equal(got.resources, 'NORESOURCE');
  // Pair 2 reuses the VIRQs pair 1 took in bob's VIC (freed at alice's first reset): SPIs from 32.
  const bobDt = readFdt(dts.find((d) => d.name === 'bob')!.dt);
  assert.deepEqual(virqsOf(bobDt), [32, 33]);
  const aliceDt = readFdt(dts.find((d) => d.name === 'alice')!.dt);
  assert.deepEqual(virqsOf(aliceDt), [32, 33, 34]);
});

test('RM §4.1 [infer]: a VM started before its peer passed VM_INIT has no node for that vdevice, and the late peer pairs with nobody — neither DT has the device and no objects are made', () => {
  const got: Record<string, unknown> = {};
  const { dts } = world(
    function* (h) {
      const before = h.live();
      const a = yield* h.create('alice', ALICE);
      yield* h.init(a);
      h.must('start alice', yield* h.c.vmStart(a.vmid));
      const b = yield* h.create('bob', BOB);
      yield* h.init(b);
      h.must('start bob', yield* h.c.vmStart(b.vmid));
      got.live = h.live();
      got.expect = { doorbell: before.doorbell, msgqueue: before.msgqueue + 4 };
      for (const vm of [a, b]) yield* h.runToEnd(vm);
      for (const vm of [a, b]) h.must('stop', yield* h.c.vmStop(vm.vmid));
      for (const vm of [a, b]) yield* h.reset(vm);
      got.end = h.live();
      got.before = before;
    },
    { alice: function* () {}, bob: function* () {} },
  );
  assert.deepEqual(got.live, got.expect, 'the two RM links only');
  assert.deepEqual(got.end, got.before);
  for (const { name, dt } of dts) {
    const f = readFdt(dt);
    assert.equal(findNode(f, 'qcom,gunyah-message-queue', 7), undefined, name);
    assert.equal(findNode(f, 'qcom,gunyah-doorbell', 9), undefined, name);
    assert.equal(findNode(f, 'qcom,gunyah-doorbell-source', 9), undefined, name);
    assert.equal(f.lookup('/hypervisor/qcom,gunyah-vm')!.hasProperty('qcom,peers'), false, name);
  }
  assert.deepEqual(dts.map((d) => d.name).sort(), ['alice', 'bob']);
});

test("RM §4.1 [infer]: a one-way message-queue (is-sender ↔ is-receiver) and an shm between two VMs — the sender's node is-sender, the receiver's is-receiver with the RX interrupt, both tx_message_size 240 / tx_queue_depth 8; each shm node's peer is the other VMID and its memory-region the shared parcel", () => {
  const got: Record<string, unknown> = {};
  const vmids = new Map<string, number>();
  const A: VdevSpec[] = [
    { node: 'up', type: 'message-queue', label: 3, peer: 'vm-name:bob', sender: true },
    { node: 'buf', type: 'shm', label: 4, peer: 'vm-name:bob' },
  ];
  const B: VdevSpec[] = [
    { node: 'up', type: 'message-queue', label: 3, peer: 'vm-name:alice', sender: false },
    { node: 'buf', type: 'shm', label: 4, peer: 'vm-name:alice' },
  ];
  const { dts } = world(
    function* (h) {
      const before = h.live();
      const a = yield* h.create('alice', A);
      const b = yield* h.create('bob', B);
      vmids.set('alice', a.vmid).set('bob', b.vmid);
      yield* h.init(a);
      yield* h.init(b);
      got.live = h.live();
      got.expect = { doorbell: before.doorbell, msgqueue: before.msgqueue + 5 };
      // The owner lends one page-aligned buffer to both, labelled as their shm vdevices.
      const shm = h.must(
        'lend shm',
        yield* h.c.memLend({
          memType: 0,
          flags: 0,
          label: 4,
          acl: [
            { vmid: a.vmid, rights: 6 },
            { vmid: b.vmid, rights: 6 },
          ],
          sgl: [{ ipa: 0x4c00_0000n, size: 0x1000n }],
          attrs: [],
        }),
      );
      for (const vm of [a, b]) h.must('start', yield* h.c.vmStart(vm.vmid));
      got.runs = [yield* h.runToEnd(a), yield* h.runToEnd(b)];
      for (const vm of [a, b]) h.must('stop', yield* h.c.vmStop(vm.vmid));
      for (const vm of [a, b]) yield* h.reset(vm);
      h.must('reclaim shm', yield* h.c.memReclaim(shm));
      got.end = h.live();
      got.before = before;
    },
    {
      alice: (v, dt) => {
        const q = endsOf(findNode(dt, 'qcom,gunyah-message-queue', 3)!.node);
        v.memory!.write(GUEST_BASE + 0x3000n, text('one way'));
        got.send = v.call('msgqueue_send', q.caps[0]!, 7n, GUEST_BASE + 0x3000n, 1n, 0n).e;
      },
      bob: (v, dt) => {
        const q = endsOf(findNode(dt, 'qcom,gunyah-message-queue', 3)!.node);
        const r = v.call('msgqueue_receive', q.caps[0]!, GUEST_BASE + 0x3000n, 240n, 0n);
        got.received =
          r.e === 0
            ? new TextDecoder().decode(v.memory!.read(GUEST_BASE + 0x3000n, Number(r.x[1]!)) as Uint8Array)
            : r.e;
      },
    },
  );
  assert.deepEqual(got.live, got.expect, 'two RM links and the one queue');
  assert.deepEqual(got.runs, [RUN_POWERED_OFF, RUN_POWERED_OFF]);
  assert.deepEqual([got.send, got.received], [0, 'one way']);
  assert.deepEqual(got.end, got.before);
  for (const [me, other, sends] of [
    ['alice', 'bob', true],
    ['bob', 'alice', false],
  ] as const) {
    const dt = readFdt(dts.find((d) => d.name === me)!.dt);
    const { path, node } = findNode(dt, 'qcom,gunyah-message-queue', 3)!;
    const { caps, virqs } = endsOf(node);
    assert.equal(path, `/hypervisor/up@${caps[0]!.toString(16)}`);
    assert.equal(node.hasProperty(sends ? 'is-sender' : 'is-receiver'), true, me);
    assert.equal(node.hasProperty(sends ? 'is-receiver' : 'is-sender'), false, me);
    assert.deepEqual([node.getU32('tx_message_size'), node.getU32('tx_queue_depth')], [240, 8]);
    assert.equal(virqs.length, 1);
    const shm = findNode(dt, 'qcom,shared-memory', 4)!;
    assert.equal(shm.path, '/hypervisor/buf', '§4.1: no unit address');
    assert.equal(shm.node.getU32('peer'), vmids.get(other));
    const region = shm.node.getU32('memory-region')!;
    const buffer = [...dt.lookup('/reserved-memory')!.children.values()].find((n) => n.phandle === region)!;
    assert.equal(buffer.getU32('qcom,label'), 4);
    assert.deepEqual(buffer.getCells('peers'), [3, vmids.get(other)], 'the owner, then the other borrower');
  }
});

test('RM §4.3 [infer]: two vdevices are the ends of one device when each names the other VM, their types pair (pair↔pair, doorbell↔doorbell-source, sender↔receiver message-queue, shm↔shm) and their labels agree', () => {
  const cfg = (specs: readonly VdevSpec[], name: string) => {
    const f = readFdt(peerDt(name, specs));
    return parseVmConfig(f).vdevices.filter((d) => d.type !== 'rm-rpc');
  };
  const one = (type: string, peer: string, label = 1, sender?: boolean) =>
    cfg([{ node: 'x', type, label, peer, ...(sender !== undefined ? { sender } : {}) }], 'n')[0]!;
  const m = (x: ReturnType<typeof one>, y: ReturnType<typeof one>) => peerVdevicesMatch('a', x, 'b', y);
  assert.equal(m(one('message-queue-pair', 'vm-name:b'), one('message-queue-pair', 'vm-name:a')), true);
  assert.equal(m(one('doorbell', 'vm-name:b'), one('doorbell-source', 'vm-name:a')), true);
  assert.equal(m(one('doorbell-source', 'vm-name:b'), one('doorbell', 'vm-name:a')), true);
  assert.equal(m(one('doorbell', 'vm-name:b'), one('doorbell', 'vm-name:a')), false, 'two receivers');
  assert.equal(m(one('message-queue', 'vm-name:b', 1, true), one('message-queue', 'vm-name:a', 1, false)), true);
  assert.equal(m(one('message-queue', 'vm-name:b', 1, true), one('message-queue', 'vm-name:a', 1, true)), false);
  assert.equal(m(one('shm', 'vm-name:b'), one('shm', 'vm-name:a')), true);
  assert.equal(
    m(one('message-queue-pair', 'vm-name:b', 1), one('message-queue-pair', 'vm-name:a', 2)),
    false,
    'labels',
  );
  assert.equal(m(one('message-queue-pair', 'vm-name:c'), one('message-queue-pair', 'vm-name:a')), false, 'names');
  assert.equal(m(one('message-queue-pair', 'default'), one('message-queue-pair', 'vm-name:a')), false, 'owner peer');
  assert.equal(m(one('virtio-mmio', 'vm-name:b'), one('virtio-mmio', 'vm-name:a')), false, 'not a pairing type');
});

test(
  "RM §4.1 (dtc): both guests' patched DTs decompile with dtc and show the VM-to-VM nodes",
  { skip: skipDtc },
  () => {
    const t = talkOnce();
    const dtc = (blob: Uint8Array): string => {
      const r = spawnSync('dtc', ['-q', '-I', 'dtb', '-O', 'dts'], { input: blob });
      assert.equal(r.status, 0, `dtc failed: ${r.stderr}`);
      return r.stdout.toString();
    };
    const a = dtc(t.raw.get('alice')!);
    const b = dtc(t.raw.get('bob')!);
    assert.match(a, /qcom,peers = "vm-name:bob";/);
    assert.match(b, /qcom,peers = "vm-name:alice";/);
    assert.match(a, new RegExp(`qcom,peer-vmid = <0x${t.vmids.get('bob')!.toString(16)}>;`));
    assert.match(b, new RegExp(`qcom,peer-vmid = <0x${t.vmids.get('alice')!.toString(16)}>;`));
    assert.match(a, /chat@[0-9a-f]+ \{[^}]*compatible = "qcom,gunyah-message-queue\\0qcom,gunyah-capability";/);
    assert.match(a, /ring@[0-9a-f]+ \{[^}]*compatible = "qcom,gunyah-doorbell\\0qcom,gunyah-capability";/);
    assert.match(b, /ring@[0-9a-f]+ \{[^}]*compatible = "qcom,gunyah-doorbell-source\\0qcom,gunyah-capability";/);
    assert.doesNotMatch(a, /stray@/, 'only the config node (/gunyah-vm-config/vdevices/stray) is there');
  },
);
