// DTB bytes → device tree (Devicetree Specification v0.4 ch. 5). The RM reads blobs a guest or VMM
// supplies (RM spec §4.1: the VM's own DTB in its image parcel; §4.3: the VM-config DT), so every
// malformation becomes an FdtError naming what is wrong and the byte offset where; no input can
// raise a host exception or make the reader loop (each step consumes at least four bytes).
//
// Accepted: versions 16 and 17 (last_comp_version ≤ 17), as libfdt. Stricter than libfdt, by
// choice, because the tree model could not represent the result or the specification forbids it:
// a property after a child node (§5.4.2; libfdt would not see it), duplicate node or property
// names, a named root, empty or "/"-containing node names, empty property names, misaligned blocks
// (§5.1 "shall"), name padding past the block. Bytes after totalsize and after FDT_END are ignored,
// as libfdt and dtc ignore them.

import { FdtError } from './error.js';
import {
  align,
  FDT_BEGIN_NODE,
  FDT_END,
  FDT_END_NODE,
  FDT_MAGIC,
  FDT_NOP,
  FDT_OLDEST_READABLE_VERSION,
  FDT_PROP,
  FDT_RSVMAP_ALIGN,
  FDT_TOKEN_ALIGN,
  FDT_V16_HEADER_SIZE,
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
import type { RegEntry } from './props.js';
import { Fdt, FdtNode, nodeNameProblem, propertyNameProblem } from './tree.js';

const hex = (n: number): string => `0x${n.toString(16)}`;

/** Bytes [from, to) as a string of one character per byte (tree.ts: names are Latin-1). */
function latin1(b: Uint8Array, from: number, to: number): string {
  let s = '';
  // Chunked: String.fromCharCode with a huge argument list would overflow the stack.
  for (let i = from; i < to; i += 4096) {
    s += String.fromCharCode(...b.subarray(i, Math.min(to, i + 4096)));
  }
  return s;
}

/** Parse a DTB. Throws FdtError for any malformed input. */
export function readFdt(blob: Uint8Array): Fdt {
  const dv = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const u32 = (at: number): number => dv.getUint32(at);

  if (blob.length < 4) throw new FdtError(`truncated header: the blob is ${blob.length} bytes`, 0);
  const magic = u32(HDR_MAGIC);
  if (magic !== FDT_MAGIC) {
    throw new FdtError(`bad magic ${hex(magic)} (a DTB starts with ${hex(FDT_MAGIC)})`, HDR_MAGIC);
  }
  if (blob.length < HDR_LAST_COMP_VERSION + 4) {
    throw new FdtError(`truncated header: the blob is ${blob.length} bytes, too short for the version fields`, 0);
  }
  const version = u32(HDR_VERSION);
  const lastComp = u32(HDR_LAST_COMP_VERSION);
  if (version < FDT_OLDEST_READABLE_VERSION) {
    throw new FdtError(`unsupported version ${version} (this reader reads 16 and 17)`, HDR_VERSION);
  }
  if (lastComp > FDT_VERSION) {
    throw new FdtError(
      `unsupported version: last_comp_version ${lastComp} is newer than ${FDT_VERSION}`,
      HDR_LAST_COMP_VERSION,
    );
  }
  // A v16 header lacks size_dt_struct; a later version keeps the v17 fields at the same places.
  const headerSize = version >= 17 ? FDT_V17_HEADER_SIZE : FDT_V16_HEADER_SIZE;
  if (blob.length < headerSize) {
    throw new FdtError(`truncated header: the blob is ${blob.length} bytes, a v${version} header is ${headerSize}`, 0);
  }

  const totalsize = u32(HDR_TOTALSIZE);
  if (totalsize > blob.length) {
    throw new FdtError(`totalsize ${totalsize} is past the end of the blob (${blob.length} bytes)`, HDR_TOTALSIZE);
  }
  if (totalsize < headerSize) {
    throw new FdtError(`totalsize ${totalsize} is smaller than the ${headerSize}-byte header`, HDR_TOTALSIZE);
  }

  /** Check a block [off, off+size) lies after the header and within totalsize. */
  const block = (what: string, off: number, offField: number, size: number, sizeField: number): void => {
    if (off < headerSize || off > totalsize) {
      throw new FdtError(`${what} offset ${hex(off)} is outside ${hex(headerSize)}..${hex(totalsize)}`, offField);
    }
    if (off + size > totalsize) {
      throw new FdtError(
        `${what} (${size} bytes at ${hex(off)}) runs past totalsize ${hex(totalsize)}`,
        sizeField >= 0 ? sizeField : offField,
      );
    }
  };

  // ---- memory reservation block ----
  const offRsv = u32(HDR_OFF_MEM_RSVMAP);
  block('memory reservation block', offRsv, HDR_OFF_MEM_RSVMAP, 0, -1);
  if (offRsv % FDT_RSVMAP_ALIGN !== 0) {
    throw new FdtError(`memory reservation block offset ${hex(offRsv)} is not 8-byte aligned`, HDR_OFF_MEM_RSVMAP);
  }
  const memReservations: RegEntry[] = [];
  for (let at = offRsv; ; at += 16) {
    if (at + 16 > totalsize) {
      throw new FdtError('memory reservation block has no terminating zero-size entry before totalsize', at);
    }
    const address = dv.getBigUint64(at);
    const size = dv.getBigUint64(at + 8);
    // dtc and libfdt end the list at the first entry whose size is 0 (the spec's terminator is
    // (0, 0); a zero-size entry with an address is read the same way by both).
    if (size === 0n) break;
    memReservations.push({ address, size });
  }

  // ---- strings block ----
  const offStr = u32(HDR_OFF_DT_STRINGS);
  const sizeStr = u32(HDR_SIZE_DT_STRINGS);
  block('strings block', offStr, HDR_OFF_DT_STRINGS, sizeStr, HDR_SIZE_DT_STRINGS);
  const strEnd = offStr + sizeStr;
  const names = new Map<number, string>();
  const propName = (nameoff: number, tokAt: number): string => {
    const cached = names.get(nameoff);
    if (cached !== undefined) return cached;
    if (nameoff >= sizeStr) {
      throw new FdtError(`property nameoff ${hex(nameoff)} is past the strings block (${sizeStr} bytes)`, tokAt + 8);
    }
    const from = offStr + nameoff;
    const nul = blob.subarray(from, strEnd).indexOf(0);
    if (nul < 0) throw new FdtError(`unterminated string at strings block offset ${hex(nameoff)}`, from);
    const name = latin1(blob, from, from + nul);
    const problem = propertyNameProblem(name);
    if (problem) throw new FdtError(`property name at strings offset ${hex(nameoff)} ${problem}`, from);
    names.set(nameoff, name);
    return name;
  };

  // ---- structure block ----
  const offStruct = u32(HDR_OFF_DT_STRUCT);
  const sizeStruct = version >= 17 ? u32(HDR_SIZE_DT_STRUCT) : totalsize - Math.min(offStruct, totalsize);
  block('structure block', offStruct, HDR_OFF_DT_STRUCT, sizeStruct, version >= 17 ? HDR_SIZE_DT_STRUCT : -1);
  if (offStruct % FDT_TOKEN_ALIGN !== 0) {
    throw new FdtError(`structure block offset ${hex(offStruct)} is not 4-byte aligned`, HDR_OFF_DT_STRUCT);
  }
  const sEnd = offStruct + sizeStruct;

  interface Open {
    node: FdtNode;
    path: string;
    sawChild: boolean;
  }
  const stack: Open[] = [];
  let root: FdtNode | undefined;
  let p = offStruct;
  for (;;) {
    if (p + 4 > sEnd) {
      const where = stack.length ? ` inside ${stack[stack.length - 1]!.path} (unbalanced nodes)` : '';
      throw new FdtError(`structure block ends without FDT_END${where}`, p);
    }
    const tokAt = p;
    const tok = u32(p);
    p += 4;
    const top = stack[stack.length - 1];
    switch (tok) {
      case FDT_BEGIN_NODE: {
        const nul = blob.subarray(p, sEnd).indexOf(0);
        if (nul < 0) throw new FdtError('unterminated node name (no NUL before the end of the structure block)', p);
        const name = latin1(blob, p, p + nul);
        p = align(p + nul + 1, FDT_TOKEN_ALIGN);
        if (p > sEnd) throw new FdtError(`padding of node name ${JSON.stringify(name)} runs past the block`, tokAt);
        if (!top) {
          if (root) throw new FdtError('a second root node after the first one ended', tokAt);
          if (name !== '') throw new FdtError(`the root node has a name (${JSON.stringify(name)})`, tokAt);
          root = new FdtNode('');
          stack.push({ node: root, path: '/', sawChild: false });
          break;
        }
        const problem = name === '' ? 'is empty' : nodeNameProblem(name);
        if (problem) throw new FdtError(`node name ${JSON.stringify(name)} under ${top.path} ${problem}`, tokAt);
        if (top.node.children.has(name)) throw new FdtError(`duplicate node ${name} under ${top.path}`, tokAt);
        top.sawChild = true;
        const node = top.node.addChild(name);
        stack.push({ node, path: top.path === '/' ? `/${name}` : `${top.path}/${name}`, sawChild: false });
        break;
      }
      case FDT_END_NODE:
        if (!top) throw new FdtError('FDT_END_NODE without a matching FDT_BEGIN_NODE (unbalanced nodes)', tokAt);
        stack.pop();
        break;
      case FDT_PROP: {
        if (!top) throw new FdtError('property outside any node', tokAt);
        if (p + 8 > sEnd) throw new FdtError('truncated property header (len, nameoff)', tokAt);
        const len = u32(p);
        const nameoff = u32(p + 4);
        p += 8;
        if (len > sEnd - p) {
          throw new FdtError(`property value of ${len} bytes runs past the structure block in ${top.path}`, tokAt + 4);
        }
        const name = propName(nameoff, tokAt);
        if (top.sawChild) throw new FdtError(`property ${name} after a child node of ${top.path}`, tokAt);
        if (top.node.hasProperty(name)) throw new FdtError(`duplicate property ${name} in ${top.path}`, tokAt);
        top.node.setProperty(name, blob.slice(p, p + len));
        p = align(p + len, FDT_TOKEN_ALIGN);
        if (p > sEnd) throw new FdtError(`padding of property ${name} runs past the structure block`, tokAt);
        break;
      }
      case FDT_NOP:
        break;
      case FDT_END: {
        if (top) {
          throw new FdtError(`FDT_END inside ${top.path} (unbalanced nodes: ${stack.length} still open)`, tokAt);
        }
        if (!root) throw new FdtError('FDT_END before the root node', tokAt);
        const fdt = new Fdt(root);
        fdt.memReservations = memReservations;
        fdt.bootCpuidPhys = u32(HDR_BOOT_CPUID_PHYS);
        return fdt;
      }
      default:
        throw new FdtError(`bad token ${hex(tok)} in the structure block`, tokAt);
    }
  }
}

/** The header's totalsize, or an FdtError: for callers that must know how many bytes a blob takes. */
export function fdtTotalSize(blob: Uint8Array): number {
  if (blob.length < 8) throw new FdtError(`truncated header: the blob is ${blob.length} bytes`, 0);
  const dv = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  if (dv.getUint32(HDR_MAGIC) !== FDT_MAGIC) throw new FdtError('bad magic', HDR_MAGIC);
  return dv.getUint32(HDR_TOTALSIZE);
}
