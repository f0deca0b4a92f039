// The device-tree nodes the RM writes for a VM (RM spec §1.1, §4.1, §4.2, §9.1): `/hypervisor` with
// the VM's identity and the RM link node a guest uses to find the RM. Built on the FDT model
// (src/machine/fdt); the caller reads the guest's DTB, adds these, and writes it back.
//
// Choices: `/hypervisor` lists "gunyah-hypervisor" first for upstream Linux (§4.2 says to emit it;
// the public RM's HLOS path omits it, §9.1) and then the RM's own strings. GIC specifiers are three
// cells {type, number relative to its range, flags}, with the RM's edge-rising flag (§1.1, §9.1).

import { Fdt, FdtNode } from '../../machine/fdt/tree.js';
import { encodeCells, encodeU32, encodeU64List } from '../../machine/fdt/props.js';

export class DtError extends Error {}

const HYPERVISOR_COMPATIBLE = [
  'gunyah-hypervisor',
  'qcom,gunyah-hypervisor-1.0',
  'qcom,gunyah-hypervisor',
  'simple-bus',
];
const VM_ID_COMPATIBLE = ['qcom,gunyah-vm-id-1.0', 'qcom,gunyah-vm-id'];
const RM_COMPATIBLE_HLOS = ['gunyah-resource-manager', 'qcom,resource-manager-1-0', 'qcom,resource-manager'];
const RM_COMPATIBLE_SECONDARY = [
  'gunyah-resource-manager',
  'qcom,resource-manager',
  'qcom,resource-manager-1-0',
  'qcom,gunyah-message-queue',
  'qcom,gunyah-capability',
];
/** GIC interrupt-specifier flags (§1.1): 1 edge rising, 4 level high. */
export const IRQ_EDGE_RISING = 1;
export const IRQ_LEVEL_HIGH = 4;
/** The link's queues (§1.2): 240-byte messages, depth 8. */
const LINK_MESSAGE_SIZE = 240;
const LINK_QUEUE_DEPTH = 8;
/** qcom,free-irq-start of the primary (§9.1) and of secondaries (§4.1). */
export const HLOS_FREE_IRQ_START = 960;

/** A GIC specifier for INTID `intid` (§1.1): SPI 32..1019, ESPI 4096..5119, PPI 16..31, EPPI 1056..1119. */
export function gicSpecifier(intid: number, flags = IRQ_EDGE_RISING): [number, number, number] {
  if (intid >= 32 && intid <= 1019) return [0, intid - 32, flags];
  if (intid >= 16 && intid <= 31) return [1, intid - 16, flags];
  if (intid >= 4096 && intid <= 5119) return [2, intid - 4096, flags];
  if (intid >= 1056 && intid <= 1119) return [3, intid - 1056, flags];
  throw new DtError(`interrupt ${intid} is not an SPI, PPI, ESPI or EPPI`);
}

export interface LinkNode {
  /** The caps (in the VM's cspace) of the queue it transmits on and the one it receives on. */
  txCap: bigint;
  rxCap: bigint;
  /** Its VIRQs: TX (room to send) and RX (a message pending). */
  txVirq: number;
  rxVirq: number;
}

function hypervisorNode(fdt: Fdt): FdtNode {
  if (fdt.lookup('/hypervisor') !== undefined) {
    // §4.1: an input tree that has /hypervisor already is refused (VM_START → NORESOURCE).
    throw new DtError('the device tree already has a /hypervisor node');
  }
  const h = fdt.addNode('/hypervisor');
  h.setCells('#address-cells', [2]);
  h.setCells('#size-cells', [0]);
  h.setStrings('compatible', HYPERVISOR_COMPATIBLE);
  return h;
}

function linkProps(n: FdtNode, link: LinkNode): void {
  n.setProperty('reg', encodeU64List([link.txCap, link.rxCap]));
  n.setProperty('interrupts', encodeCells([...gicSpecifier(link.txVirq), ...gicSpecifier(link.rxVirq)]));
  n.setFlag('qcom,is-full-duplex');
  n.setProperty('qcom,tx-message-size', encodeU32(LINK_MESSAGE_SIZE));
  n.setProperty('qcom,rx-message-size', encodeU32(LINK_MESSAGE_SIZE));
  n.setProperty('qcom,tx-queue-depth', encodeU32(LINK_QUEUE_DEPTH));
  n.setProperty('qcom,rx-queue-depth', encodeU32(LINK_QUEUE_DEPTH));
}

/** The primary's `/hypervisor` (§4.2, §9.1): VM node with VMID 3 and `qcom,resource-manager-rpc@<tx cap>`. */
export function addPrimaryHypervisor(fdt: Fdt, link: LinkNode, vmid = 3): void {
  const h = hypervisorNode(fdt);
  const vm = h.addChild('qcom,gunyah-vm');
  vm.setStrings('compatible', VM_ID_COMPATIBLE);
  vm.setProperty('qcom,vmid', encodeU32(vmid));
  vm.setString('qcom,vendor', 'Qualcomm');
  const rm = h.addChild(`qcom,resource-manager-rpc@${link.txCap.toString(16).padStart(16, '0')}`);
  rm.setStrings('compatible', RM_COMPATIBLE_HLOS);
  linkProps(rm, link);
  rm.setProperty('qcom,free-irq-start', encodeU32(HLOS_FREE_IRQ_START));
}

export interface SecondaryIdentity {
  vmid: number;
  owner: number;
  imageName: string;
  uri?: string;
  guid?: string;
  /**
   * The distinct peer-id strings of the VM's message-queue-pair vdevices that have a peer vdevice
   * (§4.1 `qcom,peers`, e.g. `vm-name:foo`); the property is left out when there are none.
   */
  peers?: readonly string[];
}

/**
 * A secondary VM's `/hypervisor` (§4.1): the `qcom,gunyah-vm` node and its RM link node at
 * `generate` (default `/hypervisor/gunyah-resource-mgr`) with unit address = the RX cap (lower-case
 * hex, no leading zeros), push-compatibles first.
 */
export function addSecondaryHypervisor(
  fdt: Fdt,
  id: SecondaryIdentity,
  link: LinkNode & { generate?: string; pushCompatible?: readonly string[]; vdeviceHandle?: number },
): void {
  const h = hypervisorNode(fdt);
  const vm = h.addChild('qcom,gunyah-vm');
  vm.setStrings('compatible', VM_ID_COMPATIBLE);
  vm.setProperty('qcom,vmid', encodeU32(id.vmid));
  vm.setProperty('qcom,owner-vmid', encodeU32(id.owner));
  vm.setString('qcom,vendor', 'Qualcomm');
  vm.setString('qcom,image-name', id.imageName);
  if (id.uri !== undefined) vm.setString('qcom,vm-uri', id.uri);
  if (id.guid !== undefined) vm.setString('qcom,vm-guid', id.guid.toLowerCase());
  const peers = [...new Set(id.peers ?? [])];
  if (peers.length > 0) vm.setStrings('qcom,peers', peers);
  const path = `${link.generate ?? '/hypervisor/gunyah-resource-mgr'}@${link.rxCap.toString(16)}`;
  const rm = fdt.ensureNode(path);
  rm.setStrings('compatible', [...(link.pushCompatible ?? []), ...RM_COMPATIBLE_SECONDARY]);
  linkProps(rm, link);
  rm.setProperty('qcom,free-irq-start', encodeU32(0));
  rm.setProperty('qcom,vdevice-handle', encodeU32(link.vdeviceHandle ?? 0));
}
