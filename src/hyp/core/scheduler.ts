// The fixed-priority round-robin scheduler (FPRR, hypervisor-abi.md §8.2) as a pure decision
// structure: per physical CPU, 64 FIFO run queues (0 lowest … 63 highest), the thread currently
// chosen, its remaining timeslice, and directed yields. The system's run loop asks it what to run
// and tells it about time passing, blocking and wakeups; it never runs anything itself.
//
// Rules (§8.2): the running thread keeps the CPU until it blocks, a strictly higher priority
// becomes runnable, or its timeslice expires while another thread of its priority is queued (it
// then goes to the tail with a fresh slice). A thread displaced by a higher priority before its
// slice expired goes back to the head of its queue. A wakeup of priority ≥ the current one asks
// for a reschedule, which displaces the current thread only if the newcomer is strictly higher,
// or equal and the current slice has expired. Affinity NONE (0xFFFF) threads are never queued.

export const PRIORITIES = 64;

/** What the scheduler needs to know about a thread. */
export interface Schedulable {
  readonly priority: number;
  /** Physical CPU index, or 0xFFFF for none. */
  readonly affinity: number;
  readonly timesliceNs: bigint;
  /** Whether it may run now (not blocked). */
  runnable(): boolean;
  /** Scheduler-private state. */
  sched: SchedState;
}

export class SchedState {
  /** Remaining timeslice in ns. */
  slice = 0;
  queued = false;
  /** The thread this one is donating its CPU to (directed yield), if any. */
  yieldTarget: Schedulable | null = null;
  /** The thread donating to this one, if any. */
  yieldedBy: Schedulable | null = null;
}

const AFFINITY_NONE = 0xffff;

class CpuQueues {
  readonly queues: Schedulable[][] = Array.from({ length: PRIORITIES }, () => []);
  /** The scheduler's chosen thread (with a directed yield, the yielder; see `running`). */
  current: Schedulable | null = null;
  /** Set when a wakeup asked for a reschedule at the next opportunity. */
  needResched = false;
}

export class Scheduler {
  private readonly cpus: CpuQueues[];

  constructor(readonly numCpus: number) {
    this.cpus = Array.from({ length: numCpus }, () => new CpuQueues());
  }

  /** The chosen thread of a CPU. */
  current(cpu: number): Schedulable | null {
    return this.cpus[cpu]!.current;
  }

  /** The thread actually executing on a CPU: the yield target when the current one donates its CPU. */
  running(cpu: number): Schedulable | null {
    const cur = this.cpus[cpu]!.current;
    return cur?.sched.yieldTarget ?? cur;
  }

  private enqueue(t: Schedulable, atHead: boolean): void {
    if (t.affinity === AFFINITY_NONE || t.affinity >= this.numCpus || t.sched.queued) return;
    const q = this.cpus[t.affinity]!.queues[t.priority]!;
    if (atHead) q.unshift(t);
    else q.push(t);
    t.sched.queued = true;
  }

  private dequeue(t: Schedulable): void {
    if (!t.sched.queued) return;
    const q = this.cpus[t.affinity]!.queues[t.priority]!;
    const i = q.indexOf(t);
    if (i >= 0) q.splice(i, 1);
    t.sched.queued = false;
  }

  private highestQueued(c: CpuQueues): number {
    for (let p = PRIORITIES - 1; p >= 0; p--) if (c.queues[p]!.length > 0) return p;
    return -1;
  }

  /**
   * A thread became runnable (created, woken, unblocked). Queues it on its CPU and says whether
   * that CPU should reschedule (idle, or the newcomer's priority ≥ the current one's).
   */
  wake(t: Schedulable): boolean {
    if (t.affinity === AFFINITY_NONE || t.affinity >= this.numCpus) return false;
    const c = this.cpus[t.affinity]!;
    if (c.current === t) {
      // A wakeup (an interrupt) for a thread donating its CPU ends the directed yield (§8.2).
      if (t.sched.yieldTarget) this.endYield(t);
      return false;
    }
    if (t.sched.slice <= 0) t.sched.slice = Number(t.timesliceNs);
    this.enqueue(t, false);
    const cur = c.current;
    const resched = cur === null || t.priority >= cur.priority;
    if (resched) c.needResched = true;
    return resched;
  }

  /** A thread blocked or exited: it leaves the queues (and the CPU, at the next reschedule). */
  block(t: Schedulable): void {
    this.dequeue(t);
    if (t.sched.yieldedBy) this.endYield(t.sched.yieldedBy);
    if (t.affinity !== AFFINITY_NONE && t.affinity < this.numCpus && this.cpus[t.affinity]!.current === t) {
      this.cpus[t.affinity]!.needResched = true;
    }
  }

  /** `ns` of CPU time passed for the chosen thread of `cpu` (a yield target spends the yielder's slice). */
  account(cpu: number, ns: number): void {
    const cur = this.cpus[cpu]!.current;
    if (!cur) return;
    cur.sched.slice -= ns;
    if (cur.sched.slice <= 0 && cur.sched.yieldTarget) this.endYield(cur);
  }

  /** Nanoseconds until the chosen thread's slice expires (the run loop's preemption deadline). */
  sliceLeft(cpu: number): number {
    const cur = this.cpus[cpu]!.current;
    return cur ? Math.max(0, cur.sched.slice) : Infinity;
  }

  /**
   * Decide what runs next on `cpu` and return the chosen thread (null: idle). Implements the
   * displacement rules in the file header.
   */
  schedule(cpu: number): Schedulable | null {
    const c = this.cpus[cpu]!;
    c.needResched = false;
    const cur = c.current;
    const top = this.highestQueued(c);
    if (cur && cur.runnable() && cur.affinity === cpu) {
      const expired = cur.sched.slice <= 0;
      const displace = top > cur.priority || (top === cur.priority && expired);
      if (!displace) {
        if (expired) cur.sched.slice = Number(cur.timesliceNs);
        return cur;
      }
      // Displaced: by a higher priority before expiry → head of its queue; otherwise the tail.
      if (cur.sched.yieldTarget) this.endYield(cur);
      if (expired) cur.sched.slice = Number(cur.timesliceNs);
      this.enqueue(cur, !expired);
    } else if (cur?.sched.yieldTarget) {
      this.endYield(cur);
    }
    if (top < 0 && !(cur && cur.runnable() && cur.affinity === cpu)) {
      c.current = null;
      return null;
    }
    const q = c.queues[this.highestQueued(c)]!;
    const next = q.shift()!;
    next.sched.queued = false;
    if (next.sched.slice <= 0) next.sched.slice = Number(next.timesliceNs);
    c.current = next;
    return next;
  }

  /** Whether a wakeup asked `cpu` to reschedule. */
  wantsResched(cpu: number): boolean {
    return this.cpus[cpu]!.needResched;
  }

  /**
   * scheduler_yield hint 0 (§8.2): a yield target ending its donation, or the chosen thread
   * giving up the rest of its slice (it goes to the tail of its queue).
   */
  yieldSlice(cpu: number, t: Schedulable): void {
    if (t.sched.yieldedBy) {
      this.endYield(t.sched.yieldedBy);
      return;
    }
    const c = this.cpus[cpu]!;
    if (c.current === t) {
      t.sched.slice = 0;
      c.needResched = true;
    }
  }

  /**
   * Directed yield (hint 1): the caller keeps the CPU at its priority but `target` runs in its
   * place. The target must be runnable with affinity here or none; otherwise nothing happens.
   * A yield target yielding back to its donor ends the yield; to a third thread re-targets it.
   * Returns whether the target now runs.
   */
  yieldTo(cpu: number, caller: Schedulable, target: Schedulable): boolean {
    if (target === caller) return false;
    const donor = caller.sched.yieldedBy ?? caller;
    if (caller.sched.yieldedBy && target === donor) {
      this.endYield(donor);
      return false;
    }
    if (!target.runnable() || (target.affinity !== AFFINITY_NONE && target.affinity !== cpu)) return false;
    if (donor.sched.yieldTarget) donor.sched.yieldTarget.sched.yieldedBy = null;
    donor.sched.yieldTarget = target;
    target.sched.yieldedBy = donor;
    return true;
  }

  private endYield(donor: Schedulable): void {
    const t = donor.sched.yieldTarget;
    if (t) t.sched.yieldedBy = null;
    donor.sched.yieldTarget = null;
  }

  /** Queued threads of a CPU at a priority, head first (for tests and traces). */
  queued(cpu: number, priority: number): readonly Schedulable[] {
    return this.cpus[cpu]!.queues[priority]!;
  }
}
