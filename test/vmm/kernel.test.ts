// The host VMM's kernel loaders (src/vmm/loader/kernel.ts). The Image cases are built here from the
// header layout of the arm64 boot protocol (Linux Documentation/arch/arm64/booting.rst, "Call the
// kernel image"), and the expected addresses are worked out from that document, not from the code:
//
//   0x00 u32 code0, 0x04 u32 code1, 0x08 u64 text_offset, 0x10 u64 image_size, 0x18 u64 flags,
//   0x20..0x37 reserved, 0x38 u32 magic 0x644d5241 ("ARM\x64"), 0x3c u32 res5 (PE header offset).
//   flags: bit 0 = 1 big-endian; bits 1-2 page size (0 unspecified, 1 4K, 2 16K, 3 64K);
//   bit 3 = 1 the 2 MiB aligned base may be anywhere in RAM.
//
// The ELF cases use the project's guests (guests/link.ld links them at 0x40080000, the secondary-VM
// build at 0x80000000). A real Debian arm64 kernel is parsed when one has been unpacked (see
// LINUX_HINT); without it that test fails under CI and is skipped loudly elsewhere (oracleMissing).

import { test } from 'node:test';
import { LINUX_HINT, findLinux } from '../helpers/linux.js';
import { oracleMissing } from '../helpers/oracle.js';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Fdt, writeFdt } from '../../src/machine/fdt/index.js';
import { LoadError } from '../../src/vmm/loader/elf.js';
import {
  loadKernel,
  parseImageHeader,
  placeInitrd,
  validateDtb,
  type GuestRam,
  type KernelLayout,
} from '../../src/vmm/loader/kernel.js';

const KiB = 1024n;
const MiB = 1024n * KiB;
const GiB = 1024n * MiB;

/** The repository root, from dist/test/vmm or test/vmm. */
function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'guests'))) return dir;
    dir = path.dirname(dir);
  }
  return process.cwd();
}
const ROOT = repoRoot();

/** The usual guest RAM of a VM the host VMM creates: 256 MiB at 0x8000_0000. */
const RAM: GuestRam = { base: 0x8000_0000n, size: 256n * MiB };

// ---- builders ----

interface ImageFields {
  textOffset: bigint;
  imageSize: bigint;
  flags: bigint;
  /** Total file length (≥ 64). */
  length: number;
  magic?: number;
}

/** An arm64 Image laid out as booting.rst documents the header. */
function makeImage(f: ImageFields): Uint8Array {
  const b = new Uint8Array(f.length);
  const dv = new DataView(b.buffer);
  dv.setUint32(0x00, 0x1400_0010, true); // code0: b +0x40 (any code will do)
  dv.setUint32(0x04, 0, true); // code1
  dv.setBigUint64(0x08, f.textOffset, true);
  dv.setBigUint64(0x10, f.imageSize, true);
  dv.setBigUint64(0x18, f.flags, true);
  dv.setUint32(0x38, f.magic ?? 0x644d5241, true);
  for (let i = 64; i < b.length; i++) b[i] = i & 0xff;
  return b;
}

interface ElfSeg {
  vaddr: bigint;
  paddr: bigint;
  data: Uint8Array;
  memsz: bigint;
}

/** A minimal ELF64 AArch64 executable (ELF header, program headers, then the segments' bytes). */
function makeElf(entry: bigint, segs: ElfSeg[]): Uint8Array {
  const phoff = 64;
  let off = phoff + 56 * segs.length;
  const offsets = segs.map((s) => {
    const o = off;
    off += s.data.length;
    return o;
  });
  const b = new Uint8Array(off);
  const dv = new DataView(b.buffer);
  b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]); // \x7fELF, ELFCLASS64, ELFDATA2LSB, EV_CURRENT
  dv.setUint16(16, 2, true); // ET_EXEC
  dv.setUint16(18, 183, true); // EM_AARCH64
  dv.setUint32(20, 1, true);
  dv.setBigUint64(24, entry, true);
  dv.setBigUint64(32, BigInt(phoff), true);
  dv.setUint16(52, 64, true);
  dv.setUint16(54, 56, true);
  dv.setUint16(56, segs.length, true);
  segs.forEach((s, k) => {
    const o = phoff + 56 * k;
    dv.setUint32(o, 1, true); // PT_LOAD
    dv.setUint32(o + 4, 5, true); // R X
    dv.setBigUint64(o + 8, BigInt(offsets[k]!), true);
    dv.setBigUint64(o + 16, s.vaddr, true);
    dv.setBigUint64(o + 24, s.paddr, true);
    dv.setBigUint64(o + 32, BigInt(s.data.length), true);
    dv.setBigUint64(o + 40, s.memsz, true);
    b.set(s.data, offsets[k]!);
  });
  return b;
}

/** Run `fn`, expecting a LoadError whose message matches every pattern. */
function refuses(fn: () => unknown, ...patterns: RegExp[]): string {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof LoadError, `expected a LoadError, got ${String(err)}`);
  assert.ok(!err.message.includes('\n'), `one-line message: ${err.message}`);
  for (const p of patterns) assert.match(err.message, p);
  return err.message;
}

const guest = (name: string): Uint8Array => readFileSync(path.join(ROOT, 'guests', 'bin', name));

// ---- arm64 Image ----

test('booting.rst header: magic "ARM\\x64" at 0x38 makes an Image; it loads at the 2 MiB aligned RAM base + text_offset and is entered at its first byte', () => {
  const img = makeImage({ textOffset: 0x80000n, imageSize: 0x20_0000n, flags: 0b1010n, length: 0x1000 });
  const k = loadKernel(img, RAM, 'Image');
  assert.equal(k.kind, 'image');
  assert.equal(k.entry, 0x8008_0000n);
  assert.equal(k.segments.length, 1);
  assert.equal(k.segments[0]!.ipa, 0x8008_0000n);
  assert.equal(k.segments[0]!.data, img);
  // image_size (2 MiB, bss included) is bigger than the 4 KiB file: the kernel occupies image_size.
  assert.equal(k.segments[0]!.memsz, 0x20_0000n);
  assert.equal(k.start, 0x8008_0000n);
  assert.equal(k.end, 0x8028_0000n);
});

test('booting.rst header: text_offset 0 (current kernels) loads at the RAM base itself', () => {
  const k = loadKernel(makeImage({ textOffset: 0n, imageSize: 0x1_0000n, flags: 2n, length: 0x800 }), RAM, 'Image');
  assert.equal(k.entry, 0x8000_0000n);
  assert.equal(k.end, 0x8001_0000n);
});

test('booting.rst: the base is 2 MiB aligned, so RAM starting off a 2 MiB boundary loads at the next one', () => {
  const ram = { base: 0x8010_0000n, size: 64n * MiB };
  const k = loadKernel(makeImage({ textOffset: 0x1000n, imageSize: 0x4000n, flags: 2n, length: 0x100 }), ram, 'Image');
  assert.equal(k.entry, 0x8020_1000n);
});

test('booting.rst: memsz is image_size, or the file size when the file is longer', () => {
  const k = loadKernel(makeImage({ textOffset: 0n, imageSize: 0x100n, flags: 2n, length: 0x3000 }), RAM, 'Image');
  assert.equal(k.segments[0]!.memsz, 0x3000n);
  assert.equal(k.end, 0x8000_3000n);
});

test('booting.rst: image_size 0 is a kernel before v3.17: text_offset is taken as 0x80000 and the size as the file size', () => {
  // The header's text_offset (here in big-endian order, as such a kernel may hold it) is ignored.
  const img = makeImage({ textOffset: 0x0000_0800_0000_0000n, imageSize: 0n, flags: 0n, length: 0x2345 });
  const k = loadKernel(img, RAM, 'old-Image');
  assert.equal(k.kind, 'image');
  assert.equal(k.entry, 0x8008_0000n);
  assert.equal(k.segments[0]!.memsz, 0x2345n);
  assert.equal(k.end, 0x8008_0000n + 0x2345n);
});

test('booting.rst flags: bits 1-2 give the page size, bit 3 the placement', () => {
  const h = (flags: bigint): ReturnType<typeof parseImageHeader> =>
    parseImageHeader(makeImage({ textOffset: 0n, imageSize: 0x1000n, flags, length: 64 }));
  assert.equal(h(0n).pageSize, null);
  assert.equal(h(0b010n).pageSize, 4096);
  assert.equal(h(0b100n).pageSize, 16384);
  assert.equal(h(0b110n).pageSize, 65536);
  assert.equal(h(0b0010n).anywhere, false);
  assert.equal(h(0b1010n).anywhere, true);
  assert.equal(h(0b1010n).bigEndian, false);
  assert.equal(h(0b1011n).bigEndian, true);
});

test('booting.rst flags bit 0: a big-endian Image is refused, naming the file', () => {
  const img = makeImage({ textOffset: 0n, imageSize: 0x1000n, flags: 0b0011n, length: 0x100 });
  refuses(() => loadKernel(img, RAM, 'be-Image'), /^be-Image: /, /big-endian/);
});

test('booting.rst: an Image whose image_size does not fit in guest RAM is refused with both sizes', () => {
  const img = makeImage({ textOffset: 0n, imageSize: 300n * MiB, flags: 2n, length: 0x100 });
  refuses(
    () => loadKernel(img, RAM, 'big-Image'),
    /^big-Image: /,
    /needs 300 MiB at 0x80000000/,
    /image_size 314572800 bytes/,
    /0x80000000–0x90000000/,
    /256 MiB/,
  );
  // text_offset counts too: exactly filling RAM fits, one byte more does not.
  const exact = makeImage({ textOffset: 0x80000n, imageSize: 256n * MiB - 0x80000n, flags: 2n, length: 0x100 });
  assert.equal(loadKernel(exact, RAM, 'x').end, 0x9000_0000n);
  const over = makeImage({ textOffset: 0x80000n, imageSize: 256n * MiB - 0x80000n + 1n, flags: 2n, length: 0x100 });
  refuses(() => loadKernel(over, RAM, 'over'), /^over: /);
});

test('booting.rst: without the magic at 0x38 the file is not an Image (it loads raw)', () => {
  const img = makeImage({ textOffset: 0n, imageSize: 0x1000n, flags: 2n, length: 0x100, magic: 0x644d5242 });
  assert.equal(loadKernel(img, RAM, 'x').kind, 'raw');
  refuses(() => parseImageHeader(img), /ARM\\x64/);
});

// ---- raw binaries ----

test('QEMU -kernel semantics: a file that is neither ELF nor Image loads at RAM base + 0x80000 and is entered there', () => {
  const bin = new Uint8Array([0x1f, 0x20, 0x03, 0xd5, 0x00, 0x00, 0x00, 0x14]); // nop; b .
  const k = loadKernel(bin, RAM, 'hello.bin');
  assert.equal(k.kind, 'raw');
  assert.equal(k.entry, 0x8008_0000n);
  assert.deepEqual(
    k.segments.map((s) => [s.ipa, s.memsz]),
    [[0x8008_0000n, 8n]],
  );
  assert.equal(k.end, 0x8008_0008n);
  const low = loadKernel(bin, { base: 0x4000_0000n, size: 128n * MiB }, 'hello.bin');
  assert.equal(low.entry, 0x4008_0000n); // the address the platform notes report for QEMU
});

test('raw binary: one that does not fit above RAM base + 0x80000 is refused with its size and the RAM range', () => {
  const ram = { base: 0x8000_0000n, size: 1n * MiB };
  assert.equal(loadKernel(new Uint8Array(0x80000), ram, 'fits.bin').end, 0x8010_0000n);
  refuses(() => loadKernel(new Uint8Array(0x80001), ram, 'guest.img'), /^guest\.img: /, /not an ELF/, /1 MiB/);
});

test('an empty kernel file is refused, naming it', () => {
  refuses(() => loadKernel(new Uint8Array(0), RAM, 'empty.bin'), /^empty\.bin: the file is empty$/);
});

test('a gzip-compressed kernel (a compressed vmlinuz) is refused rather than entered as code', () => {
  refuses(() => loadKernel(new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0]), RAM, 'vmlinuz'), /^vmlinuz: /, /gzip/);
});

// ---- ELF ----

const AT_0x40080000 = [
  'hello.elf',
  'exceptions.elf',
  'fp.elf',
  'irq.elf',
  'mmu.elf',
  'timer.elf',
  'hyp-calls.elf',
  'hyp-mq.elf',
  'bench-small.elf',
];

test('ELF: the guests linked at 0x40080000 (guests/link.ld) are refused with RAM at 0x8000_0000, naming the segment and the RAM range', () => {
  for (const name of AT_0x40080000) {
    refuses(
      () => loadKernel(guest(name), RAM, name),
      new RegExp(`^${name.replace('.', '\\.')}: `),
      /segment 0x40080000–0x4008/,
      /guest RAM 0x80000000–0x90000000/,
    );
  }
});

test('ELF: with RAM at 0x4000_0000 the same guests load at their physical addresses and enter at 0x40080000', () => {
  const ram = { base: 0x4000_0000n, size: 256n * MiB };
  for (const name of AT_0x40080000) {
    const k: KernelLayout = loadKernel(guest(name), ram, name);
    assert.equal(k.kind, 'elf');
    assert.equal(k.entry, 0x4008_0000n, name);
    assert.equal(k.start, 0x4008_0000n, name);
    for (const s of k.segments) {
      assert.ok(s.ipa >= ram.base && s.ipa + s.memsz <= k.end, name);
      assert.ok(BigInt(s.data.length) <= s.memsz, name);
    }
  }
});

test('ELF: a secondary-VM guest (linked at 0x8000_0000, guests/Makefile) loads into RAM at 0x8000_0000', () => {
  const k = loadKernel(guest('fdt-check.elf'), RAM, 'fdt-check.elf');
  assert.equal(k.kind, 'elf');
  assert.equal(k.entry, 0x8000_0000n);
  assert.equal(k.start, 0x8000_0000n);
});

test('ELF: an ELF for another machine is refused, naming the file', () => {
  refuses(() => loadKernel(guest('not-arm64.elf'), RAM, 'not-arm64.elf'), /^not-arm64\.elf: /, /not AArch64/);
});

test('ELF: a segment straddling the end of RAM is refused; the end is exclusive', () => {
  const code = new Uint8Array(16);
  const edge = makeElf(0x8fff_fff0n, [{ vaddr: 0x8fff_fff0n, paddr: 0x8fff_fff0n, data: code, memsz: 16n }]);
  assert.equal(loadKernel(edge, RAM, 'edge.elf').end, 0x9000_0000n);
  const past = makeElf(0x8fff_fff0n, [{ vaddr: 0x8fff_fff0n, paddr: 0x8fff_fff0n, data: code, memsz: 17n }]);
  refuses(() => loadKernel(past, RAM, 'past.elf'), /segment 0x8ffffff0–0x90000001 is outside guest RAM/);
});

test('ELF: an entry point outside every loaded segment is refused', () => {
  const elf = makeElf(0x8010_0000n, [
    { vaddr: 0x8000_0000n, paddr: 0x8000_0000n, data: new Uint8Array(8), memsz: 0x1000n },
  ]);
  refuses(
    () => loadKernel(elf, RAM, 'bad.elf'),
    /^bad\.elf: the entry point 0x80100000 is not inside any loaded segment/,
  );
});

test('ELF: an entry given as a virtual address is translated to the segment that holds it', () => {
  const elf = makeElf(0x1000_0040n, [
    { vaddr: 0x1000_0000n, paddr: 0x8000_0000n, data: new Uint8Array(0x100), memsz: 0x2000n },
  ]);
  const k = loadKernel(elf, RAM, 'virt.elf');
  assert.equal(k.entry, 0x8000_0040n);
  assert.equal(k.end, 0x8000_2000n);
});

test('ELF: overlapping segments are refused', () => {
  const elf = makeElf(0x8000_0000n, [
    { vaddr: 0x8000_0000n, paddr: 0x8000_0000n, data: new Uint8Array(8), memsz: 0x2000n },
    { vaddr: 0x8000_1000n, paddr: 0x8000_1000n, data: new Uint8Array(8), memsz: 0x1000n },
  ]);
  refuses(() => loadKernel(elf, RAM, 'ovl.elf'), /overlap/);
});

// ---- DTB and initrd placement ----

const kernelAtBase = { start: 0x8000_0000n, end: 0x8000_0000n + 30n * MiB };

test('layout: the DTB goes at the start of the last 2 MiB of RAM, 8-byte aligned (booting.rst: 8-byte boundary, at most 2 MiB)', () => {
  const p = placeInitrd(0, RAM, kernelAtBase, 0x1234);
  assert.equal(p.dtb, 0x8fe0_0000n);
  assert.equal(p.dtb % 8n, 0n);
  // RAM ending off a 2 MiB boundary: the highest 2 MiB block that lies wholly in RAM.
  assert.equal(placeInitrd(0, { base: RAM.base, size: 255n * MiB }, kernelAtBase, 64).dtb, 0x8fc0_0000n);
});

test('layout: the initrd goes page aligned just below the DTB window', () => {
  // 1 MiB + 100 bytes ends at or below 0x8fe00000: 0x8fe00000 - 0x100064 = 0x8fcfff9c → 0x8fcff000.
  const p = placeInitrd(Number(MiB) + 100, RAM, kernelAtBase, 0x1000);
  assert.equal(p.initrd, 0x8fcf_f000n);
  assert.equal(p.dtb, 0x8fe0_0000n);
  // A whole number of pages ends exactly at the DTB.
  assert.equal(placeInitrd(0x10_0000, RAM, kernelAtBase, 0x1000).initrd, 0x8fd0_0000n);
});

test('layout: an initrd that does not fit between the kernel and the DTB is refused with the sizes', () => {
  // Kernel 0x80000000–0x8c800000 (200 MiB); DTB at 0x8fe00000; 54 MiB free between them.
  const k = { start: 0x8000_0000n, end: 0x8000_0000n + 200n * MiB };
  assert.equal(placeInitrd(Number(54n * MiB), RAM, k, 0x1000).initrd, 0x8c80_0000n);
  refuses(
    () => placeInitrd(Number(54n * MiB) + 1, RAM, k, 0x1000),
    /initrd of 56623105 bytes \(54\.0 MiB\)/,
    /54 MiB/,
    /0x8c800000/,
  );
});

test('layout: a DTB over 2 MiB is refused (booting.rst), as is an empty one', () => {
  refuses(
    () => placeInitrd(0, RAM, kernelAtBase, Number(2n * MiB) + 1),
    /device tree is 2097153 bytes \(2\.0 MiB\)/,
    /at most 2 MiB/,
  );
  assert.equal(placeInitrd(0, RAM, kernelAtBase, Number(2n * MiB)).dtb, 0x8fe0_0000n);
  refuses(() => placeInitrd(0, RAM, kernelAtBase, 0), /empty/);
});

test('layout: a kernel reaching into the last 2 MiB of RAM leaves no room for the DTB', () => {
  refuses(
    () => placeInitrd(0, RAM, { start: 0x8000_0000n, end: 0x8fe0_0001n }, 0x100),
    /no room for the device tree/,
    /0x8fe00000/,
  );
});

test('booting.rst: the initrd stays in a 1 GiB aligned 32 GiB window with the kernel, after the kernel when RAM is larger', () => {
  const big = { base: 0x8000_0000n, size: 64n * GiB };
  const k = { start: 0x8000_0000n, end: 0x8200_0000n };
  const p = placeInitrd(Number(16n * MiB), big, k, 0x1000);
  assert.equal(p.dtb, 0x8000_0000n + 64n * GiB - 2n * MiB);
  assert.equal(p.initrd, 0x8200_0000n);
  assert.ok(p.initrd + 16n * MiB <= 0x8000_0000n + 32n * GiB);
});

// ---- user DTB ----

function smallDtb(): Uint8Array {
  const t = new Fdt();
  t.root.setCells('#address-cells', [2]).setCells('#size-cells', [2]);
  t.ensureNode('/chosen').setString('bootargs', 'console=ttyAMA0');
  return writeFdt(t);
}

test('DT spec ch. 5: a well-formed DTB file is accepted and read', () => {
  const fdt = validateDtb(smallDtb(), 'board.dtb');
  assert.equal(fdt.node('/chosen').getString('bootargs'), 'console=ttyAMA0');
});

test('DT spec ch. 5: a DTB with a bad magic, a totalsize past the end of the file, or no bytes is refused, naming the file', () => {
  const bad = smallDtb();
  bad[0] = 0;
  refuses(() => validateDtb(bad, 'bad.dtb'), /^bad\.dtb: /, /magic/);
  const whole = smallDtb();
  refuses(() => validateDtb(whole.subarray(0, whole.length - 4), 'cut.dtb'), /^cut\.dtb: /, /totalsize/);
  refuses(() => validateDtb(new Uint8Array(0), 'none.dtb'), /^none\.dtb: /, /empty/);
  refuses(() => validateDtb(guest('hello.elf'), 'hello.elf'), /^hello\.elf: /, /magic/);
});

test('booting.rst: a DTB file over 2 MiB is refused', () => {
  const t = new Fdt();
  t.root.setProperty('blob', new Uint8Array(Number(2n * MiB)));
  refuses(() => validateDtb(writeFdt(t), 'huge.dtb'), /^huge\.dtb: /, /at most 2 MiB/);
});

// ---- a real Debian kernel ----

test('booting.rst on a real kernel: Debian arm64 vmlinuz is a little-endian Image with a PE header at res5, loaded at the RAM base', (t) => {
  const file = findLinux();
  if (!file || !existsSync(file)) {
    // The real kernel is an oracle (DESIGN.md §6): missing in CI is a failure, locally a loud skip.
    t.skip(oracleMissing('an arm64 Linux Image', LINUX_HINT));
    return;
  }
  const bytes = readFileSync(file);
  const h = parseImageHeader(bytes);
  assert.equal(h.bigEndian, false);
  // Kernels since v5.8 have text_offset 0; image_size covers bss, so it is past the file's end.
  assert.equal(h.textOffset, 0n);
  assert.ok(h.imageSize > BigInt(bytes.length), `image_size ${h.imageSize} vs file ${bytes.length}`);
  // The EFI stub: "MZ" at 0, and res5 the offset of a PE header ("PE\0\0").
  assert.equal(bytes.subarray(0, 2).toString('latin1'), 'MZ');
  const pe = bytes.readUInt32LE(0x3c);
  assert.equal(bytes.subarray(pe, pe + 4).toString('latin1'), 'PE\0\0');
  // The page size agrees with the kernel's own config, when it came with one.
  const config = path.join(path.dirname(file), path.basename(file).replace(/^vmlinuz-/, 'config-'));
  if (existsSync(config)) {
    const c = readFileSync(config, 'latin1');
    const want = /^CONFIG_ARM64_64K_PAGES=y/m.test(c) ? 65536 : /^CONFIG_ARM64_16K_PAGES=y/m.test(c) ? 16384 : 4096;
    assert.equal(h.pageSize, want);
  }
  const k = loadKernel(bytes, RAM, path.basename(file));
  assert.equal(k.kind, 'image');
  assert.equal(k.entry, 0x8000_0000n);
  assert.equal(k.end, 0x8000_0000n + h.imageSize);
  const p = placeInitrd(Number(MiB), RAM, k, 0x2000);
  assert.ok(p.initrd >= k.end && p.initrd + MiB <= p.dtb);
});
