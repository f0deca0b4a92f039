// Virtual devices between a VM and its owner (RM spec §2.3, §4.1, §4.3): the doorbells and
// message-queue pairs a VM's config asks for, built at VM_INIT with hypercalls, exported into the
// VM's device tree at VM_START (one node per device at its `generate` path), and handed to the
// owner's VMM through VM_GET_HYP_RESOURCES. The peer is the VM's owner ([infer]: `peer-default`,
// or any peer name — the model has no VM names to resolve yet).
//
// - doorbell: the VM receives (its VIRQ on the VM's VIC); the owner rings it (DOORBELL_SRC entry).
// - doorbell-source: the VM rings; the owner receives (DOORBELL entry with the owner's VIRQ).
// - message-queue-pair: a queue each way; the VM's node has reg <tx rx> and both interrupts; the
//   owner gets MSG_QUEUE_SEND and MSG_QUEUE_RECV entries with its VIRQs.
// - message-queue: one queue; the VM is its sender (is-sender) or its receiver (is-receiver), the
//   owner the other end (MSG_QUEUE_RECV or MSG_QUEUE_SEND with its VIRQ).
// - shm: no object; memory the owner lends or shares with the vdevice's label. The node names the
//   VM's /reserved-memory node of that parcel (`memory-region`, filled at VM_START by the overlay).
// - shm-doorbell: an shm plus two doorbells, one each way, whose nodes the shm node references
//   (tx-doorbell: the VM rings it, the owner receives; rx-doorbell: the owner rings, the VM receives).
// Interrupt specifiers are edge rising, as the RM emits them (§1.1).

import { DOORBELL_RIGHT, MSGQUEUE_RIGHT } from '../hyp/abi/rights.js';
import type { Fdt } from '../machine/fdt/tree.js';
import { encodeCells, encodeU32, encodeU64, encodeU64List } from '../machine/fdt/props.js';
import { DtError, gicSpecifier } from './dt/hypervisor-node.js';
import type { VdeviceConfig } from './dt/vm-config.js';
import type { Hyp } from './hyp.js';
import { HypResourceType, type HypResource } from './msgs/hyp-resources.js';

const DEFAULT_MESSAGE_SIZE = 240;
const DEFAULT_QUEUE_DEPTH = 8;

/** One end's view: its VMID, cspace and VIC caps (in the root cspace), and a VIRQ allocator. */
export interface VdevEnd {
  vmid: number;
  cspace: bigint;
  vic: bigint;
  virq(): number;
}

/** What a vdevice's node may ask of the rest of the overlay when it is filled (VM_START). */
export interface VdevFillContext {
  /**
   * The phandle of the VM's /reserved-memory node for the parcel with this label that the VM has
   * accepted, or undefined when there is none.
   */
  memoryRegion(label: number): number | undefined;
}

/** An shm / shm-doorbell vdevice's memory: the parcel with `label`, at `base` if fixed. */
export interface ShmVdev {
  label: number;
  base?: bigint;
  allocateBase: boolean;
  optional: boolean;
  /** The vdevice's push-compatible strings (they go on its /reserved-memory node too). */
  pushCompatible: readonly string[];
}

/** A built vdevice: what the VM's DT gets, what the owner is told, and what to delete later. */
export interface BuiltVdev {
  name: string;
  type: string;
  /** The VM's node: path and properties setter. */
  node: { path: string; fill: (fdt: Fdt, ctx: VdevFillContext) => void };
  ownerResources: HypResource[];
  /** Objects' caps in the root cspace. */
  rootCaps: bigint[];
  /** Caps given to the owner (in its cspace). */
  ownerCaps: bigint[];
  /** shm / shm-doorbell only. */
  shm?: ShmVdev;
}

const resource = (r: Partial<HypResource> & Pick<HypResource, 'type' | 'capId'>): HypResource => ({
  partnerVmid: 0,
  handle: 0,
  label: 0,
  virqHandle: 0,
  virq: 0,
  base: 0n,
  size: 0n,
  ...r,
});

/**
 * Build the vdevices of `cfg` for `guest` with `owner` as peer, appending each to `out` once built.
 * Unknown types are skipped.
 */
export function buildVdevices(
  hyp: Hyp,
  root: { partition: bigint; cspace: bigint },
  guest: VdevEnd,
  owner: VdevEnd,
  cfg: readonly VdeviceConfig[],
  out: BuiltVdev[] = [],
): BuiltVdev[] {
  const mk = (type: string): bigint => hyp.must(`partition_create_${type}`, root.partition, root.cspace, 0n);
  const give = (cap: bigint, to: VdevEnd, rights: number): bigint =>
    hyp.must('cspace_copy_cap_from', root.cspace, cap, to.cspace, BigInt(rights), 0n);
  /** A doorbell the guest receives (its VIRQ on the guest's VIC) or rings (VIRQ on the owner's). */
  const doorbell = (guestReceives: boolean, into: BuiltVdev) => {
    // VIRQs first: running out of them then leaves no object behind.
    const receiver = guestReceives ? guest : owner;
    const virq = receiver.virq();
    const db = mk('doorbell');
    into.rootCaps.push(db);
    hyp.must('object_activate', db, 0n);
    hyp.must('doorbell_bind_virq', db, receiver.vic, BigInt(virq), 0n);
    const guestCap = give(db, guest, guestReceives ? DOORBELL_RIGHT.receive : DOORBELL_RIGHT.send);
    const ownerCap = give(db, owner, guestReceives ? DOORBELL_RIGHT.send : DOORBELL_RIGHT.receive);
    into.ownerCaps.push(ownerCap);
    return { virq, guestCap, ownerCap };
  };
  /** The guest's node of a doorbell (§4.1), with a phandle when `withPhandle`; returns it or 0. */
  const doorbellNode = (
    fdt: Fdt,
    path: string,
    bell: { virq: number; guestCap: bigint },
    guestReceives: boolean,
    pushCompatible: readonly string[],
    label: number,
    withPhandle: boolean,
  ): number => {
    const n = fdt.ensureNode(path);
    const kind = guestReceives ? 'qcom,gunyah-doorbell' : 'qcom,gunyah-doorbell-source';
    n.setStrings('compatible', [...pushCompatible, kind, 'qcom,gunyah-capability']);
    n.setProperty('reg', encodeU64List([bell.guestCap]));
    if (guestReceives) n.setProperty('interrupts', encodeCells(gicSpecifier(bell.virq)));
    const ph = withPhandle ? fdt.phandle(path) : 0;
    n.setProperty('qcom,label', encodeU32(label));
    n.setProperty('label', encodeU32(label));
    return ph;
  };
  const queue = (size: bigint, depth: bigint, into: BuiltVdev): bigint => {
    const q = mk('msgqueue');
    into.rootCaps.push(q);
    hyp.must('msgqueue_configure', q, depth | (size << 16n), 0n);
    hyp.must('object_activate', q, 0n);
    return q;
  };
  /** A new entry, tracked in `out` before its objects exist so a failure part-way leaks nothing. */
  const entry = (d: VdeviceConfig, path: string): BuiltVdev => {
    const b: BuiltVdev = {
      name: d.name,
      type: d.type,
      node: { path, fill: () => undefined },
      ownerResources: [],
      rootCaps: [],
      ownerCaps: [],
    };
    out.push(b);
    return b;
  };
  for (const d of cfg) {
    const label = d.label ?? 0;
    const generate = d.generate ?? '/hypervisor';
    const labelProps = (fdt: Fdt, path: string): void => {
      const n = fdt.node(path);
      n.setProperty('qcom,label', encodeU32(label));
      n.setProperty('label', encodeU32(label));
    };
    if (d.type === 'doorbell' || d.type === 'doorbell-source') {
      const guestReceives = d.type === 'doorbell';
      const b = entry(d, generate);
      const bell = doorbell(guestReceives, b);
      const path = `${generate}@${bell.guestCap.toString(16)}`;
      b.node = {
        path,
        fill: (fdt) => void doorbellNode(fdt, path, bell, guestReceives, d.pushCompatible, label, false),
      };
      b.ownerResources.push(
        resource({
          type: guestReceives ? HypResourceType.DOORBELL_SRC : HypResourceType.DOORBELL,
          partnerVmid: guest.vmid,
          label,
          capId: bell.ownerCap,
          virq: guestReceives ? 0 : bell.virq,
        }),
      );
    } else if (d.type === 'message-queue-pair') {
      const size = BigInt(d.messageSize ?? DEFAULT_MESSAGE_SIZE);
      const depth = BigInt(d.queueDepth ?? DEFAULT_QUEUE_DEPTH);
      const gTx = guest.virq();
      const gRx = guest.virq();
      const oTx = owner.virq();
      const oRx = owner.virq();
      const b = entry(d, generate);
      const up = queue(size, depth, b); // guest → owner
      const down = queue(size, depth, b); // owner → guest
      hyp.must('msgqueue_bind_send_virq', up, guest.vic, BigInt(gTx), 0n);
      hyp.must('msgqueue_bind_receive_virq', down, guest.vic, BigInt(gRx), 0n);
      hyp.must('msgqueue_bind_send_virq', down, owner.vic, BigInt(oTx), 0n);
      hyp.must('msgqueue_bind_receive_virq', up, owner.vic, BigInt(oRx), 0n);
      const txCap = give(up, guest, MSGQUEUE_RIGHT.send);
      const rxCap = give(down, guest, MSGQUEUE_RIGHT.receive);
      const oSend = give(down, owner, MSGQUEUE_RIGHT.send);
      b.ownerCaps.push(oSend);
      const oRecv = give(up, owner, MSGQUEUE_RIGHT.receive);
      b.ownerCaps.push(oRecv);
      const path = `${generate}@${rxCap.toString(16)}`;
      b.node = {
        path,
        fill: (fdt) => {
          const n = fdt.ensureNode(path);
          n.setStrings('compatible', [...d.pushCompatible, 'qcom,gunyah-message-queue', 'qcom,gunyah-capability']);
          n.setProperty('reg', encodeU64List([txCap, rxCap]));
          n.setProperty('interrupts', encodeCells([...gicSpecifier(gTx), ...gicSpecifier(gRx)]));
          n.setFlag('qcom,is-full-duplex');
          n.setProperty('qcom,tx-message-size', encodeU32(Number(size)));
          n.setProperty('qcom,rx-message-size', encodeU32(Number(size)));
          n.setProperty('qcom,tx-queue-depth', encodeU32(Number(depth)));
          n.setProperty('qcom,rx-queue-depth', encodeU32(Number(depth)));
          n.setString('peer', d.peer ?? 'default');
          labelProps(fdt, path);
        },
      };
      b.ownerResources.push(
        resource({ type: HypResourceType.MSG_QUEUE_SEND, partnerVmid: guest.vmid, label, capId: oSend, virq: oTx }),
        resource({ type: HypResourceType.MSG_QUEUE_RECV, partnerVmid: guest.vmid, label, capId: oRecv, virq: oRx }),
      );
    } else if (d.type === 'message-queue') {
      // One queue; the VM is the end its config names (the parser insists on exactly one).
      const size = BigInt(d.messageSize ?? DEFAULT_MESSAGE_SIZE);
      const depth = BigInt(d.queueDepth ?? DEFAULT_QUEUE_DEPTH);
      const sends = d.isSender;
      const gVirq = guest.virq();
      const oVirq = owner.virq();
      const b = entry(d, generate);
      const q = queue(size, depth, b);
      // The sender's VIRQ is the queue's send (not-full) interrupt, the receiver's its receive one.
      hyp.must(sends ? 'msgqueue_bind_send_virq' : 'msgqueue_bind_receive_virq', q, guest.vic, BigInt(gVirq), 0n);
      hyp.must(sends ? 'msgqueue_bind_receive_virq' : 'msgqueue_bind_send_virq', q, owner.vic, BigInt(oVirq), 0n);
      const guestCap = give(q, guest, sends ? MSGQUEUE_RIGHT.send : MSGQUEUE_RIGHT.receive);
      const ownerCap = give(q, owner, sends ? MSGQUEUE_RIGHT.receive : MSGQUEUE_RIGHT.send);
      b.ownerCaps.push(ownerCap);
      const path = `${generate}@${guestCap.toString(16)}`;
      b.node = {
        path,
        fill: (fdt) => {
          const n = fdt.ensureNode(path);
          n.setStrings('compatible', [...d.pushCompatible, 'qcom,gunyah-message-queue', 'qcom,gunyah-capability']);
          n.setProperty('reg', encodeU64List([guestCap]));
          n.setFlag(sends ? 'is-sender' : 'is-receiver');
          // §4.1 names them tx_* whichever end the VM is (they describe the one queue).
          n.setProperty('tx_message_size', encodeU32(Number(size)));
          n.setProperty('tx_queue_depth', encodeU32(Number(depth)));
          n.setProperty('interrupts', encodeCells(gicSpecifier(gVirq)));
          labelProps(fdt, path);
        },
      };
      b.ownerResources.push(
        resource({
          type: sends ? HypResourceType.MSG_QUEUE_RECV : HypResourceType.MSG_QUEUE_SEND,
          partnerVmid: guest.vmid,
          label,
          capId: ownerCap,
          virq: oVirq,
        }),
      );
    } else if (d.type === 'shm' || d.type === 'shm-doorbell') {
      const path = generate; // §4.1: no unit address
      const b = entry(d, path);
      b.shm = {
        label,
        ...(d.base !== undefined ? { base: d.base } : {}),
        allocateBase: d.allocateBase,
        optional: d.optional,
        pushCompatible: d.pushCompatible,
      };
      let bells: { tx: ReturnType<typeof doorbell>; rx: ReturnType<typeof doorbell> } | null = null;
      if (d.type === 'shm-doorbell') {
        const tx = doorbell(false, b); // the VM rings, the owner receives
        const rx = doorbell(true, b); // the owner rings, the VM receives
        bells = { tx, rx };
        b.ownerResources.push(
          resource({
            type: HypResourceType.DOORBELL,
            partnerVmid: guest.vmid,
            label,
            capId: tx.ownerCap,
            virq: tx.virq,
          }),
          resource({ type: HypResourceType.DOORBELL_SRC, partnerVmid: guest.vmid, label, capId: rx.ownerCap }),
        );
      }
      // [infer] The two doorbell nodes are siblings of the shm node, named after it:
      // `<name>-tx-doorbell@<cap>` (a doorbell-source) and `<name>-rx-doorbell@<cap>` (a doorbell).
      const bellPath = (dir: string, cap: bigint): string => `${path}-${dir}-doorbell@${cap.toString(16)}`;
      b.node = {
        path,
        fill: (fdt, ctx) => {
          let txPh = 0;
          let rxPh = 0;
          if (bells !== null) {
            // The doorbells carry no push-compatibles of their own (those are the shm's).
            txPh = doorbellNode(fdt, bellPath('tx', bells.tx.guestCap), bells.tx, false, [], label, true);
            rxPh = doorbellNode(fdt, bellPath('rx', bells.rx.guestCap), bells.rx, true, [], label, true);
          }
          const n = fdt.ensureNode(path);
          const kind = bells === null ? 'qcom,shared-memory' : 'qcom,gunyah-shm-doorbell';
          n.setStrings('compatible', [...d.pushCompatible, kind]);
          const region = ctx.memoryRegion(label);
          if (region !== undefined) {
            n.setProperty('buffer', encodeU32(region));
            n.setProperty('memory-region', encodeU32(region));
          } else if (!d.optional) {
            // [infer, §4.1 "may be absent if … optional"] A required buffer with no parcel is an
            // overlay failure: VM_START answers NORESOURCE and the VM is INIT_FAILED.
            throw new DtError(`${d.name}: no memory parcel with label ${label} for this ${d.type}`);
          }
          // The peer is the VM's owner (the other end of every vdevice here).
          n.setProperty('peer', encodeU32(owner.vmid));
          labelProps(fdt, path);
          if (bells !== null) {
            n.setProperty('tx-doorbell', encodeU32(txPh));
            n.setProperty('rx-doorbell', encodeU32(rxPh));
          }
          if (d.dmaBase !== undefined) n.setProperty('dma_base', encodeU64(d.dmaBase));
        },
      };
    }
  }
  return out;
}

/** Delete a VM's vdevices: the owner's caps, then the RM's (the objects die with their last cap). */
export function destroyVdevices(
  hyp: Hyp,
  rootCspace: bigint,
  ownerCspace: bigint | null,
  built: readonly BuiltVdev[],
): void {
  for (const b of built) {
    if (ownerCspace !== null) for (const c of b.ownerCaps) hyp.call('cspace_delete_cap_from', ownerCspace, c, 0n);
    for (const c of b.rootCaps) hyp.call('cspace_delete_cap_from', rootCspace, c, 0n);
  }
}
