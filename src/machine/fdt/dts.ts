// Device tree → DTS source text (Devicetree Specification v0.4 ch. 6), for messages, traces and
// comparing with `dtc -I dtb -O dts`. The layout follows dtc's (tabs, a blank line before each
// child node, cells as <0x%02x>, bytes as [%02x], /memreserve/ lines before the root), and the
// text compiles back with dtc to the same tree: values carry no type, so each is shown as a string
// list when it looks like one (dtc's rule: NUL-terminated, printable, at most half NULs), as cells
// when its length is a multiple of 4, else as bytes. String lists are written "a", "b" (valid DTS
// for every dtc version; DTC 1.6 itself prints "a\0b"). Names are printed as they are: a name with
// characters DTS cannot spell gives text for people, not for dtc.

import type { Fdt } from './tree.js';
import { FdtNode } from './tree.js';

const ESCAPES: Record<number, string> = {
  0x07: '\\a',
  0x08: '\\b',
  0x09: '\\t',
  0x0a: '\\n',
  0x0b: '\\v',
  0x0c: '\\f',
  0x0d: '\\r',
  0x22: '\\"',
  0x5c: '\\\\',
};

function isStringByte(c: number): boolean {
  return c === 0 || (c >= 0x20 && c <= 0x7e) || (c >= 0x07 && c <= 0x0d);
}

function looksLikeStrings(v: Uint8Array): boolean {
  if (v.length === 0 || v[v.length - 1] !== 0 || v[0] === 0) return false;
  let nul = 0;
  for (const c of v) {
    if (!isStringByte(c)) return false;
    if (c === 0) nul++;
  }
  return nul <= v.length - nul;
}

const hex2 = (n: number): string => n.toString(16).padStart(2, '0');

/** The text after a property's name: ` = <0x01>` or `` for an empty property (then `name;`). */
export function formatPropertyValue(v: Uint8Array): string {
  if (v.length === 0) return '';
  if (looksLikeStrings(v)) {
    const parts: string[] = [];
    let cur = '';
    for (let i = 0; i < v.length; i++) {
      const c = v[i]!;
      if (c === 0) {
        parts.push(`"${cur}"`);
        cur = '';
      } else {
        cur += ESCAPES[c] ?? String.fromCharCode(c);
      }
    }
    return ` = ${parts.join(', ')}`;
  }
  if (v.length % 4 === 0) {
    const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
    const cells: string[] = [];
    for (let i = 0; i < v.length; i += 4) cells.push(`0x${hex2(dv.getUint32(i))}`);
    return ` = <${cells.join(' ')}>`;
  }
  return ` = [${Array.from(v, hex2).join(' ')}]`;
}

/** A whole tree as a DTS file, or one node (and its subtree) as a DTS fragment. */
export function toDts(tree: Fdt | FdtNode): string {
  const out: string[] = [];
  let root: FdtNode;
  if (tree instanceof FdtNode) {
    root = tree;
  } else {
    root = tree.root;
    out.push('/dts-v1/;\n\n');
    for (const r of tree.memReservations) {
      out.push(
        `/memreserve/\t0x${r.address.toString(16).padStart(16, '0')} 0x${r.size.toString(16).padStart(16, '0')};\n`,
      );
    }
  }
  // Iterative: a tree read from a hostile blob may be arbitrarily deep. A number closes a node.
  const stack: ([FdtNode, number] | number)[] = [[root, 0]];
  for (let e = stack.pop(); e !== undefined; e = stack.pop()) {
    if (typeof e === 'number') {
      out.push(`${'\t'.repeat(e)}};\n`);
      continue;
    }
    const [node, depth] = e;
    const tabs = '\t'.repeat(depth);
    if (depth > 0) out.push('\n');
    out.push(`${tabs}${depth === 0 && node.name === '' ? '/' : node.name} {\n`);
    for (const [name, value] of node.properties) out.push(`${tabs}\t${name}${formatPropertyValue(value)};\n`);
    stack.push(depth);
    const kids = [...node.children.values()];
    for (let i = kids.length - 1; i >= 0; i--) stack.push([kids[i]!, depth + 1]);
  }
  return out.join('');
}
