// The GICv3 distributor frame (GICD_*, IHI 0069 chapter 12), 64 KiB, with affinity routing on and
// a single security state. It holds the SPIs' configuration; the registers for INTIDs 0..31 are
// RAZ/WI here because with affinity routing they live in each CPU's redistributor.
// Reserved and unimplemented registers are RAZ/WI.

import type { MmioDevice } from '../bus.js';
import { PRIORITY_MASK, type Gicv3 } from './gic.js';
import {
  CTLR_ARE,
  CTLR_DS,
  GICD_CLRSPI_NSR,
  GICD_CTLR,
  GICD_ICFGR,
  GICD_IGROUPR,
  GICD_IIDR,
  GICD_IPRIORITYR,
  GICD_IROUTER,
  GICD_ITARGETSR,
  GICD_SETSPI_NSR,
  GICD_TYPER,
  GICD_TYPER2,
  SPI_BASE,
  TYPER_A3V,
  TYPER_IDBITS_SHIFT,
  TYPER_MBIS,
  TYPER_NO1N,
} from './regs.js';
import {
  bitmapRead,
  bitmapWrite,
  cfgRead,
  cfgWrite,
  idReg,
  mmioRead,
  mmioWrite,
  priorityRead,
  type Regs32,
} from './mmio-util.js';

export class GicDistributor implements MmioDevice, Regs32 {
  readonly name = 'gicv3-gicd';

  constructor(private readonly gic: Gicv3) {}

  read(offset: number, size: number): bigint {
    return mmioRead(this, offset, size);
  }

  write(offset: number, size: number, value: bigint): void {
    mmioWrite(this, offset, size, value);
  }

  /** GICD_TYPER: ITLinesNumber, CPUNumber, MBIS (SETSPI/CLRSPI), IDbits = 9 (10-bit INTIDs), A3V, No1N. */
  private typer(): number {
    const g = this.gic;
    const itLines = Math.ceil(g.intidLimit / 32) - 1;
    const cpuNumber = Math.min(g.cpus, 8) - 1;
    return (
      (itLines |
        (cpuNumber << 5) |
        TYPER_MBIS |
        (9 << TYPER_IDBITS_SHIFT) |
        TYPER_A3V |
        (g.oneOfN ? 0 : TYPER_NO1N)) >>>
      0
    );
  }

  read32(off: number): number {
    const g = this.gic;
    if (off >= GICD_IGROUPR && off < GICD_IPRIORITYR) {
      const w = (off & 0x7f) >>> 2;
      if (w >= g.spi.words) return 0;
      return bitmapRead(g.spi, w, (off >>> 7) - 1, g.spiValid[w]!);
    }
    if (off >= GICD_IPRIORITYR && off < GICD_ITARGETSR) {
      const first = off - GICD_IPRIORITYR;
      const w = first >>> 5;
      if (w >= g.spi.words) return 0;
      return priorityRead(g.spi, first, g.spiValid[w]!);
    }
    if (off >= GICD_ICFGR && off < GICD_ICFGR + 0x100) {
      const n = (off - GICD_ICFGR) >>> 2;
      const w = n >>> 1;
      if (w >= g.spi.words) return 0;
      return cfgRead(g.spi, w, n & 1, g.spiValid[w]!);
    }
    if (off >= GICD_IROUTER && off < GICD_IROUTER + 8 * 1024) {
      const id = (off - GICD_IROUTER) >>> 3;
      if (id < SPI_BASE || id >= g.intidLimit) return 0;
      const a = g.route[id]!;
      // Low word: Aff2:Aff1:Aff0 and IRM (bit 31); high word: Aff3.
      if (off & 4) return a >>> 24;
      return ((a & 0xffffff) | (g.routeIrm[id]! << 31)) >>> 0;
    }
    switch (off) {
      case GICD_CTLR:
        return g.dCtlr | CTLR_ARE | CTLR_DS;
      case GICD_TYPER:
        return this.typer();
      case GICD_IIDR:
        return g.iidr;
      case GICD_TYPER2:
        return 0;
    }
    return idReg(off) ?? 0;
  }

  write32(off: number, v: number): void {
    const g = this.gic;
    if (off >= GICD_IGROUPR && off < GICD_IPRIORITYR) {
      const w = (off & 0x7f) >>> 2;
      if (w >= g.spi.words) return;
      const activeBefore = g.spi.active[w]!;
      bitmapWrite(g.spi, w, (off >>> 7) - 1, v, g.spiValid[w]!);
      // GICD_ICACTIVER deactivates: a hypervisor vGIC re-evaluates level sources then.
      const deactivated = activeBefore & ~g.spi.active[w]!;
      if (deactivated !== 0) g.spisDeactivated(w, deactivated);
      g.updateAll();
      return;
    }
    if (off >= GICD_IPRIORITYR && off < GICD_ITARGETSR) {
      for (let i = 0; i < 4; i++) this.setPriority(off - GICD_IPRIORITYR + i, (v >>> (8 * i)) & 0xff);
      g.updateAll();
      return;
    }
    if (off >= GICD_ICFGR && off < GICD_ICFGR + 0x100) {
      const n = (off - GICD_ICFGR) >>> 2;
      const w = n >>> 1;
      if (w >= g.spi.words) return;
      cfgWrite(g.spi, w, n & 1, v, g.spiValid[w]!);
      g.updateAll();
      return;
    }
    if (off >= GICD_IROUTER && off < GICD_IROUTER + 8 * 1024) {
      const id = (off - GICD_IROUTER) >>> 3;
      if (id < SPI_BASE || id >= g.intidLimit) return;
      const a = g.route[id]!;
      if (off & 4) {
        g.route[id] = ((a & 0xffffff) | ((v & 0xff) << 24)) >>> 0;
      } else {
        g.route[id] = ((a & 0xff000000) | (v & 0xffffff)) >>> 0;
        // With No1N = 1, IRM is RAZ/WI.
        g.routeIrm[id] = g.oneOfN ? (v >>> 31) & 1 : 0;
      }
      g.retargetOne(id);
      g.updateAll();
      return;
    }
    switch (off) {
      case GICD_CTLR:
        // ARE and DS are fixed at 1; RWP stays 0 because every write takes effect at once.
        g.dCtlr = v & 3;
        g.updateAll();
        return;
      case GICD_SETSPI_NSR:
        this.setSpi(v & 0x3ff, true);
        return;
      case GICD_CLRSPI_NSR:
        this.setSpi(v & 0x3ff, false);
        return;
    }
  }

  read8(off: number): number | null {
    if (off >= GICD_IPRIORITYR && off < GICD_ITARGETSR) {
      const id = off - GICD_IPRIORITYR;
      return this.implemented(id) ? this.gic.spi.prio[id]! : 0;
    }
    // ITARGETSR is byte-accessible too, and RAZ/WI with affinity routing.
    if (off >= GICD_ITARGETSR && off < GICD_ICFGR) return 0;
    return null;
  }

  write8(off: number, v: number): boolean {
    if (off >= GICD_IPRIORITYR && off < GICD_ITARGETSR) {
      this.setPriority(off - GICD_IPRIORITYR, v);
      this.gic.updateAll();
      return true;
    }
    return off >= GICD_ITARGETSR && off < GICD_ICFGR;
  }

  private implemented(id: number): boolean {
    return id >= SPI_BASE && id < this.gic.intidLimit;
  }

  private setPriority(id: number, v: number): void {
    if (this.implemented(id)) this.gic.spi.prio[id] = v & PRIORITY_MASK;
  }

  /**
   * GICD_SETSPI_NSR / CLRSPI_NSR (message-based SPIs): for an edge-triggered SPI SETSPI is an edge;
   * for a level-sensitive one SETSPI asserts and CLRSPI deasserts, sharing the wire's input state.
   */
  private setSpi(id: number, set: boolean): void {
    const g = this.gic;
    if (!this.implemented(id)) return;
    const w = id >>> 5;
    const bit = 1 << (id & 31);
    if ((g.spi.edge[w]! & bit) !== 0) {
      if (set) g.pulseSpi(id);
      return;
    }
    g.setSpiLevel(id, set);
    if (!set) {
      g.spi.latch[w] &= ~bit;
      g.updateAll();
    }
  }
}
