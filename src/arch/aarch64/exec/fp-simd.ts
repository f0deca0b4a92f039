// AdvSIMD integer, bitwise and data-movement instructions that compilers emit for plain C
// (memset/memcpy, struct copies, simple vectorised loops): Arm ARM C4.1.95 groups "AdvSIMD copy",
// "modified immediate", "three same", "two-register miscellaneous", "across lanes", "scalar
// pairwise", "extract", "permute" and "shift by immediate", and their scalar forms.
//
// Vectors are read through the byte/halfword/word views of the V register file (lane k of a
// 2^s-byte element of V<n> is at index n*(16>>s)+k) and 64-bit lanes as BigInt. A result with
// Q == 0 clears the upper 64 bits of the destination. Operations that read lanes other than the
// one they write (permutes, pairwise, narrowing, EXT, REV, DUP element) copy their sources first,
// so Vd may be any of the sources.

import type { Cpu } from '../cpu.js';
import { BI, rz, wz } from './common.js';
import { clearHi, expandImmDHi, expandImmS } from './fp.js';
import { arith2, Op2, S } from './fp-soft.js';

const rd = (i: number): number => i & 31;
const rn = (i: number): number => (i >>> 5) & 31;
const rm = (i: number): number => (i >>> 16) & 31;
const qOf = (i: number): number => (i >>> 30) & 1;
const sizeOf = (i: number): number => (i >>> 22) & 3;

const tmp = new ArrayBuffer(32);
const t8 = new Uint8Array(tmp);
const t16 = new Uint16Array(tmp);
const t32 = new Uint32Array(tmp);
const t64 = new BigUint64Array(tmp);

const ONES64 = 0xffffffffffffffffn;

function finish(cpu: Cpu, i: number, d: number): void {
  if ((i & (1 << 30)) === 0) clearHi(cpu, d);
  cpu.pc += 4;
}

/** Read element `k` of V<n> with element size 2^s bytes (s < 3) as an unsigned Number. */
function getE(cpu: Cpu, n: number, k: number, s: number): number {
  switch (s) {
    case 0:
      return cpu.v8[16 * n + k]!;
    case 1:
      return cpu.v16[8 * n + k]!;
    default:
      return cpu.v32[4 * n + k]!;
  }
}

function setE(cpu: Cpu, d: number, k: number, s: number, x: number): void {
  switch (s) {
    case 0:
      cpu.v8[16 * d + k] = x;
      break;
    case 1:
      cpu.v16[8 * d + k] = x;
      break;
    default:
      cpu.v32[4 * d + k] = x;
  }
}

/** Sign-extend an element value of size 2^s bytes (s < 3). */
function sx(x: number, s: number): number {
  const sh = 32 - (8 << s);
  return (x << sh) >> sh;
}

/** Copy V<n> (16 bytes) into the scratch buffer at byte offset `off`. */
function save(cpu: Cpu, n: number, off: number): void {
  t64[off >>> 3] = cpu.v[2 * n]!;
  t64[(off >>> 3) + 1] = cpu.v[2 * n + 1]!;
}

// ---------------------------------------------------------------------------------------------
// Three same: ADD, SUB, MUL, compares, logical, ADDP
// ---------------------------------------------------------------------------------------------

/** ADD (U=0) / SUB (U=1), vector or scalar (size 3). */
export function addSub(cpu: Cpu, i: number): void {
  const d = rd(i);
  const n = rn(i);
  const m = rm(i);
  const sub = (i & (1 << 29)) !== 0;
  const s = sizeOf(i);
  const v = cpu.v;
  if (s === 3) {
    const lanes = (i & (1 << 28)) !== 0 ? 1 : 1 + qOf(i); // bit 28 set: scalar form
    for (let e = 0; e < lanes; e++) v[2 * d + e] = sub ? v[2 * n + e]! - v[2 * m + e]! : v[2 * n + e]! + v[2 * m + e]!;
    if (lanes === 1) v[2 * d + 1] = 0n;
    cpu.pc += 4;
    return;
  }
  const lanes = (8 << qOf(i)) >>> s;
  if (s === 2) {
    const w = cpu.v32;
    for (let e = 0; e < lanes; e++) w[4 * d + e] = sub ? w[4 * n + e]! - w[4 * m + e]! : w[4 * n + e]! + w[4 * m + e]!;
  } else {
    for (let e = 0; e < lanes; e++) {
      const a = getE(cpu, n, e, s);
      const b = getE(cpu, m, e, s);
      setE(cpu, d, e, s, sub ? a - b : a + b);
    }
  }
  finish(cpu, i, d);
}

export function mulVec(cpu: Cpu, i: number): void {
  const d = rd(i);
  const n = rn(i);
  const m = rm(i);
  const s = sizeOf(i);
  const lanes = (8 << qOf(i)) >>> s;
  for (let e = 0; e < lanes; e++) setE(cpu, d, e, s, Math.imul(getE(cpu, n, e, s), getE(cpu, m, e, s)));
  finish(cpu, i, d);
}

export const enum Cmp {
  Gt = 0,
  Ge = 1,
  Hi = 2,
  Hs = 3,
  Eq = 4,
  Tst = 5,
  Lt = 6,
  Le = 7,
}

function test(kind: Cmp, a: number, b: number, s: number): boolean {
  switch (kind) {
    case Cmp.Gt:
      return sx(a, s) > sx(b, s);
    case Cmp.Ge:
      return sx(a, s) >= sx(b, s);
    case Cmp.Hi:
      return a > b;
    case Cmp.Hs:
      return a >= b;
    case Cmp.Eq:
      return a === b;
    case Cmp.Tst:
      return (a & b) !== 0;
    case Cmp.Lt:
      return sx(a, s) < sx(b, s);
    default:
      return sx(a, s) <= sx(b, s);
  }
}

function test64(kind: Cmp, a: bigint, b: bigint): boolean {
  switch (kind) {
    case Cmp.Gt:
      return BigInt.asIntN(64, a) > BigInt.asIntN(64, b);
    case Cmp.Ge:
      return BigInt.asIntN(64, a) >= BigInt.asIntN(64, b);
    case Cmp.Hi:
      return a > b;
    case Cmp.Hs:
      return a >= b;
    case Cmp.Eq:
      return a === b;
    case Cmp.Tst:
      return (a & b) !== 0n;
    case Cmp.Lt:
      return BigInt.asIntN(64, a) < BigInt.asIntN(64, b);
    default:
      return BigInt.asIntN(64, a) <= BigInt.asIntN(64, b);
  }
}

/** Compare lanes of V<n> with V<m> (m < 0: with zero) into all-ones / all-zeros lanes of V<d>. */
function cmpLanes(cpu: Cpu, i: number, kind: Cmp, m: number, scalar: boolean): void {
  const d = rd(i);
  const n = rn(i);
  const s = sizeOf(i);
  if (s === 3) {
    const v = cpu.v;
    const lanes = scalar ? 1 : 1 + qOf(i);
    for (let e = 0; e < lanes; e++)
      v[2 * d + e] = test64(kind, v[2 * n + e]!, m < 0 ? 0n : v[2 * m + e]!) ? ONES64 : 0n;
    if (scalar) v[2 * d + 1] = 0n;
  } else {
    const lanes = (8 << qOf(i)) >>> s;
    const ones = s === 2 ? 0xffffffff : (1 << (8 << s)) - 1;
    for (let e = 0; e < lanes; e++) {
      const ok = test(kind, getE(cpu, n, e, s), m < 0 ? 0 : getE(cpu, m, e, s), s);
      setE(cpu, d, e, s, ok ? ones : 0);
    }
  }
  if (!scalar && (i & (1 << 30)) === 0) clearHi(cpu, d);
  cpu.pc += 4;
}

/** Three-same compares: opcode 00110 GT/HI, 00111 GE/HS, 10001 TST/EQ (U picks the second). */
export function cmpReg(cpu: Cpu, i: number): void {
  const u = (i >>> 29) & 1;
  const op = (i >>> 11) & 31;
  const kind = op === 0b10001 ? (u ? Cmp.Eq : Cmp.Tst) : (((u << 1) | (op & 1)) as Cmp);
  cmpLanes(cpu, i, kind, rm(i), (i & (1 << 28)) !== 0);
}

/** Two-register-misc compares with zero: opcode 01000 GT/GE, 01001 EQ/LE, 01010 LT. */
export function cmpZero(cpu: Cpu, i: number): void {
  const u = (i >>> 29) & 1;
  const op = (i >>> 12) & 31;
  let kind: Cmp;
  if (op === 0b01000) kind = u ? Cmp.Ge : Cmp.Gt;
  else if (op === 0b01001) kind = u ? Cmp.Le : Cmp.Eq;
  else kind = Cmp.Lt;
  cmpLanes(cpu, i, kind, -1, (i & (1 << 28)) !== 0);
}

/** AND, BIC, ORR, ORN (U=0) and EOR, BSL, BIT, BIF (U=1), selected by size (bits 23:22). */
export function logic(cpu: Cpu, i: number): void {
  const d = rd(i);
  const n = rn(i);
  const m = rm(i);
  const op = ((i >>> 27) & 4) | sizeOf(i); // U:size
  const v = cpu.v;
  const lanes = 1 + qOf(i);
  for (let e = 0; e < lanes; e++) {
    const a = v[2 * n + e]!;
    const b = v[2 * m + e]!;
    const c = v[2 * d + e]!;
    let r: bigint;
    switch (op) {
      case 0:
        r = a & b;
        break;
      case 1:
        r = a & ~b;
        break;
      case 2:
        r = a | b;
        break;
      case 3:
        r = a | ~b;
        break;
      case 4:
        r = a ^ b;
        break;
      case 5:
        r = ((a ^ b) & c) ^ b; // BSL: Vd selects between Vn (1) and Vm (0)
        break;
      case 6:
        r = c ^ ((c ^ a) & b); // BIT: insert Vn where Vm is 1
        break;
      default:
        r = c ^ ((c ^ a) & ~b); // BIF: insert Vn where Vm is 0
    }
    v[2 * d + e] = r;
  }
  finish(cpu, i, d);
}

/** ADDP (vector): pairwise sums over the concatenation Vm:Vn. */
export function addpVec(cpu: Cpu, i: number): void {
  const d = rd(i);
  const s = sizeOf(i);
  const bytes = 8 << qOf(i);
  save(cpu, rn(i), 0);
  // Vm's lanes follow Vn's directly: at byte 8 for a 64-bit vector, 16 for a 128-bit one.
  if (bytes === 8) t64[1] = cpu.v[2 * rm(i)]!;
  else save(cpu, rm(i), 16);
  const lanes = bytes >>> s;
  const v = cpu.v;
  for (let e = 0; e < lanes; e++) {
    switch (s) {
      case 0:
        cpu.v8[16 * d + e] = t8[2 * e]! + t8[2 * e + 1]!;
        break;
      case 1:
        cpu.v16[8 * d + e] = t16[2 * e]! + t16[2 * e + 1]!;
        break;
      case 2:
        cpu.v32[4 * d + e] = t32[2 * e]! + t32[2 * e + 1]!;
        break;
      default:
        v[2 * d + e] = t64[2 * e]! + t64[2 * e + 1]!;
    }
  }
  finish(cpu, i, d);
}

/** ADDP (scalar): Dd = Vn.D[0] + Vn.D[1]. */
export function addpScalar(cpu: Cpu, i: number): void {
  const d = rd(i);
  const n = rn(i);
  cpu.v[2 * d] = cpu.v[2 * n]! + cpu.v[2 * n + 1]!;
  clearHi(cpu, d);
  cpu.pc += 4;
}

// ---------------------------------------------------------------------------------------------
// Two-register miscellaneous: NOT, CNT, REV*, XTN
// ---------------------------------------------------------------------------------------------

export function notVec(cpu: Cpu, i: number): void {
  const d = rd(i);
  const n = rn(i);
  cpu.v[2 * d] = ~cpu.v[2 * n]!;
  cpu.v[2 * d + 1] = ~cpu.v[2 * n + 1]!;
  finish(cpu, i, d);
}

const POP8 = Uint8Array.from({ length: 256 }, (_, k) => {
  let c = 0;
  for (let x = k; x; x &= x - 1) c++;
  return c;
});

export function cnt(cpu: Cpu, i: number): void {
  const d = rd(i);
  const n = rn(i);
  const b = cpu.v8;
  const bytes = 8 << qOf(i);
  for (let e = 0; e < bytes; e++) b[16 * d + e] = POP8[b[16 * n + e]!]!;
  finish(cpu, i, d);
}

/** REV64 (U=0, op 0), REV32 (U=1, op 0), REV16 (U=0, op 1): reverse elements within containers. */
export function rev(cpu: Cpu, i: number): void {
  const d = rd(i);
  const s = sizeOf(i);
  const op = ((i >>> 12) & 1) | ((i >>> 28) & 2); // 0 REV64, 1 REV16, 2 REV32
  const cbytes = op === 0 ? 8 : op === 2 ? 4 : 2;
  const x = cbytes - (1 << s);
  save(cpu, rn(i), 0);
  const bytes = 8 << qOf(i);
  for (let j = 0; j < bytes; j++) cpu.v8[16 * d + j] = t8[j ^ x]!;
  finish(cpu, i, d);
}

/** XTN/XTN2: narrow each element of Vn to its low half, into the lower (Q=0) or upper half of Vd. */
export function xtn(cpu: Cpu, i: number): void {
  const d = rd(i);
  const s = sizeOf(i); // destination element size
  const upper = qOf(i);
  save(cpu, rn(i), 0);
  const lanes = 8 >>> s;
  const base = upper ? lanes : 0;
  for (let e = 0; e < lanes; e++) {
    switch (s) {
      case 0:
        cpu.v8[16 * d + base + e] = t16[e]!;
        break;
      case 1:
        cpu.v16[8 * d + base + e] = t32[e]!;
        break;
      default:
        cpu.v32[4 * d + base + e] = Number(t64[e]! & 0xffffffffn);
    }
  }
  if (!upper) clearHi(cpu, d);
  cpu.pc += 4;
}

// ---------------------------------------------------------------------------------------------
// Across lanes and scalar pairwise: ADDV, SMAXV, SMINV, UMAXV, UMINV
// ---------------------------------------------------------------------------------------------

/** ADDV, [SU]ADDLV, [SU]MAXV, [SU]MINV, and FMAXV/FMINV/FMAXNMV/FMINNMV (4S only). */
export function acrossLanes(cpu: Cpu, i: number): void {
  const d = rd(i);
  const n = rn(i);
  const s = sizeOf(i);
  const u = (i >>> 29) & 1;
  const op = (i >>> 12) & 31;
  if (op === 0b01100 || op === 0b01111) return fpReduce(cpu, i, d, n, op);
  const lanes = (8 << qOf(i)) >>> s;
  let acc = 0;
  for (let e = 0; e < lanes; e++) {
    const x = u ? getE(cpu, n, e, s) : sx(getE(cpu, n, e, s), s);
    if (e === 0) acc = x;
    else if (op === 0b11011 || op === 0b00011)
      acc += x; // exact: at most 16 lanes of 32 bits
    else acc = op === 0b01010 ? Math.max(acc, x) : Math.min(acc, x);
  }
  cpu.v[2 * d] = 0n;
  clearHi(cpu, d);
  if (op === 0b00011) {
    // [SU]ADDLV: the sum is twice the element width
    if (s === 2) cpu.v[2 * d] = BigInt.asUintN(64, BigInt(acc));
    else setE(cpu, d, 0, s + 1, acc);
  } else setE(cpu, d, 0, s, acc); // the typed-array store keeps the low esize bits
  cpu.pc += 4;
}

/**
 * FMAXNMV/FMINNMV (op 01100), FMAXV/FMINV (op 01111) over four singles: the Arm ARM's Reduce()
 * pairs the halves recursively, op(op(e0, e1), op(e2, e3)), which fixes which NaN wins.
 */
function fpReduce(cpu: Cpu, i: number, d: number, n: number, op: number): void {
  const min = (i & (1 << 23)) !== 0;
  const o = op === 0b01100 ? (min ? Op2.MinNum : Op2.MaxNum) : min ? Op2.Min : Op2.Max;
  const e = (k: number): bigint => BigInt(cpu.v32[4 * n + k]!);
  const lo = arith2(cpu, o, e(0), e(1), S);
  const hi = arith2(cpu, o, e(2), e(3), S);
  const r = arith2(cpu, o, lo, hi, S);
  cpu.v[2 * d] = r;
  clearHi(cpu, d);
  cpu.pc += 4;
}

// ---------------------------------------------------------------------------------------------
// Extract and permute
// ---------------------------------------------------------------------------------------------

export function ext(cpu: Cpu, i: number): void {
  const d = rd(i);
  const bytes = 8 << qOf(i);
  const pos = (i >>> 11) & 15;
  save(cpu, rn(i), 0);
  if (bytes === 8) t64[1] = cpu.v[2 * rm(i)]!;
  else save(cpu, rm(i), 16);
  for (let j = 0; j < bytes; j++) cpu.v8[16 * d + j] = t8[j + pos]!;
  finish(cpu, i, d);
}

/** UZP1 1, TRN1 2, ZIP1 3, UZP2 5, TRN2 6, ZIP2 7 (opcode, bits 14:12). */
export function permute(cpu: Cpu, i: number): void {
  const d = rd(i);
  const s = sizeOf(i);
  const eb = 1 << s;
  const op = (i >>> 12) & 7;
  const part = op >>> 2;
  const elems = (8 << qOf(i)) >>> s;
  save(cpu, rn(i), 0);
  save(cpu, rm(i), 16);
  const mBase = 16 >>> s; // element index of Vm's first element in the scratch buffer
  for (let e = 0; e < elems; e++) {
    let src: number;
    switch (op & 3) {
      case 1: // UZP: even (part 0) or odd elements of Vn:Vm
        src = 2 * e + part;
        if (src >= elems) src = src - elems + mBase;
        break;
      case 2: // TRN
        src = (e & 1) === 0 ? (e & ~1) + part : mBase + (e & ~1) + part;
        break;
      default: {
        // ZIP: interleave the low (part 0) or high halves
        const k = (e >>> 1) + part * (elems >>> 1);
        src = (e & 1) === 0 ? k : mBase + k;
      }
    }
    for (let b = 0; b < eb; b++) cpu.v8[16 * d + e * eb + b] = t8[src * eb + b]!;
  }
  finish(cpu, i, d);
}

// ---------------------------------------------------------------------------------------------
// Shift by immediate: SSHR, USHR, SHL, SSHLL/USHLL (vector and scalar)
// ---------------------------------------------------------------------------------------------

/** log2 of the element size in bytes from immh (bits 22:19): its highest set bit. */
export function immhSize(i: number): number {
  const immh = (i >>> 19) & 15;
  return immh >= 8 ? 3 : immh >= 4 ? 2 : immh >= 2 ? 1 : 0;
}

/** SSHR (U=0) / USHR (U=1): shift = 2*esize - immh:immb, 1..esize. */
export function shr(cpu: Cpu, i: number): void {
  const d = rd(i);
  const n = rn(i);
  const s = immhSize(i);
  const esize = 8 << s;
  const sh = 2 * esize - ((i >>> 16) & 127);
  const unsigned = (i & (1 << 29)) !== 0;
  const scalar = (i & (1 << 28)) !== 0;
  if (s === 3) {
    const v = cpu.v;
    const lanes = scalar ? 1 : 2;
    for (let e = 0; e < lanes; e++) {
      const x = v[2 * n + e]!;
      v[2 * d + e] = unsigned ? x >> BI[sh]! : BigInt.asIntN(64, x) >> BI[sh]!;
    }
    if (scalar) v[2 * d + 1] = 0n;
    cpu.pc += 4;
    return;
  }
  const lanes = (8 << qOf(i)) >>> s;
  for (let e = 0; e < lanes; e++) {
    const x = getE(cpu, n, e, s);
    let r: number;
    if (unsigned) r = sh >= esize ? 0 : x >>> sh;
    else r = sx(x, s) >> Math.min(sh, esize - 1);
    setE(cpu, d, e, s, r);
  }
  finish(cpu, i, d);
}

/** SHL: shift = immh:immb - esize, 0..esize-1. */
export function shl(cpu: Cpu, i: number): void {
  const d = rd(i);
  const n = rn(i);
  const s = immhSize(i);
  const sh = ((i >>> 16) & 127) - (8 << s);
  const scalar = (i & (1 << 28)) !== 0;
  if (s === 3) {
    const v = cpu.v;
    const lanes = scalar ? 1 : 2;
    for (let e = 0; e < lanes; e++) v[2 * d + e] = v[2 * n + e]! << BI[sh]!;
    if (scalar) v[2 * d + 1] = 0n;
    cpu.pc += 4;
    return;
  }
  const lanes = (8 << qOf(i)) >>> s;
  for (let e = 0; e < lanes; e++) setE(cpu, d, e, s, getE(cpu, n, e, s) << sh);
  finish(cpu, i, d);
}

/** SSHLL/USHLL(2): widen the lower (Q=0) or upper half of Vn and shift left. */
export function shll(cpu: Cpu, i: number): void {
  const d = rd(i);
  const s = immhSize(i); // source element size
  const sh = ((i >>> 16) & 127) - (8 << s);
  const unsigned = (i & (1 << 29)) !== 0;
  save(cpu, rn(i), 0);
  const lanes = 8 >>> s;
  const base = qOf(i) ? lanes : 0;
  for (let e = 0; e < lanes; e++) {
    let x: number;
    switch (s) {
      case 0:
        x = t8[base + e]!;
        break;
      case 1:
        x = t16[base + e]!;
        break;
      default:
        x = t32[base + e]!;
    }
    if (!unsigned) x = sx(x, s);
    if (s === 2) {
      cpu.v[2 * d + e] = unsigned ? BigInt(x) << BI[sh]! : BigInt(x) << BI[sh]!;
    } else setE(cpu, d, e, s + 1, x << sh);
  }
  cpu.pc += 4;
}

// ---------------------------------------------------------------------------------------------
// Copy: DUP, INS, UMOV, SMOV
// ---------------------------------------------------------------------------------------------

/** The element size (log2 bytes) encoded by imm5 (bits 20:16): its lowest set bit. */
export function imm5Size(i: number): number {
  const imm5 = (i >>> 16) & 31;
  return imm5 & 1 ? 0 : imm5 & 2 ? 1 : imm5 & 4 ? 2 : 3;
}

const imm5Index = (i: number, s: number): number => ((i >>> 16) & 31) >>> (s + 1);

/** Fill `lanes` elements of V<d> (size s) with x (Number for s < 3, bigint for s == 3). */
function fill(cpu: Cpu, d: number, s: number, lanes: number, x: number, x64: bigint): void {
  if (s === 3) {
    cpu.v[2 * d] = x64;
    cpu.v[2 * d + 1] = x64;
    return;
  }
  for (let e = 0; e < lanes; e++) setE(cpu, d, e, s, x);
}

export function dupElement(cpu: Cpu, i: number): void {
  const d = rd(i);
  const n = rn(i);
  const s = imm5Size(i);
  const k = imm5Index(i, s);
  const lanes = (8 << qOf(i)) >>> s;
  if (s === 3) fill(cpu, d, 3, 2, 0, cpu.v[2 * n + k]!);
  else fill(cpu, d, s, lanes, getE(cpu, n, k, s), 0n);
  finish(cpu, i, d);
}

export function dupGeneral(cpu: Cpu, i: number): void {
  const d = rd(i);
  const n = rz(rn(i));
  const s = imm5Size(i);
  const lanes = (8 << qOf(i)) >>> s;
  if (s === 3) fill(cpu, d, 3, 2, 0, cpu.x[n]!);
  else fill(cpu, d, s, lanes, cpu.w[2 * n]!, 0n);
  finish(cpu, i, d);
}

/** DUP (element, scalar) — the MOV Sd, Vn.S[k] family: element to scalar, rest cleared. */
export function dupScalar(cpu: Cpu, i: number): void {
  const d = rd(i);
  const n = rn(i);
  const s = imm5Size(i);
  const k = imm5Index(i, s);
  if (s === 3) cpu.v[2 * d] = cpu.v[2 * n + k]!;
  else {
    const x = getE(cpu, n, k, s);
    cpu.v[2 * d] = 0n;
    setE(cpu, d, 0, s, x);
  }
  clearHi(cpu, d);
  cpu.pc += 4;
}

export function insGeneral(cpu: Cpu, i: number): void {
  const d = rd(i);
  const n = rz(rn(i));
  const s = imm5Size(i);
  const k = imm5Index(i, s);
  if (s === 3) cpu.v[2 * d + k] = cpu.x[n]!;
  else setE(cpu, d, k, s, cpu.w[2 * n]!);
  cpu.pc += 4;
}

export function insElement(cpu: Cpu, i: number): void {
  const d = rd(i);
  const n = rn(i);
  const s = imm5Size(i);
  const k = imm5Index(i, s);
  const src = ((i >>> 11) & 15) >>> s;
  if (s === 3) cpu.v[2 * d + k] = cpu.v[2 * n + src]!;
  else setE(cpu, d, k, s, getE(cpu, n, src, s));
  cpu.pc += 4;
}

export function umov(cpu: Cpu, i: number): void {
  const d = wz(rd(i));
  const n = rn(i);
  const s = imm5Size(i);
  const k = imm5Index(i, s);
  if (s === 3) cpu.x[d] = cpu.v[2 * n + k]!;
  else {
    cpu.w[2 * d] = getE(cpu, n, k, s);
    cpu.w[2 * d + 1] = 0;
  }
  cpu.pc += 4;
}

export function smov(cpu: Cpu, i: number): void {
  const d = wz(rd(i));
  const n = rn(i);
  const s = imm5Size(i);
  const x = sx(getE(cpu, n, imm5Index(i, s), s), s);
  cpu.w[2 * d] = x;
  cpu.w[2 * d + 1] = qOf(i) ? x >> 31 : 0;
  cpu.pc += 4;
}

// ---------------------------------------------------------------------------------------------
// Modified immediate: MOVI, MVNI, ORR, BIC, FMOV (vector, immediate)
// ---------------------------------------------------------------------------------------------

/** AdvSIMDExpandImm(op, cmode, imm8) as [low 32 bits, high 32 bits] of the 64-bit pattern. */
export function expandSimdImm(op: number, cmode: number, imm8: number): [number, number] {
  let w: number;
  switch (cmode >>> 1) {
    case 0:
    case 1:
    case 2:
    case 3:
      w = (imm8 << (8 * (cmode >>> 1))) >>> 0;
      break;
    case 4:
    case 5: {
      const h = imm8 << (8 * ((cmode >>> 1) & 1));
      w = ((h << 16) | h) >>> 0;
      break;
    }
    case 6:
      w = (cmode & 1) === 0 ? (imm8 << 8) | 0xff : (imm8 << 16) | 0xffff;
      break;
    default:
      if ((cmode & 1) === 0) {
        if (op === 0) w = Math.imul(imm8, 0x01010101) >>> 0;
        else {
          let lo = 0;
          let hi = 0;
          for (let b = 0; b < 4; b++) {
            if (imm8 & (1 << b)) lo |= 0xff << (8 * b);
            if (imm8 & (16 << b)) hi |= 0xff << (8 * b);
          }
          return [lo >>> 0, hi >>> 0];
        }
      } else if (op === 0) w = expandImmS(imm8);
      else return [0, expandImmDHi(imm8)];
  }
  return [w, w];
}

export function modImm(cpu: Cpu, i: number): void {
  const d = rd(i);
  const op = (i >>> 29) & 1;
  const cmode = (i >>> 12) & 15;
  const imm8 = ((i >>> 11) & 0xe0) | ((i >>> 5) & 31);
  let [lo, hi] = expandSimdImm(op, cmode, imm8);
  const w = cpu.v32;
  const words = 2 << qOf(i);
  const orrBic = cmode < 12 && (cmode & 1) === 1;
  const invert = op === 1 && cmode < 14;
  if (invert) {
    lo = ~lo >>> 0;
    hi = ~hi >>> 0;
  }
  for (let k = 0; k < words; k++) {
    const x = (k & 1) === 0 ? lo : hi;
    if (!orrBic) w[4 * d + k] = x;
    else if (op === 0) w[4 * d + k] = w[4 * d + k]! | x;
    else w[4 * d + k] = w[4 * d + k]! & x; // BIC: x is already inverted
  }
  finish(cpu, i, d);
}

// ---------------------------------------------------------------------------------------------
// More three same / two-register misc: SMAX, SMIN, UMAX, UMIN, MLA, MLS, ABS, NEG
// ---------------------------------------------------------------------------------------------

/** SMAX (U=0, op 01100), SMIN (U=0, 01101), UMAX (U=1, 01100), UMIN (U=1, 01101). */
export function minMax(cpu: Cpu, i: number): void {
  const d = rd(i);
  const n = rn(i);
  const m = rm(i);
  const s = sizeOf(i);
  const unsigned = (i & (1 << 29)) !== 0;
  const min = (i & (1 << 11)) !== 0;
  const lanes = (8 << qOf(i)) >>> s;
  for (let e = 0; e < lanes; e++) {
    let a = getE(cpu, n, e, s);
    let b = getE(cpu, m, e, s);
    if (!unsigned) {
      a = sx(a, s);
      b = sx(b, s);
    }
    setE(cpu, d, e, s, min ? Math.min(a, b) : Math.max(a, b));
  }
  finish(cpu, i, d);
}

/** MLA (U=0) / MLS (U=1): Vd ± Vn * Vm per lane, modulo the element size. */
export function mlaInt(cpu: Cpu, i: number): void {
  const d = rd(i);
  const n = rn(i);
  const m = rm(i);
  const s = sizeOf(i);
  const sub = (i & (1 << 29)) !== 0;
  const lanes = (8 << qOf(i)) >>> s;
  for (let e = 0; e < lanes; e++) {
    const p = Math.imul(getE(cpu, n, e, s), getE(cpu, m, e, s));
    const acc = getE(cpu, d, e, s);
    setE(cpu, d, e, s, sub ? acc - p : acc + p);
  }
  finish(cpu, i, d);
}

/** ABS (U=0) / NEG (U=1), vector or scalar (size 3): the most negative value maps to itself. */
export function absNeg(cpu: Cpu, i: number): void {
  const d = rd(i);
  const n = rn(i);
  const s = sizeOf(i);
  const neg = (i & (1 << 29)) !== 0;
  const scalar = (i & (1 << 28)) !== 0;
  if (s === 3) {
    const v = cpu.v;
    const lanes = scalar ? 1 : 2;
    for (let e = 0; e < lanes; e++) {
      const x = v[2 * n + e]!;
      v[2 * d + e] = neg || BigInt.asIntN(64, x) < 0n ? -x : x;
    }
    if (scalar) v[2 * d + 1] = 0n;
    cpu.pc += 4;
    return;
  }
  const lanes = (8 << qOf(i)) >>> s;
  for (let e = 0; e < lanes; e++) {
    const x = sx(getE(cpu, n, e, s), s);
    setE(cpu, d, e, s, neg ? -x : Math.abs(x));
  }
  finish(cpu, i, d);
}
