// One AArch64 processing element: EL0 and EL1 in AArch64 state, with EL2 supplied from outside
// through the `El2` interface (the hypervisor, or the bare board's firmware stub). The CPU knows
// nothing of Gunyah or of the board: it sees physical memory through `PhysBus` and raises traps.
//
// Register file: one ArrayBuffer seen as BigUint64Array (`x`) and as Uint32Array/Int32Array
// (`w`/`wi`, low half at 2n, high half at 2n+1). Execute functions compute in BigInt on the
// slots (`x[d] = x[n] + x[m]`, which V8 lowers to int64 and which wraps on store) and read the
// halves as Numbers for addresses and flags (reference/platform-notes.md §6).
// Slot 31 is the current stack pointer, slot 32 reads as zero (XZR), slot 33 swallows writes to XZR.
//
// Addresses are Numbers holding the signed 64-bit value (kernel VAs 0xffff8000_xxxxxxxx are small
// negative numbers), exact for every canonical VA. See `va()`.

import { Decoder } from './decode/decoder.js';
import type { Exec } from './decode/table.js';
import { ALL_GROUPS, BLOCK_END_GROUPS, FP_GROUP } from './decode/all.js';
import { SysRegs, sysregName } from './sysreg.js';
import { mmuWalk, type WalkResult } from './mmu.js';
import { EC, dataAbortIsv, describeEsr } from './esr.js';

export const SP = 31;
export const ZR = 32;
export const SINK = 33;

/** Thrown (a single preallocated object, no stack capture) when an instruction took an exception. */
export const EXCEPTION_TAKEN: { readonly taken: true } = Object.freeze({ taken: true });

/** The physical address space as the CPU sees it: one RAM window and MMIO behind callbacks. */
export interface PhysBus {
  readonly ramBase: number;
  readonly ram: Uint8Array;
  /** Returns the value read, or null when nothing answers at `pa` (external abort). */
  mmioRead(pa: number, size: number): bigint | null;
  /** Returns false when nothing answers at `pa` (external abort). */
  mmioWrite(pa: number, size: number, value: bigint): boolean;
}

/**
 * EL2 (and EL3 firmware) as seen from EL1: implemented outside the CPU, in TypeScript.
 * On entry the CPU state is that of the instruction boundary; `preferredReturn` is where EL1
 * resumes if the handler does not change `cpu.pc` (the next instruction for HVC/SMC, the
 * trapped instruction for other traps).
 */
export interface El2 {
  /** A synchronous exception routed to EL2 or EL3, with an ESR_EL2-style syndrome. */
  trap(cpu: Cpu, esr: number, far: number, ipa: number): void;
  /** Whether WFI/WFE are trapped (HCR_EL2.TWI/TWE). */
  readonly trapWfi: boolean;
  /**
   * Whether an EL1 MRS (`read`) or MSR of the system register `key` (see `sysregKey`) traps to EL2
   * (HCR_EL2.TVM/TRVM, TID*, TACR...). Absent: nothing traps.
   */
  readonly trapSysreg?: (cpu: Cpu, key: number, read: boolean) => boolean;
  /**
   * Stage-2 translation of the page at `ipaPage` (page-aligned) for an access to virtual address
   * `va`: returns the PA of the page. On a stage-2 fault the hook calls `cpu.stage2Fault`, which
   * reports to `trap` and does not return.
   */
  readonly stage2: ((cpu: Cpu, ipaPage: number, access: Access, va: number) => number) | null;
}

/**
 * System registers implemented outside the CPU (the GIC CPU interface's ICC_* registers, which
 * belong to the interrupt controller): consulted for encodings the CPU's own table lacks.
 * `key` is op0:op1:CRn:CRm:op2 as in `sysregKey`. Return null / false for "not mine" (the access
 * is then UNDEFINED).
 */
export interface SysregHook {
  read(cpu: Cpu, key: number): bigint | null;
  write(cpu: Cpu, key: number, value: bigint): boolean;
}

export const enum Access {
  Read = 1,
  Write = 2,
  Fetch = 4,
}

/** Why `Cpu.run` returned. */
export const enum Stop {
  Budget = 0,
  Wfi = 1,
  Halt = 2,
  /** `leave()` was called: the owner stops running this CPU (e.g. its vCPU powered off). */
  Left = 3,
}

// TLB permission bits: bits 0..2 are the fast-path rights (RAM pages only, and no write on pages
// that hold decoded code); bits 4..6 are the rights the walk granted, which `translate` honours.
const PERM_R = 1;
const PERM_W = 2;
const PERM_X = 4;
const WALK_SHIFT = 4;
const TLB_SIZE = 256;
const TLB_SETS = 2; // mmu index: 0 = EL0 (and unprivileged accesses), 1 = EL1
const NO_PAGE = 1; // never a page-aligned value, so it never matches a VA page

const TWO32 = 4294967296;

/** A decoded basic block (see `runInner`). */
interface Block {
  /** RAM offset of the first instruction; -1 for the empty slot. */
  readonly ro: number;
  /** The page generation it was decoded in; a store over the page's code bumps it. */
  readonly gen: number;
  readonly n: number;
  readonly fns: readonly Exec[];
  readonly words: Int32Array;
  /** Times interpreted; at HOT_BLOCK the block is compiled. */
  count: number;
  /** The compiled block: the same execute functions called in a straight line. */
  run: ((cpu: Cpu) => void) | null;
  /** The VA the block was compiled at (its compiled form loops only back to this address). */
  va: number;
}
const BLOCK_MASK = (1 << 14) - 1;
const MAX_BLOCK = 64;
const HOT_BLOCK = 16;
const NO_BLOCK: Block = { ro: -1, gen: 0, n: 0, fns: [], words: new Int32Array(0), count: 0, run: null, va: 0 };

/**
 * Compile a hot block into one function that calls its execute functions one after the other with
 * the instruction words as literals. Each call site then sees a single target, so V8 inlines the
 * small execute functions and folds their field extraction on the constant word: the speed of
 * specialised code with none of it written by hand. A block that branches back to its own start
 * (a loop) keeps iterating inside the function while the instruction budget allows.
 * Semantics are exactly the interpreter's: the same functions in the same order; `k` counts the
 * instructions retired in the current pass, for an exception mid-block.
 */
function compileBlock(b: Block, va: number): (cpu: Cpu) => void {
  b.va = va;
  const params: string[] = [];
  const lines: string[] = [];
  for (let k = 0; k < b.n; k++) {
    params.push(`f${k}`);
    lines.push(`f${k}(cpu, ${b.words[k]}); k = ${k + 1};`);
  }
  const body = `return function block(cpu) {
  let k = 0;
  try {
    for (;;) {
      ${lines.join('\n      ')}
      cpu.icount += ${b.n};
      k = 0;
      if (cpu.pc !== ${va} || cpu.icount + ${b.n} > cpu.stopAt) return;
    }
  } catch (e) {
    cpu.icount += k;
    throw e;
  }
};`;
  const factory = new Function(...params, body) as (...fns: Exec[]) => (cpu: Cpu) => void;
  return factory(...b.fns);
}

const decoder = new Decoder(ALL_GROUPS, FP_GROUP);

export class Cpu {
  // ---- general-purpose registers ----
  readonly regBuf = new ArrayBuffer(8 * 34);
  readonly x = new BigUint64Array(this.regBuf);
  readonly w = new Uint32Array(this.regBuf);
  readonly wi = new Int32Array(this.regBuf);
  /** Program counter as a signed Number (see `va`). */
  pc = 0;

  // ---- FP/AdvSIMD registers: V0..V31 as 128-bit, lo 64 at 2n, hi 64 at 2n+1 ----
  readonly vBuf = new ArrayBuffer(16 * 32);
  readonly v = new BigUint64Array(this.vBuf);
  readonly v32 = new Uint32Array(this.vBuf);
  readonly vf32 = new Float32Array(this.vBuf);
  readonly vf64 = new Float64Array(this.vBuf);
  readonly v8 = new Uint8Array(this.vBuf);
  readonly v16 = new Uint16Array(this.vBuf);
  fpcr = 0;
  fpsr = 0;
  /**
   * Whether SIMD&FP instructions trap at the current EL (CPACR_EL1.FPEN). Applied when decoding,
   * so execute functions never check it: a change flushes the decode cache.
   */
  private fpTrap = false;

  // ---- PSTATE ----
  nf = 0;
  zf = 0;
  cf = 0;
  vf = 0;
  /** D, A, I, F as bits 9..6, the same place as in SPSR and DAIF. */
  daif = 0x3c0;
  el = 1;
  spsel = 1;
  pan = 0;
  uao = 0;
  ss = 0;
  il = 0;
  /** Banked stack pointers: [SP_EL0, SP_EL1]. The live one is in x[31]. */
  readonly spBank = new BigUint64Array(2);

  readonly sys = new SysRegs();
  readonly bus: PhysBus;
  el2: El2 | null = null;
  /** ICC_* and other externally implemented system registers. */
  sysregHook: SysregHook | null = null;

  // ---- time ----
  /** Instructions retired (and WFI time skipped) since reset: the virtual clock. */
  icount = 0;
  /** The inner loop stops when icount reaches this; anything that needs attention lowers it. */
  stopAt = 0;
  /** Generic counter ticks per instruction is 1/16: 1 instruction = 1 ns, counter 62.5 MHz. */
  static readonly INSNS_PER_TICK = 16;

  // ---- interrupts in ----
  irqLine = false;
  fiqLine = false;
  serrorPending = false;
  /** Called when a timer output changes level (the interrupt controller listens). */
  onTimer: ((which: 'virt' | 'phys', level: boolean) => void) | null = null;
  private timerLevels = [false, false];

  /** Set by a guest action that ends the run (PSCI SYSTEM_OFF handled outside, for example). */
  halted = false;
  haltReason = '';
  /** When the guest is stuck taking exceptions without retiring an instruction: what the first one was. */
  faultMessage = '';
  private lastExcIcount = -1;
  private excRepeats = 0;
  private firstExc = { esr: 0, ret: 0, far: 0n };

  // ---- memory ----
  private readonly ram8: Uint8Array;
  private readonly ram32: Uint32Array;
  private readonly ram16: Uint16Array;
  private readonly ramDv: DataView;
  private readonly ramBase: number;
  private readonly ramSize: number;
  private readonly tlbTag = new Float64Array(TLB_SIZE * TLB_SETS).fill(NO_PAGE);
  private readonly tlbOff = new Float64Array(TLB_SIZE * TLB_SETS);
  private readonly tlbPa = new Float64Array(TLB_SIZE * TLB_SETS);
  private readonly tlbPerm = new Uint8Array(TLB_SIZE * TLB_SETS);
  /** Base index of the TLB set for the current EL. */
  private tlbSet = TLB_SIZE;
  /**
   * Set by a stage-2 hook during `translate`: the rights (Access bits) the stage-2 entry grants,
   * which the TLB entry keeps alongside stage 1's. Reset to all (7) before each hook call.
   */
  s2Allowed = 7;
  /** Instruction fetch cache: the current code page. */
  private fetchVpn = NO_PAGE;
  private fetchOff = 0;
  /** Exclusive monitor (physical address, size), -1 when open. */
  exclPa = -1;
  exclSize = 0;

  // ---- block cache, keyed by RAM offset; code-page tracking for self-modifying code ----
  private readonly blocks: Block[] = new Array<Block>(BLOCK_MASK + 1).fill(NO_BLOCK);
  private readonly pageGen: Int32Array;
  private readonly codeLo: Uint16Array;
  private readonly codeHi: Uint16Array;

  // ---- decode cache, keyed by instruction word ----
  private readonly dcKey = new Int32Array(1 << 16);
  private readonly dcFn: Exec[];

  constructor(bus: PhysBus) {
    this.bus = bus;
    this.ramBase = bus.ramBase;
    const r = bus.ram;
    if (r.byteOffset % 8 !== 0 || r.byteLength % 8 !== 0) throw new Error('RAM must be 8-byte aligned');
    this.ram8 = r;
    this.ramSize = r.byteLength;
    this.ram32 = new Uint32Array(r.buffer, r.byteOffset, r.byteLength >>> 2);
    this.ram16 = new Uint16Array(r.buffer, r.byteOffset, r.byteLength >>> 1);
    this.ramDv = new DataView(r.buffer, r.byteOffset, r.byteLength);
    const pages = Math.ceil(r.byteLength / 4096);
    this.pageGen = new Int32Array(pages);
    this.codeLo = new Uint16Array(pages).fill(4096);
    this.codeHi = new Uint16Array(pages);
    this.dcFn = new Array<Exec>(1 << 16).fill(undefinedInsn);
    this.sys.onCpacrChange = () => this.updateFpTrap();
    this.reset(0);
  }

  /** Cold reset into EL1h with interrupts masked and the MMU off. */
  reset(entry: number): void {
    this.x.fill(0n);
    this.v.fill(0n);
    this.spBank.fill(0n);
    this.nf = this.zf = this.cf = this.vf = 0;
    this.daif = 0x3c0;
    this.el = 1;
    this.spsel = 1;
    this.pan = this.uao = this.ss = this.il = 0;
    this.fpcr = this.fpsr = 0;
    this.sys.reset();
    this.updateFpTrap();
    this.updateSpAlignCheck();
    this.pc = entry;
    this.halted = false;
    this.leaving = false;
    this.exclPa = -1;
    this.tlbFlushAll();
    this.flushCode();
  }

  // ======================================================================================
  // The run loop
  // ======================================================================================

  /** Run until `icount` reaches `until`, the CPU waits for an interrupt, or it halts. */
  run(until: number): Stop {
    while (!this.halted && this.icount < until) {
      this.updateTimers();
      if (this.checkInterrupts()) continue;
      this.stopAt = Math.min(until, this.nextTimerEvent());
      try {
        this.runInner();
      } catch (e) {
        if (e !== EXCEPTION_TAKEN) throw e;
      }
      if (this.waiting) {
        this.waiting = false;
        this.updateTimers();
        return Stop.Wfi;
      }
      if (this.leaving) {
        this.leaving = false;
        return Stop.Left;
      }
    }
    return this.halted ? Stop.Halt : Stop.Budget;
  }

  /** Compile hot blocks (on by default; off gives the plain interpreter, for cross-checking). */
  compileBlocks = true;

  /** Set by WFI/WFE when the CPU should wait; `run` returns Stop.Wfi. */
  waiting = false;
  /** The event register of WFE/SEV. */
  eventReg = false;

  /**
   * The interpreter loop, by basic block. A block is a run of instructions in one 4 KiB page that
   * ends at the first branch or system instruction (anything that may change the PC, the
   * translation regime, PSTATE or time), decoded once into execute functions and kept in a
   * direct-mapped cache keyed by RAM offset. Between blocks the loop looks at `stopAt`; within a
   * block it never stops, except to honour an exact instruction budget (`step`).
   */
  private runInner(): void {
    const blocks = this.blocks;
    while (this.icount < this.stopAt) {
      const pc = this.pc;
      const po = pc & 0xfff;
      const ro = pc - po === this.fetchVpn && (po & 3) === 0 ? this.fetchOff + po : this.fetchSlow(pc);
      const slot = (ro >>> 2) & BLOCK_MASK;
      let b = blocks[slot]!;
      if (b.ro !== ro || b.gen !== this.pageGen[ro >>> 12]) b = this.buildBlock(ro, slot);
      const left = this.stopAt - this.icount;
      if (b.run !== null && left >= b.n && b.va === pc) {
        b.run(this);
        continue;
      }
      const fns = b.fns;
      const words = b.words;
      let n = b.n;
      if (left < n) n = left;
      let k = 0;
      try {
        for (; k < n; k++) fns[k]!(this, words[k]!);
      } catch (e) {
        this.icount += k;
        throw e;
      }
      this.icount += n;
      if (++b.count === HOT_BLOCK && this.compileBlocks) b.run = compileBlock(b, pc);
    }
  }

  private buildBlock(ro: number, slot: number): Block {
    const page = ro >>> 12;
    const end = (page + 1) * 4096; // not `<< 12`: RAM offsets reach 2^31 and beyond
    const fns: Exec[] = [];
    const words: number[] = [];
    const dcKey = this.dcKey;
    const dcFn = this.dcFn;
    for (let o = ro; o < end && fns.length < MAX_BLOCK; o += 4) {
      const insn = this.ram32[o >>> 2]! | 0;
      const h = Math.imul(insn, 0x9e3779b1) >>> 16;
      let fn: Exec;
      if (dcKey[h] === insn) {
        fn = dcFn[h]!;
      } else {
        fn = this.decodeExec(insn);
        dcKey[h] = insn;
        dcFn[h] = fn;
      }
      fns.push(fn);
      words.push(insn);
      if (blockEnders.has(fn)) break;
    }
    this.markCode(page, ro & 0xfff, (ro & 0xfff) + 4 * fns.length);
    const b: Block = {
      ro,
      gen: this.pageGen[page]!,
      n: fns.length,
      fns,
      words: Int32Array.from(words),
      count: 0,
      run: null,
      va: NaN,
    };
    this.blocks[slot] = b;
    return b;
  }

  /**
   * Record that [lo, hi) of RAM page `page` holds decoded code. A page with code loses its
   * fast-path write permission in the TLB, so every store to it goes through `writeSlow`, which
   * invalidates the page's blocks when the store overlaps the code (self-modifying code, loaders).
   */
  private markCode(page: number, lo: number, hi: number): void {
    if (this.codeHi[page] === 0) {
      for (let i = 0; i < this.tlbTag.length; i++) {
        if (this.tlbOff[i] === page * 4096) this.tlbPerm[i]! &= ~PERM_W;
      }
    }
    if (this.codeHi[page]! < hi) this.codeHi[page] = hi;
    if (this.codeLo[page]! > lo) this.codeLo[page] = lo;
  }

  /**
   * Forget every decoded block. Whoever writes guest RAM behind the CPU's back (a loader, a test,
   * a hypervisor copying into guest memory) calls this, or `codeWritten` for a range.
   */
  flushCode(): void {
    this.blocks.fill(NO_BLOCK);
    this.pageGen.fill(0);
    this.codeLo.fill(4096);
    this.codeHi.fill(0);
  }

  /** RAM bytes [ro, ro+len) were written from outside the CPU. */
  codeWritten(ro: number, len: number): void {
    for (let o = ro - (ro & 0xfff); o < ro + len; o += 4096) {
      if (this.codeHi[o >>> 12] !== 0) this.codeWrite(Math.max(o, ro), Math.min(o + 4096, ro + len) - Math.max(o, ro));
    }
  }

  /** A store to [ro, ro+size) of a code page: drop the page's blocks if it touches their code. */
  private codeWrite(ro: number, size: number): void {
    const page = ro >>> 12;
    const o = ro & 0xfff;
    if (o < this.codeHi[page]! && o + size > this.codeLo[page]!) {
      this.pageGen[page]!++;
      this.codeLo[page] = 4096;
      this.codeHi[page] = 0;
    }
  }

  /** Execute exactly one instruction (or take one pending interrupt). For tests and single-stepping. */
  step(): void {
    if (this.checkInterrupts()) return;
    this.stopAt = this.icount + 1;
    try {
      this.runInner();
    } catch (e) {
      if (e !== EXCEPTION_TAKEN) throw e;
    }
    this.updateTimers();
    this.waiting = false;
  }

  /** Ask the inner loop to return to `run` at the next instruction boundary. */
  requestExit(): void {
    this.stopAt = 0;
  }

  /** Set by `leave`: `run` returns Stop.Left at the next instruction boundary. */
  private leaving = false;

  /** Make `run` return (Stop.Left) at the next instruction boundary, whatever the budget. */
  leave(): void {
    this.leaving = true;
    this.stopAt = 0;
  }

  // ======================================================================================
  // Interrupts and the generic timer
  // ======================================================================================

  /** Take a pending unmasked asynchronous exception. Returns true if one was taken. */
  checkInterrupts(): boolean {
    if (this.serrorPending && (this.el === 0 || (this.daif & 0x100) === 0)) {
      this.serrorPending = false;
      this.takeAsync(0x180, (EC.SERROR << 26) | (1 << 25));
      return true;
    }
    if (this.fiqLine && (this.el === 0 || (this.daif & 0x40) === 0)) {
      this.takeAsync(0x100, 0);
      return true;
    }
    if (this.irqLine && (this.el === 0 || (this.daif & 0x80) === 0)) {
      this.takeAsync(0x080, 0);
      return true;
    }
    return false;
  }

  /** Whether an interrupt is pending that would wake WFI (masking by PSTATE does not matter). */
  wakeupPending(): boolean {
    return this.irqLine || this.fiqLine || this.serrorPending;
  }

  setIrq(level: boolean): void {
    if (this.irqLine !== level) {
      this.irqLine = level;
      if (level) this.requestExit();
    }
  }

  setFiq(level: boolean): void {
    if (this.fiqLine !== level) {
      this.fiqLine = level;
      if (level) this.requestExit();
    }
  }

  /** The generic counter's count (CNTPCT) at the current instant. */
  counter(): bigint {
    return BigInt(Math.floor(this.icount / Cpu.INSNS_PER_TICK));
  }

  /** icount at which the next enabled, unmasked timer condition starts, or Infinity. */
  nextTimerEvent(): number {
    // Called at every run-loop entry and by idle skipping: no allocation.
    const s = this.sys;
    let next = Infinity;
    if ((s.cntvCtl & 5) === 1) next = Number(s.cntvCval + s.cntvoff) * Cpu.INSNS_PER_TICK;
    if ((s.cntpCtl & 5) === 1) {
      const at = Number(s.cntpCval) * Cpu.INSNS_PER_TICK;
      if (at < next) next = at;
    }
    return next;
  }

  /** Recompute timer output levels (ISTATUS and the lines to the interrupt controller). */
  updateTimers(): void {
    const s = this.sys;
    const now = this.counter();
    const vFire = (s.cntvCtl & 1) !== 0 && now - s.cntvoff >= s.cntvCval;
    const pFire = (s.cntpCtl & 1) !== 0 && now >= s.cntpCval;
    s.cntvCtl = (s.cntvCtl & ~4) | (vFire ? 4 : 0);
    s.cntpCtl = (s.cntpCtl & ~4) | (pFire ? 4 : 0);
    const vLevel = vFire && (s.cntvCtl & 2) === 0;
    const pLevel = pFire && (s.cntpCtl & 2) === 0;
    if (vLevel !== this.timerLevels[0]) {
      this.timerLevels[0] = vLevel;
      this.onTimer?.('virt', vLevel);
    }
    if (pLevel !== this.timerLevels[1]) {
      this.timerLevels[1] = pLevel;
      this.onTimer?.('phys', pLevel);
    }
  }

  // ======================================================================================
  // PSTATE, SP banking, exceptions
  // ======================================================================================

  /** PSTATE packed as SPSR_ELx (AArch64 format). */
  getPstate(): number {
    return (
      ((this.nf << 31) |
        (this.zf << 30) |
        (this.cf << 29) |
        (this.vf << 28) |
        (this.pan << 22) |
        (this.ss << 21) |
        (this.il << 20) |
        (this.uao << 23) |
        this.daif |
        (this.el << 2) |
        this.spsel) >>>
      0
    );
  }

  /** Switch the live stack pointer to the one selected by (el, spsel). */
  private selectSp(el: number, spsel: number): void {
    const cur = this.el === 0 || this.spsel === 0 ? 0 : 1;
    const next = el === 0 || spsel === 0 ? 0 : 1;
    if (cur !== next) {
      this.spBank[cur] = this.x[SP]!;
      this.x[SP] = this.spBank[next]!;
    }
  }

  setSpsel(v: number): void {
    this.selectSp(this.el, v & 1);
    this.spsel = v & 1;
  }

  /** Read SP_EL0 or SP_EL1 wherever it currently lives. */
  readSpBank(which: 0 | 1): bigint {
    const live = this.el === 0 || this.spsel === 0 ? 0 : 1;
    return live === which ? this.x[SP]! : this.spBank[which]!;
  }

  writeSpBank(which: 0 | 1, v: bigint): void {
    const live = this.el === 0 || this.spsel === 0 ? 0 : 1;
    if (live === which) this.x[SP] = v;
    else this.spBank[which] = v;
  }

  private setEl(el: number, spsel: number): void {
    this.selectSp(el, spsel);
    this.el = el;
    this.spsel = spsel;
    this.tlbSet = el === 0 ? 0 : TLB_SIZE;
    this.fetchVpn = NO_PAGE;
    this.updateFpTrap();
    this.updateSpAlignCheck();
  }

  /** Re-evaluate CPACR_EL1.FPEN for the current EL (after a CPACR write or an EL change). */
  updateFpTrap(): void {
    const fpen = Number((this.sys.cpacrEl1 >> 20n) & 3n);
    const trap = fpen === 0 || fpen === 2 || (fpen === 1 && this.el === 0);
    if (trap !== this.fpTrap) {
      this.fpTrap = trap;
      this.dcKey.fill(0);
      this.dcFn.fill(undefinedInsn); // word 0 is UDF #0, so key 0 → undefined stays right
      this.blocks.fill(NO_BLOCK);
    }
  }

  /** Execute function for an instruction word: its row's, a SIMD&FP access trap, or UNDEFINED. */
  private decodeExec(insn: number): Exec {
    const row = decoder.decode(insn);
    if (!row) return undefinedInsn;
    if (this.fpTrap && decoder.fpRows.has(row)) return fpAccessTrap;
    return row.exec;
  }

  /** Enter EL1 at `VBAR_EL1 + offset` from the current state. `ret` is the preferred return address. */
  private enterEl1(offset: number, esr: number, ret: number): void {
    const s = this.sys;
    const base = this.el === 0 ? 0x400 : this.spsel === 1 ? 0x200 : 0x000;
    this.noteException(esr, ret);
    s.spsrEl1 = this.getPstate();
    s.elrEl1 = BigInt.asUintN(64, BigInt(ret));
    s.esrEl1 = esr >>> 0;
    this.setEl(1, 1);
    this.daif = 0x3c0;
    this.ss = 0;
    this.il = 0;
    if ((s.sctlrEl1 & (1n << 23n)) === 0n) this.pan = 1; // SCTLR_EL1.SPAN == 0: PAN set on entry
    this.exclPa = -1;
    this.pc = vaOf(s.vbarEl1) + base + offset;
    this.requestExit();
  }

  /**
   * A guest with no usable vector table takes exception after exception without retiring an
   * instruction. Stop it and keep the first syndrome, which is the one that explains the failure.
   */
  private noteException(esr: number, ret: number): void {
    if (this.icount !== this.lastExcIcount) {
      this.lastExcIcount = this.icount;
      this.excRepeats = 0;
      this.firstExc = { esr, ret, far: this.sys.farEl1 };
      return;
    }
    if (++this.excRepeats === 3) {
      const f = this.firstExc;
      this.halted = true;
      this.haltReason = 'exception-loop';
      const ec = f.esr >>> 26;
      const hasFar = ec === 0x20 || ec === 0x21 || ec === 0x22 || ec === 0x24 || ec === 0x25;
      const vbar = this.sys.vbarEl1;
      const word = this.peek32(f.ret);
      const at =
        word === null
          ? ''
          : ` (${Cpu.decode(word)?.fmt(word, BigInt(f.ret)).replace('\t', ' ') ?? `.inst 0x${(word >>> 0).toString(16)}`})`;
      this.faultMessage =
        `unhandled exception: ${describeEsr(f.esr, sysregName)} at pc ${hex64(f.ret)}${at}` +
        (hasFar ? `, address ${hex64(Number(BigInt.asIntN(64, f.far)))}` : '') +
        (vbar === 0n ? ' (no vector table: VBAR_EL1 is 0)' : ` (the vector table at ${hex64(vaOf(vbar))} cannot run)`);
    }
  }

  /** Asynchronous exception (IRQ 0x80, FIQ 0x100, SError 0x180) to EL1. */
  private takeAsync(offset: number, esr: number): void {
    this.enterEl1(offset, esr, this.pc);
  }

  /**
   * Take a synchronous exception to EL1 with exception class `ec` and syndrome `iss`;
   * `ret` is ELR (the faulting instruction, or the next one for SVC). Throws EXCEPTION_TAKEN.
   */
  syncException(ec: number, iss: number, ret: number = this.pc, far?: number): never {
    if (far !== undefined) this.sys.farEl1 = BigInt.asUintN(64, BigInt(far));
    this.enterEl1(0, ((ec << 26) | (1 << 25) | (iss & 0x1ffffff)) >>> 0, ret);
    throw EXCEPTION_TAKEN;
  }

  /** The Undefined Instruction exception (EC 0), as for any unallocated encoding. */
  undefined(): never {
    return this.syncException(EC.UNKNOWN, 0);
  }

  /** Route a synchronous exception to EL2/EL3 (`el2`), which returns to EL1 at `cpu.pc`. */
  trapToEl2(esr: number, ret: number, far = 0, ipa = 0): never {
    this.callEl2(esr, ret, far, ipa);
    this.fetchVpn = NO_PAGE;
    this.requestExit();
    throw EXCEPTION_TAKEN;
  }

  /**
   * An exception to EL2 that returns to EL1 like a call: HVC, SMC and trapped WFI/WFE, whose
   * instruction then counts as executed and whose block simply ends. The handler may change
   * `pc` (and must call `requestExit` if the vCPU should stop running, e.g. to block it).
   */
  callEl2(esr: number, ret: number, far = 0, ipa = 0): void {
    const h = this.el2;
    if (!h) return this.undefined();
    this.pc = ret;
    h.trap(this, esr >>> 0, far, ipa);
  }

  /**
   * A stage-2 fault on `ipa`, for an El2 stage-2 hook to raise: builds the ESR_EL2 syndrome of an
   * instruction or data abort from the current instruction (with ISV for single-register
   * loads/stores) and routes it to `el2.trap`. `fsc` is the fault status code with its level.
   */
  stage2Fault(va: number, ipa: number, acc: Access, fsc: number, s1ptw = false): never {
    const ret = this.pc;
    if (acc === Access.Fetch) {
      const iss = fsc | (s1ptw ? 0x80 : 0);
      return this.trapToEl2((EC.IABORT_LOWER << 26) | (1 << 25) | iss, ret, va, ipa);
    }
    const isv = s1ptw ? 0 : dataAbortIsv(this.peekPhys32(ret));
    const iss = isv | fsc | (acc === Access.Write && !s1ptw ? 0x40 : 0) | (s1ptw ? 0x80 : 0);
    return this.trapToEl2((EC.DABORT_LOWER << 26) | (1 << 25) | iss, ret, va, ipa);
  }

  /** ERET from EL1: restore PSTATE from SPSR_EL1 and branch to ELR_EL1. */
  eret(): void {
    const s = this.sys;
    const spsr = s.spsrEl1;
    let target = (spsr >>> 2) & 3;
    const illegal = (spsr & 0x10) !== 0 || target > 1 || (target === 1 && false);
    let spsel = spsr & 1;
    if (illegal) {
      // Illegal exception return: stay at EL1 with PSTATE.IL set (the next instruction then faults).
      target = this.el;
      spsel = this.spsel;
    }
    this.nf = (spsr >>> 31) & 1;
    this.zf = (spsr >>> 30) & 1;
    this.cf = (spsr >>> 29) & 1;
    this.vf = (spsr >>> 28) & 1;
    this.daif = spsr & 0x3c0;
    this.pan = (spsr >>> 22) & 1;
    this.uao = (spsr >>> 23) & 1;
    this.ss = 0;
    this.il = illegal ? 1 : (spsr >>> 20) & 1;
    this.setEl(target, target === 0 ? 0 : spsel);
    this.exclPa = -1;
    this.pc = vaOf(s.elrEl1);
    this.tlbRefreshPan();
    this.requestExit();
  }

  // ======================================================================================
  // Memory: soft TLB fast paths, slow paths through the MMU and the bus
  // ======================================================================================

  tlbFlushAll(): void {
    this.tlbTag.fill(NO_PAGE);
    this.fetchVpn = NO_PAGE;
    this.tlbSet = this.el === 0 ? 0 : TLB_SIZE;
  }

  /** PAN changes EL1's view of EL0 pages: drop EL1's entries. */
  tlbRefreshPan(): void {
    this.tlbTag.fill(NO_PAGE, TLB_SIZE, 2 * TLB_SIZE);
    this.fetchVpn = NO_PAGE;
  }

  /** Translate with full checks, filling the TLB. Returns the PA; faults throw. */
  translate(va: number, acc: Access, unpriv = false): number {
    const set = unpriv ? 0 : this.tlbSet;
    const po = va & 0xfff;
    const vpn = va - po;
    const i = ((va >>> 12) & (TLB_SIZE - 1)) + set;
    const perm = acc === Access.Read ? PERM_R : acc === Access.Write ? PERM_W : PERM_X;
    if (this.tlbTag[i] === vpn && (this.tlbPerm[i]! & (perm << WALK_SHIFT)) !== 0) return this.tlbPa[i]! + po;
    const el = unpriv ? 0 : this.el;
    const r: WalkResult = mmuWalk(this, va, acc, el);
    if (r.fault !== 0) this.abort(va, acc, r.fault, r.level, r.s1ptw);
    let pa = r.pa;
    let perms = r.perms;
    const s2 = this.el2?.stage2;
    if (s2) {
      const ipaPage = pa - (pa & 0xfff);
      this.s2Allowed = 7;
      const paPage = s2(this, ipaPage, acc, va);
      pa = paPage + (pa & 0xfff);
      // The TLB caches the combined rights: a stage-2 read-only page must not take the fast
      // write path.
      perms &= this.s2Allowed;
    }
    const pageBase = pa - (pa & 0xfff);
    this.tlbTag[i] = vpn;
    this.tlbPa[i] = pageBase;
    const ro = pageBase - this.ramBase;
    const inRam = ro >= 0 && ro < this.ramSize;
    this.tlbOff[i] = inRam ? ro : -1;
    // Permissions the walk granted, for this regime; MMIO pages never get the fast-path bits, and
    // pages holding decoded code never get the fast write path (see markCode).
    const fast = !inRam ? 0 : this.codeHi[ro / 4096]! !== 0 ? perms & ~PERM_W : perms;
    this.tlbPerm[i] = fast | (perms << WALK_SHIFT);
    return pa;
  }

  private abort(va: number, acc: Access, fsc: number, level: number, s1ptw: boolean): never {
    const lower = this.el === 0;
    if (acc === Access.Fetch) {
      const ec = lower ? EC.IABORT_LOWER : EC.IABORT_CUR;
      return this.syncException(ec, (fsc & 0x3c) | (fsc === 0x21 ? 0 : level) | (s1ptw ? 0x80 : 0), this.pc, va);
    }
    const ec = lower ? EC.DABORT_LOWER : EC.DABORT_CUR;
    const iss = (fsc < 0x10 ? fsc | level : fsc) | (acc === Access.Write ? 0x40 : 0) | (s1ptw ? 0x80 : 0);
    return this.syncException(ec, iss, this.pc, va);
  }

  /** The alignment fault of a data access (FSC 0b100001). */
  alignmentFault(va: number, write: boolean): never {
    const ec = this.el === 0 ? EC.DABORT_LOWER : EC.DABORT_CUR;
    return this.syncException(ec, 0x21 | (write ? 0x40 : 0), this.pc, va);
  }

  /** Translate a fetch from `pc`, refill the fetch cache, and return the RAM offset. */
  private fetchSlow(pc: number): number {
    if ((pc & 3) !== 0) {
      this.syncException(EC.PC_ALIGN, 0, pc, pc);
    }
    const pa = this.translate(pc, Access.Fetch);
    const ro = pa - this.ramBase;
    if (ro < 0 || ro >= this.ramSize) {
      // Executing from MMIO or from nowhere: synchronous external abort on fetch.
      return this.syncException(this.el === 0 ? EC.IABORT_LOWER : EC.IABORT_CUR, 0x10, pc, pc);
    }
    const po = pc & 0xfff;
    this.fetchVpn = pc - po;
    this.fetchOff = ro - po;
    return ro;
  }

  /** Physical access to RAM or MMIO after translation; size 1, 2, 4 or 8. */
  private physRead(pa: number, size: number, va: number): bigint {
    const ro = pa - this.ramBase;
    if (ro >= 0 && ro + size <= this.ramSize) {
      switch (size) {
        case 1:
          return BigInt(this.ram8[ro]!);
        case 2:
          return BigInt(this.ramDv.getUint16(ro, true));
        case 4:
          return BigInt(this.ramDv.getUint32(ro, true));
        default:
          return this.ramDv.getBigUint64(ro, true);
      }
    }
    const v = this.bus.mmioRead(pa, size);
    if (v === null) this.externalAbort(va, false);
    return v;
  }

  private physWrite(pa: number, size: number, value: bigint, va: number): void {
    const ro = pa - this.ramBase;
    if (ro >= 0 && ro + size <= this.ramSize) {
      if (this.codeHi[ro >>> 12] !== 0) this.codeWrite(ro, size);
      switch (size) {
        case 1:
          this.ram8[ro] = Number(value & 0xffn);
          return;
        case 2:
          this.ramDv.setUint16(ro, Number(value & 0xffffn), true);
          return;
        case 4:
          this.ramDv.setUint32(ro, Number(value & 0xffffffffn), true);
          return;
        default:
          this.ramDv.setBigUint64(ro, value, true);
          return;
      }
    }
    if (!this.bus.mmioWrite(pa, size, value)) this.externalAbort(va, true);
  }

  private externalAbort(va: number, write: boolean): never {
    const ec = this.el === 0 ? EC.DABORT_LOWER : EC.DABORT_CUR;
    return this.syncException(ec, 0x10 | (write ? 0x40 : 0), this.pc, va);
  }

  /** Generic slow read: translation, page crossing, MMIO. */
  readSlow(va: number, size: number, unpriv = false): bigint {
    if ((va & 0xfff) + size > 0x1000) {
      // Crosses a page: byte by byte, each byte translated (faults report the first bad byte).
      let v = 0n;
      for (let k = size - 1; k >= 0; k--) v = (v << 8n) | this.readSlow(va + k, 1, unpriv);
      return v;
    }
    const pa = this.translate(va, Access.Read, unpriv);
    return this.physRead(pa, size, va);
  }

  writeSlow(va: number, size: number, value: bigint, unpriv = false): void {
    if ((va & 0xfff) + size > 0x1000) {
      // Translate every byte first so that a fault leaves memory unchanged.
      for (let k = 0; k < size; k++) this.translate(va + k, Access.Write, unpriv);
      for (let k = 0; k < size; k++) this.writeSlow(va + k, 1, (value >> BigInt(8 * k)) & 0xffn, unpriv);
      return;
    }
    const pa = this.translate(va, Access.Write, unpriv);
    this.physWrite(pa, size, value, va);
    this.monitorStore(pa, size);
  }

  /** A store clears the exclusive monitor if it touches the monitored granule. */
  private monitorStore(pa: number, size: number): void {
    if (this.exclPa >= 0 && pa < this.exclPa + 64 && pa + size > this.exclPa - (this.exclPa & 63)) this.exclPa = -1;
  }

  /** The instruction word at `va`, read through the fetch path's translation (slow paths only). */
  private peekPhys32(va: number): number {
    const po = va & 0xfff;
    if (va - po !== this.fetchVpn) return 0;
    return this.ram32[(this.fetchOff + po) >>> 2]! | 0;
  }

  /** Read a word of guest memory for tools (disassembly in messages): no side effects, no faults. */
  peek32(va: number): number | null {
    const r = mmuWalk(this, va, Access.Read, this.el);
    if (r.fault !== 0) return null;
    const ro = r.pa - this.ramBase;
    if (ro < 0 || ro + 4 > this.ramSize || (ro & 3) !== 0) return null;
    return this.ram32[ro >>> 2]! | 0;
  }

  // ---- fast paths (aligned RAM hits in the TLB) ----

  read8(va: number): number {
    const i = ((va >>> 12) & (TLB_SIZE - 1)) + this.tlbSet;
    if (this.tlbTag[i] === va - (va & 0xfff) && (this.tlbPerm[i]! & PERM_R) !== 0) {
      return this.ram8[this.tlbOff[i]! + (va & 0xfff)]!;
    }
    return Number(this.readSlow(va, 1));
  }

  read16(va: number): number {
    const i = ((va >>> 12) & (TLB_SIZE - 1)) + this.tlbSet;
    if (this.tlbTag[i] === va - (va & 0xfff) && (this.tlbPerm[i]! & PERM_R) !== 0 && (va & 1) === 0) {
      return this.ram16[(this.tlbOff[i]! + (va & 0xfff)) >>> 1]!;
    }
    return Number(this.readSlow(va, 2));
  }

  read32(va: number): number {
    const i = ((va >>> 12) & (TLB_SIZE - 1)) + this.tlbSet;
    if (this.tlbTag[i] === va - (va & 0xfff) && (this.tlbPerm[i]! & PERM_R) !== 0 && (va & 3) === 0) {
      return this.ram32[(this.tlbOff[i]! + (va & 0xfff)) >>> 2]!;
    }
    return Number(this.readSlow(va, 4));
  }

  /** Load 64 bits from `va` into the register slot `t` of `dst` (x or v), without a BigInt temporary. */
  read64into(va: number, dst32: Uint32Array, t2: number): void {
    const i = ((va >>> 12) & (TLB_SIZE - 1)) + this.tlbSet;
    if (this.tlbTag[i] === va - (va & 0xfff) && (this.tlbPerm[i]! & PERM_R) !== 0 && (va & 7) === 0) {
      const o = (this.tlbOff[i]! + (va & 0xfff)) >>> 2;
      dst32[t2] = this.ram32[o]!;
      dst32[t2 + 1] = this.ram32[o + 1]!;
      return;
    }
    const v = this.readSlow(va, 8);
    dst32[t2] = Number(v & 0xffffffffn);
    dst32[t2 + 1] = Number(v >> 32n);
  }

  read64(va: number): bigint {
    const i = ((va >>> 12) & (TLB_SIZE - 1)) + this.tlbSet;
    if (this.tlbTag[i] === va - (va & 0xfff) && (this.tlbPerm[i]! & PERM_R) !== 0 && (va & 7) === 0) {
      const o = (this.tlbOff[i]! + (va & 0xfff)) >>> 2;
      return (BigInt(this.ram32[o + 1]!) << 32n) | BigInt(this.ram32[o]!);
    }
    return this.readSlow(va, 8);
  }

  write8(va: number, v: number): void {
    const i = ((va >>> 12) & (TLB_SIZE - 1)) + this.tlbSet;
    if (this.tlbTag[i] === va - (va & 0xfff) && (this.tlbPerm[i]! & PERM_W) !== 0 && this.exclPa < 0) {
      this.ram8[this.tlbOff[i]! + (va & 0xfff)] = v;
      return;
    }
    this.writeSlow(va, 1, BigInt(v & 0xff));
  }

  write16(va: number, v: number): void {
    const i = ((va >>> 12) & (TLB_SIZE - 1)) + this.tlbSet;
    if (
      this.tlbTag[i] === va - (va & 0xfff) &&
      (this.tlbPerm[i]! & PERM_W) !== 0 &&
      (va & 1) === 0 &&
      this.exclPa < 0
    ) {
      this.ram16[(this.tlbOff[i]! + (va & 0xfff)) >>> 1] = v;
      return;
    }
    this.writeSlow(va, 2, BigInt(v & 0xffff));
  }

  write32(va: number, v: number): void {
    const i = ((va >>> 12) & (TLB_SIZE - 1)) + this.tlbSet;
    if (
      this.tlbTag[i] === va - (va & 0xfff) &&
      (this.tlbPerm[i]! & PERM_W) !== 0 &&
      (va & 3) === 0 &&
      this.exclPa < 0
    ) {
      this.ram32[(this.tlbOff[i]! + (va & 0xfff)) >>> 2] = v;
      return;
    }
    this.writeSlow(va, 4, BigInt(v >>> 0));
  }

  /** Store the 64-bit register slot at `src32[t2..t2+1]` to `va`. */
  write64from(va: number, src32: Uint32Array, t2: number): void {
    const i = ((va >>> 12) & (TLB_SIZE - 1)) + this.tlbSet;
    if (
      this.tlbTag[i] === va - (va & 0xfff) &&
      (this.tlbPerm[i]! & PERM_W) !== 0 &&
      (va & 7) === 0 &&
      this.exclPa < 0
    ) {
      const o = (this.tlbOff[i]! + (va & 0xfff)) >>> 2;
      this.ram32[o] = src32[t2]!;
      this.ram32[o + 1] = src32[t2 + 1]!;
      return;
    }
    this.writeSlow(va, 8, (BigInt(src32[t2 + 1]!) << 32n) | BigInt(src32[t2]!));
  }

  write64(va: number, v: bigint): void {
    const i = ((va >>> 12) & (TLB_SIZE - 1)) + this.tlbSet;
    if (
      this.tlbTag[i] === va - (va & 0xfff) &&
      (this.tlbPerm[i]! & PERM_W) !== 0 &&
      (va & 7) === 0 &&
      this.exclPa < 0
    ) {
      const o = (this.tlbOff[i]! + (va & 0xfff)) >>> 2;
      this.ram32[o] = Number(v & 0xffffffffn);
      this.ram32[o + 1] = Number(v >> 32n);
      return;
    }
    this.writeSlow(va, 8, BigInt.asUintN(64, v));
  }

  // ======================================================================================
  // Register helpers used by execute functions
  // ======================================================================================

  /** Address from base register `n` (SP when 31) plus a byte offset, as a signed Number VA. */
  addr(n: number, off: number): number {
    // SP alignment check (SCTLR_EL1.SA/SA0): a load or store based on a misaligned SP faults.
    if (n === SP && this.spAlignCheck && (this.w[2 * SP]! & 15) !== 0) this.spAlignmentFault();
    const hi = this.wi[2 * n + 1]!;
    // With TBI, bits 63:56 do not take part in translation: sign-extend from bit 55.
    const h = this.tbi ? (hi << 8) >> 8 : hi;
    return h * TWO32 + this.w[2 * n]! + off;
  }

  /** SCTLR_EL1.SA (at EL1) or SA0 (at EL0) for the current EL; see `addr`. */
  spAlignCheck = false;

  updateSpAlignCheck(): void {
    this.spAlignCheck = (this.sys.sctlrEl1 & (this.el === 0 ? 0x10n : 0x8n)) !== 0n;
  }

  private spAlignmentFault(): never {
    return this.syncException(EC.SP_ALIGN, 0);
  }

  /** Whether top-byte-ignore is in effect for data addresses (TCR_EL1.TBI0/TBI1); see `addr`. */
  tbi = false;

  /** Add a signed Number to a 64-bit register (base write-back). */
  addReg(n: number, off: number): void {
    const lo = this.w[2 * n]! + off;
    this.w[2 * n] = lo;
    this.w[2 * n + 1] = this.w[2 * n + 1]! + Math.floor(lo / TWO32);
  }

  /** Read a register as a signed Number (exact when |value| < 2^53). */
  regNum(n: number): number {
    return this.wi[2 * n + 1]! * TWO32 + this.w[2 * n]!;
  }

  /** Write a signed Number (exact integer) to a 64-bit register as its two's-complement value. */
  setRegNum(n: number, v: number): void {
    this.w[2 * n] = v >>> 0;
    this.w[2 * n + 1] = Math.floor(v / TWO32) >>> 0;
  }

  /** Set the PC from a 64-bit register value (BR, BLR, RET, ERET). */
  branchTo(target: bigint): void {
    this.pc = vaOf(target);
  }

  /** The PC as an unsigned 64-bit BigInt. */
  pcBig(): bigint {
    return BigInt.asUintN(64, BigInt(this.pc));
  }

  /** Instruction decode for tools (disassembly, traces). */
  static decode(insn: number): ReturnType<Decoder['decode']> {
    return decoder.decode(insn);
  }
}

/** Execute functions after which a block ends: branches, system instructions, and traps. */
const blockEnders: ReadonlySet<Exec> = new Set<Exec>([
  ...decoder.rows.filter((r) => BLOCK_END_GROUPS.some((g) => g.rows.includes(r))).map((r) => r.exec),
  undefinedInsn,
  fpAccessTrap,
]);

function undefinedInsn(cpu: Cpu): void {
  cpu.undefined();
}

/** CheckFPAdvSIMDEnabled64 failing: EC 0x07 with CV=1, COND=0b1110. */
function fpAccessTrap(cpu: Cpu): void {
  cpu.syncException(EC.FP_ACCESS, 0x1e00000);
}

/** A 64-bit value as the signed Number used for addresses (see the file header). */
export function vaOf(v: bigint): number {
  return Number(BigInt.asIntN(64, v));
}

function hex64(n: number): string {
  return `0x${BigInt.asUintN(64, BigInt(n)).toString(16)}`;
}
