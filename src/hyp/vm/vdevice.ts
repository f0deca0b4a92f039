// Virtual devices in an address space (hypervisor-abi.md §9.1, §10.6): IPA ranges attached to an
// addrspace whose stage-2 translation faults the hypervisor emulates instead of reporting. On this
// platform the only such devices are the vGIC frames (addrspace_attach_vdevice: the GICD of a VIC,
// and the GICR of each of its vCPUs); virtio-mmio's register page is a memextent vdevice reached
// through permission faults, not a range here.
//
// Each addrspace keeps its ranges in a small table, as Gunyah keeps them in a per-addrspace range
// table (a GPT): ranges may not overlap (BUSY), a zero size is ARGUMENT_SIZE, a range that wraps
// is ADDR_OVERFLOW and one beyond the 36-bit IPA space is ARGUMENT_SIZE — the same rules and order
// as the VMMIO range table (§10.6, addrspace_configure_vmmio) [infer: the spec says "same
// range-table rule as VMMIO"]. Nothing else is checked: no alignment, and no frame size — Gunyah's
// attach handler passes the caller's size straight to the table, so a GICD attached with 4 KiB
// exposes only its first page, and one attached with more than 64 KiB answers the excess as
// unknown registers (see vgic-mmio.ts). Memory mapped under a range hides it (stage 2 then
// translates, so no fault reaches us), as in Gunyah.
//
// An attached range holds a reference to its addrspace until it is detached (when its VIC, or for
// a GICR its vCPU, is destroyed).

import { Err } from '../abi/errors.js';
import type { Addrspace } from '../mem/addrspace.js';
import { IPA_BITS } from '../mem/attrs.js';
import type { Vic } from './vic.js';

const TWO64 = 1n << 64n;
const IPA_LIMIT = 1n << BigInt(IPA_BITS);

/** Which vGIC frame a range emulates. */
export const enum VdeviceKind {
  GICD = 0,
  GICR = 1,
}

/** One attached vdevice range: [base, end) in `addrspace`, emulating a frame of `vic`. */
export class VdeviceRange {
  constructor(
    readonly kind: VdeviceKind,
    readonly vic: Vic,
    /** For a GICR: the GICR (vic_attach_vcpu) index, i.e. attach_vdevice index − 1. */
    readonly gicr: number,
    /** GICR_TYPER.Last as seen through this range (attach flags, §9.1). */
    readonly last: boolean,
    readonly addrspace: Addrspace,
    readonly base: number,
    readonly end: number,
  ) {}

  /** Remove the range from its addrspace and drop the reference it held. */
  detach(): void {
    const t = tables.get(this.addrspace);
    const i = t ? t.indexOf(this) : -1;
    if (i < 0) return;
    t!.splice(i, 1);
    this.addrspace.put();
  }
}

// The addrspace → ranges link lives here so that the addrspace module needs no knowledge of
// vdevices; sorted by base.
const tables = new WeakMap<Addrspace, VdeviceRange[]>();

/**
 * The range-table checks of an attach (see the header), without inserting: OK, or the error.
 * `base` and `size` are the hypercall's 64-bit values.
 */
export function vdeviceRangeCheck(as: Addrspace, base: bigint, size: bigint): number {
  if (size === 0n) return Err.ARGUMENT_SIZE;
  if (base + size - 1n >= TWO64) return Err.ADDR_OVERFLOW;
  if (base + size > IPA_LIMIT) return Err.ARGUMENT_SIZE;
  const b = Number(base);
  const e = b + Number(size);
  for (const r of tables.get(as) ?? []) if (r.base < e && b < r.end) return Err.BUSY;
  return Err.OK;
}

/** Insert a range that passed `vdeviceRangeCheck`; it takes a reference to its addrspace. */
export function vdeviceInsert(r: VdeviceRange): void {
  let t = tables.get(r.addrspace);
  if (!t) {
    t = [];
    tables.set(r.addrspace, t);
  }
  let i = 0;
  while (i < t.length && t[i]!.base < r.base) i++;
  t.splice(i, 0, r);
  r.addrspace.get();
}

/** The range of `as` containing byte `ipa`, or null (the fault path: at most 9 ranges per VM). */
export function vdeviceFind(as: Addrspace, ipa: number): VdeviceRange | null {
  const t = tables.get(as);
  if (t === undefined) return null;
  for (let i = 0; i < t.length; i++) {
    const r = t[i]!;
    if (ipa >= r.base && ipa < r.end) return r;
  }
  return null;
}

/** The ranges attached to `as`, by base (inspection). */
export function vdeviceRanges(as: Addrspace): readonly VdeviceRange[] {
  return tables.get(as) ?? [];
}
