// The VM lifecycle (RM spec §2.2, §2.3, §2.4, §3, §9.2): VM_CONFIG_IMAGE, VM_INIT,
// VM_GET_HYP_RESOURCES, VM_START, VM_STOP, VM_RESET, VM_EXIT, and exits seen through the vCPUs'
// HALT VIRQs. A VM goes LOAD → INIT (config image) → READY (init: its VM-config DT parsed from the
// image parcel and its objects built) → RUNNING (start: the image parcel accepted at the base IPA,
// the device tree patched, the boot vCPU powered on) → EXITED → RESETTING → RESET (its parcels
// released and objects destroyed) → deallocated. Every state change sends VM_STATUS to the VM's
// running peers before the reply; exits send VM_EXITED to the owner after it.

import { readFdt, writeFdt } from '../machine/fdt/index.js';
import { FdtError } from '../machine/fdt/error.js';
import type { Fdt } from '../machine/fdt/tree.js';
import { encodeCells, encodeReg, encodeU32, encodeU64, type RegEntry } from '../machine/fdt/props.js';
import { addSecondaryHypervisor, DtError } from './dt/hypervisor-node.js';
import { ConfigError, parseVmConfig, type VmConfig } from './dt/vm-config.js';
import { RmBootError } from './boot.js';
import { RmHypError, type Hyp } from './hyp.js';
import type { AutoAccept, MemParcels, Parcel, ParcelVm } from './memparcel.js';
import {
  AuthType,
  configImageAuthValid,
  ExitCode,
  ExitType,
  encodeExitReason,
  HypResourceType,
  hypResourceEntry,
  VM_STOP_FLAG_FORCE,
} from './msgs/index.js';
import { vmConfigImageMsg, vmExitMsg, vmInitMsg, vmStopMsg } from './msgs/vm.js';
import { vmExitedNotification } from './msgs/vm-notify.js';
import type { RmVcpu } from './port.js';
import { MsgId, RmError } from './rpc/index.js';
import { VMID_HLOS, VmState, type Reply, type VmTable } from './vm-mgmt.js';
import type { RmVm } from './rm.js';
import {
  buildPeerVdevice,
  buildVdevices,
  configuredVirq,
  destroyPeerVdevice,
  destroyVdevices,
  isPeerVdevice,
  peerVdevicesMatch,
  type BuiltVdev,
  type PeerVdev,
  type VdevFillContext,
} from './vdevices.js';
import { NumberPool } from './pool.js';

/** VM_SET_BOOT_CONTEXT register sets (§2.6) = vcpu_register_write's (hypervisor-abi §8.4). */
const BOOT_REG_X = 0;
const BOOT_REG_PC = 1;
/** vcpu_poweron flags: keep the PC / X0 already written (hypervisor-abi §8.4). */
const POWERON_PRESERVE_ENTRY = 1n;
const POWERON_PRESERVE_CONTEXT = 2n;

/** The default base IPA of a VM's image parcel when its config gives none (crosvm's, §9.2). */
export const DEFAULT_BASE_IPA = 0x8000_0000n;
/** Where the RM maps a parcel into its own addrspace to read or patch it. */
const RM_WINDOW_IPA = 0x1_0000_0000n;
const MAP_RW_NORMAL = 6n | (6n << 4n) | (15n << 16n);
/** vcpu_run states (hypervisor-abi.md §8.4). */
const RUN_POWERED_OFF = 2;
const RUN_FAULT = 6;
const RUN_PSCI_SYSTEM_RESET = 0x100;

/** What VM_CONFIG_IMAGE recorded. */
export interface VmImageConfig {
  auth: number;
  parcel: number;
  imageOffset: bigint;
  imageSize: bigint;
  dtOffset: bigint;
  dtSize: bigint;
  config: VmConfig | null;
  baseIpa: bigint;
}

/** What the lifecycle needs of the RM (ResourceManager has this shape). */
export interface LifecycleHost {
  readonly vms: Map<number, RmVm>;
  readonly table: VmTable;
  readonly parcels: MemParcels;
  readonly hyp: Hyp | null;
  readonly vcpu: RmVcpu | null;
  readonly rmAddrspace: bigint;
  readonly rmVic: bigint;
  /** The root partition and cspace caps (where the RM creates objects). */
  readonly rootCaps: { partition: bigint; cspace: bigint };
  notify(vmid: number, msgId: number, payload: Uint8Array): void;
  buildSecondary(v: RmVcpu, vmid: number, opts: { vcpus?: number; console?: boolean }): RmVm;
  /** A VIRQ on the RM's own VIC, enabled. */
  allocRmVirq(): number;
  /** Give back a VIRQ from allocRmVirq. */
  freeRmVirq(n: number): void;
  /** The RM gives up: a `crash-fatal` VM exited (§3). The whole system stops. */
  panic(reason: string): void;
  /** The crash message VM `vmid` stored with VM_SET_CRASH_MSG (empty if none). */
  crashMessage(vmid: number): Uint8Array;
  /** The boot vCPU registers the owner set with VM_SET_BOOT_CONTEXT, in the order first set. */
  bootContext(vmid: number): readonly { regSet: number; regIndex: number; value: bigint }[];
  /** Destroy VM `vmid`'s objects (its caps in the root cspace) and forget them. */
  destroyVm(vmid: number): void;
}

const err = (error: number): Reply => ({ error });
const ok = (data?: Uint8Array): Reply => (data ? { error: RmError.OK, data } : { error: RmError.OK });

export class VmLifecycle {
  readonly images = new Map<number, VmImageConfig>();
  /** The RM's HALT VIRQ of each secondary vCPU → its VM. */
  private readonly haltVirqs = new Map<number, number>();
  /** Next VIRQ to hand out in an owner's VIC (the primary's start at free-irq-start + 2, §9.2). */
  private readonly ownerVirqPools = new Map<number, NumberPool>();
  /** The owner-side VIRQs each VM took (wake-ups, vdevices), given back at teardown. */
  private readonly ownerVirqsOf = new Map<number, number[]>();
  /** The owner-side run-wakeup VIRQ of each VM's vCPUs (GET_HYP_RESOURCES). */
  private readonly wakeVirqs = new Map<number, number[]>();
  /** Each VM's vdevices (doorbells, message-queue pairs) built at VM_INIT. */
  readonly vdevs = new Map<number, BuiltVdev[]>();
  /** The VIRQs of a VM's own VIC for its vdevices (SPIs 32–93; 94/95 are its link), lowest free first. */
  private readonly guestVirqPools = new Map<number, NumberPool>();
  /**
   * Devices between two VMs (a vdevice whose `peer` is `vm-name:<image-name>`), made when the second
   * of the two passes VM_INIT and destroyed when either is reset.
   */
  readonly peerVdevs: PeerVdev[] = [];
  /** VMs whose config says `no-shutdown` (or `crash-fatal`) and that have not left by VM_EXIT (§3). */
  private readonly noShutdown = new Set<number>();
  /** VMs being torn down after VM_RESET's reply. */
  private readonly resetting: number[] = [];

  constructor(private readonly host: LifecycleHost) {}

  /**
   * MEM_NOTIFY(SHARED) to a READY VM (§2.8, §6.3 step 2): the RM accepts on the VM's behalf when
   * the parcel's label is that of one of the VM's shm / shm-doorbell vdevices with a fixed `base`
   * — at that base. The image parcel is never taken this way (VM_START places it).
   */
  readonly autoAcceptShm: AutoAccept = (vmid, mp) => {
    if (mp.handle === this.images.get(vmid)?.parcel) return 'no-match';
    const shm = (this.vdevs.get(vmid) ?? []).find((b) => b.shm?.base !== undefined && b.shm.label === mp.label)?.shm;
    if (shm?.base === undefined) return 'no-match';
    return this.host.parcels.acceptFor(vmid, mp.handle, shm.base) === RmError.OK ? 'accepted' : 'failed';
  };

  private get hyp(): Hyp {
    return this.host.hyp!;
  }

  /** The owner check common to the owner-only calls: caller 3 and the VM's owner. */
  private ownedBy(caller: number, vmid: number): Reply | null {
    if (caller !== VMID_HLOS) return err(RmError.DENIED);
    const vm = this.host.table.vms.get(vmid);
    if (vm === undefined) return err(RmError.VMID_INVALID);
    if (vm.owner !== caller) return err(RmError.DENIED);
    return null;
  }

  private fail(vmid: number, error: number): Reply {
    const vm = this.host.table.vms.get(vmid);
    if (vm !== undefined) this.host.table.setState(vm, VmState.INIT_FAILED);
    return err(error);
  }

  /** VM_CONFIG_IMAGE (§2.2), checks in the spec's order; later failures leave INIT_FAILED. */
  configImage(caller: number, p: Uint8Array): Reply {
    if (caller !== VMID_HLOS) return err(RmError.DENIED);
    const d = vmConfigImageMsg.request.decode(p);
    if (!d.ok) return err(d.error);
    const r = d.value;
    const denied = this.ownedBy(caller, r.vmid);
    if (denied) return denied;
    const vm = this.host.table.vms.get(r.vmid)!;
    if (vm.state !== VmState.LOAD && vm.state !== VmState.RESET) return err(RmError.VM_STATE);
    const mp = this.host.parcels.get(r.memparcel);
    if (mp === undefined || !mp.acl.some((a) => a.vmid === r.vmid)) return this.fail(r.vmid, RmError.MEM_INVALID);
    const size = mp.regions.reduce((s, x) => s + x.size, 0n);
    if (r.imageOffset + r.imageSize > size || r.dtOffset + r.dtSize > size || r.dtSize === 0n) {
      return this.fail(r.vmid, RmError.ARGUMENT_INVALID);
    }
    if (!configImageAuthValid(r.authType)) return this.fail(r.vmid, RmError.ARGUMENT_INVALID);
    this.images.set(r.vmid, {
      auth: r.authType,
      parcel: r.memparcel,
      imageOffset: r.imageOffset,
      imageSize: r.imageSize,
      dtOffset: r.dtOffset,
      dtSize: r.dtSize,
      config: null,
      baseIpa: DEFAULT_BASE_IPA,
    });
    this.host.table.setState(vm, r.authType === AuthType.PLATFORM ? VmState.AUTH : VmState.INIT);
    return ok();
  }

  /** Map parcel `handle` into the RM's window and run `f` on its bytes' IPA; unmap afterwards. */
  private withParcel<T>(handle: number, f: (base: bigint) => T): T {
    const mp = this.host.parcels.get(handle)!;
    const as = this.host.rmAddrspace;
    let at = RM_WINDOW_IPA;
    const mapped: [bigint, bigint][] = [];
    try {
      for (const r of mp.regions) {
        const e = this.hyp.call('addrspace_map', as, r.memextent, at, MAP_RW_NORMAL, 0n, 0n, 0n).e;
        if (e !== 0) throw new ConfigError(`cannot map the image parcel to read it (error ${e})`, RmError.MEM_INVALID);
        mapped.push([r.memextent, at]);
        at += r.size;
      }
      return f(RM_WINDOW_IPA);
    } finally {
      for (const [me, ipa] of mapped) this.hyp.call('addrspace_unmap', as, me, ipa, 0n, 0n, 0n);
    }
  }

  private readDt(img: VmImageConfig, base: bigint) {
    const bytes = this.host.vcpu!.memory!.read(base + img.dtOffset, Number(img.dtSize));
    if (typeof bytes === 'number') throw new ConfigError(`cannot read the DT (error ${bytes})`, RmError.MEM_INVALID);
    try {
      return readFdt(bytes);
    } catch (e) {
      if (e instanceof FdtError) throw new ConfigError(`the VM's device tree: ${e.message}`, RmError.MEM_INVALID);
      throw e;
    }
  }

  /** VM_INIT (§2.2): parse the VM-config DT from the image parcel, build the VM's objects → READY. */
  init(caller: number, p: Uint8Array): Reply {
    try {
      return this.initVm(caller, p);
    } catch (e) {
      // A hypercall that fails while the VM's objects are built (the RM out of VIRQs, a VMID still
      // held by an addrspace) is a VM_INIT failure — NORESOURCE, INIT_FAILED (§2.2) — not an
      // exception out of the RM. It is thrown only after the owner and state checks passed.
      if (!(e instanceof RmHypError) && !(e instanceof RmBootError) && !(e instanceof ConfigError)) throw e;
      const d = vmInitMsg.request.decode(p);
      // A vdevice the config describes wrongly (ConfigError: its own code) or that cannot be built.
      const code = e instanceof ConfigError ? e.rmError : RmError.NORESOURCE;
      return d.ok ? this.fail(d.value.vmid, code) : err(d.error);
    }
  }

  private initVm(caller: number, p: Uint8Array): Reply {
    const d = vmInitMsg.request.decode(p);
    if (!d.ok) return err(d.error);
    const vmid = d.value.vmid;
    const denied = this.ownedBy(caller, vmid);
    if (denied) return denied;
    const rec = this.host.table.vms.get(vmid)!;
    const img = this.images.get(vmid);
    if (rec.state !== VmState.INIT || img === undefined) return err(RmError.VM_STATE);
    let cfg: VmConfig;
    try {
      cfg = this.withParcel(img.parcel, (base) => parseVmConfig(this.readDt(img, base)));
    } catch (e) {
      if (e instanceof ConfigError) return this.fail(vmid, e.rmError);
      throw e;
    }
    img.config = cfg;
    if (cfg.memory.baseAddress !== undefined) img.baseIpa = cfg.memory.baseAddress;
    const rmRpc = cfg.vdevices.find((v) => v.type === 'rm-rpc');
    const vm = this.host.buildSecondary(this.host.vcpu!, vmid, {
      vcpus: Math.max(1, cfg.cpus.length),
      console: rmRpc?.consoleDev ?? false,
    });
    // Each vCPU: its HALT VIRQ on the RM's VIC (how the RM learns of exits, hypervisor §8.4), its
    // run-wakeup VIRQ on the owner's VIC (what GET_HYP_RESOURCES hands the owner's VMM).
    const owner = this.host.vms.get(rec.owner)!;
    const wake: number[] = [];
    for (const t of vm.vcpus) {
      const halt = this.host.allocRmVirq();
      this.hyp.must('vcpu_bind_virq', t, this.host.rmVic, BigInt(halt), 0n, 0n);
      this.haltVirqs.set(halt, vmid);
      const w = this.ownerVirq(rec.owner, vmid);
      this.hyp.must('vcpu_bind_virq', t, owner.vic, BigInt(w), 1n, 0n);
      wake.push(w);
    }
    this.wakeVirqs.set(vmid, wake);
    // The config's vdevices between the VM and its owner (the RM link is built with the VM).
    // VIRQs the config names (a doorbell's `interrupts`) are reserved first, so none of the VIRQs
    // picked for other vdevices takes them.
    for (const d of cfg.vdevices) {
      const named = configuredVirq(d);
      if (named !== undefined && !this.guestVirqPool(vmid).reserve(named.virq)) {
        throw new ConfigError(
          `${d.name}: interrupts: VIRQ ${named.virq} is not a free SPI of the VM (32–93)`,
          RmError.ARGUMENT_INVALID,
        );
      }
    }
    const guestVirq = (exact?: number): number => (exact !== undefined ? exact : this.guestVirq(vmid));
    const built: BuiltVdev[] = [];
    this.vdevs.set(vmid, built); // filled as they are built, so a failure part-way leaves nothing untracked
    buildVdevices(
      this.hyp,
      this.host.rootCaps,
      { vmid, cspace: vm.cspace, vic: vm.vic, virq: guestVirq },
      { vmid: rec.owner, cspace: owner.cspace, vic: owner.vic, virq: () => this.ownerVirq(rec.owner, vmid) },
      cfg.vdevices.filter((d) => d.type !== 'rm-rpc'),
      built,
    );
    this.pairPeers(vmid, cfg);
    if (cfg.attrs.has('no-shutdown')) this.noShutdown.add(vmid);
    this.host.table.setState(rec, VmState.READY);
    return ok();
  }

  /** A VIRQ in VM `vmid`'s own VIC for its vdevices; lowest free first. */
  private guestVirqPool(vmid: number): NumberPool {
    let pool = this.guestVirqPools.get(vmid);
    if (pool === undefined) {
      pool = new NumberPool(32, 93);
      this.guestVirqPools.set(vmid, pool);
    }
    return pool;
  }

  private guestVirq(vmid: number): number {
    const n = this.guestVirqPool(vmid).take();
    if (n === null) throw new RmBootError(`VM ${vmid} has no free VIRQ left for its vdevices`);
    return n;
  }

  /**
   * VM_INIT of `vmid`: pair each of its vdevices that names another VM (`vm-name:<image-name>`)
   * with a vdevice of a READY VM of that image name that names it back (peerVdevicesMatch), and
   * build the device between them. [infer] Candidates in VMID order, their vdevices in config
   * order; a vdevice pairs once. Only a READY peer pairs: one already started has its DT written,
   * so neither side gets the device (both nodes are left out). A VM whose peer INITs later pairs
   * then. The two VMs become each other's peers in the VM table ([infer]: VM_GET_PEERS lists them,
   * each gets the other's VM_STATUS) until one of them is reset.
   */
  private pairPeers(vmid: number, cfg: VmConfig): void {
    const paired = (v: number, name: string): boolean =>
      this.peerVdevs.some((pv) => pv.ends.some((e) => e.vmid === v && e.config.name === name));
    const me = this.host.vms.get(vmid)!;
    for (const d of cfg.vdevices) {
      if (!isPeerVdevice(d) || paired(vmid, d.name)) continue;
      const candidates = [...this.host.table.vms.values()]
        .filter((r) => r.vmid !== vmid && r.state === VmState.READY)
        .sort((x, y) => x.vmid - y.vmid);
      for (const r of candidates) {
        const other = this.images.get(r.vmid)?.config;
        const ovm = this.host.vms.get(r.vmid);
        if (other === undefined || other === null || ovm === undefined) continue;
        const e = other.vdevices.find(
          (x) => !paired(r.vmid, x.name) && peerVdevicesMatch(cfg.imageName, d, other.imageName, x),
        );
        if (e === undefined) continue;
        buildPeerVdevice(
          this.hyp,
          this.host.rootCaps,
          { vmid, cspace: me.cspace, vic: me.vic, virq: () => this.guestVirq(vmid) },
          d,
          { vmid: r.vmid, cspace: ovm.cspace, vic: ovm.vic, virq: () => this.guestVirq(r.vmid) },
          e,
          this.peerVdevs,
        );
        this.host.table.vms.get(vmid)?.peers.add(r.vmid);
        r.peers.add(vmid);
        break;
      }
    }
  }

  /** The complete VM-to-VM devices with an end in VM `vmid`: that end and the other. */
  private peerEndsOf(vmid: number): { mine: PeerVdev['ends'][number]; theirs: PeerVdev['ends'][number] }[] {
    return this.peerVdevs.flatMap((pv) => {
      if (!pv.complete) return [];
      const [a, b] = pv.ends;
      return a.vmid === vmid ? [{ mine: a, theirs: b }] : b.vmid === vmid ? [{ mine: b, theirs: a }] : [];
    });
  }

  /** A VIRQ in `owner`'s VIC for VM `vmid`'s resources; lowest free first. */
  private ownerVirq(owner: number, vmid: number): number {
    let pool = this.ownerVirqPools.get(owner);
    if (pool === undefined) {
      // §9.2: the primary's first resource VIRQ is free-irq-start + 2 (960/961 are its RM link), up
      // to the last SPI its VIC takes (988 VIRQs from 32). A secondary owner's VIC has SPIs 32–95
      // with 94/95 its own RM link.
      pool = owner === VMID_HLOS ? new NumberPool(962, 1019) : new NumberPool(32, 93);
      this.ownerVirqPools.set(owner, pool);
    }
    const n = pool.take();
    if (n === null) throw new RmBootError(`VM ${owner} has no free VIRQ left for VM ${vmid}'s resources`);
    const mine = this.ownerVirqsOf.get(vmid) ?? [];
    mine.push(n);
    this.ownerVirqsOf.set(vmid, mine);
    return n;
  }

  /** How many VIRQs the RM has taken in `owner`'s VIC for its VMs' resources (for leak checks). */
  ownerVirqsInUse(owner: number): number {
    return this.ownerVirqPools.get(owner)?.inUse ?? 0;
  }

  /** VM_GET_HYP_RESOURCES (§2.3): the owner gets one VIRTUAL_CPU entry per vCPU. */
  getHypResources(caller: number, vmid: number): Reply {
    const rec = this.host.table.vms.get(vmid);
    if (rec === undefined) return err(RmError.ARGUMENT_INVALID);
    if (!this.images.has(vmid)) return err(RmError.NORESOURCE);
    const entries: Uint8Array[] = [];
    const vm = this.host.vms.get(vmid);
    if (vm !== undefined && rec.owner === caller) {
      const wake = this.wakeVirqs.get(vmid) ?? [];
      vm.ownerVcpuCaps.forEach((cap, i) => {
        entries.push(
          hypResourceEntry.encode({
            type: HypResourceType.VIRTUAL_CPU,
            partnerVmid: 0,
            handle: 0,
            label: i,
            capId: cap,
            virqHandle: 0,
            virq: wake[i] ?? 0,
            base: 0n,
            size: 0n,
          }),
        );
      });
    }
    if (rec.owner === caller) {
      for (const b of this.vdevs.get(vmid) ?? [])
        for (const r of b.ownerResources) entries.push(hypResourceEntry.encode(r));
    }
    // §2.3: the devices whose peer is the caller, from the caller's side — for a VM asking about its
    // peer VM. The owner is no end of a VM-to-VM device, so its view never lists them.
    for (const { mine, theirs } of this.peerEndsOf(caller)) {
      if (theirs.vmid === vmid) for (const r of mine.resources) entries.push(hypResourceEntry.encode(r));
    }
    const out = new Uint8Array(4 + 44 * entries.length);
    new DataView(out.buffer).setUint32(0, entries.length, true);
    entries.forEach((e, i) => out.set(e, 4 + 44 * i));
    return ok(out);
  }

  /**
   * VM_START (§2.2): accept the image parcel at the base IPA, patch the DT in place (the
   * `/hypervisor` nodes, `/memory`), power on the boot vCPU at base + image offset with X0 = base +
   * DT offset → RUNNING. Any failure in acceptance or the overlay is NORESOURCE and INIT_FAILED.
   */
  start(caller: number, vmid: number): Reply {
    const rec = this.host.table.vms.get(vmid);
    if (rec === undefined) return err(RmError.VMID_INVALID);
    if (rec.owner !== caller) return err(RmError.DENIED);
    const img = this.images.get(vmid);
    const vm = this.host.vms.get(vmid);
    if (rec.state !== VmState.READY || img === undefined || vm === undefined) return err(RmError.VM_STATE);
    if (this.host.parcels.acceptImage(vmid, img.parcel, img.baseIpa) !== RmError.OK) {
      return this.fail(vmid, RmError.NORESOURCE);
    }
    if (!this.acceptShmParcels(vmid, img)) return this.fail(vmid, RmError.NORESOURCE);
    try {
      this.withParcel(img.parcel, (base) => this.overlay(vmid, vm, img, base));
    } catch (e) {
      if (e instanceof ConfigError || e instanceof DtError || e instanceof FdtError)
        return this.fail(vmid, RmError.NORESOURCE);
      throw e;
    }
    // §2.6: the registers VM_SET_BOOT_CONTEXT recorded go into the boot vCPU while it is still off;
    // a PC or X0 among them wins over the image entry and the DT address (poweron's preserve flags).
    let flags = 0n;
    for (const r of this.host.bootContext(vmid)) {
      const w = this.hyp.call('vcpu_register_write', vm.vcpus[0]!, BigInt(r.regSet), BigInt(r.regIndex), r.value, 0n);
      if (w.e !== 0) return this.fail(vmid, RmError.NORESOURCE);
      if (r.regSet === BOOT_REG_PC) flags |= POWERON_PRESERVE_ENTRY;
      if (r.regSet === BOOT_REG_X && r.regIndex === 0) flags |= POWERON_PRESERVE_CONTEXT;
    }
    const e = this.hyp.call(
      'vcpu_poweron',
      vm.vcpus[0]!,
      img.baseIpa + img.imageOffset,
      img.baseIpa + img.dtOffset,
      flags,
    ).e;
    if (e !== 0) return this.fail(vmid, RmError.NORESOURCE);
    this.host.table.setState(rec, VmState.RUNNING);
    return ok();
  }

  /**
   * VM_START's acceptance of vdevice parcels (§2.2): an shm / shm-doorbell vdevice whose parcel the
   * VM does not hold yet — the first live one naming the VM with the vdevice's label, in creation
   * order — gets it accepted at the vdevice's fixed base, or [infer] where the VM's IPA allocator
   * puts it (allocate-base, or no base given). No owner notification ([infer]: as for the image
   * parcel). False when an accept fails (VM_START then answers NORESOURCE). A vdevice with no
   * parcel at all is the overlay's concern (optional, or an error).
   */
  private acceptShmParcels(vmid: number, img: VmImageConfig): boolean {
    for (const b of this.vdevs.get(vmid) ?? []) {
      const shm = b.shm;
      if (shm === undefined) continue;
      const mine = (mp: Readonly<Parcel>): ParcelVm | undefined => mp.vms.find((v) => v.vmid === vmid);
      const named = this.host.parcels
        .all()
        .filter((mp) => mp.handle !== img.parcel && mp.label === shm.label && mp.owner !== vmid && mine(mp));
      if (named.some((mp) => mine(mp)!.mapped)) continue;
      const mp = named.find((p) => !p.building && !mine(p)!.shared);
      if (mp === undefined) continue;
      if (this.host.parcels.acceptFor(vmid, mp.handle, shm.base ?? null) !== RmError.OK) return false;
    }
    return true;
  }

  /**
   * `/reserved-memory` (§4.1), created with the root's cell sizes and an empty `ranges` if missing.
   * Every parcel the VM holds except the image parcel gets a node there: an existing child that
   * names it — by `qcom,label`, else by its exact address — is patched with `qcom,rm-mem-handle` and
   * a phandle; the others get new `buffer@<ipa>` nodes. Returns the phandle of each label's node
   * (the first such parcel's), for the shm nodes' `memory-region`.
   */
  private reservedMemory(fdt: Fdt, vmid: number, img: VmImageConfig): Map<number, number> {
    const held = this.host.parcels.all().flatMap((mp) => {
      const info = mp.vms.find((v) => v.vmid === vmid);
      if (info === undefined || !info.mapped || mp.handle === img.parcel) return [];
      return [{ mp, ranges: heldRanges(mp, info) }];
    });
    if (fdt.lookup('/reserved-memory') === undefined) {
      const n = fdt.ensureNode('/reserved-memory');
      n.setCells('#address-cells', [fdt.addressCells('/')]);
      n.setCells('#size-cells', [fdt.sizeCells('/')]);
      n.setFlag('ranges');
    }
    const path = fdt.canonicalPath('/reserved-memory')!;
    const byLabel = new Map<number, number>();
    const done = new Set<number>();
    const mark = (mp: Readonly<Parcel>, nodePath: string): void => {
      fdt.node(nodePath).setProperty('qcom,rm-mem-handle', encodeU32(mp.handle));
      const ph = fdt.phandle(nodePath);
      if (!byLabel.has(mp.label)) byLabel.set(mp.label, ph);
      done.add(mp.handle);
    };
    for (const [name, child] of [...fdt.node(path).children]) {
      const childPath = `${path}/${name}`;
      const label = child.getU32('qcom,label');
      const at = child.hasProperty('reg') ? fdt.reg(childPath)?.[0]?.address : undefined;
      const free = held.filter((h) => !done.has(h.mp.handle));
      const hit =
        (label !== undefined ? free.find((h) => h.mp.label === label) : undefined) ??
        (at !== undefined ? free.find((h) => h.ranges[0]?.address === at) : undefined);
      if (hit !== undefined) mark(hit.mp, childPath);
    }
    for (const { mp, ranges } of held) {
      if (done.has(mp.handle) || ranges[0] === undefined) continue;
      const nodePath = `${path}/buffer@${ranges[0].address.toString(16)}`;
      const n = fdt.ensureNode(nodePath);
      n.setProperty('reg', encodeReg(ranges, fdt.addressCells(path), fdt.sizeCells(path)));
      n.setFlag('qcom,shared-memory');
      n.setFlag('no-map');
      // [infer] peers: the parcel's owner, then the other VMs of its ACL — everyone but this VM.
      const peers = [mp.owner, ...mp.acl.map((a) => a.vmid)].filter((v, i, all) => v !== vmid && all.indexOf(v) === i);
      n.setProperty('peers', encodeCells(peers));
      mark(mp, nodePath);
      n.setProperty('qcom,label', encodeU32(mp.label));
      const shm = (this.vdevs.get(vmid) ?? []).find((b) => b.shm?.label === mp.label)?.shm;
      if (shm !== undefined && shm.pushCompatible.length > 0) n.setStrings('compatible', shm.pushCompatible);
    }
    return byLabel;
  }

  /** Apply the RM's overlay to the VM's DT (§4.1) and write it back in place (within dtSize). */
  private overlay(vmid: number, vm: RmVm, img: VmImageConfig, base: bigint): void {
    const fdt = this.readDt(img, base);
    const rec = this.host.table.vms.get(vmid)!;
    const rmRpc = img.config?.vdevices.find((v) => v.type === 'rm-rpc');
    const link = vm.link!;
    const peers = this.peerEndsOf(vmid);
    // §4.1 qcom,peers: the peer strings of the VM's message-queue pairs that have a peer vdevice.
    const mqpPeers = peers.flatMap(({ mine }) =>
      mine.config.type === 'message-queue-pair' && mine.config.peer !== undefined ? [mine.config.peer] : [],
    );
    addSecondaryHypervisor(
      fdt,
      { vmid, owner: rec.owner, imageName: img.config?.imageName ?? '', peers: mqpPeers },
      {
        txCap: link.client.txCap,
        rxCap: link.client.rxCap,
        txVirq: link.client.txVirq,
        rxVirq: link.client.rxVirq,
        ...(rmRpc?.generate !== undefined ? { generate: rmRpc.generate } : {}),
        pushCompatible: rmRpc?.pushCompatible ?? [],
      },
    );
    // /reserved-memory before the vdevices: the shm nodes name its nodes' phandles.
    const regions = this.reservedMemory(fdt, vmid, img);
    const ctx: VdevFillContext = {
      memoryRegion: (label) => regions.get(label),
      peerVmid: (name) => peers.find(({ mine }) => mine.config.name === name)?.theirs.vmid,
    };
    for (const b of this.vdevs.get(vmid) ?? []) b.node.fill(fdt, ctx);
    // [infer] A VM-to-VM device's node is there only if the pair was made before this VM_START.
    for (const { mine } of peers) mine.node?.fill(fdt);
    // vCPU caps on the CPU nodes (§4.1), /memory = every range the VM has accepted.
    img.config?.cpus.forEach((path, i) => {
      const cap = vm.vcpus[i];
      if (cap !== undefined) fdt.lookup(path)?.setProperty('qcom,gunyah-capability', encodeU64(cap));
    });
    const mem = fdt.ensureNode('/memory');
    mem.setString('device_type', 'memory');
    // Every parcel the VM has accepted, shared buffers included, sorted, touching ranges merged.
    const ranges = mergeRanges(vm.memory.map((m) => ({ address: m.ipa, size: m.size })));
    mem.setProperty('reg', encodeReg(ranges, fdt.addressCells('/'), fdt.sizeCells('/')));
    // §4.1: /vsoc, a simple-bus for the VM's virtual SoC devices, if the VM's DT has none.
    if (fdt.lookup('/vsoc') === undefined) {
      const vsoc = fdt.ensureNode('/vsoc');
      vsoc.setStrings('compatible', ['simple-bus']);
      vsoc.setCells('#address-cells', [2]);
      vsoc.setCells('#size-cells', [2]);
      vsoc.setFlag('ranges');
    }
    // §4.1: a random kaslr-seed, from the hypervisor's entropy source (prng_get_entropy, 8 bytes;
    // seeded, so runs repeat). [infer] When the call is refused (its rate limit), the seed is 0.
    const r = this.hyp.call('prng_get_entropy', 8n, 0n);
    const seed = r.e === 0 ? (r.x[2]! << 32n) | (r.x[1]! & 0xffff_ffffn) : 0n;
    fdt.ensureNode('/chosen').setProperty('kaslr-seed', encodeU64(seed));
    const out = writeFdt(fdt);
    if (BigInt(out.length) > img.dtSize)
      throw new DtError(`the patched DT (${out.length} bytes) does not fit in ${img.dtSize}`);
    const e = this.host.vcpu!.memory!.write(base + img.dtOffset, out);
    if (e !== 0) throw new DtError(`cannot write the patched DT (error ${e})`);
  }

  /** The VM exits (§3): EXITED, VM_STATUS to peers, then VM_EXITED to the owner. */
  private exited(vmid: number, exitType: number, reason: Uint8Array): void {
    const rec = this.host.table.vms.get(vmid);
    if (rec === undefined || rec.state === VmState.EXITED) return; // later exits are ignored
    if (this.attrs(vmid)?.has('crash-fatal')) {
      // §3: any exit of a crash-fatal VM (VM_EXIT and owner STOP are refused) takes the system down.
      this.host.panic(`crash-fatal VM ${vmid} exited (exit type ${exitType})`);
      return;
    }
    if (!this.host.table.setState(rec, VmState.EXITED)) return;
    this.host.notify(
      rec.owner,
      MsgId.NOTIFY_VM_EXITED,
      vmExitedNotification.payload.encode({ vmid, exitType, reason }),
    );
  }

  /** A HALT VIRQ fired: see why the VM's vCPU stopped (vcpu_run_check) and report the exit. */
  onHalt(virq: number): boolean {
    const vmid = this.haltVirqs.get(virq);
    if (vmid === undefined) return false;
    const vm = this.host.vms.get(vmid);
    if (vm === undefined) return true;
    for (const t of vm.vcpus) {
      const r = this.hyp.call('vcpu_run_check', t, 0n);
      if (r.e !== 0) continue;
      const state = Number(r.x[1]!);
      // §2.4: a vCPU-halt exit's code is SOFTWARE_ERROR if the VM stored a crash message
      // (VM_SET_CRASH_MSG), else NORMAL — whatever the exit type. [infer] for every type.
      const exitCode = this.host.crashMessage(vmid).length > 0 ? ExitCode.SOFTWARE_ERROR : ExitCode.NORMAL;
      const plain = encodeExitReason({ exitFlags: 0, exitCode });
      if (state === RUN_POWERED_OFF) return (this.exited(vmid, ExitType.PLATFORM_OFF, plain), true);
      if (state === RUN_FAULT) return (this.exited(vmid, ExitType.SOFTWARE_ERROR, plain), true);
      if (state === RUN_PSCI_SYSTEM_RESET) {
        const type = r.x[2]!;
        if ((type >> 63n) & 1n) return (this.exited(vmid, ExitType.PLATFORM_RESET, plain), true);
        const reason = encodeExitReason({
          exitFlags: (type >> 62n) & 1n ? 0x8000 : 0,
          exitCode,
          reset2: { resetType: Number(type & 0xffff_ffffn), cookie: r.x[3]! },
        });
        return (this.exited(vmid, ExitType.PSCI_SYSTEM_RESET2, reason), true);
      }
    }
    return true;
  }

  /** VM_STOP (§2.2): FORCE stops the vCPUs now; otherwise the guest is asked to shut down. */
  stop(caller: number, p: Uint8Array): Reply {
    const d = vmStopMsg.request.decode(p);
    if (!d.ok) return err(d.error);
    const rec = this.host.table.vms.get(d.value.vmid);
    if (rec === undefined || rec.owner !== caller) return err(RmError.VMID_INVALID);
    if (rec.state !== VmState.RUNNING && rec.state !== VmState.PAUSED) return err(RmError.VM_STATE);
    // §2.2: a VM that cannot go to EXITED (no-shutdown, implied by crash-fatal) → VM_STATE.
    if (this.noShutdown.has(rec.vmid)) return err(RmError.VM_STATE);
    if ((d.value.flags & VM_STOP_FLAG_FORCE) === 0) {
      const payload = new Uint8Array(4);
      new DataView(payload.buffer).setUint32(0, d.value.stopReason, true);
      this.host.notify(rec.vmid, MsgId.NOTIFY_VM_SHUTDOWN, payload);
      return ok();
    }
    for (const t of this.host.vms.get(rec.vmid)?.vcpus ?? []) this.hyp.call('vcpu_kill', t, 0n);
    this.exited(rec.vmid, ExitType.VM_STOP_FORCED, encodeExitReason({ exitFlags: 0, exitCode: ExitCode.NORMAL }));
    return ok();
  }

  /** VM_EXIT (§2.2) from the guest about itself. */
  exit(caller: number, p: Uint8Array): Reply {
    const d = vmExitMsg.request.decode(p);
    if (!d.ok) return err(d.error);
    const rec = this.host.table.vms.get(caller);
    if (rec === undefined || (rec.state !== VmState.RUNNING && rec.state !== VmState.PAUSED))
      return err(RmError.VM_STATE);
    // §2.2: crash-fatal VMs may not leave this way. [infer] checked after the state.
    if (this.attrs(caller)?.has('crash-fatal')) return err(RmError.ARGUMENT_INVALID);
    // §3: leaving by VM_EXIT clears no-shutdown.
    this.noShutdown.delete(caller);
    for (const t of this.host.vms.get(caller)?.vcpus ?? []) this.hyp.call('vcpu_kill', t, 0n);
    this.exited(
      caller,
      ExitType.VM_EXIT,
      encodeExitReason({ exitFlags: d.value.exitFlags, exitCode: d.value.exitCode }),
    );
    return ok();
  }

  /**
   * VM_RESET (§2.2): owner only (VMID_INVALID), from EXITED, READY or INIT_FAILED (VM_STATE) →
   * RESETTING now; the teardown (parcels released, objects destroyed) and RESET follow after the
   * reply (`afterReplies`).
   */
  reset(caller: number, vmid: number): Reply {
    const rec = this.host.table.vms.get(vmid);
    if (rec === undefined || rec.owner !== caller) return err(RmError.VMID_INVALID);
    // §2.2: not a no-reset VM (crash-fatal implies it) → DENIED, before the state check.
    if (this.attrs(vmid)?.has('no-reset')) return err(RmError.DENIED);
    const s = rec.state;
    if (s !== VmState.EXITED && s !== VmState.READY && s !== VmState.INIT_FAILED) return err(RmError.VM_STATE);
    this.host.table.setState(rec, VmState.RESETTING);
    this.resetting.push(vmid);
    return ok();
  }

  /** The vm-attrs of VM `vmid`'s config, once VM_INIT has read it. */
  private attrs(vmid: number): ReadonlySet<string> | undefined {
    return this.images.get(vmid)?.config?.attrs;
  }

  /** Work that follows the replies of this step: VM teardowns. */
  afterReplies(): void {
    for (const vmid of this.resetting.splice(0)) {
      this.host.parcels.releaseAll(vmid);
      const owner = this.host.table.vms.get(vmid)?.owner ?? -1;
      const ownerVm = this.host.vms.get(owner);
      destroyVdevices(this.hyp, this.host.rootCaps.cspace, ownerVm?.cspace ?? null, this.vdevs.get(vmid) ?? []);
      this.vdevs.delete(vmid);
      // The devices shared with other VMs go too: [infer] the survivor keeps nothing (its caps are
      // deleted, its VIRQs freed; its later hypercalls on those caps fail) and pairs again only as
      // a READY VM when a peer passes VM_INIT.
      const unpeered = new Set<number>();
      for (const pv of this.peerVdevs.filter((x) => x.ends.some((e) => e.vmid === vmid))) {
        destroyPeerVdevice(this.hyp, this.host.rootCaps.cspace, pv, (v) => this.host.vms.get(v)?.cspace ?? null);
        for (const e of pv.ends) {
          if (e.vmid === vmid) continue;
          unpeered.add(e.vmid);
          for (const n of e.virqs) this.guestVirqPools.get(e.vmid)?.give(n);
        }
        this.peerVdevs.splice(this.peerVdevs.indexOf(pv), 1);
      }
      this.guestVirqPools.delete(vmid);
      this.noShutdown.delete(vmid);
      this.host.destroyVm(vmid);
      // The objects are gone and their VIRQ bindings with them: the numbers are free again.
      for (const [virq, v] of [...this.haltVirqs]) {
        if (v !== vmid) continue;
        this.haltVirqs.delete(virq);
        this.host.freeRmVirq(virq);
      }
      this.wakeVirqs.delete(vmid);
      const pool = this.ownerVirqPools.get(owner);
      for (const n of this.ownerVirqsOf.get(vmid) ?? []) pool?.give(n);
      this.ownerVirqsOf.delete(vmid);
      this.images.delete(vmid);
      const rec = this.host.table.vms.get(vmid);
      if (rec !== undefined) this.host.table.setState(rec, VmState.RESET);
      // After RESET's VM_STATUS (the survivors hear it): no longer peers, unless one owns the other.
      for (const v of unpeered) {
        const other = this.host.table.vms.get(v);
        if (rec === undefined || other === undefined || rec.owner === v || other.owner === vmid) continue;
        rec.peers.delete(v);
        other.peers.delete(vmid);
      }
    }
  }
}

/** Sorted by address, touching or overlapping ranges merged into one. */
function mergeRanges(list: readonly RegEntry[]): RegEntry[] {
  const out: RegEntry[] = [];
  for (const r of [...list].sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0))) {
    const last = out[out.length - 1];
    if (last !== undefined && r.address <= last.address + last.size) {
      const end = r.address + r.size;
      if (end > last.address + last.size) last.size = end - last.address;
    } else {
      out.push({ ...r });
    }
  }
  return out;
}

/** Where an accepter has a parcel: one range when placed contiguously, else one per region. */
function heldRanges(mp: Readonly<Parcel>, info: ParcelVm): RegEntry[] {
  if (info.contiguous) {
    return [{ address: info.ipas[0] ?? 0n, size: mp.regions.reduce((s, r) => s + r.size, 0n) }];
  }
  return mergeRanges(mp.regions.map((r, i) => ({ address: info.ipas[i] ?? 0n, size: r.size })));
}
