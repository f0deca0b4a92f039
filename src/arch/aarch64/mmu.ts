// Stage-1 translation for the EL1&0 regime with the 4 KiB granule (Arm ARM D8): TTBR0/TTBR1
// selection by VA bit 55, TxSZ ranges, EPDx, hierarchical APTable/UXNTable/PXNTable, AP[2:1],
// UXN/PXN (and the implicit PXN on EL0-writable pages), WXN, PAN and the access flag.
// Table walks read physical memory; when EL2 supplies a stage-2 hook, descriptor addresses are
// IPAs and go through it. The result feeds the CPU's software TLB.

import { Access, type Cpu } from './cpu.js';

export interface WalkResult {
  /** 0 when translation succeeded, else the fault status code without the level bits. */
  fault: number;
  level: number;
  s1ptw: boolean;
  /** Output address (IPA when stage 2 follows). */
  pa: number;
  /** Allowed accesses for the regime that walked: 1 read, 2 write, 4 execute. */
  perms: number;
  /** Memory attributes (MAIR_EL1 byte selected by AttrIndx) and shareability (SH[1:0]), for PAR_EL1. */
  attr: number;
  sh: number;
}

export const FSC_ADDR_SIZE = 0x00;
export const FSC_TRANSLATION = 0x04;
export const FSC_ACCESS_FLAG = 0x08;
export const FSC_PERMISSION = 0x0c;
export const FSC_WALK_EXTERNAL = 0x14;

const TWO32 = 4294967296;
const PA_LIMIT = 2 ** 48;

function fault(fsc: number, level: number, s1ptw = false): WalkResult {
  return { fault: fsc, level, s1ptw, pa: 0, perms: 0, attr: 0, sh: 0 };
}

/** Read a descriptor at physical (or intermediate physical) address `pa`. */
function readDesc(cpu: Cpu, ipa: number): bigint | null {
  let pa = ipa;
  const s2 = cpu.el2?.stage2;
  if (s2) pa = s2(cpu, ipa - (ipa & 0xfff), Access.Read, ipa) + (ipa & 0xfff);
  const ro = pa - cpu.bus.ramBase;
  if (ro < 0 || ro + 8 > cpu.bus.ram.byteLength) return null;
  const r = cpu.bus.ram;
  const dv = new DataView(r.buffer, r.byteOffset + ro, 8);
  return dv.getBigUint64(0, true);
}

export function mmuWalk(cpu: Cpu, va: number, acc: Access, el: number): WalkResult {
  const s = cpu.sys;
  const sctlr = s.sctlrEl1;
  if ((sctlr & 1n) === 0n) {
    // MMU off: flat mapping, any access allowed, addresses beyond the PA size fault.
    if (va < 0 || va >= PA_LIMIT) return fault(FSC_ADDR_SIZE, 0);
    // With stage 1 off, data accesses are Device-nGnRnE and Outer Shareable (Arm ARM D8.2.11).
    return { fault: 0, level: 0, s1ptw: false, pa: va, perms: 7, attr: 0x00, sh: 2 };
  }
  const tcr = s.tcrEl1;
  const upper = va < 0;
  const txsz = Number((upper ? tcr >> 16n : tcr) & 0x3fn);
  const epd = upper ? (tcr >> 23n) & 1n : (tcr >> 7n) & 1n;
  const inputSize = 64 - Math.min(Math.max(txsz, 16), 39);
  const range = 2 ** inputSize;
  if (upper ? va < -range : va >= range) return fault(FSC_TRANSLATION, 0);
  if (epd !== 0n) return fault(FSC_TRANSLATION, 0);
  const ttbr = upper ? s.ttbr1El1 : s.ttbr0El1;
  let level = 4 - Math.ceil((inputSize - 12) / 9);
  // Offset of `va` within its region, as an unsigned Number below 2^48.
  const off = upper ? va + range : va;
  // BADDR, bits 47:1; a start-level table with fewer than 512 entries may be aligned below 4 KiB.
  let table = Number(ttbr & 0x0000fffffffffffen);
  let apTable = 0;
  let xnTable = 0;
  let pxnTable = 0;
  for (;;) {
    const shift = 12 + 9 * (3 - level);
    const idx = Math.floor(off / 2 ** shift) % 512;
    const desc = readDesc(cpu, table + idx * 8);
    if (desc === null) return fault(FSC_WALK_EXTERNAL, level, false);
    const lo = Number(desc & 0xffffffffn);
    const hi = Number(desc >> 32n);
    if ((lo & 1) === 0) return fault(FSC_TRANSLATION, level);
    const isTable = (lo & 2) !== 0 && level < 3;
    const out = (hi & 0xffff) * TWO32 + (lo >>> 12) * 4096;
    if (isTable) {
      apTable |= (hi >>> 29) & 3;
      xnTable |= (hi >>> 28) & 1;
      pxnTable |= (hi >>> 27) & 1;
      table = out;
      level++;
      continue;
    }
    if (level === 3 ? (lo & 2) === 0 : level === 0) return fault(FSC_TRANSLATION, level);
    // Leaf (block or page).
    const blockSize = 2 ** shift;
    const base = out - (out % blockSize);
    if ((lo & 0x400) === 0) return fault(FSC_ACCESS_FLAG, level);
    const ap = (lo >>> 6) & 3;
    const uxn = ((hi >>> 22) & 1) | xnTable;
    const pxn = ((hi >>> 21) & 1) | pxnTable;
    const el0Read = (ap & 1) !== 0 && (apTable & 1) === 0;
    const readOnly = (ap & 2) !== 0 || (apTable & 2) !== 0;
    const el0Write = el0Read && !readOnly;
    const wxn = (sctlr & (1n << 19n)) !== 0n;
    let perms: number;
    if (el === 0) {
      perms = (el0Read ? 1 : 0) | (el0Write ? 2 : 0) | (uxn === 0 && !(wxn && el0Write) ? 4 : 0);
    } else {
      const panBlocks = cpu.pan === 1 && el0Read;
      const r = !panBlocks;
      const w = !panBlocks && !readOnly;
      const x = pxn === 0 && !el0Write && !(wxn && !readOnly);
      perms = (r ? 1 : 0) | (w ? 2 : 0) | (x ? 4 : 0);
    }
    const need = acc === Access.Read ? 1 : acc === Access.Write ? 2 : 4;
    if ((perms & need) === 0) return fault(FSC_PERMISSION, level);
    const pa = base + (off % blockSize);
    const attr = Number((s.mairEl1 >> BigInt(8 * ((lo >>> 2) & 7))) & 0xffn);
    return { fault: 0, level, s1ptw: false, pa, perms, attr, sh: (lo >>> 8) & 3 };
  }
}
