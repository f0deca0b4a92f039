// The resource manager (RM spec; DESIGN.md §2): the root VM's program, a native vCPU that holds
// Gunyah's policy and reaches the hypervisor only through hypercalls. It starts by reading its
// boot environment (boot.ts), builds the primary VM (VMID 3, RM spec §9.1, hypervisor-abi.md
// §11.3) with its RPC link, and then serves requests: each step takes its interrupts, drains every
// link, answers each complete message, and sleeps until the next interrupt.
//
// Handled so far: VM_ALLOCATE, VM_DEALLOCATE, VM_GET_STATE, VM_GET_VMID, VM_GET_OWNER,
// VM_GET_PEERS, VM_HOST_GET_TYPE (vm-mgmt.ts); any other request ID gets the UNIMPLEMENTED reply
// (§1.5). State changes send NOTIFY_VM_STATUS to the VM's running peers that have a link (§2.4).

import { RmBootError, readBootInfo, type RmBootInfo } from './boot.js';
import { Hyp, RmHypError } from './hyp.js';
import { RpcLink } from './link.js';
import { readFdt, writeFdt } from '../machine/fdt/index.js';
import { FdtError } from '../machine/fdt/error.js';
import { addPrimaryHypervisor, DtError } from './dt/hypervisor-node.js';
import { consoleControl, consoleWrite, type ConsoleHost, type ConsoleState } from './console.js';
import { IrqLending } from './irq-lending.js';
import { VmLifecycle } from './vm-lifecycle.js';
import { vmGetHypResourcesMsg, vmResetMsg, vmStartMsg } from './msgs/index.js';
import { MemParcels } from './memparcel.js';
import { VmMisc, type BootRegister } from './vm-misc.js';
import type { RmVcpu } from './port.js';
import { NumberPool } from './pool.js';
import {
  MsgId,
  MsgType,
  NotificationSeq,
  messageName,
  msgTypeName,
  rmErrorName,
  notification,
  replyTo,
  unimplementedReply,
  type RpcMessage,
} from './rpc/index.js';
import { VMID_RM, VmState, VmTable, type Reply, type VmRecord } from './vm-mgmt.js';

/** hypervisor_identify's api_info the RM was built for: API version 1, 64-bit (§9.5). */
const API_VERSION_MASK = 0x3fffn;
const API_64BIT = 1n << 15n;

/** The primary (HLOS) VM's VMID (RM spec §9.1). */
export const PRIMARY_VMID = 3;
/** The primary's RPC-link interrupts (RM spec §9.1: free-irq-start 960; the link takes 960/961). */
export const PRIMARY_LINK_TX_VIRQ = 960;
export const PRIMARY_LINK_RX_VIRQ = 961;
/** vcpu_configure options of an HLOS vCPU (hypervisor-abi.md §8.1): pinned, hlos_vm. */
const HLOS_VCPU_OPTIONS = (1n << 0n) | (1n << 63n);
/** VIRQs the RM's own VIC offers (§11.1 item 5: SPIs 32..95). */
const RM_VIRQ_FIRST = 32;
const RM_VIRQ_LAST = 95;
/** Bytes of RM heap per link buffer (one 240-byte packet). */
const SCRATCH_SLOT = 0x100n;
/** The primary VM's VIC: every bindable SPI (§9.1). */
const PRIMARY_MAX_VIRQS = 988n;
const PRIMARY_CSPACE_CAPS = 512n;
/** memextent / mapping attributes: RWX, NORMAL_WB for user and kernel (§10.2). */
const ACCESS_RWX = 7n;
const MAP_RWX_NORMAL = 7n | (7n << 4n) | (15n << 16n);
const MAP_RW_DEVICE = 6n | (6n << 4n) | (0n << 16n);
const UART_SPI = 33;
const ALL_ONES = 0xffff_ffff_ffff_ffffn;

/**
 * The RM's send-space ("not full") VIRQ of each link is edge-triggered. Its source is level — true
 * while the client's queue holds fewer than 8 packets (hypervisor-abi.md §5.3) — so as a level
 * interrupt it would stay pending after every EOI once a client had filled its queue, and the RM
 * would never sleep again. As an edge it fires once each time the client makes room (8 → 7), which is
 * exactly when the RM has something waiting (its flush stopped on MSGQUEUE_FULL). [infer] The real
 * RM's choice is not in the spec; Linux takes the link's interrupts as edges too (§1.1).
 */
const LINK_TX_EDGE = true;

/** Where the RM maps the HLOS memory into its own space while it patches the primary's DT. */
const PRIMARY_DT_WINDOW = 0x2_0000_0000n;
const FDT_MAGIC = 0xd00d_feed;
const FDT_HEADER_SIZE = 40;
/** addrspace_map attributes for RAM the RM reads and writes: RW, normal memory. */
const MAP_RW_NORMAL = 6n | (6n << 4n) | (15n << 16n);

/** The vGIC frames at QEMU virt's addresses (hypervisor-abi §9.1): GICD, then a GICR per vCPU. */
const GICD_BASE = 0x0800_0000n;
const GICD_SIZE = 0x1_0000n;
const GICR_BASE = 0x080a_0000n;
const GICR_STRIDE = 0x2_0000n;
const VGIC_WINDOW = { base: 0x0800_0000n, size: 0x0100_0000n };
/** The device GiB below every VM's RAM (RM spec §9.2). */
const DEVICE_GIB = 0x4000_0000n;
/** addrspace_attach_vdevice GICR flags: bit0 last_valid, bit1 last (GICR_TYPER.Last). */
const GICR_LAST_VALID = 1n;
const GICR_LAST = 2n;

/**
 * Give a VM its vGIC frames (hypervisor-abi §12 step 5): the distributor, then each vCPU's
 * redistributor (the vCPUs are attached and active by now), the last one marked Last.
 */
function attachVgic(hyp: Hyp, addrspace: bigint, vic: bigint, vcpus: number): void {
  hyp.must('addrspace_attach_vdevice', addrspace, vic, 0n, GICD_BASE, GICD_SIZE, 0n);
  for (let i = 0; i < vcpus; i++) {
    const flags = GICR_LAST_VALID | (i === vcpus - 1 ? GICR_LAST : 0n);
    hyp.must(
      'addrspace_attach_vdevice',
      addrspace,
      vic,
      BigInt(i + 1),
      GICR_BASE + BigInt(i) * GICR_STRIDE,
      GICR_STRIDE,
      flags,
    );
  }
}

export type RmStep = 'yield' | 'wait' | 'off';

export interface RmOptions {
  /** Build the primary VM at start (default true). */
  primary?: boolean;
  /** The primary VM's vCPUs (default 1; vCPU i is pinned to physical CPU i). */
  primaryVcpus?: number;
  /**
   * Told of every RPC message the RM takes or sends (for traces): the peer VM, the direction, and
   * a one-line account (`VM_GET_VMID request seq 3`, `VM_GET_VMID reply seq 3 OK`, …).
   */
  onRpc?: (vmid: number, dir: 'in' | 'out', text: string) => void;
}

/** The hypervisor objects of a VM the RM built (caps in the root cspace), and its RPC link. */
export interface RmVm {
  vmid: number;
  cspace: bigint;
  addrspace: bigint;
  vic: bigint;
  vpm: bigint;
  vcpus: bigint[];
  link: RpcLink | null;
  /**
   * The VM's memory extents by IPA (caps in the root cspace): the primary's RAM, and later the
   * parcels a VM has accepted.
   */
  memory: { ipa: bigint; size: bigint; memextent: bigint }[];
  /** Caps the owner holds to this VM's vCPUs (in the owner's cspace), for vcpu_run. */
  ownerVcpuCaps: bigint[];
  /** Its console (RM §2.5), if its rm-rpc vdevice is a console-dev. */
  console: ConsoleState | null;
}

/** vcpu_configure option bit 9: proxy-scheduled by the owner's VMM with vcpu_run (§8.4). */
const VCPU_RUN_SCHEDULED = 1n << 9n;
/** Rights the owner's vCPU caps carry: power, affinity, yield_to, bind_virq, state (§4.4, §2.8). */
const OWNER_VCPU_RIGHTS = 0x1n | 0x2n | 0x10n | 0x20n | 0x40n;
/**
 * VIRQs of a secondary VM's VIC: SPIs 32..95. [infer] Its RM link takes the last two, out of the
 * way of hardware IRQ numbers, which IRQ lending uses as VIRQs when the RM chooses (§2.7).
 */
const SECONDARY_MAX_VIRQS = 64n;
export const SECONDARY_LINK_TX_VIRQ = 94;
export const SECONDARY_LINK_RX_VIRQ = 95;
const SECONDARY_CSPACE_CAPS = 64n;

export class ResourceManager {
  /** Set once the RM has started. */
  info: RmBootInfo | null = null;
  /** hypervisor_identify's api_info, as the RM saw it. */
  apiInfo = 0n;
  /** Why the RM stopped, if it did (a start failure: the message a log would carry). */
  failure: string | null = null;
  /**
   * What became of the primary's device tree at boot (§4.2): 'patched' (the /hypervisor overlay
   * added in place), or why it was left alone.
   */
  primaryDt = 'not yet';
  /** VMs whose objects the RM built, by VMID. */
  readonly vms = new Map<number, RmVm>();
  /** Every VM the RM tracks (states, owners, peers). */
  readonly table = new VmTable();
  private readonly notifySeq = new NotificationSeq();
  /** The RM's own VIRQs (its VIC's SPIs): links and vCPU halt sources take them, teardown gives them back. */
  private readonly rmVirqs = new NumberPool(RM_VIRQ_FIRST, RM_VIRQ_LAST);
  /** The RM's hypercalls (set at start; the RM's vCPU does not change). */
  hyp: Hyp | null = null;
  /** The RM's vCPU (set at start). */
  vcpu: RmVcpu | null = null;
  /** VM configuration, start, stop, reset and exits (vm-lifecycle.ts). */
  readonly lifecycle: VmLifecycle = new VmLifecycle(this);
  /** IRQ lending (set at start). */
  irqs: IrqLending | null = null;
  /** Memory parcels (memparcel.ts). */
  readonly parcels: MemParcels = new MemParcels(this);
  /** Scratch buffers for link packets, carved from the heap in 0x100-byte slots (by slot index). */
  private scratchSlots = new NumberPool(0, -1);
  private heapBase = 0n;

  /**
   * Identity, crash messages, status, time base, firmware, boot context, demand paging, address
   * layout, IPA reservations (vm-misc.ts); made after `table.onStatus`, which it wraps.
   */
  readonly misc: VmMisc;

  constructor(readonly options: RmOptions = {}) {
    this.table.onStatus = (vm) => this.sendStatus(vm);
    this.misc = new VmMisc(this);
    // Parcels offered to a READY VM may match its shm vdevices (the lifecycle knows them).
    this.parcels.autoAccept = this.lifecycle.autoAcceptShm;
  }

  /** One scheduling of the RM's vCPU (the running system's NativeProgram.step). */
  step(v: RmVcpu): RmStep {
    if (this.failure !== null) return 'off';
    if (this.info === null) {
      try {
        this.start(v);
      } catch (e) {
        if (!(e instanceof RmBootError) && !(e instanceof RmHypError)) throw e;
        this.failure = `resource manager start: ${e.message}`;
        return 'off';
      }
    }
    const irq = v.irq;
    const taken: number[] = [];
    if (irq !== null) for (let id = irq.ack(); id !== 1023; id = irq.ack()) taken.push(id);
    for (const id of taken) this.lifecycle.onHalt(id);
    for (const vm of [...this.vms.values()]) {
      const link = vm.link;
      if (link === null) continue;
      link.flush();
      for (const msg of link.receive()) this.handle(vm, link, msg);
    }
    // Work that follows replies (VM teardown after VM_RESET), then whatever it sent.
    this.lifecycle.afterReplies();
    for (const vm of this.vms.values()) vm.link?.flush();
    // End the interrupts after draining: the queues' level VIRQs then drop (§5.3).
    for (const id of taken) irq!.eoi(id);
    return 'wait';
  }

  private start(v: RmVcpu): void {
    const hyp = new Hyp(v);
    const id = v.call('hypervisor_identify');
    this.apiInfo = id.x[0]!;
    if ((this.apiInfo & API_VERSION_MASK) !== 1n || (this.apiInfo & API_64BIT) === 0n) {
      throw new RmBootError(`unsupported hypervisor API (api_info 0x${this.apiInfo.toString(16)})`);
    }
    const info = readBootInfo(v);
    this.hyp = hyp;
    this.vcpu = v;
    this.heapBase = info.heap.base;
    this.scratchSlots = new NumberPool(0, Number(info.heap.size / SCRATCH_SLOT) - 1);
    // IRQ-lend handles are a random base + the HW IRQ number (§2.7); the base comes from the
    // hypervisor's entropy, so it is the same every run with the same seed.
    const base = Number(hyp.call('prng_get_entropy', 4n, 0n).x[1]! & 0xffff_ffffn);
    this.irqs = new IrqLending(
      {
        vicOf: (vmid) => this.vms.get(vmid)?.vic,
        bind: (h, vic, virq) => hyp.call('hwirq_bind_virq', h, vic, BigInt(virq), 0n).e,
        unbind: (h) => hyp.call('hwirq_unbind_virq', h, 0n).e,
        notify: (vmid, id, payload) => this.notify(vmid, id, payload),
      },
      base,
    );
    v.irq?.init();
    if (this.options.primary !== false) this.createPrimary(hyp, info, v);
    this.info = info;
  }

  /** The root partition and cspace caps (where the RM creates objects). */
  get rootCaps(): { partition: bigint; cspace: bigint } {
    return { partition: this.info!.caps.partition, cspace: this.info!.caps.cspace };
  }

  /** The RM's root addrspace and VIC caps. */
  get rmAddrspace(): bigint {
    return this.info!.caps.addrspace;
  }
  get rmVic(): bigint {
    return this.info!.caps.vic;
  }

  /** Destroy VM `vmid`'s objects: kill its vCPUs and delete every cap the RM and its owner hold. */
  destroyVm(vmid: number): void {
    const vm = this.vms.get(vmid);
    const hyp = this.hyp;
    if (vm === undefined || hyp === null) return;
    const C = this.info!.caps.cspace;
    const owner = this.vms.get(this.table.vms.get(vmid)?.owner ?? -1);
    for (const cap of vm.ownerVcpuCaps) if (owner) hyp.call('cspace_delete_cap_from', owner.cspace, cap, 0n);
    for (const t of vm.vcpus) {
      hyp.call('vcpu_kill', t, 0n);
      hyp.call('cspace_delete_cap_from', C, t, 0n);
    }
    const caps = [vm.vpm, vm.addrspace, vm.vic, vm.cspace];
    if (vm.link) caps.push(vm.link.rxQueue, vm.link.txQueue);
    for (const cap of caps) hyp.call('cspace_delete_cap_from', C, cap, 0n);
    // The link's queues are gone (their VIRQ bindings with them): its VIRQs and buffers are free.
    if (vm.link) {
      this.freeRmVirq(vm.link.rmRxVirq);
      this.freeRmVirq(vm.link.rmTxVirq);
      this.freeScratch(vm.link.buffers.rx);
      this.freeScratch(vm.link.buffers.tx);
    }
    this.vms.delete(vmid);
  }

  /**
   * An edge-triggered VIRQ on the RM's own VIC, enabled: for the vCPUs' HALT sources, which only
   * assert edges (hypervisor-abi.md §7).
   */
  allocRmVirq(): number {
    return this.rmVirq(this.vcpu!, true);
  }

  panic(reason: string): void {
    this.failure ??= `resource manager abort: ${reason}`;
  }

  crashMessage(vmid: number): Uint8Array {
    return this.misc.crashMessage(vmid);
  }

  bootContext(vmid: number): readonly BootRegister[] {
    return this.misc.bootContext(vmid);
  }

  /** Give back a VIRQ from allocRmVirq (its source is unbound or destroyed). */
  freeRmVirq(n: number): void {
    this.rmVirqs.give(n);
  }

  /** How many of the RM's VIRQs are in use (for leak checks). */
  get rmVirqsInUse(): number {
    return this.rmVirqs.inUse;
  }

  private rmVirq(v: RmVcpu, edge = false): number {
    const n = this.rmVirqs.take();
    if (n === null) throw new RmBootError('the RM has run out of VIRQs on its VIC');
    v.irq?.enable(n, edge);
    return n;
  }

  private scratch(): bigint {
    const slot = this.scratchSlots.take();
    if (slot === null) throw new RmBootError('the RM has run out of heap for link buffers');
    return this.heapBase + BigInt(slot) * SCRATCH_SLOT;
  }

  private freeScratch(at: bigint): void {
    this.scratchSlots.give(Number((at - this.heapBase) / SCRATCH_SLOT));
  }

  /**
   * The primary VM (hypervisor-abi.md §11.3, RM spec §9.1): VMID 3, its memory at IPA = PA over the
   * HLOS range, the UART passed through (page and SPI 33), one pinned HLOS vCPU per physical CPU in
   * a vpm_group, and its RPC link as caps 0 (TX) and 1 (RX) of its cspace. vCPU 0 is powered on at
   * the HLOS entry with X0 = the DT address.
   */
  private createPrimary(hyp: Hyp, info: RmBootInfo, v: RmVcpu): void {
    const { partition: P, cspace: C } = info.caps;
    const mk = (type: string): bigint => hyp.must(`partition_create_${type}`, P, C, 0n);
    const cspace = mk('cspace');
    hyp.must('cspace_configure', cspace, PRIMARY_CSPACE_CAPS, 0n);
    hyp.must('object_activate', cspace, 0n);
    const vic = mk('vic');
    const nv = this.options.primaryVcpus ?? 1;
    hyp.must('vic_configure', vic, BigInt(nv), PRIMARY_MAX_VIRQS, 2n, 0n);
    hyp.must('object_activate', vic, 0n);
    // The link first: its caps are the first two in the primary's cspace (§9.1: reg = <0 0 0 1>).
    const link = RpcLink.create(
      hyp,
      { partition: P, cspace: C, vic: info.caps.vic },
      { vmid: PRIMARY_VMID, cspace, vic },
      // rmTx edge-triggered: see LINK_TX_EDGE.
      {
        rmRx: this.rmVirq(v),
        rmTx: this.rmVirq(v, LINK_TX_EDGE),
        clientTx: PRIMARY_LINK_TX_VIRQ,
        clientRx: PRIMARY_LINK_RX_VIRQ,
      },
      { rx: this.scratch(), tx: this.scratch() },
    );
    const addrspace = mk('addrspace');
    hyp.must('addrspace_configure', addrspace, BigInt(PRIMARY_VMID), 0n);
    hyp.must('object_activate', addrspace, 0n);
    const me = mk('memextent');
    hyp.must('memextent_configure', me, info.hlos.base, info.hlos.size, ACCESS_RWX, 0n);
    hyp.must('object_activate', me, 0n);
    hyp.must('addrspace_map', addrspace, me, info.hlos.base, MAP_RWX_NORMAL, 0n, 0n, 0n);
    // The PL011 passed through: its page at its physical address, its SPI forwarded.
    if (info.caps.uartMemextent !== ALL_ONES) {
      hyp.must('addrspace_map', addrspace, info.caps.uartMemextent, info.uartAddress, MAP_RW_DEVICE, 0n, 0n, 0n);
    }
    const uartHwirq = info.hwirqs[UART_SPI];
    if (uartHwirq !== undefined && uartHwirq !== ALL_ONES) {
      hyp.must('hwirq_bind_virq', uartHwirq, vic, BigInt(UART_SPI), 0n);
      this.irqs?.noteBinding({ hwIrq: UART_SPI, hwirqCap: uartHwirq, vmid: PRIMARY_VMID, virq: UART_SPI });
    }
    const vpm = mk('vpm_group');
    hyp.must('vpm_group_configure', vpm, 0n, 0n);
    hyp.must('object_activate', vpm, 0n);
    const vcpus: bigint[] = [];
    for (let i = 0; i < nv; i++) {
      const t = mk('thread');
      hyp.must('vcpu_configure', t, HLOS_VCPU_OPTIONS, 0n);
      hyp.must('vcpu_set_affinity', t, BigInt(i), ALL_ONES);
      hyp.must('cspace_attach_thread', cspace, t, 0n);
      hyp.must('addrspace_attach_thread', addrspace, t, 0n);
      hyp.must('vic_attach_vcpu', vic, t, BigInt(i), 0n);
      hyp.must('vpm_group_attach_vcpu', vpm, t, BigInt(i), 0n);
      hyp.must('object_activate', t, 0n);
      vcpus.push(t);
    }
    attachVgic(hyp, addrspace, vic, nv);
    this.primaryDt = this.patchPrimaryDt(hyp, info, me, { txCap: link.client.txCap, rxCap: link.client.rxCap });
    this.vms.set(PRIMARY_VMID, {
      vmid: PRIMARY_VMID,
      cspace,
      addrspace,
      vic,
      vpm,
      vcpus,
      link,
      memory: [{ ipa: info.hlos.base, size: info.hlos.size, memextent: me }],
      ownerVcpuCaps: [],
      // [infer] The primary has no RM console: it owns the real UART.
      console: null,
    });
    // The primary is the RM's own (VM_GET_OWNER → 0xFF, §9.1) and runs from the start.
    this.table.adopt(PRIMARY_VMID, VMID_RM, VmState.RUNNING);
    hyp.must('vcpu_poweron', vcpus[0]!, info.hlos.entry, info.hlos.dtBase, 0n);
  }

  /**
   * Build the hypervisor objects of secondary VM `vmid` (allocated, owned by a VM with objects):
   * its cspace with the RM link as caps 0 (TX) and 1 (RX) as in the primary (§9.2) on VIRQs 94/95, a VIC, an
   * addrspace with VMID = `vmid`, a vpm_group, and `vcpus` proxy-scheduled vCPUs whose caps the
   * owner gets for vcpu_run. No memory: that arrives as accepted parcels. (VM_INIT will call this
   * once the VM-config DT is parsed; until then tests call it.)
   */
  buildSecondary(v: RmVcpu, vmid: number, opts: { vcpus?: number; console?: boolean; proxy?: boolean } = {}): RmVm {
    const vcpus = opts.vcpus ?? 1;
    // vCPU affinity "proxy" (the default, §4.3): the owner's VMM runs them with vcpu_run.
    const proxy = opts.proxy ?? true;
    const info = this.info;
    const rec = this.table.vms.get(vmid);
    const owner = rec !== undefined ? this.vms.get(rec.owner) : undefined;
    if (info === null || rec === undefined || owner === undefined) {
      throw new RmBootError(`VM ${vmid} cannot be built: not allocated by a running VM`);
    }
    const hyp = new Hyp(v);
    const { partition: P, cspace: C } = info.caps;
    const mk = (type: string): bigint => hyp.must(`partition_create_${type}`, P, C, 0n);
    const cspace = mk('cspace');
    hyp.must('cspace_configure', cspace, SECONDARY_CSPACE_CAPS, 0n);
    hyp.must('object_activate', cspace, 0n);
    const vic = mk('vic');
    hyp.must('vic_configure', vic, BigInt(vcpus), SECONDARY_MAX_VIRQS, 2n, 0n);
    hyp.must('object_activate', vic, 0n);
    const link = RpcLink.create(
      hyp,
      { partition: P, cspace: C, vic: info.caps.vic },
      { vmid, cspace, vic },
      {
        rmRx: this.rmVirq(v),
        rmTx: this.rmVirq(v, LINK_TX_EDGE),
        clientTx: SECONDARY_LINK_TX_VIRQ,
        clientRx: SECONDARY_LINK_RX_VIRQ,
      },
      { rx: this.scratch(), tx: this.scratch() },
    );
    const addrspace = mk('addrspace');
    hyp.must('addrspace_configure', addrspace, BigInt(vmid), 0n);
    hyp.must('object_activate', addrspace, 0n);
    const vpm = mk('vpm_group');
    hyp.must('vpm_group_configure', vpm, 0n, 0n);
    hyp.must('object_activate', vpm, 0n);
    const caps: bigint[] = [];
    const ownerCaps: bigint[] = [];
    for (let i = 0; i < vcpus; i++) {
      const t = mk('thread');
      hyp.must('vcpu_configure', t, proxy ? VCPU_RUN_SCHEDULED : 0n, 0n);
      hyp.must('cspace_attach_thread', cspace, t, 0n);
      hyp.must('addrspace_attach_thread', addrspace, t, 0n);
      hyp.must('vic_attach_vcpu', vic, t, BigInt(i), 0n);
      hyp.must('vpm_group_attach_vcpu', vpm, t, BigInt(i), 0n);
      hyp.must('object_activate', t, 0n);
      caps.push(t);
      ownerCaps.push(hyp.must('cspace_copy_cap_from', C, t, owner.cspace, OWNER_VCPU_RIGHTS, 0n));
    }
    attachVgic(hyp, addrspace, vic, vcpus);
    if (proxy) {
      // §9.2: a proxy-scheduled VM's accesses to the device GiB come to its owner's VMM as VMMIO
      // exits — all of it but the vGIC window, whose frames are vdevices (a VMMIO range may not
      // overlap them, hypervisor-abi §9.1). [infer] the exact split: the window is QEMU virt's GIC
      // block, 0x0800_0000–0x08FF_FFFF.
      hyp.must('addrspace_configure_vmmio', addrspace, 0n, VGIC_WINDOW.base, 0n, 0n);
      const above = VGIC_WINDOW.base + VGIC_WINDOW.size;
      hyp.must('addrspace_configure_vmmio', addrspace, above, DEVICE_GIB - above, 0n, 0n);
    }
    const vm: RmVm = {
      vmid,
      cspace,
      addrspace,
      vic,
      vpm,
      vcpus: caps,
      link,
      memory: [],
      ownerVcpuCaps: ownerCaps,
      console: opts.console === false ? null : { guestOpen: false, ownerOpen: false },
    };
    this.vms.set(vmid, vm);
    return vm;
  }

  /**
   * Add the `/hypervisor` overlay (§4.2) to the device tree the platform left for the primary at
   * hlos_dt_base, in place: the RM maps the HLOS memory into its own space for the moment. The tree
   * may grow up to the HLOS entry. [infer] With no valid tree there, or one that already has
   * /hypervisor or cannot grow, the RM boots the primary anyway and leaves the memory as it was
   * (the real RM's behaviour is not in the spec); the reason is kept in `primaryDt`.
   */
  private patchPrimaryDt(hyp: Hyp, info: RmBootInfo, hlos: bigint, caps: { txCap: bigint; rxCap: bigint }): string {
    const { base, size, dtBase, entry } = info.hlos;
    if (dtBase < base || dtBase >= base + size) return 'hlos_dt_base is outside the HLOS memory';
    const room = Number((entry > dtBase && entry <= base + size ? entry : base + size) - dtBase);
    const mem = this.vcpu!.memory!;
    const as = info.caps.addrspace;
    const at = PRIMARY_DT_WINDOW + (dtBase - base);
    if (hyp.call('addrspace_map', as, hlos, PRIMARY_DT_WINDOW, MAP_RW_NORMAL, 0n, 0n, 0n).e !== 0) {
      return 'the RM cannot map the HLOS memory';
    }
    try {
      const head = mem.read(at, FDT_HEADER_SIZE);
      if (typeof head === 'number') return `cannot read the device tree (error ${head})`;
      const dv = new DataView(head.buffer, head.byteOffset);
      if (dv.getUint32(0, false) !== FDT_MAGIC) return 'no device tree at hlos_dt_base';
      const total = dv.getUint32(4, false);
      if (total > room) return 'the device tree runs past the HLOS entry';
      const bytes = mem.read(at, total);
      if (typeof bytes === 'number') return `cannot read the device tree (error ${bytes})`;
      let out: Uint8Array;
      try {
        const fdt = readFdt(bytes);
        addPrimaryHypervisor(fdt, { ...caps, txVirq: PRIMARY_LINK_TX_VIRQ, rxVirq: PRIMARY_LINK_RX_VIRQ });
        out = writeFdt(fdt);
      } catch (e) {
        if (e instanceof FdtError || e instanceof DtError) return `the device tree: ${e.message}`;
        throw e;
      }
      if (out.length > room) return 'the patched device tree would run past the HLOS entry';
      const w = mem.write(at, out);
      return w === 0 ? 'patched' : `cannot write the device tree (error ${w})`;
    } finally {
      hyp.call('addrspace_unmap', as, hlos, PRIMARY_DT_WINDOW, 0n, 0n, 0n);
    }
  }

  /** Answer one message from `vm` (§1.5: every request gets exactly one reply). */
  private handle(vm: RmVm, link: RpcLink, msg: RpcMessage): void {
    // Client → RM messages must be requests; client notifications are only for VMID 0 (§1.5).
    const trace = this.options.onRpc;
    trace?.(
      vm.vmid,
      'in',
      `${messageName(msg.msgId)} ${msgTypeName(msg.type).toLowerCase()} seq ${msg.seq} (${msg.payload.length} bytes)`,
    );
    if (msg.type !== MsgType.REQUEST) return;
    const r = this.dispatch(vm.vmid, msg);
    trace?.(
      vm.vmid,
      'out',
      `${messageName(msg.msgId)} reply seq ${msg.seq} ${r === null ? 'UNIMPLEMENTED' : rmErrorName(r.error)}`,
    );
    link.send(r === null ? unimplementedReply(msg) : replyTo(msg, r.error, r.data));
  }

  /** The reply to request `msg` from VMID `caller`, or null for an ID the RM does not implement. */
  private dispatch(caller: number, msg: RpcMessage): Reply | null {
    const t = this.table;
    const p = msg.payload;
    switch (msg.msgId) {
      // Console first, as in the RM's dispatch order (§2.1).
      case MsgId.VM_CONSOLE_OPEN:
        return consoleControl(this.consoleHost, 'open', caller, p);
      case MsgId.VM_CONSOLE_CLOSE:
        return consoleControl(this.consoleHost, 'close', caller, p);
      case MsgId.VM_CONSOLE_FLUSH:
        return consoleControl(this.consoleHost, 'flush', caller, p);
      case MsgId.VM_CONSOLE_WRITE:
        return consoleWrite(this.consoleHost, caller, p);
      case MsgId.VM_ALLOCATE:
        return t.allocate(caller, p);
      case MsgId.VM_DEALLOCATE:
        return t.deallocate(caller, p);
      case MsgId.VM_CONFIG_IMAGE:
        return this.lifecycle.configImage(caller, p);
      case MsgId.VM_INIT:
        return this.lifecycle.init(caller, p);
      case MsgId.VM_START: {
        const d = vmStartMsg.request.decode(p);
        return d.ok ? this.lifecycle.start(caller, d.value.vmid) : { error: d.error };
      }
      case MsgId.VM_STOP:
        return this.lifecycle.stop(caller, p);
      case MsgId.VM_RESET: {
        const d = vmResetMsg.request.decode(p);
        return d.ok ? this.lifecycle.reset(caller, d.value.vmid) : { error: d.error };
      }
      case MsgId.VM_EXIT:
        return this.lifecycle.exit(caller, p);
      case MsgId.VM_GET_HYP_RESOURCES: {
        const d = vmGetHypResourcesMsg.request.decode(p);
        return d.ok ? this.lifecycle.getHypResources(caller, d.value.vmid) : { error: d.error };
      }
      case MsgId.VM_GET_STATE:
        return t.getState(caller, p);
      case MsgId.VM_GET_VMID:
        return t.aboutCaller('vmid', caller, p);
      case MsgId.VM_GET_OWNER:
        return t.aboutCaller('owner', caller, p);
      case MsgId.VM_GET_PEERS:
        return t.aboutCaller('peers', caller, p);
      case MsgId.VM_HOST_GET_TYPE:
        return t.aboutCaller('host-type', caller, p);
      case MsgId.VM_IRQ_LEND:
        return this.irqs!.lend(caller, p);
      case MsgId.VM_IRQ_ACCEPT:
        return this.irqs!.accept(caller, p);
      case MsgId.VM_IRQ_RELEASE:
        return this.irqs!.release(caller, p);
      case MsgId.VM_IRQ_RECLAIM:
        return this.irqs!.reclaim(caller, p);
      case MsgId.VM_IRQ_NOTIFY:
        return this.irqs!.notify(caller, p);
      case MsgId.MEM_LEND:
      case MsgId.MEM_SHARE:
      case MsgId.MEM_DONATE:
      case MsgId.MEM_APPEND:
      case MsgId.MEM_ACCEPT:
      case MsgId.MEM_RELEASE:
      case MsgId.MEM_RECLAIM:
      case MsgId.MEM_NOTIFY:
        return this.parcels.handle(caller, msg.msgId, p);
      // Identity, crash messages, status, time base, firmware, auth, §2.6, IPA (vm-misc.ts).
      case MsgId.VM_GET_ID:
      case MsgId.VM_LOOKUP_URI:
      case MsgId.VM_LOOKUP_GUID:
      case MsgId.VM_LOOKUP_NAME:
      case MsgId.VM_SET_CRASH_MSG:
      case MsgId.VM_GET_CRASH_MSG:
      case MsgId.VM_SET_STATUS:
      case MsgId.VM_SET_TIME_BASE:
      case MsgId.VM_SET_FIRMWARE_MEM:
      case MsgId.VM_AUTH_IMAGE:
      case MsgId.VM_SET_BOOT_CONTEXT:
      case MsgId.VM_SET_DEMAND_PAGING:
      case MsgId.VM_SET_ADDRESS_LAYOUT:
      case MsgId.IPA_RESERVE:
      case MsgId.FW_MILESTONE:
      case MsgId.FW_SET_VM_FIRMWARE:
      case MsgId.MEM_QCOM_LOOKUP_SGL:
        return this.misc.handle(caller, msg.msgId, p);
      default:
        return null;
    }
  }

  private readonly consoleHost: ConsoleHost = {
    consoleOf: (vmid) => this.vms.get(vmid)?.console ?? undefined,
    ownerOf: (vmid) => this.table.vms.get(vmid)?.owner,
    notify: (vmid, msgId, payload) => this.notify(vmid, msgId, payload),
  };

  /** Send notification `msgId` to VM `vmid` over its link (dropped if it has none). */
  notify(vmid: number, msgId: number, payload: Uint8Array): void {
    const link = this.vms.get(vmid)?.link;
    if (link) this.options.onRpc?.(vmid, 'out', `${messageName(msgId)} notification (${payload.length} bytes)`);
    link?.send(notification(msgId, this.notifySeq.next(), payload));
  }

  /**
   * NOTIFY_VM_STATUS (§2.4): `{u16 vmid; u16 res; u8 vm_status; u8 os_status; u16 app_status}` to
   * every peer of `vm` that is RUNNING and has an RPC link (the owner is always a peer).
   */
  private sendStatus(vm: VmRecord): void {
    const payload = new Uint8Array(8);
    const dv = new DataView(payload.buffer);
    dv.setUint16(0, vm.vmid, true);
    dv.setUint8(4, vm.state);
    dv.setUint8(5, vm.osState);
    dv.setUint16(6, vm.appStatus, true);
    for (const peer of vm.peers) {
      const rec = this.table.vms.get(peer);
      const link = this.vms.get(peer)?.link;
      if (rec?.state !== VmState.RUNNING || !link) continue;
      link.send(notification(MsgId.NOTIFY_VM_STATUS, this.notifySeq.next(), payload));
    }
  }
}
