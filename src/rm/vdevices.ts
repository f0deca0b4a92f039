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
// Interrupt specifiers are edge rising, as the RM emits them (§1.1).

import { DOORBELL_RIGHT, MSGQUEUE_RIGHT } from '../hyp/abi/rights.js';
import type { Fdt } from '../machine/fdt/tree.js';
import { encodeCells, encodeU32, encodeU64List } from '../machine/fdt/props.js';
import { gicSpecifier } from './dt/hypervisor-node.js';
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

/** A built vdevice: what the VM's DT gets, what the owner is told, and what to delete later. */
export interface BuiltVdev {
  name: string;
  type: string;
  /** The VM's node: path and properties setter. */
  node: { path: string; fill: (fdt: Fdt) => void };
  ownerResources: HypResource[];
  /** Objects' caps in the root cspace. */
  rootCaps: bigint[];
  /** Caps given to the owner (in its cspace). */
  ownerCaps: bigint[];
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
  for (const d of cfg) {
    const label = d.label ?? 0;
    const generate = d.generate ?? '/hypervisor';
    const labelProps = (fdt: Fdt, path: string): void => {
      const n = fdt.node(path);
      n.setProperty('qcom,label', encodeU32(label));
      n.setProperty('label', encodeU32(label));
    };
    if (d.type === 'doorbell' || d.type === 'doorbell-source') {
      // VIRQs first: running out of them then leaves no object behind.
      const guestReceives = d.type === 'doorbell';
      const receiver = guestReceives ? guest : owner;
      const virq = receiver.virq();
      const db = mk('doorbell');
      hyp.must('object_activate', db, 0n);
      hyp.must('doorbell_bind_virq', db, receiver.vic, BigInt(virq), 0n);
      const guestCap = give(db, guest, guestReceives ? DOORBELL_RIGHT.receive : DOORBELL_RIGHT.send);
      const ownerCap = give(db, owner, guestReceives ? DOORBELL_RIGHT.send : DOORBELL_RIGHT.receive);
      const path = `${generate}@${guestCap.toString(16)}`;
      out.push({
        name: d.name,
        type: d.type,
        node: {
          path,
          fill: (fdt) => {
            const n = fdt.ensureNode(path);
            const kind = guestReceives ? 'qcom,gunyah-doorbell' : 'qcom,gunyah-doorbell-source';
            n.setStrings('compatible', [...d.pushCompatible, kind, 'qcom,gunyah-capability']);
            n.setProperty('reg', encodeU64List([guestCap]));
            if (guestReceives) n.setProperty('interrupts', encodeCells(gicSpecifier(virq)));
            labelProps(fdt, path);
          },
        },
        ownerResources: [
          resource({
            type: guestReceives ? HypResourceType.DOORBELL_SRC : HypResourceType.DOORBELL,
            partnerVmid: guest.vmid,
            label,
            capId: ownerCap,
            virq: guestReceives ? 0 : virq,
          }),
        ],
        rootCaps: [db],
        ownerCaps: [ownerCap],
      });
    } else if (d.type === 'message-queue-pair') {
      const size = BigInt(d.messageSize ?? DEFAULT_MESSAGE_SIZE);
      const depth = BigInt(d.queueDepth ?? DEFAULT_QUEUE_DEPTH);
      const queue = (): bigint => {
        const q = mk('msgqueue');
        hyp.must('msgqueue_configure', q, depth | (size << 16n), 0n);
        hyp.must('object_activate', q, 0n);
        return q;
      };
      const gTx = guest.virq();
      const gRx = guest.virq();
      const oTx = owner.virq();
      const oRx = owner.virq();
      const up = queue(); // guest → owner
      const down = queue(); // owner → guest
      hyp.must('msgqueue_bind_send_virq', up, guest.vic, BigInt(gTx), 0n);
      hyp.must('msgqueue_bind_receive_virq', down, guest.vic, BigInt(gRx), 0n);
      hyp.must('msgqueue_bind_send_virq', down, owner.vic, BigInt(oTx), 0n);
      hyp.must('msgqueue_bind_receive_virq', up, owner.vic, BigInt(oRx), 0n);
      const txCap = give(up, guest, MSGQUEUE_RIGHT.send);
      const rxCap = give(down, guest, MSGQUEUE_RIGHT.receive);
      const oSend = give(down, owner, MSGQUEUE_RIGHT.send);
      const oRecv = give(up, owner, MSGQUEUE_RIGHT.receive);
      const path = `${generate}@${rxCap.toString(16)}`;
      out.push({
        name: d.name,
        type: d.type,
        node: {
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
        },
        ownerResources: [
          resource({ type: HypResourceType.MSG_QUEUE_SEND, partnerVmid: guest.vmid, label, capId: oSend, virq: oTx }),
          resource({ type: HypResourceType.MSG_QUEUE_RECV, partnerVmid: guest.vmid, label, capId: oRecv, virq: oRx }),
        ],
        rootCaps: [up, down],
        ownerCaps: [oSend, oRecv],
      });
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
