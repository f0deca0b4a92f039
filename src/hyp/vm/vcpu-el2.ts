// EL2 for an emulated vCPU: what the CPU's traps reach (DESIGN.md §2). HVC and SMC go to the
// hypervisor's dispatcher with the vCPU's own registers; other traps are handled as Gunyah does
// for a VCPU (§8.1, §9.6): trapped system registers Gunyah does not emulate inject an UNDEF.
// Stage 2 and WFI blocking are wired in as the address-space and scheduler modules land.

import type { Access, Cpu, El2 } from '../../arch/aarch64/cpu.js';
import type { Hypervisor } from '../hypervisor.js';
import type { Thread } from './thread.js';

const EC_WFX = 0x01;
const EC_HVC64 = 0x16;
const EC_SMC64 = 0x17;

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

  trap(cpu: Cpu, esr: number): void {
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
      default:
        // Any other trap Gunyah does not handle injects an Undefined Instruction (§9.6).
        cpu.undefined();
    }
  }
}
