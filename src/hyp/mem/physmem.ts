// Physical RAM as the hypervisor sees it (hypervisor-abi.md §10.1): one window [base, base + size)
// backed by a byte array. The backing store is allocated on first touch, so a Hypervisor made only
// to run hypercalls costs no RAM. PAs are Numbers (the QEMU platform's PAs are 36 bits).

import { PAGE_SIZE } from './attrs.js';

export interface PhysMemOptions {
  /** PA of the first byte (page-aligned). */
  base: number;
  /** The RAM itself (its length is the RAM size, a multiple of 4 KiB)... */
  bytes?: Uint8Array;
  /** ...or just the size, allocated lazily. */
  size?: number;
}

/** The default RAM: 64 MiB at 0x4000_0000 (QEMU virt's DDR base), allocated on first use. */
export const DEFAULT_RAM_BASE = 0x4000_0000;
export const DEFAULT_RAM_SIZE = 64 * 1024 * 1024;

export class PhysMem {
  readonly base: number;
  readonly size: number;
  private store: Uint8Array | null;

  constructor(opts: PhysMemOptions = { base: DEFAULT_RAM_BASE, size: DEFAULT_RAM_SIZE }) {
    const size = opts.bytes?.length ?? opts.size ?? DEFAULT_RAM_SIZE;
    if (opts.base % PAGE_SIZE !== 0 || size % PAGE_SIZE !== 0 || size === 0) {
      throw new Error(`RAM must be whole 4 KiB pages (base 0x${opts.base.toString(16)}, size 0x${size.toString(16)})`);
    }
    this.base = opts.base;
    this.size = size;
    this.store = opts.bytes ?? null;
  }

  /** Writes made before the store exists (the root VM's boot env), applied when it is allocated. */
  private pending: { off: number; data: Uint8Array }[] = [];

  /** The backing bytes (offset 0 = PA `base`). */
  get bytes(): Uint8Array {
    if (this.store === null) {
      const store = new Uint8Array(this.size);
      for (const p of this.pending) store.set(p.data, p.off);
      this.pending = [];
      this.store = store;
    }
    return this.store;
  }

  /** Write `data` at `pa` (inside RAM) without allocating lazily-allocated RAM before it is used. */
  preload(pa: number, data: Uint8Array): void {
    if (this.store !== null) this.store.set(data, pa - this.base);
    else this.pending.push({ off: pa - this.base, data });
  }

  /** Whether [pa, pa + len) lies inside RAM. */
  contains(pa: number, len: number): boolean {
    return pa >= this.base && len >= 0 && pa + len <= this.base + this.size;
  }

  /** Zero [pa, pa + len) (inside RAM; untouched lazily-allocated RAM is already zero). */
  zero(pa: number, len: number): void {
    if (this.store === null && this.pending.length === 0) return;
    this.bytes.fill(0, pa - this.base, pa - this.base + len);
  }
}
