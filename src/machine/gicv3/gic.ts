// The GICv3 interrupt controller (Arm IHI 0069) as a Linux guest on QEMU `virt,gic-version=3` sees
// it: affinity routing always on (GICD_CTLR.ARE = 1, fixed), a single security state
// (GICD_CTLR.DS = 1, so Group 0 signals FIQ and Group 1 signals IRQ), no ITS and no LPIs.
// This object owns all interrupt state; the distributor and redistributor frames (MMIO) and the
// per-CPU system-register interface (ICC_*_EL1) are thin views that decode guest accesses into
// the methods below. The same model serves as the per-VM virtual GICv3 of the hypervisor.
//
// State per INTID (chapter 4, "Physical interrupt handling and prioritization"): enabled, pending,
// active, group, priority, edge/level configuration and the input line. Pending is held as a
// *latch* (set by an edge, by ISPENDR/SETSPI or by an SGI, cleared by acknowledge or ICPENDR) and
// the *line*: a level-sensitive interrupt is pending while its line is high or its latch is set, so
// acknowledging it leaves it active-and-pending while the device still asserts it.
//
// Priorities have 5 implemented bits (values in steps of 8, ICC_CTLR_EL1.PRIbits = 4): 32 levels
// and 32 preemption levels, so the active-priority registers are ICC_AP0R0/AP1R0 only.
//
// Everything is deterministic and held in typed arrays; `save()`/`restore()` round-trip it as JSON.

import type { SysregHook } from '../../arch/aarch64/cpu.js';
import type { MmioDevice } from '../bus.js';
import { GicDistributor } from './distributor.js';
import { GicRedistributor, GicRedistributorRegion } from './redistributor.js';
import { GicCpuInterface } from './cpu-interface.js';
import { GICR_STRIDE, INTID_SPURIOUS, MAX_SPIS, SPI_BASE } from './regs.js';

/** Implemented priority bits: 5 (the low 3 bits of every priority field are RAZ/WI). */
export const PRIORITY_MASK = 0xf8;
/** Minimum binary point values for 5 priority bits: BPR0 2, BPR1 (Non-secure Group 1) 3. */
export const BPR0_MIN = 2;
export const BPR1_MIN = 3;
/** Internal running priority when no interrupt is active (reads back as 0xFF through ICC_RPR_EL1). */
const IDLE_PRIORITY = 0x100;

export interface Gicv3Options {
  /** Number of CPUs (redistributors and CPU interfaces), 1..256. */
  cpus: number;
  /**
   * Number of SPIs (INTIDs 32..), rounded up to a multiple of 32 and capped at 988 (INTID 1019).
   * Default 256 (GICD_TYPER.ITLinesNumber = 8: 288 INTIDs). QEMU 7.2 `virt` implements the same 288 INTIDs but reports ITLinesNumber 7.
   */
  spis?: number;
  /**
   * Affinity of each CPU, packed Aff3:Aff2:Aff1:Aff0 (8 bits each, as in GICR_TYPER[63:32]); must
   * match the CPU's MPIDR_EL1 (see `affinityFromMpidr`). Default: Aff0 = CPU index.
   */
  affinities?: readonly number[];
  /** GICD_IIDR and GICR_IIDR. Default 0x0000_043B (implementer Arm, product 0). */
  iidr?: number;
  /**
   * GICR_WAKER.ProcessorSleep at reset. Default true (hardware and QEMU: the OS must wake its
   * redistributor); the hypervisor's vGIC starts awake (false).
   */
  asleepAtReset?: boolean;
  /** Support 1-of-N SPI routing (GICD_IROUTER.IRM). Default false: GICD_TYPER.No1N = 1, IRM RAZ/WI. */
  oneOfN?: boolean;
  /**
   * Accept two CPUs with the same affinity. Default false (a board description error). Gunyah's
   * vgic_set_mpidr_mapping does not check that its mapping gives every vCPU a distinct MPIDR (a VM
   * so configured fails to boot, the hypervisor does not), so the vGIC must accept it: an SPI routed
   * to a shared affinity goes to the lowest such CPU, an SGI to all of them.
   */
  sharedAffinities?: boolean;
}

/** The interrupt outputs of one CPU interface. */
export type GicOutput = (irq: boolean, fiq: boolean) => void;

/**
 * Opt-in observer of the guest's handling of SPIs, for SPIs whose input is driven by hypervisor
 * VIRQ sources (hyp/virq.ts). Gunyah's vGIC re-evaluates a level source when the guest deactivates
 * its interrupt, and needs to know whether the source asserted again since the guest acknowledged
 * it (hypervisor-abi.md §7); these two calls give it exactly those moments. Unset on the bare board,
 * where nothing changes.
 */
export interface SpiObserver {
  /** The guest acknowledged SPI `intid` (ICC_IAR0/1_EL1): it is now active. */
  spiAcknowledged(intid: number): void;
  /**
   * SPI `intid` went from active to inactive (EOI with EOImode 0, ICC_DIR_EL1, GICD_ICACTIVER).
   * Called before the GIC re-signals, so the observer may still lower the line.
   */
  spiDeactivated(intid: number): void;
}

/** Interrupt state of 32-INTID words: bit i of word w is INTID 32w+i (SPIs) or private INTID i of CPU w. */
export class IntBank {
  readonly enabled: Uint32Array;
  readonly latch: Uint32Array;
  readonly active: Uint32Array;
  /** 1 = Group 1 (GICD_IGROUPR / GICR_IGROUPR0 bit set). */
  readonly group: Uint32Array;
  /** 1 = edge-triggered (ICFGR Int_config[1]). */
  readonly edge: Uint32Array;
  /** The input line, for level-sensitive interrupts. */
  readonly line: Uint32Array;
  /** Priority per INTID, index 32w+i. */
  readonly prio: Uint8Array;

  constructor(readonly words: number) {
    this.enabled = new Uint32Array(words);
    this.latch = new Uint32Array(words);
    this.active = new Uint32Array(words);
    this.group = new Uint32Array(words);
    this.edge = new Uint32Array(words);
    this.line = new Uint32Array(words);
    this.prio = new Uint8Array(words * 32);
  }

  /** The pending bits of word `w`: the latch, and the line of level-sensitive interrupts. */
  pending(w: number): number {
    return (this.latch[w]! | (this.line[w]! & ~this.edge[w]!)) >>> 0;
  }

  reset(edgeDefault: number): void {
    for (const a of [this.enabled, this.latch, this.active, this.group, this.line]) a.fill(0);
    this.edge.fill(edgeDefault);
    this.prio.fill(0);
  }

  save(): IntBankState {
    return {
      enabled: [...this.enabled],
      latch: [...this.latch],
      active: [...this.active],
      group: [...this.group],
      edge: [...this.edge],
      line: [...this.line],
      prio: [...this.prio],
    };
  }

  restore(s: IntBankState): void {
    const words = [s.enabled, s.latch, s.active, s.group, s.edge, s.line];
    if (words.some((a) => a.length !== this.words) || s.prio.length !== this.words * 32) {
      throw new Error(`GICv3 restore: interrupt bank size differs (${s.enabled.length} words, expected ${this.words})`);
    }
    this.enabled.set(s.enabled);
    this.latch.set(s.latch);
    this.active.set(s.active);
    this.group.set(s.group);
    this.edge.set(s.edge);
    this.line.set(s.line);
    this.prio.set(s.prio);
  }
}

export interface IntBankState {
  enabled: number[];
  latch: number[];
  active: number[];
  group: number[];
  edge: number[];
  line: number[];
  prio: number[];
}

export interface Gicv3State {
  cpus: number;
  spis: number;
  affinity: number[];
  dCtlr: number;
  priv: IntBankState;
  spi: IntBankState;
  route: number[];
  routeIrm: number[];
  sleep: number[];
  lastOverride: number[];
  pmr: number[];
  bpr0: number[];
  bpr1: number[];
  eoiMode: number[];
  cbpr: number[];
  igrpen0: number[];
  igrpen1: number[];
  ap0: number[];
  ap1: number[];
}

/** MPIDR_EL1 (Aff3 at bits 39:32, Aff2..Aff0 at 23:0) to the packed Aff3:Aff2:Aff1:Aff0 form. */
export function affinityFromMpidr(mpidr: bigint): number {
  return (Number((mpidr >> 32n) & 0xffn) * 0x1000000 + Number(mpidr & 0xffffffn)) >>> 0;
}

/** Which register writes generate SGIs, and which group of SGI they may set pending. */
export const enum SgiKind {
  /** ICC_SGI1R_EL1: with DS = 1, forwarded whatever the target's group for that SGI. */
  Sgi1 = 0,
  /** ICC_SGI0R_EL1, and ICC_ASGI1R_EL1 (no "other" group with DS = 1): Group 0 targets only. */
  Group0Only = 1,
}

export class Gicv3 {
  readonly cpus: number;
  readonly spis: number;
  /** One past the largest implemented INTID. */
  readonly intidLimit: number;
  readonly iidr: number;
  readonly oneOfN: boolean;
  private readonly asleepAtReset: boolean;

  /** @internal CPU affinities, packed Aff3:Aff2:Aff1:Aff0. */
  readonly affinity: Uint32Array;

  // ---- distributor ----
  /** @internal GICD_CTLR EnableGrp0 (bit 0) and EnableGrp1 (bit 1). */
  dCtlr = 0;
  /** @internal SGIs and PPIs: word c holds CPU c's INTIDs 0..31 (banked in its redistributor). */
  readonly priv: IntBank;
  /** @internal SPIs: word k holds INTIDs 32k..32k+31 (word 0 unused). */
  readonly spi: IntBank;
  /** @internal Implemented INTIDs per SPI word (register bits beyond are RAZ/WI). */
  readonly spiValid: Uint32Array;
  /** @internal GICD_IROUTER affinity per INTID, packed Aff3:Aff2:Aff1:Aff0. */
  readonly route: Uint32Array;
  /** @internal GICD_IROUTER.IRM per INTID. */
  readonly routeIrm: Uint8Array;
  /** CPU index that `route` names, or -1 if none: derived from `route`, recomputed on writes. */
  private readonly target: Int16Array;

  // ---- redistributors ----
  /** @internal GICR_WAKER.ProcessorSleep. */
  readonly sleep: Uint8Array;
  /** @internal GICR_TYPER.Last override: -1 = default (last CPU), 0/1 forced. */
  readonly lastOverride: Int8Array;

  // ---- CPU interfaces ----
  /** @internal */ readonly pmr: Uint8Array;
  /** @internal */ readonly bpr0: Uint8Array;
  /** @internal */ readonly bpr1: Uint8Array;
  /** @internal ICC_CTLR_EL1.EOImode. */ readonly eoiMode: Uint8Array;
  /** @internal ICC_CTLR_EL1.CBPR. */ readonly cbpr: Uint8Array;
  /** @internal */ readonly igrpen0: Uint8Array;
  /** @internal */ readonly igrpen1: Uint8Array;
  /** @internal ICC_AP0R0_EL1: bit n = an active Group 0 interrupt of group priority n << 3. */
  readonly ap0: Uint32Array;
  /** @internal ICC_AP1R0_EL1. */
  readonly ap1: Uint32Array;

  // ---- outputs ----
  private readonly outIrq: Uint8Array;
  private readonly outFiq: Uint8Array;
  private readonly outputs: (GicOutput | null)[];

  /** The distributor frame (GICD_SIZE = 64 KiB), at 0x0800_0000 on `virt`. */
  readonly distributor: MmioDevice;
  /** All redistributors, contiguous with stride GICR_STRIDE, at 0x080A_0000 on `virt`. */
  readonly redistributors: MmioDevice;
  private readonly rdFrames: GicRedistributor[];
  private readonly ifaces: GicCpuInterface[];

  /** Observer of SPI acknowledge/deactivation (the hypervisor's vGIC); null on the bare board. */
  spiObserver: SpiObserver | null = null;

  // Result of the last `select(c)`.
  private selId = INTID_SPURIOUS;
  private selPrio = IDLE_PRIORITY;
  private selGroup = 0;

  constructor(opts: Gicv3Options) {
    const n = opts.cpus;
    if (!Number.isInteger(n) || n < 1 || n > 256) throw new Error(`GICv3: ${n} CPUs is outside 1..256`);
    const spis = opts.spis ?? 256;
    if (!Number.isInteger(spis) || spis < 0) throw new Error(`GICv3: invalid SPI count ${spis}`);
    this.cpus = n;
    this.spis = Math.min(MAX_SPIS, Math.ceil(spis / 32) * 32);
    this.intidLimit = SPI_BASE + this.spis;
    this.iidr = (opts.iidr ?? 0x43b) >>> 0;
    this.oneOfN = opts.oneOfN ?? false;
    this.asleepAtReset = opts.asleepAtReset ?? true;

    this.affinity = new Uint32Array(n);
    for (let c = 0; c < n; c++) this.affinity[c] = opts.affinities?.[c] ?? c;
    if (opts.affinities !== undefined && opts.affinities.length !== n) {
      throw new Error(`GICv3: ${opts.affinities.length} affinities given for ${n} CPUs`);
    }
    if (!opts.sharedAffinities && new Set(this.affinity).size !== n) {
      throw new Error('GICv3: two CPUs have the same affinity');
    }

    const words = Math.ceil(this.intidLimit / 32);
    this.priv = new IntBank(n);
    this.spi = new IntBank(words);
    this.spiValid = new Uint32Array(words);
    for (let k = 1; k < words; k++) {
      const left = this.intidLimit - 32 * k;
      this.spiValid[k] = left >= 32 ? 0xffffffff : 2 ** left - 1;
    }
    this.route = new Uint32Array(words * 32);
    this.routeIrm = new Uint8Array(words * 32);
    this.target = new Int16Array(words * 32);

    this.sleep = new Uint8Array(n);
    this.lastOverride = new Int8Array(n).fill(-1);
    this.pmr = new Uint8Array(n);
    this.bpr0 = new Uint8Array(n);
    this.bpr1 = new Uint8Array(n);
    this.eoiMode = new Uint8Array(n);
    this.cbpr = new Uint8Array(n);
    this.igrpen0 = new Uint8Array(n);
    this.igrpen1 = new Uint8Array(n);
    this.ap0 = new Uint32Array(n);
    this.ap1 = new Uint32Array(n);
    this.outIrq = new Uint8Array(n);
    this.outFiq = new Uint8Array(n);
    this.outputs = new Array<GicOutput | null>(n).fill(null);

    this.distributor = new GicDistributor(this);
    this.rdFrames = Array.from({ length: n }, (_, c) => new GicRedistributor(this, c));
    this.redistributors = new GicRedistributorRegion(this.rdFrames);
    this.ifaces = Array.from({ length: n }, (_, c) => new GicCpuInterface(this, c));
    this.resetState();
  }

  // ---------------------------------------------------------------- wiring

  /** The system-register interface of CPU `c`: assign to that CPU's `sysregHook`. */
  cpuInterface(c: number): SysregHook {
    return this.ifaces[this.checkCpu(c)]!;
  }

  /** The redistributor of CPU `c` alone (one GICR_STRIDE window), for mapping at any address. */
  redistributor(c: number): MmioDevice {
    return this.rdFrames[this.checkCpu(c)]!;
  }

  /** Size of the `redistributors` region: cpus × GICR_STRIDE (offsets beyond it are RAZ/WI). */
  get redistributorRegionSize(): number {
    return this.cpus * GICR_STRIDE;
  }

  /**
   * Connect CPU `c`'s interrupt outputs. `out(irq, fiq)` is called now with the current levels and
   * then whenever either changes.
   */
  connect(c: number, out: GicOutput): void {
    this.outputs[this.checkCpu(c)] = out;
    out(this.outIrq[c] !== 0, this.outFiq[c] !== 0);
  }

  /** Current output levels of CPU `c`. */
  outputLevels(c: number): { irq: boolean; fiq: boolean } {
    return { irq: this.outIrq[c] !== 0, fiq: this.outFiq[c] !== 0 };
  }

  /** Force GICR_TYPER.Last of CPU `c`'s redistributor (null: Last on the last CPU only). */
  setRedistributorLast(c: number, last: boolean | null): void {
    this.lastOverride[this.checkCpu(c)] = last === null ? -1 : last ? 1 : 0;
  }

  /** Change CPU `c`'s affinity (packed Aff3:Aff2:Aff1:Aff0); SPI routes are re-evaluated. */
  setAffinity(c: number, affinity: number): void {
    this.affinity[this.checkCpu(c)] = affinity >>> 0;
    this.retarget();
    this.updateAll();
  }

  /** @internal GICR_TYPER.Last of CPU `c`. */
  isLast(c: number): boolean {
    const o = this.lastOverride[c]!;
    return o < 0 ? c === this.cpus - 1 : o === 1;
  }

  private checkCpu(c: number): number {
    if (!Number.isInteger(c) || c < 0 || c >= this.cpus) throw new RangeError(`GICv3: no CPU ${c}`);
    return c;
  }

  // ---------------------------------------------------------------- inputs

  /** Drive the input line of SPI `intid` (32..). An edge-triggered SPI latches pending on a rising edge. */
  setSpiLevel(intid: number, level: boolean): void {
    if (!(intid >= SPI_BASE && intid < this.intidLimit)) return;
    if (this.drive(this.spi, intid >>> 5, 1 << (intid & 31), level)) this.updateAll();
  }

  /** Drive the input line of PPI `intid` (16..31) of CPU `c` (timers: virtual 27, physical 30). */
  setPpiLevel(c: number, intid: number, level: boolean): void {
    if (!(intid >= 16 && intid < 32) || !(c >= 0 && c < this.cpus)) return;
    if (this.drive(this.priv, c, 1 << intid, level)) this.updateCpu(c);
  }

  /** Make SPI `intid` pending as an edge does (for a level-sensitive SPI: as GICD_ISPENDR does). */
  pulseSpi(intid: number): void {
    if (!(intid >= SPI_BASE && intid < this.intidLimit)) return;
    this.spi.latch[intid >>> 5] |= 1 << (intid & 31);
    this.updateAll();
  }

  /** Make private INTID `intid` (0..31) of CPU `c` pending, as an edge does. */
  pulsePrivate(c: number, intid: number): void {
    if (!(intid >= 0 && intid < 32) || !(c >= 0 && c < this.cpus)) return;
    this.priv.latch[c] |= 1 << intid;
    this.updateCpu(c);
  }

  /** Whether SPI `intid` is configured edge-triggered (GICD_ICFGR Int_config[1]); false if not implemented. */
  isSpiEdge(intid: number): boolean {
    if (!(intid >= SPI_BASE && intid < this.intidLimit)) return false;
    return ((this.spi.edge[intid >>> 5]! >>> (intid & 31)) & 1) !== 0;
  }

  /** The input line of SPI `intid`, as last driven by `setSpiLevel`. */
  spiLine(intid: number): boolean {
    if (!(intid >= SPI_BASE && intid < this.intidLimit)) return false;
    return ((this.spi.line[intid >>> 5]! >>> (intid & 31)) & 1) !== 0;
  }

  /** Whether SPI `intid` is pending, as GICD_ISPENDR reads it. */
  isSpiPending(intid: number): boolean {
    if (!(intid >= SPI_BASE && intid < this.intidLimit)) return false;
    return ((this.spi.pending(intid >>> 5) >>> (intid & 31)) & 1) !== 0;
  }

  /** Whether SPI `intid` is active, as GICD_ISACTIVER reads it. */
  isSpiActive(intid: number): boolean {
    if (!(intid >= SPI_BASE && intid < this.intidLimit)) return false;
    return ((this.spi.active[intid >>> 5]! >>> (intid & 31)) & 1) !== 0;
  }

  /** Returns whether the pending state may have changed. */
  private drive(b: IntBank, w: number, bit: number, level: boolean): boolean {
    const was = (b.line[w]! & bit) !== 0;
    if (was === level) return false;
    if (level) {
      b.line[w] |= bit;
      if ((b.edge[w]! & bit) !== 0) b.latch[w] |= bit;
    } else {
      b.line[w] &= ~bit;
    }
    return true;
  }

  // ---------------------------------------------------------------- selection and signalling

  /**
   * The highest-priority pending interrupt for CPU `c` (chapter 4): enabled, pending, not active,
   * its group enabled in GICD_CTLR and in ICC_IGRPENn_EL1, routed to `c`. Lowest priority value
   * wins; ties go to the lowest INTID (the scan runs upwards and only a strictly better one replaces).
   * Leaves INTID 1023 when there is none.
   */
  private select(c: number): void {
    let best = INTID_SPURIOUS;
    let bp = IDLE_PRIORITY;
    let bg = 0;
    const en0 = (this.dCtlr & 1) !== 0 && this.igrpen0[c] !== 0;
    const en1 = (this.dCtlr & 2) !== 0 && this.igrpen1[c] !== 0;
    if (en0 || en1) {
      const p = this.priv;
      let m = this.candidates(p, c, en0, en1);
      while (m !== 0) {
        const i = 31 - Math.clz32(m & -m);
        m &= m - 1;
        const pr = p.prio[c * 32 + i]!;
        if (pr < bp) {
          bp = pr;
          best = i;
          bg = (p.group[c]! >>> i) & 1;
        }
      }
      const s = this.spi;
      const enabled = s.enabled;
      for (let k = 1; k < s.words; k++) {
        // Most words have nothing enabled (a guest enables a few SPIs): skip them cheaply.
        if (enabled[k] === 0) continue;
        m = this.candidates(s, k, en0, en1) & this.spiValid[k]!;
        while (m !== 0) {
          const i = 31 - Math.clz32(m & -m);
          m &= m - 1;
          const id = k * 32 + i;
          const pr = s.prio[id]!;
          if (pr >= bp) continue;
          const g = (s.group[k]! >>> i) & 1;
          const t = this.routeIrm[id] !== 0 ? this.oneOfNTarget(g) : this.target[id]!;
          if (t !== c) continue;
          bp = pr;
          best = id;
          bg = g;
        }
      }
    }
    this.selId = best;
    this.selPrio = bp;
    this.selGroup = bg;
  }

  private candidates(b: IntBank, w: number, en0: boolean, en1: boolean): number {
    const g = b.group[w]!;
    const gm = (en1 ? g : 0) | (en0 ? ~g : 0);
    return b.enabled[w]! & b.pending(w) & ~b.active[w]! & gm;
  }

  /** 1-of-N: the lowest-numbered CPU with the interrupt's group enabled in its CPU interface. */
  private oneOfNTarget(group: number): number {
    const en = group ? this.igrpen1 : this.igrpen0;
    for (let c = 0; c < this.cpus; c++) if (en[c] !== 0) return c;
    return -1;
  }

  /** Whether the last selection has sufficient priority to be signalled: below PMR and preempting. */
  private selectionSignalled(c: number): boolean {
    if (this.selId === INTID_SPURIOUS) return false;
    if (this.selPrio >= this.pmr[c]!) return false;
    return (this.selPrio & this.groupPriorityMask(c, this.selGroup)) < this.runningPriority(c);
  }

  /**
   * Group-priority mask for preemption (chapter 4, priority grouping): BPR0 gives group priority
   * bits [7:BPR0+1]; Non-secure Group 1's BPR1 gives bits [7:BPR1]; with ICC_CTLR_EL1.CBPR set,
   * Group 1 uses BPR0.
   */
  groupPriorityMask(c: number, group: number): number {
    if (group === 0 || this.cbpr[c] !== 0) return (0xff << (this.bpr0[c]! + 1)) & 0xff;
    return (0xff << this.bpr1[c]!) & 0xff;
  }

  /** Running priority: the group priority of the highest active priority, IDLE_PRIORITY if none. */
  runningPriority(c: number): number {
    const ap = (this.ap0[c]! | this.ap1[c]!) >>> 0;
    if (ap === 0) return IDLE_PRIORITY;
    return (31 - Math.clz32(ap & -ap)) << 3;
  }

  /** @internal Recompute CPU `c`'s outputs and report a change. */
  updateCpu(c: number): void {
    this.select(c);
    const sig = this.selectionSignalled(c);
    const irq = sig && this.selGroup === 1 ? 1 : 0;
    const fiq = sig && this.selGroup === 0 ? 1 : 0;
    if (irq !== this.outIrq[c] || fiq !== this.outFiq[c]) {
      this.outIrq[c] = irq;
      this.outFiq[c] = fiq;
      this.outputs[c]?.(irq === 1, fiq === 1);
    }
  }

  /** @internal */
  updateAll(): void {
    for (let c = 0; c < this.cpus; c++) this.updateCpu(c);
  }

  /** @internal Recompute the CPU each GICD_IROUTER names. */
  retarget(): void {
    for (let id = SPI_BASE; id < this.intidLimit; id++) this.retargetOne(id);
  }

  /** @internal */
  retargetOne(id: number): void {
    const a = this.route[id]!;
    this.target[id] = this.affinity.indexOf(a);
  }

  // ---------------------------------------------------------------- CPU interface operations

  /** @internal ICC_IAR0/1_EL1: acknowledge the signalled interrupt of `group`, or return 1023. */
  acknowledge(c: number, group: number): number {
    this.select(c);
    if (!this.selectionSignalled(c) || this.selGroup !== group) return INTID_SPURIOUS;
    const id = this.selId;
    const bit = 1 << (id & 31);
    const b = id < SPI_BASE ? this.priv : this.spi;
    const w = id < SPI_BASE ? c : id >>> 5;
    b.active[w] |= bit;
    // Edge: the pending state ends here. Level: only the latch clears; the line keeps it pending.
    b.latch[w] &= ~bit;
    const gp = this.selPrio & this.groupPriorityMask(c, group);
    (group ? this.ap1 : this.ap0)[c] |= 1 << (gp >>> 3);
    if (id >= SPI_BASE && this.spiObserver !== null) this.spiObserver.spiAcknowledged(id);
    if (id < SPI_BASE) this.updateCpu(c);
    else this.updateAll();
    return id;
  }

  /** @internal ICC_HPPIR0/1_EL1: the highest-priority pending interrupt if it belongs to `group`. */
  highestPending(c: number, group: number): number {
    this.select(c);
    return this.selId !== INTID_SPURIOUS && this.selGroup === group ? this.selId : INTID_SPURIOUS;
  }

  /**
   * @internal ICC_EOIR0/1_EL1: priority drop of the highest active priority, and with EOImode 0 also
   * deactivation of `id`. Special INTIDs (1020..1023) are ignored, and so is a write while no
   * priority is active.
   */
  endOfInterrupt(c: number, group: number, id: number): void {
    if (id >= 1020) return;
    const ap = (this.ap0[c]! | this.ap1[c]!) >>> 0;
    if (ap === 0) return;
    const top = ap & -ap;
    const own = group ? this.ap1 : this.ap0;
    const other = group ? this.ap0 : this.ap1;
    if ((own[c]! & top) !== 0) own[c] &= ~top;
    else other[c] &= ~top;
    if (this.eoiMode[c] === 0) this.deactivateOnly(c, id);
    if (id < SPI_BASE) this.updateCpu(c);
    else this.updateAll();
  }

  /** @internal ICC_DIR_EL1: deactivate `id` (meaningful with EOImode 1). */
  deactivate(c: number, id: number): void {
    if (id >= 1020) return;
    this.deactivateOnly(c, id);
    if (id < SPI_BASE) this.updateCpu(c);
    else this.updateAll();
  }

  private deactivateOnly(c: number, id: number): void {
    if (id < SPI_BASE) this.priv.active[c] &= ~(1 << id);
    else if (id < this.intidLimit) {
      const w = id >>> 5;
      const bit = 1 << (id & 31);
      const was = this.spi.active[w]! & bit;
      this.spi.active[w] &= ~bit;
      if (was !== 0 && this.spiObserver !== null) this.spiObserver.spiDeactivated(id);
    }
  }

  /** @internal GICD_ICACTIVER cleared these bits of SPI word `w`: tell the observer, lowest INTID first. */
  spisDeactivated(w: number, bits: number): void {
    const o = this.spiObserver;
    if (o === null) return;
    let m = bits >>> 0;
    while (m !== 0) {
      const i = 31 - Math.clz32(m & -m);
      m &= m - 1;
      o.spiDeactivated(w * 32 + i);
    }
  }

  /**
   * @internal ICC_SGI0R/SGI1R/ASGI1R_EL1 write from CPU `src`: INTID [27:24], TargetList [15:0],
   * Aff1 [23:16], Aff2 [39:32], IRM [40], RS [47:44], Aff3 [55:48]. IRM = 1 targets every CPU but
   * `src`; otherwise the CPUs with that Aff3.Aff2.Aff1 and Aff0 = RS*16 + n for each TargetList bit n.
   */
  generateSgi(src: number, value: bigint, kind: SgiKind): void {
    const lo = Number(value & 0xffffffffn);
    const hi = Number((value >> 32n) & 0xffffffffn);
    const intid = (lo >>> 24) & 0xf;
    const targets = lo & 0xffff;
    const irm = (hi >>> 8) & 1;
    const rs = (hi >>> 12) & 0xf;
    const upper = (((hi >>> 16) & 0xff) * 0x10000 + (hi & 0xff) * 0x100 + ((lo >>> 16) & 0xff)) >>> 0;
    const bit = 1 << intid;
    for (let t = 0; t < this.cpus; t++) {
      if (irm) {
        if (t === src) continue;
      } else {
        const a = this.affinity[t]!;
        if (a >>> 8 !== upper) continue;
        const n = (a & 0xff) - rs * 16;
        if (n < 0 || n > 15 || ((targets >>> n) & 1) === 0) continue;
      }
      if (kind === SgiKind.Group0Only && (this.priv.group[t]! & bit) !== 0) continue;
      this.priv.latch[t] |= bit;
      this.updateCpu(t);
    }
  }

  // ---------------------------------------------------------------- reset and snapshots

  /** Return every register to its reset value; outputs are reported if they change. */
  reset(): void {
    this.resetState();
    this.updateAll();
  }

  private resetState(): void {
    this.dCtlr = 0;
    this.priv.reset(0x0000ffff); // SGIs are always edge-triggered; PPIs reset level-sensitive
    this.spi.reset(0);
    this.route.fill(0);
    this.routeIrm.fill(0);
    this.retarget();
    this.sleep.fill(this.asleepAtReset ? 1 : 0);
    this.pmr.fill(0);
    this.bpr0.fill(BPR0_MIN);
    this.bpr1.fill(BPR1_MIN);
    this.eoiMode.fill(0);
    this.cbpr.fill(0);
    this.igrpen0.fill(0);
    this.igrpen1.fill(0);
    this.ap0.fill(0);
    this.ap1.fill(0);
  }

  save(): Gicv3State {
    return {
      cpus: this.cpus,
      spis: this.spis,
      affinity: [...this.affinity],
      dCtlr: this.dCtlr,
      priv: this.priv.save(),
      spi: this.spi.save(),
      route: [...this.route],
      routeIrm: [...this.routeIrm],
      sleep: [...this.sleep],
      lastOverride: [...this.lastOverride],
      pmr: [...this.pmr],
      bpr0: [...this.bpr0],
      bpr1: [...this.bpr1],
      eoiMode: [...this.eoiMode],
      cbpr: [...this.cbpr],
      igrpen0: [...this.igrpen0],
      igrpen1: [...this.igrpen1],
      ap0: [...this.ap0],
      ap1: [...this.ap1],
    };
  }

  /** Restore a state saved from a GIC of the same shape; every connected output is re-reported. */
  restore(s: Gicv3State): void {
    if (s.cpus !== this.cpus || s.spis !== this.spis) {
      throw new Error(
        `GICv3 restore: state is for ${s.cpus} CPUs/${s.spis} SPIs, this GIC has ${this.cpus}/${this.spis}`,
      );
    }
    this.affinity.set(s.affinity);
    this.dCtlr = s.dCtlr & 3;
    this.priv.restore(s.priv);
    this.spi.restore(s.spi);
    this.route.set(s.route);
    this.routeIrm.set(s.routeIrm);
    this.retarget();
    this.sleep.set(s.sleep);
    this.lastOverride.set(s.lastOverride);
    this.pmr.set(s.pmr);
    this.bpr0.set(s.bpr0);
    this.bpr1.set(s.bpr1);
    this.eoiMode.set(s.eoiMode);
    this.cbpr.set(s.cbpr);
    this.igrpen0.set(s.igrpen0);
    this.igrpen1.set(s.igrpen1);
    this.ap0.set(s.ap0);
    this.ap1.set(s.ap1);
    for (let c = 0; c < this.cpus; c++) {
      this.select(c);
      const sig = this.selectionSignalled(c);
      this.outIrq[c] = sig && this.selGroup === 1 ? 1 : 0;
      this.outFiq[c] = sig && this.selGroup === 0 ? 1 : 0;
      this.outputs[c]?.(this.outIrq[c] === 1, this.outFiq[c] === 1);
    }
  }
}
