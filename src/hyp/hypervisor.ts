// The hypervisor (EL2 in TypeScript): owns the objects, dispatches hypercalls for emulated and
// native vCPUs alike, and answers SMCCC calls (hypervisor-abi.md §1, §9.4). Mechanism only: it
// never decides who may have what — the resource manager does, through hypercalls.

import { Err } from './abi/errors.js';
import { HVC_BASE, SMCCC_HYPERCALL_BASE } from './abi/hypercalls.js';
import { Dispatcher, type Handler } from './dispatch.js';
import { HypObject, resetObjectIds, type ObjectEvents } from './core/object.js';
import type { Thread } from './vm/thread.js';
import { psciCall, type SuspendResume } from './vm/psci.js';
import type { ProxyRunner } from './vm/vcpu-run.js';
import { HANDLERS } from './calls/index.js';
import { GUNYAH_UID, HYP_API_INFO, SMCCC } from './abi/smccc.js';
import { HypMemory, type MemoryOptions } from './mem/memory.js';
import { buildRootVm, type RootVm, type RootVmOptions } from './boot/rootvm.js';
import { PlatformPrng } from './boot/prng.js';
import { PlatformIrqs } from './vm/hwirq.js';
import { TRACE_DEFAULT_CLASS_FLAGS, type ObjectEventKind } from './trace.js';
import type { Tracer } from './trace.js';

const ALL_ONES = 0xffff_ffff_ffff_ffffn;

export type { RootVm, RootVmOptions };

export interface HypervisorOptions {
  /** Physical RAM (default: 64 MiB at 0x4000_0000, allocated on first touch). */
  memory?: MemoryOptions;
  /** Hypercall handlers (default: every handler of this build). */
  handlers?: ReadonlyMap<string, Handler>;
  /** How createRootVm lays out the root VM: RM images, entry point, boot CPU (boot/rootvm.ts). */
  rootVm?: RootVmOptions;
  /** Seed of the platform random source behind prng_get_entropy (default: a fixed value). */
  seed?: bigint | number;
}

export class Hypervisor implements ObjectEvents {
  readonly dispatcher: Dispatcher;
  /** Objects alive (created and not yet destroyed), for leak checks and inspection. */
  readonly live = new Set<HypObject>();
  /** Scheduler hooks: a VCPU was powered on, powered itself off, or was killed. */
  vcpuPoweredOn: ((t: Thread) => void) | null = null;
  vcpuPoweredOff: ((t: Thread) => void) | null = null;
  vcpuKilled: ((t: Thread) => void) | null = null;
  /** A VCPU entered PSCI CPU_SUSPEND (resume: restart point of a powerdown suspend, §9.3). */
  vcpuSuspend: ((t: Thread, resume: SuspendResume | null) => void) | null = null;
  /**
   * PSCI SYSTEM_OFF / SYSTEM_RESET / SYSTEM_RESET2 from a critical VCPU (the root VM or the HLOS):
   * the real platform powers off or resets. Returns a PSCI code for RESET2 (which may fail).
   */
  platformPower: ((what: 'off' | 'reset' | 'reset2', type: bigint, cookie: bigint) => number) | null = null;
  /** What runs proxy-scheduled vCPUs for vcpu_run (the running system), if any. */
  proxyRunner: ProxyRunner | null = null;
  /** scheduler_yield (§8.2): `target` null gives up the rest of the timeslice. */
  schedYield: ((caller: Thread, target: Thread | null) => void) | null = null;
  /** A vCPU became proxy-scheduled after activation (vcpu_bind_virq of its run-wakeup VIRQ). */
  vcpuProxied: ((t: Thread) => void) | null = null;

  /** The trace event stream (hypercalls, objects, vIRQs, scheduling, faults). */
  get tracer(): Tracer {
    return this.dispatcher.tracer;
  }

  /** Make `t` proxy-scheduled (§8.4): from now on it runs only inside vcpu_run. */
  setProxy(t: Thread): void {
    if (t.proxy) return;
    t.proxy = true;
    this.vcpuProxied?.(t);
  }

  /** Physical memory, the memory database and the VMID table (§10). */
  readonly mem: HypMemory;
  /** The physical interrupt controller: line levels and hwirq claims (vm/hwirq.ts). */
  readonly irqs = new PlatformIrqs();
  /** The platform random source (prng_get_entropy), seeded: deterministic. */
  readonly prng: PlatformPrng;
  /** Enabled trace classes (trace_update_class_flags, §2.10; classes in trace.ts). */
  traceClassFlags = TRACE_DEFAULT_CLASS_FLAGS;
  /**
   * Virtual time in ns, for everything in the hypervisor that reads the clock (prng_get_entropy's
   * rate limit, trace timestamps). The running system (system.ts) sets it; 0 until then.
   */
  now: () => number = () => 0;
  private readonly rootVmOptions: RootVmOptions | undefined;

  constructor(opts: HypervisorOptions | ReadonlyMap<string, Handler> = {}) {
    resetObjectIds();
    const o: HypervisorOptions = opts instanceof Map ? { handlers: opts } : (opts as HypervisorOptions);
    this.mem = new HypMemory(o.memory);
    this.prng = new PlatformPrng(o.seed);
    this.rootVmOptions = o.rootVm;
    this.dispatcher = new Dispatcher(this, o.handlers ?? HANDLERS);
    // One clock: trace timestamps follow the hypervisor's virtual time.
    this.dispatcher.tracer.now = () => this.now();
  }

  /** Object lifecycle (§4.2): the live set, and a trace event when tracing is on. */
  objectEvent(obj: HypObject, what: ObjectEventKind): void {
    if (what === 'create') this.live.add(obj);
    else if (what === 'destroy') this.live.delete(obj);
    const tr = this.dispatcher.tracer;
    if (tr.on) tr.object(what, obj.type, obj.oid, obj.type === 'thread' ? (obj as Thread).label : '');
  }

  /**
   * A platform device drives physical SPI `intid` (32..PLATFORM_IRQ_MAX, e.g. the PL011 on SPI 33):
   * a hwirq bound to a VIRQ forwards the level to it (vm/hwirq.ts). Other INTIDs throw.
   */
  platformIrq(intid: number, level: boolean): void {
    this.irqs.setLine(intid, level);
  }

  /** Register a new object (every constructor path goes through here). */
  adopt<T extends HypObject>(obj: T): T {
    this.objectEvent(obj, 'create');
    return obj;
  }

  /**
   * Build the root VM as the hypervisor does at boot (§11.1–11.2, boot/rootvm.ts): root partition,
   * cspace, vCPU, VIC, hwirqs, addrspace and memory extents, the boot environment in the RM region,
   * and the root vCPU powered on at the entry with X0 = env_ipa. `opts` defaults to the
   * constructor's `rootVm` option.
   */
  createRootVm(opts: RootVmOptions | undefined = this.rootVmOptions): RootVm {
    return buildRootVm(this, opts);
  }

  /** HVC from a vCPU: `imm` is the HVC immediate (ESR ISS[15:0]). */
  hvc(thread: Thread, x: BigUint64Array, imm: number): void {
    if (imm === 0) return this.smccc(thread, x);
    if (imm >= HVC_BASE && imm < HVC_BASE + 0x200) return this.dispatcher.hvc(thread, x, imm - HVC_BASE);
    x[0] = ALL_ONES; // any other immediate: "unknown function", other registers unchanged (§1.3)
  }

  /** SMC from a vCPU (trapped, HCR_EL2.TSC): only `smc #0` is SMCCC. */
  smc(thread: Thread, x: BigUint64Array, imm: number): void {
    if (imm === 0) return this.smccc(thread, x);
    x[0] = ALL_ONES;
  }

  /** SMCCC dispatch for `hvc #0` / `smc #0` (§1.2, §9.4). */
  smccc(thread: Thread, x: BigUint64Array): void {
    const fid = Number(x[0]! & 0xffff_ffffn);
    if ((fid & 0x00fe_0000) !== 0) {
      x[0] = ALL_ONES; // bits 23:17 must be zero
      return;
    }
    const fast = (fid & 0x8000_0000) !== 0;
    const smc64 = (fid & 0x4000_0000) !== 0;
    const owner = (fid >>> 24) & 0x3f;
    const fn = fid & 0xffff;
    if (owner === SMCCC.OWNER_VENDOR_HYP) {
      const cls = fn >>> 14;
      if (cls === 0b10) {
        if (fast && smc64) return this.dispatcher.smcccHypercall(thread, x, fid & 0x3fff);
        x[0] = ALL_ONES;
        return;
      }
      if (cls === 0b11 && fast && !smc64) {
        if ((fn & 0x3fff) === 0x3f01) return write32(x, GUNYAH_UID);
        if ((fn & 0x3fff) === 0x3f03) {
          x[0] = HYP_API_INFO;
          return;
        }
      }
      x[0] = ALL_ONES;
      return;
    }
    if (fast && !smc64 && owner === SMCCC.OWNER_STANDARD_HYP) {
      if (fn === 0xff01) return write32(x, GUNYAH_UID);
      if (fn === 0xff03) return write32(x, [1, 0, Number(x[2]! & 0xffff_ffffn), Number(x[3]! & 0xffff_ffffn)]);
    }
    if (fast && !smc64 && owner === SMCCC.OWNER_ARCH) {
      if (fid === SMCCC.VERSION) return write32(x, [SMCCC.VERSION_1_3, keep(x, 1), keep(x, 2), keep(x, 3)]);
      if (fid === SMCCC.ARCH_FEATURES) {
        const q = Number(x[1]! & 0xffff_ffffn);
        const ok =
          q === SMCCC.VERSION || q === SMCCC.ARCH_FEATURES || q === SMCCC.STD_HYP_UID || q === SMCCC.STD_HYP_REVISION;
        return write32(x, [ok ? 0 : -1, keep(x, 1), keep(x, 2), keep(x, 3)]);
      }
    }
    if (fast && owner === SMCCC.OWNER_STANDARD && thread.vpm !== null && psciCall(this, thread, x, fid)) return;
    if (fast && owner === SMCCC.OWNER_STANDARD && fn === 0x000a && !smc64) {
      // PSCI_FEATURES answers even without a vpm_group: 0 only for SMCCC_VERSION (§9.3).
      const q = Number(x[1]! & 0xffff_ffffn);
      return write32(x, [q === SMCCC.VERSION ? 0 : -1, keep(x, 1), keep(x, 2), keep(x, 3)]);
    }
    x[0] = ALL_ONES;
  }

  /** Objects of a type still alive (leak checks). */
  liveOf(type: string): HypObject[] {
    return [...this.live].filter((o) => o.type === type);
  }

  static readonly ERR = Err;
}

/** The low 32 bits of register `k`, as an SMC32 handler that did not set it leaves it. */
function keep(x: BigUint64Array, k: number): number {
  return Number(x[k]! & 0xffff_ffffn);
}

/** SMC32 results: x0..x3 rewritten as 32-bit values, zero-extended (§1.3). */
function write32(x: BigUint64Array, w: readonly number[]): void {
  for (let k = 0; k < 4; k++) x[k] = BigInt((w[k] ?? keep(x, k)) >>> 0);
}

export { SMCCC_HYPERCALL_BASE };
