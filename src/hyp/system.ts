// The running system (DESIGN.md §3): emulated physical CPUs, each running the FPRR scheduler's
// choice (core/scheduler.ts), interleaved deterministically in one thread. An emulated vCPU is a
// `Cpu` (architectural EL1/EL0 state) whose EL2 is `VcpuEl2`, whose stage 2 is its addrspace's
// table, whose GIC CPU interface and timer PPIs are its VIC's virtual GICv3 (index = its
// vic_attach_vcpu index), and whose generic counter is global virtual time.
//
// Time: each physical CPU has a local clock (virtual ns); the loop always advances the CPU that
// is furthest behind (lowest index on ties) by at most one quantum, so clocks never drift apart by
// more than that and the interleaving is a pure function of the inputs. A vCPU's `cpu.icount` is
// set to its physical CPU's clock when it runs (1 instruction = 1 ns). A vCPU waiting in WFI is
// blocked; its timer deadline is a wake event, and idle CPUs skip to the next event.

import { Cpu, Stop, type PhysBus } from '../arch/aarch64/cpu.js';
import { Scheduler, SchedState, type Schedulable } from './core/scheduler.js';
import type { Hypervisor } from './hypervisor.js';
import { RunState, type Thread } from './vm/thread.js';
import { VcpuEl2 } from './vm/vcpu-el2.js';
import { addrspaceOf } from './mem/addrspace.js';
import { vicOfVcpu } from './vm/vic.js';

/** Longest stretch a vCPU runs before the loop looks at the other CPUs (virtual ns). */
export const QUANTUM_NS = 100_000;
const PPI_VTIMER = 27;
const PPI_PTIMER = 30;

export type SystemStop = 'limit' | 'idle' | 'halted';

/** An emulated vCPU: its CPU state and how it is wired to the hypervisor. */
export class EmulatedVcpu implements Schedulable {
  readonly cpu: Cpu;
  readonly el2: VcpuEl2;
  sched = new SchedState();
  /** Waiting in WFI for an interrupt. */
  waiting = false;

  constructor(
    readonly thread: Thread,
    bus: PhysBus,
    hv: Hypervisor,
  ) {
    this.cpu = new Cpu(bus);
    this.el2 = new VcpuEl2(hv, thread);
    this.cpu.el2 = this.el2;
  }

  get priority(): number {
    return this.thread.priority;
  }
  get affinity(): number {
    return this.thread.affinity;
  }
  get timesliceNs(): bigint {
    return this.thread.timesliceNs;
  }

  runnable(): boolean {
    const t = this.thread;
    return (t.runState === RunState.READY || t.runState === RunState.KILLED) && !t.poweredOff && !this.waiting;
  }
}

export class HypSystem {
  readonly sched: Scheduler;
  /** Local clock of each physical CPU, in virtual ns. */
  readonly time: Float64Array;
  private readonly vcpus = new Map<Thread, EmulatedVcpu>();
  private readonly bus: PhysBus;

  constructor(
    readonly hv: Hypervisor,
    cpus = 1,
  ) {
    this.sched = new Scheduler(cpus);
    this.time = new Float64Array(cpus);
    const phys = hv.mem.phys;
    // Guests see RAM only through stage 2; device windows are emulated on stage-2 faults, so the
    // physical bus has no MMIO.
    this.bus = { ramBase: phys.base, ram: phys.bytes, mmioRead: () => null, mmioWrite: () => false };
    hv.vcpuPoweredOn = (t) => {
      const v = this.vcpus.get(t);
      if (v) this.powerOn(v);
    };
    hv.vcpuPoweredOff = (t) => {
      const v = this.vcpus.get(t);
      if (v) {
        this.sched.block(v);
        v.cpu.requestExit();
      }
    };
    hv.vcpuKilled = (t) => {
      const v = this.vcpus.get(t);
      if (v) {
        // A killed vCPU unwinds and exits; in this model it exits at once.
        this.sched.block(v);
        v.cpu.requestExit();
        t.exit();
      }
    };
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
    }
    const att = vicOfVcpu(thread);
    if (att && att.vic.gic) {
      const gic = att.vic.gic;
      cpu.sysregHook = gic.cpuInterface(att.index);
      cpu.sys.mpidr = 0x8000_0000n | BigInt(att.index);
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
    this.sched.wake(v);
  }

  private wake(v: EmulatedVcpu): void {
    v.waiting = false;
    if (this.sched.wake(v)) {
      const cur = this.sched.running(v.affinity);
      if (cur instanceof EmulatedVcpu) cur.cpu.requestExit();
    }
  }

  /** Fire timers of waiting vCPUs whose deadline is at or before `now`. */
  private fireTimers(now: number): void {
    for (const v of this.vcpus.values()) {
      if (!v.waiting) continue;
      const at = v.cpu.nextTimerEvent();
      if (at <= now) {
        if (v.cpu.icount < at) v.cpu.icount = at;
        v.cpu.updateTimers();
        if (v.cpu.wakeupPending()) this.wake(v);
      }
    }
  }

  /** The earliest timer deadline among waiting vCPUs (Infinity if none). */
  private nextWake(): number {
    let next = Infinity;
    for (const v of this.vcpus.values()) if (v.waiting) next = Math.min(next, v.cpu.nextTimerEvent());
    return next;
  }

  /** Run until every CPU's clock reaches `untilNs`, or nothing can run any more. */
  run(untilNs: number): SystemStop {
    const n = this.time.length;
    for (;;) {
      let p = 0;
      for (let k = 1; k < n; k++) if (this.time[k]! < this.time[p]!) p = k;
      const now = this.time[p]!;
      if (now >= untilNs) return 'limit';
      this.fireTimers(now);
      this.sched.schedule(p);
      const r = this.sched.running(p);
      if (!(r instanceof EmulatedVcpu)) {
        // Idle: skip to the next event (a timer, or the next busy CPU's clock), or stop.
        let next = this.nextWake();
        for (let k = 0; k < n; k++) if (k !== p && this.sched.running(k) !== null) next = Math.min(next, this.time[k]!);
        if (next === Infinity) {
          if ([...this.vcpus.values()].every((v) => !v.runnable())) return 'idle';
          next = now + QUANTUM_NS;
        }
        this.time[p] = Math.min(untilNs, Math.max(now + 1, next));
        continue;
      }
      const cpu = r.cpu;
      if (cpu.icount < now) cpu.icount = now;
      const budget = Math.max(1, Math.min(QUANTUM_NS, this.sched.sliceLeft(p), untilNs - now, this.nextWake() - now));
      const stop = cpu.run(cpu.icount + budget);
      const elapsed = cpu.icount - now;
      this.time[p] = cpu.icount;
      this.sched.account(p, elapsed);
      if (stop === Stop.Wfi || r.waiting) {
        r.waiting = true;
        if (cpu.wakeupPending()) r.waiting = false;
        else this.sched.block(r);
      }
      if (stop === Stop.Halt) return 'halted';
    }
  }
}
