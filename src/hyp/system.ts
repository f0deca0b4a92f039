// The running system (DESIGN.md §3): emulated physical CPUs, each running the FPRR scheduler's
// choice (core/scheduler.ts), interleaved deterministically in one thread. An emulated vCPU is a
// `Cpu` (architectural EL1/EL0 state) whose EL2 is `VcpuEl2`, whose stage 2 is its addrspace's
// table, whose GIC CPU interface and timer PPIs are its VIC's virtual GICv3 (index = its
// vic_attach_vcpu index), and whose generic counter is global virtual time.
//
// Time: each physical CPU has a local clock (virtual ns); the loop always advances the CPU that
// is furthest behind (lowest index on ties) by at most one quantum, so clocks never drift apart by
// more than that and the interleaving is a pure function of the inputs. A vCPU's `cpu.icount` is
// set to its physical CPU's clock when it runs (1 instruction = 1 ns). A vCPU waiting in WFI (or
// PSCI CPU_SUSPEND) is blocked; its timer deadline is a wake event, and idle CPUs skip to the next
// event.
//
// Proxy scheduling (§8.4): a proxy-scheduled vCPU is never queued; it runs only inside a
// `vcpu_run` of another vCPU, on that caller's physical CPU and clock, for at most one quantum of
// the caller's timeslice. Wakeups that reach it while it is not being run assert its run-wakeup
// VIRQ instead of queueing it.

import { Access, Cpu, Stop, type PhysBus } from '../arch/aarch64/cpu.js';
import { mmuWalk } from '../arch/aarch64/mmu.js';
import type { Stage2 } from './mem/stage2.js';
import { S1_FAULT, Stage2Access } from './vm/stage2-access.js';
import { Err } from './abi/errors.js';
import { Scheduler, SchedState, type Schedulable } from './core/scheduler.js';
import type { Hypervisor } from './hypervisor.js';
import { RunState, VCPU_OPTION, type Thread } from './vm/thread.js';
import { VcpuEl2 } from './vm/vcpu-el2.js';
import { addrspaceOf } from './mem/addrspace.js';
import { vicMpidrOfIndex, vicOfVcpu } from './vm/vic.js';
import type { SuspendResume } from './vm/psci.js';
import { RunReport, VCPU_RUN_STATE, WAKEUP_FROM, type ProxyRunner } from './vm/vcpu-run.js';
import { NativeIrq, NativeVcpu } from './vm/native.js';
import type { MmioDevice } from '../machine/bus.js';

/** Longest stretch a vCPU runs before the loop looks at the other CPUs (virtual ns). */
export const QUANTUM_NS = 100_000;
const PPI_VTIMER = 27;
const PPI_PTIMER = 30;
/** A "PA" no RAM has: a descriptor read from it fails the walk. */
const NOT_RAM = -(2 ** 52);

/**
 * Why `run` returned: the time limit, nothing left to run, or the platform stopped (a critical
 * VCPU's PSCI SYSTEM_OFF/RESET). A vCPU that halts on its own is a FAULT of that vCPU, not a stop.
 */
export type SystemStop = 'limit' | 'idle' | 'platform-off' | 'platform-reset';

/** What the scheduler sees of a vCPU: its thread's scheduling parameters. */
abstract class VcpuSchedulable implements Schedulable {
  sched = new SchedState();

  constructor(readonly thread: Thread) {}

  get priority(): number {
    return this.thread.priority;
  }
  get affinity(): number {
    return this.thread.affinity;
  }
  get timesliceNs(): bigint {
    return this.thread.timesliceNs;
  }

  abstract runnable(): boolean;
}

/** An emulated vCPU: its CPU state and how it is wired to the hypervisor. */
export class EmulatedVcpu extends VcpuSchedulable {
  readonly cpu: Cpu;
  readonly el2: VcpuEl2;
  /** Waiting in WFI or CPU_SUSPEND for an interrupt. */
  waiting = false;
  /** In CPU_SUSPEND: where a powerdown suspend resumes (null: standby, returns SUCCESS). */
  resume: SuspendResume | null = null;
  /** The power_state of the CPU_SUSPEND it waits in (EXPECTS_WAKEUP data0). */
  suspendState = 0n;
  /** Being run inside a vcpu_run. */
  proxyActive = false;
  /** Stage 2 for table walks made on the hypervisor's behalf: a miss fails the walk, no fault. */
  quietStage2: ((cpu: Cpu, ipaPage: number) => number) | null = null;

  constructor(thread: Thread, bus: PhysBus, hv: Hypervisor) {
    super(thread);
    this.cpu = new Cpu(bus);
    this.el2 = new VcpuEl2(hv, thread);
    this.cpu.el2 = this.el2;
  }

  /** Able to execute now, leaving aside whether proxy scheduling allows it. */
  ready(): boolean {
    const t = this.thread;
    return (
      (t.runState === RunState.READY || t.runState === RunState.KILLED) &&
      !t.poweredOff &&
      !t.faulted &&
      !this.waiting &&
      !this.el2.pendingVmmio
    );
  }

  runnable(): boolean {
    return this.ready() && (!this.thread.proxy || this.proxyActive);
  }
}

/**
 * A native program (the RM, a host VMM, a test driver): `step` runs when the scheduler picks its
 * vCPU and makes hypercalls through `v` (each costs modelled time, and so does every vCPU it runs
 * through vcpu_run). It returns what the vCPU does next: 'yield' (stay runnable; the loop lets
 * other CPUs catch up and calls again), 'wait' (block until an interrupt is pending at its VIC, as
 * a WFI would), or 'off' (power off).
 */
export interface NativeProgram {
  step(v: NativeVcpu): 'yield' | 'wait' | 'off';
}

/** Time charged for one `step` call besides its hypercalls (virtual ns). */
export const NATIVE_STEP_NS = 100;

/** A native vCPU scheduled like any other. */
export class NativeRunner extends VcpuSchedulable {
  waiting = false;

  constructor(
    thread: Thread,
    readonly vcpu: NativeVcpu,
    readonly program: NativeProgram,
  ) {
    super(thread);
  }

  /** Being stepped inside a vcpu_run (a proxy-scheduled native vCPU). */
  proxyActive = false;

  /** Able to run now, leaving aside whether proxy scheduling allows it. */
  ready(): boolean {
    const t = this.thread;
    return t.runState === RunState.READY && !t.poweredOff && !this.waiting;
  }

  runnable(): boolean {
    return this.ready() && (!this.thread.proxy || this.proxyActive);
  }
}

export class HypSystem implements ProxyRunner {
  readonly sched: Scheduler;
  /** Local clock of each physical CPU, in virtual ns. */
  readonly time: Float64Array;
  private readonly vcpus = new Map<Thread, EmulatedVcpu>();
  private readonly natives = new Map<Thread, NativeRunner>();
  private readonly bus: PhysBus;
  /** Guest instructions executed by emulated vCPUs so far (one per virtual ns they ran). */
  instructions = 0;
  /** Physical devices on the bus (outside RAM). */
  private readonly devices: { base: number; size: number; dev: MmioDevice }[] = [];
  /** What each physical CPU ran last (for scheduling trace events). */
  private readonly lastOn: (Schedulable | null)[] = [];
  /**
   * How a vCPU the system has not seen runs, asked when it is first powered on (the vCPUs of VMs
   * the resource manager builds): as a native program, or emulated (the default) — then its code
   * is whatever the VM's memory holds at its entry.
   */
  spawn: ((t: Thread) => NativeProgram | 'emulate') | null = null;
  /** The physical CPU whose clock is "now" for the hypervisor. */
  private pcpuNow = 0;
  /** Set by a critical VCPU's PSCI SYSTEM_OFF/RESET: the loop stops. */
  private platformStop: SystemStop | null = null;

  constructor(
    readonly hv: Hypervisor,
    cpus = 1,
  ) {
    this.sched = new Scheduler(cpus);
    this.time = new Float64Array(cpus);
    const phys = hv.mem.phys;
    // Guests see RAM through stage 2; device windows are emulated on stage-2 faults. The physical
    // bus holds only the platform's devices a VM may be given directly (mapDevice: the UART the RM
    // passes through to the primary VM); any other physical access is an external abort.
    const devices = this.devices;
    const find = (pa: number, size: number) => devices.find((d) => pa >= d.base && pa + size <= d.base + d.size);
    this.bus = {
      ramBase: phys.base,
      ram: phys.bytes,
      mmioRead: (pa, size) => {
        const d = find(pa, size);
        return d ? d.dev.read(pa - d.base, size) : null;
      },
      mmioWrite: (pa, size, value) => {
        const d = find(pa, size);
        if (!d) return false;
        d.dev.write(pa - d.base, size, value);
        return true;
      },
    };
    hv.proxyRunner = this;
    // Virtual time for the hypervisor (rate limits, trace timestamps): the clock of the CPU the
    // loop is running.
    hv.now = () => this.time[this.pcpuNow]!;
    hv.vcpuPoweredOn = (t) => {
      if (!this.vcpus.has(t) && !this.natives.has(t)) {
        // A vCPU the system has not seen (a VM the RM built): ask how it runs.
        const how = this.spawn?.(t) ?? 'emulate';
        if (how === 'emulate') this.addEmulated(t);
        else this.addNative(t, how);
        return;
      }
      const v = this.vcpus.get(t);
      if (v) this.powerOn(v);
      const n = this.natives.get(t);
      if (n) {
        n.waiting = false;
        this.wakeNative(n);
      }
    };
    hv.vcpuPoweredOff = (t) => {
      const n = this.natives.get(t);
      if (n) this.sched.block(n);
      const v = this.vcpus.get(t);
      if (v) {
        v.waiting = false;
        v.resume = null;
        this.sched.block(v);
        v.cpu.leave();
      }
    };
    hv.vcpuKilled = (t) => {
      // A killed vCPU unwinds and exits; in this model it exits at once — emulated, native, or
      // one that never ran here.
      const v = this.vcpus.get(t);
      if (v) {
        this.sched.block(v);
        v.cpu.leave();
      }
      const n = this.natives.get(t);
      if (n) this.sched.block(n);
      t.exit();
      if (t.proxy && !(v?.proxyActive ?? n?.proxyActive ?? false)) t.wakeupSource.assert(true);
    };
    hv.vcpuSuspend = (t, resume) => {
      const v = this.vcpus.get(t);
      if (!v) return;
      v.suspendState = v.cpu.x[1]! & 0xffff_ffffn;
      // A wakeup already pending: CPU_SUSPEND returns SUCCESS at once (§9.3).
      if (v.cpu.wakeupPending()) {
        t.suspended = false;
        return;
      }
      v.resume = resume;
      v.waiting = true;
      v.cpu.waiting = true;
      v.cpu.requestExit();
    };
    hv.vcpuProxied = (t) => {
      const v = this.vcpus.get(t);
      if (v) this.sched.block(v);
    };
    hv.platformPower = (what) => {
      this.platformStop = what === 'off' ? 'platform-off' : 'platform-reset';
      for (const v of this.vcpus.values()) v.cpu.leave();
      return 0;
    };
    hv.schedYield = (caller, target) => this.yield(caller, target);
  }

  /**
   * Put a physical device on the bus at [base, base + size): what a VM reaches when its stage 2
   * maps that range (a passed-through device). Ranges may not overlap RAM or each other.
   */
  mapDevice(base: number, size: number, dev: MmioDevice): void {
    const ram = this.hv.mem.phys;
    const overlaps = (b: number, n: number) => base < b + n && b < base + size;
    if (overlaps(ram.base, ram.bytes.byteLength)) throw new Error(`${dev.name} overlaps RAM`);
    for (const d of this.devices) if (overlaps(d.base, d.size)) throw new Error(`${dev.name} overlaps ${d.dev.name}`);
    this.devices.push({ base, size, dev });
  }

  /** Make `thread` an emulated vCPU (call after it is configured and attached, before power-on). */
  addEmulated(thread: Thread): EmulatedVcpu {
    const v = new EmulatedVcpu(thread, this.bus, this.hv);
    this.vcpus.set(thread, v);
    const cpu = v.cpu;
    const as = addrspaceOf(thread);
    if (as) {
      const s2 = as.stage2;
      v.el2.attachStage2(s2);
      s2.listeners.add(() => cpu.tlbFlushAll());
      // Hypercalls that copy guest buffers translate the VA as this vCPU does: its stage 1, then
      // stage 2 (§5.2).
      thread.access = new Stage2Access(s2, this.hv.mem.phys, 1, (va, write) => this.stage1(v, s2, va, write));
    }
    const att = vicOfVcpu(thread);
    if (att && att.vic.gic) {
      const gic = att.vic.gic;
      cpu.sysregHook = gic.cpuInterface(att.index);
      cpu.sys.mpidr = vicMpidrOfIndex(att.vic, att.index);
      gic.connect(att.index, (irq, fiq) => {
        cpu.setIrq(irq);
        cpu.setFiq(fiq);
        if ((irq || fiq) && v.waiting) this.wake(v);
      });
      cpu.onTimer = (which, level) => gic.setPpiLevel(att.index, which === 'virt' ? PPI_VTIMER : PPI_PTIMER, level);
    }
    if (!thread.poweredOff) this.powerOn(v);
    return v;
  }

  /**
   * Run `program` as the native vCPU `thread` (configured, attached and activated by hypercalls
   * like any vCPU; it starts when powered on, or now if it already is).
   */
  addNative(thread: Thread, program: NativeProgram): NativeRunner {
    const vcpu = new NativeVcpu(this.hv, thread);
    const n = new NativeRunner(thread, vcpu, program);
    this.natives.set(thread, n);
    const att = vicOfVcpu(thread);
    if (att && att.vic.gic) {
      vcpu.irq = new NativeIrq(att.vic.gic, att.index);
      att.vic.gic.connect(att.index, (irq) => {
        if (irq && n.waiting) {
          n.waiting = false;
          this.wakeNative(n);
        }
      });
    }
    if (!thread.poweredOff) this.wakeNative(n);
    return n;
  }

  /** A native vCPU can run again: queue it, or for a proxy-scheduled one tell its owner (§8.4). */
  private wakeNative(n: NativeRunner): void {
    if (n.thread.proxy) {
      if (!n.proxyActive) n.thread.wakeupSource.assert(true);
      return;
    }
    this.sched.wake(n);
  }

  /**
   * The IPA of the page holding `va` under the vCPU's stage 1, or S1_FAULT. Descriptor fetches go
   * through stage 2 without faulting into the guest (a miss is a walk fault here): this runs inside
   * a hypercall, which reports errors instead of injecting exceptions.
   */
  private stage1(v: EmulatedVcpu, s2: Stage2, va: number, write: boolean): number {
    // MMU off: the VA is the IPA (upper-half addresses are out of range).
    if ((v.cpu.sys.sctlrEl1 & 1n) === 0n) return va >= 0 ? va : S1_FAULT;
    const el2 = v.el2;
    const saved = el2.stage2;
    el2.stage2 = v.quietStage2 ??= (c, ipaPage) => {
      const pa = s2.translate(ipaPage, Access.Read, c.el);
      return pa >= 0 ? pa : NOT_RAM;
    };
    try {
      const r = mmuWalk(v.cpu, va, write ? Access.Write : Access.Read, v.cpu.el);
      return r.fault !== 0 ? S1_FAULT : r.pa - (r.pa % 4096);
    } finally {
      el2.stage2 = saved;
    }
  }

  vcpuOf(thread: Thread): EmulatedVcpu | undefined {
    return this.vcpus.get(thread);
  }

  private powerOn(v: EmulatedVcpu): void {
    const t = v.thread;
    const cpu = v.cpu;
    // vcpu_poweron: EL1 reset (MMU off, EL1h, DAIF masked), PC = entry, X0 = context, the other
    // registers as vcpu_register_write left them (§8.1).
    const now = cpu.icount;
    cpu.reset(Number(BigInt.asIntN(64, t.pc)));
    cpu.icount = now;
    cpu.x.set(t.regs, 0);
    cpu.writeSpBank(0, t.spEl0);
    cpu.writeSpBank(1, t.spEl1);
    t.resetPending = false;
    v.waiting = false;
    v.resume = null;
    this.makeRunnable(v);
  }

  /** A wakeup (interrupt, timer) for a vCPU waiting in WFI or CPU_SUSPEND. */
  private wake(v: EmulatedVcpu): void {
    v.waiting = false;
    const t = v.thread;
    if (t.suspended) {
      t.suspended = false;
      const r = v.resume;
      v.resume = null;
      if (r) {
        // Powerdown suspend: the CPU restarts at `entry` with X0 = context, EL1 reset (§9.3);
        // the other registers keep their values.
        const cpu = v.cpu;
        const now = cpu.icount;
        const x = cpu.x.slice();
        cpu.reset(Number(BigInt.asIntN(64, r.entry)));
        cpu.icount = now;
        cpu.x.set(x, 0);
        cpu.x[0] = r.ctx;
      }
    }
    this.makeRunnable(v);
  }

  /** Queue a vCPU that can run again, or for a proxy-scheduled one, tell its owner (§8.4). */
  private makeRunnable(v: EmulatedVcpu): void {
    if (v.thread.proxy) {
      if (!v.proxyActive) v.thread.wakeupSource.assert(true);
      return;
    }
    if (this.sched.wake(v)) {
      const cur = this.sched.running(v.affinity);
      if (cur instanceof EmulatedVcpu) cur.cpu.leave();
    }
  }

  /**
   * The CPU stopped for good: a guest taking exception after exception without retiring an
   * instruction (no usable vector table). Real hardware would spin there; the model halts the vCPU
   * as an unrecoverable fault (§8.4 FAULT, §9.6: halt VIRQ) and keeps the CPU's one-line reason.
   */
  private fault(v: EmulatedVcpu): void {
    const t = v.thread;
    if (t.faulted) return;
    t.faulted = true;
    this.sched.block(v);
    const tr = this.hv.tracer;
    if (tr.on) {
      tr.emit({
        kind: 'fault',
        t: v.cpu.icount,
        cpu: this.pcpuNow,
        vcpu: nameOf(v)!,
        syndrome: v.cpu.faultMessage,
        pc: `0x${v.cpu.pc.toString(16)}`,
      });
    }
    t.haltSource.assert(true);
  }

  /** Fire timers of waiting vCPUs whose deadline is at or before `now`. */
  private fireTimers(now: number): void {
    for (const v of this.vcpus.values()) {
      if (!v.waiting) continue;
      const at = v.cpu.nextTimerEvent();
      if (at <= now) {
        if (v.cpu.icount < at) v.cpu.icount = at;
        v.cpu.updateTimers();
        if (v.cpu.wakeupPending() && v.waiting) this.wake(v);
      }
    }
  }

  /** The earliest timer deadline among waiting vCPUs (Infinity if none). */
  private nextWake(): number {
    let next = Infinity;
    for (const v of this.vcpus.values()) if (v.waiting) next = Math.min(next, v.cpu.nextTimerEvent());
    return next;
  }

  /**
   * Run `v` on physical CPU `p` from virtual time `now` for at most `budget` ns. Returns the
   * elapsed time. Afterwards `v.waiting` says whether it stopped to wait for an interrupt.
   */
  private runVcpu(v: EmulatedVcpu, now: number, budget: number): { elapsed: number; stop: Stop } {
    const cpu = v.cpu;
    if (cpu.icount < now) cpu.icount = now;
    const start = cpu.icount;
    const stop = cpu.run(start + Math.max(1, budget));
    this.instructions += cpu.icount - start;
    if (stop === Stop.Halt) this.fault(v);
    if (stop === Stop.Wfi || v.waiting) {
      v.waiting = true;
      if (cpu.wakeupPending()) this.wake(v);
    }
    return { elapsed: cpu.icount - start, stop };
  }

  /** Run until every CPU's clock reaches `untilNs`, or nothing can run any more. */
  run(untilNs: number): SystemStop {
    const n = this.time.length;
    for (;;) {
      if (this.platformStop) return this.platformStop;
      let p = 0;
      for (let k = 1; k < n; k++) if (this.time[k]! < this.time[p]!) p = k;
      const now = this.time[p]!;
      if (now >= untilNs) return 'limit';
      this.pcpuNow = p;
      this.fireTimers(now);
      this.sched.schedule(p);
      const r = this.sched.running(p);
      if (r !== this.lastOn[p]) {
        if (this.hv.tracer.on) this.traceSwitch(p, now, this.lastOn[p] ?? null, r);
        this.lastOn[p] = r;
      }
      if (r instanceof NativeRunner) {
        this.stepNative(p, r, now);
        continue;
      }
      if (!(r instanceof EmulatedVcpu)) {
        // Idle: skip to the next event (a timer, or the next busy CPU's clock), or stop.
        let next = this.nextWake();
        for (let k = 0; k < n; k++) if (k !== p && this.sched.running(k) !== null) next = Math.min(next, this.time[k]!);
        if (next === Infinity) {
          // Idle for good when nothing could run: a runnable vCPU with no CPU (affinity none, or a
          // CPU this system lacks) is never queued, so it does not count.
          const live = (v: Schedulable): boolean => v.runnable() && v.affinity < n;
          if (![...this.vcpus.values(), ...this.natives.values()].some(live)) return 'idle';
          next = now + QUANTUM_NS;
        }
        this.time[p] = Math.min(untilNs, Math.max(now + 1, next));
        continue;
      }
      const budget = Math.min(QUANTUM_NS, this.sched.sliceLeft(p), untilNs - now, this.nextWake() - now);
      const { elapsed } = this.runVcpu(r, now, budget);
      this.time[p] = now + elapsed;
      this.sched.account(p, elapsed);
      if (!r.runnable()) this.sched.block(r);
    }
  }

  private traceSwitch(p: number, now: number, from: Schedulable | null, to: Schedulable | null): void {
    const reason = from === null ? 'wakeup' : !from.runnable() ? 'blocked' : 'preempted or slice ended';
    this.hv.tracer.emit({ kind: 'sched', t: now, cpu: p, from: nameOf(from), to: nameOf(to), reason });
  }

  private stepNative(p: number, r: NativeRunner, now: number): void {
    const v = r.vcpu;
    v.spentNs = 0;
    const what = r.program.step(v);
    // The step's cost: its hypercalls, vCPUs it ran through vcpu_run (which already moved this
    // CPU's clock), and a fixed charge so a program that makes no call still advances time.
    const elapsed = v.spentNs + NATIVE_STEP_NS;
    this.time[p] = Math.max(this.time[p]!, now) + elapsed;
    this.sched.account(p, elapsed);
    if (what === 'off') {
      if (!r.thread.poweredOff) {
        r.thread.poweredOff = true;
        this.sched.block(r);
      }
    } else if (what === 'wait') {
      if (!(v.irq?.pending() ?? false)) {
        r.waiting = true;
        this.sched.block(r);
      }
    }
  }

  // ------------------------------------------------------------------ proxy scheduling (§8.4)

  isRunning(t: Thread): boolean {
    const v = this.vcpus.get(t);
    if (!v) return false;
    if (v.proxyActive) return true;
    for (let p = 0; p < this.time.length; p++) if (this.sched.running(p) === v) return true;
    return false;
  }

  report(t: Thread, out: RunReport): RunReport {
    const native = this.natives.get(t);
    if (native !== undefined) {
      this.reportNative(native, out);
      return out;
    }
    const v = this.vcpus.get(t);
    if (t.faulted) return out.set(VCPU_RUN_STATE.FAULT);
    if (t.resetRequest) return out.set(VCPU_RUN_STATE.PSCI_SYSTEM_RESET, t.resetRequest.type, t.resetRequest.cookie);
    if (t.runState === RunState.KILLED || t.runState === RunState.EXITED) {
      return out.set(VCPU_RUN_STATE.POWERED_OFF, 1n);
    }
    if (t.poweredOff || t.runState === RunState.INIT) return out.set(VCPU_RUN_STATE.POWERED_OFF, 0n);
    if (!v) return out.set(VCPU_RUN_STATE.BLOCKED);
    const mmio = v.el2.pendingVmmio;
    if (mmio) {
      return mmio.write
        ? out.set(VCPU_RUN_STATE.ADDRSPACE_VMMIO_WRITE, BigInt(mmio.ipa), BigInt(mmio.size), mmio.value)
        : out.set(VCPU_RUN_STATE.ADDRSPACE_VMMIO_READ, BigInt(mmio.ipa), BigInt(mmio.size));
    }
    if (v.waiting) {
      return t.suspended
        ? out.set(VCPU_RUN_STATE.EXPECTS_WAKEUP, v.suspendState, BigInt(WAKEUP_FROM.PSCI_CPU_SUSPEND))
        : out.set(VCPU_RUN_STATE.EXPECTS_WAKEUP, 0n, BigInt(WAKEUP_FROM.WFI));
    }
    return out.set(VCPU_RUN_STATE.READY);
  }

  /** vcpu_run (ProxyRunner.proxyRun). */
  proxyRun(caller: Thread, t: Thread, resume: bigint, out: RunReport): number {
    const v = this.vcpus.get(t);
    if (!v) {
      const n = this.natives.get(t);
      if (n !== undefined) return this.proxyRunNative(caller, n, out);
      this.report(t, out);
      return Err.OK;
    }
    // Resume data for the state last reported: a pending VMMIO access completes (a read loads
    // resume_data_0).
    if (v.el2.pendingVmmio) v.el2.resumeVmmio(v.cpu, resume);
    if (v.ready()) {
      // The caller's physical CPU: the one the loop is running, or (a native caller driven from
      // outside the loop) its affinity.
      const p = this.callerPcpu(caller);
      // The vCPU moves to the caller's CPU (§8.4 step 3); a pinned vCPU elsewhere cannot (DENIED,
      // as vcpu_set_affinity says for it). The vcpu_run block stays in place either way.
      if (t.affinity !== p) {
        if ((t.options & VCPU_OPTION.pinned) !== 0n) return Err.DENIED;
        t.affinity = p;
      }
      const now = this.time[p]!;
      const slice = this.sched.current(p) !== null ? this.sched.sliceLeft(p) : QUANTUM_NS;
      const budget = Math.max(1, Math.min(QUANTUM_NS, slice, this.nextWake() - now));
      v.proxyActive = true;
      v.el2.onVmmio = () => {};
      const tr = this.hv.tracer;
      if (tr.on) tr.emit({ kind: 'sched', t: now, cpu: p, from: nameOf(caller), to: nameOf(t), reason: 'vcpu_run' });
      let elapsed = 0;
      try {
        elapsed = this.runVcpu(v, now, budget).elapsed;
      } finally {
        v.proxyActive = false;
      }
      this.time[p] = now + elapsed;
      if (tr.on) {
        const state = this.report(t, out).state;
        tr.emit({
          kind: 'sched',
          t: now + elapsed,
          cpu: p,
          from: nameOf(t),
          to: nameOf(caller),
          reason: `vcpu_run returns state ${state}`,
        });
      }
      if (this.sched.current(p) !== null) this.sched.account(p, elapsed);
    }
    this.report(t, out);
    return Err.OK;
  }

  /**
   * vcpu_run of a proxy-scheduled native vCPU: one step of its program on the caller's CPU and
   * clock. 'wait' reports EXPECTS_WAKEUP (as a WFI), 'off' POWERED_OFF, 'yield' READY.
   */
  private proxyRunNative(caller: Thread, n: NativeRunner, out: RunReport): number {
    const t = n.thread;
    if (!n.ready()) return this.reportNative(n, out);
    const p = this.callerPcpu(caller);
    if (t.affinity !== p) {
      if ((t.options & VCPU_OPTION.pinned) !== 0n) return Err.DENIED;
      t.affinity = p;
    }
    const now = this.time[p]!;
    n.proxyActive = true;
    let what: 'yield' | 'wait' | 'off';
    n.vcpu.spentNs = 0;
    try {
      what = n.program.step(n.vcpu);
    } finally {
      n.proxyActive = false;
    }
    this.time[p] = Math.max(this.time[p]!, now) + n.vcpu.spentNs + NATIVE_STEP_NS;
    if (what === 'off') t.poweredOff = true;
    else if (what === 'wait' && !(n.vcpu.irq?.pending() ?? false)) n.waiting = true;
    return this.reportNative(n, out);
  }

  private reportNative(n: NativeRunner, out: RunReport): number {
    const t = n.thread;
    if (t.runState === RunState.KILLED || t.runState === RunState.EXITED) out.set(VCPU_RUN_STATE.POWERED_OFF, 1n);
    else if (t.poweredOff) out.set(VCPU_RUN_STATE.POWERED_OFF, 0n);
    else if (n.waiting) out.set(VCPU_RUN_STATE.EXPECTS_WAKEUP, 0n, BigInt(WAKEUP_FROM.WFI));
    else out.set(VCPU_RUN_STATE.READY);
    return Err.OK;
  }

  private callerPcpu(caller: Thread): number {
    const n = this.time.length;
    for (let p = 0; p < n; p++) {
      const r = this.sched.running(p) as { thread?: Thread } | null;
      if (r?.thread === caller) return p;
    }
    return caller.affinity < n ? caller.affinity : 0;
  }

  // ------------------------------------------------------------------ scheduler_yield (§8.2)

  private yield(caller: Thread, target: Thread | null): void {
    const p = this.callerPcpu(caller);
    const me: VcpuSchedulable | undefined = this.vcpus.get(caller) ?? this.natives.get(caller);
    if (!me) return;
    // An emulated caller stops at once; a native one at the end of its step.
    const leave = (): void => {
      if (me instanceof EmulatedVcpu) me.cpu.leave();
    };
    if (target === null) {
      this.sched.yieldSlice(p, me);
      leave();
      return;
    }
    const tv = this.vcpus.get(target) ?? this.natives.get(target);
    if (tv && this.sched.yieldTo(p, me, tv)) leave();
  }
}

/** A thread's name in traces: its label, or its object name. */
function nameOf(x: Schedulable | Thread | null): string | null {
  if (x === null) return null;
  const t = 'thread' in x ? (x as { thread: Thread }).thread : (x as Thread);
  return t.label !== '' ? t.label : String(t);
}
