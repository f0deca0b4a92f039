// Threads (VCPUs, hypervisor-abi.md §4.2, §8.1): the thread's own cspace (where its hypercalls
// resolve caps), scheduling parameters set in INIT, the run state (init → ready → killed →
// exited), the power state (a new VCPU is powered off), and the register context that
// vcpu_register_write and vcpu_poweron set before the VCPU runs. The scheduler, addrspace and
// VIC attachment, and vcpu_run build on this object.

import { Err } from '../abi/errors.js';
import { HypObject, type ObjectEvents } from '../core/object.js';
import type { Cspace } from '../core/cspace.js';
import type { Partition } from '../core/partition.js';
import type { GuestAccess } from './guest-access.js';
import type { VpmGroup } from './vpm.js';
import { vicOfVcpu, vicVcpuActivate, vicVcpuDeactivate, vicVcpuRelease } from './vic.js';
import { addrspaceDetachThread, addrspaceOf } from '../mem/addrspace.js';
import { VirqSource } from '../virq.js';

export const VCPU_DEFAULT_PRIORITY = 32;
export const VCPU_MAX_PRIORITY = 62;
export const VCPU_DEFAULT_TIMESLICE_NS = 5_000_000n;
export const VCPU_MIN_TIMESLICE_NS = 100_000n;
export const VCPU_MAX_TIMESLICE_NS = 100_000_000n;
export const AFFINITY_NONE = 0xffff;
/** PLATFORM_MAX_CORES of Gunyah's QEMU platform (§9.1, §11.3): physical CPU indices are 0..7. */
export const PLATFORM_MAX_CORES = 8;

export const enum RunState {
  INIT = 0,
  READY = 1,
  KILLED = 2,
  EXITED = 3,
}

/** vcpu_configure option bits accepted by this build (§8.1). */
export const VCPU_OPTION = {
  pinned: 1n << 0n,
  ras_error_handler: 1n << 1n,
  amu_counting_disabled: 1n << 2n,
  sve_allowed: 1n << 3n,
  debug_allowed: 1n << 4n,
  trace_allowed: 1n << 5n,
  critical: 1n << 8n,
  vcpu_run_scheduled: 1n << 9n,
  hlos_vm: 1n << 63n,
} as const;
export const VCPU_OPTIONS_VALID = Object.values(VCPU_OPTION).reduce((a, b) => a | b, 0n);
/** Options only a privileged partition's vCPUs may use (§4.5, §8.1). */
const PRIVILEGED_OPTIONS = VCPU_OPTION.critical | VCPU_OPTION.hlos_vm;

export class Thread extends HypObject {
  readonly type = 'thread' as const;
  /** The cspace this thread's hypercalls resolve caps in (cspace_attach_thread). */
  cspace: Cspace | null = null;
  priority = VCPU_DEFAULT_PRIORITY;
  timesliceNs = VCPU_DEFAULT_TIMESLICE_NS;
  affinity = AFFINITY_NONE;
  options = 0n;
  /** A human-readable name for traces (the VM and vCPU it belongs to). */
  label = '';
  /** This vCPU's view of its memory by VA, for hypercalls that copy guest buffers. */
  access: GuestAccess | null = null;
  runState = RunState.INIT;
  /** Powered off until vcpu_poweron (a new VCPU starts off, §4.5). */
  poweredOff = true;
  /** Register context applied when the VCPU next runs: X0..X30, PC, SP_EL0, SP_EL1. */
  readonly regs = new BigUint64Array(31);
  pc = 0n;
  spEl0 = 0n;
  spEl1 = 0n;
  /** Set by vcpu_poweron: EL1 state must be reset (SCTLR off, EL1h, DAIF masked) before running. */
  resetPending = false;
  /** In PSCI CPU_SUSPEND. */
  suspended = false;
  /** The vpm_group this VCPU is attached to (PSCI), and its index there. */
  vpm: VpmGroup | null = null;
  vpmIndex = 0;
  /**
   * The VCPU's own VIRQ sources (vcpu_bind_virq, §8.4): HALT (type 0), edge-asserted when the VCPU
   * halts (forced power-off by PSCI SYSTEM_OFF/RESET, or an unrecoverable fault), and
   * VCPU_RUN_WAKEUP (type 1), edge-asserted when a proxy-scheduled VCPU that is not being run gets
   * a wakeup, is powered on or is killed. Both are edge-only: their predicate is always false.
   */
  readonly haltSource: VirqSource;
  readonly wakeupSource: VirqSource;
  /** Proxy-scheduled (§8.4): runs only inside vcpu_run. */
  proxy = false;
  /** Halted by an unrecoverable fault (vcpu_run state FAULT). */
  faulted = false;
  /**
   * PSCI SYSTEM_RESET / SYSTEM_RESET2 requested by this VM (non-critical): vcpu_run reports
   * PSCI_SYSTEM_RESET with these as data0/data1 (§8.4).
   */
  resetRequest: { type: bigint; cookie: bigint } | null = null;

  constructor(
    events: ObjectEvents | null,
    /**
     * The partition that created the thread (partition_create_thread's x0): whether it is
     * privileged decides if the critical and hlos_vm options may be used (§4.5, §8.1).
     */
    readonly partition: Partition,
  ) {
    super(events);
    this.haltSource = new VirqSource(() => false, `${String(this)} halt`);
    this.wakeupSource = new VirqSource(() => false, `${String(this)} run-wakeup`);
  }

  /**
   * Activation prerequisites (§4.5). The spec lists the failures but not the order in which the
   * real hypervisor's activation handlers run; we check them in the order the §4.5 row lists
   * them ([infer]):
   *  1. OBJECT_CONFIG, in listing order: no cspace, no addrspace, an affinity naming a CPU that
   *     does not exist (≥ PLATFORM_MAX_CORES), pinned without a valid affinity, critical or
   *     hlos_vm from a non-privileged partition. These only read the configuration, so nothing
   *     needs undoing when one fails.
   *  2. BUSY: the thread's VIC index is already held by another active vCPU (claimed here).
   *  3. DENIED: its vpm_group index is taken (claimed here; the VIC claim is undone on failure).
   *  4. ARGUMENT_INVALID: no VIC attached — the arch-timer PPIs (27, 30) are bound privately to
   *     the vCPU's VIC at activation, which fails without one. It comes last in the listing, so a
   *     thread with no VIC whose vpm index is taken gets DENIED; when it fails, the vpm claim of
   *     step 3 is undone (there was no VIC claim).
   * The first failure wins: a thread with two faults reports the earlier one.
   */
  protected override doActivate(): number {
    if (this.cspace === null) return Err.OBJECT_CONFIG;
    if (addrspaceOf(this) === null) return Err.OBJECT_CONFIG;
    // AFFINITY_NONE (0xFFFF) is itself ≥ PLATFORM_MAX_CORES: it means "no CPU", not a bad one.
    if (this.affinity !== AFFINITY_NONE && this.affinity >= PLATFORM_MAX_CORES) return Err.OBJECT_CONFIG;
    if ((this.options & VCPU_OPTION.pinned) !== 0n && this.affinity === AFFINITY_NONE) return Err.OBJECT_CONFIG;
    if ((this.options & PRIVILEGED_OPTIONS) !== 0n && !this.partition.privileged) return Err.OBJECT_CONFIG;
    // §8.1: sve_allowed needs hlos_vm and SVE; this model's CPU has no SVE, so it always fails.
    if ((this.options & VCPU_OPTION.sve_allowed) !== 0n) return Err.OBJECT_CONFIG;
    const hlos = (this.options & VCPU_OPTION.hlos_vm) !== 0n;
    // An HLOS vCPU needs a valid affinity, and each physical CPU has at most one (§8.1).
    const hlosSlots = hlos ? hlosTable(this.events) : null;
    if (hlosSlots !== null && (this.affinity === AFFINITY_NONE || hlosSlots[this.affinity] !== undefined)) {
      return Err.OBJECT_CONFIG;
    }
    const ev = vicVcpuActivate(this);
    if (ev !== Err.OK) return ev;
    if (this.vpm) {
      const e = this.vpm.claim(this);
      if (e !== Err.OK) {
        vicVcpuDeactivate(this);
        return e;
      }
    }
    if (vicOfVcpu(this) === null) {
      this.vpm?.release(this);
      return Err.ARGUMENT_INVALID;
    }
    // vcpu_run_scheduled: proxy-scheduled from activation on (§8.4).
    if ((this.options & VCPU_OPTION.vcpu_run_scheduled) !== 0n) this.proxy = true;
    if (hlosSlots !== null) {
      // hlos_vm implies critical (§8.1), and claims its CPU's HLOS slot until the vCPU goes.
      this.options |= VCPU_OPTION.critical;
      hlosSlots[this.affinity] = this;
    }
    // A running thread holds a reference to itself until it exits (§4.2).
    this.get();
    this.runState = RunState.READY;
    return Err.OK;
  }

  /** The vCPU stops for good: it drops its self-reference (§4.2). */
  exit(): void {
    if (this.runState === RunState.EXITED || this.runState === RunState.INIT) return;
    this.runState = RunState.EXITED;
    this.poweredOff = true;
    this.put();
  }

  protected override doDeactivate(): void {
    vicVcpuDeactivate(this);
  }

  protected override released(): void {
    const hlosSlots = hlosTable(this.events);
    const i = hlosSlots.indexOf(this);
    if (i >= 0) delete hlosSlots[i];
    this.haltSource.unbind();
    this.wakeupSource.unbind();
    vicVcpuRelease(this);
    addrspaceDetachThread(this);
    const cs = this.cspace;
    this.cspace = null;
    cs?.put();
    const vpm = this.vpm;
    this.vpm = null;
    if (vpm) {
      vpm.release(this);
      vpm.put();
    }
  }

  attachCspace(cs: Cspace): void {
    cs.get();
    this.cspace?.put();
    this.cspace = cs;
  }
}

/** The HLOS vCPU of each physical CPU, per hypervisor (keyed by its object-event sink). */
const hlosTables = new WeakMap<object, Thread[]>();
const NO_HYPERVISOR = {};

function hlosTable(events: ObjectEvents | null): Thread[] {
  const key = events ?? NO_HYPERVISOR;
  let t = hlosTables.get(key);
  if (t === undefined) {
    t = [];
    hlosTables.set(key, t);
  }
  return t;
}
