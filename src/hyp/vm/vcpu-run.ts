// Proxy scheduling (hypervisor-abi.md §8.4): the states `vcpu_run` and `vcpu_run_check` report,
// and the interface through which those calls reach whatever runs vCPUs (system.ts). The
// hypervisor core decides rights and argument errors; the runner owns the CPU-level facts (is the
// vCPU in WFI, has it a VMMIO access pending) and the running itself.

import type { Thread } from './thread.js';

/** vcpu_run_state values (§8.4). */
export const VCPU_RUN_STATE = {
  READY: 0,
  EXPECTS_WAKEUP: 1,
  POWERED_OFF: 2,
  BLOCKED: 3,
  ADDRSPACE_VMMIO_READ: 4,
  ADDRSPACE_VMMIO_WRITE: 5,
  FAULT: 6,
  PSCI_SYSTEM_RESET: 0x100,
} as const;

/** EXPECTS_WAKEUP data1: what the vCPU is waiting in. */
export const WAKEUP_FROM = { UNSPECIFIED: 0, WFI: 1, PSCI_CPU_SUSPEND: 2, PSCI_SYSTEM_SUSPEND: 3 } as const;

/** vcpu_bind_virq types (§8.4, §13 item 18). */
export const VCPU_VIRQ_TYPE = { HALT: 0, VCPU_RUN_WAKEUP: 1 } as const;

/** A run state with its three data words (reused by the runner: no allocation per call). */
export class RunReport {
  state = 0;
  data0 = 0n;
  data1 = 0n;
  data2 = 0n;

  set(state: number, d0 = 0n, d1 = 0n, d2 = 0n): this {
    this.state = state;
    this.data0 = d0;
    this.data1 = d1;
    this.data2 = d2;
    return this;
  }
}

export interface ProxyRunner {
  /** Whether `t` is executing right now (on some physical CPU, or inside a vcpu_run). */
  isRunning(t: Thread): boolean;
  /**
   * vcpu_run: consume `resume` for the state last reported, run `t` in the caller's place for at
   * most the caller's remaining timeslice, and report why it stopped. Returns an error code
   * (OK, or what setting the affinity failed with), the report filled in.
   */
  proxyRun(caller: Thread, t: Thread, resume: bigint, out: RunReport): number;
  /** The state `t` would report without running (vcpu_run_check). */
  report(t: Thread, out: RunReport): RunReport;
}
