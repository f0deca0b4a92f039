// Native vCPUs (DESIGN.md §3): a vCPU whose code is a TypeScript program (the resource manager,
// the host VMM, test drivers). It reaches the hypervisor exactly as guest code does — register
// values in, register values out, through the same dispatcher — and nothing else.

import { HVC_BASE, HYPERCALL_BY_NAME, SMCCC_HYPERCALL_BASE } from '../abi/hypercalls.js';
import type { Hypervisor } from '../hypervisor.js';
import type { Thread } from './thread.js';
import type { GuestAccess } from './guest-access.js';
import type { Cpu } from '../../arch/aarch64/cpu.js';
import type { Gicv3 } from '../../machine/gicv3/gic.js';
import { GICD_CTLR, GICD_ICFGR, GICD_IGROUPR, GICD_IPRIORITYR, GICD_ISENABLER, ICC } from '../../machine/gicv3/regs.js';

/**
 * Modelled time a native vCPU spends per hypercall (virtual ns): the trap, the dispatcher and the
 * return, about what a hypercall round trip costs on a Cortex-A class core. The work a native
 * program does between hypercalls is free unless it calls `spend`.
 */
export const NATIVE_HYPERCALL_NS = 200;

export interface CallResult {
  /** x0 as the guest reads the error: a signed 32-bit number (0 = OK). */
  e: number;
  /** x0..x7 after the call. */
  x: bigint[];
}

export class NativeVcpu {
  /** X0..X30. */
  readonly x = new BigUint64Array(31);
  /** Virtual time this vCPU has used (hypercalls, `spend`, vCPUs run through vcpu_run). */
  spentNs = 0;
  /** Its interrupt controller interface, once attached to a VIC and run by the system. */
  irq: NativeIrq | null = null;

  constructor(
    readonly hv: Hypervisor,
    readonly thread: Thread,
  ) {}

  /** X0 as vcpu_poweron (or, for the root vCPU, the boot, §11.1) left it. */
  get bootX0(): bigint {
    return this.thread.regs[0]!;
  }

  /** This vCPU's own memory by address, translated as its hypercalls' buffers are. */
  get memory(): GuestAccess | null {
    return this.thread.access;
  }

  /** `hvc #imm` with x0.. = args; returns x0..x7. */
  hvcImm(imm: number, args: readonly bigint[]): bigint[] {
    args.forEach((v, k) => (this.x[k] = BigInt.asUintN(64, v)));
    this.spentNs += NATIVE_HYPERCALL_NS;
    this.hv.hvc(this.thread, this.x, imm);
    return [...this.x.subarray(0, 8)];
  }

  /** A Gunyah hypercall by name on the native path (`hvc #0x6000+N`). */
  call(name: string, ...args: bigint[]): CallResult {
    const row = HYPERCALL_BY_NAME.get(name);
    if (!row) throw new Error(`no hypercall named ${name}`);
    const x = this.hvcImm(HVC_BASE + row.num, args);
    return { e: Number(BigInt.asIntN(32, x[0]!)), x };
  }

  /** The same call through SMCCC (`hvc #0`, function ID 0xC6008000+N, inputs from x1). */
  callSmccc(name: string, ...args: bigint[]): CallResult {
    const row = HYPERCALL_BY_NAME.get(name);
    if (!row) throw new Error(`no hypercall named ${name}`);
    const x = this.hvcImm(0, [BigInt(SMCCC_HYPERCALL_BASE + row.num), ...args]);
    return { e: Number(BigInt.asIntN(64, x[0]!)), x };
  }
}

/** The GIC CPU interface ignores the Cpu argument of its system-register accessors. */
const NO_CPU = null as unknown as Cpu;
const ICFGR_EDGE = 2;
const DEFAULT_PRIORITY = 0xa0;
const CTLR_ENABLE_GRP1_ARE = (1 << 1) | (1 << 4);

/**
 * A native vCPU's view of its virtual GIC (the VIC it is attached to): what a guest kernel does
 * through ICC_* registers and GICD writes, as method calls on the same vGIC state.
 */
export class NativeIrq {
  constructor(
    readonly gic: Gicv3,
    /** The vCPU's VIC attach index (its GICR / CPU interface). */
    readonly index: number,
  ) {}

  /** Enable Group 1 interrupts at the distributor and the CPU interface, priority mask open. */
  init(): void {
    const d = this.gic.distributor;
    d.write(GICD_CTLR, 4, BigInt(Number(d.read(GICD_CTLR, 4)) | CTLR_ENABLE_GRP1_ARE));
    const iface = this.gic.cpuInterface(this.index);
    iface.write(NO_CPU, ICC.PMR_EL1, 0xffn);
    iface.write(NO_CPU, ICC.IGRPEN1_EL1, 1n);
  }

  /** Enable shared VIRQ `intid` as a Group 1 interrupt (edge-triggered if `edge`). */
  enable(intid: number, edge = false): void {
    const d = this.gic.distributor;
    const word = (intid >>> 5) * 4;
    const bit = 1n << BigInt(intid & 31);
    d.write(GICD_IGROUPR + word, 4, d.read(GICD_IGROUPR + word, 4) | bit);
    d.write(GICD_IPRIORITYR + intid, 1, BigInt(DEFAULT_PRIORITY));
    const cfg = GICD_ICFGR + (intid >>> 4) * 4;
    const shift = BigInt((intid & 15) * 2);
    const old = d.read(cfg, 4) & ~(3n << shift);
    d.write(cfg, 4, old | (edge ? BigInt(ICFGR_EDGE) << shift : 0n));
    d.write(GICD_ISENABLER + word, 4, bit);
  }

  /** Whether an interrupt is signalled to this vCPU. */
  pending(): boolean {
    return this.gic.outputLevels(this.index).irq;
  }

  /** ICC_IAR1_EL1: acknowledge the highest-priority pending interrupt (1023: none). */
  ack(): number {
    return Number(this.gic.cpuInterface(this.index).read(NO_CPU, ICC.IAR1_EL1)!);
  }

  /** ICC_EOIR1_EL1: end (and deactivate) interrupt `intid`. */
  eoi(intid: number): void {
    this.gic.cpuInterface(this.index).write(NO_CPU, ICC.EOIR1_EL1, BigInt(intid));
  }
}
