// Virtual devices between a VM and its owner (RM spec §2.3, §4.1, §4.3): the doorbells and
// message-queue pairs a VM's config asks for, built at VM_INIT with hypercalls, exported into the
// VM's device tree at VM_START (one node per device at its `generate` path), and handed to the
// owner's VMM through VM_GET_HYP_RESOURCES. The peer is the VM's owner ([infer]: `peer-default`,
// or any peer-id but `vm-name:<image-name>`).
//
// A vdevice whose peer is `vm-name:<image-name>` is between two VMs instead (buildPeerVdevice,
// below): it pairs with a vdevice of the VM of that image name that names this VM back, and each
// VM gets its end — caps in its cspace, VIRQs in its VIC, a node in its own DT shaped as in the
// owner case. The owner holds nothing of it.
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
import { ConfigError, type VdeviceConfig } from './dt/vm-config.js';
import { RmError } from './rpc/index.js';
import type { Hyp } from './hyp.js';
import { HypResourceType, type HypResource } from './msgs/hyp-resources.js';

/** doorbell_mask: all 64 flags. */
const ALL_FLAGS = 0xffff_ffff_ffff_ffffn;
const DEFAULT_MESSAGE_SIZE = 240;
const DEFAULT_QUEUE_DEPTH = 8;

/**
 * [infer] The vdevice types that may have another VM as peer, and the type the peer VM's vdevice
 * must have: a doorbell's receiver pairs with a doorbell-source, the others with their own type (a
 * one-way message-queue's sender with a receiver). Other types keep the owner as peer.
 */
const PEER_TYPE: ReadonlyMap<string, string> = new Map([
  ['message-queue-pair', 'message-queue-pair'],
  ['doorbell', 'doorbell-source'],
  ['doorbell-source', 'doorbell'],
  ['message-queue', 'message-queue'],
  ['shm', 'shm'],
]);

/** One end's view: its VMID, cspace and VIC caps (in the root cspace), and a VIRQ allocator. */
export interface VdevEnd {
  vmid: number;
  cspace: bigint;
  vic: bigint;
  /** A VIRQ in this end's VIC: the next free one, or `exact` (reserved beforehand, see configuredVirq). */
  virq(exact?: number): number;
}

/**
 * The VIRQ a guest-receiving doorbell's config names with `interrupts = <type num flags>` (a GIC
 * SPI specifier, RM spec §1.1/§4.3: gunyah-test-vmm's `bell-<n>` irqfd doorbells), and whether it
 * is edge-triggered (flags bit 0). Undefined when the config names none. [infer] Only SPIs are
 * accepted: a PPI would be per-vCPU, which a doorbell cannot target.
 */
export function configuredVirq(d: VdeviceConfig): { virq: number; edge: boolean } | undefined {
  if (d.type !== 'doorbell' || d.interrupts === undefined) return undefined;
  const [type, num, flags] = d.interrupts;
  if (d.interrupts.length !== 3 || type !== 0 || num === undefined || flags === undefined) {
    throw new ConfigError(`${d.name}: interrupts must be one GIC SPI specifier <0 n flags>`, RmError.ARGUMENT_INVALID);
  }
  return { virq: num + 32, edge: (flags & 1) !== 0 };
}

/** What a vdevice's node may ask of the rest of the overlay when it is filled (VM_START). */
export interface VdevFillContext {
  /**
   * The phandle of the VM's /reserved-memory node for the parcel with this label that the VM has
   * accepted, or undefined when there is none.
   */
  memoryRegion(label: number): number | undefined;
  /**
   * The VMID of the VM whose vdevice is paired with this VM's vdevice `name` (one naming another
   * VM by `vm-name:`), or undefined while it has none.
   */
  peerVmid(name: string): number | undefined;
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

/** A VM's node of a doorbell (§4.1), with a phandle when `withPhandle`; returns it or 0. */
function doorbellNode(
  fdt: Fdt,
  path: string,
  bell: { virq: number; guestCap: bigint },
  guestReceives: boolean,
  pushCompatible: readonly string[],
  label: number,
  withPhandle: boolean,
): number {
  const n = fdt.ensureNode(path);
  const kind = guestReceives ? 'qcom,gunyah-doorbell' : 'qcom,gunyah-doorbell-source';
  n.setStrings('compatible', [...pushCompatible, kind, 'qcom,gunyah-capability']);
  n.setProperty('reg', encodeU64List([bell.guestCap]));
  if (guestReceives) n.setProperty('interrupts', encodeCells(gicSpecifier(bell.virq)));
  const ph = withPhandle ? fdt.phandle(path) : 0;
  n.setProperty('qcom,label', encodeU32(label));
  n.setProperty('label', encodeU32(label));
  return ph;
}

/** One VM's end of a message-queue pair: its caps, VIRQs, and each queue's size and depth. */
interface MqpEnd {
  txCap: bigint;
  rxCap: bigint;
  txVirq: number;
  rxVirq: number;
  tx: { size: bigint; depth: bigint };
  rx: { size: bigint; depth: bigint };
}

/** A VM's node of a message-queue pair (§4.1); `peerVmid` adds `qcom,peer-vmid`. */
function mqpNode(fdt: Fdt, path: string, d: VdeviceConfig, e: MqpEnd, peerVmid?: number): void {
  const n = fdt.ensureNode(path);
  n.setStrings('compatible', [...d.pushCompatible, 'qcom,gunyah-message-queue', 'qcom,gunyah-capability']);
  n.setProperty('reg', encodeU64List([e.txCap, e.rxCap]));
  n.setProperty('interrupts', encodeCells([...gicSpecifier(e.txVirq), ...gicSpecifier(e.rxVirq)]));
  n.setFlag('qcom,is-full-duplex');
  n.setProperty('qcom,tx-message-size', encodeU32(Number(e.tx.size)));
  n.setProperty('qcom,rx-message-size', encodeU32(Number(e.rx.size)));
  n.setProperty('qcom,tx-queue-depth', encodeU32(Number(e.tx.depth)));
  n.setProperty('qcom,rx-queue-depth', encodeU32(Number(e.rx.depth)));
  if (peerVmid !== undefined) n.setProperty('qcom,peer-vmid', encodeU32(peerVmid));
  n.setString('peer', d.peer ?? 'default');
  n.setProperty('qcom,label', encodeU32(d.label ?? 0));
  n.setProperty('label', encodeU32(d.label ?? 0));
}

/** A VM's node of a one-way message queue (§4.1): its one cap and VIRQ, and which end it is. */
function mqNode(
  fdt: Fdt,
  path: string,
  d: VdeviceConfig,
  e: { cap: bigint; virq: number; sends: boolean; size: bigint; depth: bigint },
): void {
  const n = fdt.ensureNode(path);
  n.setStrings('compatible', [...d.pushCompatible, 'qcom,gunyah-message-queue', 'qcom,gunyah-capability']);
  n.setProperty('reg', encodeU64List([e.cap]));
  n.setFlag(e.sends ? 'is-sender' : 'is-receiver');
  // §4.1 names them tx_* whichever end the VM is (they describe the one queue).
  n.setProperty('tx_message_size', encodeU32(Number(e.size)));
  n.setProperty('tx_queue_depth', encodeU32(Number(e.depth)));
  n.setProperty('interrupts', encodeCells(gicSpecifier(e.virq)));
  n.setProperty('qcom,label', encodeU32(d.label ?? 0));
  n.setProperty('label', encodeU32(d.label ?? 0));
}

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
  const doorbell = (guestReceives: boolean, into: BuiltVdev, d?: VdeviceConfig) => {
    // VIRQs first: running out of them then leaves no object behind.
    const receiver = guestReceives ? guest : owner;
    const named = guestReceives && d !== undefined ? configuredVirq(d) : undefined;
    const virq = receiver.virq(named?.virq);
    const db = mk('doorbell');
    into.rootCaps.push(db);
    hyp.must('object_activate', db, 0n);
    hyp.must('doorbell_bind_virq', db, receiver.vic, BigInt(virq), 0n);
    // An edge-triggered doorbell interrupt (an irqfd, e.g. a device's line the VMM raises): every
    // flag is enabled and cleared as the VIRQ is raised, so each ring is one interrupt, and the
    // guest never has to doorbell_receive (hypervisor-abi §5.2 doorbell_mask). [infer]
    if (named?.edge) hyp.must('doorbell_mask', db, ALL_FLAGS, ALL_FLAGS, 0n);
    const guestCap = give(db, guest, guestReceives ? DOORBELL_RIGHT.receive : DOORBELL_RIGHT.send);
    const ownerCap = give(db, owner, guestReceives ? DOORBELL_RIGHT.send : DOORBELL_RIGHT.receive);
    into.ownerCaps.push(ownerCap);
    return { virq, guestCap, ownerCap };
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
    // Devices with another VM are built when both VMs are known (buildPeerVdevice); an shm has no
    // objects, so it is built here and learns its peer when its node is filled.
    if (isPeerVdevice(d) && d.type !== 'shm') continue;
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
      const bell = doorbell(guestReceives, b, d);
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
        fill: (fdt) =>
          mqpNode(fdt, path, d, {
            txCap,
            rxCap,
            txVirq: gTx,
            rxVirq: gRx,
            tx: { size, depth },
            rx: { size, depth },
          }),
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
        fill: (fdt) => mqNode(fdt, path, d, { cap: guestCap, virq: gVirq, sends, size, depth }),
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
          // The peer is the VM's owner, or the VM a `vm-name:` peer is paired with: [infer] until
          // there is one, the node is left out (as for the other VM-to-VM devices).
          const peer = isPeerVdevice(d) ? ctx.peerVmid(d.name) : owner.vmid;
          if (peer === undefined) return;
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
          n.setProperty('peer', encodeU32(peer));
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

/** Whether vdevice `d` is built with another VM (a `vm-name:` peer of a type that pairs). */
export function isPeerVdevice(d: VdeviceConfig): boolean {
  return d.peerVm !== undefined && PEER_TYPE.has(d.type);
}

/**
 * Whether `a` (a vdevice of the VM named `aName`) and `b` (one of the VM named `bName`) are the two
 * ends of one VM-to-VM device ([infer]): each names the other VM, their types pair (PEER_TYPE; for
 * a one-way message-queue one is the sender and the other the receiver), and their labels (0 when
 * absent) are equal.
 */
export function peerVdevicesMatch(aName: string, a: VdeviceConfig, bName: string, b: VdeviceConfig): boolean {
  if (!isPeerVdevice(a) || !isPeerVdevice(b)) return false;
  if (a.peerVm !== bName || b.peerVm !== aName) return false;
  if (PEER_TYPE.get(a.type) !== b.type || (a.label ?? 0) !== (b.label ?? 0)) return false;
  return a.type !== 'message-queue' || a.isSender !== b.isSender;
}

/** One VM's end of a VM-to-VM vdevice. */
export interface PeerEnd {
  vmid: number;
  /** The vdevice's config in this VM's config DT. */
  config: VdeviceConfig;
  /** Its node in this VM's DT, filled at this VM's VM_START (none for an shm: buildVdevices has it). */
  node: { path: string; fill: (fdt: Fdt) => void } | null;
  /** What VM_GET_HYP_RESOURCES about the other VM tells this one (§2.3: its own view). */
  resources: HypResource[];
  /** The objects' caps in this VM's cspace. */
  caps: bigint[];
  /** VIRQs taken in this VM's VIC (given back at teardown). */
  virqs: number[];
}

/** A device between two VMs: both ends and the objects' caps in the root cspace. */
export interface PeerVdev {
  ends: [PeerEnd, PeerEnd];
  rootCaps: bigint[];
  /** Set once every object is made (a failure part-way leaves it false: no nodes, no resources). */
  complete: boolean;
}

/**
 * Build the device between `a`'s vdevice `da` and `b`'s vdevice `db` (peerVdevicesMatch holds),
 * appending it to `out` before its objects exist so a failure part-way leaks nothing. Each VM gets
 * the caps and VIRQs of its own end, and a node shaped as in the owner case (§4.1) from its side.
 *
 * - message-queue-pair: a queue each way; [infer] each queue's message size and depth are its
 *   sender's config values. Both nodes have `qcom,peer-vmid` (the other VM) and `peer` (the config's
 *   peer string).
 * - doorbell ↔ doorbell-source: one doorbell, its VIRQ on the receiver's VIC.
 * - message-queue (sender ↔ receiver): one queue, [infer] the sender's size and depth.
 * - shm: no objects; the pairing gives each VM's shm node its `peer` (the other VMID).
 */
export function buildPeerVdevice(
  hyp: Hyp,
  root: { partition: bigint; cspace: bigint },
  a: VdevEnd,
  da: VdeviceConfig,
  b: VdevEnd,
  db: VdeviceConfig,
  out: PeerVdev[],
): PeerVdev {
  const end = (v: VdevEnd, d: VdeviceConfig): PeerEnd => ({
    vmid: v.vmid,
    config: d,
    node: null,
    resources: [],
    caps: [],
    virqs: [],
  });
  const pv: PeerVdev = { ends: [end(a, da), end(b, db)], rootCaps: [], complete: false };
  out.push(pv);
  const [ea, eb] = pv.ends;
  const virq = (v: VdevEnd, e: PeerEnd): number => {
    const n = v.virq();
    e.virqs.push(n);
    return n;
  };
  const give = (cap: bigint, v: VdevEnd, e: PeerEnd, rights: number): bigint => {
    const c = hyp.must('cspace_copy_cap_from', root.cspace, cap, v.cspace, BigInt(rights), 0n);
    e.caps.push(c);
    return c;
  };
  const queue = (d: VdeviceConfig): { q: bigint; size: bigint; depth: bigint } => {
    const size = BigInt(d.messageSize ?? DEFAULT_MESSAGE_SIZE);
    const depth = BigInt(d.queueDepth ?? DEFAULT_QUEUE_DEPTH);
    const q = hyp.must('partition_create_msgqueue', root.partition, root.cspace, 0n);
    pv.rootCaps.push(q);
    hyp.must('msgqueue_configure', q, depth | (size << 16n), 0n);
    hyp.must('object_activate', q, 0n);
    return { q, size, depth };
  };
  const label = da.label ?? 0;
  const generate = (d: VdeviceConfig): string => d.generate ?? '/hypervisor';
  const res = (type: number, capId: bigint, partnerVmid: number, virqN = 0): HypResource =>
    resource({ type, capId, partnerVmid, label, virq: virqN });
  if (da.type === 'message-queue-pair') {
    const [aTx, aRx] = [virq(a, ea), virq(a, ea)];
    const [bTx, bRx] = [virq(b, eb), virq(b, eb)];
    const ab = queue(da); // a → b
    const ba = queue(db); // b → a
    hyp.must('msgqueue_bind_send_virq', ab.q, a.vic, BigInt(aTx), 0n);
    hyp.must('msgqueue_bind_receive_virq', ba.q, a.vic, BigInt(aRx), 0n);
    hyp.must('msgqueue_bind_send_virq', ba.q, b.vic, BigInt(bTx), 0n);
    hyp.must('msgqueue_bind_receive_virq', ab.q, b.vic, BigInt(bRx), 0n);
    const sides = [
      { v: a, e: ea, d: da, other: b, tx: ab, rx: ba, txVirq: aTx, rxVirq: aRx },
      { v: b, e: eb, d: db, other: a, tx: ba, rx: ab, txVirq: bTx, rxVirq: bRx },
    ];
    for (const s of sides) {
      const txCap = give(s.tx.q, s.v, s.e, MSGQUEUE_RIGHT.send);
      const rxCap = give(s.rx.q, s.v, s.e, MSGQUEUE_RIGHT.receive);
      const path = `${generate(s.d)}@${rxCap.toString(16)}`;
      const mqp: MqpEnd = {
        txCap,
        rxCap,
        txVirq: s.txVirq,
        rxVirq: s.rxVirq,
        tx: { size: s.tx.size, depth: s.tx.depth },
        rx: { size: s.rx.size, depth: s.rx.depth },
      };
      s.e.node = { path, fill: (fdt) => mqpNode(fdt, path, s.d, mqp, s.other.vmid) };
      s.e.resources.push(
        res(HypResourceType.MSG_QUEUE_SEND, txCap, s.other.vmid, s.txVirq),
        res(HypResourceType.MSG_QUEUE_RECV, rxCap, s.other.vmid, s.rxVirq),
      );
    }
  } else if (da.type === 'doorbell' || da.type === 'doorbell-source') {
    const [rv, re, rd, sv, se, sd] = da.type === 'doorbell' ? [a, ea, da, b, eb, db] : [b, eb, db, a, ea, da];
    const n = virq(rv, re);
    const db1 = hyp.must('partition_create_doorbell', root.partition, root.cspace, 0n);
    pv.rootCaps.push(db1);
    hyp.must('object_activate', db1, 0n);
    hyp.must('doorbell_bind_virq', db1, rv.vic, BigInt(n), 0n);
    const rCap = give(db1, rv, re, DOORBELL_RIGHT.receive);
    const sCap = give(db1, sv, se, DOORBELL_RIGHT.send);
    const rPath = `${generate(rd)}@${rCap.toString(16)}`;
    const sPath = `${generate(sd)}@${sCap.toString(16)}`;
    re.node = {
      path: rPath,
      fill: (fdt) => void doorbellNode(fdt, rPath, { virq: n, guestCap: rCap }, true, rd.pushCompatible, label, false),
    };
    se.node = {
      path: sPath,
      fill: (fdt) => void doorbellNode(fdt, sPath, { virq: 0, guestCap: sCap }, false, sd.pushCompatible, label, false),
    };
    re.resources.push(res(HypResourceType.DOORBELL, rCap, sv.vmid, n));
    se.resources.push(res(HypResourceType.DOORBELL_SRC, sCap, rv.vmid));
  } else if (da.type === 'message-queue') {
    const [sv, se, sd, rv, re, rd] = da.isSender ? [a, ea, da, b, eb, db] : [b, eb, db, a, ea, da];
    const sVirq = virq(sv, se);
    const rVirq = virq(rv, re);
    const q = queue(sd);
    // The sender's VIRQ is the queue's send (not-full) interrupt, the receiver's its receive one.
    hyp.must('msgqueue_bind_send_virq', q.q, sv.vic, BigInt(sVirq), 0n);
    hyp.must('msgqueue_bind_receive_virq', q.q, rv.vic, BigInt(rVirq), 0n);
    const sCap = give(q.q, sv, se, MSGQUEUE_RIGHT.send);
    const rCap = give(q.q, rv, re, MSGQUEUE_RIGHT.receive);
    const sPath = `${generate(sd)}@${sCap.toString(16)}`;
    const rPath = `${generate(rd)}@${rCap.toString(16)}`;
    const one = { size: q.size, depth: q.depth };
    se.node = { path: sPath, fill: (fdt) => mqNode(fdt, sPath, sd, { cap: sCap, virq: sVirq, sends: true, ...one }) };
    re.node = { path: rPath, fill: (fdt) => mqNode(fdt, rPath, rd, { cap: rCap, virq: rVirq, sends: false, ...one }) };
    se.resources.push(res(HypResourceType.MSG_QUEUE_SEND, sCap, rv.vmid, sVirq));
    re.resources.push(res(HypResourceType.MSG_QUEUE_RECV, rCap, sv.vmid, rVirq));
  }
  pv.complete = true;
  return pv;
}

/**
 * Delete a VM-to-VM device: each VM's caps from its cspace (`cspaceOf`, null once the VM's cspace
 * is gone), then the RM's; the objects die with their last cap, and their VIRQ bindings with them.
 */
export function destroyPeerVdevice(
  hyp: Hyp,
  rootCspace: bigint,
  pv: PeerVdev,
  cspaceOf: (vmid: number) => bigint | null,
): void {
  for (const e of pv.ends) {
    const cs = cspaceOf(e.vmid);
    if (cs !== null) for (const c of e.caps) hyp.call('cspace_delete_cap_from', cs, c, 0n);
  }
  for (const c of pv.rootCaps) hyp.call('cspace_delete_cap_from', rootCspace, c, 0n);
}
