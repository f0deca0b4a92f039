// Handlers for VCPU configuration and power (hypervisor-abi.md §2.8, §8.1): configure, priority,
// timeslice, affinity, register_write, poweron, poweroff, kill. Scheduling itself (and so the
// moment a powered-on VCPU first runs) belongs to the scheduler.

import { Err } from '../abi/errors.js';
import { THREAD_RIGHT } from '../abi/rights.js';
import type { CallCtx, Handler } from '../dispatch.js';
import { ObjState } from '../core/object.js';
import { powerOffVcpu, powerOnVcpu } from '../vm/psci.js';
import { RunReport, VCPU_RUN_STATE, VCPU_VIRQ_TYPE } from '../vm/vcpu-run.js';
import type { Vic } from '../vm/vic.js';
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
  const entry = (flags & POWERON_PRESERVE_ENTRY) === 0n ? c.a[1]! : null;
  const ctx = (flags & POWERON_PRESERVE_CONTEXT) === 0n ? c.a[2]! : null;
  powerOnVcpu(c.hv, t, entry, ctx);
  return Err.OK;
}

function poweroff(c: CallCtx): number {
  const t = c.cap<Thread>(0);
  if (typeof t === 'number') return t;
  if (t !== c.thread) return Err.ARGUMENT_INVALID;
  const flags = c.a[1]!;
  if ((flags & ~POWEROFF_LAST_VCPU) !== 0n) return Err.ARGUMENT_INVALID;
  // last_vcpu (§8.1): outside any vpm_group it must be set; in an aggregating group it must be
  // set exactly when the caller is the group's only powered-on VCPU; no_aggregation ignores it.
  const last = (flags & POWEROFF_LAST_VCPU) !== 0n;
  const g = t.vpm;
  if (g === null) {
    if (!last) return Err.DENIED;
  } else if (!g.noAggregation) {
    const alone = g.vcpus.every((v) => v === null || v === t || v.poweredOff);
    if (last !== alone) return Err.DENIED;
  }
  powerOffVcpu(c.hv, t);
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

// ---------------------------------------------------------------------------- proxy scheduling (§8.4)

function bindVirq(c: CallCtx): number {
  const t = c.cap<Thread>(0);
  if (typeof t === 'number') return t;
  const vic = c.cap<Vic>(1);
  if (typeof vic === 'number') return vic;
  const type = Number(c.a[3]!);
  if (type === VCPU_VIRQ_TYPE.HALT) return t.haltSource.bind(vic, Number(c.a[2]!));
  if (type !== VCPU_VIRQ_TYPE.VCPU_RUN_WAKEUP) return Err.ARGUMENT_INVALID;
  // Binding the run-wakeup VIRQ makes the vCPU proxy-scheduled (the legacy way, §8.4); not while
  // it is running.
  if (c.hv.proxyRunner?.isRunning(t)) return Err.BUSY;
  const e = t.wakeupSource.bind(vic, Number(c.a[2]!));
  if (e === Err.OK) c.hv.setProxy(t);
  return e;
}

function unbindVirq(c: CallCtx): number {
  const t = c.cap<Thread>(0);
  if (typeof t === 'number') return t;
  const type = Number(c.a[1]!);
  // Unbinding the run-wakeup VIRQ leaves the vCPU proxy-scheduled, as Gunyah's code does (§13 #16).
  if (type === VCPU_VIRQ_TYPE.HALT) t.haltSource.unbind();
  else if (type === VCPU_VIRQ_TYPE.VCPU_RUN_WAKEUP) t.wakeupSource.unbind();
  else return Err.ARGUMENT_INVALID;
  return Err.OK;
}

const report = new RunReport();

function putReport(c: CallCtx, r: RunReport): void {
  c.out[1] = BigInt(r.state);
  c.out[2] = r.data0;
  c.out[3] = r.data1;
  c.out[4] = r.data2;
}

function vcpuRun(c: CallCtx): number {
  const t = c.cap<Thread>(0);
  if (typeof t === 'number') return t;
  const runner = c.hv.proxyRunner;
  if (!t.proxy || t === c.thread || runner === null || runner.isRunning(t)) return Err.BUSY;
  const e = runner.proxyRun(c.thread, t, c.a[1]!, report);
  if (e === Err.OK) putReport(c, report);
  return e;
}

function vcpuRunCheck(c: CallCtx): number {
  const t = c.cap<Thread>(0);
  if (typeof t === 'number') return t;
  const runner = c.hv.proxyRunner;
  if (runner === null || runner.isRunning(t)) return Err.BUSY;
  const r = runner.report(t, report);
  if (r.state === VCPU_RUN_STATE.READY || r.state === VCPU_RUN_STATE.BLOCKED) return Err.BUSY;
  putReport(c, r);
  return Err.OK;
}

// ---------------------------------------------------------------------------- scheduler_yield (§8.2)

const YIELD_HINT_DEFAULT = 0;
const YIELD_HINT_DIRECTED = 1;
const YIELD_IMPL_DEF = 0x8000_0000;

function schedulerYield(c: CallCtx): number {
  const control = Number(c.a[0]!);
  if ((control & YIELD_IMPL_DEF) !== 0) return Err.ARGUMENT_INVALID;
  const hint = control & 0xffff;
  if (hint === YIELD_HINT_DEFAULT) {
    c.hv.schedYield?.(c.thread, null);
    return Err.OK;
  }
  if (hint !== YIELD_HINT_DIRECTED) return Err.ARGUMENT_INVALID;
  const cs = c.thread.cspace;
  if (cs === null) return Err.CSPACE_CAP_NULL;
  const t = cs.lookup<Thread>(c.a[1]!, 'thread', THREAD_RIGHT.yield_to, true);
  if (typeof t === 'number') return t;
  if (t !== c.thread) c.hv.schedYield?.(c.thread, t);
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
  ['vcpu_bind_virq', bindVirq],
  ['vcpu_unbind_virq', unbindVirq],
  ['vcpu_run', vcpuRun],
  ['vcpu_run_check', vcpuRunCheck],
  ['scheduler_yield', schedulerYield],
]);
