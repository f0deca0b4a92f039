// GICv3 redistributors (GICR_*, IHI 0069 chapter 12): one per CPU, an RD_base frame (control,
// identification, power management) followed by an SGI_base frame holding the SGIs' and PPIs'
// configuration (chapter 2: with affinity routing these banked INTIDs live here, not in GICD).
// No LPIs: GICR_CTLR.EnableLPIs, PROPBASER and PENDBASER are RAZ/WI. Reserved registers are RAZ/WI.

import type { MmioDevice } from '../bus.js';
import { PRIORITY_MASK, type Gicv3 } from './gic.js';
import {
  GICR_ICFGR0,
  GICR_ICFGR1,
  GICR_IGROUPR0,
  GICR_IIDR,
  GICR_IPRIORITYR,
  GICR_SGI_BASE,
  GICR_STRIDE,
  GICR_TYPER,
  GICR_TYPER_LAST,
  GICR_WAKER,
  WAKER_CHILDREN_ASLEEP,
  WAKER_PROCESSOR_SLEEP,
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

/** PPIs (INTIDs 16..31) may be reconfigured edge/level; SGIs are always edge. */
const PPI_MASK = 0xffff0000;

/** The redistributor of one CPU: a GICR_STRIDE (128 KiB) window. */
export class GicRedistributor implements MmioDevice, Regs32 {
  readonly name: string;

  constructor(
    private readonly gic: Gicv3,
    readonly cpu: number,
  ) {
    this.name = `gicv3-gicr${cpu}`;
  }

  read(offset: number, size: number): bigint {
    return mmioRead(this, offset, size);
  }

  write(offset: number, size: number, value: bigint): void {
    mmioWrite(this, offset, size, value);
  }

  read32(off: number): number {
    const g = this.gic;
    const c = this.cpu;
    if (off >= GICR_SGI_BASE) {
      const o = off - GICR_SGI_BASE;
      if (o >= GICR_IGROUPR0 && o < GICR_IPRIORITYR) {
        // Only word 0 of each bitmap register exists (no extended PPI range).
        if ((o & 0x7f) !== 0) return 0;
        return bitmapRead(g.priv, c, (o >>> 7) - 1, 0xffffffff);
      }
      if (o >= GICR_IPRIORITYR && o < GICR_IPRIORITYR + 32) {
        return priorityRead(g.priv, c * 32 + (o - GICR_IPRIORITYR), 0xffffffff);
      }
      if (o === GICR_ICFGR0) return cfgRead(g.priv, c, 0, 0xffffffff);
      if (o === GICR_ICFGR1) return cfgRead(g.priv, c, 1, 0xffffffff);
      return 0;
    }
    switch (off) {
      case GICR_IIDR:
        return g.iidr;
      case GICR_TYPER:
        // PLPIS = VLPIS = DirectLPI = 0; Processor_Number = CPU index; Last.
        return ((c << 8) | (g.isLast(c) ? GICR_TYPER_LAST : 0)) >>> 0;
      case GICR_TYPER + 4:
        return g.affinity[c]!;
      case GICR_WAKER:
        // The quiescence handshake completes at once: ChildrenAsleep follows ProcessorSleep.
        return g.sleep[c] ? WAKER_PROCESSOR_SLEEP | WAKER_CHILDREN_ASLEEP : 0;
    }
    return idReg(off) ?? 0;
  }

  write32(off: number, v: number): void {
    const g = this.gic;
    const c = this.cpu;
    if (off >= GICR_SGI_BASE) {
      const o = off - GICR_SGI_BASE;
      if (o >= GICR_IGROUPR0 && o < GICR_IPRIORITYR) {
        if ((o & 0x7f) !== 0) return;
        bitmapWrite(g.priv, c, (o >>> 7) - 1, v, 0xffffffff);
        g.updateCpu(c);
        return;
      }
      if (o >= GICR_IPRIORITYR && o < GICR_IPRIORITYR + 32) {
        const first = c * 32 + (o - GICR_IPRIORITYR);
        for (let i = 0; i < 4; i++) g.priv.prio[first + i] = (v >>> (8 * i)) & PRIORITY_MASK;
        g.updateCpu(c);
        return;
      }
      if (o === GICR_ICFGR1) {
        cfgWrite(g.priv, c, 1, v, PPI_MASK);
        g.updateCpu(c);
      }
      return;
    }
    if (off === GICR_WAKER) {
      g.sleep[c] = (v & WAKER_PROCESSOR_SLEEP) !== 0 ? 1 : 0;
    }
  }

  read8(off: number): number | null {
    const o = off - GICR_SGI_BASE - GICR_IPRIORITYR;
    if (o >= 0 && o < 32) return this.gic.priv.prio[this.cpu * 32 + o]!;
    return null;
  }

  write8(off: number, v: number): boolean {
    const o = off - GICR_SGI_BASE - GICR_IPRIORITYR;
    if (!(o >= 0 && o < 32)) return false;
    this.gic.priv.prio[this.cpu * 32 + o] = v & PRIORITY_MASK;
    this.gic.updateCpu(this.cpu);
    return true;
  }
}

/** All redistributors, contiguous with stride GICR_STRIDE; beyond the last one: RAZ/WI. */
export class GicRedistributorRegion implements MmioDevice {
  readonly name = 'gicv3-gicr';

  constructor(private readonly frames: readonly GicRedistributor[]) {}

  read(offset: number, size: number): bigint {
    const f = this.frames[Math.floor(offset / GICR_STRIDE)];
    return f ? f.read(offset % GICR_STRIDE, size) : 0n;
  }

  write(offset: number, size: number, value: bigint): void {
    const f = this.frames[Math.floor(offset / GICR_STRIDE)];
    f?.write(offset % GICR_STRIDE, size, value);
  }
}
