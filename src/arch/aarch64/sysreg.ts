// System registers of EL0/EL1 (and the EL2 values the hypervisor sets for EL1, such as CNTVOFF),
// as data: one row per register with its encoding, who may access it and what a read or write does.
// Identification values describe the CPU this model implements (an Armv8.1-A core with LSE,
// CRC32, 4 KiB granule, 48-bit PA, 16-bit ASIDs), following the Arm ARM's field layouts.

import type { Cpu } from './cpu.js';

export class SysRegs {
  sctlrEl1 = 0n;
  tcrEl1 = 0n;
  ttbr0El1 = 0n;
  ttbr1El1 = 0n;
  mairEl1 = 0n;
  amairEl1 = 0n;
  vbarEl1 = 0n;
  elrEl1 = 0n;
  spsrEl1 = 0;
  esrEl1 = 0;
  farEl1 = 0n;
  parEl1 = 0n;
  afsr0El1 = 0n;
  afsr1El1 = 0n;
  contextidrEl1 = 0n;
  private cpacr = 0n;
  /** Called when CPACR_EL1 changes (the CPU re-evaluates FP trapping). */
  onCpacrChange: (() => void) | null = null;
  get cpacrEl1(): bigint {
    return this.cpacr;
  }
  set cpacrEl1(v: bigint) {
    this.cpacr = v;
    this.onCpacrChange?.();
  }
  tpidrEl0 = 0n;
  tpidrroEl0 = 0n;
  tpidrEl1 = 0n;
  mdscrEl1 = 0n;
  cntkctlEl1 = 0n;
  /** CNTV_CTL / CNTP_CTL: ENABLE bit 0, IMASK bit 1, ISTATUS bit 2 (maintained by the CPU). */
  cntvCtl = 0;
  cntvCval = 0n;
  cntpCtl = 0;
  cntpCval = 0n;
  /** Virtual offset, set by EL2 (the hypervisor); CNTVCT = CNTPCT - CNTVOFF. */
  cntvoff = 0n;
  /** MPIDR_EL1 affinity, set by the board (Aff0 = CPU index). */
  mpidr = 0x80000000n;
  /** Implementation-defined and debug registers Linux pokes at: kept, not interpreted. */
  readonly scratch = new Map<number, bigint>();

  reset(): void {
    // SCTLR_EL1 reset value: RES1 bits set, MMU and caches off (LSMAOE, nTLSMD, SPAN, EIS, TSCXT, EOS).
    this.sctlrEl1 = 0x30d00980n;
    this.tcrEl1 = this.ttbr0El1 = this.ttbr1El1 = this.mairEl1 = this.amairEl1 = 0n;
    this.vbarEl1 = this.elrEl1 = this.farEl1 = this.parEl1 = 0n;
    this.spsrEl1 = this.esrEl1 = 0;
    this.afsr0El1 = this.afsr1El1 = this.contextidrEl1 = this.cpacrEl1 = 0n;
    this.tpidrEl0 = this.tpidrroEl0 = this.tpidrEl1 = this.mdscrEl1 = this.cntkctlEl1 = 0n;
    this.cntvCtl = this.cntpCtl = 0;
    this.cntvCval = this.cntpCval = this.cntvoff = 0n;
    this.scratch.clear();
  }
}

/** Encoding key: op0:op1:CRn:CRm:op2 packed as in bits 20:5 of MRS/MSR. */
export function sysregKey(op0: number, op1: number, crn: number, crm: number, op2: number): number {
  return (op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2;
}

/** What an EL0 access needs: always allowed, never, or an enable bit in an EL1 control register. */
type El0Access = 'no' | 'yes' | ((cpu: Cpu) => boolean);

export interface SysRegDef {
  readonly name: string;
  readonly key: number;
  readonly el0: El0Access;
  readonly read: ((cpu: Cpu) => bigint) | null;
  readonly write: ((cpu: Cpu, v: bigint) => void) | null;
}

const M32 = 0xffffffffn;
const defs: SysRegDef[] = [];

function reg(
  name: string,
  enc: [number, number, number, number, number],
  read: ((cpu: Cpu) => bigint) | null,
  write: ((cpu: Cpu, v: bigint) => void) | null,
  el0: El0Access = 'no',
): void {
  defs.push({ name, key: sysregKey(...enc), el0, read, write });
}

/** A read-only identification register with a constant value. */
function id(name: string, enc: [number, number, number, number, number], value: bigint, el0: El0Access = 'no'): void {
  reg(name, enc, () => value, null, el0);
}

const uct = (cpu: Cpu): boolean => (cpu.sys.sctlrEl1 & (1n << 15n)) !== 0n;
const uma = (cpu: Cpu): boolean => (cpu.sys.sctlrEl1 & (1n << 9n)) !== 0n;
const el0vct = (cpu: Cpu): boolean => (cpu.sys.cntkctlEl1 & 2n) !== 0n;
const el0pct = (cpu: Cpu): boolean => (cpu.sys.cntkctlEl1 & 1n) !== 0n;
const el0vten = (cpu: Cpu): boolean => (cpu.sys.cntkctlEl1 & (1n << 8n)) !== 0n;
const el0pten = (cpu: Cpu): boolean => (cpu.sys.cntkctlEl1 & (1n << 9n)) !== 0n;

// ---- identification ----
id('MIDR_EL1', [3, 0, 0, 0, 0], 0x411fd070n); // Arm Cortex-A57 r1p0, as QEMU's -cpu cortex-a57
reg('MPIDR_EL1', [3, 0, 0, 0, 5], (c) => c.sys.mpidr, null);
id('REVIDR_EL1', [3, 0, 0, 0, 6], 0n);
// EL0 and EL1 AArch64 only; FP and AdvSIMD implemented (0); GIC = 1 when a GICv3 CPU interface is attached.
reg('ID_AA64PFR0_EL1', [3, 0, 0, 4, 0], (c) => 0x11n | (c.sysregHook ? 1n << 24n : 0n), null);
id('ID_AA64PFR1_EL1', [3, 0, 0, 4, 1], 0n);
id('ID_AA64DFR0_EL1', [3, 0, 0, 5, 0], 0x6n); // Armv8 debug
id('ID_AA64DFR1_EL1', [3, 0, 0, 5, 1], 0n);
id('ID_AA64AFR0_EL1', [3, 0, 0, 5, 4], 0n);
id('ID_AA64AFR1_EL1', [3, 0, 0, 5, 5], 0n);
id('ID_AA64ISAR0_EL1', [3, 0, 0, 6, 0], (2n << 20n) | (1n << 16n)); // LSE atomics, CRC32
id('ID_AA64ISAR1_EL1', [3, 0, 0, 6, 1], 0n);
id('ID_AA64ISAR2_EL1', [3, 0, 0, 6, 2], 0n);
// PARange 48 bits, 16-bit ASIDs, 4 KiB granule only (TGran16 = 0 not implemented, TGran64 = 0xF not implemented).
id('ID_AA64MMFR0_EL1', [3, 0, 0, 7, 0], 0x0f000025n);
id('ID_AA64MMFR1_EL1', [3, 0, 0, 7, 1], 0x00100000n); // PAN (v8.1)
id('ID_AA64MMFR2_EL1', [3, 0, 0, 7, 2], 0n);
id('CTR_EL0', [3, 3, 0, 0, 1], 0x8444c004n, uct); // 64-byte lines, PIPT I-cache
id('DCZID_EL0', [3, 3, 0, 0, 7], 4n, 'yes'); // DC ZVA block of 64 bytes (DZP is set by the read below when disabled)
id('CLIDR_EL1', [3, 1, 0, 0, 1], 0x0a200023n);
id('CCSIDR_EL1', [3, 1, 0, 0, 0], 0x701fe01an);
reg(
  'CSSELR_EL1',
  [3, 2, 0, 0, 0],
  (c) => c.sys.scratch.get(0xd000) ?? 0n,
  (c, v) => void c.sys.scratch.set(0xd000, v & 0xfn),
);
id('AIDR_EL1', [3, 1, 0, 0, 7], 0n);

// ---- PSTATE as registers ----
reg(
  'NZCV',
  [3, 3, 4, 2, 0],
  (c) => BigInt(((c.nf << 31) | (c.zf << 30) | (c.cf << 29) | (c.vf << 28)) >>> 0),
  (c, v) => {
    const n = Number(v & M32);
    c.nf = (n >>> 31) & 1;
    c.zf = (n >>> 30) & 1;
    c.cf = (n >>> 29) & 1;
    c.vf = (n >>> 28) & 1;
  },
  'yes',
);
reg(
  'DAIF',
  [3, 3, 4, 2, 1],
  (c) => BigInt(c.daif),
  (c, v) => {
    c.daif = Number(v & 0x3c0n);
    c.requestExit();
  },
  uma,
);
reg(
  'SPSel',
  [3, 0, 4, 2, 0],
  (c) => BigInt(c.spsel),
  (c, v) => c.setSpsel(Number(v & 1n)),
);
reg('CurrentEL', [3, 0, 4, 2, 2], (c) => BigInt(c.el << 2), null);
reg(
  'PAN',
  [3, 0, 4, 2, 3],
  (c) => BigInt(c.pan << 22),
  (c, v) => {
    c.pan = Number((v >> 22n) & 1n);
    c.tlbRefreshPan();
  },
);
reg(
  'FPCR',
  [3, 3, 4, 4, 0],
  (c) => BigInt(c.fpcr),
  (c, v) => void (c.fpcr = Number(v & 0x07c00000n)),
  'yes',
);
reg(
  'FPSR',
  [3, 3, 4, 4, 1],
  (c) => BigInt(c.fpsr),
  (c, v) => void (c.fpsr = Number(v & 0xf800009fn)),
  'yes',
);
reg(
  'SP_EL0',
  [3, 0, 4, 1, 0],
  (c) => c.readSpBank(0),
  (c, v) => c.writeSpBank(0, v),
);
reg(
  'ELR_EL1',
  [3, 0, 4, 0, 1],
  (c) => c.sys.elrEl1,
  (c, v) => void (c.sys.elrEl1 = v),
);
reg(
  'SPSR_EL1',
  [3, 0, 4, 0, 0],
  (c) => BigInt(c.sys.spsrEl1),
  (c, v) => void (c.sys.spsrEl1 = Number(v & M32)),
);

// ---- exception and translation control ----
reg(
  'SCTLR_EL1',
  [3, 0, 1, 0, 0],
  (c) => c.sys.sctlrEl1,
  (c, v) => {
    c.sys.sctlrEl1 = v;
    c.tlbFlushAll();
    c.updateSpAlignCheck();
  },
);
reg(
  'ACTLR_EL1',
  [3, 0, 1, 0, 1],
  (c) => c.sys.scratch.get(0x1001) ?? 0n,
  (c, v) => void c.sys.scratch.set(0x1001, v),
);
reg(
  'CPACR_EL1',
  [3, 0, 1, 0, 2],
  (c) => c.sys.cpacrEl1,
  (c, v) => void (c.sys.cpacrEl1 = v & 0x300000n),
);
reg(
  'TTBR0_EL1',
  [3, 0, 2, 0, 0],
  (c) => c.sys.ttbr0El1,
  (c, v) => {
    c.sys.ttbr0El1 = v;
    c.tlbFlushAll();
  },
);
reg(
  'TTBR1_EL1',
  [3, 0, 2, 0, 1],
  (c) => c.sys.ttbr1El1,
  (c, v) => {
    c.sys.ttbr1El1 = v;
    c.tlbFlushAll();
  },
);
reg(
  'TCR_EL1',
  [3, 0, 2, 0, 2],
  (c) => c.sys.tcrEl1,
  (c, v) => {
    c.sys.tcrEl1 = v;
    c.tbi = ((v >> 37n) & 3n) !== 0n;
    c.tlbFlushAll();
  },
);
reg(
  'ESR_EL1',
  [3, 0, 5, 2, 0],
  (c) => BigInt(c.sys.esrEl1),
  (c, v) => void (c.sys.esrEl1 = Number(v & M32)),
);
reg(
  'AFSR0_EL1',
  [3, 0, 5, 1, 0],
  (c) => c.sys.afsr0El1,
  (c, v) => void (c.sys.afsr0El1 = v),
);
reg(
  'AFSR1_EL1',
  [3, 0, 5, 1, 1],
  (c) => c.sys.afsr1El1,
  (c, v) => void (c.sys.afsr1El1 = v),
);
reg(
  'FAR_EL1',
  [3, 0, 6, 0, 0],
  (c) => c.sys.farEl1,
  (c, v) => void (c.sys.farEl1 = v),
);
reg(
  'PAR_EL1',
  [3, 0, 7, 4, 0],
  (c) => c.sys.parEl1,
  (c, v) => void (c.sys.parEl1 = v),
);
reg(
  'MAIR_EL1',
  [3, 0, 10, 2, 0],
  (c) => c.sys.mairEl1,
  (c, v) => void (c.sys.mairEl1 = v),
);
reg(
  'AMAIR_EL1',
  [3, 0, 10, 3, 0],
  (c) => c.sys.amairEl1,
  (c, v) => void (c.sys.amairEl1 = v),
);
reg(
  'VBAR_EL1',
  [3, 0, 12, 0, 0],
  (c) => c.sys.vbarEl1,
  (c, v) => void (c.sys.vbarEl1 = v & ~0x7ffn),
);
reg(
  'CONTEXTIDR_EL1',
  [3, 0, 13, 0, 1],
  (c) => c.sys.contextidrEl1,
  (c, v) => void (c.sys.contextidrEl1 = v & M32),
);
reg(
  'TPIDR_EL1',
  [3, 0, 13, 0, 4],
  (c) => c.sys.tpidrEl1,
  (c, v) => void (c.sys.tpidrEl1 = v),
);
reg(
  'TPIDR_EL0',
  [3, 3, 13, 0, 2],
  (c) => c.sys.tpidrEl0,
  (c, v) => void (c.sys.tpidrEl0 = v),
  'yes',
);
reg(
  'TPIDRRO_EL0',
  [3, 3, 13, 0, 3],
  (c) => c.sys.tpidrroEl0,
  (c, v) => {
    if (c.el === 0) c.undefined(); // read-only at EL0
    c.sys.tpidrroEl0 = v;
  },
  'yes',
);
reg(
  'MDSCR_EL1',
  [2, 0, 0, 2, 2],
  (c) => c.sys.mdscrEl1,
  (c, v) => void (c.sys.mdscrEl1 = v),
);

// ISR_EL1: which asynchronous exceptions are pending (F bit 6, I bit 7, A bit 8).
reg(
  'ISR_EL1',
  [3, 0, 12, 1, 0],
  (c) => BigInt((c.fiqLine ? 0x40 : 0) | (c.irqLine ? 0x80 : 0) | (c.serrorPending ? 0x100 : 0)),
  null,
);

// ---- generic timer ----
reg('CNTFRQ_EL0', [3, 3, 14, 0, 0], () => 62_500_000n, null, 'yes');
reg('CNTPCT_EL0', [3, 3, 14, 0, 1], (c) => c.counter(), null, el0pct);
reg('CNTVCT_EL0', [3, 3, 14, 0, 2], (c) => BigInt.asUintN(64, c.counter() - c.sys.cntvoff), null, el0vct);
reg(
  'CNTKCTL_EL1',
  [3, 0, 14, 1, 0],
  (c) => c.sys.cntkctlEl1,
  (c, v) => void (c.sys.cntkctlEl1 = v & 0x3ffn),
);
timerRegs('P', 2, el0pten);
timerRegs('V', 3, el0vten);

function timerRegs(kind: 'P' | 'V', crm: number, el0: El0Access): void {
  const ctl = kind === 'P' ? 'cntpCtl' : 'cntvCtl';
  const cval = kind === 'P' ? 'cntpCval' : 'cntvCval';
  const now = (c: Cpu): bigint => (kind === 'P' ? c.counter() : c.counter() - c.sys.cntvoff);
  const changed = (c: Cpu): void => {
    c.updateTimers();
    c.requestExit();
  };
  reg(
    `CNT${kind}_TVAL_EL0`,
    [3, 3, 14, crm, 0],
    (c) => BigInt.asUintN(32, c.sys[cval] - now(c)),
    (c, v) => {
      c.sys[cval] = BigInt.asUintN(64, now(c) + BigInt.asIntN(32, v));
      changed(c);
    },
    el0,
  );
  reg(
    `CNT${kind}_CTL_EL0`,
    [3, 3, 14, crm, 1],
    (c) => BigInt(c.sys[ctl]),
    (c, v) => {
      c.sys[ctl] = (c.sys[ctl] & 4) | Number(v & 3n);
      changed(c);
    },
    el0,
  );
  reg(
    `CNT${kind}_CVAL_EL0`,
    [3, 3, 14, crm, 2],
    (c) => c.sys[cval],
    (c, v) => {
      c.sys[cval] = v;
      changed(c);
    },
    el0,
  );
}

// Debug registers Linux initialises at boot (breakpoints, OS lock): accepted and kept.
for (let n = 0; n < 16; n++) {
  for (const [op2, what] of [
    [4, 'DBGBVR'],
    [5, 'DBGBCR'],
    [6, 'DBGWVR'],
    [7, 'DBGWCR'],
  ] as const) {
    const key = sysregKey(2, 0, 0, n, op2);
    reg(
      `${what}${n}_EL1`,
      [2, 0, 0, n, op2],
      (c) => c.sys.scratch.get(key) ?? 0n,
      (c, v) => void c.sys.scratch.set(key, v),
    );
  }
}
reg('OSLAR_EL1', [2, 0, 1, 0, 4], null, () => undefined);
reg('OSLSR_EL1', [2, 0, 1, 1, 4], () => 0x8n, null);
reg(
  'OSDLR_EL1',
  [2, 0, 1, 3, 4],
  () => 0n,
  () => undefined,
);
reg(
  'MDCCINT_EL1',
  [2, 0, 0, 2, 0],
  () => 0n,
  () => undefined,
);
reg(
  'PMUSERENR_EL0',
  [3, 3, 9, 14, 0],
  () => 0n,
  () => undefined,
);

export const SYSREGS: ReadonlyMap<number, SysRegDef> = new Map(defs.map((d) => [d.key, d]));

export function sysregName(op0: number, op1: number, crn: number, crm: number, op2: number): string {
  const d = SYSREGS.get(sysregKey(op0, op1, crn, crm, op2));
  return d ? d.name : `s${op0}_${op1}_c${crn}_c${crm}_${op2}`;
}

/** Unallocated ID-space registers (op0=3, op1=0, CRn=0, CRm=1..7) read as zero (Arm ARM D19.2). */
export function isRazIdSpace(key: number): boolean {
  const op0 = key >>> 14;
  const op1 = (key >>> 11) & 7;
  const crn = (key >>> 7) & 15;
  const crm = (key >>> 3) & 15;
  return op0 === 3 && op1 === 0 && crn === 0 && crm >= 1 && crm <= 7;
}
