// Handlers for VCPU configuration and power (hypervisor-abi.md §2.8, §8.1): configure, priority,
// timeslice, affinity, register_write, poweron, poweroff, kill. Scheduling itself (and so the
// moment a powered-on VCPU first runs) belongs to the scheduler.

import { Err } from '../abi/errors.js';
import { THREAD_RIGHT } from '../abi/rights.js';
import type { CallCtx, Handler } from '../dispatch.js';
import { ObjState } from '../core/object.js';
import {
  AFFINITY_NONE,
  PLATFORM_MAX_CORES,
  RunState,
  Thread,
  VCPU_MAX_PRIORITY,
  VCPU_MAX_TIMESLICE_NS,
  VCPU_MIN_TIMESLICE_NS,
  VCPU_OPTION,
  VCPU_OPTIONS_VALID,
} from '../vm/thread.js';

const POWERON_PRESERVE_ENTRY = 1n;
const POWERON_PRESERVE_CONTEXT = 2n;
const POWEROFF_LAST_VCPU = 1n;

function vcpuConfigure(c: CallCtx): number {
  // Unknown option bits are rejected before the cap lookup.
  const opts = c.a[1]!;
  if ((opts & ~VCPU_OPTIONS_VALID) !== 0n) return Err.ARGUMENT_INVALID;
  const t = c.cap<Thread>(0);
  if (typeof t === 'number') return t;
  t.options = opts;
  return Err.OK;
}

function setPriority(c: CallCtx): number {
  const t = c.cap<Thread>(0);
  if (typeof t === 'number') return t;
  if (t.state !== ObjState.INIT) return Err.OBJECT_STATE;
  const p = Number(c.a[1]!);
  if (p > VCPU_MAX_PRIORITY) return Err.DENIED;
  t.priority = p;
  return Err.OK;
}

function setTimeslice(c: CallCtx): number {
  const t = c.cap<Thread>(0);
  if (typeof t === 'number') return t;
  if (t.state !== ObjState.INIT) return Err.OBJECT_STATE;
  const ns = c.a[1]!;
  if (ns < VCPU_MIN_TIMESLICE_NS || ns > VCPU_MAX_TIMESLICE_NS) return Err.ARGUMENT_INVALID;
  t.timesliceNs = ns;
  return Err.OK;
}

function setAffinity(c: CallCtx): number {
  const cpu = Number(c.a[1]!);
  const t = c.cap<Thread>(0);
  if (typeof t === 'number') return t;
  if (cpu === AFFINITY_NONE) {
    // Clearing the affinity also needs the `disable` right.
    const again = c.thread.cspace!.lookup(c.a[0]!, 'thread', THREAD_RIGHT.affinity | THREAD_RIGHT.disable, false);
    if (typeof again === 'number') return again;
  } else if (cpu >= PLATFORM_MAX_CORES) {
    return Err.ARGUMENT_INVALID;
  }
  if ((t.options & VCPU_OPTION.pinned) !== 0n && t.state !== ObjState.INIT) return Err.DENIED;
  if (t.runState === RunState.KILLED || t.runState === RunState.EXITED) return Err.OBJECT_STATE;
  t.affinity = cpu;
  return Err.OK;
}

function registerWrite(c: CallCtx): number {
  const t = c.cap<Thread>(0);
  if (typeof t === 'number') return t;
  if (t.runState === RunState.KILLED || t.runState === RunState.EXITED) return Err.OBJECT_STATE;
  if (!t.poweredOff) return Err.BUSY;
  const set = Number(c.a[1]!);
  const index = Number(c.a[2]!);
  const v = c.a[3]!;
  switch (set) {
    case 0: // X registers
      if (index > 30) return Err.ARGUMENT_INVALID;
      t.regs[index] = v;
      return Err.OK;
    case 1: // PC
      if (index !== 0 || (v & 3n) !== 0n) return Err.ARGUMENT_INVALID;
      t.pc = v;
      return Err.OK;
    case 2: // SP_EL0 / SP_EL1
      if (index > 1 || (v & 15n) !== 0n) return Err.ARGUMENT_INVALID;
      if (index === 0) t.spEl0 = v;
      else t.spEl1 = v;
      return Err.OK;
    default:
      return Err.ARGUMENT_INVALID;
  }
}

function poweron(c: CallCtx): number {
  const t = c.cap<Thread>(0);
  if (typeof t === 'number') return t;
  const flags = c.a[3]!;
  if ((flags & ~(POWERON_PRESERVE_ENTRY | POWERON_PRESERVE_CONTEXT)) !== 0n) return Err.ARGUMENT_INVALID;
  if (t.runState === RunState.KILLED || t.runState === RunState.EXITED) return Err.FAILURE;
  if (!t.poweredOff) return Err.BUSY;
  if ((flags & POWERON_PRESERVE_ENTRY) === 0n) t.pc = c.a[1]!;
  if ((flags & POWERON_PRESERVE_CONTEXT) === 0n) t.regs[0] = c.a[2]!;
  t.resetPending = true;
  t.poweredOff = false;
  c.hv.vcpuPoweredOn?.(t);
  return Err.OK;
}

function poweroff(c: CallCtx): number {
  const t = c.cap<Thread>(0);
  if (typeof t === 'number') return t;
  if (t !== c.thread) return Err.ARGUMENT_INVALID;
  const flags = c.a[1]!;
  if ((flags & ~POWEROFF_LAST_VCPU) !== 0n) return Err.ARGUMENT_INVALID;
  // Outside any vpm_group the caller must say it is the last VCPU (§8.1).
  if ((flags & POWEROFF_LAST_VCPU) === 0n) return Err.DENIED;
  t.poweredOff = true;
  c.hv.vcpuPoweredOff?.(t);
  return Err.OK;
}

function kill(c: CallCtx): number {
  const t = c.cap<Thread>(0);
  if (typeof t === 'number') return t;
  if (t.runState === RunState.INIT) return Err.OBJECT_STATE;
  if (t.runState !== RunState.READY) return Err.OK;
  t.runState = RunState.KILLED;
  c.hv.vcpuKilled?.(t);
  return Err.OK;
}

export const VCPU_HANDLERS: ReadonlyMap<string, Handler> = new Map<string, Handler>([
  ['vcpu_configure', vcpuConfigure],
  ['vcpu_set_priority', setPriority],
  ['vcpu_set_timeslice', setTimeslice],
  ['vcpu_set_affinity', setAffinity],
  ['vcpu_register_write', registerWrite],
  ['vcpu_poweron', poweron],
  ['vcpu_poweroff', poweroff],
  ['vcpu_kill', kill],
]);
