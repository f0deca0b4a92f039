// A bare CPU on a flat RAM bus, for instruction-level tests: no board, no EL2.

import { Cpu, type PhysBus } from '../../src/arch/aarch64/cpu.js';

export const RAM_BASE = 0x40000000;

export interface TestCpu {
  cpu: Cpu;
  ram: Uint8Array;
  /** Write little-endian 32-bit words at a physical address. */
  code(addr: number, words: readonly number[]): void;
}

export function makeCpu(ramSize = 1 << 20): TestCpu {
  const ram = new Uint8Array(ramSize);
  const bus: PhysBus = {
    ramBase: RAM_BASE,
    ram,
    mmioRead: () => null,
    mmioWrite: () => false,
  };
  const cpu = new Cpu(bus);
  cpu.reset(RAM_BASE);
  const dv = new DataView(ram.buffer);
  return {
    cpu,
    ram,
    code(addr, words) {
      words.forEach((w, k) => dv.setUint32(addr - RAM_BASE + 4 * k, w >>> 0, true));
      cpu.codeWritten(addr - RAM_BASE, 4 * words.length);
    },
  };
}
