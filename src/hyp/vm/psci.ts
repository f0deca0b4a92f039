// PSCI 1.1 for VCPUs in a vpm_group (hypervisor-abi.md §9.3): the calls a guest kernel makes to
// start, stop and suspend its CPUs and to stop or reset its VM. Reached through `hvc #0` or
// `smc #0` (SMCCC owner 4, standard secure service). A VCPU outside any vpm_group sees none of it:
// every PSCI ID is "unknown function" except PSCI_FEATURES, which the SMCCC layer answers.
//
// The CPU side of power changes (resetting EL1 state, blocking in suspend, stopping the CPU) is
// the running system's (system.ts), reached through the Hypervisor's hooks; this module decides
// what happens and what the caller gets back.
//
// Result widths: SMC32 function IDs return a 32-bit value zero-extended into x0 (and the SMCCC
// layer's 32-bit view of x1..x3); SMC64 IDs return the value sign-extended to 64 bits.

import type { Hypervisor } from '../hypervisor.js';
import { RunState, VCPU_OPTION, type Thread } from './thread.js';
import { vicIndexOfMpidr, vicOfVcpu } from './vic.js';

export const PSCI = {
  VERSION: 0x00,
  CPU_SUSPEND: 0x01,
  CPU_OFF: 0x02,
  CPU_ON: 0x03,
  AFFINITY_INFO: 0x04,
  SYSTEM_OFF: 0x08,
  SYSTEM_RESET: 0x09,
  FEATURES: 0x0a,
  CPU_DEFAULT_SUSPEND: 0x0c,
  SET_SUSPEND_MODE: 0x0f,
  SYSTEM_RESET2: 0x12,
} as const;

/** PSCI return codes (§9.3). */
export const PSCI_RET = {
  SUCCESS: 0,
  NOT_SUPPORTED: -1,
  INVALID_PARAMETERS: -2,
  DENIED: -3,
  ALREADY_ON: -4,
  ON_PENDING: -5,
  INTERNAL_FAILURE: -6,
  NOT_PRESENT: -7,
  DISABLED: -8,
  INVALID_ADDRESS: -9,
} as const;

/** PSCI 1.1. */
export const PSCI_VERSION_1_1 = 0x0001_0001;
const SMCCC_VERSION_FID = 0x8000_0000;
/** power_state.StateType (original format, §9.3): 1 = powerdown. */
const POWER_STATE_TYPE_POWERDOWN = 1 << 16;

/** Function numbers with an SMC64 variant. */
const HAS_SMC64 = new Set<number>([
  PSCI.CPU_SUSPEND,
  PSCI.CPU_ON,
  PSCI.AFFINITY_INFO,
  PSCI.CPU_DEFAULT_SUSPEND,
  PSCI.SYSTEM_RESET2,
]);
/** Function numbers this build implements (32-bit IDs; 64-bit ones per HAS_SMC64). */
const SUPPORTED = new Set<number>([...Object.values(PSCI)]);

/** What a suspended VCPU does on wakeup: return SUCCESS (standby) or restart at `entry` (powerdown). */
export interface SuspendResume {
  entry: bigint;
  ctx: bigint;
}

/**
 * Power a VCPU on at `entry` with X0 = `ctx` (null: keep the saved PC / X0), as vcpu_poweron
 * and PSCI CPU_ON do (§8.1): EL1 state resets on the next run.
 */
export function powerOnVcpu(hv: Hypervisor, t: Thread, entry: bigint | null, ctx: bigint | null): void {
  if (entry !== null) t.pc = entry;
  if (ctx !== null) t.regs[0] = ctx;
  t.resetPending = true;
  t.poweredOff = false;
  t.suspended = false;
  hv.vcpuPoweredOn?.(t);
}

/** Stop a VCPU that is on: it stays powered off until powered on again (§8.1). */
export function powerOffVcpu(hv: Hypervisor, t: Thread): void {
  if (t.poweredOff) return;
  t.poweredOff = true;
  t.suspended = false;
  hv.vcpuPoweredOff?.(t);
}

/**
 * Handle SMCCC function `fid` (owner 4) from `t`, which is in a vpm_group. Writes the result to
 * x0 (x1..x3 as the SMCCC layer leaves them for SMC32). Returns false for IDs that are not PSCI
 * calls of this build, so the caller answers "unknown function".
 */
export function psciCall(hv: Hypervisor, t: Thread, x: BigUint64Array, fid: number): boolean {
  const smc64 = (fid & 0x4000_0000) !== 0;
  const fn = fid & 0xffff;
  if ((fid & 0x3fff_0000) !== 0x0400_0000) return false;
  if (!SUPPORTED.has(fn) || (smc64 && !HAS_SMC64.has(fn))) return false;
  const arg = (k: number): bigint => (smc64 ? x[k]! : x[k]! & 0xffff_ffffn);
  const ret = (v: number): true => {
    if (smc64) x[0] = BigInt.asUintN(64, BigInt(v));
    else for (let k = 0; k < 4; k++) x[k] = k === 0 ? BigInt(v >>> 0) : x[k]! & 0xffff_ffffn;
    return true;
  };
  const group = t.vpm!;
  switch (fn) {
    case PSCI.VERSION:
      return ret(PSCI_VERSION_1_1);
    case PSCI.FEATURES: {
      const q = Number(x[1]! & 0xffff_ffffn);
      if (q === SMCCC_VERSION_FID) return ret(0);
      const q64 = (q & 0x4000_0000) !== 0;
      const qfn = q & 0xffff;
      const fast = (q & 0x8000_0000) !== 0;
      const ok = fast && (q & 0x3fff_0000) === 0x0400_0000;
      if (!ok || !SUPPORTED.has(qfn) || (q64 && !HAS_SMC64.has(qfn))) return ret(PSCI_RET.NOT_SUPPORTED);
      // CPU_SUSPEND: platform-coordinated, "extended StateID" bit set (§9.3, §13 item 19).
      return ret(qfn === PSCI.CPU_SUSPEND ? 2 : 0);
    }
    case PSCI.CPU_ON: {
      const target = findByMpidr(t, arg(1));
      if (typeof target === 'number') return ret(target);
      if (target.runState === RunState.KILLED || target.runState === RunState.EXITED) {
        return ret(PSCI_RET.INTERNAL_FAILURE);
      }
      if (!target.poweredOff) return ret(PSCI_RET.ALREADY_ON);
      powerOnVcpu(hv, target, arg(2), arg(3));
      return ret(PSCI_RET.SUCCESS);
    }
    case PSCI.AFFINITY_INFO: {
      if (arg(2) !== 0n) return ret(PSCI_RET.INVALID_PARAMETERS);
      const target = findByMpidr(t, arg(1));
      if (typeof target === 'number') return ret(PSCI_RET.INVALID_PARAMETERS);
      return ret(target.poweredOff ? 1 : 0);
    }
    case PSCI.CPU_OFF: {
      if (!group.noAggregation && group.vcpus.every((v) => v === null || v === t || v.poweredOff)) {
        return ret(PSCI_RET.DENIED);
      }
      ret(PSCI_RET.SUCCESS);
      powerOffVcpu(hv, t);
      return true;
    }
    case PSCI.CPU_SUSPEND: {
      const state = Number(arg(1) & 0xffff_ffffn);
      const down = (state & POWER_STATE_TYPE_POWERDOWN) !== 0;
      ret(PSCI_RET.SUCCESS);
      suspend(hv, t, down ? { entry: arg(2), ctx: arg(3) } : null);
      return true;
    }
    case PSCI.CPU_DEFAULT_SUSPEND:
      ret(PSCI_RET.SUCCESS);
      suspend(hv, t, { entry: arg(1), ctx: arg(2) });
      return true;
    case PSCI.SET_SUSPEND_MODE:
      return ret(arg(1) === 0n ? PSCI_RET.SUCCESS : PSCI_RET.INVALID_PARAMETERS);
    case PSCI.SYSTEM_OFF:
      if (isCritical(t)) {
        hv.platformPower?.('off', 0n, 0n);
        return ret(PSCI_RET.SUCCESS);
      }
      systemStop(hv, t, null);
      return true;
    case PSCI.SYSTEM_RESET:
      if (isCritical(t)) {
        hv.platformPower?.('reset', 0n, 0n);
        return ret(PSCI_RET.SUCCESS);
      }
      systemStop(hv, t, { type: 1n << 63n, cookie: 0n });
      return true;
    case PSCI.SYSTEM_RESET2: {
      const type = arg(1) & 0xffff_ffffn;
      const cookie = arg(2);
      if (isCritical(t)) {
        // The platform (QEMU's firmware) has no RESET2 types: NOT_SUPPORTED unless one is modelled.
        const r = hv.platformPower?.('reset2', type, cookie) ?? PSCI_RET.NOT_SUPPORTED;
        return ret(r);
      }
      systemStop(hv, t, { type: type | (smc64 ? 1n << 62n : 0n), cookie });
      return true;
    }
    default:
      return false;
  }
}

function isCritical(t: Thread): boolean {
  return (t.options & (VCPU_OPTION.critical | VCPU_OPTION.hlos_vm)) !== 0n;
}

/** The VCPU of `caller`'s group with affinity `mpidr`, or the PSCI error CPU_ON gives (§9.3). */
function findByMpidr(caller: Thread, mpidr: bigint): Thread | number {
  const att = vicOfVcpu(caller);
  if (!att) return PSCI_RET.INVALID_PARAMETERS;
  // An MPIDR the VIC's mapping cannot produce (or an index beyond max_vcpus) is invalid.
  const index = vicIndexOfMpidr(att.vic, mpidr);
  if (index < 0) return PSCI_RET.INVALID_PARAMETERS;
  const t = att.vic.vcpuAt(index);
  if (t === null || t.vpm !== caller.vpm) return PSCI_RET.INTERNAL_FAILURE;
  return t;
}

function suspend(hv: Hypervisor, t: Thread, resume: SuspendResume | null): void {
  t.suspended = true;
  hv.vcpuSuspend?.(t, resume);
}

/**
 * SYSTEM_OFF / SYSTEM_RESET of a non-critical VM (§9.3): the other VCPUs of the group are killed
 * (off) or stopped (reset), the caller is forced off and its HALT VIRQ fires; a reset is
 * recorded for vcpu_run (state PSCI_SYSTEM_RESET).
 */
function systemStop(hv: Hypervisor, t: Thread, reset: { type: bigint; cookie: bigint } | null): void {
  for (const v of t.vpm!.vcpus) {
    if (v === null || v === t) continue;
    if (reset === null) {
      if (v.runState === RunState.READY) {
        v.runState = RunState.KILLED;
        hv.vcpuKilled?.(v);
      }
    } else {
      powerOffVcpu(hv, v);
    }
  }
  t.resetRequest = reset;
  powerOffVcpu(hv, t);
  t.haltSource.assert(true);
}
