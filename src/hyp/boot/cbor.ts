// A small CBOR (RFC 8949) encoder and decoder for the root VM's boot environment (hypervisor-abi.md
// §11.2): the hypervisor encodes one map of boot facts, the resource manager decodes it. Shared
// ABI-level module: it imports nothing from the hypervisor, so the (native) RM may use it too.
//
// Supported: unsigned and negative integers up to 64 bits (major types 0 and 1), byte strings (2),
// text strings (3), arrays (4), maps (5), false/true/null (7). Every head is written in its
// shortest form (RFC 8949 §4.2.1 "preferred serialization"), as QCBOR does; map entries keep their
// insertion order (QCBOR does not sort) unless `sortKeys` asks for the core deterministic order
// (keys sorted bytewise by their encoding). Not supported, and rejected by the decoder with a
// CborError: floats and other simple values, tags, indefinite lengths (QCBOR's env encoder never
// emits them).
//
// Decoded integers are always bigints (a cap ID can be all-ones), text strings JS strings, maps
// JS Maps in the order the bytes give them.

/** A value this codec can encode and decode. */
export type CborValue =
  bigint | number | boolean | null | string | Uint8Array | readonly CborValue[] | ReadonlyMap<CborValue, CborValue>;

/** Malformed, truncated or unsupported input (decoder) or an unencodable value (encoder). */
export class CborError extends Error {
  constructor(
    message: string,
    /** Byte offset of the problem (decoder), or -1. */
    readonly offset = -1,
  ) {
    super(offset >= 0 ? `CBOR at byte ${offset}: ${message}` : `CBOR: ${message}`);
    this.name = 'CborError';
  }
}

const MAJOR_UINT = 0;
const MAJOR_NINT = 1;
const MAJOR_BYTES = 2;
const MAJOR_TEXT = 3;
const MAJOR_ARRAY = 4;
const MAJOR_MAP = 5;
const MAJOR_TAG = 6;
const MAJOR_SIMPLE = 7;
const SIMPLE_FALSE = 20;
const SIMPLE_TRUE = 21;
const SIMPLE_NULL = 22;
const U64_MAX = 0xffff_ffff_ffff_ffffn;
/** Nesting limit of the decoder (the boot env nests three deep). */
const MAX_DEPTH = 64;

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

// ------------------------------------------------------------------------------------ encoder

class Writer {
  buf = new Uint8Array(256);
  len = 0;

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const b = new Uint8Array(size);
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
  }

  byte(v: number): void {
    this.room(1);
    this.buf[this.len++] = v;
  }

  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  /** A head: major type and argument, the argument in the fewest bytes (0, 1, 2, 4 or 8). */
  head(major: number, arg: bigint): void {
    const m = major << 5;
    if (arg < 24n) return this.byte(m | Number(arg));
    if (arg <= 0xffn) {
      this.byte(m | 24);
      return this.byte(Number(arg));
    }
    if (arg <= 0xffffn) {
      this.byte(m | 25);
      this.byte(Number(arg >> 8n));
      return this.byte(Number(arg & 0xffn));
    }
    if (arg <= 0xffff_ffffn) {
      this.byte(m | 26);
      for (let s = 24n; s >= 0n; s -= 8n) this.byte(Number((arg >> s) & 0xffn));
      return;
    }
    this.byte(m | 27);
    for (let s = 56n; s >= 0n; s -= 8n) this.byte(Number((arg >> s) & 0xffn));
  }
}

export interface CborEncodeOptions {
  /**
   * Sort every map's entries bytewise by their encoded keys (RFC 8949 §4.2.1 core deterministic
   * encoding). Default false: insertion order, as QCBOR writes the boot environment.
   */
  sortKeys?: boolean;
}

/** Encode one value. Throws CborError for numbers that are not integers and integers outside ±2^64. */
export function encodeCbor(value: CborValue, opts: CborEncodeOptions = {}): Uint8Array {
  const w = new Writer();
  encodeInto(w, value, opts.sortKeys === true);
  return w.buf.slice(0, w.len);
}

function encodeInto(w: Writer, v: CborValue, sort: boolean): void {
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new CborError(`${v} is not a safe integer (floats are not supported)`);
    return encodeInt(w, BigInt(v));
  }
  if (typeof v === 'bigint') return encodeInt(w, v);
  if (typeof v === 'boolean') return w.byte((MAJOR_SIMPLE << 5) | (v ? SIMPLE_TRUE : SIMPLE_FALSE));
  if (v === null) return w.byte((MAJOR_SIMPLE << 5) | SIMPLE_NULL);
  if (typeof v === 'string') {
    const b = utf8Encoder.encode(v);
    w.head(MAJOR_TEXT, BigInt(b.length));
    return w.bytes(b);
  }
  if (v instanceof Uint8Array) {
    w.head(MAJOR_BYTES, BigInt(v.length));
    return w.bytes(v);
  }
  if (isArray(v)) {
    w.head(MAJOR_ARRAY, BigInt(v.length));
    for (const x of v) encodeInto(w, x, sort);
    return;
  }
  w.head(MAJOR_MAP, BigInt(v.size));
  if (!sort) {
    for (const [k, x] of v) {
      encodeInto(w, k, sort);
      encodeInto(w, x, sort);
    }
    return;
  }
  const entries = [...v].map(([k, x]) => [encodeCbor(k, { sortKeys: true }), x] as const);
  entries.sort((a, b) => compareBytes(a[0], b[0]));
  for (const [k, x] of entries) {
    w.bytes(k);
    encodeInto(w, x, sort);
  }
}

function isArray(v: CborValue): v is readonly CborValue[] {
  return Array.isArray(v);
}

function encodeInt(w: Writer, v: bigint): void {
  if (v >= 0n) {
    if (v > U64_MAX) throw new CborError(`${v} does not fit in 64 bits`);
    return w.head(MAJOR_UINT, v);
  }
  // Negative n is encoded as major type 1 with argument -1 - n.
  const arg = -1n - v;
  if (arg > U64_MAX) throw new CborError(`${v} does not fit in 64 bits`);
  w.head(MAJOR_NINT, arg);
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

// ------------------------------------------------------------------------------------ decoder

class Reader {
  pos = 0;
  constructor(readonly b: Uint8Array) {}

  need(n: number, what: string): void {
    if (n > this.b.length - this.pos) {
      throw new CborError(`truncated ${what}: ${n} bytes needed, ${this.b.length - this.pos} left`, this.pos);
    }
  }

  u8(): number {
    this.need(1, 'item');
    return this.b[this.pos++]!;
  }

  /** The argument of a head whose initial byte had additional info `ai`. */
  arg(ai: number, at: number): bigint {
    if (ai < 24) return BigInt(ai);
    if (ai === 31) throw new CborError('indefinite lengths are not supported', at);
    if (ai > 27) throw new CborError(`reserved additional information ${ai}`, at);
    const n = 1 << (ai - 24);
    this.need(n, 'head');
    let v = 0n;
    for (let k = 0; k < n; k++) v = (v << 8n) | BigInt(this.b[this.pos++]!);
    return v;
  }

  /** A length argument, which must fit in what is left of the input (each element is ≥ 1 byte). */
  length(ai: number, at: number, unit: number): number {
    const v = this.arg(ai, at);
    if (v * BigInt(unit) > BigInt(this.b.length - this.pos)) {
      throw new CborError(`length ${v} runs past the end of the input`, at);
    }
    return Number(v);
  }
}

/**
 * Decode exactly one item that fills `bytes` (trailing bytes are an error). Throws CborError on
 * malformed, truncated or unsupported input; never reads outside `bytes`.
 */
export function decodeCbor(bytes: Uint8Array): CborValue {
  const r = new Reader(bytes);
  const v = decodeItem(r, 0);
  if (r.pos !== bytes.length) throw new CborError(`${bytes.length - r.pos} trailing bytes`, r.pos);
  return v;
}

/** Decode the item starting at `offset`; returns it and the offset just past it. */
export function decodeCborPrefix(bytes: Uint8Array, offset = 0): { value: CborValue; end: number } {
  const r = new Reader(bytes);
  r.pos = offset;
  const value = decodeItem(r, 0);
  return { value, end: r.pos };
}

function decodeItem(r: Reader, depth: number): CborValue {
  if (depth > MAX_DEPTH) throw new CborError(`nesting deeper than ${MAX_DEPTH}`, r.pos);
  const at = r.pos;
  const ib = r.u8();
  const major = ib >> 5;
  const ai = ib & 0x1f;
  switch (major) {
    case MAJOR_UINT:
      return r.arg(ai, at);
    case MAJOR_NINT:
      return -1n - r.arg(ai, at);
    case MAJOR_BYTES: {
      const n = r.length(ai, at, 1);
      // A copy, as a plain Uint8Array whatever the input is (slicing a Node Buffer gives a Buffer).
      const out = new Uint8Array(n);
      out.set(r.b.subarray(r.pos, r.pos + n));
      r.pos += n;
      return out;
    }
    case MAJOR_TEXT: {
      const n = r.length(ai, at, 1);
      let s: string;
      try {
        s = utf8Decoder.decode(r.b.subarray(r.pos, r.pos + n));
      } catch {
        throw new CborError('text string is not valid UTF-8', at);
      }
      r.pos += n;
      return s;
    }
    case MAJOR_ARRAY: {
      const n = r.length(ai, at, 1);
      const out: CborValue[] = [];
      for (let k = 0; k < n; k++) out.push(decodeItem(r, depth + 1));
      return out;
    }
    case MAJOR_MAP: {
      const n = r.length(ai, at, 2);
      const out = new Map<CborValue, CborValue>();
      for (let k = 0; k < n; k++) {
        const kat = r.pos;
        const key = decodeItem(r, depth + 1);
        if (out.has(key)) throw new CborError(`duplicate map key ${String(key)}`, kat);
        out.set(key, decodeItem(r, depth + 1));
      }
      return out;
    }
    case MAJOR_TAG:
      throw new CborError('tags are not supported', at);
    default:
      if (ai === SIMPLE_FALSE) return false;
      if (ai === SIMPLE_TRUE) return true;
      if (ai === SIMPLE_NULL) return null;
      throw new CborError(ai >= 25 && ai <= 27 ? 'floats are not supported' : `unsupported simple value ${ai}`, at);
  }
}
