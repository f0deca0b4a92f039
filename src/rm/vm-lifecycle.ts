// The VM lifecycle (RM spec §2.2, §2.3, §2.4, §3, §9.2): VM_CONFIG_IMAGE, VM_INIT,
// VM_GET_HYP_RESOURCES, VM_START, VM_STOP, VM_RESET, VM_EXIT, and exits seen through the vCPUs'
// HALT VIRQs. A VM goes LOAD → INIT (config image) → READY (init: its VM-config DT parsed from the
// image parcel and its objects built) → RUNNING (start: the image parcel accepted at the base IPA,
// the device tree patched, the boot vCPU powered on) → EXITED → RESETTING → RESET (its parcels
// released and objects destroyed) → deallocated. Every state change sends VM_STATUS to the VM's
// running peers before the reply; exits send VM_EXITED to the owner after it.

import { readFdt, writeFdt } from '../machine/fdt/index.js';
import { FdtError } from '../machine/fdt/error.js';
import { encodeCells, encodeU64 } from '../machine/fdt/props.js';
import { addSecondaryHypervisor, DtError } from './dt/hypervisor-node.js';
import { ConfigError, parseVmConfig, type VmConfig } from './dt/vm-config.js';
import type { Hyp } from './hyp.js';
import type { MemParcels } from './memparcel.js';
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
  notify(vmid: number, msgId: number, payload: Uint8Array): void;
  buildSecondary(v: RmVcpu, vmid: number, opts: { vcpus?: number; console?: boolean }): RmVm;
  /** A VIRQ on the RM's own VIC, enabled. */
  allocRmVirq(): number;
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
  private readonly ownerVirqNext = new Map<number, number>();
  /** The owner-side run-wakeup VIRQ of each VM's vCPUs (GET_HYP_RESOURCES). */
  private readonly wakeVirqs = new Map<number, number[]>();
  /** VMs being torn down after VM_RESET's reply. */
  private readonly resetting: number[] = [];

  constructor(private readonly host: LifecycleHost) {}

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
      const w = this.ownerVirq(rec.owner);
      this.hyp.must('vcpu_bind_virq', t, owner.vic, BigInt(w), 1n, 0n);
      wake.push(w);
    }
    this.wakeVirqs.set(vmid, wake);
    this.host.table.setState(rec, VmState.READY);
    return ok();
  }

  private ownerVirq(owner: number): number {
    // §9.2: the primary's first resource VIRQ is free-irq-start + 2 (960/961 are its RM link).
    const n = this.ownerVirqNext.get(owner) ?? (owner === VMID_HLOS ? 962 : 32);
    this.ownerVirqNext.set(owner, n + 1);
    return n;
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
    try {
      this.withParcel(img.parcel, (base) => this.overlay(vmid, vm, img, base));
    } catch (e) {
      if (e instanceof ConfigError || e instanceof DtError || e instanceof FdtError)
        return this.fail(vmid, RmError.NORESOURCE);
      throw e;
    }
    const e = this.hyp.call(
      'vcpu_poweron',
      vm.vcpus[0]!,
      img.baseIpa + img.imageOffset,
      img.baseIpa + img.dtOffset,
      0n,
    ).e;
    if (e !== 0) return this.fail(vmid, RmError.NORESOURCE);
    this.host.table.setState(rec, VmState.RUNNING);
    return ok();
  }

  /** Apply the RM's overlay to the VM's DT (§4.1) and write it back in place (within dtSize). */
  private overlay(vmid: number, vm: RmVm, img: VmImageConfig, base: bigint): void {
    const fdt = this.readDt(img, base);
    const rec = this.host.table.vms.get(vmid)!;
    const rmRpc = img.config?.vdevices.find((v) => v.type === 'rm-rpc');
    const link = vm.link!;
    addSecondaryHypervisor(
      fdt,
      { vmid, owner: rec.owner, imageName: img.config?.imageName ?? '' },
      {
        txCap: link.client.txCap,
        rxCap: link.client.rxCap,
        txVirq: link.client.txVirq,
        rxVirq: link.client.rxVirq,
        ...(rmRpc?.generate !== undefined ? { generate: rmRpc.generate } : {}),
        pushCompatible: rmRpc?.pushCompatible ?? [],
      },
    );
    // vCPU caps on the CPU nodes (§4.1), /memory = every range the VM has accepted.
    img.config?.cpus.forEach((path, i) => {
      const cap = vm.vcpus[i];
      if (cap !== undefined) fdt.lookup(path)?.setProperty('qcom,gunyah-capability', encodeU64(cap));
    });
    const mem = fdt.ensureNode('/memory');
    mem.setString('device_type', 'memory');
    const ranges = [...vm.memory].sort((a, b) => (a.ipa < b.ipa ? -1 : 1));
    const ac = fdt.addressCells('/');
    const sc = fdt.sizeCells('/');
    const cells: number[] = [];
    const push = (v: bigint, n: number) => {
      for (let k = n - 1; k >= 0; k--) cells.push(Number((v >> BigInt(32 * k)) & 0xffff_ffffn));
    };
    for (const r of ranges) {
      push(r.ipa, ac);
      push(r.size, sc);
    }
    mem.setProperty('reg', encodeCells(cells));
    // [infer] kaslr-seed is 0: the model is deterministic (the RM uses a random seed).
    fdt.ensureNode('/chosen').setProperty('kaslr-seed', encodeU64(0n));
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
      const normal = encodeExitReason({ exitFlags: 0, exitCode: ExitCode.NORMAL });
      if (state === RUN_POWERED_OFF) return (this.exited(vmid, ExitType.PLATFORM_OFF, normal), true);
      if (state === RUN_FAULT) {
        return (
          this.exited(
            vmid,
            ExitType.SOFTWARE_ERROR,
            encodeExitReason({ exitFlags: 0, exitCode: ExitCode.SOFTWARE_ERROR }),
          ),
          true
        );
      }
      if (state === RUN_PSCI_SYSTEM_RESET) {
        const type = r.x[2]!;
        if ((type >> 63n) & 1n) return (this.exited(vmid, ExitType.PLATFORM_RESET, normal), true);
        const reason = encodeExitReason({
          exitFlags: (type >> 62n) & 1n ? 0x8000 : 0,
          exitCode: ExitCode.NORMAL,
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
    const s = rec.state;
    if (s !== VmState.EXITED && s !== VmState.READY && s !== VmState.INIT_FAILED) return err(RmError.VM_STATE);
    this.host.table.setState(rec, VmState.RESETTING);
    this.resetting.push(vmid);
    return ok();
  }

  /** Work that follows the replies of this step: VM teardowns. */
  afterReplies(): void {
    for (const vmid of this.resetting.splice(0)) {
      this.host.parcels.releaseAll(vmid);
      for (const [virq, v] of [...this.haltVirqs]) if (v === vmid) this.haltVirqs.delete(virq);
      this.wakeVirqs.delete(vmid);
      this.host.destroyVm(vmid);
      this.images.delete(vmid);
      const rec = this.host.table.vms.get(vmid);
      if (rec !== undefined) this.host.table.setState(rec, VmState.RESET);
    }
  }
}
