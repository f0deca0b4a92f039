// Loads and stores (Arm ARM C4.1.66 "Loads and Stores" and the instruction pages of C6.2/C7.2):
// general-purpose and SIMD&FP register loads/stores in every addressing mode, pairs, literal loads,
// exclusives and the local exclusive monitor, load-acquire/store-release, the v8.1 LSE atomics, and
// the Advanced SIMD structure loads/stores (LD1..LD4, ST1..ST4, LD1R..LD4R).
//
// Fault rule: every register (destination, status, base write-back) is written only after all the
// instruction's memory accesses have succeeded, so a faulting access leaves the register file as it
// was and the instruction restarts cleanly. A multi-access store that crosses a page first
// translates both pages for writing (`preWrite`), so a translation or permission fault leaves memory
// unchanged too (an external abort — nothing at the physical address — is only seen by the access
// itself, so an earlier part of the store may then have been written, as on hardware).
//
// Choices where the Arm ARM is CONSTRAINED UNPREDICTABLE (the first three as QEMU/Unicorn do, so the
// differential tests would agree; the last is the natural order of the pseudocode):
//  - Load with write-back and Rn == Rt (Rn != SP): the write-back wins — Rn holds the updated
//    address and the loaded value is discarded. (LDP: same when Rn is Rt or Rt2.)
//  - Store with write-back and Rn == Rt: the value stored is Rt before the write-back.
//  - LDP/LDXP/LDNP with Rt == Rt2: Rt receives the value from the lower address.
//  - STXR/STXP with Rs equal to Rt, Rt2 or Rn: the store uses the registers' old values and the
//    status is written last.
// SP as the base (Rn = 31) is not checked for 16-byte alignment: SCTLR_EL1.SA/SA0 are treated as 0
// in this model (the stack-alignment check is not implemented).
//
// Register slots: slot 32 reads as zero (XZR) and slot 33 swallows writes (see cpu.ts ZR/SINK). They
// are repeated here as module constants because this module is evaluated before cpu.ts finishes
// (cpu.ts → decode → exec), and because a local constant is cheaper on the hot path than an imported
// binding; test/unit/ldst.test.ts checks that they agree with cpu.ts.

import { Access, type Cpu } from '../cpu.js';
import { BI } from './common.js';
import type { Exec } from '../decode/table.js';

const TWO32 = 4294967296;
/** cpu.ts ZR and SINK. */
export const ZR_SLOT = 32;
export const SINK_SLOT = 33;

const rn = (i: number): number => (i >>> 5) & 31;
const imm9 = (i: number): number => (i << 11) >> 23;
const imm12 = (i: number): number => (i >>> 10) & 0xfff;
const imm7 = (i: number): number => (i << 10) >> 25;
/** Slot a load writes for Rt: XZR discards, and so does a load into the write-back base `wb`. */
const ld = (t: number, wb: number): number => (t === 31 || t === wb ? SINK_SLOT : t);
/** Slot a store reads for Rt: 31 is XZR. */
const st = (t: number): number => (t === 31 ? ZR_SLOT : t);

/** Scratch for values read before any register is written (pairs, Q registers, structures). */
const tmp32 = new Uint32Array(16);
const tmp8 = new Uint8Array(tmp32.buffer);

// ======================================================================================
// Access primitives on register slots (small, so V8 inlines them into the row functions)
// ======================================================================================

function ldX(c: Cpu, va: number, d: number): void {
  c.read64into(va, c.w, 2 * d);
}
function ldW(c: Cpu, va: number, d: number): void {
  const w = c.w;
  w[2 * d] = c.read32(va);
  w[2 * d + 1] = 0;
}
function ldSW(c: Cpu, va: number, d: number): void {
  const v = c.read32(va) | 0;
  const w = c.w;
  w[2 * d] = v;
  w[2 * d + 1] = v >> 31;
}
function ldH(c: Cpu, va: number, d: number): void {
  const w = c.w;
  w[2 * d] = c.read16(va);
  w[2 * d + 1] = 0;
}
function ldSHx(c: Cpu, va: number, d: number): void {
  const v = (c.read16(va) << 16) >> 16;
  const w = c.w;
  w[2 * d] = v;
  w[2 * d + 1] = v >> 31;
}
function ldSHw(c: Cpu, va: number, d: number): void {
  const w = c.w;
  w[2 * d] = (c.read16(va) << 16) >> 16;
  w[2 * d + 1] = 0;
}
function ldB(c: Cpu, va: number, d: number): void {
  const w = c.w;
  w[2 * d] = c.read8(va);
  w[2 * d + 1] = 0;
}
function ldSBx(c: Cpu, va: number, d: number): void {
  const v = (c.read8(va) << 24) >> 24;
  const w = c.w;
  w[2 * d] = v;
  w[2 * d + 1] = v >> 31;
}
function ldSBw(c: Cpu, va: number, d: number): void {
  const w = c.w;
  w[2 * d] = (c.read8(va) << 24) >> 24;
  w[2 * d + 1] = 0;
}
function stX(c: Cpu, va: number, s: number): void {
  c.write64from(va, c.w, 2 * s);
}
function stW(c: Cpu, va: number, s: number): void {
  c.write32(va, c.w[2 * s]!);
}
function stH(c: Cpu, va: number, s: number): void {
  c.write16(va, c.w[2 * s]! & 0xffff);
}
function stB(c: Cpu, va: number, s: number): void {
  c.write8(va, c.w[2 * s]! & 0xff);
}

/** Zero-extending load of 1 << size bytes into slot d. */
function ldAny(c: Cpu, size: number, va: number, d: number): void {
  if (size === 3) ldX(c, va, d);
  else if (size === 2) ldW(c, va, d);
  else if (size === 1) ldH(c, va, d);
  else ldB(c, va, d);
}
function stAny(c: Cpu, size: number, va: number, s: number): void {
  if (size === 3) stX(c, va, s);
  else if (size === 2) stW(c, va, s);
  else if (size === 1) stH(c, va, s);
  else stB(c, va, s);
}
/** Unsigned load of 1, 2 or 4 bytes as a Number. */
function ldNum(c: Cpu, size: number, va: number): number {
  return size === 2 ? c.read32(va) : size === 1 ? c.read16(va) : c.read8(va);
}
function stNum(c: Cpu, size: number, va: number, v: number): void {
  if (size === 2) c.write32(va, v >>> 0);
  else if (size === 1) c.write16(va, v & 0xffff);
  else c.write8(va, v & 0xff);
}

/**
 * Before a store made of several accesses that crosses a page: translate both pages for writing,
 * first page first, so that a fault on either is taken before any byte is written.
 */
function preWrite(c: Cpu, va: number, len: number): void {
  const po = va & 0xfff;
  if (po + len > 0x1000) {
    c.translate(va, Access.Write);
    c.translate(va - po + 0x1000, Access.Write);
  }
}

// ======================================================================================
// Addressing
// ======================================================================================

/** Base + extended/shifted Rm (register-offset forms); option is 010 UXTW, 011 LSL, 110 SXTW, 111 SXTX. */
function regAddr(c: Cpu, i: number, size: number): number {
  const m = (i >>> 16) & 31;
  const ms = m === 31 ? ZR_SLOT : m;
  const sh = (i & 0x1000) !== 0 ? size : 0;
  const opt = (i >>> 13) & 7;
  let off: number;
  if (opt === 2) off = c.w[2 * ms]!;
  else if (opt === 6) off = c.wi[2 * ms]!;
  else {
    const hi = c.wi[2 * ms + 1]!;
    // Beyond ±2^48 the Number sum would round: do it exactly in BigInt (never in compiled code).
    if (hi < -0x10000 || hi >= 0x10000) return bigRegAddr(c, i, ms, sh);
    off = hi * TWO32 + c.w[2 * ms]!;
  }
  return c.addr(rn(i), off * (1 << sh));
}

function bigRegAddr(c: Cpu, i: number, ms: number, sh: number): number {
  const sum = c.x[rn(i)]! + (c.x[ms]! << BI[sh]!);
  // The same Number form as Cpu.addr: the signed value, bits 63:56 from bit 55 under TBI.
  return Number(c.tbi ? BigInt.asIntN(56, sum) : BigInt.asIntN(64, sum));
}

// ======================================================================================
// General-purpose registers: unsigned offset, unscaled, pre-index, post-index, register offset.
// One function per (kind, mode); a kind is size:opc (bits 31:30 and 23:22):
//   0 STRB 1 LDRB 2 LDRSB(X) 3 LDRSB(W) 4 STRH 5 LDRH 6 LDRSH(X) 7 LDRSH(W)
//   8 STR(W) 9 LDR(W) 10 LDRSW 12 STR(X) 13 LDR(X) 14 PRFM
// ======================================================================================

type Op = (c: Cpu, va: number, slot: number) => void;

function prfmOp(): void {
  // Prefetch is a hint: no access, no fault.
}

/** The access for each kind, and whether it is a load (its Rt slot is then a destination). */
const KIND_OP: readonly (Op | undefined)[] = [
  stB,
  ldB,
  ldSBx,
  ldSBw,
  stH,
  ldH,
  ldSHx,
  ldSHw,
  stW,
  ldW,
  ldSW,
  undefined,
  stX,
  ldX,
  prfmOp,
  undefined,
];

// Unsigned offset (imm12 scaled by the access size).
export const UI: readonly (Exec | undefined)[] = [
  (c, i) => {
    stB(c, c.addr(rn(i), imm12(i)), st(i & 31));
    c.pc += 4;
  },
  (c, i) => {
    ldB(c, c.addr(rn(i), imm12(i)), ld(i & 31, -1));
    c.pc += 4;
  },
  (c, i) => {
    ldSBx(c, c.addr(rn(i), imm12(i)), ld(i & 31, -1));
    c.pc += 4;
  },
  (c, i) => {
    ldSBw(c, c.addr(rn(i), imm12(i)), ld(i & 31, -1));
    c.pc += 4;
  },
  (c, i) => {
    stH(c, c.addr(rn(i), imm12(i) * 2), st(i & 31));
    c.pc += 4;
  },
  (c, i) => {
    ldH(c, c.addr(rn(i), imm12(i) * 2), ld(i & 31, -1));
    c.pc += 4;
  },
  (c, i) => {
    ldSHx(c, c.addr(rn(i), imm12(i) * 2), ld(i & 31, -1));
    c.pc += 4;
  },
  (c, i) => {
    ldSHw(c, c.addr(rn(i), imm12(i) * 2), ld(i & 31, -1));
    c.pc += 4;
  },
  (c, i) => {
    stW(c, c.addr(rn(i), imm12(i) * 4), st(i & 31));
    c.pc += 4;
  },
  (c, i) => {
    ldW(c, c.addr(rn(i), imm12(i) * 4), ld(i & 31, -1));
    c.pc += 4;
  },
  (c, i) => {
    ldSW(c, c.addr(rn(i), imm12(i) * 4), ld(i & 31, -1));
    c.pc += 4;
  },
  undefined,
  (c, i) => {
    stX(c, c.addr(rn(i), imm12(i) * 8), st(i & 31));
    c.pc += 4;
  },
  (c, i) => {
    ldX(c, c.addr(rn(i), imm12(i) * 8), ld(i & 31, -1));
    c.pc += 4;
  },
  (c) => {
    c.pc += 4;
  },
  undefined,
];

// Unscaled immediate (LDUR/STUR/PRFUM): signed imm9, no write-back.
export const UNSCALED: readonly (Exec | undefined)[] = KIND_OP.map((op, k) =>
  op === undefined ? undefined : k === 13 ? ldurX : k === 12 ? sturX : k === 9 ? ldurW : k === 8 ? sturW : unscaled,
);

function ldurX(c: Cpu, i: number): void {
  ldX(c, c.addr(rn(i), imm9(i)), ld(i & 31, -1));
  c.pc += 4;
}
function sturX(c: Cpu, i: number): void {
  stX(c, c.addr(rn(i), imm9(i)), st(i & 31));
  c.pc += 4;
}
function ldurW(c: Cpu, i: number): void {
  ldW(c, c.addr(rn(i), imm9(i)), ld(i & 31, -1));
  c.pc += 4;
}
function sturW(c: Cpu, i: number): void {
  stW(c, c.addr(rn(i), imm9(i)), st(i & 31));
  c.pc += 4;
}
function unscaled(c: Cpu, i: number): void {
  const k = ((i >>> 28) & 12) | ((i >>> 22) & 3);
  const t = i & 31;
  KIND_OP[k]!(c, c.addr(rn(i), imm9(i)), (k & 3) === 0 ? st(t) : ld(t, -1));
  c.pc += 4;
}

// Post-index: access at Rn, then Rn += imm9.
export const POST: readonly (Exec | undefined)[] = [
  (c, i) => {
    const n = rn(i);
    stB(c, c.addr(n, 0), st(i & 31));
    c.addReg(n, imm9(i));
    c.pc += 4;
  },
  (c, i) => {
    const n = rn(i);
    ldB(c, c.addr(n, 0), ld(i & 31, n));
    c.addReg(n, imm9(i));
    c.pc += 4;
  },
  (c, i) => {
    const n = rn(i);
    ldSBx(c, c.addr(n, 0), ld(i & 31, n));
    c.addReg(n, imm9(i));
    c.pc += 4;
  },
  (c, i) => {
    const n = rn(i);
    ldSBw(c, c.addr(n, 0), ld(i & 31, n));
    c.addReg(n, imm9(i));
    c.pc += 4;
  },
  (c, i) => {
    const n = rn(i);
    stH(c, c.addr(n, 0), st(i & 31));
    c.addReg(n, imm9(i));
    c.pc += 4;
  },
  (c, i) => {
    const n = rn(i);
    ldH(c, c.addr(n, 0), ld(i & 31, n));
    c.addReg(n, imm9(i));
    c.pc += 4;
  },
  (c, i) => {
    const n = rn(i);
    ldSHx(c, c.addr(n, 0), ld(i & 31, n));
    c.addReg(n, imm9(i));
    c.pc += 4;
  },
  (c, i) => {
    const n = rn(i);
    ldSHw(c, c.addr(n, 0), ld(i & 31, n));
    c.addReg(n, imm9(i));
    c.pc += 4;
  },
  (c, i) => {
    const n = rn(i);
    stW(c, c.addr(n, 0), st(i & 31));
    c.addReg(n, imm9(i));
    c.pc += 4;
  },
  (c, i) => {
    const n = rn(i);
    ldW(c, c.addr(n, 0), ld(i & 31, n));
    c.addReg(n, imm9(i));
    c.pc += 4;
  },
  (c, i) => {
    const n = rn(i);
    ldSW(c, c.addr(n, 0), ld(i & 31, n));
    c.addReg(n, imm9(i));
    c.pc += 4;
  },
  undefined,
  (c, i) => {
    const n = rn(i);
    stX(c, c.addr(n, 0), st(i & 31));
    c.addReg(n, imm9(i));
    c.pc += 4;
  },
  (c, i) => {
    const n = rn(i);
    ldX(c, c.addr(n, 0), ld(i & 31, n));
    c.addReg(n, imm9(i));
    c.pc += 4;
  },
  undefined,
  undefined,
];

// Pre-index: Rn += imm9, access at the new Rn.
export const PRE: readonly (Exec | undefined)[] = [
  (c, i) => {
    const n = rn(i);
    const o = imm9(i);
    stB(c, c.addr(n, o), st(i & 31));
    c.addReg(n, o);
    c.pc += 4;
  },
  (c, i) => {
    const n = rn(i);
    const o = imm9(i);
    ldB(c, c.addr(n, o), ld(i & 31, n));
    c.addReg(n, o);
    c.pc += 4;
  },
  (c, i) => {
    const n = rn(i);
    const o = imm9(i);
    ldSBx(c, c.addr(n, o), ld(i & 31, n));
    c.addReg(n, o);
    c.pc += 4;
  },
  (c, i) => {
    const n = rn(i);
    const o = imm9(i);
    ldSBw(c, c.addr(n, o), ld(i & 31, n));
    c.addReg(n, o);
    c.pc += 4;
  },
  (c, i) => {
    const n = rn(i);
    const o = imm9(i);
    stH(c, c.addr(n, o), st(i & 31));
    c.addReg(n, o);
    c.pc += 4;
  },
  (c, i) => {
    const n = rn(i);
    const o = imm9(i);
    ldH(c, c.addr(n, o), ld(i & 31, n));
    c.addReg(n, o);
    c.pc += 4;
  },
  (c, i) => {
    const n = rn(i);
    const o = imm9(i);
    ldSHx(c, c.addr(n, o), ld(i & 31, n));
    c.addReg(n, o);
    c.pc += 4;
  },
  (c, i) => {
    const n = rn(i);
    const o = imm9(i);
    ldSHw(c, c.addr(n, o), ld(i & 31, n));
    c.addReg(n, o);
    c.pc += 4;
  },
  (c, i) => {
    const n = rn(i);
    const o = imm9(i);
    stW(c, c.addr(n, o), st(i & 31));
    c.addReg(n, o);
    c.pc += 4;
  },
  (c, i) => {
    const n = rn(i);
    const o = imm9(i);
    ldW(c, c.addr(n, o), ld(i & 31, n));
    c.addReg(n, o);
    c.pc += 4;
  },
  (c, i) => {
    const n = rn(i);
    const o = imm9(i);
    ldSW(c, c.addr(n, o), ld(i & 31, n));
    c.addReg(n, o);
    c.pc += 4;
  },
  undefined,
  (c, i) => {
    const n = rn(i);
    const o = imm9(i);
    stX(c, c.addr(n, o), st(i & 31));
    c.addReg(n, o);
    c.pc += 4;
  },
  (c, i) => {
    const n = rn(i);
    const o = imm9(i);
    ldX(c, c.addr(n, o), ld(i & 31, n));
    c.addReg(n, o);
    c.pc += 4;
  },
  undefined,
  undefined,
];

// Register offset: Rn + (extended Rm << (S ? size : 0)).
export const REG: readonly (Exec | undefined)[] = [
  (c, i) => {
    stB(c, regAddr(c, i, 0), st(i & 31));
    c.pc += 4;
  },
  (c, i) => {
    ldB(c, regAddr(c, i, 0), ld(i & 31, -1));
    c.pc += 4;
  },
  (c, i) => {
    ldSBx(c, regAddr(c, i, 0), ld(i & 31, -1));
    c.pc += 4;
  },
  (c, i) => {
    ldSBw(c, regAddr(c, i, 0), ld(i & 31, -1));
    c.pc += 4;
  },
  (c, i) => {
    stH(c, regAddr(c, i, 1), st(i & 31));
    c.pc += 4;
  },
  (c, i) => {
    ldH(c, regAddr(c, i, 1), ld(i & 31, -1));
    c.pc += 4;
  },
  (c, i) => {
    ldSHx(c, regAddr(c, i, 1), ld(i & 31, -1));
    c.pc += 4;
  },
  (c, i) => {
    ldSHw(c, regAddr(c, i, 1), ld(i & 31, -1));
    c.pc += 4;
  },
  (c, i) => {
    stW(c, regAddr(c, i, 2), st(i & 31));
    c.pc += 4;
  },
  (c, i) => {
    ldW(c, regAddr(c, i, 2), ld(i & 31, -1));
    c.pc += 4;
  },
  (c, i) => {
    ldSW(c, regAddr(c, i, 2), ld(i & 31, -1));
    c.pc += 4;
  },
  undefined,
  (c, i) => {
    stX(c, regAddr(c, i, 3), st(i & 31));
    c.pc += 4;
  },
  (c, i) => {
    ldX(c, regAddr(c, i, 3), ld(i & 31, -1));
    c.pc += 4;
  },
  (c) => {
    c.pc += 4;
  },
  undefined,
];

/**
 * LDTR/STTR family: at EL1 the access is checked with EL0's permissions (PSTATE.UAO = 1 makes it
 * an ordinary access); at EL0 it is an ordinary access.
 */
export function unpriv(c: Cpu, i: number): void {
  const k = ((i >>> 28) & 12) | ((i >>> 22) & 3);
  const va = c.addr(rn(i), imm9(i));
  const t = i & 31;
  if (c.el === 0 || c.uao === 1) {
    KIND_OP[k]!(c, va, (k & 3) === 0 ? st(t) : ld(t, -1));
    c.pc += 4;
    return;
  }
  const size = k >>> 2;
  const bytes = 1 << size;
  const w = c.w;
  if ((k & 3) === 0) {
    c.writeSlow(va, bytes, BigInt.asUintN(8 * bytes, c.x[st(t)]!), true);
  } else {
    const v = c.readSlow(va, bytes, true);
    const d = ld(t, -1);
    if (size === 3) {
      c.x[d] = v;
    } else {
      const u = Number(v);
      const sh = 32 - 8 * bytes;
      const sx = ((u << sh) >> sh) | 0;
      // opc 01 zero-extends; 10 sign-extends to 64 bits; 11 sign-extends to 32 bits.
      const opc = k & 3;
      w[2 * d] = opc === 1 ? u : sx;
      w[2 * d + 1] = opc === 2 ? sx >> 31 : 0;
    }
  }
  c.pc += 4;
}

// ======================================================================================
// SIMD&FP registers: B, H, S, D, Q in every single-register addressing mode.
// Kind (size:opc with V=1): 0 STR B 1 LDR B 2 STR Q 3 LDR Q 4 STR H 5 LDR H 8 STR S 9 LDR S 12 STR D 13 LDR D
// ======================================================================================

/** log2 of the access size for each SIMD&FP kind (the scale of unsigned offsets and LSL). */
export const FP_SCALE: readonly number[] = [0, 0, 4, 4, 1, 1, -1, -1, 2, 2, -1, -1, 3, 3, -1, -1];

/** Read `bytes` (4, 8 or 16) at va into tmp32 starting at word `w0`. */
function readInto(c: Cpu, va: number, bytes: number, w0: number): void {
  if (bytes === 4) tmp32[w0] = c.read32(va);
  else {
    c.read64into(va, tmp32, w0);
    if (bytes === 16) c.read64into(va + 8, tmp32, w0 + 2);
  }
}
/** Set V[t] from tmp32 words w0.. (`bytes` of them), zeroing the rest of the 128-bit register. */
function setV(c: Cpu, t: number, bytes: number, w0: number): void {
  const v = c.v32;
  const b = 4 * t;
  v[b] = tmp32[w0]!;
  v[b + 1] = bytes >= 8 ? tmp32[w0 + 1]! : 0;
  v[b + 2] = bytes === 16 ? tmp32[w0 + 2]! : 0;
  v[b + 3] = bytes === 16 ? tmp32[w0 + 3]! : 0;
}
function writeFrom(c: Cpu, va: number, bytes: number, t: number): void {
  const v = c.v32;
  if (bytes === 4) c.write32(va, v[4 * t]!);
  else {
    c.write64from(va, v, 4 * t);
    if (bytes === 16) c.write64from(va + 8, v, 4 * t + 2);
  }
}

function fpAccess(c: Cpu, k: number, va: number, t: number): void {
  const v32 = c.v32;
  const b = 4 * t;
  switch (k) {
    case 0:
      c.write8(va, c.v8[16 * t]!);
      return;
    case 1: {
      const x = c.read8(va);
      v32[b] = x;
      v32[b + 1] = v32[b + 2] = v32[b + 3] = 0;
      return;
    }
    case 4:
      c.write16(va, c.v16[8 * t]!);
      return;
    case 5: {
      const x = c.read16(va);
      v32[b] = x;
      v32[b + 1] = v32[b + 2] = v32[b + 3] = 0;
      return;
    }
    case 8:
      c.write32(va, v32[b]!);
      return;
    case 9: {
      const x = c.read32(va);
      v32[b] = x;
      v32[b + 1] = v32[b + 2] = v32[b + 3] = 0;
      return;
    }
    case 12:
      c.write64from(va, v32, b);
      return;
    case 13:
      c.read64into(va, v32, b);
      v32[b + 2] = v32[b + 3] = 0;
      return;
    case 2:
      preWrite(c, va, 16);
      c.write64from(va, v32, b);
      c.write64from(va + 8, v32, b + 2);
      return;
    default: // 3: LDR Q — both halves read before the register changes
      c.read64into(va, tmp32, 0);
      c.read64into(va + 8, v32, b + 2);
      v32[b] = tmp32[0]!;
      v32[b + 1] = tmp32[1]!;
  }
}

const fpKind = (i: number): number => ((i >>> 28) & 12) | ((i >>> 22) & 3);

export function fpUi(c: Cpu, i: number): void {
  const k = fpKind(i);
  fpAccess(c, k, c.addr(rn(i), imm12(i) * (1 << FP_SCALE[k]!)), i & 31);
  c.pc += 4;
}
export function fpUnscaled(c: Cpu, i: number): void {
  fpAccess(c, fpKind(i), c.addr(rn(i), imm9(i)), i & 31);
  c.pc += 4;
}
export function fpPost(c: Cpu, i: number): void {
  const n = rn(i);
  fpAccess(c, fpKind(i), c.addr(n, 0), i & 31);
  c.addReg(n, imm9(i));
  c.pc += 4;
}
export function fpPre(c: Cpu, i: number): void {
  const n = rn(i);
  const o = imm9(i);
  fpAccess(c, fpKind(i), c.addr(n, o), i & 31);
  c.addReg(n, o);
  c.pc += 4;
}
export function fpReg(c: Cpu, i: number): void {
  const k = fpKind(i);
  fpAccess(c, k, regAddr(c, i, FP_SCALE[k]!), i & 31);
  c.pc += 4;
}

// ======================================================================================
// Literal (PC-relative) loads
// ======================================================================================

const litAddr = (c: Cpu, i: number): number => c.pc + ((i << 8) >> 13) * 4;

export function ldrLitW(c: Cpu, i: number): void {
  ldW(c, litAddr(c, i), ld(i & 31, -1));
  c.pc += 4;
}
export function ldrLitX(c: Cpu, i: number): void {
  ldX(c, litAddr(c, i), ld(i & 31, -1));
  c.pc += 4;
}
export function ldrswLit(c: Cpu, i: number): void {
  ldSW(c, litAddr(c, i), ld(i & 31, -1));
  c.pc += 4;
}
export function prfmLit(c: Cpu): void {
  c.pc += 4;
}
export function ldrLitFp(c: Cpu, i: number): void {
  const bytes = 4 << (i >>> 30); // opc 00 S, 01 D, 10 Q
  readInto(c, litAddr(c, i), bytes, 0);
  setV(c, i & 31, bytes, 0);
  c.pc += 4;
}

// ======================================================================================
// Pairs: LDP/STP/LDPSW/LDNP/STNP, GPR and SIMD&FP. Mode (bits 24:23): 00 no-allocate offset,
// 01 post-index, 10 signed offset, 11 pre-index; the offset is imm7 scaled by the access size.
// ======================================================================================

function ldpX(c: Cpu, va: number, t: number, t2: number): void {
  c.read64into(va, tmp32, 0);
  c.read64into(va + 8, c.w, 2 * t2);
  const w = c.w;
  w[2 * t] = tmp32[0]!;
  w[2 * t + 1] = tmp32[1]!;
}
function stpX(c: Cpu, va: number, s: number, s2: number): void {
  preWrite(c, va, 16);
  c.write64from(va, c.w, 2 * s);
  c.write64from(va + 8, c.w, 2 * s2);
}
function ldpW(c: Cpu, va: number, t: number, t2: number): void {
  const a = c.read32(va);
  const b = c.read32(va + 4);
  const w = c.w;
  w[2 * t2] = b;
  w[2 * t2 + 1] = 0;
  w[2 * t] = a;
  w[2 * t + 1] = 0;
}
function ldpSW(c: Cpu, va: number, t: number, t2: number): void {
  const a = c.read32(va) | 0;
  const b = c.read32(va + 4) | 0;
  const w = c.w;
  w[2 * t2] = b;
  w[2 * t2 + 1] = b >> 31;
  w[2 * t] = a;
  w[2 * t + 1] = a >> 31;
}
function stpW(c: Cpu, va: number, s: number, s2: number): void {
  preWrite(c, va, 8);
  const w = c.w;
  c.write32(va, w[2 * s]!);
  c.write32(va + 4, w[2 * s2]!);
}

const rt2 = (i: number): number => (i >>> 10) & 31;

export function ldpXoff(c: Cpu, i: number): void {
  ldpX(c, c.addr(rn(i), imm7(i) * 8), ld(i & 31, -1), ld(rt2(i), -1));
  c.pc += 4;
}
export function ldpXpre(c: Cpu, i: number): void {
  const n = rn(i);
  const o = imm7(i) * 8;
  ldpX(c, c.addr(n, o), ld(i & 31, n), ld(rt2(i), n));
  c.addReg(n, o);
  c.pc += 4;
}
export function ldpXpost(c: Cpu, i: number): void {
  const n = rn(i);
  ldpX(c, c.addr(n, 0), ld(i & 31, n), ld(rt2(i), n));
  c.addReg(n, imm7(i) * 8);
  c.pc += 4;
}
export function stpXoff(c: Cpu, i: number): void {
  stpX(c, c.addr(rn(i), imm7(i) * 8), st(i & 31), st(rt2(i)));
  c.pc += 4;
}
export function stpXpre(c: Cpu, i: number): void {
  const n = rn(i);
  const o = imm7(i) * 8;
  stpX(c, c.addr(n, o), st(i & 31), st(rt2(i)));
  c.addReg(n, o);
  c.pc += 4;
}
export function stpXpost(c: Cpu, i: number): void {
  const n = rn(i);
  stpX(c, c.addr(n, 0), st(i & 31), st(rt2(i)));
  c.addReg(n, imm7(i) * 8);
  c.pc += 4;
}
export function ldpWoff(c: Cpu, i: number): void {
  ldpW(c, c.addr(rn(i), imm7(i) * 4), ld(i & 31, -1), ld(rt2(i), -1));
  c.pc += 4;
}
export function ldpWpre(c: Cpu, i: number): void {
  const n = rn(i);
  const o = imm7(i) * 4;
  ldpW(c, c.addr(n, o), ld(i & 31, n), ld(rt2(i), n));
  c.addReg(n, o);
  c.pc += 4;
}
export function ldpWpost(c: Cpu, i: number): void {
  const n = rn(i);
  ldpW(c, c.addr(n, 0), ld(i & 31, n), ld(rt2(i), n));
  c.addReg(n, imm7(i) * 4);
  c.pc += 4;
}
export function stpWoff(c: Cpu, i: number): void {
  stpW(c, c.addr(rn(i), imm7(i) * 4), st(i & 31), st(rt2(i)));
  c.pc += 4;
}
export function stpWpre(c: Cpu, i: number): void {
  const n = rn(i);
  const o = imm7(i) * 4;
  stpW(c, c.addr(n, o), st(i & 31), st(rt2(i)));
  c.addReg(n, o);
  c.pc += 4;
}
export function stpWpost(c: Cpu, i: number): void {
  const n = rn(i);
  stpW(c, c.addr(n, 0), st(i & 31), st(rt2(i)));
  c.addReg(n, imm7(i) * 4);
  c.pc += 4;
}
export function ldpswOff(c: Cpu, i: number): void {
  ldpSW(c, c.addr(rn(i), imm7(i) * 4), ld(i & 31, -1), ld(rt2(i), -1));
  c.pc += 4;
}
export function ldpswPre(c: Cpu, i: number): void {
  const n = rn(i);
  const o = imm7(i) * 4;
  ldpSW(c, c.addr(n, o), ld(i & 31, n), ld(rt2(i), n));
  c.addReg(n, o);
  c.pc += 4;
}
export function ldpswPost(c: Cpu, i: number): void {
  const n = rn(i);
  ldpSW(c, c.addr(n, 0), ld(i & 31, n), ld(rt2(i), n));
  c.addReg(n, imm7(i) * 4);
  c.pc += 4;
}

/** SIMD&FP pairs, all modes: opc (bits 31:30) 00 S, 01 D, 10 Q. */
export function fpPair(c: Cpu, i: number): void {
  const bytes = 4 << (i >>> 30);
  const mode = (i >>> 23) & 3;
  const n = rn(i);
  const o = imm7(i) * bytes;
  const va = c.addr(n, mode === 1 ? 0 : o);
  const t = i & 31;
  const t2 = rt2(i);
  if ((i & (1 << 22)) !== 0) {
    readInto(c, va, bytes, 0);
    readInto(c, va + bytes, bytes, 4);
    setV(c, t2, bytes, 4);
    setV(c, t, bytes, 0);
  } else {
    preWrite(c, va, 2 * bytes);
    writeFrom(c, va, bytes, t);
    writeFrom(c, va + bytes, bytes, t2);
  }
  if (mode === 1 || mode === 3) c.addReg(n, o);
  c.pc += 4;
}

// ======================================================================================
// Exclusives and the local exclusive monitor (Arm ARM B2.9, AArch64.ExclusiveMonitorsPass).
// The monitor holds one physical address and size (cpu.exclPa/exclSize); a store-exclusive passes
// only at exactly that address and size, and clears the monitor whether or not it passes.
// ======================================================================================

function checkAligned(c: Cpu, va: number, bytes: number, write: boolean): void {
  if ((va & (bytes - 1)) !== 0) c.alignmentFault(va, write);
}

function markExclusive(c: Cpu, va: number, bytes: number): void {
  // The load has just succeeded, so this translation is a TLB hit and cannot fault.
  c.exclPa = c.translate(va, Access.Read);
  c.exclSize = bytes;
}

function exclusivePass(c: Cpu, va: number, bytes: number): boolean {
  if (c.exclPa < 0) return false;
  const pa = c.translate(va, Access.Write);
  const pass = pa === c.exclPa && bytes === c.exclSize;
  c.exclPa = -1;
  return pass;
}

/** LDXR, LDAXR (B/H/W/X by size). */
export function ldxr(c: Cpu, i: number): void {
  const size = i >>> 30;
  const va = c.addr(rn(i), 0);
  checkAligned(c, va, 1 << size, false);
  ldAny(c, size, va, ld(i & 31, -1));
  markExclusive(c, va, 1 << size);
  c.pc += 4;
}

/** STXR, STLXR: Ws = 0 if the store happened, 1 if not. */
export function stxr(c: Cpu, i: number): void {
  const size = i >>> 30;
  const va = c.addr(rn(i), 0);
  checkAligned(c, va, 1 << size, true);
  let status = 1;
  if (exclusivePass(c, va, 1 << size)) {
    stAny(c, size, va, st(i & 31));
    status = 0;
  }
  const d = ld((i >>> 16) & 31, -1);
  c.w[2 * d] = status;
  c.w[2 * d + 1] = 0;
  c.pc += 4;
}

/** LDXP, LDAXP: a pair of W (8 bytes, 8-aligned) or X (16 bytes, 16-aligned). */
export function ldxp(c: Cpu, i: number): void {
  const x64 = (i & 0x40000000) !== 0;
  const bytes = x64 ? 16 : 8;
  const va = c.addr(rn(i), 0);
  checkAligned(c, va, bytes, false);
  if (x64) ldpX(c, va, ld(i & 31, -1), ld(rt2(i), -1));
  else ldpW(c, va, ld(i & 31, -1), ld(rt2(i), -1));
  markExclusive(c, va, bytes);
  c.pc += 4;
}

export function stxp(c: Cpu, i: number): void {
  const x64 = (i & 0x40000000) !== 0;
  const bytes = x64 ? 16 : 8;
  const va = c.addr(rn(i), 0);
  checkAligned(c, va, bytes, true);
  let status = 1;
  if (exclusivePass(c, va, bytes)) {
    if (x64) stpX(c, va, st(i & 31), st(rt2(i)));
    else stpW(c, va, st(i & 31), st(rt2(i)));
    status = 0;
  }
  const d = ld((i >>> 16) & 31, -1);
  c.w[2 * d] = status;
  c.w[2 * d + 1] = 0;
  c.pc += 4;
}

/**
 * LDAR, LDLAR, LDAPR: ordered loads. One PE executes one instruction at a time here, so ordering is
 * implicit; what remains is the natural-alignment requirement of ordered accesses.
 */
export function ldar(c: Cpu, i: number): void {
  const size = i >>> 30;
  const va = c.addr(rn(i), 0);
  checkAligned(c, va, 1 << size, false);
  ldAny(c, size, va, ld(i & 31, -1));
  c.pc += 4;
}

/** STLR, STLLR. */
export function stlr(c: Cpu, i: number): void {
  const size = i >>> 30;
  const va = c.addr(rn(i), 0);
  checkAligned(c, va, 1 << size, true);
  stAny(c, size, va, st(i & 31));
  c.pc += 4;
}

// ======================================================================================
// LSE atomics (v8.1): CAS, CASP, SWP, LD<op>. The read comes first and the write permission is
// then always checked, so a fault reports WnR = 0 when a read would have faulted and WnR = 1
// otherwise (ESR_ELx.WnR for atomic read-modify-write instructions). Natural alignment is required
// (an alignment fault reports WnR = 0 by the same rule).
// ======================================================================================

/** CAS, CASA, CASL, CASAL (B/H/W/X by size): Rs = old; if old == Rs then mem = Rt. */
export function cas(c: Cpu, i: number): void {
  const size = i >>> 30;
  const va = c.addr(rn(i), 0);
  checkAligned(c, va, 1 << size, false);
  const s = (i >>> 16) & 31;
  const t = st(i & 31);
  if (size === 3) {
    const old = c.read64(va);
    if (old === c.x[st(s)]) stX(c, va, t);
    else c.translate(va, Access.Write);
    c.x[ld(s, -1)] = old;
  } else {
    const old = ldNum(c, size, va);
    const mask = size === 2 ? 0xffffffff : (1 << (8 << size)) - 1;
    if (old === (c.w[2 * st(s)]! & mask) >>> 0) stAny(c, size, va, t);
    else c.translate(va, Access.Write);
    const d = ld(s, -1);
    c.w[2 * d] = old;
    c.w[2 * d + 1] = 0;
  }
  c.pc += 4;
}

/** CASP, CASPA, CASPL, CASPAL: Rs:Rs+1 compared with the pair at [Rn], Rt:Rt+1 stored. */
export function casp(c: Cpu, i: number): void {
  const x64 = (i & 0x40000000) !== 0;
  const va = c.addr(rn(i), 0);
  checkAligned(c, va, x64 ? 16 : 8, false);
  const s = (i >>> 16) & 31;
  const t = i & 31;
  if (x64) {
    const o1 = c.read64(va);
    const o2 = c.read64(va + 8);
    if (o1 === c.x[st(s)] && o2 === c.x[st(s + 1)]) stpX(c, va, st(t), st(t + 1));
    else c.translate(va, Access.Write);
    c.x[ld(s, -1)] = o1;
    c.x[ld(s + 1, -1)] = o2;
  } else {
    const o1 = c.read32(va);
    const o2 = c.read32(va + 4);
    const w = c.w;
    if (o1 === w[2 * st(s)] && o2 === w[2 * st(s + 1)]) stpW(c, va, st(t), st(t + 1));
    else c.translate(va, Access.Write);
    const d1 = ld(s, -1);
    const d2 = ld(s + 1, -1);
    w[2 * d1] = o1;
    w[2 * d1 + 1] = 0;
    w[2 * d2] = o2;
    w[2 * d2 + 1] = 0;
  }
  c.pc += 4;
}

/**
 * LDADD, LDCLR, LDEOR, LDSET, LDSMAX, LDSMIN, LDUMAX, LDUMIN (o3:opc = 0..7) and SWP (8), with
 * their A/L variants and B/H/W/X sizes: Rt = old, mem = old <op> Rs. ST<op> is LD<op> with Rt = XZR.
 */
export function ldop(c: Cpu, i: number): void {
  const size = i >>> 30;
  const va = c.addr(rn(i), 0);
  checkAligned(c, va, 1 << size, false);
  const op = (i >>> 12) & 15;
  const s = st((i >>> 16) & 31);
  const d = ld(i & 31, -1);
  if (size === 3) {
    const old = c.read64(va);
    const v = c.x[s]!;
    let r: bigint;
    switch (op) {
      case 0:
        r = BigInt.asUintN(64, old + v);
        break;
      case 1:
        r = old & ~v;
        break;
      case 2:
        r = old ^ v;
        break;
      case 3:
        r = old | v;
        break;
      case 4:
        r = BigInt.asIntN(64, old) > BigInt.asIntN(64, v) ? old : v;
        break;
      case 5:
        r = BigInt.asIntN(64, old) < BigInt.asIntN(64, v) ? old : v;
        break;
      case 6:
        r = old > v ? old : v;
        break;
      case 7:
        r = old < v ? old : v;
        break;
      default:
        r = v;
    }
    c.write64(va, r);
    c.x[d] = old;
  } else {
    const old = ldNum(c, size, va);
    const bits = 8 << size;
    const v = size === 2 ? c.w[2 * s]! : c.w[2 * s]! & ((1 << bits) - 1);
    const sh = 32 - bits;
    let r: number;
    switch (op) {
      case 0:
        r = old + v;
        break;
      case 1:
        r = old & ~v;
        break;
      case 2:
        r = old ^ v;
        break;
      case 3:
        r = old | v;
        break;
      case 4:
        r = (old << sh) >> sh > (v << sh) >> sh ? old : v;
        break;
      case 5:
        r = (old << sh) >> sh < (v << sh) >> sh ? old : v;
        break;
      case 6:
        r = old > v ? old : v;
        break;
      case 7:
        r = old < v ? old : v;
        break;
      default:
        r = v;
    }
    stNum(c, size, va, r);
    c.w[2 * d] = old;
    c.w[2 * d + 1] = 0;
  }
  c.pc += 4;
}

// ======================================================================================
// Advanced SIMD structures (Arm ARM C3.2.x "Load/store vector" and LD1..LD4/ST1..ST4/LDnR pages)
// ======================================================================================

/** Multiple structures: opcode (bits 15:12) → rpt << 4 | selem, 0 when unallocated. */
export const MULTI: readonly number[] = [0x14, 0, 0x41, 0, 0x13, 0, 0x31, 0x11, 0x12, 0, 0x21, 0, 0, 0, 0, 0];

/** Post-index write-back: Rm = 31 means the immediate (the bytes transferred), else Xm. */
function structWriteback(c: Cpu, i: number, n: number, bytes: number): void {
  if ((i & (1 << 23)) === 0) return;
  const m = (i >>> 16) & 31;
  if (m === 31) c.addReg(n, bytes);
  else c.x[n] = c.x[n]! + c.x[m]!;
}

/** LD1/LD2/LD3/LD4, ST1/ST2/ST3/ST4 (multiple structures), no offset or post-index. */
export function ldstMulti(c: Cpu, i: number): void {
  const q = (i >>> 30) & 1;
  const load = (i & (1 << 22)) !== 0;
  const spec = MULTI[(i >>> 12) & 15]!;
  const rpt = spec >>> 4;
  const selem = spec & 15;
  const size = (i >>> 10) & 3;
  const esize = 1 << size;
  const regBytes = q ? 16 : 8;
  const elems = regBytes >>> size;
  const total = rpt * selem * regBytes;
  const n = rn(i);
  const t = i & 31;
  const va = c.addr(n, 0);
  const v8 = c.v8;
  if (load) {
    for (let o = 0; o < total; o += 8) c.read64into(va + o, tmp32, o >>> 2);
    for (let r = 0; r < rpt; r++) {
      for (let s = 0; s < selem; s++) {
        const base = 16 * ((t + r + s) & 31);
        for (let e = 0; e < elems; e++) {
          const src = ((r * elems + e) * selem + s) * esize;
          for (let b = 0; b < esize; b++) v8[base + e * esize + b] = tmp8[src + b]!;
        }
        if (!q) c.v[(base >>> 3) + 1] = 0n;
      }
    }
  } else {
    for (let r = 0; r < rpt; r++) {
      for (let s = 0; s < selem; s++) {
        const base = 16 * ((t + r + s) & 31);
        for (let e = 0; e < elems; e++) {
          const dst = ((r * elems + e) * selem + s) * esize;
          for (let b = 0; b < esize; b++) tmp8[dst + b] = v8[base + e * esize + b]!;
        }
      }
    }
    preWrite(c, va, total);
    for (let o = 0; o < total; o += 8) c.write64from(va + o, tmp32, o >>> 2);
  }
  structWriteback(c, i, n, total);
  c.pc += 4;
}

/** LD1..LD4 / ST1..ST4 (single structure, one lane) and LD1R..LD4R (replicate). */
export function ldstSingle(c: Cpu, i: number): void {
  const q = (i >>> 30) & 1;
  const load = (i & (1 << 22)) !== 0;
  const opcode = (i >>> 13) & 7;
  const sBit = (i >>> 12) & 1;
  const size = (i >>> 10) & 3;
  const selem = (((opcode & 1) << 1) | ((i >>> 21) & 1)) + 1;
  let scale = opcode >>> 1;
  let index = 0;
  const replicate = scale === 3;
  if (replicate) scale = size;
  else if (scale === 0) index = (q << 3) | (sBit << 2) | size;
  else if (scale === 1) index = (q << 2) | (sBit << 1) | (size >>> 1);
  else if ((size & 1) === 0) index = (q << 1) | sBit;
  else {
    index = q;
    scale = 3;
  }
  const esize = 1 << scale;
  const total = selem * esize;
  const n = rn(i);
  const t = i & 31;
  const va = c.addr(n, 0);
  const v8 = c.v8;
  if (load) {
    for (let k = 0; k < selem; k++) readElem(c, va + k * esize, esize, k * esize);
    for (let k = 0; k < selem; k++) {
      const base = 16 * ((t + k) & 31);
      if (replicate) {
        const lanes = (q ? 16 : 8) >>> scale;
        for (let e = 0; e < lanes; e++) for (let b = 0; b < esize; b++) v8[base + e * esize + b] = tmp8[k * esize + b]!;
        if (!q) c.v[(base >>> 3) + 1] = 0n;
      } else {
        for (let b = 0; b < esize; b++) v8[base + index * esize + b] = tmp8[k * esize + b]!;
      }
    }
  } else {
    for (let k = 0; k < selem; k++) {
      const base = 16 * ((t + k) & 31);
      for (let b = 0; b < esize; b++) tmp8[k * esize + b] = v8[base + index * esize + b]!;
    }
    preWrite(c, va, total);
    for (let k = 0; k < selem; k++) writeElem(c, va + k * esize, esize, k * esize);
  }
  structWriteback(c, i, n, total);
  c.pc += 4;
}

function readElem(c: Cpu, va: number, esize: number, off: number): void {
  if (esize === 8) {
    c.read64into(va, tmp32, off >>> 2);
    return;
  }
  const v = esize === 4 ? c.read32(va) : esize === 2 ? c.read16(va) : c.read8(va);
  for (let b = 0; b < esize; b++) tmp8[off + b] = v >>> (8 * b);
}

function writeElem(c: Cpu, va: number, esize: number, off: number): void {
  if (esize === 8) c.write64from(va, tmp32, off >>> 2);
  else if (esize === 4) c.write32(va, tmp32[off >>> 2]!);
  else if (esize === 2) c.write16(va, tmp8[off]! | (tmp8[off + 1]! << 8));
  else c.write8(va, tmp8[off]!);
}
