// The physical address space of a board: one RAM window plus MMIO devices at fixed ranges.
// Implements the CPU's `PhysBus`; an access that hits nothing answers null/false, which the CPU
// turns into a synchronous external abort, as on hardware.

import type { PhysBus } from '../arch/aarch64/cpu.js';

export interface MmioDevice {
  readonly name: string;
  /** Read `size` bytes at `offset` within the device's window. */
  read(offset: number, size: number): bigint;
  write(offset: number, size: number, value: bigint): void;
}

interface Mapping {
  base: number;
  size: number;
  dev: MmioDevice;
}

export class Bus implements PhysBus {
  readonly ramBase: number;
  readonly ram: Uint8Array;
  private readonly maps: Mapping[] = [];

  constructor(ramBase: number, ramBytes: number) {
    this.ramBase = ramBase;
    this.ram = new Uint8Array(ramBytes);
  }

  map(base: number, size: number, dev: MmioDevice): void {
    for (const m of this.maps) {
      if (base < m.base + m.size && m.base < base + size) throw new Error(`${dev.name} overlaps ${m.dev.name}`);
    }
    this.maps.push({ base, size, dev });
  }

  private find(pa: number, size: number): Mapping | undefined {
    return this.maps.find((m) => pa >= m.base && pa + size <= m.base + m.size);
  }

  mmioRead(pa: number, size: number): bigint | null {
    const m = this.find(pa, size);
    return m ? m.dev.read(pa - m.base, size) : null;
  }

  mmioWrite(pa: number, size: number, value: bigint): boolean {
    const m = this.find(pa, size);
    if (!m) return false;
    m.dev.write(pa - m.base, size, value);
    return true;
  }

  /** Whether [pa, pa+len) lies inside RAM. */
  inRam(pa: number, len: number): boolean {
    return pa >= this.ramBase && pa + len <= this.ramBase + this.ram.byteLength;
  }
}
