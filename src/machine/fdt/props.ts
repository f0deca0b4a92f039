// Property values of a flattened device tree (Devicetree Specification v0.4 §2.2.4, §2.3): raw
// big-endian bytes, with typed builders and readers for the shapes the resource manager reads and
// writes (RM spec §4): empty (boolean) properties, u32 and u64, cell arrays, strings and string
// lists, phandles, `reg` under #address-cells/#size-cells, `interrupts` specifiers. Readers check
// the size and shape and throw an FdtError naming the property when it does not fit; they never
// return a half-decoded value.

import { FdtError } from './error.js';

/** Defaults when a node has no #address-cells / #size-cells (Devicetree Specification §2.3.5). */
export const FDT_DEFAULT_ADDRESS_CELLS = 2;
export const FDT_DEFAULT_SIZE_CELLS = 1;

/** One (address, size) pair of a `reg` property; bigints because addresses may need 64 bits. */
export interface RegEntry {
  address: bigint;
  size: bigint;
}

const utf8Encoder = new TextEncoder();
// fatal: a string that is not UTF-8 is reported, not silently replaced with U+FFFD.
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

function checkU32(v: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff_ffff) throw new FdtError(`${what}: ${v} is not a u32`);
}

function checkCellCount(n: number, what: string): void {
  // Four cells (128 bits) is the most any binding uses (PCI uses 3); more is a corrupt #*-cells.
  if (!Number.isInteger(n) || n < 0 || n > 4) throw new FdtError(`${what}: ${n} cells is not a count between 0 and 4`);
}

/** A property with no value: its presence is the information (`dma-coherent;`). */
export function encodeEmpty(): Uint8Array {
  return new Uint8Array(0);
}

export function encodeU32(v: number): Uint8Array {
  return encodeCells([v]);
}

/** A u64 as two cells, high first (dtc's `/bits/ 64 <v>` gives the same bytes). */
export function encodeU64(v: bigint | number): Uint8Array {
  return encodeU64List([v]);
}

export function encodeCells(values: readonly number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const dv = new DataView(out.buffer);
  values.forEach((v, i) => {
    checkU32(v, 'cell');
    dv.setUint32(i * 4, v);
  });
  return out;
}

export function encodeU64List(values: readonly (bigint | number)[]): Uint8Array {
  const out = new Uint8Array(values.length * 8);
  const dv = new DataView(out.buffer);
  values.forEach((v, i) => {
    const b = BigInt(v);
    if (b < 0n || b > 0xffff_ffff_ffff_ffffn) throw new FdtError(`u64: ${v} does not fit in 64 bits`);
    dv.setBigUint64(i * 8, b);
  });
  return out;
}

/** A phandle is a u32 cell that is neither 0 nor 0xffffffff (Devicetree Specification §2.3.3). */
export function encodePhandle(ph: number): Uint8Array {
  if (ph === 0 || ph === 0xffff_ffff) throw new FdtError(`phandle ${ph} is reserved`);
  return encodeU32(ph);
}

/** One NUL-terminated UTF-8 string. */
export function encodeString(s: string): Uint8Array {
  return encodeStrings([s]);
}

/** A string list (`compatible`): each string NUL-terminated, concatenated. */
export function encodeStrings(list: readonly string[]): Uint8Array {
  const parts = list.map((s) => {
    if (s.includes('\0')) throw new FdtError(`string ${JSON.stringify(s)} contains a NUL`);
    return utf8Encoder.encode(s);
  });
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length + 1, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length + 1; // the NUL is already there: the array starts zeroed
  }
  return out;
}

/** Encode a value of `cells` cells, high cell first. */
function putCells(dv: DataView, at: number, value: bigint, cells: number, what: string): void {
  if (value < 0n || value >> BigInt(32 * cells) !== 0n) {
    throw new FdtError(`${what}: 0x${value.toString(16)} does not fit in ${cells} cell(s)`);
  }
  for (let i = cells - 1; i >= 0; i--) {
    dv.setUint32(at + i * 4, Number(value & 0xffff_ffffn));
    value >>= 32n;
  }
}

function getCells(dv: DataView, at: number, cells: number): bigint {
  let v = 0n;
  for (let i = 0; i < cells; i++) v = (v << 32n) | BigInt(dv.getUint32(at + i * 4));
  return v;
}

/** `reg` as the parent's #address-cells and #size-cells lay it out (Devicetree Specification §2.3.6). */
export function encodeReg(
  entries: readonly RegEntry[],
  addressCells = FDT_DEFAULT_ADDRESS_CELLS,
  sizeCells = FDT_DEFAULT_SIZE_CELLS,
): Uint8Array {
  checkCellCount(addressCells, 'reg #address-cells');
  checkCellCount(sizeCells, 'reg #size-cells');
  const stride = (addressCells + sizeCells) * 4;
  const out = new Uint8Array(entries.length * stride);
  const dv = new DataView(out.buffer);
  entries.forEach((e, i) => {
    putCells(dv, i * stride, e.address, addressCells, 'reg address');
    putCells(dv, i * stride + addressCells * 4, e.size, sizeCells, 'reg size');
  });
  return out;
}

/** `interrupts`: specifiers of the interrupt parent's #interrupt-cells each, flattened. */
export function encodeInterrupts(specs: readonly (readonly number[])[], interruptCells?: number): Uint8Array {
  const n = interruptCells ?? specs[0]?.length ?? 0;
  for (const s of specs) {
    if (s.length !== n) throw new FdtError(`interrupts: specifier [${s.join(' ')}] is not ${n} cells`);
  }
  return encodeCells(specs.flat());
}

// ---- readers ----

function view(v: Uint8Array): DataView {
  return new DataView(v.buffer, v.byteOffset, v.byteLength);
}

/** `what` names the property in errors, e.g. "/cpus/cpu@0 reg". */
export function decodeU32(v: Uint8Array, what = 'property'): number {
  if (v.length !== 4) throw new FdtError(`${what} is ${v.length} bytes, not a u32 (4 bytes)`);
  return view(v).getUint32(0);
}

export function decodeU64(v: Uint8Array, what = 'property'): bigint {
  if (v.length !== 8) throw new FdtError(`${what} is ${v.length} bytes, not a u64 (8 bytes)`);
  return view(v).getBigUint64(0);
}

export function decodeCells(v: Uint8Array, what = 'property'): number[] {
  if (v.length % 4 !== 0) throw new FdtError(`${what} is ${v.length} bytes, not a whole number of cells`);
  const dv = view(v);
  const out: number[] = [];
  for (let i = 0; i < v.length; i += 4) out.push(dv.getUint32(i));
  return out;
}

export function decodeU64List(v: Uint8Array, what = 'property'): bigint[] {
  if (v.length % 8 !== 0) throw new FdtError(`${what} is ${v.length} bytes, not a whole number of u64s`);
  const dv = view(v);
  const out: bigint[] = [];
  for (let i = 0; i < v.length; i += 8) out.push(dv.getBigUint64(i));
  return out;
}

export function decodePhandle(v: Uint8Array, what = 'property'): number {
  const ph = decodeU32(v, what);
  if (ph === 0 || ph === 0xffff_ffff) throw new FdtError(`${what}: phandle 0x${ph.toString(16)} is reserved`);
  return ph;
}

export function decodeStrings(v: Uint8Array, what = 'property'): string[] {
  if (v.length === 0) return [];
  if (v[v.length - 1] !== 0) throw new FdtError(`${what} is not a string list: its last byte is not NUL`);
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < v.length; i++) {
    if (v[i] !== 0) continue;
    try {
      out.push(utf8Decoder.decode(v.subarray(start, i)));
    } catch {
      throw new FdtError(`${what}: string ${out.length} is not valid UTF-8`);
    }
    start = i + 1;
  }
  return out;
}

export function decodeString(v: Uint8Array, what = 'property'): string {
  const list = decodeStrings(v, what);
  if (list.length !== 1) throw new FdtError(`${what} is ${list.length} strings, not one`);
  return list[0]!;
}

export function decodeReg(
  v: Uint8Array,
  addressCells = FDT_DEFAULT_ADDRESS_CELLS,
  sizeCells = FDT_DEFAULT_SIZE_CELLS,
  what = 'reg',
): RegEntry[] {
  checkCellCount(addressCells, `${what} #address-cells`);
  checkCellCount(sizeCells, `${what} #size-cells`);
  const stride = (addressCells + sizeCells) * 4;
  if (stride === 0) throw new FdtError(`${what}: #address-cells and #size-cells are both 0`);
  if (v.length % stride !== 0) {
    throw new FdtError(
      `${what} is ${v.length} bytes, not a whole number of (${addressCells} address + ${sizeCells} size) cell entries`,
    );
  }
  const dv = view(v);
  const out: RegEntry[] = [];
  for (let at = 0; at < v.length; at += stride) {
    out.push({ address: getCells(dv, at, addressCells), size: getCells(dv, at + addressCells * 4, sizeCells) });
  }
  return out;
}

export function decodeInterrupts(v: Uint8Array, interruptCells: number, what = 'interrupts'): number[][] {
  if (!Number.isInteger(interruptCells) || interruptCells < 1 || interruptCells > 8) {
    throw new FdtError(`${what}: #interrupt-cells ${interruptCells} is not between 1 and 8`);
  }
  const cells = decodeCells(v, what);
  if (cells.length % interruptCells !== 0) {
    throw new FdtError(`${what} is ${cells.length} cells, not a whole number of ${interruptCells}-cell specifiers`);
  }
  const out: number[][] = [];
  for (let i = 0; i < cells.length; i += interruptCells) out.push(cells.slice(i, i + interruptCells));
  return out;
}
