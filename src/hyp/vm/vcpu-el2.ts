// EL2 for an emulated vCPU: what the CPU's traps reach (DESIGN.md §2). HVC and SMC go to the
// hypervisor's dispatcher with the vCPU's own registers; other traps are handled as Gunyah does
// for a VCPU (§8.1, §9.6): trapped system registers Gunyah does not emulate inject an UNDEF.
// Stage 2 and WFI blocking are wired in as the address-space and scheduler modules land.

import type { Access, Cpu, El2 } from '../../arch/aarch64/cpu.js';
import type { Hypervisor } from '../hypervisor.js';
import { S2_PERMISSION_FAULT, type Stage2 } from '../mem/stage2.js';
import type { Thread } from './thread.js';

const EC_WFX = 0x01;
const EC_HVC64 = 0x16;
const EC_SMC64 = 0x17;
const EC_IABORT_LOWER = 0x20;
const EC_DABORT_LOWER = 0x24;
/** Fault status codes of stage-2 faults at level 3 (4 KiB pages). */
const FSC_TRANSLATION_L3 = 0x07;
const FSC_PERMISSION_L3 = 0x0f;

export class VcpuEl2 implements El2 {
  /** HCR_EL2.TWI is set for VCPUs (§8.1): the hypervisor sees every WFI. */
  readonly trapWfi = true;
  stage2: ((cpu: Cpu, ipaPage: number, access: Access, va: number) => number) | null = null;
  /** Called when the vCPU executes WFI with nothing pending (the scheduler blocks it). */
  onWfi: ((cpu: Cpu) => void) | null = null;

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

  trap(cpu: Cpu, esr: number, far: number, _ipa: number): void {
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
        return this.injectExternalAbort(cpu, false, (esr & 0x40) !== 0, far);
      default:
        // Any other trap Gunyah does not handle injects an Undefined Instruction (§9.6).
        cpu.undefined();
    }
  }
}
