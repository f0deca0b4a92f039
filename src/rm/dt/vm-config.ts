// The VM-config device tree the VMM supplies (RM spec §4.3, §9.2), parsed at VM_INIT: the VM's
// identity and attributes, where its image goes, how its vCPUs are scheduled, and the virtual
// devices the RM builds for it. Only what the RM acts on is interpreted; unknown properties are
// ignored, and a property of the wrong shape is a ConfigError naming it (VM_INIT then fails with
// the RM error the error carries).

import { FdtError } from '../../machine/fdt/error.js';
import type { Fdt, FdtNode } from '../../machine/fdt/tree.js';
import { RmError } from '../rpc/index.js';

export class ConfigError extends Error {
  constructor(
    message: string,
    /** What VM_INIT answers: MEM_INVALID for an unusable tree, ARGUMENT_INVALID for bad config. */
    readonly rmError: number = RmError.ARGUMENT_INVALID,
  ) {
    super(message);
  }
}

/** vm-attrs values the RM recognises (§3). */
export const VM_ATTRS = [
  'ras-error-handler',
  'amu-counting-disabled',
  'crash-fatal',
  'context-dump',
  'no-shutdown',
  'no-reset',
  'guest-ram-dump',
  'insecure-console',
] as const;

export type VcpuAffinity = 'proxy' | 'static' | 'pinned' | 'sticky';

export interface VdeviceConfig {
  /** The node's name under `vdevices`. */
  name: string;
  type: string;
  generate?: string;
  pushCompatible: string[];
  label?: number;
  /** The peer-id string (`peer`, or `peer-default` given a value); 'default' for the flag. */
  peer?: string;
  /**
   * The image name of the VM the peer string names (`vm-name:<name>`, §4.1 `qcom,peers`); absent
   * when the peer is the VM's owner (the flag, or any other peer-id form [infer]).
   */
  peerVm?: string;
  /** rm-rpc: whether it carries the VM's console (console-dev). */
  consoleDev: boolean;
  messageSize?: number;
  queueDepth?: number;
  /** GIC specifiers given for the device, as cells. */
  interrupts?: number[];
  /** shm / shm-doorbell / iomem: the fixed IPA of the device's memory (`base`). */
  base?: bigint;
  /** shm / shm-doorbell / iomem: the RM chooses the IPA (`allocate-base`). */
  allocateBase: boolean;
  /** shm / shm-doorbell: the device works without its memory (`optional`). */
  optional: boolean;
  /** shm / shm-doorbell / virtio-mmio: the guest's DMA base (`dma_base`), exported only if given. */
  dmaBase?: bigint;
  /** message-queue (one direction): the VM sends (`is-sender`) or receives (`is-receiver`). */
  isSender: boolean;
  isReceiver: boolean;
}

export interface VmConfig {
  /** The node the config came from (`/gunyah-vm-config` or `/qcom,vm-config`). */
  path: string;
  vmType: string;
  osType?: string;
  imageName: string;
  vendor?: string;
  uri?: string;
  guid?: string;
  attrs: Set<(typeof VM_ATTRS)[number]>;
  memory: { baseAddress?: bigint; sizeMin?: bigint; sizeMax?: bigint; isDirect: boolean };
  vcpus: { affinity: VcpuAffinity; schedPriority?: number; schedTimesliceUs?: number };
  vdevices: VdeviceConfig[];
  /** CPU nodes under `/cpus` (each a vCPU), in order. */
  cpus: string[];
  /** Whether the tree has a PSCI node (without one the guest cannot power itself off, §9.2). */
  hasPsci: boolean;
}

/** The peer-id prefix that names a VM by its image name (§4.1 `qcom,peers`). */
export const VM_NAME_PEER = 'vm-name:';

const AFFINITIES: readonly VcpuAffinity[] = ['proxy', 'static', 'pinned', 'sticky'];

/** Read a property with `read`, turning its FdtError into a ConfigError that names the node. */
function prop<T>(node: FdtNode, path: string, name: string, read: (n: FdtNode) => T | undefined): T | undefined {
  try {
    return read(node);
  } catch (e) {
    if (e instanceof FdtError) throw new ConfigError(`${path}: ${name}: ${e.message}`);
    throw e;
  }
}

/** A u32 or u64 value given in one or two cells (or as #address-cells says). */
function number(node: FdtNode, path: string, name: string): bigint | undefined {
  const cells = prop(node, path, name, (n) => n.getCells(name));
  if (cells === undefined) return undefined;
  if (cells.length === 0 || cells.length > 2) throw new ConfigError(`${path}: ${name}: expected one or two cells`);
  return cells.reduce((acc, c) => (acc << 32n) | BigInt(c >>> 0), 0n);
}

export function parseVmConfig(fdt: Fdt): VmConfig {
  const path = fdt.lookup('/gunyah-vm-config')
    ? '/gunyah-vm-config'
    : fdt.lookup('/qcom,vm-config')
      ? '/qcom,vm-config'
      : null;
  if (path === null) throw new ConfigError('no /gunyah-vm-config (or /qcom,vm-config) node', RmError.MEM_INVALID);
  const cfg = fdt.lookup(path)!;
  const str = (n: FdtNode, p: string, name: string): string | undefined => prop(n, p, name, (x) => x.getString(name));
  const vmType = str(cfg, path, 'vm-type') ?? 'aarch64-guest';
  if (vmType !== 'aarch64-guest') throw new ConfigError(`${path}: vm-type "${vmType}" is not aarch64-guest`);
  const attrs = new Set<(typeof VM_ATTRS)[number]>();
  for (const a of prop(cfg, path, 'vm-attrs', (x) => x.getStrings('vm-attrs')) ?? []) {
    const known = VM_ATTRS.find((k) => k === a);
    if (known === undefined) throw new ConfigError(`${path}: vm-attrs: unknown attribute "${a}"`);
    attrs.add(known);
  }
  // §3: crash-fatal implies no-shutdown and no-reset.
  if (attrs.has('crash-fatal')) {
    attrs.add('no-shutdown');
    attrs.add('no-reset');
  }

  const memPath = `${path}/memory`;
  const mem = fdt.lookup(memPath);
  const memory = { isDirect: false } as VmConfig['memory'];
  if (mem !== undefined) {
    memory.baseAddress = number(mem, memPath, 'base-address');
    memory.sizeMin = number(mem, memPath, 'size-min');
    memory.sizeMax = number(mem, memPath, 'size-max');
    memory.isDirect = mem.hasProperty('is-direct');
    // §4.3: the base must be 4 KiB aligned, else INIT fails.
    if (memory.baseAddress !== undefined && memory.baseAddress % 0x1000n !== 0n) {
      throw new ConfigError(`${memPath}: base-address 0x${memory.baseAddress.toString(16)} is not 4 KiB aligned`);
    }
  }

  const vcpuPath = `${path}/vcpus`;
  const vc = fdt.lookup(vcpuPath);
  const affinity = (vc && str(vc, vcpuPath, 'affinity')) ?? 'proxy';
  const aff = AFFINITIES.find((a) => a === affinity);
  if (aff === undefined)
    throw new ConfigError(`${vcpuPath}: affinity "${affinity}" is not one of ${AFFINITIES.join(', ')}`);
  const vcpus: VmConfig['vcpus'] = { affinity: aff };
  if (vc !== undefined) {
    const pr = number(vc, vcpuPath, 'sched-priority');
    if (pr !== undefined) vcpus.schedPriority = Number(pr);
    const ts = number(vc, vcpuPath, 'sched-timeslice');
    if (ts !== undefined) vcpus.schedTimesliceUs = Number(ts);
  }

  const vdevices: VdeviceConfig[] = [];
  const vdPath = `${path}/vdevices`;
  const vd = fdt.lookup(vdPath);
  const defaultGenerate = vd ? str(vd, vdPath, 'generate') : undefined;
  for (const [name, n] of vd?.children ?? []) {
    const p = `${vdPath}/${name}`;
    const type = str(n, p, 'vdevice-type');
    if (type === undefined) throw new ConfigError(`${p}: no vdevice-type`);
    const status = str(n, p, 'status');
    if (status !== undefined && status !== 'okay' && status !== 'ok') continue;
    const label = number(n, p, 'label') ?? number(n, p, 'qcom,label');
    const size = number(n, p, 'message-size');
    const depth = number(n, p, 'queue-depth');
    const ints = prop(n, p, 'interrupts', (x) => x.getCells('interrupts'));
    // The vdevices-wide `generate` is the parent path, not a node to use bare ("/hypervisor@<cap>"
    // would be a sibling of /hypervisor, and shm nodes have no unit address at all): [infer] a
    // vdevice without a generate of its own goes under it, named after its config node
    // (`/hypervisor/<name>`). The rm-rpc link keeps its own default (dt/hypervisor-node.ts).
    const generate =
      str(n, p, 'generate') ?? (type === 'rm-rpc' ? defaultGenerate : `${defaultGenerate ?? '/hypervisor'}/${name}`);
    // `peer-default` is a flag (the VM's default peer, its owner) or names the peer.
    const peerDefault = n.getProperty('peer-default');
    const peer =
      str(n, p, 'peer') ??
      (peerDefault === undefined ? undefined : peerDefault.length === 0 ? 'default' : str(n, p, 'peer-default'));
    // [infer] `vm-name:<image-name>` names another VM (a peer vdevice, src/rm/vdevices.ts); the
    // name must not be empty. Other peer-id strings keep the owner as the peer.
    const peerVm = peer?.startsWith(VM_NAME_PEER) ? peer.slice(VM_NAME_PEER.length) : undefined;
    if (peerVm === '') throw new ConfigError(`${p}: peer "${peer}" names no VM`);
    const base = number(n, p, 'base');
    const dmaBase = number(n, p, 'dma_base');
    const isSender = n.hasProperty('is-sender');
    const isReceiver = n.hasProperty('is-receiver');
    // [infer] A one-way message-queue says which end the VM is: exactly one of is-sender and
    // is-receiver (neither or both is a config error, ARGUMENT_INVALID at VM_INIT).
    if (type === 'message-queue' && isSender === isReceiver) {
      throw new ConfigError(`${p}: a message-queue needs exactly one of is-sender and is-receiver`);
    }
    // [infer] A fixed shm/iomem base is a page address (the RM maps the parcel there, §2.8).
    if (base !== undefined && base % 0x1000n !== 0n) {
      throw new ConfigError(`${p}: base 0x${base.toString(16)} is not 4 KiB aligned`);
    }
    vdevices.push({
      name,
      type,
      ...(generate !== undefined ? { generate } : {}),
      pushCompatible: prop(n, p, 'push-compatible', (x) => x.getStrings('push-compatible')) ?? [],
      ...(label !== undefined ? { label: Number(label) } : {}),
      ...(peer !== undefined ? { peer } : {}),
      ...(peerVm !== undefined ? { peerVm } : {}),
      consoleDev: n.hasProperty('console-dev'),
      ...(size !== undefined ? { messageSize: Number(size) } : {}),
      ...(depth !== undefined ? { queueDepth: Number(depth) } : {}),
      ...(ints !== undefined ? { interrupts: ints } : {}),
      ...(base !== undefined ? { base } : {}),
      allocateBase: n.hasProperty('allocate-base'),
      optional: n.hasProperty('optional'),
      ...(dmaBase !== undefined ? { dmaBase } : {}),
      isSender,
      isReceiver,
    });
  }

  const cpus = [...(fdt.lookup('/cpus')?.children ?? [])]
    .filter(([name, n]) => name.startsWith('cpu@') || n.getString('device_type') === 'cpu')
    .map(([name]) => `/cpus/${name}`);
  const hasPsci = fdt.lookup('/psci') !== undefined;

  const out: VmConfig = {
    path,
    vmType,
    imageName: str(cfg, path, 'image-name') ?? '',
    attrs,
    memory,
    vcpus,
    vdevices,
    cpus,
    hasPsci,
  };
  const osType = str(cfg, path, 'os-type');
  if (osType !== undefined) out.osType = osType;
  const vendor = str(cfg, path, 'vendor');
  if (vendor !== undefined) out.vendor = vendor;
  const uri = str(cfg, path, 'vm-uri');
  if (uri !== undefined) out.uri = uri;
  const guid = str(cfg, path, 'vm-guid');
  if (guid !== undefined) out.guid = guid;
  return out;
}
