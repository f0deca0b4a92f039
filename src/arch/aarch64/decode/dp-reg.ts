// Rows of the "Data Processing -- Register" encodings (Arm ARM C4.1.87): logical and add/subtract
// (shifted register), add/subtract (extended register), add/subtract with carry, conditional
// compare and select, and data-processing with one, two and three sources.
//
// Besides one general row per instruction, unshifted forms (imm6 == 0: MOV, ADD, CMP, ...), ADD
// with LSL, CSET/CSETM and MUL have rows of their own with specialised execute functions; they
// fix more bits, so the decoder prefers them. Unallocated forms (ROR shift for add/subtract,
// 32-bit shift amounts ≥ 32, extend amounts > 4, opt != 00, S for conditional select, 64-bit-only
// opcodes with sf 0 and the reverse) match no row or are refused by `ok`.
// The disassembly follows llvm-mc's choice of preferred aliases.

import { group, insn, type InsnRow } from './table.js';
import * as x from '../exec/dp-reg.js';
import { COND_NAMES } from '../exec/common.js';
import { gpr, wn, xn } from '../disasm-util.js';

const rd = (i: number): number => i & 31;
const rn = (i: number): number => (i >>> 5) & 31;
const rm = (i: number): number => (i >>> 16) & 31;
const sfOf = (i: number): number => i >>> 31;
const cond = (i: number): number => (i >>> 12) & 15;

const SHIFTS = ['lsl', 'lsr', 'asr', 'ror'];
const EXTENDS = ['uxtb', 'uxth', 'uxtw', 'uxtx', 'sxtb', 'sxth', 'sxtw', 'sxtx'];

/** `, <shift> #<amount>`, omitted for LSL #0 as llvm-mc does. */
function shiftSuffix(i: number): string {
  const t = (i >>> 22) & 3;
  const a = (i >>> 10) & 63;
  return t === 0 && a === 0 ? '' : `, ${SHIFTS[t]} #${a}`;
}

// ---- logical (shifted register) ----

const LOG_NAMES = [
  ['and', 'bic'],
  ['orr', 'orn'],
  ['eor', 'eon'],
  ['ands', 'bics'],
];

function fmtLogReg(i: number): string {
  const sf = sfOf(i);
  const opc = (i >>> 29) & 3;
  const nBit = (i >>> 21) & 1;
  const sh = shiftSuffix(i);
  const d = gpr(sf, rd(i));
  const n = gpr(sf, rn(i));
  const m = gpr(sf, rm(i));
  if (opc === 1 && rn(i) === 31) {
    if (nBit) return `mvn\t${d}, ${m}${sh}`;
    if (sh === '') return `mov\t${d}, ${m}`;
  }
  if (opc === 3 && !nBit && rd(i) === 31) return `tst\t${n}, ${m}${sh}`;
  return `${LOG_NAMES[opc]![nBit]}\t${d}, ${n}, ${m}${sh}`;
}

// ---- add/subtract (shifted register) ----

function fmtAddSubReg(i: number): string {
  const sf = sfOf(i);
  const sub = (i >>> 30) & 1;
  const s = (i >>> 29) & 1;
  const sh = shiftSuffix(i);
  const d = gpr(sf, rd(i));
  const n = gpr(sf, rn(i));
  const m = gpr(sf, rm(i));
  if (s && rd(i) === 31) return `${sub ? 'cmp' : 'cmn'}\t${n}, ${m}${sh}`;
  if (sub && rn(i) === 31) return `${s ? 'negs' : 'neg'}\t${d}, ${m}${sh}`;
  return `${sub ? 'sub' : 'add'}${s ? 's' : ''}\t${d}, ${n}, ${m}${sh}`;
}

const shiftOk = (i: number): boolean => ((i >>> 22) & 3) !== 3;

// ---- add/subtract (extended register) ----

function fmtAddSubExt(i: number): string {
  const sf = sfOf(i);
  const sub = (i >>> 30) & 1;
  const s = (i >>> 29) & 1;
  const option = (i >>> 13) & 7;
  const amount = (i >>> 10) & 7;
  const m = sf && (option & 3) === 3 ? xn(rm(i)) : wn(rm(i));
  // With SP as Rd or Rn, the UXTX (UXTW for 32-bit) extend is spelled LSL, and omitted for #0.
  const spForm = (!s && rd(i) === 31) || rn(i) === 31;
  const ext =
    spForm && option === (sf ? 3 : 2)
      ? amount
        ? `, lsl #${amount}`
        : ''
      : `, ${EXTENDS[option]}${amount ? ` #${amount}` : ''}`;
  const n = gpr(sf, rn(i), true);
  if (s && rd(i) === 31) return `${sub ? 'cmp' : 'cmn'}\t${n}, ${m}${ext}`;
  return `${sub ? 'sub' : 'add'}${s ? 's' : ''}\t${gpr(sf, rd(i), !s)}, ${n}, ${m}${ext}`;
}

const extOk = (i: number): boolean => ((i >>> 10) & 7) <= 4;

// ---- add/subtract with carry ----

function fmtAdc(i: number): string {
  const sf = sfOf(i);
  const sub = (i >>> 30) & 1;
  const s = (i >>> 29) & 1 ? 's' : '';
  if (sub && rn(i) === 31) return `ngc${s}\t${gpr(sf, rd(i))}, ${gpr(sf, rm(i))}`;
  return `${sub ? 'sbc' : 'adc'}${s}\t${gpr(sf, rd(i))}, ${gpr(sf, rn(i))}, ${gpr(sf, rm(i))}`;
}

// ---- conditional compare ----

function fmtCcmp(i: number): string {
  const sf = sfOf(i);
  const m = (i >>> 30) & 1 ? 'ccmp' : 'ccmn';
  const op2 = (i & 0x800) !== 0 ? `#${rm(i)}` : gpr(sf, rm(i));
  return `${m}\t${gpr(sf, rn(i))}, ${op2}, #${i & 15}, ${COND_NAMES[cond(i)]}`;
}

// ---- conditional select ----

function fmtCsel(i: number): string {
  const sf = sfOf(i);
  const op = (i >>> 30) & 1;
  const o2 = (i >>> 10) & 1;
  const c = cond(i);
  const d = gpr(sf, rd(i));
  const n = gpr(sf, rn(i));
  const m = gpr(sf, rm(i));
  const inv = COND_NAMES[c ^ 1];
  const alias = rn(i) === rm(i) && c < 14;
  if (!op && !o2) return `csel\t${d}, ${n}, ${m}, ${COND_NAMES[c]}`;
  if (alias) {
    if (!op) return rn(i) === 31 ? `cset\t${d}, ${inv}` : `cinc\t${d}, ${n}, ${inv}`;
    if (!o2) return rn(i) === 31 ? `csetm\t${d}, ${inv}` : `cinv\t${d}, ${n}, ${inv}`;
    return `cneg\t${d}, ${n}, ${inv}`;
  }
  const name = op ? (o2 ? 'csneg' : 'csinv') : 'csinc';
  return `${name}\t${d}, ${n}, ${m}, ${COND_NAMES[c]}`;
}

// ---- data-processing (1, 2, 3 source) ----

const fmt1 =
  (name: string) =>
  (i: number): string =>
    `${name}\t${gpr(sfOf(i), rd(i))}, ${gpr(sfOf(i), rn(i))}`;

const fmt2 =
  (name: string) =>
  (i: number): string =>
    `${name}\t${gpr(sfOf(i), rd(i))}, ${gpr(sfOf(i), rn(i))}, ${gpr(sfOf(i), rm(i))}`;

function fmtCrc(i: number): string {
  const sz = (i >>> 10) & 3;
  const c = (i >>> 12) & 1 ? 'c' : '';
  return `crc32${c}${'bhwx'[sz]}\t${wn(rd(i))}, ${wn(rn(i))}, ${gpr(sz === 3 ? 1 : 0, rm(i))}`;
}

function fmtMadd(i: number): string {
  const sf = sfOf(i);
  const sub = (i >>> 15) & 1;
  const a = (i >>> 10) & 31;
  const ops = `${gpr(sf, rd(i))}, ${gpr(sf, rn(i))}, ${gpr(sf, rm(i))}`;
  if (a === 31) return `${sub ? 'mneg' : 'mul'}\t${ops}`;
  return `${sub ? 'msub' : 'madd'}\t${ops}, ${gpr(sf, a)}`;
}

function fmtMaddl(i: number): string {
  const u = (i >>> 23) & 1 ? 'u' : 's';
  const sub = (i >>> 15) & 1;
  const a = (i >>> 10) & 31;
  const ops = `${xn(rd(i))}, ${wn(rn(i))}, ${wn(rm(i))}`;
  if (a === 31) return `${u}${sub ? 'mnegl' : 'mull'}\t${ops}`;
  return `${u}${sub ? 'msubl' : 'maddl'}\t${ops}, ${xn(a)}`;
}

// ---- the rows ----

const SF = [
  ['32', '0'],
  ['64', '1'],
] as const;

function logicalRows(): InsnRow[] {
  const rows: InsnRow[] = [];
  const fast64 = [x.and64, x.orr64, x.eor64, x.ands64];
  const fast32 = [x.and32, x.orr32, x.eor32, x.ands32];
  for (let opc = 0; opc < 4; opc++) {
    for (let nBit = 0; nBit < 2; nBit++) {
      const name = LOG_NAMES[opc]![nBit]!.toUpperCase();
      const o = opc.toString(2).padStart(2, '0');
      rows.push(
        insn(
          `${name} (shifted register) 64`,
          `1 ${o} 01010 shift:2 ${nBit} Rm:5 imm6:6 Rn:5 Rd:5`,
          x.logShift64,
          fmtLogReg,
        ),
        insn(
          `${name} (shifted register) 32`,
          `0 ${o} 01010 shift:2 ${nBit} Rm:5 0 imm5:5 Rn:5 Rd:5`,
          x.logShift32,
          fmtLogReg,
        ),
      );
      if (nBit === 0) {
        rows.push(
          insn(`${name} (register) 64`, `1 ${o} 01010 xx 0 Rm:5 000000 Rn:5 Rd:5`, fast64[opc]!, fmtLogReg),
          insn(`${name} (register) 32`, `0 ${o} 01010 xx 0 Rm:5 000000 Rn:5 Rd:5`, fast32[opc]!, fmtLogReg),
        );
      }
    }
  }
  rows.push(
    insn('MOV (register) 64', '1 01 01010 xx 0 Rm:5 000000 11111 Rd:5', x.mov64, fmtLogReg),
    insn('MOV (register) 32', '0 01 01010 xx 0 Rm:5 000000 11111 Rd:5', x.mov32, fmtLogReg),
  );
  return rows;
}

function addSubRows(): InsnRow[] {
  const rows: InsnRow[] = [];
  const names = ['ADD', 'ADDS', 'SUB', 'SUBS'];
  const fast64 = [x.add64, x.adds64, x.sub64, x.subs64];
  const fast32 = [x.add32, x.adds32, x.sub32, x.subs32];
  for (let k = 0; k < 4; k++) {
    const ops = `${k >> 1} ${k & 1}`;
    const name = names[k]!;
    rows.push(
      insn(
        `${name} (shifted register) 64`,
        `1 ${ops} 01011 shift:2 0 Rm:5 imm6:6 Rn:5 Rd:5`,
        x.addSubShift64,
        fmtAddSubReg,
        {
          ok: shiftOk,
        },
      ),
      insn(
        `${name} (shifted register) 32`,
        `0 ${ops} 01011 shift:2 0 Rm:5 0 imm5:5 Rn:5 Rd:5`,
        x.addSubShift32,
        fmtAddSubReg,
        {
          ok: shiftOk,
        },
      ),
      insn(`${name} (register) 64`, `1 ${ops} 01011 xx 0 Rm:5 000000 Rn:5 Rd:5`, fast64[k]!, fmtAddSubReg, {
        ok: shiftOk,
      }),
      insn(`${name} (register) 32`, `0 ${ops} 01011 xx 0 Rm:5 000000 Rn:5 Rd:5`, fast32[k]!, fmtAddSubReg, {
        ok: shiftOk,
      }),
    );
    for (const [bits, sf] of SF) {
      rows.push(
        insn(
          `${name} (extended register) ${bits}`,
          `${sf} ${ops} 01011 00 1 Rm:5 option:3 imm3:3 Rn:5 Rd:5`,
          sf === '0' ? x.addSubExt32 : k & 1 ? x.addSubsExt64 : x.addSubExt64,
          fmtAddSubExt,
          { ok: extOk },
        ),
      );
    }
  }
  rows.push(
    insn('ADD (shifted register, LSL) 64', '1 0 0 01011 00 0 Rm:5 imm6:6 Rn:5 Rd:5', x.addLsl64, fmtAddSubReg),
    insn('CMP (register) 64', '1 1 1 01011 xx 0 Rm:5 000000 Rn:5 11111', x.cmp64, fmtAddSubReg, { ok: shiftOk }),
    insn('CMN (register) 64', '1 0 1 01011 xx 0 Rm:5 000000 Rn:5 11111', x.cmn64, fmtAddSubReg, { ok: shiftOk }),
    insn('CMP (register) 32', '0 1 1 01011 xx 0 Rm:5 000000 Rn:5 11111', x.cmp32, fmtAddSubReg, { ok: shiftOk }),
  );
  return rows;
}

function condRows(): InsnRow[] {
  const rows: InsnRow[] = [];
  for (const [bits, sf] of SF) {
    const is64 = sf === '1';
    for (const [name, op] of [
      ['ADC', '0 0'],
      ['ADCS', '0 1'],
      ['SBC', '1 0'],
      ['SBCS', '1 1'],
    ] as const) {
      rows.push(
        insn(`${name} ${bits}`, `${sf} ${op} 11010000 Rm:5 000000 Rn:5 Rd:5`, is64 ? x.adcSbc64 : x.adcSbc32, fmtAdc),
      );
    }
    const cc = is64 ? x.ccmp64 : x.ccmp32;
    rows.push(
      insn(`CCMN (register) ${bits}`, `${sf} 0 1 11010010 Rm:5 cond:4 0 0 Rn:5 0 nzcv:4`, cc, fmtCcmp),
      insn(`CCMP (register) ${bits}`, `${sf} 1 1 11010010 Rm:5 cond:4 0 0 Rn:5 0 nzcv:4`, cc, fmtCcmp),
      insn(`CCMN (immediate) ${bits}`, `${sf} 0 1 11010010 imm5:5 cond:4 1 0 Rn:5 0 nzcv:4`, cc, fmtCcmp),
      insn(`CCMP (immediate) ${bits}`, `${sf} 1 1 11010010 imm5:5 cond:4 1 0 Rn:5 0 nzcv:4`, cc, fmtCcmp),
      insn(`CSEL ${bits}`, `${sf} 0 0 11010100 Rm:5 cond:4 0 0 Rn:5 Rd:5`, is64 ? x.csel64 : x.csel32, fmtCsel),
      insn(`CSINC ${bits}`, `${sf} 0 0 11010100 Rm:5 cond:4 0 1 Rn:5 Rd:5`, is64 ? x.csinc64 : x.csinc32, fmtCsel),
      insn(`CSINV ${bits}`, `${sf} 1 0 11010100 Rm:5 cond:4 0 0 Rn:5 Rd:5`, is64 ? x.csinv64 : x.csinv32, fmtCsel),
      insn(`CSNEG ${bits}`, `${sf} 1 0 11010100 Rm:5 cond:4 0 1 Rn:5 Rd:5`, is64 ? x.csneg64 : x.csneg32, fmtCsel),
      insn(`CSET ${bits}`, `${sf} 0 0 11010100 11111 cond:4 0 1 11111 Rd:5`, is64 ? x.cset64 : x.cset32, fmtCsel),
      insn(`CSETM ${bits}`, `${sf} 1 0 11010100 11111 cond:4 0 0 11111 Rd:5`, is64 ? x.csetm64 : x.csetm32, fmtCsel),
    );
  }
  return rows;
}

function dp1Rows(): InsnRow[] {
  const r = (name: string, sf: string, opcode: string, exec: InsnRow['exec'], mn: string): InsnRow =>
    insn(name, `${sf} 1 0 11010110 00000 ${opcode} Rn:5 Rd:5`, exec, fmt1(mn));
  return [
    r('RBIT 64', '1', '000000', x.rbit64, 'rbit'),
    r('RBIT 32', '0', '000000', x.rbit32, 'rbit'),
    r('REV16 64', '1', '000001', x.rev16_64, 'rev16'),
    r('REV16 32', '0', '000001', x.rev16_32, 'rev16'),
    r('REV32', '1', '000010', x.rev32_64, 'rev32'),
    r('REV 32', '0', '000010', x.rev32, 'rev'),
    r('REV 64', '1', '000011', x.rev64, 'rev'),
    r('CLZ 64', '1', '000100', x.clz64, 'clz'),
    r('CLZ 32', '0', '000100', x.clz32, 'clz'),
    r('CLS 64', '1', '000101', x.cls64, 'cls'),
    r('CLS 32', '0', '000101', x.cls32, 'cls'),
  ];
}

function dp2Rows(): InsnRow[] {
  const rows: InsnRow[] = [];
  for (const [bits, sf] of SF) {
    const is64 = sf === '1';
    const r = (name: string, opcode: string, exec: InsnRow['exec'], mn: string): InsnRow =>
      insn(`${name} ${bits}`, `${sf} 0 0 11010110 Rm:5 ${opcode} Rn:5 Rd:5`, exec, fmt2(mn));
    rows.push(
      r('UDIV', '000010', is64 ? x.udiv64 : x.udiv32, 'udiv'),
      r('SDIV', '000011', is64 ? x.sdiv64 : x.sdiv32, 'sdiv'),
      r('LSLV', '001000', is64 ? x.shiftV64 : x.shiftV32, 'lsl'),
      r('LSRV', '001001', is64 ? x.shiftV64 : x.shiftV32, 'lsr'),
      r('ASRV', '001010', is64 ? x.shiftV64 : x.shiftV32, 'asr'),
      r('RORV', '001011', is64 ? x.shiftV64 : x.shiftV32, 'ror'),
    );
  }
  rows.push(
    insn('CRC32B/H/W, CRC32CB/H/W', '0 0 0 11010110 Rm:5 010 C sz:2 Rn:5 Rd:5', x.crc32, fmtCrc, {
      ok: (i) => ((i >>> 10) & 3) !== 3,
    }),
    insn('CRC32X, CRC32CX', '1 0 0 11010110 Rm:5 010 C 11 Rn:5 Rd:5', x.crc32, fmtCrc),
  );
  return rows;
}

function dp3Rows(): InsnRow[] {
  return [
    insn('MADD 64', '1 00 11011 000 Rm:5 0 Ra:5 Rn:5 Rd:5', x.madd64, fmtMadd),
    insn('MSUB 64', '1 00 11011 000 Rm:5 1 Ra:5 Rn:5 Rd:5', x.msub64, fmtMadd),
    insn('MUL 64', '1 00 11011 000 Rm:5 0 11111 Rn:5 Rd:5', x.mul64, fmtMadd),
    insn('MADD 32', '0 00 11011 000 Rm:5 0 Ra:5 Rn:5 Rd:5', x.madd32, fmtMadd),
    insn('MSUB 32', '0 00 11011 000 Rm:5 1 Ra:5 Rn:5 Rd:5', x.msub32, fmtMadd),
    insn('SMADDL', '1 00 11011 001 Rm:5 0 Ra:5 Rn:5 Rd:5', x.smaddl, fmtMaddl),
    insn('SMSUBL', '1 00 11011 001 Rm:5 1 Ra:5 Rn:5 Rd:5', x.smaddl, fmtMaddl),
    insn('UMADDL', '1 00 11011 101 Rm:5 0 Ra:5 Rn:5 Rd:5', x.umaddl, fmtMaddl),
    insn('UMSUBL', '1 00 11011 101 Rm:5 1 Ra:5 Rn:5 Rd:5', x.umaddl, fmtMaddl),
    // Ra is "should be 11111" in SMULH/UMULH: other values execute the same (and llvm-mc agrees).
    insn('SMULH', '1 00 11011 010 Rm:5 0 Ra:5 Rn:5 Rd:5', x.smulh, fmt2('smulh')),
    insn('UMULH', '1 00 11011 110 Rm:5 0 Ra:5 Rn:5 Rd:5', x.umulh, fmt2('umulh')),
  ];
}

export const dpReg = group('Data processing -- register', [
  ...logicalRows(),
  ...addSubRows(),
  ...condRows(),
  ...dp1Rows(),
  ...dp2Rows(),
  ...dp3Rows(),
]);
