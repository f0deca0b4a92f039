// Exception syndromes (ESR_ELx) and their decoding into words, for traces and error messages.
// Exception classes and fault status codes are the Arm architecture's (Arm ARM D24.2.40 ESR_EL1).

export const EC = {
  UNKNOWN: 0x00,
  WFX: 0x01,
  FP_ACCESS: 0x07,
  ILLEGAL_STATE: 0x0e,
  SVC64: 0x15,
  HVC64: 0x16,
  SMC64: 0x17,
  SYSREG: 0x18,
  IABORT_LOWER: 0x20,
  IABORT_CUR: 0x21,
  PC_ALIGN: 0x22,
  DABORT_LOWER: 0x24,
  DABORT_CUR: 0x25,
  SP_ALIGN: 0x26,
  FP_EXC64: 0x2c,
  SERROR: 0x2f,
  BRK64: 0x3c,
} as const;

const EC_NAMES: Record<number, string> = {
  0x00: 'unknown reason (undefined instruction)',
  0x01: 'trapped WFI/WFE',
  0x07: 'access to SVE, Advanced SIMD or floating-point functionality trapped',
  0x0e: 'illegal execution state',
  0x15: 'SVC instruction from AArch64',
  0x16: 'HVC instruction from AArch64',
  0x17: 'SMC instruction from AArch64',
  0x18: 'trapped MSR, MRS or system instruction',
  0x19: 'access to SVE functionality trapped',
  0x1d: 'SME functionality trapped',
  0x20: 'instruction abort from a lower exception level',
  0x21: 'instruction abort without a change in exception level',
  0x22: 'PC alignment fault',
  0x24: 'data abort from a lower exception level',
  0x25: 'data abort without a change in exception level',
  0x26: 'SP alignment fault',
  0x2c: 'trapped floating-point exception',
  0x2f: 'SError interrupt',
  0x30: 'breakpoint from a lower exception level',
  0x31: 'breakpoint without a change in exception level',
  0x32: 'software step from a lower exception level',
  0x33: 'software step without a change in exception level',
  0x34: 'watchpoint from a lower exception level',
  0x35: 'watchpoint without a change in exception level',
  0x3c: 'BRK instruction',
};

/** Fault status codes (DFSC/IFSC). */
export function faultStatusName(fsc: number): string {
  const level = fsc & 3;
  switch (fsc & 0x3c) {
    case 0x00:
      return `address size fault, level ${level}`;
    case 0x04:
      return `translation fault, level ${level}`;
    case 0x08:
      return `access flag fault, level ${level}`;
    case 0x0c:
      return `permission fault, level ${level}`;
  }
  switch (fsc) {
    case 0x10:
      return 'synchronous external abort';
    case 0x11:
      return 'synchronous tag check fault';
    case 0x21:
      return 'alignment fault';
    case 0x30:
      return 'TLB conflict abort';
    case 0x31:
      return 'unsupported atomic hardware update fault';
  }
  return `fault status 0x${fsc.toString(16)}`;
}

export function ecName(ec: number): string {
  return EC_NAMES[ec] ?? `exception class 0x${ec.toString(16)}`;
}

/** Name of the system register with encoding op0:op1:CRn:CRm:op2 (for trapped-access syndromes). */
export type SysRegNamer = (op0: number, op1: number, crn: number, crm: number, op2: number) => string;

const X = (n: number): string => (n === 31 ? 'xzr' : `x${n}`);

/** Turn a syndrome into words: the exception class and what its ISS says. */
export function describeEsr(esr: number, sysregName?: SysRegNamer): string {
  const ec = (esr >>> 26) & 0x3f;
  const iss = esr & 0x1ffffff;
  const base = ecName(ec);
  switch (ec) {
    case 0x15:
    case 0x16:
    case 0x17:
      return `${base}, imm16 0x${(iss & 0xffff).toString(16)}`;
    case 0x3c:
      return `${base}, comment 0x${(iss & 0xffff).toString(16)}`;
    case 0x01:
      return `${base} (${(iss & 1) === 0 ? 'wfi' : 'wfe'})`;
    case 0x18: {
      const op0 = (iss >>> 20) & 3;
      const op2 = (iss >>> 17) & 7;
      const op1 = (iss >>> 14) & 7;
      const crn = (iss >>> 10) & 15;
      const rt = (iss >>> 5) & 31;
      const crm = (iss >>> 1) & 15;
      const read = (iss & 1) === 1;
      const name = sysregName ? sysregName(op0, op1, crn, crm, op2) : `s${op0}_${op1}_c${crn}_c${crm}_${op2}`;
      return `${base}: ${read ? `mrs ${X(rt)}, ${name}` : `msr ${name}, ${X(rt)}`}`;
    }
    case 0x20:
    case 0x21: {
      return `${base}: ${faultStatusName(iss & 0x3f)}${iss & 0x80 ? ' on a stage-1 table walk' : ''}`;
    }
    case 0x24:
    case 0x25: {
      const parts = [`${base}: ${faultStatusName(iss & 0x3f)}`, (iss & 0x40) !== 0 ? 'on a write' : 'on a read'];
      if (iss & 0x80) parts.push('during a stage-1 table walk');
      if (iss & 0x1000000) {
        const sas = (iss >>> 22) & 3;
        const srt = (iss >>> 16) & 31;
        const sf = (iss >>> 15) & 1;
        parts.push(`${1 << sas}-byte access, register ${sf ? X(srt) : srt === 31 ? 'wzr' : `w${srt}`}`);
      }
      return parts.join(', ');
    }
    case 0x2f:
      return base;
  }
  return base;
}

/**
 * The instruction-specific part of a data abort syndrome (ISV, SAS, SSE, SRT, SF, AR) for a
 * load or store of a single general-purpose register without writeback, as reported to EL2 so a
 * hypervisor can emulate the access (Arm ARM D24.2.40, ISS encoding for a data abort).
 * Returns 0 (ISV clear) for every other instruction.
 */
export function dataAbortIsv(insn: number): number {
  const rt = insn & 31;
  const size = (insn >>> 30) & 3;
  let opc: number;
  let ar = 0;
  if ((insn & 0x3f000000) === 0x39000000) {
    opc = (insn >>> 22) & 3; // unsigned immediate offset
  } else if ((insn & 0x3f200c00) === 0x38000000 || (insn & 0x3f200c00) === 0x38000800) {
    opc = (insn >>> 22) & 3; // unscaled immediate, unprivileged
  } else if ((insn & 0x3f200c00) === 0x38200800) {
    opc = (insn >>> 22) & 3; // register offset
  } else if ((insn & 0x3fa08000) === 0x08808000) {
    opc = (insn >>> 22) & 1; // LDAR/STLR: L bit
    ar = 1;
  } else {
    return 0;
  }
  if (size === 3 && opc >= 2) return 0; // PRFM, or unallocated
  const sse = opc >= 2 ? 1 : 0;
  const sf = opc === 2 || (opc < 2 && size === 3) ? 1 : 0;
  return (1 << 24) | (size << 22) | (sse << 21) | (rt << 16) | (sf << 15) | (ar << 14);
}
