// Shared pieces of the GICv3 MMIO frames: access-size handling and the bitmap/priority/config
// registers that the distributor (SPIs) and the redistributor SGI_base frame (SGIs and PPIs) lay
// out identically (IHI 0069 chapter 12). Accesses the architecture does not define (wrong size,
// misaligned) read as zero and are ignored on write: guest input never throws.

import type { IntBank } from './gic.js';
import { ID_BASE, ID_REGS } from './regs.js';

/** A frame whose registers are 32-bit, some 64-bit pairs and some byte-accessible. */
export interface Regs32 {
  read32(off: number): number;
  write32(off: number, v: number): void;
  /** Byte-accessible registers (IPRIORITYR): return null when `off` is not one. */
  read8(off: number): number | null;
  /** Returns false when `off` is not byte-accessible. */
  write8(off: number, v: number): boolean;
}

export function mmioRead(r: Regs32, off: number, size: number): bigint {
  if (off < 0 || off % size !== 0) return 0n;
  switch (size) {
    case 4:
      return BigInt(r.read32(off) >>> 0);
    case 8:
      // 64-bit registers (GICD_IROUTER, GICR_TYPER) are two 32-bit halves, low half first.
      return (BigInt(r.read32(off + 4) >>> 0) << 32n) | BigInt(r.read32(off) >>> 0);
    case 1: {
      const b = r.read8(off);
      if (b !== null) return BigInt(b);
      return BigInt((r.read32(off & ~3) >>> ((off & 3) * 8)) & 0xff);
    }
    case 2:
      return BigInt((r.read32(off & ~3) >>> ((off & 3) * 8)) & 0xffff);
    default:
      return 0n;
  }
}

export function mmioWrite(r: Regs32, off: number, size: number, value: bigint): void {
  if (off < 0 || off % size !== 0) return;
  switch (size) {
    case 4:
      r.write32(off, Number(value & 0xffffffffn));
      return;
    case 8:
      r.write32(off, Number(value & 0xffffffffn));
      r.write32(off + 4, Number((value >> 32n) & 0xffffffffn));
      return;
    case 1:
      r.write8(off, Number(value & 0xffn));
      return;
    case 2: {
      // Only the byte-accessible registers take halfword writes, as two byte writes.
      const v = Number(value & 0xffffn);
      if (r.write8(off, v & 0xff)) r.write8(off + 1, v >>> 8);
      return;
    }
    default:
      return;
  }
}

/** Peripheral/component ID registers at 0xFFD0..0xFFFC (PIDR2 carries ArchRev = 3). */
export function idReg(off: number): number | null {
  if (off < ID_BASE || off > 0xfffc) return null;
  return ID_REGS[(off - ID_BASE) >>> 2] ?? 0;
}

/**
 * The 0x080..0x3FF bitmap registers: IGROUPR, IS/ICENABLER, IS/ICPENDR, IS/ICACTIVER, selected by
 * `reg` = (offset >> 7) - 1, word `w` of `bank`, with `valid` the implemented bits.
 */
export function bitmapRead(b: IntBank, w: number, reg: number, valid: number): number {
  let v: number;
  switch (reg) {
    case 0:
      v = b.group[w]!;
      break;
    case 1:
    case 2:
      v = b.enabled[w]!;
      break;
    case 3:
    case 4:
      v = b.pending(w);
      break;
    default:
      v = b.active[w]!;
      break;
  }
  return (v & valid) >>> 0;
}

export function bitmapWrite(b: IntBank, w: number, reg: number, value: number, valid: number): void {
  const v = value & valid;
  switch (reg) {
    case 0:
      b.group[w] = (b.group[w]! & ~valid) | v;
      return;
    case 1:
      b.enabled[w] |= v;
      return;
    case 2:
      b.enabled[w] &= ~v;
      return;
    case 3:
      b.latch[w] |= v;
      return;
    case 4:
      // Clears the latch; a level-sensitive interrupt whose line is high stays pending.
      b.latch[w] &= ~v;
      return;
    case 5:
      b.active[w] |= v;
      return;
    default:
      b.active[w] &= ~v;
      return;
  }
}

/** Four priority bytes of INTIDs 32w + 4q .. +3, little-endian as IPRIORITYR<n> lays them out. */
export function priorityRead(b: IntBank, first: number, valid: number): number {
  let v = 0;
  for (let i = 0; i < 4; i++) {
    const id = first + i;
    if ((valid >>> (id & 31)) & 1) v |= b.prio[id]! << (8 * i);
  }
  return v >>> 0;
}

/**
 * ICFGR half-word `h` (INTIDs 16h..16h+15 of word `w`): Int_config[1] of each 2-bit field is the
 * edge bit, Int_config[0] is RES0. `writable` limits which INTIDs may change.
 */
export function cfgRead(b: IntBank, w: number, h: number, valid: number): number {
  const e = (b.edge[w]! & valid) >>> (16 * h);
  let v = 0;
  for (let j = 0; j < 16; j++) if ((e >>> j) & 1) v |= 2 << (2 * j);
  return v >>> 0;
}

export function cfgWrite(b: IntBank, w: number, h: number, value: number, writable: number): void {
  let e = 0;
  for (let j = 0; j < 16; j++) if ((value >>> (2 * j + 1)) & 1) e |= 1 << (16 * h + j);
  const mask = writable & (0xffff << (16 * h));
  b.edge[w] = (b.edge[w]! & ~mask) | (e & mask);
}
