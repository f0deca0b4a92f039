// EL2 for an emulated vCPU: what the CPU's traps reach (DESIGN.md §2). HVC and SMC go to the
// hypervisor's dispatcher with the vCPU's own registers; other traps are handled as Gunyah does
// for a VCPU (§8.1, §9.6): trapped system registers Gunyah does not emulate inject an UNDEF.
//
// Stage-2 data aborts (§9.6, §10.6): a *translation* fault whose syndrome is valid (ISV: a single
// register load or store without writeback) is offered, in this order, to
//   1. the vdevice ranges attached to the vCPU's addrspace (the vGIC's GICD/GICR frames),
//   2. the vGIC's fixed legacy addresses (GICD 0x0800_0000, GICR 0x080A_0000 + n × 0x20000), if
//      the vCPU's VIC was configured without disable_default_addr,
//   3. VMMIO: if a VMM runs this vCPU (`onVmmio` set) and the access lies inside one of the
//      addrspace's VMMIO ranges, the access is handed out (`pendingVmmio`) and completed by
//      `resumeVmmio` with the VMM's answer.
// A stage-2 *permission* fault with a valid syndrome on a page owned by a memory extent that has a
// vdevice attached — a virtio-mmio register page, which its frontend maps read-only — is that
// device's to emulate (§10.6): only stores are (the page's reads are plain memory reads, Gunyah's
// virtio device leaves loads unhandled), and the device may refuse one (virtio-mmio.ts).
// An emulated access completes the instruction (loads write Rt by the syndrome's SAS, SSE, SF and
// SRT, XZR discarding; stores take Rt, XZR storing 0) and the vCPU resumes after it. Everything
// else — no ISV (LDP, writeback forms...), any other permission fault, nobody claiming the IPA, or
// a vGIC or virtio register access Gunyah refuses (wrong size, unknown register written) — injects
// a synchronous external abort. [infer: Gunyah's "fault" result for a refused vGIC access is
// reported as the same abort as an unclaimed fault.]

import type { Access, Cpu, El2 } from '../../arch/aarch64/cpu.js';
import type { Hypervisor } from '../hypervisor.js';
import { addrspaceOf } from '../mem/addrspace.js';
import { S2_PERMISSION_FAULT, type Stage2 } from '../mem/stage2.js';
import type { Thread } from './thread.js';
import { VdeviceKind, vdeviceFind } from './vdevice.js';
import { virtioMmioOfExtent } from './virtio-mmio.js';
import { VGIC_FAULT, vgicGicdRead, vgicGicdWrite, vgicGicrRead, vgicGicrWrite } from './vgic-mmio.js';
import { VIC_MAX_VCPUS, vicOfVcpu, type Vic } from './vic.js';

const EC_WFX = 0x01;
const EC_HVC64 = 0x16;
const EC_SMC64 = 0x17;
const EC_IABORT_LOWER = 0x20;
const EC_DABORT_LOWER = 0x24;
/** Fault status codes of stage-2 faults at level 3 (4 KiB pages). */
const FSC_TRANSLATION_L3 = 0x07;
const FSC_PERMISSION_L3 = 0x0f;
/** Data abort ISS fields (Arm ARM, ISS encoding for an exception from a data abort). */
const ISS_ISV = 1 << 24;
const ISS_SSE = 1 << 21;
const ISS_SF = 1 << 15;
const ISS_WNR = 1 << 6;
/** DFSC with the level masked off: translation fault at any level. */
const FSC_TRANSLATION = 0x04;
/** DFSC with the level masked off: permission fault at any level. */
const FSC_PERMISSION = 0x0c;
/** The CPU's Access value for a read (arch/aarch64 `Access`), as Stage2.translate takes it. */
const ACCESS_READ = 1;

/** The fixed legacy vGIC addresses of the QEMU platform (§9.1, §11.3). */
const FIXED_GICD_BASE = 0x0800_0000;
const FIXED_GICD_SIZE = 0x1_0000;
const FIXED_GICR_BASE = 0x080a_0000;
const FIXED_GICR_STRIDE = 0x2_0000;

/** Value masks by access size in bytes. */
const SIZE_MASK = [0n, 0xffn, 0xffffn, 0n, 0xffff_ffffn, 0n, 0n, 0n, 0xffff_ffff_ffff_ffffn];

/** A VMMIO access handed to the vCPU's VMM (§8.4 ADDRSPACE_VMMIO_READ/WRITE). */
export interface PendingVmmio {
  ipa: number;
  /** Access size in bytes: 1, 2, 4 or 8. */
  size: number;
  write: boolean;
  /** For a write: the register being stored, truncated to `size` (XZR stores 0). 0 for a read. */
  value: bigint;
}

export class VcpuEl2 implements El2 {
  /** HCR_EL2.TWI is set for VCPUs (§8.1): the hypervisor sees every WFI. */
  readonly trapWfi = true;
  stage2: ((cpu: Cpu, ipaPage: number, access: Access, va: number) => number) | null = null;
  /** Called when the vCPU executes WFI with nothing pending (the scheduler blocks it). */
  onWfi: ((cpu: Cpu) => void) | null = null;
  /**
   * Set while a VMM proxy-schedules this vCPU (vcpu_run, §8.4): called when the vCPU makes a VMMIO
   * access, after `pendingVmmio` is recorded; `Cpu.run` then returns (Stop.Left) with the PC at the
   * faulting instruction. The runner must not run the vCPU again before `resumeVmmio` (it would
   * fault again). Null: VMMIO ranges are not consulted (the fault is an abort).
   */
  onVmmio: ((cpu: Cpu) => void) | null = null;
  /** The VMMIO access waiting for `resumeVmmio`, or null. */
  pendingVmmio: PendingVmmio | null = null;
  /** The data abort syndrome of the pending VMMIO access (destination register and width rules). */
  private vmmioEsr = 0;

  constructor(
    readonly hv: Hypervisor,
    readonly thread: Thread,
  ) {}

  /**
   * Translate through `s2` (the vCPU's addrspace): a hit returns the PA and tells the CPU's TLB
   * what the page allows; a miss raises a stage-2 abort to `trap` with the syndrome of the
   * faulting instruction.
   */
  attachStage2(s2: Stage2): void {
    this.stage2 = (c, ipaPage, access, va) => {
      const pa = s2.translate(ipaPage, access, c.el);
      if (pa >= 0) {
        c.s2Allowed = s2.lastAllowed;
        return pa;
      }
      const fsc = pa === S2_PERMISSION_FAULT ? FSC_PERMISSION_L3 : FSC_TRANSLATION_L3;
      return c.stage2Fault(va, ipaPage + (va & 0xfff), access, fsc);
    };
  }

  /**
   * A stage-2 abort nothing claims: a synchronous external abort injected at EL1 (§9.6), EC
   * data/instruction abort from the current or lower EL, FSC 0x10, FAR_EL1 = the VA.
   */
  injectExternalAbort(cpu: Cpu, fetch: boolean, write: boolean, va: number): never {
    const lower = cpu.el === 0;
    const ec = fetch ? (lower ? 0x20 : 0x21) : lower ? 0x24 : 0x25;
    return cpu.syncException(ec, 0x10 | (write && !fetch ? 0x40 : 0), cpu.pc, va);
  }

  trap(cpu: Cpu, esr: number, far: number, ipa: number): void {
    switch (esr >>> 26) {
      case EC_HVC64:
        this.hv.hvc(this.thread, cpu.x, esr & 0xffff);
        return;
      case EC_SMC64:
        this.hv.smc(this.thread, cpu.x, esr & 0xffff);
        return;
      case EC_WFX:
        // The WFI completes (PC moves on); if nothing is pending, the vCPU waits.
        cpu.pc += 4;
        if (!cpu.wakeupPending()) {
          cpu.waiting = true;
          this.onWfi?.(cpu);
          cpu.requestExit();
        }
        return;
      case EC_IABORT_LOWER:
        return this.injectExternalAbort(cpu, true, false, far);
      case EC_DABORT_LOWER:
        if (this.dataAbort(cpu, esr, ipa)) return;
        return this.injectExternalAbort(cpu, false, (esr & ISS_WNR) !== 0, far);
      default:
        // Any other trap Gunyah does not handle injects an Undefined Instruction (§9.6).
        cpu.undefined();
    }
  }

  /**
   * The §10.6 handlers for a stage-2 data abort (see the header). Returns true if the access was
   * claimed: emulated (PC moved past it) or handed to the VMM (PC left at it).
   */
  private dataAbort(cpu: Cpu, esr: number, ipa: number): boolean {
    if ((esr & ISS_ISV) === 0) return false;
    if ((esr & 0x3c) === FSC_PERMISSION) return this.permissionFault(cpu, esr, ipa);
    if ((esr & 0x3c) !== FSC_TRANSLATION) return false;
    const as = addrspaceOf(this.thread);
    if (as !== null) {
      const r = vdeviceFind(as, ipa);
      if (r !== null) {
        return this.emulateGic(cpu, esr, r.vic, r.kind === VdeviceKind.GICD ? -1 : r.gicr, ipa - r.base, r.last);
      }
    }
    const att = vicOfVcpu(this.thread);
    if (att !== null && att.vic.allowFixedAddrs && att.vic.gic !== null) {
      const vic = att.vic;
      if (ipa >= FIXED_GICD_BASE && ipa < FIXED_GICD_BASE + FIXED_GICD_SIZE) {
        return this.emulateGic(cpu, esr, vic, -1, ipa - FIXED_GICD_BASE, false);
      }
      // The fixed GICR window spans PLATFORM_MAX_CORES frames; only those of active vCPUs answer,
      // and Last marks the final frame or one followed by a frame without a vCPU.
      if (ipa >= FIXED_GICR_BASE && ipa < FIXED_GICR_BASE + VIC_MAX_VCPUS * FIXED_GICR_STRIDE) {
        const n = Math.floor((ipa - FIXED_GICR_BASE) / FIXED_GICR_STRIDE);
        if (n < vic.maxVcpus && vic.vcpuAt(n) !== null) {
          const last = n === vic.maxVcpus - 1 || vic.vcpuAt(n + 1) === null;
          return this.emulateGic(cpu, esr, vic, n, ipa - FIXED_GICR_BASE - n * FIXED_GICR_STRIDE, last);
        }
      }
    }
    const size = 1 << ((esr >>> 22) & 3);
    if (this.onVmmio !== null && as !== null && as.vmmioContains(ipa, size)) {
      const write = (esr & ISS_WNR) !== 0;
      this.pendingVmmio = { ipa, size, write, value: write ? this.storeValue(cpu, esr) : 0n };
      this.vmmioEsr = esr;
      this.onVmmio(cpu);
      // Not just the end of the block (requestExit): Cpu.run itself returns (Stop.Left), so the
      // runner sees the exit before the vCPU can retry the instruction.
      cpu.leave();
      return true;
    }
    return false;
  }

  /**
   * A permission fault (§10.6): the page's PA through the vCPU's stage 2 (as Gunyah's read
   * translation of the faulting address), its owner in the memory database, and the virtio device
   * attached to that extent, if any, emulates the store at the byte offset in its one-page extent.
   * False when nobody claims the access (an external abort follows). Does not allocate.
   */
  private permissionFault(cpu: Cpu, esr: number, ipa: number): boolean {
    if ((esr & ISS_WNR) === 0) return false;
    const as = addrspaceOf(this.thread);
    if (as === null) return false;
    const off = ipa & 0xfff;
    const pa = as.stage2.translate(ipa - off, ACCESS_READ, 1);
    if (pa < 0) return false;
    const vio = virtioMmioOfExtent(this.hv.mem.memdb.ownerOf(pa / 4096));
    if (vio === undefined) return false;
    const size = 1 << ((esr >>> 22) & 3);
    if (!vio.frontendWrite(off, size, Number(this.storeValue(cpu, esr) & 0xffff_ffffn))) return false;
    cpu.pc += 4;
    return true;
  }

  /**
   * Emulate a load or store to a vGIC frame: the GICD of `vic` (gicr = −1) or its GICR `gicr`, at
   * byte offset `off`. False if the vGIC refuses the access.
   */
  private emulateGic(cpu: Cpu, esr: number, vic: Vic, gicr: number, off: number, last: boolean): boolean {
    const size = 1 << ((esr >>> 22) & 3);
    if ((esr & ISS_WNR) !== 0) {
      const v = this.storeValue(cpu, esr);
      const ok = gicr < 0 ? vgicGicdWrite(vic, off, size, v) : vgicGicrWrite(vic, gicr, off, size, v);
      if (!ok) return false;
    } else {
      const v = gicr < 0 ? vgicGicdRead(vic, off, size) : vgicGicrRead(vic, gicr, off, size, last);
      if (v === VGIC_FAULT) return false;
      this.loadResult(cpu, esr, v);
    }
    cpu.pc += 4;
    return true;
  }

  /** The value a faulting store writes: Rt (XZR = 0) truncated to the access size. */
  private storeValue(cpu: Cpu, esr: number): bigint {
    const rt = (esr >>> 16) & 31;
    return rt === 31 ? 0n : cpu.x[rt]! & SIZE_MASK[1 << ((esr >>> 22) & 3)]!;
  }

  /**
   * Complete a faulting load with `value`: truncated to the access size, sign-extended if SSE,
   * then zero-extended from 32 bits unless SF (a W destination); a load to XZR is discarded.
   */
  private loadResult(cpu: Cpu, esr: number, value: bigint): void {
    const rt = (esr >>> 16) & 31;
    if (rt === 31) return;
    const size = 1 << ((esr >>> 22) & 3);
    let v = value & SIZE_MASK[size]!;
    if ((esr & ISS_SSE) !== 0 && size < 8) v = BigInt.asUintN(64, BigInt.asIntN(size * 8, v));
    if ((esr & ISS_SF) === 0) v &= 0xffff_ffffn;
    cpu.x[rt] = v;
  }

  /**
   * Complete the pending VMMIO access with the VMM's answer (vcpu_run resume data, §8.4): a read
   * writes `readValue` to its register by the load's size/sign/width rules, a write just
   * completes; either way the vCPU resumes after the instruction. No-op when nothing is pending.
   */
  resumeVmmio(cpu: Cpu, readValue: bigint): void {
    const p = this.pendingVmmio;
    if (p === null) return;
    if (!p.write) this.loadResult(cpu, this.vmmioEsr, readValue);
    cpu.pc += 4;
    this.pendingVmmio = null;
  }
}
