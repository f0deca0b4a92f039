// System instructions (Arm ARM C5): exception generation (SVC/HVC/SMC/BRK), hints (WFI/WFE,
// YIELD, SEV...), barriers, PSTATE writes (MSR immediate), MRS/MSR on the system-register table,
// and SYS operations: cache maintenance, TLB invalidation and address translation (AT).

import { Access, type Cpu } from '../cpu.js';
import { EC } from '../esr.js';
import { isRazIdSpace, SYSREGS } from '../sysreg.js';
import { mmuWalk } from '../mmu.js';
import { rz, wz } from './common.js';

const IL = 1 << 25;

// SVC completes before the exception it generates is taken, so it counts as a retired
// instruction (the loop's own count is skipped when an exception is thrown). HVC and SMC return
// from EL2 like calls, so the loop counts them.

export function svc(cpu: Cpu, i: number): void {
  cpu.icount++;
  cpu.syncException(EC.SVC64, (i >>> 5) & 0xffff, cpu.pc + 4);
}

export function hvc(cpu: Cpu, i: number): void {
  // Without EL2, or from EL0, HVC is UNDEFINED.
  if (cpu.el === 0 || cpu.el2 === null) cpu.undefined();
  cpu.callEl2((EC.HVC64 << 26) | IL | ((i >>> 5) & 0xffff), cpu.pc + 4);
}

export function smc(cpu: Cpu, i: number): void {
  if (cpu.el === 0 || cpu.el2 === null) cpu.undefined();
  cpu.callEl2((EC.SMC64 << 26) | IL | ((i >>> 5) & 0xffff), cpu.pc + 4);
}

export function brk(cpu: Cpu, i: number): void {
  cpu.syncException(EC.BRK64, (i >>> 5) & 0xffff);
}

export function udf(cpu: Cpu): void {
  cpu.undefined();
}

export function hint(cpu: Cpu, i: number): void {
  const op = (i >>> 5) & 0x7f; // CRm:op2
  switch (op) {
    case 2: // WFE
      if (cpu.eventReg) {
        cpu.eventReg = false;
        break;
      }
      return waitForInterrupt(cpu, 1);
    case 3: // WFI
      return waitForInterrupt(cpu, 0);
    case 4: // SEV
    case 5: // SEVL
      cpu.eventReg = true;
      break;
    default:
      break; // NOP, YIELD and every other hint execute as NOP
  }
  cpu.pc += 4;
}

function waitForInterrupt(cpu: Cpu, wfe: number): void {
  // At EL0, SCTLR_EL1.nTWI/nTWE == 0 traps to EL1.
  if (cpu.el === 0 && (cpu.sys.sctlrEl1 & (wfe ? 1n << 18n : 1n << 16n)) === 0n) {
    cpu.syncException(EC.WFX, (1 << 24) | (0xe << 20) | wfe);
  }
  if (cpu.el === 1 && cpu.el2?.trapWfi) {
    // EL2 emulates the wait; it moves the PC past the WFI when the wait is over.
    cpu.callEl2((EC.WFX << 26) | IL | (1 << 24) | (0xe << 20) | wfe, cpu.pc);
    return;
  }
  cpu.pc += 4;
  if (!cpu.wakeupPending()) {
    cpu.waiting = true;
    cpu.requestExit();
  }
}

export function barrier(cpu: Cpu, i: number): void {
  const op2 = (i >>> 5) & 7;
  if (op2 === 2) cpu.exclPa = -1; // CLREX
  if (op2 === 6) cpu.requestExit(); // ISB: context synchronisation, re-check interrupts
  cpu.pc += 4;
}

/** MSR (immediate): PSTATE fields. op1:op2 selects the field, CRm is the value. */
export function msrImm(cpu: Cpu, i: number): void {
  const op1 = (i >>> 16) & 7;
  const op2 = (i >>> 5) & 7;
  const crm = (i >>> 8) & 15;
  const sel = (op1 << 3) | op2;
  if (cpu.el === 0 && !(sel === 0o36 || sel === 0o37)) cpu.undefined();
  switch (sel) {
    case 0o05: // SPSel
      cpu.setSpsel(crm & 1);
      break;
    case 0o36: // DAIFSet
    case 0o37: // DAIFClr
      if (cpu.el === 0 && (cpu.sys.sctlrEl1 & (1n << 9n)) === 0n) trapSys(cpu, i);
      cpu.daif = sel === 0o36 ? cpu.daif | (crm << 6) : cpu.daif & ~(crm << 6);
      cpu.requestExit();
      break;
    case 0o04: // PAN
      cpu.pan = crm & 1;
      cpu.tlbRefreshPan();
      break;
    default:
      cpu.undefined();
  }
  cpu.pc += 4;
}

/** Trap of an EL0 system access disabled by an EL1 control bit: EC 0x18 with the MRS/MSR ISS. */
function trapSys(cpu: Cpu, i: number): never {
  return cpu.syncException(EC.SYSREG, sysIss(i));
}

/** A system-register access that EL2 asked to trap (HCR_EL2.TVM, TID3 and the like) goes to EL2. */
function trapSysToEl2(cpu: Cpu, i: number): never {
  return cpu.trapToEl2((EC.SYSREG << 26) | IL | sysIss(i), cpu.pc);
}

/** The ISS of EC 0x18: Op0, Op2, Op1, CRn, Rt, CRm, Direction (1 = read). */
function sysIss(i: number): number {
  const op0 = (i >>> 19) & 3;
  const op1 = (i >>> 16) & 7;
  const crn = (i >>> 12) & 15;
  const crm = (i >>> 8) & 15;
  const op2 = (i >>> 5) & 7;
  const rt = i & 31;
  const read = (i >>> 21) & 1;
  return (op0 << 20) | (op2 << 17) | (op1 << 14) | (crn << 10) | (rt << 5) | (crm << 1) | read;
}

export function mrs(cpu: Cpu, i: number): void {
  const key = (i >>> 5) & 0xffff;
  if (cpu.el === 1 && cpu.el2?.trapSysreg?.(cpu, key, true)) trapSysToEl2(cpu, i);
  const d = SYSREGS.get(key);
  let v: bigint;
  if (d === undefined || d.read === null) {
    const ext = d === undefined && cpu.el === 1 ? (cpu.sysregHook?.read(cpu, key) ?? null) : null;
    if (ext !== null) v = ext;
    else if (d === undefined && cpu.el === 1 && isRazIdSpace(key)) v = 0n;
    else return cpu.undefined();
  } else {
    if (cpu.el === 0) {
      if (d.el0 === 'no') cpu.undefined();
      if (d.el0 !== 'yes' && !d.el0(cpu)) trapSys(cpu, i);
    }
    v = d.read(cpu);
    if (d.name === 'DCZID_EL0' && (cpu.sys.sctlrEl1 & (1n << 14n)) === 0n && cpu.el === 0) v |= 0x10n;
  }
  cpu.x[wz(i & 31)] = v;
  cpu.pc += 4;
}

export function msrReg(cpu: Cpu, i: number): void {
  const key = (i >>> 5) & 0xffff;
  if (cpu.el === 1 && cpu.el2?.trapSysreg?.(cpu, key, false)) trapSysToEl2(cpu, i);
  const d = SYSREGS.get(key);
  if (d === undefined && cpu.el === 1 && cpu.sysregHook?.write(cpu, key, cpu.x[rz(i & 31)]!)) {
    cpu.pc += 4;
    return;
  }
  if (d === undefined || d.write === null) return cpu.undefined();
  if (cpu.el === 0) {
    if (d.el0 === 'no') cpu.undefined();
    if (d.el0 !== 'yes' && !d.el0(cpu)) trapSys(cpu, i);
  }
  d.write(cpu, cpu.x[rz(i & 31)]!);
  cpu.pc += 4;
}

/** SYS: DC, IC, TLBI and AT, selected by op1:CRn:CRm:op2. */
export function sys(cpu: Cpu, i: number): void {
  const op1 = (i >>> 16) & 7;
  const crn = (i >>> 12) & 15;
  const crm = (i >>> 8) & 15;
  const op2 = (i >>> 5) & 7;
  const t = rz(i & 31);
  const el0 = cpu.el === 0;
  if (crn === 8) {
    // TLBI: every variant invalidates the whole software TLB (a superset of what is asked).
    if (el0) cpu.undefined();
    cpu.tlbFlushAll();
  } else if (crn === 7) {
    if (op1 === 3 && crm === 4 && op2 === 1) {
      // DC ZVA: zero a 64-byte block; EL0 needs SCTLR_EL1.DZE.
      if (el0 && (cpu.sys.sctlrEl1 & (1n << 14n)) === 0n) trapSys(cpu, i);
      const va = cpu.addr(t, 0);
      const base = va - (va & 63);
      for (let k = 0; k < 64; k += 8) cpu.write64(base + k, 0n);
    } else if (crm === 8 && op1 === 0 && op2 <= 3) {
      if (el0) cpu.undefined();
      addressTranslate(cpu, cpu.addr(t, 0), op2);
    } else if (el0) {
      // DC CVAC/CVAU/CIVAC/CVAP and IC IVAU at EL0 need SCTLR_EL1.UCI; the rest is EL1 only.
      const userOp = op1 === 3 && (crm === 5 || crm === 10 || crm === 11 || crm === 12 || crm === 14);
      if (!userOp) cpu.undefined();
      if ((cpu.sys.sctlrEl1 & (1n << 26n)) === 0n) trapSys(cpu, i);
    }
    // Other cache maintenance: caches are not modelled (the decode cache is keyed by
    // instruction word, so self-modifying code needs no IC invalidation).
  } else if (el0) {
    cpu.undefined();
  }
  cpu.pc += 4;
}

/** AT S1E1R/S1E1W/S1E0R/S1E0W: walk without raising, report in PAR_EL1. */
function addressTranslate(cpu: Cpu, va: number, op2: number): void {
  const write = (op2 & 1) === 1;
  const el = op2 >= 2 ? 0 : 1;
  const r = mmuWalk(cpu, va, write ? Access.Write : Access.Read, el);
  // PAR_EL1 (Arm ARM D19.2.104): bit 11 is RES1 in both formats.
  if (r.fault !== 0) {
    const fst = r.fault < 0x10 ? r.fault | r.level : r.fault;
    cpu.sys.parEl1 = BigInt(0x800 | (fst << 1) | 1 | (r.s1ptw ? 1 << 8 : 0));
  } else {
    // ATTR in bits 63:56, PA in 47:12, NS (bit 9, always 1: one Non-secure state), SH in 8:7.
    const pa = r.pa - (r.pa & 0xfff);
    cpu.sys.parEl1 = (BigInt(r.attr) << 56n) | BigInt(pa) | BigInt(0x800 | 0x200 | (r.sh << 7));
  }
}
