// GuestAccess for native vCPUs (hypervisor-abi.md §5.2, §10): a native vCPU has no stage 1, so
// its virtual addresses are IPAs, translated by its address space's stage 2 only, with the
// access rights of EL1 (native programs — the RM, the VMM — run as a guest kernel would).
// Errors, never host exceptions: DENIED on a stage-2 permission fault, ADDR_INVALID on an unmapped
// IPA (or one backed by no RAM), ADDR_OVERFLOW when va + len wraps. A copy checks every page
// before moving any byte, so a failed write leaves guest memory unchanged.

import { Err } from '../abi/errors.js';
import type { GuestAccess } from './guest-access.js';
import type { PhysMem } from '../mem/physmem.js';
import { S2_PERMISSION_FAULT, type Stage2 } from '../mem/stage2.js';
import { IPA_BITS, PAGE_SIZE } from '../mem/attrs.js';

const TWO64 = 1n << 64n;
const IPA_LIMIT = 2 ** IPA_BITS;
// The CPU's Access values (arch/aarch64 `Access`), which Stage2.translate takes.
const ACCESS_READ = 1;
const ACCESS_WRITE = 2;

export class Stage2Access implements GuestAccess {
  /** PA of each page of the access being checked (reused: no allocation per page). */
  private pas: number[] = [];

  constructor(
    readonly stage2: Stage2,
    readonly phys: PhysMem,
    /** Exception level whose stage-2 access applies (1: kernel access). */
    readonly el = 1,
  ) {}

  read(va: bigint, len: number): Uint8Array | number {
    const e = this.check(va, len, ACCESS_READ);
    if (e !== Err.OK) return e;
    const out = new Uint8Array(len);
    this.copy(Number(va), len, (ram, off, at, n) => out.set(ram.subarray(off, off + n), at));
    return out;
  }

  write(va: bigint, data: Uint8Array): number {
    const e = this.check(va, data.length, ACCESS_WRITE);
    if (e !== Err.OK) return e;
    this.copy(Number(va), data.length, (ram, off, at, n) => ram.set(data.subarray(at, at + n), off));
    return Err.OK;
  }

  /** Translate every page of [va, va + len) for `acc`, filling `pas`; an error or OK. */
  private check(va: bigint, len: number, acc: number): number {
    if (!Number.isSafeInteger(len) || len < 0) return Err.ARGUMENT_SIZE;
    if (va < 0n || va + BigInt(len) > TWO64) return Err.ADDR_OVERFLOW;
    this.pas.length = 0;
    if (len === 0) return Err.OK;
    if (va + BigInt(len) > BigInt(IPA_LIMIT)) return Err.ADDR_INVALID;
    const start = Number(va);
    const first = start - (start % PAGE_SIZE);
    for (let ipa = first; ipa < start + len; ipa += PAGE_SIZE) {
      const pa = this.stage2.translate(ipa, acc, this.el);
      if (pa < 0) return pa === S2_PERMISSION_FAULT ? Err.DENIED : Err.ADDR_INVALID;
      // Mapped, but not RAM (a device page): the hypervisor does not copy to or from devices.
      if (!this.phys.contains(pa, PAGE_SIZE)) return Err.ADDR_INVALID;
      this.pas.push(pa);
    }
    return Err.OK;
  }

  /** Copy page by page through the PAs `check` found: fn(ram, ramOffset, bufferOffset, bytes). */
  private copy(start: number, len: number, fn: (ram: Uint8Array, off: number, at: number, n: number) => void): void {
    const ram = this.phys.bytes;
    let at = 0;
    let k = 0;
    while (at < len) {
      const inPage = (start + at) % PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - inPage, len - at);
      fn(ram, this.pas[k]! - this.phys.base + inPage, at, n);
      at += n;
      k++;
    }
  }
}
