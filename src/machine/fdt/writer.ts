// Device tree → DTB bytes (Devicetree Specification v0.4 ch. 5), laid out exactly as
// `dtc -I dts -O dtb` (DTC 1.6) lays out the same tree with its default options (no -p/-S/-a), so
// the bytes can be compared with the oracle directly:
//   header (40 bytes, v17, last_comp_version 16) · memory reservation block at 0x28 (the entries,
//   then a (0, 0) pair) · structure block · strings block · nothing after it (totalsize ends at
//   the last string's NUL, unpadded).
// The strings block holds each property name once, in first-use order (depth-first, properties
// before children); a name that equals the tail of a name already in the block points into it
// ("cells" shares "#size-cells"), because dtc reuses any position whose remaining string matches.

import { FdtError } from './error.js';
import {
  align,
  FDT_BEGIN_NODE,
  FDT_END,
  FDT_END_NODE,
  FDT_LAST_COMP_VERSION,
  FDT_MAGIC,
  FDT_PROP,
  FDT_TOKEN_ALIGN,
  FDT_V17_HEADER_SIZE,
  FDT_VERSION,
  HDR_BOOT_CPUID_PHYS,
  HDR_LAST_COMP_VERSION,
  HDR_MAGIC,
  HDR_OFF_DT_STRINGS,
  HDR_OFF_DT_STRUCT,
  HDR_OFF_MEM_RSVMAP,
  HDR_SIZE_DT_STRINGS,
  HDR_SIZE_DT_STRUCT,
  HDR_TOTALSIZE,
  HDR_VERSION,
} from './format.js';
import type { Fdt, FdtNode } from './tree.js';
import { nodeNameProblem, propertyNameProblem } from './tree.js';

/** A byte buffer that grows by doubling. */
class Bytes {
  buf = new Uint8Array(256);
  private dv = new DataView(this.buf.buffer);
  len = 0;

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.dv = new DataView(next.buffer);
  }

  u32(v: number): void {
    this.reserve(4);
    this.dv.setUint32(this.len, v);
    this.len += 4;
  }

  u64(v: bigint): void {
    this.reserve(8);
    this.dv.setBigUint64(this.len, v);
    this.len += 8;
  }

  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  /** A name as one byte per character, NUL-terminated (tree.ts keeps names as Latin-1 strings). */
  name(s: string): void {
    this.reserve(s.length + 1);
    for (let i = 0; i < s.length; i++) this.buf[this.len++] = s.charCodeAt(i);
    this.buf[this.len++] = 0;
  }

  /** Zero bytes up to a multiple of `a` (the buffer may hold old bytes after len). */
  pad(a: number): void {
    const to = align(this.len, a);
    this.reserve(to - this.len);
    this.buf.fill(0, this.len, to);
    this.len = to;
  }

  take(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/** The strings block, sharing names as dtc does (see the file header). */
class Strings {
  private table = '';
  private readonly offsets = new Map<string, number>();

  offset(name: string): number {
    const known = this.offsets.get(name);
    if (known !== undefined) return known;
    // The first position whose remaining string is `name`: a whole earlier name or its tail.
    let at = this.table.indexOf(name + '\0');
    if (at < 0) {
      at = this.table.length;
      this.table += name + '\0';
    }
    // Safe to cache: the table only grows at its end, so no earlier match can appear later.
    this.offsets.set(name, at);
    return at;
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.table.length);
    for (let i = 0; i < out.length; i++) out[i] = this.table.charCodeAt(i);
    return out;
  }
}

function checkU32(v: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff_ffff) throw new FdtError(`${what} ${v} is not a u32`);
}

/** Write a DTB (v17). Throws FdtError for a tree the format cannot hold (a name with a NUL, …). */
export function writeFdt(fdt: Fdt): Uint8Array {
  checkU32(fdt.bootCpuidPhys, 'boot_cpuid_phys');
  if (fdt.root.name !== '') throw new FdtError(`the root node must have an empty name, not ${fdt.root.name}`);

  const rsv = new Bytes();
  for (const r of fdt.memReservations) {
    // Readers (dtc, libfdt, ours) stop at the first zero-size entry: it cannot be written as one.
    if (r.size === 0n) throw new FdtError(`memory reservation at 0x${r.address.toString(16)} has size 0`);
  }
  for (const r of [...fdt.memReservations, { address: 0n, size: 0n }]) {
    for (const v of [r.address, r.size]) {
      if (v < 0n || v > 0xffff_ffff_ffff_ffffn) throw new FdtError(`memory reservation value ${v} is not a u64`);
      rsv.u64(v);
    }
  }

  const struct = new Bytes();
  const strings = new Strings();
  // Iterative depth-first walk: a tree read from a hostile blob may be arbitrarily deep.
  const stack: (FdtNode | null)[] = [fdt.root];
  for (let e = stack.pop(); e !== undefined; e = stack.pop()) {
    if (e === null) {
      struct.u32(FDT_END_NODE);
      continue;
    }
    if (e !== fdt.root) {
      const problem = e.name === '' ? 'is empty' : nodeNameProblem(e.name);
      if (problem) throw new FdtError(`node name ${JSON.stringify(e.name)} ${problem}`);
    }
    struct.u32(FDT_BEGIN_NODE);
    struct.name(e.name);
    struct.pad(FDT_TOKEN_ALIGN);
    for (const [name, value] of e.properties) {
      const problem = propertyNameProblem(name);
      if (problem) throw new FdtError(`property name ${JSON.stringify(name)} ${problem}`);
      struct.u32(FDT_PROP);
      struct.u32(value.length);
      struct.u32(strings.offset(name));
      struct.bytes(value);
      struct.pad(FDT_TOKEN_ALIGN);
    }
    stack.push(null);
    const kids = [...e.children.values()];
    for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]!);
  }
  struct.u32(FDT_END);

  const strBytes = strings.bytes();
  const offRsv = FDT_V17_HEADER_SIZE; // already 8-byte aligned, as §5.1 asks
  const offStruct = offRsv + rsv.len;
  const offStrings = offStruct + struct.len;
  const total = offStrings + strBytes.length;

  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  dv.setUint32(HDR_MAGIC, FDT_MAGIC);
  dv.setUint32(HDR_TOTALSIZE, total);
  dv.setUint32(HDR_OFF_DT_STRUCT, offStruct);
  dv.setUint32(HDR_OFF_DT_STRINGS, offStrings);
  dv.setUint32(HDR_OFF_MEM_RSVMAP, offRsv);
  dv.setUint32(HDR_VERSION, FDT_VERSION);
  dv.setUint32(HDR_LAST_COMP_VERSION, FDT_LAST_COMP_VERSION);
  dv.setUint32(HDR_BOOT_CPUID_PHYS, fdt.bootCpuidPhys);
  dv.setUint32(HDR_SIZE_DT_STRINGS, strBytes.length);
  dv.setUint32(HDR_SIZE_DT_STRUCT, struct.len);
  out.set(rsv.take(), offRsv);
  out.set(struct.take(), offStruct);
  out.set(strBytes, offStrings);
  return out;
}
