// Guest kernel loaders for the host VMM: turn a kernel file into what to place in a guest's RAM and
// where to enter it, and choose where the device tree and initrd go. Three kinds of file, tried in
// this order:
//
// - ELF: segments at their physical addresses (p_paddr), entered at e_entry. This is how QEMU's
//   -kernel loads an ELF, and how the project's own guests (guests/bin/*.elf) are linked.
// - arm64 Linux Image: the 64-byte header of the kernel's arm64 boot protocol
//   (Documentation/arch/arm64/booting.rst, "Call the kernel image"). Placed text_offset bytes above
//   a 2 MiB aligned base, and entered at its first byte.
// - Raw binary (anything else): placed at RAM base + 0x80000 and entered there, as QEMU's -kernel
//   does for a file that is neither ELF nor Image (its "Linux boot protocol" path).
//
// Boot data layout (our choice, written down here and tested in test/vmm/kernel.test.ts):
//
//   RAM base ─┬─ kernel (Image/raw at base + offset; ELF where it is linked)
//             │  … free …
//             ├─ initrd: page (4 KiB) aligned, as high as it goes, ending at or below the DTB window
//             ├─ DTB window: the highest 2 MiB aligned 2 MiB block of RAM; the DTB at its start
//   RAM end ──┘
//
// The DTB gets a whole 2 MiB block because booting.rst caps a DTB at 2 MiB and has the kernel map
// it with blocks of up to 2 MiB: a fixed window means the address never depends on the tree's size,
// the VMM may grow the tree up to the limit without moving anything, and the DTB never straddles a
// 2 MiB block. The initrd goes as high as it can so that the kernel, which places itself near the
// start of RAM, has the most room to grow after its image. booting.rst also requires the initrd to
// lie in a 1 GiB aligned window of at most 32 GiB that covers the kernel Image: when "just below the
// DTB" would break that (more than ~32 GiB of guest RAM), the initrd goes right after the kernel.

import { FdtError, readFdt, type Fdt } from '../../machine/fdt/index.js';
import { LoadError, isElf, parseElf, type ElfImage } from './elf.js';

/** The guest IPA range of RAM. */
export interface GuestRam {
  base: bigint;
  size: bigint;
}

/** Where a kernel lies in guest RAM: the first byte and the end (exclusive). */
export interface KernelExtent {
  start: bigint;
  end: bigint;
}

export interface KernelLayout extends KernelExtent {
  kind: 'elf' | 'image' | 'raw';
  /** Guest IPA of the first instruction. */
  entry: bigint;
  /** What to place in guest RAM: `data` at `ipa`, then zeros up to `memsz` bytes. */
  segments: { ipa: bigint; data: Uint8Array; memsz: bigint }[];
  /** The Image header, for kind 'image'. */
  image?: ImageHeader;
}

/** The arm64 Image header (booting.rst), as this loader interprets it. */
export interface ImageHeader {
  /** Offset of the image from a 2 MiB aligned base (0x80000 for a kernel older than v3.17). */
  textOffset: bigint;
  /** Bytes from the image start the kernel uses, bss included; 0 in a kernel older than v3.17. */
  imageSize: bigint;
  /** The raw flags field (0 in a kernel older than v3.17). */
  flags: bigint;
  /** Flags bit 0. */
  bigEndian: boolean;
  /** Flags bits 1-2: the kernel's page size in bytes, or null when unspecified. */
  pageSize: 4096 | 16384 | 65536 | null;
  /** Flags bit 3: the 2 MiB aligned base may be anywhere in RAM (else as close to its start as possible). */
  anywhere: boolean;
}

const KiB = 1024n;
const MiB = 1024n * KiB;
const GiB = 1024n * MiB;

/** "ARM\x64", little endian, at byte 0x38 of an Image. */
export const IMAGE_MAGIC = 0x644d5241;
export const IMAGE_HEADER_SIZE = 64;
/** text_offset to assume when image_size is 0 (booting.rst: kernels before v3.17). */
export const LEGACY_TEXT_OFFSET = 0x80000n;
/** An Image is placed text_offset above a base of this alignment. */
export const IMAGE_BASE_ALIGN = 2n * MiB;
/** Where a raw binary goes, above the RAM base (QEMU's offset for a raw 64-bit kernel). */
export const RAW_LOAD_OFFSET = 0x80000n;
/** booting.rst: a DTB is at most 2 MiB and 8-byte aligned. */
export const DTB_MAX_SIZE = 2n * MiB;
export const DTB_ALIGN = 8n;
/** The whole block the DTB window takes (see the layout above). */
export const DTB_WINDOW = 2n * MiB;
export const INITRD_ALIGN = 4n * KiB;
/** booting.rst: the initrd and the kernel Image lie in one 1 GiB aligned window of at most 32 GiB. */
const INITRD_WINDOW_ALIGN = 1n * GiB;
const INITRD_WINDOW_SIZE = 32n * GiB;

const PAGE_SIZES = [null, 4096, 16384, 65536] as const;

const hex = (n: bigint): string => `0x${n.toString(16)}`;
const range = (from: bigint, to: bigint): string => `${hex(from)}–${hex(to)}`;
const alignUp = (n: bigint, a: bigint): bigint => ((n + a - 1n) / a) * a;
const alignDown = (n: bigint, a: bigint): bigint => (n / a) * a;

/** A size for people: "123 bytes", "2 MiB", or "1572865 bytes (1.5 MiB)" when a unit would round it. */
export function formatSize(n: bigint | number): string {
  const b = BigInt(n);
  const units: [bigint, string][] = [
    [GiB, 'GiB'],
    [MiB, 'MiB'],
    [KiB, 'KiB'],
  ];
  for (const [u, name] of units) {
    if (b >= u) {
      const whole = b % u === 0n;
      const v = whole ? (b / u).toString() : (Number(b) / Number(u)).toFixed(1);
      return whole ? `${v} ${name}` : `${b} bytes (${v} ${name})`;
    }
  }
  return `${b} bytes`;
}

function ramText(ram: GuestRam): string {
  return `guest RAM ${range(ram.base, ram.base + ram.size)} (${formatSize(ram.size)})`;
}

/** True when the bytes start with an arm64 Image header (the magic at 0x38). */
export function isImage(bytes: Uint8Array): boolean {
  if (bytes.length < IMAGE_HEADER_SIZE) return false;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return dv.getUint32(0x38, true) === IMAGE_MAGIC;
}

/** Read the Image header (booting.rst). Throws LoadError when the bytes are not an Image. */
export function parseImageHeader(bytes: Uint8Array): ImageHeader {
  if (!isImage(bytes)) throw new LoadError('not an arm64 Image (no "ARM\\x64" magic at byte 0x38)');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const imageSize = dv.getBigUint64(16, true);
  if (imageSize === 0n) {
    // Before v3.17 text_offset was in the kernel's endianness and the flags field did not exist;
    // booting.rst says to assume 0x80000.
    return { textOffset: LEGACY_TEXT_OFFSET, imageSize, flags: 0n, bigEndian: false, pageSize: null, anywhere: false };
  }
  const flags = dv.getBigUint64(24, true);
  return {
    textOffset: dv.getBigUint64(8, true),
    imageSize,
    flags,
    bigEndian: (flags & 1n) !== 0n,
    pageSize: PAGE_SIZES[Number((flags >> 1n) & 3n)] ?? null,
    anywhere: (flags & 8n) !== 0n,
  };
}

/**
 * Work out where a kernel file goes in guest RAM and where to enter it. `name` (the file's name)
 * starts every LoadError message. Nothing is copied: the segments' data are views of `bytes`.
 */
export function loadKernel(bytes: Uint8Array, ram: GuestRam, name: string): KernelLayout {
  const fail = (msg: string): never => {
    throw new LoadError(`${name}: ${msg}`);
  };
  if (bytes.length === 0) fail('the file is empty');
  if (ram.size <= 0n) fail(`guest RAM at ${hex(ram.base)} has no bytes`);
  if (isElf(bytes)) return loadElf(bytes, ram, fail);
  if (isImage(bytes)) return loadImage(bytes, ram, fail);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    // A Debian vmlinuz may be gzip-compressed; loaded raw it would crash at its first byte.
    fail('the file is gzip-compressed; decompress it (gunzip) to an arm64 Image first');
  }
  return loadRaw(bytes, ram, fail);
}

type Fail = (msg: string) => never;

function loadElf(bytes: Uint8Array, ram: GuestRam, fail: Fail): KernelLayout {
  let elf: ElfImage;
  try {
    elf = parseElf(bytes);
  } catch (e) {
    if (e instanceof LoadError) return fail(e.message);
    throw e;
  }
  const ramEnd = ram.base + ram.size;
  const segments = elf.segments.map((s) => ({ ipa: BigInt(s.paddr), data: s.data, memsz: BigInt(s.memsz) }));
  for (const s of segments) {
    if (s.ipa < ram.base || s.ipa + s.memsz > ramEnd) {
      fail(`segment ${range(s.ipa, s.ipa + s.memsz)} is outside ${ramText(ram)}`);
    }
  }
  const sorted = [...segments].sort((a, b) => (a.ipa < b.ipa ? -1 : a.ipa > b.ipa ? 1 : 0));
  for (let k = 1; k < sorted.length; k++) {
    const a = sorted[k - 1]!;
    const b = sorted[k]!;
    if (a.ipa + a.memsz > b.ipa) {
      fail(`segments ${range(a.ipa, a.ipa + a.memsz)} and ${range(b.ipa, b.ipa + b.memsz)} overlap`);
    }
  }
  // e_entry is normally a physical address here (vaddr = paddr); when it is not inside a segment's
  // physical range, read it as a virtual address of a segment and translate it.
  const e = BigInt(elf.entry);
  let entry = segments.some((s) => e >= s.ipa && e < s.ipa + s.memsz) ? e : undefined;
  if (entry === undefined) {
    const v = elf.segments.find((s) => s.vaddr !== undefined && e >= s.vaddr && e < s.vaddr + s.memsz);
    if (v?.vaddr !== undefined) entry = BigInt(v.paddr) + (e - BigInt(v.vaddr));
  }
  if (entry === undefined) {
    return fail(
      `the entry point ${hex(e)} is not inside any loaded segment (${segments.map((s) => range(s.ipa, s.ipa + s.memsz)).join(', ')})`,
    );
  }
  return {
    kind: 'elf',
    entry,
    segments,
    start: sorted[0]!.ipa,
    end: sorted.reduce((m, s) => (s.ipa + s.memsz > m ? s.ipa + s.memsz : m), 0n),
  };
}

function loadImage(bytes: Uint8Array, ram: GuestRam, fail: Fail): KernelLayout {
  const h = parseImageHeader(bytes);
  if (h.bigEndian) fail('big-endian arm64 Image (header flags bit 0 set); only little-endian kernels run here');
  // Flags bit 3 only allows the base anywhere; the lowest 2 MiB aligned base in RAM suits both settings.
  const base = alignUp(ram.base, IMAGE_BASE_ALIGN);
  const load = base + h.textOffset;
  const fileSize = BigInt(bytes.length);
  const memsz = h.imageSize > fileSize ? h.imageSize : fileSize;
  const ramEnd = ram.base + ram.size;
  if (load + memsz > ramEnd) {
    fail(
      `the arm64 Image needs ${formatSize(memsz)} at ${hex(load)}, which does not fit in ${ramText(ram)} ` +
        `(text_offset ${hex(h.textOffset)}, image_size ${h.imageSize} bytes, file ${fileSize} bytes)`,
    );
  }
  return {
    kind: 'image',
    entry: load,
    segments: [{ ipa: load, data: bytes, memsz }],
    start: load,
    end: load + memsz,
    image: h,
  };
}

function loadRaw(bytes: Uint8Array, ram: GuestRam, fail: Fail): KernelLayout {
  const load = ram.base + RAW_LOAD_OFFSET;
  const size = BigInt(bytes.length);
  if (load + size > ram.base + ram.size) {
    fail(
      `not an ELF or an arm64 Image, and as a raw binary of ${formatSize(size)} at ${hex(load)} ` +
        `it does not fit in ${ramText(ram)}`,
    );
  }
  return {
    kind: 'raw',
    entry: load,
    segments: [{ ipa: load, data: bytes, memsz: size }],
    start: load,
    end: load + size,
  };
}

/**
 * Where the DTB and the initrd go (the layout at the top of this file). `initrdSize` 0 means no
 * initrd (its address is then where one would have gone, and means nothing). Throws LoadError
 * when they do not fit with the kernel.
 */
export function placeInitrd(
  initrdSize: number,
  ram: GuestRam,
  kernel: KernelExtent,
  dtbSize: number,
): { initrd: bigint; dtb: bigint } {
  const dtbBytes = BigInt(dtbSize);
  const initrdBytes = BigInt(initrdSize);
  if (dtbBytes <= 0n) throw new LoadError('the device tree is empty');
  if (dtbBytes > DTB_MAX_SIZE) {
    throw new LoadError(`the device tree is ${formatSize(dtbBytes)}; the arm64 boot protocol allows at most 2 MiB`);
  }
  if (initrdBytes < 0n) throw new LoadError(`bad initrd size ${initrdSize}`);
  const ramEnd = ram.base + ram.size;
  const dtb = alignDown(ramEnd - DTB_WINDOW, DTB_WINDOW);
  if (dtb < ram.base || dtb < kernel.end) {
    throw new LoadError(
      `no room for the device tree: it takes the last 2 MiB block of ${ramText(ram)}, at ${hex(dtb)}, ` +
        `but the kernel occupies ${range(kernel.start, kernel.end)}`,
    );
  }
  const low = alignUp(kernel.end, INITRD_ALIGN);
  if (initrdBytes === 0n) return { initrd: dtb, dtb };
  const windowEnd = alignDown(kernel.start, INITRD_WINDOW_ALIGN) + INITRD_WINDOW_SIZE;
  const high = alignDown(dtb - initrdBytes, INITRD_ALIGN);
  if (dtb - initrdBytes < low) {
    throw new LoadError(
      `the initrd of ${formatSize(initrdBytes)} does not fit in ${ramText(ram)}: between the kernel's end at ` +
        `${hex(kernel.end)} and the device tree at ${hex(dtb)} there are ${formatSize(dtb - low)}`,
    );
  }
  if (high + initrdBytes <= windowEnd) return { initrd: high, dtb };
  if (low + initrdBytes <= windowEnd) return { initrd: low, dtb };
  throw new LoadError(
    `the initrd of ${formatSize(initrdBytes)} does not fit with the kernel at ${hex(kernel.start)} in one 1 GiB ` +
      `aligned 32 GiB window, as the arm64 boot protocol requires`,
  );
}

/**
 * Check a user-supplied DTB file and read it (Devicetree Specification ch. 5 via readFdt, and the
 * arm64 boot protocol's 2 MiB limit). Throws LoadError naming the file.
 */
export function validateDtb(bytes: Uint8Array, name: string): Fdt {
  if (bytes.length === 0) throw new LoadError(`${name}: the device-tree file is empty`);
  let fdt: Fdt;
  try {
    fdt = readFdt(bytes);
  } catch (e) {
    if (e instanceof FdtError) throw new LoadError(`${name}: not a usable device tree blob: ${e.message}`);
    throw e;
  }
  const total = BigInt(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4));
  if (total > DTB_MAX_SIZE) {
    throw new LoadError(
      `${name}: the device tree is ${formatSize(total)}; the arm64 boot protocol allows at most 2 MiB`,
    );
  }
  return fdt;
}
