// Execute functions of the "Data Processing -- Register" encodings (Arm ARM C4.1.87): logical and
// add/subtract (shifted register), add/subtract (extended register), add/subtract with carry,
// conditional compare, conditional select, and data-processing with one, two and three sources.
//
// Register 31 is XZR everywhere here except the extended-register forms, where Rn (and Rd unless
// flags are set) is SP. Plain 64-bit add/sub/multiply/logical run in BigInt on the register slots
// (V8 lowers `x[d] = x[n] + x[m]` to int64); anything with a variable shift, a carry chain that
// must be observed, or a bitwise NOT runs on the 32-bit halves, which measured faster
// (reference/platform-notes.md §6). Operands that need work first (shifted or extended Rm) are
// built in the XZR write-sink slot, which no instruction reads: it is overwritten, if at all,
// only by this instruction's own final store.

import type { Cpu } from '../cpu.js';
import { adc32, adc64, condHolds } from './common.js';

// The slot numbers of cpu.ts, repeated here because this module is evaluated while cpu.ts is
// still initialising (cpu.ts imports the decode table).
const ZR = 32;
const SINK = 33;
const S2 = 2 * SINK;
const T32 = 4294967296;

/** Slot of Rn / Rm / Ra (31 = XZR). */
const sn = (i: number): number => {
  const n = (i >>> 5) & 31;
  return n === 31 ? ZR : n;
};
const sm = (i: number): number => {
  const m = (i >>> 16) & 31;
  return m === 31 ? ZR : m;
};
const sa = (i: number): number => {
  const a = (i >>> 10) & 31;
  return a === 31 ? ZR : a;
};
/** Slot of Rd (31 = XZR, so the write goes to the sink). */
const sd = (i: number): number => {
  const d = i & 31;
  return d === 31 ? SINK : d;
};

/**
 * The shifted Rm of a 64-bit shifted-register instruction (shift type in bits 23:22, amount in
 * 15:10), into the sink slot's halves w[S2], w[S2 + 1].
 */
function shiftedRm64(w: Uint32Array, i: number): void {
  const m2 = 2 * sm(i);
  const a = (i >>> 10) & 63;
  let lo = w[m2]!;
  let hi = w[m2 + 1]!;
  if (a !== 0) {
    switch ((i >>> 22) & 3) {
      case 0:
        if (a >= 32) {
          hi = lo << (a - 32);
          lo = 0;
        } else {
          hi = (hi << a) | (lo >>> (32 - a));
          lo = lo << a;
        }
        break;
      case 1:
        if (a >= 32) {
          lo = hi >>> (a - 32);
          hi = 0;
        } else {
          lo = (lo >>> a) | (hi << (32 - a));
          hi = hi >>> a;
        }
        break;
      case 2:
        if (a >= 32) {
          lo = (hi | 0) >> (a - 32);
          hi = (hi | 0) >> 31;
        } else {
          lo = (lo >>> a) | (hi << (32 - a));
          hi = (hi | 0) >> a;
        }
        break;
      default: {
        if (a >= 32) {
          const t = lo;
          lo = hi;
          hi = t;
        }
        const s = a & 31;
        if (s !== 0) {
          const nlo = (lo >>> s) | (hi << (32 - s));
          hi = (hi >>> s) | (lo << (32 - s));
          lo = nlo;
        }
      }
    }
  }
  w[S2] = lo;
  w[S2 + 1] = hi;
}

/** The shifted Rm of a 32-bit shifted-register instruction (amount 0..31), as a uint32/int32. */
function shiftedRm32(w: Uint32Array, i: number): number {
  const v = w[2 * sm(i)]!;
  const a = (i >>> 10) & 31;
  switch ((i >>> 22) & 3) {
    case 0:
      return v << a;
    case 1:
      return v >>> a;
    case 2:
      return (v | 0) >> a;
    default:
      return (v >>> a) | (v << (32 - a));
  }
}

// ---------------------------------------------------------------------------------------------
// Logical (shifted register)
// ---------------------------------------------------------------------------------------------

// Unshifted forms (imm6 == 0), the ones compilers emit most.

export function and64(cpu: Cpu, i: number): void {
  const x = cpu.x;
  x[sd(i)] = x[sn(i)]! & x[sm(i)]!;
  cpu.pc += 4;
}

export function orr64(cpu: Cpu, i: number): void {
  const x = cpu.x;
  x[sd(i)] = x[sn(i)]! | x[sm(i)]!;
  cpu.pc += 4;
}

export function eor64(cpu: Cpu, i: number): void {
  const x = cpu.x;
  x[sd(i)] = x[sn(i)]! ^ x[sm(i)]!;
  cpu.pc += 4;
}

/** MOV Xd, Xm (ORR Xd, XZR, Xm). */
export function mov64(cpu: Cpu, i: number): void {
  const x = cpu.x;
  x[sd(i)] = x[sm(i)]!;
  cpu.pc += 4;
}

export function ands64(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const n2 = 2 * sn(i);
  const m2 = 2 * sm(i);
  const d2 = 2 * sd(i);
  const lo = w[n2]! & w[m2]!;
  const hi = w[n2 + 1]! & w[m2 + 1]!;
  w[d2] = lo;
  w[d2 + 1] = hi;
  cpu.nf = hi >>> 31;
  cpu.zf = (lo | hi) === 0 ? 1 : 0;
  cpu.cf = 0;
  cpu.vf = 0;
  cpu.pc += 4;
}

export function and32(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const d2 = 2 * sd(i);
  w[d2] = w[2 * sn(i)]! & w[2 * sm(i)]!;
  w[d2 + 1] = 0;
  cpu.pc += 4;
}

export function orr32(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const d2 = 2 * sd(i);
  w[d2] = w[2 * sn(i)]! | w[2 * sm(i)]!;
  w[d2 + 1] = 0;
  cpu.pc += 4;
}

export function eor32(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const d2 = 2 * sd(i);
  w[d2] = w[2 * sn(i)]! ^ w[2 * sm(i)]!;
  w[d2 + 1] = 0;
  cpu.pc += 4;
}

/** MOV Wd, Wm (ORR Wd, WZR, Wm). */
export function mov32(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const d2 = 2 * sd(i);
  w[d2] = w[2 * sm(i)]!;
  w[d2 + 1] = 0;
  cpu.pc += 4;
}

export function ands32(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const d2 = 2 * sd(i);
  const r = w[2 * sn(i)]! & w[2 * sm(i)]!;
  w[d2] = r;
  w[d2 + 1] = 0;
  cpu.nf = r >>> 31;
  cpu.zf = r === 0 ? 1 : 0;
  cpu.cf = 0;
  cpu.vf = 0;
  cpu.pc += 4;
}

/** Every 64-bit logical (shifted register) form: opc (bits 30:29) and N (bit 21) select the op. */
export function logShift64(cpu: Cpu, i: number): void {
  const w = cpu.w;
  shiftedRm64(w, i);
  let blo = w[S2]!;
  let bhi = w[S2 + 1]!;
  if ((i & 0x200000) !== 0) {
    blo = ~blo;
    bhi = ~bhi;
  }
  const n2 = 2 * sn(i);
  const alo = w[n2]!;
  const ahi = w[n2 + 1]!;
  let lo: number;
  let hi: number;
  const opc = (i >>> 29) & 3;
  if (opc === 1) {
    lo = alo | blo;
    hi = ahi | bhi;
  } else if (opc === 2) {
    lo = alo ^ blo;
    hi = ahi ^ bhi;
  } else {
    lo = alo & blo;
    hi = ahi & bhi;
  }
  const d2 = 2 * sd(i);
  w[d2] = lo;
  w[d2 + 1] = hi;
  if (opc === 3) {
    cpu.nf = hi >>> 31;
    cpu.zf = (lo | hi) === 0 ? 1 : 0;
    cpu.cf = 0;
    cpu.vf = 0;
  }
  cpu.pc += 4;
}

export function logShift32(cpu: Cpu, i: number): void {
  const w = cpu.w;
  let b = shiftedRm32(w, i);
  if ((i & 0x200000) !== 0) b = ~b;
  const a = w[2 * sn(i)]!;
  const opc = (i >>> 29) & 3;
  const r = opc === 1 ? a | b : opc === 2 ? a ^ b : a & b;
  const d2 = 2 * sd(i);
  w[d2] = r;
  w[d2 + 1] = 0;
  if (opc === 3) {
    cpu.nf = r >>> 31;
    cpu.zf = r === 0 ? 1 : 0;
    cpu.cf = 0;
    cpu.vf = 0;
  }
  cpu.pc += 4;
}

// ---------------------------------------------------------------------------------------------
// Add/subtract (shifted register)
// ---------------------------------------------------------------------------------------------

export function add64(cpu: Cpu, i: number): void {
  const x = cpu.x;
  x[sd(i)] = x[sn(i)]! + x[sm(i)]!;
  cpu.pc += 4;
}

export function sub64(cpu: Cpu, i: number): void {
  const x = cpu.x;
  x[sd(i)] = x[sn(i)]! - x[sm(i)]!;
  cpu.pc += 4;
}

export function adds64(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const n2 = 2 * sn(i);
  const m2 = 2 * sm(i);
  adc64(cpu, sd(i), w[n2]!, w[n2 + 1]!, w[m2]!, w[m2 + 1]!, 0, true);
  cpu.pc += 4;
}

export function subs64(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const n2 = 2 * sn(i);
  const m2 = 2 * sm(i);
  adc64(cpu, sd(i), w[n2]!, w[n2 + 1]!, ~w[m2]! >>> 0, ~w[m2 + 1]! >>> 0, 1, true);
  cpu.pc += 4;
}

/** CMP Xn, Xm: SUBS with the result discarded. C is "no borrow": Xn >= Xm unsigned. */
export function cmp64(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const n2 = 2 * sn(i);
  const m2 = 2 * sm(i);
  const alo = w[n2]!;
  const ahi = w[n2 + 1]!;
  const blo = w[m2]!;
  const bhi = w[m2 + 1]!;
  const lo = alo - blo;
  const hi = ahi - bhi - (lo < 0 ? 1 : 0);
  const rhi = hi >>> 0;
  cpu.nf = rhi >>> 31;
  cpu.zf = (lo | rhi) === 0 ? 1 : 0;
  cpu.cf = hi >= 0 ? 1 : 0;
  cpu.vf = ((ahi ^ bhi) & (ahi ^ rhi)) >>> 31;
  cpu.pc += 4;
}

export function cmn64(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const n2 = 2 * sn(i);
  const m2 = 2 * sm(i);
  adc64(cpu, SINK, w[n2]!, w[n2 + 1]!, w[m2]!, w[m2 + 1]!, 0, true);
  cpu.pc += 4;
}

export function add32(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const d2 = 2 * sd(i);
  w[d2] = w[2 * sn(i)]! + w[2 * sm(i)]!;
  w[d2 + 1] = 0;
  cpu.pc += 4;
}

export function sub32(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const d2 = 2 * sd(i);
  w[d2] = w[2 * sn(i)]! - w[2 * sm(i)]!;
  w[d2 + 1] = 0;
  cpu.pc += 4;
}

export function adds32(cpu: Cpu, i: number): void {
  const w = cpu.w;
  adc32(cpu, sd(i), w[2 * sn(i)]!, w[2 * sm(i)]!, 0, true);
  cpu.pc += 4;
}

export function subs32(cpu: Cpu, i: number): void {
  const w = cpu.w;
  adc32(cpu, sd(i), w[2 * sn(i)]!, ~w[2 * sm(i)]! >>> 0, 1, true);
  cpu.pc += 4;
}

export function cmp32(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const a = w[2 * sn(i)]!;
  const b = w[2 * sm(i)]!;
  const r = a - b;
  const rr = r >>> 0;
  cpu.nf = rr >>> 31;
  cpu.zf = rr === 0 ? 1 : 0;
  cpu.cf = r >= 0 ? 1 : 0;
  cpu.vf = ((a ^ b) & (a ^ rr)) >>> 31;
  cpu.pc += 4;
}

/** Every 64-bit add/subtract (shifted register) form; op (bit 30) and S (bit 29) select it. */
export function addSubShift64(cpu: Cpu, i: number): void {
  const w = cpu.w;
  shiftedRm64(w, i);
  const n2 = 2 * sn(i);
  const d = sd(i);
  if ((i & 0x40000000) === 0) {
    adc64(cpu, d, w[n2]!, w[n2 + 1]!, w[S2]!, w[S2 + 1]!, 0, (i & 0x20000000) !== 0);
  } else {
    adc64(cpu, d, w[n2]!, w[n2 + 1]!, ~w[S2]! >>> 0, ~w[S2 + 1]! >>> 0, 1, (i & 0x20000000) !== 0);
  }
  cpu.pc += 4;
}

/** ADD Xd, Xn, Xm, LSL #amount: the scaled-index form, without the generic shifter. */
export function addLsl64(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const m2 = 2 * sm(i);
  const a = (i >>> 10) & 63;
  let lo = w[m2]!;
  let hi: number;
  if (a >= 32) {
    hi = lo << (a - 32);
    lo = 0;
  } else if (a !== 0) {
    hi = (w[m2 + 1]! << a) | (lo >>> (32 - a));
    lo = (lo << a) >>> 0;
  } else {
    hi = w[m2 + 1]!;
  }
  const n2 = 2 * sn(i);
  const d2 = 2 * sd(i);
  const rlo = w[n2]! + lo;
  w[d2 + 1] = w[n2 + 1]! + hi + (rlo >= T32 ? 1 : 0);
  w[d2] = rlo;
  cpu.pc += 4;
}

export function addSubShift32(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const b = shiftedRm32(w, i) >>> 0;
  const a = w[2 * sn(i)]!;
  if ((i & 0x40000000) === 0) adc32(cpu, sd(i), a, b, 0, (i & 0x20000000) !== 0);
  else adc32(cpu, sd(i), a, ~b >>> 0, 1, (i & 0x20000000) !== 0);
  cpu.pc += 4;
}

// ---------------------------------------------------------------------------------------------
// Add/subtract (extended register). Rn is SP-capable, Rd too unless S is set.
// ---------------------------------------------------------------------------------------------

/** ExtendReg(m, option, imm3) on 64 bits, into the sink slot's halves. */
function extendedRm(w: Uint32Array, i: number): void {
  const m2 = 2 * sm(i);
  let lo = w[m2]!;
  let hi: number;
  switch ((i >>> 13) & 7) {
    case 0:
      lo &= 0xff;
      hi = 0;
      break;
    case 1:
      lo &= 0xffff;
      hi = 0;
      break;
    case 2:
      hi = 0;
      break;
    case 4:
      lo = (lo << 24) >> 24;
      hi = lo >> 31;
      break;
    case 5:
      lo = (lo << 16) >> 16;
      hi = lo >> 31;
      break;
    case 6:
      hi = (lo | 0) >> 31;
      break;
    default:
      hi = w[m2 + 1]!;
  }
  const a = (i >>> 10) & 7; // 0..4, larger amounts are rejected by the row
  if (a !== 0) {
    hi = (hi << a) | (lo >>> (32 - a));
    lo = lo << a;
  }
  w[S2] = lo;
  w[S2 + 1] = hi;
}

/** ADD/SUB (extended register), 64-bit, no flags: Rd and Rn may be SP. */
export function addSubExt64(cpu: Cpu, i: number): void {
  const x = cpu.x;
  extendedRm(cpu.w, i);
  const d = i & 31;
  const n = (i >>> 5) & 31;
  if ((i & 0x40000000) === 0) x[d] = x[n]! + x[SINK]!;
  else x[d] = x[n]! - x[SINK]!;
  cpu.pc += 4;
}

/** ADDS/SUBS (extended register), 64-bit: Rn may be SP, Rd 31 is XZR. */
export function addSubsExt64(cpu: Cpu, i: number): void {
  const w = cpu.w;
  extendedRm(w, i);
  const n2 = (i >>> 4) & 62;
  if ((i & 0x40000000) === 0) adc64(cpu, sd(i), w[n2]!, w[n2 + 1]!, w[S2]!, w[S2 + 1]!, 0, true);
  else adc64(cpu, sd(i), w[n2]!, w[n2 + 1]!, ~w[S2]! >>> 0, ~w[S2 + 1]! >>> 0, 1, true);
  cpu.pc += 4;
}

/** ADD/ADDS/SUB/SUBS (extended register), 32-bit. */
export function addSubExt32(cpu: Cpu, i: number): void {
  const w = cpu.w;
  extendedRm(w, i);
  const b = w[S2]!;
  const a = w[(i >>> 4) & 62]!;
  const s = (i & 0x20000000) !== 0;
  const d = s ? sd(i) : i & 31;
  if ((i & 0x40000000) === 0) adc32(cpu, d, a, b, 0, s);
  else adc32(cpu, d, a, ~b >>> 0, 1, s);
  cpu.pc += 4;
}

// ---------------------------------------------------------------------------------------------
// Add/subtract with carry
// ---------------------------------------------------------------------------------------------

export function adcSbc64(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const n2 = 2 * sn(i);
  const m2 = 2 * sm(i);
  const s = (i & 0x20000000) !== 0;
  if ((i & 0x40000000) === 0) adc64(cpu, sd(i), w[n2]!, w[n2 + 1]!, w[m2]!, w[m2 + 1]!, cpu.cf, s);
  else adc64(cpu, sd(i), w[n2]!, w[n2 + 1]!, ~w[m2]! >>> 0, ~w[m2 + 1]! >>> 0, cpu.cf, s);
  cpu.pc += 4;
}

export function adcSbc32(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const a = w[2 * sn(i)]!;
  const b = w[2 * sm(i)]!;
  const s = (i & 0x20000000) !== 0;
  if ((i & 0x40000000) === 0) adc32(cpu, sd(i), a, b, cpu.cf, s);
  else adc32(cpu, sd(i), a, ~b >>> 0, cpu.cf, s);
  cpu.pc += 4;
}

// ---------------------------------------------------------------------------------------------
// Conditional compare: when the condition holds, the flags of Rn - op2 (CCMP) or Rn + op2 (CCMN);
// otherwise the flags are the nzcv immediate.
// ---------------------------------------------------------------------------------------------

function setNzcv(cpu: Cpu, nzcv: number): void {
  cpu.nf = (nzcv >>> 3) & 1;
  cpu.zf = (nzcv >>> 2) & 1;
  cpu.cf = (nzcv >>> 1) & 1;
  cpu.vf = nzcv & 1;
}

/** CCMP/CCMN, 64-bit; bit 11 selects an immediate (imm5 in the Rm field) or a register. */
export function ccmp64(cpu: Cpu, i: number): void {
  if (condHolds(cpu, (i >>> 12) & 15)) {
    const w = cpu.w;
    const n2 = 2 * sn(i);
    let blo: number;
    let bhi: number;
    if ((i & 0x800) !== 0) {
      blo = (i >>> 16) & 31;
      bhi = 0;
    } else {
      const m2 = 2 * sm(i);
      blo = w[m2]!;
      bhi = w[m2 + 1]!;
    }
    if ((i & 0x40000000) !== 0) adc64(cpu, SINK, w[n2]!, w[n2 + 1]!, ~blo >>> 0, ~bhi >>> 0, 1, true);
    else adc64(cpu, SINK, w[n2]!, w[n2 + 1]!, blo, bhi, 0, true);
  } else {
    setNzcv(cpu, i & 15);
  }
  cpu.pc += 4;
}

export function ccmp32(cpu: Cpu, i: number): void {
  if (condHolds(cpu, (i >>> 12) & 15)) {
    const w = cpu.w;
    const b = (i & 0x800) !== 0 ? (i >>> 16) & 31 : w[2 * sm(i)]!;
    const a = w[2 * sn(i)]!;
    if ((i & 0x40000000) !== 0) adc32(cpu, SINK, a, ~b >>> 0, 1, true);
    else adc32(cpu, SINK, a, b, 0, true);
  } else {
    setNzcv(cpu, i & 15);
  }
  cpu.pc += 4;
}

// ---------------------------------------------------------------------------------------------
// Conditional select
// ---------------------------------------------------------------------------------------------

export function csel64(cpu: Cpu, i: number): void {
  const x = cpu.x;
  x[sd(i)] = condHolds(cpu, (i >>> 12) & 15) ? x[sn(i)]! : x[sm(i)]!;
  cpu.pc += 4;
}

export function csinc64(cpu: Cpu, i: number): void {
  const x = cpu.x;
  x[sd(i)] = condHolds(cpu, (i >>> 12) & 15) ? x[sn(i)]! : x[sm(i)]! + 1n;
  cpu.pc += 4;
}

export function csinv64(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const d2 = 2 * sd(i);
  if (condHolds(cpu, (i >>> 12) & 15)) {
    const n2 = 2 * sn(i);
    w[d2] = w[n2]!;
    w[d2 + 1] = w[n2 + 1]!;
  } else {
    const m2 = 2 * sm(i);
    w[d2] = ~w[m2]!;
    w[d2 + 1] = ~w[m2 + 1]!;
  }
  cpu.pc += 4;
}

export function csneg64(cpu: Cpu, i: number): void {
  const x = cpu.x;
  x[sd(i)] = condHolds(cpu, (i >>> 12) & 15) ? x[sn(i)]! : 0n - x[sm(i)]!;
  cpu.pc += 4;
}

/** CSET Xd, cond (CSINC Xd, XZR, XZR, invert(cond)). */
export function cset64(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const d2 = 2 * sd(i);
  w[d2] = condHolds(cpu, (i >>> 12) & 15) ? 0 : 1;
  w[d2 + 1] = 0;
  cpu.pc += 4;
}

/** CSETM Xd, cond (CSINV Xd, XZR, XZR, invert(cond)). */
export function csetm64(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const d2 = 2 * sd(i);
  const v = condHolds(cpu, (i >>> 12) & 15) ? 0 : 0xffffffff;
  w[d2] = v;
  w[d2 + 1] = v;
  cpu.pc += 4;
}

export function csel32(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const d2 = 2 * sd(i);
  w[d2] = condHolds(cpu, (i >>> 12) & 15) ? w[2 * sn(i)]! : w[2 * sm(i)]!;
  w[d2 + 1] = 0;
  cpu.pc += 4;
}

export function csinc32(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const d2 = 2 * sd(i);
  w[d2] = condHolds(cpu, (i >>> 12) & 15) ? w[2 * sn(i)]! : w[2 * sm(i)]! + 1;
  w[d2 + 1] = 0;
  cpu.pc += 4;
}

export function csinv32(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const d2 = 2 * sd(i);
  w[d2] = condHolds(cpu, (i >>> 12) & 15) ? w[2 * sn(i)]! : ~w[2 * sm(i)]!;
  w[d2 + 1] = 0;
  cpu.pc += 4;
}

export function csneg32(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const d2 = 2 * sd(i);
  w[d2] = condHolds(cpu, (i >>> 12) & 15) ? w[2 * sn(i)]! : -w[2 * sm(i)]!;
  w[d2 + 1] = 0;
  cpu.pc += 4;
}

export function cset32(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const d2 = 2 * sd(i);
  w[d2] = condHolds(cpu, (i >>> 12) & 15) ? 0 : 1;
  w[d2 + 1] = 0;
  cpu.pc += 4;
}

export function csetm32(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const d2 = 2 * sd(i);
  w[d2] = condHolds(cpu, (i >>> 12) & 15) ? 0 : 0xffffffff;
  w[d2 + 1] = 0;
  cpu.pc += 4;
}

// ---------------------------------------------------------------------------------------------
// Data-processing (1 source)
// ---------------------------------------------------------------------------------------------

function bitrev32(v: number): number {
  v = ((v >>> 1) & 0x55555555) | ((v & 0x55555555) << 1);
  v = ((v >>> 2) & 0x33333333) | ((v & 0x33333333) << 2);
  v = ((v >>> 4) & 0x0f0f0f0f) | ((v & 0x0f0f0f0f) << 4);
  v = ((v >>> 8) & 0x00ff00ff) | ((v & 0x00ff00ff) << 8);
  return (v >>> 16) | (v << 16);
}

const bswap32 = (v: number): number => (v >>> 24) | ((v >>> 8) & 0xff00) | ((v & 0xff00) << 8) | (v << 24);
const bswap16x2 = (v: number): number => ((v >>> 8) & 0x00ff00ff) | ((v & 0x00ff00ff) << 8);

export function rbit64(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const n2 = 2 * sn(i);
  const lo = w[n2]!;
  const hi = w[n2 + 1]!;
  const d2 = 2 * sd(i);
  w[d2] = bitrev32(hi);
  w[d2 + 1] = bitrev32(lo);
  cpu.pc += 4;
}

export function rbit32(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const d2 = 2 * sd(i);
  w[d2] = bitrev32(w[2 * sn(i)]!);
  w[d2 + 1] = 0;
  cpu.pc += 4;
}

export function rev16_64(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const n2 = 2 * sn(i);
  const d2 = 2 * sd(i);
  w[d2] = bswap16x2(w[n2]!);
  w[d2 + 1] = bswap16x2(w[n2 + 1]!);
  cpu.pc += 4;
}

export function rev16_32(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const d2 = 2 * sd(i);
  w[d2] = bswap16x2(w[2 * sn(i)]!);
  w[d2 + 1] = 0;
  cpu.pc += 4;
}

/** REV32 Xd (each word byte-reversed in place). */
export function rev32_64(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const n2 = 2 * sn(i);
  const d2 = 2 * sd(i);
  w[d2] = bswap32(w[n2]!);
  w[d2 + 1] = bswap32(w[n2 + 1]!);
  cpu.pc += 4;
}

/** REV Wd. */
export function rev32(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const d2 = 2 * sd(i);
  w[d2] = bswap32(w[2 * sn(i)]!);
  w[d2 + 1] = 0;
  cpu.pc += 4;
}

/** REV Xd (REV64). */
export function rev64(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const n2 = 2 * sn(i);
  const lo = w[n2]!;
  const hi = w[n2 + 1]!;
  const d2 = 2 * sd(i);
  w[d2] = bswap32(hi);
  w[d2 + 1] = bswap32(lo);
  cpu.pc += 4;
}

export function clz64(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const n2 = 2 * sn(i);
  const hi = w[n2 + 1]!;
  const d2 = 2 * sd(i);
  w[d2] = hi !== 0 ? Math.clz32(hi) : 32 + Math.clz32(w[n2]!);
  w[d2 + 1] = 0;
  cpu.pc += 4;
}

export function clz32(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const d2 = 2 * sd(i);
  w[d2] = Math.clz32(w[2 * sn(i)]!);
  w[d2 + 1] = 0;
  cpu.pc += 4;
}

/** CLS: CountLeadingZeroBits(x<N-1:1> EOR x<N-2:0>), i.e. CLZ((x ^ (x << 1)) >>> 1) - 1. */
export function cls64(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const n2 = 2 * sn(i);
  const lo = w[n2]!;
  const hi = w[n2 + 1]!;
  const thi = hi ^ ((hi << 1) | (lo >>> 31));
  const tlo = lo ^ (lo << 1);
  const zhi = thi >>> 1;
  const zlo = (tlo >>> 1) | (thi << 31);
  const d2 = 2 * sd(i);
  w[d2] = (zhi !== 0 ? Math.clz32(zhi) : 32 + Math.clz32(zlo)) - 1;
  w[d2 + 1] = 0;
  cpu.pc += 4;
}

export function cls32(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const v = w[2 * sn(i)]!;
  const d2 = 2 * sd(i);
  w[d2] = Math.clz32((v ^ (v << 1)) >>> 1) - 1;
  w[d2 + 1] = 0;
  cpu.pc += 4;
}

// ---------------------------------------------------------------------------------------------
// Data-processing (2 source)
// ---------------------------------------------------------------------------------------------

/** UDIV: division by zero gives zero (no trap in AArch64). */
export function udiv64(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const n2 = 2 * sn(i);
  const m2 = 2 * sm(i);
  const d2 = 2 * sd(i);
  if ((w[n2 + 1]! | w[m2 + 1]!) === 0) {
    // Both operands fit in 32 bits: a double division is exact enough to truncate.
    const b = w[m2]!;
    w[d2] = b === 0 ? 0 : w[n2]! / b;
    w[d2 + 1] = 0;
  } else {
    const x = cpu.x;
    const b = x[m2 >>> 1]!;
    x[d2 >>> 1] = b === 0n ? 0n : x[n2 >>> 1]! / b;
  }
  cpu.pc += 4;
}

/** SDIV: rounds towards zero; division by zero gives zero; INT64_MIN / -1 wraps to INT64_MIN. */
export function sdiv64(cpu: Cpu, i: number): void {
  const wi = cpu.wi;
  const n2 = 2 * sn(i);
  const m2 = 2 * sm(i);
  const d2 = 2 * sd(i);
  const a = wi[n2]!;
  const b = wi[m2]!;
  if (wi[n2 + 1] === a >> 31 && wi[m2 + 1] === b >> 31) {
    // Both operands are sign-extended 32-bit values: the quotient is exact in a double.
    const q = b === 0 ? 0 : Math.trunc(a / b);
    const w = cpu.w;
    w[d2] = q;
    w[d2 + 1] = q < 0 ? 0xffffffff : 0;
  } else {
    const x = cpu.x;
    const bb = BigInt.asIntN(64, x[m2 >>> 1]!);
    x[d2 >>> 1] = bb === 0n ? 0n : BigInt.asIntN(64, x[n2 >>> 1]!) / bb;
  }
  cpu.pc += 4;
}

export function udiv32(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const b = w[2 * sm(i)]!;
  const d2 = 2 * sd(i);
  w[d2] = b === 0 ? 0 : w[2 * sn(i)]! / b;
  w[d2 + 1] = 0;
  cpu.pc += 4;
}

export function sdiv32(cpu: Cpu, i: number): void {
  const wi = cpu.wi;
  const b = wi[2 * sm(i)]!;
  const d2 = 2 * sd(i);
  // (a / b) | 0 truncates towards zero and wraps 2^31 (INT32_MIN / -1) to INT32_MIN.
  wi[d2] = b === 0 ? 0 : (wi[2 * sn(i)]! / b) | 0;
  wi[d2 + 1] = 0;
  cpu.pc += 4;
}

/** LSLV/LSRV/ASRV/RORV, 64-bit: op2 (bits 11:10) selects the shift, Rm mod 64 the amount. */
export function shiftV64(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const n2 = 2 * sn(i);
  const a = w[2 * sm(i)]! & 63;
  let lo = w[n2]!;
  let hi = w[n2 + 1]!;
  if (a !== 0) {
    switch ((i >>> 10) & 3) {
      case 0:
        if (a >= 32) {
          hi = lo << (a - 32);
          lo = 0;
        } else {
          hi = (hi << a) | (lo >>> (32 - a));
          lo = lo << a;
        }
        break;
      case 1:
        if (a >= 32) {
          lo = hi >>> (a - 32);
          hi = 0;
        } else {
          lo = (lo >>> a) | (hi << (32 - a));
          hi = hi >>> a;
        }
        break;
      case 2:
        if (a >= 32) {
          lo = (hi | 0) >> (a - 32);
          hi = (hi | 0) >> 31;
        } else {
          lo = (lo >>> a) | (hi << (32 - a));
          hi = (hi | 0) >> a;
        }
        break;
      default: {
        if (a >= 32) {
          const t = lo;
          lo = hi;
          hi = t;
        }
        const s = a & 31;
        if (s !== 0) {
          const nlo = (lo >>> s) | (hi << (32 - s));
          hi = (hi >>> s) | (lo << (32 - s));
          lo = nlo;
        }
      }
    }
  }
  const d2 = 2 * sd(i);
  w[d2] = lo;
  w[d2 + 1] = hi;
  cpu.pc += 4;
}

export function shiftV32(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const v = w[2 * sn(i)]!;
  const a = w[2 * sm(i)]! & 31;
  let r: number;
  switch ((i >>> 10) & 3) {
    case 0:
      r = v << a;
      break;
    case 1:
      r = v >>> a;
      break;
    case 2:
      r = (v | 0) >> a;
      break;
    default:
      r = (v >>> a) | (v << (32 - a));
  }
  const d2 = 2 * sd(i);
  w[d2] = r;
  w[d2 + 1] = 0;
  cpu.pc += 4;
}

function crcTable(poly: number): Uint32Array {
  const t = new Uint32Array(256);
  for (let k = 0; k < 256; k++) {
    let c = k;
    for (let j = 0; j < 8; j++) c = c & 1 ? (c >>> 1) ^ poly : c >>> 1;
    t[k] = c;
  }
  return t;
}

/** Bit-reflected tables: CRC-32 (polynomial 0x04C11DB7) and CRC-32C (0x1EDC6F41). */
const CRC32_TAB = crcTable(0xedb88320);
const CRC32C_TAB = crcTable(0x82f63b78);

/**
 * CRC32{B,H,W,X} and CRC32C{B,H,W,X}: Wn is the accumulator, Rm the data (bytes in little-endian
 * order, sz in bits 11:10), C in bit 12. The instruction is the bit-reflected CRC update with no
 * pre- or post-inversion, which the usual byte table computes.
 */
export function crc32(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const tab = (i & 0x1000) !== 0 ? CRC32C_TAB : CRC32_TAB;
  const m2 = 2 * sm(i);
  let acc = w[2 * sn(i)]!;
  let v = w[m2]!;
  const sz = (i >>> 10) & 3;
  const nbytes = sz === 3 ? 4 : 1 << sz;
  for (let k = 0; k < nbytes; k++) {
    acc = tab[(acc ^ v) & 0xff]! ^ (acc >>> 8);
    v >>>= 8;
  }
  if (sz === 3) {
    v = w[m2 + 1]!;
    for (let k = 0; k < 4; k++) {
      acc = tab[(acc ^ v) & 0xff]! ^ (acc >>> 8);
      v >>>= 8;
    }
  }
  const d2 = 2 * sd(i);
  w[d2] = acc;
  w[d2 + 1] = 0;
  cpu.pc += 4;
}

// ---------------------------------------------------------------------------------------------
// Data-processing (3 source)
// ---------------------------------------------------------------------------------------------

export function madd64(cpu: Cpu, i: number): void {
  const x = cpu.x;
  x[sd(i)] = x[sa(i)]! + x[sn(i)]! * x[sm(i)]!;
  cpu.pc += 4;
}

export function msub64(cpu: Cpu, i: number): void {
  const x = cpu.x;
  x[sd(i)] = x[sa(i)]! - x[sn(i)]! * x[sm(i)]!;
  cpu.pc += 4;
}

/** MUL Xd, Xn, Xm (MADD with Ra = XZR). */
export function mul64(cpu: Cpu, i: number): void {
  const x = cpu.x;
  x[sd(i)] = x[sn(i)]! * x[sm(i)]!;
  cpu.pc += 4;
}

export function madd32(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const d2 = 2 * sd(i);
  w[d2] = w[2 * sa(i)]! + Math.imul(w[2 * sn(i)]!, w[2 * sm(i)]!);
  w[d2 + 1] = 0;
  cpu.pc += 4;
}

export function msub32(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const d2 = 2 * sd(i);
  w[d2] = w[2 * sa(i)]! - Math.imul(w[2 * sn(i)]!, w[2 * sm(i)]!);
  w[d2 + 1] = 0;
  cpu.pc += 4;
}

/** SMADDL/SMSUBL: Xa ± SInt(Wn) * SInt(Wm); o0 (bit 15) selects subtraction. */
export function smaddl(cpu: Cpu, i: number): void {
  const x = cpu.x;
  const p = BigInt.asIntN(32, x[sn(i)]!) * BigInt.asIntN(32, x[sm(i)]!);
  x[sd(i)] = (i & 0x8000) === 0 ? x[sa(i)]! + p : x[sa(i)]! - p;
  cpu.pc += 4;
}

const M32 = 0xffffffffn;

/** UMADDL/UMSUBL: Xa ± UInt(Wn) * UInt(Wm). */
export function umaddl(cpu: Cpu, i: number): void {
  const x = cpu.x;
  const p = (x[sn(i)]! & M32) * (x[sm(i)]! & M32);
  x[sd(i)] = (i & 0x8000) === 0 ? x[sa(i)]! + p : x[sa(i)]! - p;
  cpu.pc += 4;
}

let mulHiLo = 0;
let mulHiHi = 0;

/** The high 64 bits of the unsigned 128-bit product, in 16-bit limbs (every partial sum < 2^53). */
function umulhi(alo: number, ahi: number, blo: number, bhi: number): void {
  const a0 = alo & 0xffff;
  const a1 = alo >>> 16;
  const a2 = ahi & 0xffff;
  const a3 = ahi >>> 16;
  const b0 = blo & 0xffff;
  const b1 = blo >>> 16;
  const b2 = bhi & 0xffff;
  const b3 = bhi >>> 16;
  let c = a0 * b0;
  c = Math.floor(c / 65536) + a0 * b1 + a1 * b0;
  c = Math.floor(c / 65536) + a0 * b2 + a1 * b1 + a2 * b0;
  c = Math.floor(c / 65536) + a0 * b3 + a1 * b2 + a2 * b1 + a3 * b0;
  c = Math.floor(c / 65536) + a1 * b3 + a2 * b2 + a3 * b1;
  const r4 = c % 65536;
  c = Math.floor(c / 65536) + a2 * b3 + a3 * b2;
  const r5 = c % 65536;
  c = Math.floor(c / 65536) + a3 * b3;
  mulHiLo = r4 + r5 * 65536;
  mulHiHi = c;
}

export function umulh(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const n2 = 2 * sn(i);
  const m2 = 2 * sm(i);
  umulhi(w[n2]!, w[n2 + 1]!, w[m2]!, w[m2 + 1]!);
  const d2 = 2 * sd(i);
  w[d2] = mulHiLo;
  w[d2 + 1] = mulHiHi;
  cpu.pc += 4;
}

/** SMULH: the unsigned high half, minus b when a < 0 and minus a when b < 0 (mod 2^64). */
export function smulh(cpu: Cpu, i: number): void {
  const w = cpu.w;
  const n2 = 2 * sn(i);
  const m2 = 2 * sm(i);
  const alo = w[n2]!;
  const ahi = w[n2 + 1]!;
  const blo = w[m2]!;
  const bhi = w[m2 + 1]!;
  umulhi(alo, ahi, blo, bhi);
  let lo = mulHiLo;
  let hi = mulHiHi;
  if ((ahi & 0x80000000) !== 0) {
    const t = lo - blo;
    hi = hi - bhi - (t < 0 ? 1 : 0);
    lo = t >>> 0;
  }
  if ((bhi & 0x80000000) !== 0) {
    const t = lo - alo;
    hi = hi - ahi - (t < 0 ? 1 : 0);
    lo = t >>> 0;
  }
  const d2 = 2 * sd(i);
  w[d2] = lo;
  w[d2 + 1] = hi;
  cpu.pc += 4;
}
