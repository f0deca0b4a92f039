// Rows of the system and exception-generating encodings (Arm ARM C4.1.65, C5).

import { group, insn } from './table.js';
import * as x from '../exec/system.js';
import { sysregName } from '../sysreg.js';
import { hex, xn } from '../disasm-util.js';

const imm16 = (i: number): number => (i >>> 5) & 0xffff;

const HINTS: Record<number, string> = {
  0: 'nop',
  1: 'yield',
  2: 'wfe',
  3: 'wfi',
  4: 'sev',
  5: 'sevl',
  6: 'dgh',
  20: 'csdb',
};

const BARRIER_OPTS: Record<number, string> = {
  15: 'sy',
  14: 'st',
  13: 'ld',
  11: 'ish',
  10: 'ishst',
  9: 'ishld',
  7: 'nsh',
  6: 'nshst',
  5: 'nshld',
  3: 'osh',
  2: 'oshst',
  1: 'oshld',
};

function fmtBarrier(i: number): string {
  const crm = (i >>> 8) & 15;
  const op2 = (i >>> 5) & 7;
  switch (op2) {
    case 2:
      return crm === 15 ? 'clrex' : `clrex\t#${crm}`;
    case 4:
      if (crm === 0) return 'ssbb';
      if (crm === 4) return 'pssbb';
      return `dsb\t${BARRIER_OPTS[crm] ?? `#${crm}`}`;
    case 5:
      return `dmb\t${BARRIER_OPTS[crm] ?? `#${crm}`}`;
    case 6:
      return crm === 15 ? 'isb' : `isb\t#${crm}`;
    default:
      return 'sb';
  }
}

// UAO (Armv8.2) is not implemented, so its encoding is unallocated here.
const PSTATE_FIELDS: Record<number, string> = { 0o05: 'SPSel', 0o36: 'DAIFSet', 0o37: 'DAIFClr', 0o04: 'PAN' };

/** SYS aliases by op1:CRn:CRm:op2. */
const SYS_OPS: Record<string, string> = {
  '0:7:1:0': 'ic ialluis',
  '0:7:5:0': 'ic iallu',
  '3:7:5:1': 'ic ivau',
  '3:7:4:1': 'dc zva',
  '0:7:6:1': 'dc ivac',
  '0:7:6:2': 'dc isw',
  '3:7:10:1': 'dc cvac',
  '0:7:10:2': 'dc csw',
  '3:7:11:1': 'dc cvau',
  '3:7:14:1': 'dc civac',
  '0:7:14:2': 'dc cisw',
  '0:7:8:0': 'at s1e1r',
  '0:7:8:1': 'at s1e1w',
  '0:7:8:2': 'at s1e0r',
  '0:7:8:3': 'at s1e0w',
  '0:8:3:0': 'tlbi vmalle1is',
  '0:8:3:1': 'tlbi vae1is',
  '0:8:3:2': 'tlbi aside1is',
  '0:8:3:3': 'tlbi vaae1is',
  '0:8:3:5': 'tlbi vale1is',
  '0:8:3:7': 'tlbi vaale1is',
  '0:8:7:0': 'tlbi vmalle1',
  '0:8:7:1': 'tlbi vae1',
  '0:8:7:2': 'tlbi aside1',
  '0:8:7:3': 'tlbi vaae1',
  '0:8:7:5': 'tlbi vale1',
  '0:8:7:7': 'tlbi vaale1',
};
/** SYS operations that take no register (printed without Xt when Rt is 31). */
const SYS_NO_REG = new Set(['ic ialluis', 'ic iallu', 'tlbi vmalle1is', 'tlbi vmalle1']);

function fmtSys(i: number): string {
  const op1 = (i >>> 16) & 7;
  const crn = (i >>> 12) & 15;
  const crm = (i >>> 8) & 15;
  const op2 = (i >>> 5) & 7;
  const rt = i & 31;
  const name = SYS_OPS[`${op1}:${crn}:${crm}:${op2}`];
  if (name !== undefined) {
    const [m, op] = name.split(' ');
    if (SYS_NO_REG.has(name)) return rt === 31 ? `${m}\t${op}` : `sys\t#${op1}, c${crn}, c${crm}, #${op2}, ${xn(rt)}`;
    return `${m}\t${op}, ${xn(rt)}`;
  }
  return `sys\t#${op1}, c${crn}, c${crm}, #${op2}${rt === 31 ? '' : `, ${xn(rt)}`}`;
}

function sysregOf(i: number): string {
  return sysregName((i >>> 19) & 3, (i >>> 16) & 7, (i >>> 12) & 15, (i >>> 8) & 15, (i >>> 5) & 7).replace(
    /^s(\d)_(\d)_c(\d+)_c(\d+)_(\d)$/,
    'S$1_$2_C$3_C$4_$5',
  );
}

export const system = group('System and exception generation', [
  insn('SVC', '11010100 000 imm16:16 000 01', x.svc, (i) => `svc\t${hex(imm16(i))}`, { noRandom: true }),
  insn('HVC', '11010100 000 imm16:16 000 10', x.hvc, (i) => `hvc\t${hex(imm16(i))}`, { noRandom: true }),
  insn('SMC', '11010100 000 imm16:16 000 11', x.smc, (i) => `smc\t${hex(imm16(i))}`, { noRandom: true }),
  insn('BRK', '11010100 001 imm16:16 000 00', x.brk, (i) => `brk\t${hex(imm16(i))}`, { noRandom: true }),
  insn('HLT', '11010100 010 imm16:16 000 00', x.udf, (i) => `hlt\t${hex(imm16(i))}`, { noRandom: true }),
  insn('UDF', '0000000000000000 imm16:16', x.udf, (i) => `udf\t#${i & 0xffff}`, { noRandom: true }),
  insn(
    'HINT',
    '1101010100 0 00 011 0010 CRm:4 op2:3 11111',
    x.hint,
    (i) => HINTS[(i >>> 5) & 0x7f] ?? `hint\t#${(i >>> 5) & 0x7f}`,
    {
      noRandom: true,
    },
  ),
  insn('Barriers', '1101010100 0 00 011 0011 CRm:4 op2:3 11111', x.barrier, fmtBarrier, {
    ok: (i) => [2, 4, 5, 6].includes((i >>> 5) & 7), // op2 = 7 is SB (Armv8.5), not implemented
    noRandom: true,
  }),
  insn(
    'MSR (immediate)',
    '1101010100 0 00 op1:3 0100 CRm:4 op2:3 11111',
    x.msrImm,
    (i) => {
      const sel = (((i >>> 16) & 7) << 3) | ((i >>> 5) & 7);
      return `msr\t${PSTATE_FIELDS[sel] ?? '?'}, #${(i >>> 8) & 15}`;
    },
    {
      // PAN takes a one-bit immediate: CRm<3:1> must be zero.
      ok: (i) => {
        const sel = (((i >>> 16) & 7) << 3) | ((i >>> 5) & 7);
        return sel in PSTATE_FIELDS && (sel !== 0o04 || ((i >>> 9) & 7) === 0);
      },
      noRandom: true,
    },
  ),
  insn('SYS', '1101010100 0 01 op1:3 CRn:4 CRm:4 op2:3 Rt:5', x.sys, fmtSys, { noRandom: true }),
  insn(
    'MSR (register)',
    '1101010100 0 1 o0 op1:3 CRn:4 CRm:4 op2:3 Rt:5',
    x.msrReg,
    (i) => `msr\t${sysregOf(i)}, ${xn(i & 31)}`,
    {
      noRandom: true,
    },
  ),
  insn('MRS', '1101010100 1 1 o0 op1:3 CRn:4 CRm:4 op2:3 Rt:5', x.mrs, (i) => `mrs\t${xn(i & 31)}, ${sysregOf(i)}`, {
    noRandom: true,
  }),
]);
