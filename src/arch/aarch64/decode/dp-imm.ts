// Rows of the "Data Processing -- Immediate" encodings (Arm ARM C4.1.86): PC-relative addressing,
// add/subtract (immediate), logical (immediate), move wide, bitfield and extract.
//
// Alias rows (CMP, MOV to/from SP, LSL/LSR/ASR, SXT*/UXT*) exist where a specialised execute
// function makes the common form faster; the decoder prefers them because they fix more bits, or,
// for LSL (whose condition imms + 1 == immr is not a fixed bit pattern), because the general UBFM
// row's `ok` guard leaves those encodings to it. Unallocated forms (sf/N mismatch, 32-bit fields
// with bit 5 set, reserved bitmask immediates, MOVN/MOVZ/MOVK with opc 01) match no row.
// The disassembly follows llvm-mc's choice of preferred aliases.

import { group, insn } from './table.js';
import * as x from '../exec/dp-imm.js';
import { gpr } from '../disasm-util.js';

const rd = (i: number): number => i & 31;
const rn = (i: number): number => (i >>> 5) & 31;
const sfOf = (i: number): number => i >>> 31;

// ---- PC-relative addressing ----

const adrImm = (i: number): number => ((i << 8) >> 13) * 4 + ((i >>> 29) & 3);

// ---- add/subtract (immediate) ----

function fmtAddSubImm(i: number): string {
  const sf = sfOf(i);
  const sub = (i >>> 30) & 1;
  const s = (i >>> 29) & 1;
  const sh = (i >>> 22) & 1;
  const imm12 = (i >>> 10) & 0xfff;
  const d = rd(i);
  const n = rn(i);
  const immStr = `#${imm12}${sh ? ', lsl #12' : ''}`;
  if (!s && !sub && !sh && imm12 === 0 && (d === 31 || n === 31)) {
    return `mov\t${gpr(sf, d, true)}, ${gpr(sf, n, true)}`;
  }
  if (s && d === 31) return `${sub ? 'cmp' : 'cmn'}\t${gpr(sf, n, true)}, ${immStr}`;
  const m = (sub ? 'sub' : 'add') + (s ? 's' : '');
  return `${m}\t${gpr(sf, d, !s)}, ${gpr(sf, n, true)}, ${immStr}`;
}

// ---- logical (immediate) ----

/** Whether `v` (of `width` bits) is a single 16-bit chunk at a multiple of 16: a MOVZ value. */
function movzAble(v: bigint, width: number): boolean {
  for (let sh = 0; sh < width; sh += 16) {
    if ((v & ~(0xffffn << BigInt(sh))) === 0n) return true;
  }
  return false;
}

/** Whether MOVZ or MOVN can make `v`; then llvm-mc keeps ORR rather than the MOV alias. */
function movWideAble(v: bigint, width: number): boolean {
  const mask = width === 64 ? 0xffffffffffffffffn : 0xffffffffn;
  return movzAble(v & mask, width) || movzAble(~v & mask, width);
}

const signed = (v: bigint, width: number): bigint => BigInt.asIntN(width, v);

function fmtLogImm(i: number): string {
  const sf = sfOf(i);
  const opc = (i >>> 29) & 3;
  const width = sf ? 64 : 32;
  const v = sf ? x.logImmValue(i) : x.logImmValue(i) & 0xffffffffn;
  const d = rd(i);
  const n = rn(i);
  const hex = `#0x${v.toString(16)}`;
  if (opc === 3 && d === 31) return `tst\t${gpr(sf, n)}, ${hex}`;
  if (opc === 1 && n === 31 && !movWideAble(v, width)) return `mov\t${gpr(sf, d, true)}, #${signed(v, width)}`;
  const m = ['and', 'orr', 'eor', 'ands'][opc]!;
  return `${m}\t${gpr(sf, d, opc !== 3)}, ${gpr(sf, n)}, ${hex}`;
}

// ---- move wide ----

function fmtMovWide(i: number): string {
  const sf = sfOf(i);
  const opc = (i >>> 29) & 3;
  const hw = (i >>> 21) & 3;
  const imm16 = (i >>> 5) & 0xffff;
  const d = gpr(sf, rd(i));
  const width = sf ? 64 : 32;
  const shifted = BigInt(imm16) << BigInt(16 * hw);
  const lsl = hw ? `, lsl #${16 * hw}` : '';
  if (opc === 2) {
    if (imm16 !== 0 || hw === 0) return `mov\t${d}, #${signed(shifted, width)}`;
    return `movz\t${d}, #${imm16}${lsl}`;
  }
  if (opc === 0) {
    if ((imm16 !== 0 || hw === 0) && !(sf === 0 && imm16 === 0xffff)) {
      return `mov\t${d}, #${signed(~shifted, width)}`;
    }
    return `movn\t${d}, #${imm16}${lsl}`;
  }
  return `movk\t${d}, #${imm16}${lsl}`;
}

// ---- bitfield ----

function fmtBitfield(i: number): string {
  const sf = sfOf(i);
  const opc = (i >>> 29) & 3;
  const r = (i >>> 16) & 63;
  const s = (i >>> 10) & 63;
  const size = sf ? 64 : 32;
  const d = gpr(sf, rd(i));
  const n = gpr(sf, rn(i));
  const wN = gpr(0, rn(i));
  if (opc === 0) {
    if (s === size - 1) return `asr\t${d}, ${n}, #${r}`;
    if (s < r) return `sbfiz\t${d}, ${n}, #${size - r}, #${s + 1}`;
    if (r === 0 && s === 7) return `sxtb\t${d}, ${wN}`;
    if (r === 0 && s === 15) return `sxth\t${d}, ${wN}`;
    if (r === 0 && s === 31 && sf) return `sxtw\t${d}, ${wN}`;
    return `sbfx\t${d}, ${n}, #${r}, #${s - r + 1}`;
  }
  if (opc === 1) {
    if (s < r) return `bfi\t${d}, ${n}, #${size - r}, #${s + 1}`;
    return `bfxil\t${d}, ${n}, #${r}, #${s - r + 1}`;
  }
  if (s === size - 1) return `lsr\t${d}, ${n}, #${r}`;
  if (s + 1 === r) return `lsl\t${d}, ${n}, #${size - 1 - s}`;
  if (s < r) return `ubfiz\t${d}, ${n}, #${size - r}, #${s + 1}`;
  if (!sf && r === 0 && s === 7) return `uxtb\t${d}, ${n}`;
  if (!sf && r === 0 && s === 15) return `uxth\t${d}, ${n}`;
  return `ubfx\t${d}, ${n}, #${r}, #${s - r + 1}`;
}

/** UBFM is LSL exactly when imms + 1 == immr; the two rows split the encodings between them. */
const isLsl = (i: number): boolean => ((i >>> 10) & 63) + 1 === ((i >>> 16) & 63);
const notLsl = (i: number): boolean => !isLsl(i);

// ---- extract ----

function fmtExtr(i: number): string {
  const sf = sfOf(i);
  const m = (i >>> 16) & 31;
  const lsb = (i >>> 10) & 63;
  if (m === rn(i)) return `ror\t${gpr(sf, rd(i))}, ${gpr(sf, rn(i))}, #${lsb}`;
  return `extr\t${gpr(sf, rd(i))}, ${gpr(sf, rn(i))}, ${gpr(sf, m)}, #${lsb}`;
}

export const dpImm = group('Data processing -- immediate', [
  insn('ADR', '0 immlo:2 10000 immhi:19 Rd:5', x.adr, (i) => `adr\t${gpr(1, rd(i))}, #${adrImm(i)}`),
  insn('ADRP', '1 immlo:2 10000 immhi:19 Rd:5', x.adrp, (i) => `adrp\t${gpr(1, rd(i))}, #${adrImm(i) * 4096}`),

  insn('ADD (immediate) 64', '1 0 0 100010 sh imm12:12 Rn:5 Rd:5', x.addImm64, fmtAddSubImm),
  insn('MOV (to/from SP) 64', '1 0 0 100010 0 000000000000 Rn:5 Rd:5', x.movSp64, fmtAddSubImm),
  insn('ADDS (immediate) 64', '1 0 1 100010 sh imm12:12 Rn:5 Rd:5', x.addsImm64, fmtAddSubImm),
  insn('CMN (immediate) 64', '1 0 1 100010 sh imm12:12 Rn:5 11111', x.cmnImm64, fmtAddSubImm),
  insn('SUB (immediate) 64', '1 1 0 100010 sh imm12:12 Rn:5 Rd:5', x.subImm64, fmtAddSubImm),
  insn('SUBS (immediate) 64', '1 1 1 100010 sh imm12:12 Rn:5 Rd:5', x.subsImm64, fmtAddSubImm),
  insn('CMP (immediate) 64', '1 1 1 100010 sh imm12:12 Rn:5 11111', x.cmpImm64, fmtAddSubImm),
  insn('ADD (immediate) 32', '0 0 0 100010 sh imm12:12 Rn:5 Rd:5', x.addImm32, fmtAddSubImm),
  insn('ADDS (immediate) 32', '0 0 1 100010 sh imm12:12 Rn:5 Rd:5', x.addsImm32, fmtAddSubImm),
  insn('CMN (immediate) 32', '0 0 1 100010 sh imm12:12 Rn:5 11111', x.cmnImm32, fmtAddSubImm),
  insn('SUB (immediate) 32', '0 1 0 100010 sh imm12:12 Rn:5 Rd:5', x.subImm32, fmtAddSubImm),
  insn('SUBS (immediate) 32', '0 1 1 100010 sh imm12:12 Rn:5 Rd:5', x.subsImm32, fmtAddSubImm),
  insn('CMP (immediate) 32', '0 1 1 100010 sh imm12:12 Rn:5 11111', x.cmpImm32, fmtAddSubImm),

  insn('AND (immediate) 64', '1 00 100100 N immr:6 imms:6 Rn:5 Rd:5', x.andImm64, fmtLogImm, { ok: x.logImmOk }),
  insn('ORR (immediate) 64', '1 01 100100 N immr:6 imms:6 Rn:5 Rd:5', x.orrImm64, fmtLogImm, { ok: x.logImmOk }),
  insn('EOR (immediate) 64', '1 10 100100 N immr:6 imms:6 Rn:5 Rd:5', x.eorImm64, fmtLogImm, { ok: x.logImmOk }),
  insn('ANDS (immediate) 64', '1 11 100100 N immr:6 imms:6 Rn:5 Rd:5', x.andsImm64, fmtLogImm, { ok: x.logImmOk }),
  insn('AND (immediate) 32', '0 00 100100 0 immr:6 imms:6 Rn:5 Rd:5', x.andImm32, fmtLogImm, { ok: x.logImmOk }),
  insn('ORR (immediate) 32', '0 01 100100 0 immr:6 imms:6 Rn:5 Rd:5', x.orrImm32, fmtLogImm, { ok: x.logImmOk }),
  insn('EOR (immediate) 32', '0 10 100100 0 immr:6 imms:6 Rn:5 Rd:5', x.eorImm32, fmtLogImm, { ok: x.logImmOk }),
  insn('ANDS (immediate) 32', '0 11 100100 0 immr:6 imms:6 Rn:5 Rd:5', x.andsImm32, fmtLogImm, { ok: x.logImmOk }),

  insn('MOVN 64', '1 00 100101 hw:2 imm16:16 Rd:5', x.movn64, fmtMovWide),
  insn('MOVZ 64', '1 10 100101 hw:2 imm16:16 Rd:5', x.movz64, fmtMovWide),
  insn('MOVK 64', '1 11 100101 hw:2 imm16:16 Rd:5', x.movk64, fmtMovWide),
  insn('MOVN 32', '0 00 100101 0 hw imm16:16 Rd:5', x.movn32, fmtMovWide),
  insn('MOVZ 32', '0 10 100101 0 hw imm16:16 Rd:5', x.movz32, fmtMovWide),
  insn('MOVK 32', '0 11 100101 0 hw imm16:16 Rd:5', x.movk32, fmtMovWide),

  insn('SBFM 64', '1 00 100110 1 immr:6 imms:6 Rn:5 Rd:5', x.sbfm64, fmtBitfield),
  insn('ASR (immediate) 64', '1 00 100110 1 immr:6 111111 Rn:5 Rd:5', x.asrImm64, fmtBitfield),
  insn('SXTB 64', '1 00 100110 1 000000 000111 Rn:5 Rd:5', x.sxt64, fmtBitfield),
  insn('SXTH 64', '1 00 100110 1 000000 001111 Rn:5 Rd:5', x.sxt64, fmtBitfield),
  insn('SXTW', '1 00 100110 1 000000 011111 Rn:5 Rd:5', x.sxt64, fmtBitfield),
  insn('BFM 64', '1 01 100110 1 immr:6 imms:6 Rn:5 Rd:5', x.bfm64, fmtBitfield),
  insn('UBFM 64', '1 10 100110 1 immr:6 imms:6 Rn:5 Rd:5', x.ubfm64, fmtBitfield, { ok: notLsl }),
  insn('LSL (immediate) 64', '1 10 100110 1 immr:6 imms:6 Rn:5 Rd:5', x.lslImm64, fmtBitfield, { ok: isLsl }),
  insn('LSR (immediate) 64', '1 10 100110 1 immr:6 111111 Rn:5 Rd:5', x.lsrImm64, fmtBitfield),
  insn('UBFX #0, #8 64', '1 10 100110 1 000000 000111 Rn:5 Rd:5', x.uxt, fmtBitfield),
  insn('UBFX #0, #16 64', '1 10 100110 1 000000 001111 Rn:5 Rd:5', x.uxt, fmtBitfield),
  insn('UBFX #0, #32 64', '1 10 100110 1 000000 011111 Rn:5 Rd:5', x.uxt, fmtBitfield),
  insn('SBFM 32', '0 00 100110 0 0 immr:5 0 imms:5 Rn:5 Rd:5', x.sbfm32, fmtBitfield),
  insn('ASR (immediate) 32', '0 00 100110 0 0 immr:5 0 11111 Rn:5 Rd:5', x.asrImm32, fmtBitfield),
  insn('SXTB 32', '0 00 100110 0 0 00000 0 00111 Rn:5 Rd:5', x.sxt32, fmtBitfield),
  insn('SXTH 32', '0 00 100110 0 0 00000 0 01111 Rn:5 Rd:5', x.sxt32, fmtBitfield),
  insn('BFM 32', '0 01 100110 0 0 immr:5 0 imms:5 Rn:5 Rd:5', x.bfm32, fmtBitfield),
  insn('UBFM 32', '0 10 100110 0 0 immr:5 0 imms:5 Rn:5 Rd:5', x.ubfm32, fmtBitfield, { ok: notLsl }),
  insn('LSL (immediate) 32', '0 10 100110 0 0 immr:5 0 imms:5 Rn:5 Rd:5', x.lslImm32, fmtBitfield, { ok: isLsl }),
  insn('LSR (immediate) 32', '0 10 100110 0 0 immr:5 0 11111 Rn:5 Rd:5', x.lsrImm32, fmtBitfield),
  insn('UXTB', '0 10 100110 0 0 00000 0 00111 Rn:5 Rd:5', x.uxt, fmtBitfield),
  insn('UXTH', '0 10 100110 0 0 00000 0 01111 Rn:5 Rd:5', x.uxt, fmtBitfield),

  insn('EXTR 64', '1 00 100111 1 0 Rm:5 imms:6 Rn:5 Rd:5', x.extr64, fmtExtr),
  insn('EXTR 32', '0 00 100111 0 0 Rm:5 0 imms:5 Rn:5 Rd:5', x.extr32, fmtExtr),
]);
