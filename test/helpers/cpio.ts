// A cpio archive in the "newc" format Linux's initramfs unpacker reads (Linux's
// Documentation/driver-api/early-userspace/buffer-format.rst): per entry the magic "070701", 13
// fields of 8 hex digits (ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor,
// rdevmajor, rdevminor, namesize, check), the NUL-terminated name padded to 4 bytes, the data padded
// to 4 bytes; the archive ends with an entry named TRAILER!!!.

export interface CpioEntry {
  name: string;
  /** st_mode: file type and permissions (0o100755 a file, 0o040755 a directory, 0o020600 a char device). */
  mode: number;
  data?: Uint8Array;
  /** For device nodes. */
  rdev?: { major: number; minor: number };
}

export function cpioNewc(entries: readonly CpioEntry[]): Uint8Array {
  const enc = new TextEncoder();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const push = (b: Uint8Array): void => {
    chunks.push(b);
    size += b.length;
  };
  const pad = (): void => push(new Uint8Array((4 - (size % 4)) % 4));
  const hex = (n: number): string => n.toString(16).padStart(8, '0');
  [...entries, { name: 'TRAILER!!!', mode: 0 }].forEach((e, i) => {
    const data = e.data ?? new Uint8Array(0);
    const name = enc.encode(e.name + '\0');
    const fields = [
      i + 1,
      e.mode,
      0,
      0,
      1,
      0,
      data.length,
      0,
      0,
      e.rdev?.major ?? 0,
      e.rdev?.minor ?? 0,
      name.length,
      0,
    ];
    push(enc.encode('070701' + fields.map(hex).join('')));
    push(name);
    pad();
    push(data);
    pad();
  });
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
