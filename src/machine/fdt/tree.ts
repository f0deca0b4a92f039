// The device-tree model (Devicetree Specification v0.4 ch. 2): a tree of named nodes, each with an
// ordered set of properties (raw bytes) and ordered children. Order is insertion order, as dtc
// keeps source order: reading a DTB and writing it back gives the same bytes, and nodes the RM
// adds (RM spec §4.1, §4.2) land after the ones already there. Replacing a property or a child
// keeps its position, as dtc does when a later DTS fragment redefines one.
//
// Names are held as JS strings with one character per byte (Latin-1): DT names are ASCII by the
// specification (§2.2.1, §2.2.4), and a 1:1 byte mapping keeps any blob's names round-trippable.
// Property *values* that are strings are UTF-8 (props.ts).

import { FdtError } from './error.js';
import {
  decodeCells,
  decodeInterrupts,
  decodeReg,
  decodeString,
  decodeStrings,
  decodeU32,
  decodeU64,
  encodeCells,
  encodeEmpty,
  encodeInterrupts,
  encodePhandle,
  encodeReg,
  encodeString,
  encodeStrings,
  encodeU32,
  encodeU64,
  FDT_DEFAULT_ADDRESS_CELLS,
  FDT_DEFAULT_SIZE_CELLS,
  type RegEntry,
} from './props.js';

/** Why a node name cannot be used, or null. Empty is allowed only for the root (checked by callers). */
export function nodeNameProblem(name: string): string | null {
  if (name.includes('/')) return 'contains "/"';
  return nameCharsProblem(name);
}

/** Why a property name cannot be used, or null. */
export function propertyNameProblem(name: string): string | null {
  if (name === '') return 'is empty';
  return nameCharsProblem(name);
}

function nameCharsProblem(name: string): string | null {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 0) return 'contains a NUL';
    if (c > 0xff) return `has a character (U+${c.toString(16).padStart(4, '0')}) that is not one byte`;
  }
  return null;
}

function checkNodeName(name: string): void {
  const p = name === '' ? 'is empty' : nodeNameProblem(name);
  if (p) throw new FdtError(`node name ${JSON.stringify(name)} ${p}`);
}

function checkPropertyName(name: string): void {
  const p = propertyNameProblem(name);
  if (p) throw new FdtError(`property name ${JSON.stringify(name)} ${p}`);
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class FdtNode {
  private readonly props = new Map<string, Uint8Array>();
  private readonly kids = new Map<string, FdtNode>();

  /** `name` is the full node name, `node-name@unit-address`; the root's is "". */
  constructor(readonly name: string) {
    if (name !== '') checkNodeName(name);
  }

  /** The name without its unit address (`memory` for `memory@40000000`). */
  get baseName(): string {
    const at = this.name.indexOf('@');
    return at < 0 ? this.name : this.name.slice(0, at);
  }

  /** The unit address (`40000000`), or undefined when the name has none. */
  get unitAddress(): string | undefined {
    const at = this.name.indexOf('@');
    return at < 0 ? undefined : this.name.slice(at + 1);
  }

  // ---- properties ----

  /** The properties in order. The values are the node's own bytes: copy before changing them. */
  get properties(): ReadonlyMap<string, Uint8Array> {
    return this.props;
  }

  hasProperty(name: string): boolean {
    return this.props.has(name);
  }

  getProperty(name: string): Uint8Array | undefined {
    return this.props.get(name);
  }

  /** Add a property at the end, or replace the value of an existing one in place. */
  setProperty(name: string, value: Uint8Array): this {
    checkPropertyName(name);
    this.props.set(name, value);
    return this;
  }

  deleteProperty(name: string): boolean {
    return this.props.delete(name);
  }

  private what(prop: string): string {
    return `property ${prop} of node ${this.name === '' ? '/' : this.name}`;
  }

  getU32(name: string): number | undefined {
    const v = this.props.get(name);
    return v === undefined ? undefined : decodeU32(v, this.what(name));
  }

  getU64(name: string): bigint | undefined {
    const v = this.props.get(name);
    return v === undefined ? undefined : decodeU64(v, this.what(name));
  }

  getCells(name: string): number[] | undefined {
    const v = this.props.get(name);
    return v === undefined ? undefined : decodeCells(v, this.what(name));
  }

  getString(name: string): string | undefined {
    const v = this.props.get(name);
    return v === undefined ? undefined : decodeString(v, this.what(name));
  }

  getStrings(name: string): string[] | undefined {
    const v = this.props.get(name);
    return v === undefined ? undefined : decodeStrings(v, this.what(name));
  }

  /** The node's `phandle` (or the older `linux,phandle`), if it has one. */
  get phandle(): number | undefined {
    return this.getU32('phandle') ?? this.getU32('linux,phandle');
  }

  setU32(name: string, v: number): this {
    return this.setProperty(name, encodeU32(v));
  }

  setU64(name: string, v: bigint | number): this {
    return this.setProperty(name, encodeU64(v));
  }

  setCells(name: string, v: readonly number[]): this {
    return this.setProperty(name, encodeCells(v));
  }

  setString(name: string, v: string): this {
    return this.setProperty(name, encodeString(v));
  }

  setStrings(name: string, v: readonly string[]): this {
    return this.setProperty(name, encodeStrings(v));
  }

  /** An empty (boolean) property such as `interrupt-controller` or `dma-coherent`. */
  setFlag(name: string): this {
    return this.setProperty(name, encodeEmpty());
  }

  // ---- children ----

  /** The children in order. */
  get children(): ReadonlyMap<string, FdtNode> {
    return this.kids;
  }

  /**
   * The child called `name`: an exact match, or, when `name` has no unit address, the first child
   * whose name without its unit address is `name` (as libfdt and Linux resolve `/memory`).
   */
  child(name: string): FdtNode | undefined {
    const exact = this.kids.get(name);
    if (exact || name.includes('@')) return exact;
    for (const k of this.kids.values()) if (k.baseName === name) return k;
    return undefined;
  }

  /** Append a new child (a name, or a node built elsewhere). A child of that name must not exist. */
  addChild(child: string | FdtNode): FdtNode {
    const node = typeof child === 'string' ? new FdtNode(child) : child;
    checkNodeName(node.name);
    if (this.kids.has(node.name)) {
      throw new FdtError(`node ${this.name === '' ? '/' : this.name} already has a child ${node.name}`);
    }
    this.kids.set(node.name, node);
    return node;
  }

  /** Put `node` in place of the child of the same name (keeping its position), or append it. */
  setChild(node: FdtNode): FdtNode {
    checkNodeName(node.name);
    this.kids.set(node.name, node);
    return node;
  }

  /** The child of exactly this name, created (appended, empty) if missing. */
  ensureChild(name: string): FdtNode {
    return this.kids.get(name) ?? this.addChild(name);
  }

  /** Delete the child named exactly `name`. */
  deleteChild(name: string): boolean {
    return this.kids.delete(name);
  }

  /** A deep copy (property values copied too). */
  clone(): FdtNode {
    const out = new FdtNode(this.name);
    // Iterative: a tree read from a hostile blob may be deep.
    const stack: [FdtNode, FdtNode][] = [[this, out]];
    for (let e = stack.pop(); e; e = stack.pop()) {
      const [src, dst] = e;
      for (const [k, v] of src.props) dst.props.set(k, v.slice());
      for (const c of src.kids.values()) {
        const d = new FdtNode(c.name);
        dst.kids.set(c.name, d);
        stack.push([c, d]);
      }
    }
    return out;
  }

  /** Same names, same properties with the same bytes, same children, all in the same order. */
  equals(other: FdtNode): boolean {
    const stack: [FdtNode, FdtNode][] = [[this, other]];
    for (let e = stack.pop(); e; e = stack.pop()) {
      const [a, b] = e;
      if (a.name !== b.name || a.props.size !== b.props.size || a.kids.size !== b.kids.size) return false;
      const bp = [...b.props];
      let i = 0;
      for (const [k, v] of a.props) {
        const [bk, bv] = bp[i++]!;
        if (k !== bk || !bytesEqual(v, bv)) return false;
      }
      const bc = [...b.kids.values()];
      i = 0;
      for (const c of a.kids.values()) stack.push([c, bc[i++]!]);
    }
    return true;
  }
}

/** The parent path of an absolute path ("/" for a child of the root). */
function parentPath(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

function joinPath(parent: string, name: string): string {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}

/** A whole device tree: the root node plus the blob-level facts the DTB header carries. */
export class Fdt {
  /** Memory reservation block entries (`/memreserve/`), in order. */
  memReservations: RegEntry[] = [];
  /** The header's boot_cpuid_phys: the `reg` of the CPU that boots. */
  bootCpuidPhys = 0;

  constructor(readonly root: FdtNode = new FdtNode('')) {}

  /**
   * The node at `path`, or undefined. `path` is absolute (`/hypervisor/qcom,gunyah-vm`) or starts
   * with an alias from /aliases (`serial0/...`), as libfdt's fdt_path_offset resolves it; a
   * component without a unit address matches the first child of that base name (FdtNode.child).
   */
  lookup(path: string): FdtNode | undefined {
    const abs = this.absolutePath(path);
    if (abs === undefined) return undefined;
    let node: FdtNode | undefined = this.root;
    for (const part of abs.split('/')) {
      if (part === '') continue; // leading "/" and repeated slashes, as libfdt skips them
      node = node.child(part);
      if (!node) return undefined;
    }
    return node;
  }

  /** The node at `path`; an FdtError when there is none. */
  node(path: string): FdtNode {
    const n = this.lookup(path);
    if (!n) throw new FdtError(`no node ${path}`);
    return n;
  }

  /** Resolve an alias at the start of a path; undefined when it is not defined. */
  private absolutePath(path: string): string | undefined {
    if (path.startsWith('/')) return path;
    const slash = path.indexOf('/');
    const alias = slash < 0 ? path : path.slice(0, slash);
    const aliases = this.root.child('aliases');
    const target = aliases?.getProperty(alias);
    if (!target) return undefined;
    let s: string;
    try {
      s = decodeString(target);
    } catch {
      return undefined;
    }
    if (!s.startsWith('/')) return undefined; // an alias must name an absolute path; no loops
    return slash < 0 ? s : s + path.slice(slash);
  }

  /**
   * The canonical path of the node at `path` (every component its node's full name), as
   * `walk()` reports it; undefined when there is no such node.
   */
  canonicalPath(path: string): string | undefined {
    const abs = this.absolutePath(path);
    if (abs === undefined) return undefined;
    let node: FdtNode | undefined = this.root;
    let out = '/';
    for (const part of abs.split('/')) {
      if (part === '') continue;
      node = node.child(part);
      if (!node) return undefined;
      out = joinPath(out, node.name);
    }
    return out;
  }

  /** Create the node at `path` (appended to its parent, which must exist). It must not exist yet. */
  addNode(path: string): FdtNode {
    const parent = this.node(parentPath(path));
    return parent.addChild(path.slice(path.lastIndexOf('/') + 1));
  }

  /** The node at absolute `path`, creating it and any missing ancestors (exact names). */
  ensureNode(path: string): FdtNode {
    if (!path.startsWith('/')) throw new FdtError(`ensureNode needs an absolute path, not ${path}`);
    let node = this.root;
    for (const part of path.split('/')) if (part !== '') node = node.ensureChild(part);
    return node;
  }

  /** Delete the node at `path` with its subtree. */
  deleteNode(path: string): boolean {
    const canon = this.canonicalPath(path);
    if (canon === undefined || canon === '/') return false;
    return this.node(parentPath(canon)).deleteChild(canon.slice(canon.lastIndexOf('/') + 1));
  }

  /** Every node with its path, depth first, in order (the order of the structure block). */
  *walk(): Generator<[string, FdtNode]> {
    const stack: [string, FdtNode][] = [['/', this.root]];
    for (let e = stack.pop(); e; e = stack.pop()) {
      yield e;
      const kids = [...e[1].children.values()];
      for (let i = kids.length - 1; i >= 0; i--) stack.push([joinPath(e[0], kids[i]!.name), kids[i]!]);
    }
  }

  /** The #address-cells a node gives its children's `reg` (default 2). */
  addressCells(path: string): number {
    return this.node(path).getU32('#address-cells') ?? FDT_DEFAULT_ADDRESS_CELLS;
  }

  /** The #size-cells a node gives its children's `reg` (default 1). */
  sizeCells(path: string): number {
    return this.node(path).getU32('#size-cells') ?? FDT_DEFAULT_SIZE_CELLS;
  }

  /** The node's `reg`, decoded with its parent's cell counts; undefined when it has none. */
  reg(path: string): RegEntry[] | undefined {
    const canon = this.canonicalPath(path);
    if (canon === undefined) throw new FdtError(`no node ${path}`);
    const v = this.node(canon).getProperty('reg');
    if (v === undefined) return undefined;
    const parent = parentPath(canon);
    return decodeReg(v, this.addressCells(parent), this.sizeCells(parent), `${canon} reg`);
  }

  /** Set the node's `reg`, encoded with its parent's cell counts. */
  setReg(path: string, entries: readonly RegEntry[]): void {
    const canon = this.canonicalPath(path);
    if (canon === undefined) throw new FdtError(`no node ${path}`);
    const parent = parentPath(canon);
    this.node(canon).setProperty('reg', encodeReg(entries, this.addressCells(parent), this.sizeCells(parent)));
  }

  /** The path of the node whose `phandle` is `ph`, or undefined. */
  pathOfPhandle(ph: number): string | undefined {
    for (const [p, n] of this.walk()) {
      if (propPhandle(n) === ph) return p;
    }
    return undefined;
  }

  /**
   * The node's phandle, giving it a new one (one above the largest in the tree, as dtc numbers
   * them from 1 up) when it has none.
   */
  phandle(path: string): number {
    const node = this.node(path);
    const have = propPhandle(node);
    if (have !== undefined) return have;
    let max = 0;
    for (const [, n] of this.walk()) max = Math.max(max, propPhandle(n) ?? 0);
    if (max >= 0xffff_fffe) throw new FdtError('no phandle left to allocate');
    node.setProperty('phandle', encodePhandle(max + 1));
    return max + 1;
  }

  /**
   * The path of the node's interrupt parent: follow `interrupt-parent` where a node has it and the
   * tree parent where it does not, until a node with #interrupt-cells (Devicetree Specification
   * §2.4.1; Linux's of_irq_find_parent walks the same way).
   */
  interruptParent(path: string): string {
    let cur = this.canonicalPath(path);
    if (cur === undefined) throw new FdtError(`no node ${path}`);
    const start = cur;
    // Each step goes to a parent or through a phandle; more steps than nodes means a loop.
    let budget = 0;
    for (const _ of this.walk()) budget++;
    for (let first = true; ; first = false) {
      const node = this.node(cur);
      if (!first && node.hasProperty('#interrupt-cells')) return cur;
      if (budget-- < 0) throw new FdtError(`${start}: interrupt-parent chain loops`);
      const ip = node.getProperty('interrupt-parent');
      if (ip !== undefined) {
        const ph = decodeU32(ip, `${cur} interrupt-parent`);
        const target = this.pathOfPhandle(ph);
        if (target === undefined) throw new FdtError(`${cur}: interrupt-parent <0x${ph.toString(16)}> names no node`);
        cur = target;
        continue;
      }
      if (cur === '/') throw new FdtError(`${start} has no interrupt parent with #interrupt-cells`);
      cur = parentPath(cur);
    }
  }

  /** The node's `interrupts`, split by its interrupt parent's #interrupt-cells; undefined when absent. */
  interrupts(path: string): number[][] | undefined {
    const v = this.node(path).getProperty('interrupts');
    if (v === undefined) return undefined;
    const parent = this.interruptParent(path);
    const cells = this.node(parent).getU32('#interrupt-cells')!;
    return decodeInterrupts(v, cells, `${path} interrupts`);
  }

  /** Set the node's `interrupts`; each specifier must have the interrupt parent's #interrupt-cells. */
  setInterrupts(path: string, specs: readonly (readonly number[])[]): void {
    const cells = this.node(this.interruptParent(path)).getU32('#interrupt-cells')!;
    this.node(path).setProperty('interrupts', encodeInterrupts(specs, cells));
  }

  clone(): Fdt {
    const out = new Fdt(this.root.clone());
    out.memReservations = this.memReservations.map((r) => ({ ...r }));
    out.bootCpuidPhys = this.bootCpuidPhys;
    return out;
  }

  /** Same header facts, same reservations, same tree (FdtNode.equals). */
  equals(other: Fdt): boolean {
    return (
      this.bootCpuidPhys === other.bootCpuidPhys &&
      this.memReservations.length === other.memReservations.length &&
      this.memReservations.every(
        (r, i) => r.address === other.memReservations[i]!.address && r.size === other.memReservations[i]!.size,
      ) &&
      this.root.equals(other.root)
    );
  }
}

/** A node's phandle where it is well formed; a malformed one counts as none (lookups skip it). */
function propPhandle(n: FdtNode): number | undefined {
  try {
    return n.phandle;
  } catch {
    return undefined;
  }
}
