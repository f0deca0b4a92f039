// The bare board's firmware stub: what answers HVC and SMC from EL1 when there is no hypervisor,
// like QEMU's built-in PSCI on `-M virt` without virtualization. PSCI 1.1 for one CPU:
// VERSION, FEATURES, SYSTEM_OFF, SYSTEM_RESET, CPU_OFF, AFFINITY_INFO, MIGRATE_INFO_TYPE;
// everything else returns NOT_SUPPORTED (-1) in x0 (SMC Calling Convention, Arm DEN0028).
// Function IDs: Arm DEN0022 (PSCI) §5.

import type { Cpu, El2 } from '../arch/aarch64/cpu.js';

export const PSCI = {
  VERSION: 0x84000000,
  CPU_SUSPEND_32: 0x84000001,
  CPU_SUSPEND_64: 0xc4000001,
  CPU_OFF: 0x84000002,
  CPU_ON_32: 0x84000003,
  CPU_ON_64: 0xc4000003,
  AFFINITY_INFO_32: 0x84000004,
  AFFINITY_INFO_64: 0xc4000004,
  MIGRATE_INFO_TYPE: 0x84000006,
  SYSTEM_OFF: 0x84000008,
  SYSTEM_RESET: 0x84000009,
  FEATURES: 0x8400000a,
} as const;

export const SMCCC_NOT_SUPPORTED = -1n;
const PSCI_VERSION_1_1 = 0x10001n;
const PSCI_SUCCESS = 0n;
const PSCI_INVALID_PARAMETERS = -2n;
const MIGRATE_NOT_REQUIRED = 2n;

export type PowerEvent = 'system-off' | 'system-reset';

export class FirmwareStub implements El2 {
  readonly trapWfi = false;
  readonly stage2 = null;

  constructor(private readonly onPower: (e: PowerEvent) => void) {}

  trap(cpu: Cpu, esr: number): void {
    const ec = esr >>> 26;
    if (ec !== 0x16 && ec !== 0x17) {
      // Nothing else reaches the stub: the CPU routes only HVC and SMC here.
      cpu.x[0] = BigInt.asUintN(64, SMCCC_NOT_SUPPORTED);
      return;
    }
    const fid = Number(cpu.x[0]! & 0xffffffffn);
    cpu.x[0] = BigInt.asUintN(64, this.call(cpu, fid));
    // A power-state change must stop the CPU at once, not at the end of its time slice.
    if (cpu.halted) cpu.requestExit();
  }

  private call(cpu: Cpu, fid: number): bigint {
    switch (fid) {
      case PSCI.VERSION:
        return PSCI_VERSION_1_1;
      case PSCI.FEATURES: {
        const q = Number(cpu.x[1]! & 0xffffffffn);
        const known: number[] = [
          PSCI.VERSION,
          PSCI.CPU_OFF,
          PSCI.AFFINITY_INFO_32,
          PSCI.AFFINITY_INFO_64,
          PSCI.MIGRATE_INFO_TYPE,
          PSCI.SYSTEM_OFF,
          PSCI.SYSTEM_RESET,
          PSCI.FEATURES,
        ];
        return known.includes(q) ? PSCI_SUCCESS : SMCCC_NOT_SUPPORTED;
      }
      case PSCI.SYSTEM_OFF:
        this.onPower('system-off');
        cpu.halted = true;
        cpu.haltReason = 'system-off';
        return PSCI_SUCCESS;
      case PSCI.SYSTEM_RESET:
        this.onPower('system-reset');
        cpu.halted = true;
        cpu.haltReason = 'system-reset';
        return PSCI_SUCCESS;
      case PSCI.CPU_OFF:
        // The only CPU turning itself off is the same as the system stopping.
        cpu.halted = true;
        cpu.haltReason = 'cpu-off';
        this.onPower('system-off');
        return PSCI_SUCCESS;
      case PSCI.AFFINITY_INFO_32:
      case PSCI.AFFINITY_INFO_64:
        return (cpu.x[1]! & 0xffffffn) === 0n ? 0n /* ON */ : PSCI_INVALID_PARAMETERS;
      case PSCI.MIGRATE_INFO_TYPE:
        return MIGRATE_NOT_REQUIRED;
      default:
        return SMCCC_NOT_SUPPORTED;
    }
  }
}
