// ELF64 loader for AArch64 images: validates the header and returns the loadable segments at their
// physical addresses (p_paddr, as QEMU's -kernel loads an ELF). Every malformed input is reported
// as a LoadError naming what is wrong; nothing here throws anything else on bad bytes.

export class LoadError extends Error {}

export interface Segment {
  /** Physical load address. */
  paddr: number;
  /** Bytes from the file (p_filesz). */
  data: Uint8Array;
  /** Size in memory (p_memsz ≥ data.length); the tail is zero. */
  memsz: number;
  /** Virtual address (p_vaddr), when it came from an ELF; e_entry may be given in these terms. */
  vaddr?: number;
}

export interface ElfImage {
  entry: number;
  segments: Segment[];
  /** Symbol table (name → address), when the file has one; for traces and error messages. */
  symbols: Map<string, number>;
}

const EM_AARCH64 = 183;
const PT_LOAD = 1;

const MACHINES: Record<number, string> = {
  3: 'x86 (i386)',
  40: 'ARM (AArch32)',
  62: 'x86-64',
  183: 'AArch64',
  243: 'RISC-V',
};

export function isElf(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
}

export function parseElf(bytes: Uint8Array): ElfImage {
  if (!isElf(bytes)) throw new LoadError('not an ELF file (no \\x7fELF magic)');
  if (bytes.length < 64) throw new LoadError(`truncated ELF header (${bytes.length} bytes, need 64)`);
  if (bytes[4] !== 2) throw new LoadError('not a 64-bit ELF (ELFCLASS32); AArch64 images are ELFCLASS64');
  if (bytes[5] !== 1) throw new LoadError('big-endian ELF; only little-endian AArch64 is supported');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = dv.getUint16(16, true);
  const machine = dv.getUint16(18, true);
  if (machine !== EM_AARCH64) {
    throw new LoadError(
      `ELF is for ${MACHINES[machine] ?? `machine ${machine}`}, not AArch64 (e_machine ${machine}, want ${EM_AARCH64})`,
    );
  }
  if (type !== 2 && type !== 3) throw new LoadError(`ELF type ${type} is not an executable (ET_EXEC or ET_DYN)`);
  const entry = num(dv.getBigUint64(24, true), 'e_entry');
  const phoff = num(dv.getBigUint64(32, true), 'e_phoff');
  const phentsize = dv.getUint16(54, true);
  const phnum = dv.getUint16(56, true);
  if (phnum === 0) throw new LoadError('ELF has no program headers');
  if (phentsize < 56) throw new LoadError(`ELF program header size ${phentsize} is too small`);
  if (phoff + phnum * phentsize > bytes.length)
    throw new LoadError('ELF program headers lie beyond the end of the file');
  const segments: Segment[] = [];
  for (let k = 0; k < phnum; k++) {
    const o = phoff + k * phentsize;
    if (dv.getUint32(o, true) !== PT_LOAD) continue;
    const offset = num(dv.getBigUint64(o + 8, true), 'p_offset');
    // A kernel's p_vaddr may be a high-half address beyond a safe integer: it is only a hint, never fatal.
    const v = dv.getBigUint64(o + 16, true);
    const vaddr = v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : undefined;
    const paddr = num(dv.getBigUint64(o + 24, true), 'p_paddr');
    const filesz = num(dv.getBigUint64(o + 32, true), 'p_filesz');
    const memsz = num(dv.getBigUint64(o + 40, true), 'p_memsz');
    if (offset + filesz > bytes.length) throw new LoadError(`segment ${k} extends beyond the end of the file`);
    if (filesz > memsz) throw new LoadError(`segment ${k} has p_filesz > p_memsz`);
    if (memsz === 0) continue;
    segments.push({
      paddr,
      data: bytes.subarray(offset, offset + filesz),
      memsz,
      ...(vaddr !== undefined && { vaddr }),
    });
  }
  if (segments.length === 0) throw new LoadError('ELF has no loadable segments');
  return { entry, segments, symbols: readSymbols(bytes, dv) };
}

function num(v: bigint, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new LoadError(`ELF ${what} 0x${v.toString(16)} is out of range`);
  return Number(v);
}

/** Best effort: a broken symbol table only means no symbols. */
function readSymbols(bytes: Uint8Array, dv: DataView): Map<string, number> {
  const syms = new Map<string, number>();
  try {
    const shoff = Number(dv.getBigUint64(40, true));
    const shentsize = dv.getUint16(58, true);
    const shnum = dv.getUint16(60, true);
    for (let k = 0; k < shnum; k++) {
      const o = shoff + k * shentsize;
      if (dv.getUint32(o + 4, true) !== 2) continue; // SHT_SYMTAB
      const symOff = Number(dv.getBigUint64(o + 24, true));
      const symSize = Number(dv.getBigUint64(o + 32, true));
      const link = dv.getUint32(o + 40, true);
      const strOff = Number(dv.getBigUint64(shoff + link * shentsize + 24, true));
      for (let s = symOff; s + 24 <= symOff + symSize; s += 24) {
        const nameOff = dv.getUint32(s, true);
        const value = Number(dv.getBigUint64(s + 8, true));
        let end = strOff + nameOff;
        while (end < bytes.length && bytes[end] !== 0) end++;
        const name = new TextDecoder().decode(bytes.subarray(strOff + nameOff, end));
        if (name) syms.set(name, value);
      }
    }
  } catch {
    // A malformed section table is not fatal for loading.
  }
  return syms;
}
