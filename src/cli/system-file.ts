// System files for `gunyah run SYSTEM.yaml` (issue 5): several guest VMs described in YAML — their
// images, memory and vCPUs, message-queue and doorbell links between them, and shared memory — read
// and checked here, then turned into the host VMM's GuestSpecs. The format is docs/system-yaml.md.
//
// Every problem is a SystemFileError whose message is one line: the file, the line when known, the
// field path (`vms[1].mem`) and what is wrong. The checks walk the YAML syntax tree rather than the
// plain value so each error can point at its line.
//
// How the file maps onto the system (the same vm-config vdevices src/vmm/demo.ts builds by hand):
// - a message-queue link between a and b: a message-queue-pair vdevice on each, `peer =
//   "vm-name:<other>"`, the link's label; the RM pairs the two at VM_INIT.
// - a doorbell from a to b: a doorbell-source on a, a doorbell on b, same label and peers.
// - shared memory owned by a with b: the host donates `size` bytes to a (MEM_DONATE + MEM_NOTIFY
//   SHARED, label), which the RM accepts for a at the fixed `base` of a's shm vdevice with that
//   label; the page is then a's own, to lend or share with b from its guest code. b gets an shm
//   vdevice paired with a's (same label, peer the other VM), so each finds the other's VMID and the
//   label in its /hypervisor node.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  LineCounter,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  parseDocument,
  type Document,
  type Node as YamlNode,
} from 'yaml';
import { GUEST_POOL_SIZE, GUEST_RAM_BASE, type GuestSpec } from '../vmm/host.js';
import { LoadError } from '../vmm/loader/elf.js';
import { DTB_WINDOW, formatSize, loadKernel, placeInitrd, validateDtb } from '../vmm/loader/kernel.js';
import type { Fdt } from '../machine/fdt/index.js';

export class SystemFileError extends Error {}

const KiB = 1024n;
const MiB = 1024n * KiB;
const GiB = 1024n * MiB;
const PAGE = 4n * KiB;

/** A VM's RAM when `mem` is not given. */
export const DEFAULT_MEM = 64n * MiB;
/** [infer] The smallest RAM the host VMM gives a guest (GuestSpec: at least 4 MiB, whole 2 MiB blocks). */
const MIN_MEM = 4n * MiB;
const MEM_ALIGN = 2n * MiB;
/** The vGIC's limit on a VM's vCPUs (src/hyp/vm/vic.ts VIC_MAX_VCPUS). */
export const MAX_CPUS = 8;
/** What the host VMM can hand out for all guests' RAM and donated memory (src/vmm/host.ts). */
export const HOST_POOL = GUEST_POOL_SIZE;
/** Guest IPAs below this are the device GiB of the QEMU-virt layout (GIC, PL011, virtio). */
const DEVICE_GIB_END = 0x4000_0000n;
/** The guest IPA space of the stage-2 tables (src/hyp/mem/attrs.ts IPA_BITS = 36). */
const IPA_LIMIT = 1n << 36n;
/** Where an owner's first shared-memory region goes when it gives no base: this boundary above its RAM. */
const SHM_DEFAULT_ALIGN = 256n * MiB;
/** VM names: they become DT node names (`mq-<name>-<label>`, at most 31 characters) and console prefixes. */
const NAME_RE = /^[a-z0-9][a-z0-9-]*$/;
const MAX_NAME = 16;
const MAX_LABEL = 0xffff_ffff;

/** A vm-config vdevice node's properties (GuestSpec.vdevices). */
export type VdeviceProps = Record<string, string | number | bigint | true | string[]>;

export interface SystemVm {
  readonly name: string;
  /** The kernel's path as written and as resolved against the system file's directory. */
  readonly kernel: string;
  readonly kernelPath: string;
  readonly mem: bigint;
  readonly cpus: number;
  readonly bootargs?: string;
  readonly initrd?: string;
  readonly initrdPath?: string;
  readonly dtb?: string;
  readonly dtbPath?: string;
  /** vm-config vdevices made from the links and shared memory, in file order (links first). */
  readonly vdevices: Record<string, VdeviceProps>;
  /** Memory the host donates to this VM before it starts (its shared-memory regions). */
  readonly donations: { label: number; size: bigint }[];
}

export type SystemLink =
  | { readonly type: 'message-queue'; readonly between: readonly [string, string]; readonly label: number }
  | { readonly type: 'doorbell'; readonly from: string; readonly to: string; readonly label: number };

export interface SharedMemory {
  readonly owner: string;
  readonly with: string;
  readonly size: bigint;
  readonly label: number;
  /** The region's IPA in the owner's address space. */
  readonly base: bigint;
}

export interface SystemFile {
  /** The file as the user named it (the start of every error message). */
  readonly file: string;
  readonly vms: readonly SystemVm[];
  readonly links: readonly SystemLink[];
  readonly sharedMemory: readonly SharedMemory[];
  /** The line (1-based) of a field path's value, when the file has one. */
  lineOf(field: string): number | undefined;
}

const hex = (n: bigint): string => `0x${n.toString(16)}`;

/** Read, parse and check `file` (paths in it are relative to its directory). */
export function readSystemFile(file: string): SystemFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (code ?? String(e));
    throw new SystemFileError(`${file}: cannot read the system file: ${why}`);
  }
  return parseSystemFile(text, file);
}

/**
 * Parse and check the text of a system file named `file`; its kernel, initrd and dtb paths are
 * resolved against `baseDir` (the file's directory by default). No file is read.
 */
export function parseSystemFile(text: string, file: string, baseDir = path.dirname(file)): SystemFile {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const p = new Parser(file, lc, doc);
  const first = doc.errors[0];
  if (first !== undefined) {
    const { line, col } = lc.linePos(first.pos[0]);
    const what = first.code === 'DUPLICATE_KEY' ? 'a key appears twice in one map' : first.message.split('\n')[0];
    throw new SystemFileError(`${file}:${line}:${col}: YAML syntax error: ${what}`);
  }
  return p.system(baseDir);
}

/** A field of a map: its key's path and its value node. */
interface Field {
  path: string;
  node: YamlNode | null;
}

class Parser {
  private readonly lines = new Map<string, number>();

  constructor(
    private readonly file: string,
    private readonly lc: LineCounter,
    private readonly doc: Document,
  ) {}

  fail(path: string, node: YamlNode | null | undefined, problem: string): never {
    const line = this.line(node);
    throw new SystemFileError(`${this.file}${line === undefined ? '' : `:${line}`}: ${path}: ${problem}`);
  }

  private line(node: YamlNode | null | undefined): number | undefined {
    const start = node?.range?.[0];
    return start === undefined ? undefined : this.lc.linePos(start).line;
  }

  private deref(node: YamlNode | null | undefined): YamlNode | null {
    if (node === null || node === undefined) return null;
    if (isAlias(node)) return node.resolve(this.doc) ?? null;
    return node;
  }

  private describe(node: YamlNode | null): string {
    if (node === null) return 'nothing';
    if (isMap(node)) return 'a map';
    if (isSeq(node)) return 'a list';
    if (isScalar(node)) {
      const v = node.value;
      if (v === null) return 'nothing (null)';
      if (typeof v === 'string') return `the string "${v}"`;
      if (typeof v === 'boolean') return `${v}`;
      return `${typeof v === 'number' || typeof v === 'bigint' ? 'the number ' : ''}${String(v)}`;
    }
    return 'something else';
  }

  /** The fields of the map at `path`, refusing keys not in `known` (unless it is null). */
  private map(path: string, raw: YamlNode | null, known: readonly string[] | null): Map<string, Field> {
    const node = this.deref(raw);
    if (node === null || !isMap(node)) this.fail(path, raw, `must be a map, not ${this.describe(node)}`);
    const out = new Map<string, Field>();
    for (const pair of node.items) {
      const keyNode = this.deref(pair.key as YamlNode | null);
      const key = keyNode !== null && isScalar(keyNode) ? String(keyNode.value) : undefined;
      if (key === undefined || (known !== null && !known.includes(key))) {
        const where = path === '' ? '' : `${path}.`;
        this.fail(
          `${where}${key ?? '?'}`,
          keyNode,
          `unknown field${key === undefined ? ' (keys must be plain names)' : ''}; the fields here are ${(known ?? []).join(', ')}`,
        );
      }
      const fieldPath = path === '' ? key : `${path}.${key}`;
      const value = (pair.value as YamlNode | null) ?? null;
      this.lines.set(fieldPath, this.line(value ?? keyNode) ?? 0);
      out.set(key, { path: fieldPath, node: value });
    }
    return out;
  }

  private list(f: Field): YamlNode[] {
    const node = this.deref(f.node);
    if (node === null || !isSeq(node)) this.fail(f.path, f.node, `must be a list, not ${this.describe(node)}`);
    return node.items.map((n) => n as YamlNode);
  }

  private scalar(f: Field): unknown {
    const node = this.deref(f.node);
    return node !== null && isScalar(node) ? node.value : undefined;
  }

  private required(fields: Map<string, Field>, parent: string, raw: YamlNode | null, key: string): Field {
    const f = fields.get(key);
    if (f === undefined) this.fail(`${parent}.${key}`, raw, 'is missing');
    return f;
  }

  private string(f: Field): string {
    const v = this.scalar(f);
    if (typeof v !== 'string') this.fail(f.path, f.node, `must be a string, not ${this.describe(this.deref(f.node))}`);
    return v;
  }

  private nonEmptyString(f: Field): string {
    const v = this.string(f);
    if (v === '') this.fail(f.path, f.node, 'must not be empty');
    return v;
  }

  private integer(f: Field, min: number, max: number): number {
    const v = this.scalar(f);
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
      this.fail(f.path, f.node, `must be a whole number, not ${this.describe(this.deref(f.node))}`);
    }
    if (v < min || v > max) this.fail(f.path, f.node, `${v} is out of range (${min} to ${max})`);
    return v;
  }

  /** A size: a byte count, or a number with K, M or G (binary units, optionally KiB/MiB/GiB). */
  private size(f: Field): bigint {
    const v = this.scalar(f);
    let n: bigint | undefined;
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) n = BigInt(v);
    else if (typeof v === 'string') {
      const m = /^\s*(\d+)\s*([KMG]?)(?:i?B)?\s*$/i.exec(v);
      if (m) n = BigInt(m[1]!) * { '': 1n, K: KiB, M: MiB, G: GiB }[m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G'];
    }
    if (n === undefined) {
      this.fail(f.path, f.node, `must be a size like 4K, 16M or 1G, not ${this.describe(this.deref(f.node))}`);
    }
    return n;
  }

  /** An address: a number (0x… in YAML is one) or a string holding one. */
  private address(f: Field): bigint {
    const v = this.scalar(f);
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
    if (typeof v === 'string' && /^\s*(0x[0-9a-f_]+|\d+)\s*$/i.test(v)) return BigInt(v.trim().replace(/_/g, ''));
    return this.fail(f.path, f.node, `must be an address like 0x90000000, not ${this.describe(this.deref(f.node))}`);
  }

  /** A VM name that must be one of `vms`, and not `not` (a VM linked to itself). */
  private vmRef(f: Field, vms: ReadonlyMap<string, number>, not?: string): string {
    const name = this.string(f);
    if (!vms.has(name)) {
      this.fail(f.path, f.node, `no VM is named "${name}" (the VMs are ${[...vms.keys()].join(', ')})`);
    }
    if (name === not) this.fail(f.path, f.node, `links ${name} to itself; a link is between two different VMs`);
    return name;
  }

  system(baseDir: string): SystemFile {
    const root = this.doc.contents as YamlNode | null;
    if (root === null || (isScalar(root) && root.value === null)) {
      throw new SystemFileError(`${this.file}: the file is empty; a system file has a vms: list (docs/system-yaml.md)`);
    }
    const top = this.map('', root, ['vms', 'links', 'shared-memory']);
    const vmsField = top.get('vms');
    if (vmsField === undefined) {
      this.fail('vms', root, 'the field vms is missing; a system file lists its VMs under vms:');
    }
    const vmNodes = this.list(vmsField);
    if (vmNodes.length === 0) this.fail('vms', vmsField.node, 'the list is empty; a system needs at least one VM');

    // VMs: their own fields.
    interface VmDraft {
      name: string;
      kernel: string;
      mem: bigint;
      cpus: number;
      bootargs?: string;
      initrd?: string;
      dtb?: string;
      vdevices: Record<string, VdeviceProps>;
      donations: { label: number; size: bigint }[];
    }
    const drafts: VmDraft[] = [];
    const index = new Map<string, number>();
    let pool = 0n;
    vmNodes.forEach((raw, i) => {
      const at = `vms[${i}]`;
      const f = this.map(at, raw, ['name', 'kernel', 'mem', 'cpus', 'bootargs', 'initrd', 'dtb']);
      const nameF = this.required(f, at, raw, 'name');
      const name = this.string(nameF);
      if (!NAME_RE.test(name) || name.length > MAX_NAME) {
        this.fail(
          nameF.path,
          nameF.node,
          `"${name}" is not a VM name: use 1 to ${MAX_NAME} lower-case letters, digits and dashes, not starting with a dash`,
        );
      }
      const dup = index.get(name);
      if (dup !== undefined) this.fail(nameF.path, nameF.node, `the name "${name}" is already vms[${dup}]'s`);
      index.set(name, i);
      const kernel = this.nonEmptyString(this.required(f, at, raw, 'kernel'));
      const memF = f.get('mem');
      const mem = memF === undefined ? DEFAULT_MEM : this.size(memF);
      if (memF !== undefined && (mem < MIN_MEM || mem % MEM_ALIGN !== 0n)) {
        this.fail(
          memF.path,
          memF.node,
          `${formatSize(mem)} is not a usable RAM size: it must be a multiple of 2 MiB and at least 4 MiB`,
        );
      }
      pool += mem;
      if (pool > HOST_POOL) {
        this.fail(
          memF?.path ?? at,
          memF?.node ?? raw,
          `${formatSize(mem)} more makes ${formatSize(pool)} of guest memory; the host VMM has ` +
            `${formatSize(HOST_POOL)} for all VMs' RAM and shared memory`,
        );
      }
      const cpusF = f.get('cpus');
      const cpus = cpusF === undefined ? 1 : this.integer(cpusF, 1, MAX_CPUS);
      const d: VmDraft = { name, kernel, mem, cpus, vdevices: {}, donations: [] };
      const bootargs = f.get('bootargs');
      if (bootargs !== undefined) d.bootargs = this.string(bootargs);
      const initrd = f.get('initrd');
      if (initrd !== undefined) d.initrd = this.nonEmptyString(initrd);
      const dtb = f.get('dtb');
      if (dtb !== undefined) d.dtb = this.nonEmptyString(dtb);
      drafts.push(d);
    });

    // Labels between each pair of VMs (links and shared memory alike): one device per label, so a
    // guest that looks a device up by its label finds exactly one.
    const pairLabels = new Map<string, string>();
    const claimLabel = (a: string, b: string, label: number, f: Field, owner: string): void => {
      const key = `${[a, b].sort().join('\u0000')}\u0000${label}`;
      const prev = pairLabels.get(key);
      if (prev !== undefined)
        this.fail(f.path, f.node, `label ${label} is already used between ${a} and ${b} (${prev})`);
      pairLabels.set(key, owner);
    };
    const vdev = (vm: string, kind: string, peer: string, label: number, props: VdeviceProps): void => {
      const node = `${kind}-${peer}-${label}`;
      drafts[index.get(vm)!]!.vdevices[node] = {
        ...props,
        peer: `vm-name:${peer}`,
        label,
        generate: `/hypervisor/${node}`,
      };
    };

    const links: SystemLink[] = [];
    const linksField = top.get('links');
    if (linksField !== undefined && this.scalar(linksField) !== null) {
      this.list(linksField).forEach((raw, i) => {
        const at = `links[${i}]`;
        // The type says which fields the link has.
        const typeOnly = this.map(at, raw, null);
        const typeF = this.required(typeOnly, at, raw, 'type');
        const type = this.string(typeF);
        if (type !== 'message-queue' && type !== 'doorbell') {
          this.fail(typeF.path, typeF.node, `"${type}" is not a link type; the types are message-queue and doorbell`);
        }
        const f = this.map(
          at,
          raw,
          type === 'message-queue' ? ['type', 'between', 'label'] : ['type', 'from', 'to', 'label'],
        );
        const labelF = this.required(f, at, raw, 'label');
        const label = this.integer(labelF, 0, MAX_LABEL);
        if (type === 'message-queue') {
          const betweenF = this.required(f, at, raw, 'between');
          const ends = this.list(betweenF);
          if (ends.length !== 2) {
            this.fail(betweenF.path, betweenF.node, `must name exactly two VMs, not ${ends.length}`);
          }
          const a = this.vmRef({ path: `${betweenF.path}[0]`, node: ends[0]! }, index);
          const b = this.vmRef({ path: `${betweenF.path}[1]`, node: ends[1]! }, index, a);
          claimLabel(a, b, label, labelF, at);
          vdev(a, 'mq', b, label, { 'vdevice-type': 'message-queue-pair' });
          vdev(b, 'mq', a, label, { 'vdevice-type': 'message-queue-pair' });
          links.push({ type, between: [a, b], label });
        } else {
          const from = this.vmRef(this.required(f, at, raw, 'from'), index);
          const to = this.vmRef(this.required(f, at, raw, 'to'), index, from);
          claimLabel(from, to, label, labelF, at);
          vdev(from, 'bell', to, label, { 'vdevice-type': 'doorbell-source' });
          vdev(to, 'bell', from, label, { 'vdevice-type': 'doorbell' });
          links.push({ type, from, to, label });
        }
      });
    }

    const shared: SharedMemory[] = [];
    const shmField = top.get('shared-memory');
    if (shmField !== undefined && this.scalar(shmField) !== null) {
      /** Each owner's regions so far, for overlaps, default bases and labels. */
      const regions = new Map<string, { base: bigint; end: bigint; label: number; at: string }[]>();
      this.list(shmField).forEach((raw, i) => {
        const at = `shared-memory[${i}]`;
        const f = this.map(at, raw, ['owner', 'with', 'size', 'label', 'base']);
        const owner = this.vmRef(this.required(f, at, raw, 'owner'), index);
        const other = this.vmRef(this.required(f, at, raw, 'with'), index, owner);
        const sizeF = this.required(f, at, raw, 'size');
        const size = this.size(sizeF);
        if (size === 0n || size % PAGE !== 0n) {
          this.fail(sizeF.path, sizeF.node, `${formatSize(size)} is not a whole number of 4 KiB pages`);
        }
        const labelF = this.required(f, at, raw, 'label');
        const label = this.integer(labelF, 0, MAX_LABEL);
        claimLabel(owner, other, label, labelF, at);
        const mine = regions.get(owner) ?? [];
        regions.set(owner, mine);
        // The RM accepts a donation for the owner at the base of its shm vdevice with the parcel's
        // label, so one owner's labels must differ even with different partners.
        const same = mine.find((r) => r.label === label);
        if (same !== undefined) {
          this.fail(labelF.path, labelF.node, `${owner} already owns shared memory with label ${label} (${same.at})`);
        }
        const vm = drafts[index.get(owner)!]!;
        const ramEnd = GUEST_RAM_BASE + vm.mem;
        const baseF = f.get('base');
        let base: bigint;
        if (baseF === undefined) {
          const after = mine.reduce((e, r) => (r.end > e ? r.end : e), 0n);
          base = after > 0n ? after : ((ramEnd + SHM_DEFAULT_ALIGN - 1n) / SHM_DEFAULT_ALIGN) * SHM_DEFAULT_ALIGN;
        } else {
          base = this.address(baseF);
          const bad = (why: string): never => this.fail(baseF.path, baseF.node, `${hex(base)} ${why}`);
          if (base % PAGE !== 0n) bad('is not 4 KiB aligned');
          if (base < DEVICE_GIB_END) bad(`is in the first GiB, where the VM's devices are`);
          if (base < ramEnd && base + size > GUEST_RAM_BASE) {
            bad(`overlaps ${owner}'s RAM (${hex(GUEST_RAM_BASE)}–${hex(ramEnd)})`);
          }
        }
        const where = baseF ?? sizeF;
        if (base + size > IPA_LIMIT) {
          this.fail(
            where.path,
            where.node,
            `the region ends at ${hex(base + size)}, beyond the 64 GiB guest address space`,
          );
        }
        const hit = mine.find((r) => base < r.end && r.base < base + size);
        if (hit !== undefined) {
          this.fail(
            where.path,
            where.node,
            `${hex(base)}–${hex(base + size)} overlaps ${hit.at} in ${owner}'s address space`,
          );
        }
        mine.push({ base, end: base + size, label, at });
        pool += size;
        if (pool > HOST_POOL) {
          this.fail(
            sizeF.path,
            sizeF.node,
            `${formatSize(size)} more makes ${formatSize(pool)} of guest memory; the host VMM has ` +
              `${formatSize(HOST_POOL)} for all VMs' RAM and shared memory`,
          );
        }
        // optional: once the owner has accepted the donation it is its own, so no parcel names the
        // vdevice at VM_START (as in src/vmm/demo.ts); the partner's end never has memory of its own.
        vdev(owner, 'shm', other, label, { 'vdevice-type': 'shm', base, optional: true });
        vdev(other, 'shm', owner, label, { 'vdevice-type': 'shm', optional: true });
        vm.donations.push({ label, size });
        shared.push({ owner, with: other, size, label, base });
      });
    }

    const resolve = (p: string): string => path.resolve(baseDir, p);
    const vms: SystemVm[] = drafts.map((d) => ({
      ...d,
      kernelPath: resolve(d.kernel),
      ...(d.initrd !== undefined ? { initrdPath: resolve(d.initrd) } : {}),
      ...(d.dtb !== undefined ? { dtbPath: resolve(d.dtb) } : {}),
    }));
    const lines = this.lines;
    return { file: this.file, vms, links, sharedMemory: shared, lineOf: (field) => lines.get(field) || undefined };
  }
}

/**
 * The host VMM's guests for a checked system file: each VM's kernel, initrd and device tree read
 * and placed (src/vmm/loader/kernel.ts), its console going to `consoleFor(name)`. A file that cannot
 * be read or booted is a SystemFileError naming the field and the VM.
 */
export function systemGuests(sys: SystemFile, consoleFor: (name: string) => (byte: number) => void): GuestSpec[] {
  return sys.vms.map((vm, i) => {
    const fail = (field: string, problem: string): never => {
      const path = `vms[${i}].${field}`;
      const line = sys.lineOf(path);
      throw new SystemFileError(`${sys.file}${line === undefined ? '' : `:${line}`}: ${path}: ${problem}`);
    };
    const read = (field: string, shown: string, resolved: string): Uint8Array => {
      try {
        return readFileSync(resolved);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') return fail(field, `no such file: ${shown} (looked for ${resolved})`);
        return fail(field, `cannot read ${shown}: ${code ?? String(e)}`);
      }
    };
    const loadErr = (field: string, e: unknown): never => {
      if (e instanceof LoadError) return fail(field, `VM "${vm.name}" cannot boot: ${e.message}`);
      throw e;
    };
    const ram = { base: GUEST_RAM_BASE, size: vm.mem };
    const bytes = read('kernel', vm.kernel, vm.kernelPath);
    let kernel;
    try {
      kernel = loadKernel(bytes, ram, vm.kernel);
    } catch (e) {
      return loadErr('kernel', e);
    }
    let initrd: { ipa: bigint; data: Uint8Array } | undefined;
    const initrdData = vm.initrd !== undefined ? read('initrd', vm.initrd, vm.initrdPath!) : undefined;
    try {
      // Also checks, with no initrd, that the kernel leaves the last 2 MiB block for the DT.
      const at = placeInitrd(initrdData?.length ?? 0, ram, kernel, Number(DTB_WINDOW));
      if (initrdData !== undefined) initrd = { ipa: at.initrd, data: initrdData };
    } catch (e) {
      loadErr(initrdData !== undefined ? 'initrd' : 'mem', e);
    }
    let dt: Fdt | undefined;
    if (vm.dtb !== undefined) {
      try {
        dt = validateDtb(read('dtb', vm.dtb, vm.dtbPath!), vm.dtb);
      } catch (e) {
        loadErr('dtb', e);
      }
      if (vm.bootargs !== undefined) dt!.ensureNode('/chosen').setString('bootargs', vm.bootargs);
    }
    return {
      name: vm.name,
      ramSize: vm.mem,
      cpus: vm.cpus,
      segments: kernel.segments,
      entry: kernel.entry,
      ...(vm.bootargs !== undefined ? { bootargs: vm.bootargs } : {}),
      ...(initrd !== undefined ? { initrd } : {}),
      ...(dt !== undefined ? { dt } : {}),
      vdevices: vm.vdevices,
      donations: vm.donations,
      onConsole: consoleFor(vm.name),
    };
  });
}
