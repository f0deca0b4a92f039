// The GICv3 CPU interface of one CPU, reached through system registers (ICC_*_EL1, IHI 0069
// chapter 12) via the CPU's `SysregHook`. It knows its CPU index, so the same `Gicv3` serves every
// CPU. Reads of write-only and writes of read-only registers are UNDEFINED (null/false), as are the
// active-priority registers ICC_AP0R1..3/AP1R1..3, which exist only with 6 or more preemption bits.

import type { Cpu, SysregHook } from '../../arch/aarch64/cpu.js';
import { BPR0_MIN, BPR1_MIN, PRIORITY_MASK, SgiKind, type Gicv3 } from './gic.js';
import { ICC, ICC_CTLR_A3V, ICC_CTLR_CBPR, ICC_CTLR_EOIMODE, ICC_CTLR_PRIBITS_SHIFT, ICC_SRE_VALUE } from './regs.js';

/** ICC_CTLR_EL1 read-only part: PRIbits = 4 (5 priority bits), IDbits = 0 (16), A3V, no SEIS/RSS/ExtRange. */
const CTLR_FIXED = (4 << ICC_CTLR_PRIBITS_SHIFT) | ICC_CTLR_A3V;

export class GicCpuInterface implements SysregHook {
  constructor(
    private readonly gic: Gicv3,
    readonly cpu: number,
  ) {}

  read(_cpu: Cpu, key: number): bigint | null {
    const g = this.gic;
    const c = this.cpu;
    switch (key) {
      case ICC.IAR1_EL1:
        return BigInt(g.acknowledge(c, 1));
      case ICC.IAR0_EL1:
        return BigInt(g.acknowledge(c, 0));
      case ICC.HPPIR1_EL1:
        return BigInt(g.highestPending(c, 1));
      case ICC.HPPIR0_EL1:
        return BigInt(g.highestPending(c, 0));
      case ICC.PMR_EL1:
        return BigInt(g.pmr[c]!);
      case ICC.RPR_EL1:
        return BigInt(Math.min(0xff, g.runningPriority(c)));
      case ICC.BPR0_EL1:
        return BigInt(g.bpr0[c]!);
      case ICC.BPR1_EL1:
        // With CBPR, BPR1 reads as BPR0 + 1 (saturated), the Non-secure view of the common point.
        return BigInt(g.cbpr[c] ? Math.min(7, g.bpr0[c]! + 1) : g.bpr1[c]!);
      case ICC.CTLR_EL1:
        return BigInt(CTLR_FIXED | (g.cbpr[c] ? ICC_CTLR_CBPR : 0) | (g.eoiMode[c] ? ICC_CTLR_EOIMODE : 0));
      case ICC.SRE_EL1:
        return ICC_SRE_VALUE;
      case ICC.IGRPEN0_EL1:
        return BigInt(g.igrpen0[c]!);
      case ICC.IGRPEN1_EL1:
        return BigInt(g.igrpen1[c]!);
      case ICC.AP0R0_EL1:
        return BigInt(g.ap0[c]!);
      case ICC.AP1R0_EL1:
        return BigInt(g.ap1[c]!);
      default:
        return null;
    }
  }

  write(_cpu: Cpu, key: number, value: bigint): boolean {
    const g = this.gic;
    const c = this.cpu;
    const v = Number(value & 0xffffffffn);
    switch (key) {
      case ICC.EOIR1_EL1:
        g.endOfInterrupt(c, 1, v & 0xffffff);
        return true;
      case ICC.EOIR0_EL1:
        g.endOfInterrupt(c, 0, v & 0xffffff);
        return true;
      case ICC.DIR_EL1:
        g.deactivate(c, v & 0xffffff);
        return true;
      case ICC.SGI1R_EL1:
        g.generateSgi(c, value, SgiKind.Sgi1);
        return true;
      case ICC.SGI0R_EL1:
      case ICC.ASGI1R_EL1:
        g.generateSgi(c, value, SgiKind.Group0Only);
        return true;
      case ICC.PMR_EL1:
        g.pmr[c] = v & PRIORITY_MASK;
        break;
      case ICC.BPR0_EL1:
        g.bpr0[c] = Math.max(BPR0_MIN, v & 7);
        break;
      case ICC.BPR1_EL1:
        // With CBPR set, writes to BPR1 are ignored: BPR0 controls both groups.
        if (!g.cbpr[c]) g.bpr1[c] = Math.max(BPR1_MIN, v & 7);
        break;
      case ICC.CTLR_EL1:
        g.cbpr[c] = v & ICC_CTLR_CBPR ? 1 : 0;
        g.eoiMode[c] = v & ICC_CTLR_EOIMODE ? 1 : 0;
        break;
      case ICC.SRE_EL1:
        // SRE, DFB and DIB are RAO/WI: there is no memory-mapped CPU interface.
        return true;
      case ICC.IGRPEN0_EL1:
        g.igrpen0[c] = v & 1;
        // 1-of-N targets depend on every CPU's group enables.
        g.updateAll();
        return true;
      case ICC.IGRPEN1_EL1:
        g.igrpen1[c] = v & 1;
        g.updateAll();
        return true;
      case ICC.AP0R0_EL1:
        g.ap0[c] = v;
        break;
      case ICC.AP1R0_EL1:
        g.ap1[c] = v;
        break;
      default:
        return false;
    }
    g.updateCpu(c);
    return true;
  }
}
