// GuestAccess through a vCPU's translation (hypervisor-abi.md §5.2, §10): stage 1 when the vCPU
// has one (an emulated vCPU with its MMU on: `stage1`), then its address space's stage 2, with the
// access rights of the vCPU's exception level (native programs — the RM, the VMM — have no stage 1
// and run as a guest kernel would). Errors, never host exceptions: ARGUMENT_INVALID on a stage-1
// fault, DENIED on a stage-2 permission fault, ADDR_INVALID on an unmapped IPA (or one backed by
// no RAM), ADDR_OVERFLOW when va + len wraps. A copy checks every page before moving any byte, so
// a failed write leaves guest memory unchanged.
//
// Hot path (msgqueue send/receive): no allocation; addresses below 2^53 are handled as numbers.

import { Err } from '../abi/errors.js';
import type { GuestAccess } from './guest-access.js';
import type { PhysMem } from '../mem/physmem.js';
import { S2_PERMISSION_FAULT, type Stage2 } from '../mem/stage2.js';
import { IPA_BITS, PAGE_SIZE } from '../mem/attrs.js';

const TWO64 = 1n << 64n;
const IPA_LIMIT = 2 ** IPA_BITS;
const SAFE_LIMIT = BigInt(Number.MAX_SAFE_INTEGER);
// The CPU's Access values (arch/aarch64 `Access`), which Stage2.translate takes.
const ACCESS_READ = 1;
const ACCESS_WRITE = 2;
/** Copies up to this many bytes go byte by byte. */
const SMALL_COPY = 256;
/** What a `Stage1` translator returns for a stage-1 fault. */
export const S1_FAULT = -1;

/**
 * Stage 1 of an emulated vCPU: the IPA of the page holding virtual address `va` (a signed Number:
 * upper-half addresses are negative, as the CPU keeps them), or S1_FAULT.
 */
export type Stage1 = (va: number, write: boolean) => number;

export class Stage2Access implements GuestAccess {
  /** PA of each page of the access being checked (reused: no allocation per page). */
  private readonly pas: number[] = [];

  constructor(
    readonly stage2: Stage2,
    readonly phys: PhysMem,
    /** Exception level whose stage-2 access applies (1: kernel access). */
    readonly el = 1,
    /** Stage 1 (null: virtual addresses are IPAs). */
    readonly stage1: Stage1 | null = null,
  ) {}

  readInto(va: bigint, dst: Uint8Array, at: number, len: number): number {
    const e = this.check(va, len, ACCESS_READ);
    if (e !== Err.OK) return e;
    this.copy(len, dst, at, false);
    return Err.OK;
  }

  writeFrom(va: bigint, src: Uint8Array, at: number, len: number): number {
    const e = this.check(va, len, ACCESS_WRITE);
    if (e !== Err.OK) return e;
    this.copy(len, src, at, true);
    return Err.OK;
  }

  read(va: bigint, len: number): Uint8Array | number {
    if (!Number.isSafeInteger(len) || len < 0) return Err.ARGUMENT_SIZE;
    const out = new Uint8Array(len);
    const e = this.readInto(va, out, 0, len);
    return e === Err.OK ? out : e;
  }

  write(va: bigint, data: Uint8Array): number {
    return this.writeFrom(va, data, 0, data.length);
  }

  /** Pages found by the last `check`, and the offset of its first byte in the first page. */
  private npages = 0;
  private firstOff = 0;

  /** Translate every page of [va, va + len) for `acc`, filling `pas`; an error or OK. */
  private check(va: bigint, len: number, acc: number): number {
    if (!Number.isSafeInteger(len) || len < 0) return Err.ARGUMENT_SIZE;
    this.npages = 0;
    const s1 = this.stage1;
    let start: number;
    if (va >= 0n && va <= SAFE_LIMIT) {
      start = Number(va);
      // Without stage 1 the VA is the IPA.
      if (s1 === null && len > 0 && start + len > IPA_LIMIT) return Err.ADDR_INVALID;
    } else {
      if (va < 0n || va + BigInt(len) > TWO64) return Err.ADDR_OVERFLOW;
      if (s1 === null) return len === 0 ? Err.OK : Err.ADDR_INVALID;
      // Upper-half VAs are signed Numbers, as the CPU keeps them.
      start = Number(BigInt.asIntN(64, va));
    }
    if (len === 0) return Err.OK;
    const inPage = ((start % PAGE_SIZE) + PAGE_SIZE) % PAGE_SIZE;
    this.firstOff = inPage;
    const end = start + len;
    let k = 0;
    for (let page = start - inPage; page < end; page += PAGE_SIZE) {
      let ipa = page;
      if (s1 !== null) {
        ipa = s1(page, acc === ACCESS_WRITE);
        if (ipa < 0) return Err.ARGUMENT_INVALID;
        if (ipa + PAGE_SIZE > IPA_LIMIT) return Err.ADDR_INVALID;
      }
      const pa = this.stage2.translate(ipa, acc, this.el);
      if (pa < 0) return pa === S2_PERMISSION_FAULT ? Err.DENIED : Err.ADDR_INVALID;
      // Mapped, but not RAM (a device page): the hypervisor does not copy to or from devices.
      if (!this.phys.contains(pa, PAGE_SIZE)) return Err.ADDR_INVALID;
      this.pas[k++] = pa;
    }
    this.npages = k;
    return Err.OK;
  }

  /** 32-bit views of RAM and of the last two hypervisor buffers copied to or from. */
  private ram32: Int32Array | null = null;
  private bufA: Uint8Array | null = null;
  private bufA32: Int32Array | null = null;
  private bufB: Uint8Array | null = null;
  private bufB32: Int32Array | null = null;

  /** A 32-bit view of `buf` (cached: message queues pass the same ring every time), or null. */
  private view32(buf: Uint8Array): Int32Array | null {
    if (buf === this.bufA) return this.bufA32;
    if (buf === this.bufB) return this.bufB32;
    const v = (buf.byteOffset & 3) === 0 ? new Int32Array(buf.buffer, buf.byteOffset, buf.length >>> 2) : null;
    this.bufB = this.bufA;
    this.bufB32 = this.bufA32;
    this.bufA = buf;
    this.bufA32 = v;
    return v;
  }

  /** Copy page by page through the PAs `check` found, between guest memory and `buf[at..]`. */
  private copy(len: number, buf: Uint8Array, at: number, toGuest: boolean): void {
    const ram = this.phys.bytes;
    const base = this.phys.base;
    let inPage = this.firstOff;
    let done = 0;
    for (let k = 0; k < this.npages; k++) {
      const n = Math.min(PAGE_SIZE - inPage, len - done);
      const off = this.pas[k]! - base + inPage;
      const b = at + done;
      if (n <= SMALL_COPY && ((off | b | n) & 3) === 0 && (ram.byteOffset & 3) === 0) {
        // Word-aligned runs (the usual message): copy 32 bits at a time.
        if (this.ram32 === null || this.ram32.buffer !== ram.buffer) {
          this.ram32 = new Int32Array(ram.buffer, ram.byteOffset, ram.length >>> 2);
        }
        const r32 = this.ram32;
        const b32 = this.view32(buf);
        if (b32 !== null) {
          const ro = off >>> 2;
          const bo = b >>> 2;
          const w = n >>> 2;
          if (toGuest) for (let i = 0; i < w; i++) r32[ro + i] = b32[bo + i]!;
          else for (let i = 0; i < w; i++) b32[bo + i] = r32[ro + i]!;
          done += n;
          inPage = 0;
          continue;
        }
      }
      if (n <= SMALL_COPY) {
        // Short runs: a loop beats making two subarray views.
        if (toGuest) for (let i = 0; i < n; i++) ram[off + i] = buf[at + done + i]!;
        else for (let i = 0; i < n; i++) buf[at + done + i] = ram[off + i]!;
      } else if (toGuest) ram.set(buf.subarray(at + done, at + done + n), off);
      else buf.set(ram.subarray(off, off + n), at + done);
      done += n;
      inPage = 0;
    }
  }
}
