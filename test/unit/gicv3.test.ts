// The GICv3 model (Arm IHI 0069) with affinity routing and GICD_CTLR.DS = 1, driven through its MMIO
// frames and its ICC_*_EL1 system-register interface as a Linux guest on QEMU `virt` drives it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeCpu, RAM_BASE } from '../helpers/cpu.js';
import type { Cpu } from '../../src/arch/aarch64/cpu.js';
import { Gicv3, affinityFromMpidr, type Gicv3Options } from '../../src/machine/gicv3/index.js';
import { ICC } from '../../src/machine/gicv3/regs.js';

// GICD offsets
const CTLR = 0x0000;
const TYPER = 0x0004;
const ISENABLER = 0x0100;
const ICENABLER = 0x0180;
const ISPENDR = 0x0200;
const ICPENDR = 0x0280;
const ISACTIVER = 0x0300;
const IGROUPR = 0x0080;
const IPRIORITYR = 0x0400;
const ICFGR = 0x0c00;
const IROUTER = 0x6000;
const PIDR2 = 0xffe8;
// GICR offsets
const RD_TYPER = 0x0008;
const RD_WAKER = 0x0014;
const SGI = 0x10000;
const STRIDE = 0x20000;

const dummy: Cpu = makeCpu(1 << 16).cpu;

interface Lines {
  irq: boolean;
  fiq: boolean;
  changes: number;
}

function setup(opts: Partial<Gicv3Options> = {}) {
  const gic = new Gicv3({ cpus: 2, ...opts });
  const lines: Lines[] = [];
  for (let c = 0; c < gic.cpus; c++) {
    const l: Lines = { irq: false, fiq: false, changes: -1 };
    lines.push(l);
    gic.connect(c, (irq, fiq) => {
      l.irq = irq;
      l.fiq = fiq;
      l.changes++;
    });
  }
  const d = gic.distributor;
  const r = gic.redistributors;
  const t = {
    gic,
    lines,
    dr: (off: number) => Number(d.read(off, 4)),
    dw: (off: number, v: number) => d.write(off, 4, BigInt(v >>> 0)),
    rr: (c: number, off: number) => Number(r.read(c * STRIDE + off, 4)),
    rw: (c: number, off: number, v: number) => r.write(c * STRIDE + off, 4, BigInt(v >>> 0)),
    sr: (c: number, key: number) => {
      const v = gic.cpuInterface(c).read(dummy, key);
      assert.notEqual(v, null, `sysreg ${key} readable`);
      return Number(v);
    },
    sw: (c: number, key: number, v: number | bigint) =>
      assert.ok(gic.cpuInterface(c).write(dummy, key, BigInt(v)), `sysreg ${key} writable`),
    /** What Linux's gic-v3 driver does: distributor on (ARE, Group 0 and 1), redistributor awake, SGIs/PPIs Group 1, PMR 0xF0, Group 1 enabled. */
    boot() {
      t.dw(CTLR, 0x13);
      for (let c = 0; c < gic.cpus; c++) {
        t.rw(c, RD_WAKER, 0);
        t.rw(c, SGI + IGROUPR, 0xffffffff);
        t.sw(c, ICC.PMR_EL1, 0xf0);
        t.sw(c, ICC.IGRPEN1_EL1, 1);
      }
      for (let w = 1; w < 9; w++) t.dw(IGROUPR + 4 * w, 0xffffffff);
    },
    /** Enable SPI `id` at priority `prio`, Group 1 (after boot). */
    spi(id: number, prio: number) {
      d.write(IPRIORITYR + id, 1, BigInt(prio));
      t.dw(ISENABLER + 4 * (id >>> 5), 1 << (id & 31));
    },
  };
  return t;
}

test('GICv3 §4.1 interrupt lifecycle: an enabled pending SPI raises IRQ; ICC_IAR1_EL1 returns its INTID, makes it active and drops the line; ICC_EOIR1_EL1 deactivates it', () => {
  const t = setup();
  t.boot();
  t.spi(40, 0x80);
  assert.equal(t.lines[0]!.irq, false);
  t.gic.pulseSpi(40);
  assert.equal(t.lines[0]!.irq, true, 'IRQ raised on CPU 0 (IROUTER resets to affinity 0.0.0.0)');
  assert.equal(t.lines[0]!.fiq, false, 'Group 1 signals IRQ, not FIQ');
  assert.equal(t.lines[1]!.irq, false, 'not routed to CPU 1');
  assert.equal(t.sr(0, ICC.HPPIR1_EL1), 40);
  assert.equal(t.sr(0, ICC.IAR1_EL1), 40);
  assert.equal(t.lines[0]!.irq, false, 'line falls once acknowledged');
  assert.equal(t.dr(ISACTIVER + 4) & (1 << 8), 1 << 8, 'active');
  assert.equal(t.dr(ISPENDR + 4) & (1 << 8), 0, 'no longer pending');
  assert.equal(t.sr(0, ICC.RPR_EL1), 0x80, 'running priority is the acknowledged priority');
  assert.equal(t.sr(0, ICC.AP1R0_EL1), 1 << (0x80 >> 3));
  t.sw(0, ICC.EOIR1_EL1, 40);
  assert.equal(t.dr(ISACTIVER + 4), 0, 'inactive after EOI (EOImode 0)');
  assert.equal(t.sr(0, ICC.RPR_EL1), 0xff, 'idle running priority');
  assert.equal(t.sr(0, ICC.IAR1_EL1), 1023);
});

test('GICv3 §2.2.1 special INTIDs: ICC_IAR1_EL1 returns 1023 when nothing is pending, when the interrupt is disabled, and when the highest pending interrupt is Group 0', () => {
  const t = setup();
  t.boot();
  assert.equal(t.sr(0, ICC.IAR1_EL1), 1023);
  assert.equal(t.sr(0, ICC.HPPIR1_EL1), 1023);
  t.gic.pulseSpi(50); // pending but not enabled
  assert.equal(t.sr(0, ICC.IAR1_EL1), 1023);
  // SPI 33 as Group 0 with Group 0 enabled in the CPU interface: FIQ, not IRQ.
  t.dw(IGROUPR + 4, 0xffffffff & ~(1 << 1));
  t.sw(0, ICC.IGRPEN0_EL1, 1);
  t.spi(33, 0x10);
  t.gic.pulseSpi(33);
  assert.deepEqual([t.lines[0]!.irq, t.lines[0]!.fiq], [false, true], 'Group 0 signals FIQ');
  assert.equal(t.sr(0, ICC.IAR1_EL1), 1023, 'IAR1 does not acknowledge a Group 0 interrupt');
  assert.equal(t.sr(0, ICC.HPPIR1_EL1), 1023);
  assert.equal(t.sr(0, ICC.HPPIR0_EL1), 33);
  assert.equal(t.sr(0, ICC.IAR0_EL1), 33);
  assert.equal(t.lines[0]!.fiq, false);
  t.sw(0, ICC.EOIR0_EL1, 33);
  assert.equal(t.sr(0, ICC.RPR_EL1), 0xff);
});

test('GICv3 §4.8 priority masking: an interrupt is signalled only if its priority is strictly higher (lower value) than ICC_PMR_EL1', () => {
  const t = setup();
  t.boot();
  t.sw(0, ICC.PMR_EL1, 0xa0);
  t.spi(34, 0xa0);
  t.gic.pulseSpi(34);
  assert.equal(t.lines[0]!.irq, false, 'equal to the mask: not signalled');
  assert.equal(t.sr(0, ICC.HPPIR1_EL1), 34, 'HPPIR ignores the mask');
  assert.equal(t.sr(0, ICC.IAR1_EL1), 1023, 'IAR does not acknowledge a masked interrupt');
  t.sw(0, ICC.PMR_EL1, 0xa8);
  assert.equal(t.lines[0]!.irq, true, 'raising the mask signals it');
  t.sw(0, ICC.PMR_EL1, 0);
  assert.equal(t.lines[0]!.irq, false, 'PMR 0 masks everything');
  t.sw(0, ICC.PMR_EL1, 0xff);
  assert.equal(t.sr(0, ICC.PMR_EL1), 0xf8, '5 priority bits: the low 3 bits are RAZ/WI');
});

test('GICv3 §4.8 preemption: while one interrupt is active only a higher group priority than the running priority is signalled', () => {
  const t = setup();
  t.boot();
  t.spi(35, 0xc0);
  t.spi(36, 0x40);
  t.spi(37, 0xc0);
  t.gic.pulseSpi(35);
  assert.equal(t.sr(0, ICC.IAR1_EL1), 35);
  t.gic.pulseSpi(37);
  assert.equal(t.lines[0]!.irq, false, 'same priority does not preempt');
  assert.equal(t.sr(0, ICC.IAR1_EL1), 1023);
  t.gic.pulseSpi(36);
  assert.equal(t.lines[0]!.irq, true, 'higher priority preempts');
  assert.equal(t.sr(0, ICC.IAR1_EL1), 36);
  assert.equal(t.sr(0, ICC.RPR_EL1), 0x40);
  t.sw(0, ICC.EOIR1_EL1, 36);
  assert.equal(t.sr(0, ICC.RPR_EL1), 0xc0, 'back to the preempted priority');
  assert.equal(t.lines[0]!.irq, false, '37 still cannot preempt 35');
  t.sw(0, ICC.EOIR1_EL1, 35);
  assert.equal(t.lines[0]!.irq, true, '37 is signalled once 35 completes');
  assert.equal(t.sr(0, ICC.IAR1_EL1), 37);
});

test('GICv3 §4.8 priority grouping: ICC_BPR1_EL1 decides which priority bits form the group priority used for preemption', () => {
  const t = setup();
  t.boot();
  t.spi(38, 0x60);
  t.spi(39, 0x50);
  t.sw(0, ICC.BPR1_EL1, 6); // group priority = bits [7:6]: 0x60 and 0x50 are both group 0x40
  t.gic.pulseSpi(38);
  assert.equal(t.sr(0, ICC.IAR1_EL1), 38);
  assert.equal(t.sr(0, ICC.RPR_EL1), 0x40);
  t.gic.pulseSpi(39);
  assert.equal(t.lines[0]!.irq, false, 'same group priority: no preemption');
  t.sw(0, ICC.EOIR1_EL1, 38);
  assert.equal(t.sr(0, ICC.IAR1_EL1), 39);
  t.sw(0, ICC.EOIR1_EL1, 39);
  t.sw(0, ICC.BPR1_EL1, 5); // bits [7:5]: 0x60 vs 0x40
  t.gic.pulseSpi(38);
  assert.equal(t.sr(0, ICC.IAR1_EL1), 38);
  t.gic.pulseSpi(39);
  assert.equal(t.lines[0]!.irq, true, 'group priority 0x40 preempts 0x60');
  t.sw(0, ICC.BPR1_EL1, 0);
  assert.equal(t.sr(0, ICC.BPR1_EL1), 3, 'BPR1 minimum is 3 with 5 priority bits');
  t.sw(0, ICC.BPR0_EL1, 0);
  assert.equal(t.sr(0, ICC.BPR0_EL1), 2, 'BPR0 minimum is 2');
});

test('GICv3 §4.8 arbitration: among equal priorities the lowest INTID wins; a private PPI and an SPI compete on priority', () => {
  const t = setup();
  t.boot();
  t.spi(70, 0x80);
  t.spi(45, 0x80);
  t.gic.pulseSpi(70);
  t.gic.pulseSpi(45);
  assert.equal(t.sr(0, ICC.HPPIR1_EL1), 45);
  t.rw(0, SGI + IPRIORITYR + 24, 0x70 << 24); // PPI 27 at 0x70
  t.rw(0, SGI + ISENABLER, 1 << 27);
  t.gic.setPpiLevel(0, 27, true);
  assert.equal(t.sr(0, ICC.HPPIR1_EL1), 27, 'higher priority PPI first');
  assert.equal(t.sr(1, ICC.HPPIR1_EL1), 1023, "CPU 1 does not see CPU 0's PPI");
});

test('GICv3 §4.1 level-sensitive interrupts stay pending while the line is high, also across acknowledge (active and pending)', () => {
  const t = setup();
  t.boot();
  t.spi(41, 0x80); // ICFGR resets to level-sensitive
  t.gic.setSpiLevel(41, true);
  assert.equal(t.sr(0, ICC.IAR1_EL1), 41);
  assert.equal(t.dr(ISPENDR + 4) & (1 << 9), 1 << 9, 'still pending');
  assert.equal(t.dr(ISACTIVER + 4) & (1 << 9), 1 << 9, 'and active');
  assert.equal(t.lines[0]!.irq, false, 'an active-and-pending interrupt is not signalled again');
  t.dw(ICPENDR + 4, 1 << 9);
  assert.equal(t.dr(ISPENDR + 4) & (1 << 9), 1 << 9, 'ICPENDR cannot clear a level that is still asserted');
  t.sw(0, ICC.EOIR1_EL1, 41);
  assert.equal(t.lines[0]!.irq, true, 'signalled again after deactivation');
  t.gic.setSpiLevel(41, false);
  assert.equal(t.lines[0]!.irq, false, 'dropping the line removes the pending state');
  assert.equal(t.sr(0, ICC.IAR1_EL1), 1023);
});

test('GICv3 §4.1 edge-triggered interrupts are cleared by acknowledge and pend again only on a new rising edge', () => {
  const t = setup();
  t.boot();
  t.spi(42, 0x80);
  t.dw(ICFGR + 8, 2 << (2 * (42 - 32))); // ICFGR2 covers INTIDs 32..47
  assert.equal(t.dr(ICFGR + 8), 2 << 20);
  t.gic.setSpiLevel(42, true);
  assert.equal(t.sr(0, ICC.IAR1_EL1), 42);
  assert.equal(t.dr(ISPENDR + 4) & (1 << 10), 0, 'not pending though the line is still high');
  t.sw(0, ICC.EOIR1_EL1, 42);
  assert.equal(t.lines[0]!.irq, false, 'no new edge, no interrupt');
  t.gic.setSpiLevel(42, false);
  t.gic.setSpiLevel(42, true);
  assert.equal(t.lines[0]!.irq, true, 'new rising edge');
});

test('GICv3 §4.4 SGIs: ICC_SGI1R_EL1 with a TargetList sets the SGI pending on the CPU itself or on another CPU; IRM = 1 targets all others', () => {
  const t = setup({ cpus: 3 });
  t.boot();
  for (let c = 0; c < 3; c++) t.rw(c, SGI + ISENABLER, 0xffff);
  // INTID 3 to Aff0 = 0 (self): TargetList bit 0.
  t.sw(0, ICC.SGI1R_EL1, (3n << 24n) | 1n);
  assert.deepEqual(
    t.lines.map((l) => l.irq),
    [true, false, false],
  );
  assert.equal(t.sr(0, ICC.IAR1_EL1), 3);
  t.sw(0, ICC.EOIR1_EL1, 3);
  // INTID 5 to CPU 2 (TargetList bit 2).
  t.sw(0, ICC.SGI1R_EL1, (5n << 24n) | 4n);
  assert.deepEqual(
    t.lines.map((l) => l.irq),
    [false, false, true],
  );
  assert.equal(t.sr(2, ICC.IAR1_EL1), 5);
  assert.equal(t.rr(2, SGI + ISACTIVER), 1 << 5, "active in CPU 2's redistributor");
  t.sw(2, ICC.EOIR1_EL1, 5);
  // Aff1 = 1 names no CPU.
  t.sw(0, ICC.SGI1R_EL1, (1n << 16n) | (6n << 24n) | 7n);
  assert.deepEqual(
    t.lines.map((l) => l.irq),
    [false, false, false],
  );
  // IRM: every CPU but the sender.
  t.sw(1, ICC.SGI1R_EL1, (1n << 40n) | (7n << 24n));
  assert.deepEqual(
    t.lines.map((l) => l.irq),
    [true, false, true],
  );
});

test('GICv3 §12 ICC_SGI0R_EL1 and ICC_ASGI1R_EL1 with DS = 1 only set SGIs that the target configures as Group 0', () => {
  const t = setup();
  t.boot();
  t.rw(1, SGI + ISENABLER, 0xffff);
  t.sw(1, ICC.IGRPEN0_EL1, 1);
  t.sw(0, ICC.SGI0R_EL1, (2n << 24n) | 2n);
  assert.equal(t.rr(1, SGI + ISPENDR), 0, 'SGI 2 is Group 1 on CPU 1: not forwarded');
  t.rw(1, SGI + IGROUPR, 0xffffffff & ~(1 << 2));
  t.sw(0, ICC.ASGI1R_EL1, (2n << 24n) | 2n);
  assert.equal(t.rr(1, SGI + ISPENDR), 1 << 2);
  assert.equal(t.lines[1]!.fiq, true, 'Group 0 SGI signals FIQ');
});

test('GICv3 §7.1 GICR_WAKER: the redistributor resets asleep and ChildrenAsleep follows ProcessorSleep (the handshake Linux waits for)', () => {
  const t = setup();
  assert.equal(t.rr(0, RD_WAKER), 0x6, 'ProcessorSleep | ChildrenAsleep');
  t.rw(0, RD_WAKER, 0);
  assert.equal(t.rr(0, RD_WAKER) & 4, 0, 'ChildrenAsleep cleared: awake');
  assert.equal(t.rr(1, RD_WAKER), 0x6, 'per CPU');
  t.rw(0, RD_WAKER, 2);
  assert.equal(t.rr(0, RD_WAKER), 0x6);
  const awake = setup({ asleepAtReset: false });
  assert.equal(awake.rr(0, RD_WAKER), 0);
});

test('GICv3 §12 GICR_TYPER: 64-bit affinity, processor number and Last only on the last redistributor, found by walking the region by stride as Linux does', () => {
  const t = setup({ cpus: 4, affinities: [0, 1, 0x100, 0x01000002] });
  const seen: bigint[] = [];
  for (let off = 0; ; off += STRIDE) {
    const typer = t.gic.redistributors.read(off + RD_TYPER, 8);
    seen.push(typer);
    if (typer & 0x10n) break;
    assert.ok(seen.length < 8, 'Last bit must end the walk');
  }
  assert.deepEqual(seen, [
    0n << 32n,
    (1n << 32n) | 0x100n,
    (0x100n << 32n) | 0x200n,
    (0x01000002n << 32n) | 0x300n | 0x10n,
  ]);
  assert.equal(t.rr(3, RD_TYPER + 4), 0x01000002, '32-bit access to the high half');
  assert.equal(t.rr(3, PIDR2) >> 4, 3, 'GICR PIDR2.ArchRev = GICv3');
  t.gic.setRedistributorLast(1, true);
  assert.equal(t.rr(1, RD_TYPER) & 0x10, 0x10);
  assert.equal(t.gic.redistributor(3).read(RD_TYPER, 4), 0x310n, 'single-frame view');
  assert.equal(affinityFromMpidr(0x81_8000_0302n), 0x81000302);
});

test('GICv3 §12 GICD identification and control: PIDR2 ArchRev 3, TYPER for 256 SPIs, CTLR reads ARE and DS, IIDR', () => {
  const t = setup();
  assert.equal((t.dr(PIDR2) >> 4) & 0xf, 3);
  const typer = t.dr(TYPER);
  assert.equal(typer & 0x1f, 8, 'ITLinesNumber: 32 * (8 + 1) INTIDs');
  assert.equal((typer >>> 19) & 0x1f, 9, 'IDbits: 10-bit INTIDs');
  assert.equal((typer >>> 17) & 1, 0, 'no LPIs');
  assert.equal(t.dr(CTLR), 0x50, 'ARE | DS, groups disabled');
  t.dw(CTLR, 0x13);
  assert.equal(t.dr(CTLR), 0x53);
  assert.equal(t.dr(0x0008), 0x43b);
  const big = setup({ spis: 988, iidr: 0x47000070 });
  assert.equal(big.dr(TYPER) & 0x1f, 31);
  assert.equal(big.dr(0x0008), 0x47000070);
  assert.equal(big.dr(ISENABLER + 4 * 31), 0, 'nothing enabled');
  big.dw(ISENABLER + 4 * 31, 0xffffffff);
  assert.equal(big.dr(ISENABLER + 4 * 31), 0x0fffffff, 'INTIDs 1020..1023 are not implemented');
});

test('GICv3 §12 GICD_IPRIORITYR is byte-accessible and keeps 5 priority bits; registers of INTIDs 0..31 and reserved offsets are RAZ/WI', () => {
  const t = setup();
  const d = t.gic.distributor;
  d.write(IPRIORITYR + 33, 1, 0xffn);
  d.write(IPRIORITYR + 34, 1, 0x47n);
  assert.equal(d.read(IPRIORITYR + 33, 1), 0xf8n);
  assert.equal(t.dr(IPRIORITYR + 32), 0x0040f800);
  t.dw(IPRIORITYR + 36, 0x11223344);
  assert.equal(t.dr(IPRIORITYR + 36), 0x10203040);
  t.dw(ISENABLER, 0xffffffff);
  assert.equal(t.dr(ISENABLER), 0, 'GICD_ISENABLER0 is RAZ/WI with affinity routing');
  t.dw(IPRIORITYR, 0xffffffff);
  assert.equal(t.dr(IPRIORITYR), 0);
  t.dw(0x1234, 0xffffffff);
  assert.equal(t.dr(0x1234), 0);
  assert.equal(d.read(0x1236, 2), 0n);
  assert.equal(t.gic.redistributors.read(2 * STRIDE + RD_TYPER, 8), 0n, 'beyond the last redistributor: RAZ');
});

test('GICv3 §12 GICD_IROUTER routes an SPI by affinity; a route naming no CPU delivers nowhere', () => {
  const t = setup();
  t.boot();
  t.spi(60, 0x80);
  t.gic.distributor.write(IROUTER + 8 * 60, 8, 1n);
  assert.equal(t.gic.distributor.read(IROUTER + 8 * 60, 8), 1n);
  t.gic.pulseSpi(60);
  assert.deepEqual([t.lines[0]!.irq, t.lines[1]!.irq], [false, true]);
  t.gic.distributor.write(IROUTER + 8 * 60, 8, 0x1_0000_0000n); // Aff3 = 1
  assert.equal(t.gic.distributor.read(IROUTER + 8 * 60 + 4, 4), 1n);
  assert.deepEqual([t.lines[0]!.irq, t.lines[1]!.irq], [false, false]);
  t.gic.distributor.write(IROUTER + 8 * 60, 8, 0x8000_0000n);
  assert.equal(t.gic.distributor.read(IROUTER + 8 * 60, 8), 0n, 'IRM is RAZ/WI when No1N = 1');
  assert.equal(t.lines[0]!.irq, true);
});

test('GICv3 §4.1 EOImode 1: EOIR only drops the running priority; ICC_DIR_EL1 deactivates', () => {
  const t = setup();
  t.boot();
  t.sw(0, ICC.CTLR_EL1, 2);
  const ctlr = t.sr(0, ICC.CTLR_EL1);
  assert.equal(ctlr & 2, 2, 'EOImode');
  assert.equal((ctlr >> 8) & 7, 4, 'PRIbits: 5 bits');
  t.spi(43, 0x80);
  t.gic.pulseSpi(43);
  assert.equal(t.sr(0, ICC.IAR1_EL1), 43);
  t.sw(0, ICC.EOIR1_EL1, 43);
  assert.equal(t.sr(0, ICC.RPR_EL1), 0xff, 'priority dropped');
  assert.equal(t.dr(ISACTIVER + 4) & (1 << 11), 1 << 11, 'still active');
  t.gic.pulseSpi(43);
  assert.equal(t.lines[0]!.irq, false, 'active: not signalled again');
  t.sw(0, ICC.DIR_EL1, 43);
  assert.equal(t.dr(ISACTIVER + 4) & (1 << 11), 0);
  assert.equal(t.lines[0]!.irq, true);
});

test('GICv3 §12 group enables: disabling GICD_CTLR.EnableGrp1 or ICC_IGRPEN1_EL1 drops the IRQ; ICENABLER disables', () => {
  const t = setup();
  t.boot();
  t.spi(44, 0x80);
  t.gic.pulseSpi(44);
  assert.equal(t.lines[0]!.irq, true);
  t.dw(CTLR, 0x11);
  assert.equal(t.lines[0]!.irq, false);
  t.dw(CTLR, 0x13);
  t.sw(0, ICC.IGRPEN1_EL1, 0);
  assert.equal(t.lines[0]!.irq, false);
  t.sw(0, ICC.IGRPEN1_EL1, 1);
  assert.equal(t.lines[0]!.irq, true);
  t.dw(ICENABLER + 4, 1 << 12);
  assert.equal(t.lines[0]!.irq, false);
  assert.equal(t.sr(0, ICC.SRE_EL1), 7, 'SRE, DFB, DIB');
});

test('GICv3 §12 the CPU interface through real MRS/MSR: the IRQ line reaches the CPU, ICC_IAR1_EL1 reads the INTID, write-only and absent registers are UNDEFINED', () => {
  const { cpu, code } = makeCpu();
  const gic = new Gicv3({ cpus: 1 });
  cpu.sysregHook = gic.cpuInterface(0);
  gic.connect(0, (irq, fiq) => {
    cpu.setIrq(irq);
    cpu.setFiq(fiq);
  });
  const VBAR = RAM_BASE + 0x800;
  cpu.sys.vbarEl1 = BigInt(VBAR);
  code(RAM_BASE, [
    0xd5184601, // msr ICC_PMR_EL1, x1
    0xd518cce2, // msr ICC_IGRPEN1_EL1, x2
    0xd538cc00, // mrs x0, ICC_IAR1_EL1
    0xd518cc20, // msr ICC_EOIR1_EL1, x0
    0xd538cba3, // mrs x3, S3_0_C12_C11_5 (ICC_SGI1R_EL1 is write-only): UNDEFINED
  ]);
  code(VBAR + 0x200, [0xd503201f]);
  gic.distributor.write(0, 4, 0x12n);
  gic.redistributors.write(0x14, 4, 0n);
  gic.redistributors.write(SGI + IGROUPR, 4, 0xffffffffn);
  gic.redistributors.write(SGI + ISENABLER, 4, 1n << 30n);
  gic.redistributors.write(SGI + IPRIORITYR + 28, 4, 0xa0n << 16n);
  cpu.x[1] = 0xf0n;
  cpu.x[2] = 1n;
  cpu.step();
  cpu.step();
  gic.setPpiLevel(0, 30, true);
  assert.equal(cpu.irqLine, true);
  cpu.step();
  assert.equal(cpu.x[0], 30n);
  assert.equal(cpu.irqLine, false, 'acknowledged');
  cpu.step();
  assert.equal(cpu.irqLine, true, 'deactivated while the timer line is still high: signalled again');
  cpu.step();
  assert.equal(cpu.pc, VBAR + 0x200, 'UNDEFINED: synchronous exception');
});

test('GICv3 save/restore: a snapshot taken mid-interrupt restores registers, active priorities and outputs, and the copy behaves the same', () => {
  const a = setup();
  a.boot();
  a.spi(46, 0x80);
  a.spi(47, 0x20);
  a.gic.distributor.write(IROUTER + 8 * 47, 8, 1n);
  a.gic.pulseSpi(46);
  assert.equal(a.sr(0, ICC.IAR1_EL1), 46);
  a.gic.setSpiLevel(48, true);
  a.gic.pulseSpi(47);
  a.gic.setPpiLevel(1, 27, true);
  a.sw(1, ICC.BPR1_EL1, 5);
  const json = JSON.stringify(a.gic.save());
  const b = setup();
  b.gic.restore(JSON.parse(json) as ReturnType<Gicv3['save']>);
  assert.deepEqual(b.gic.save(), a.gic.save());
  assert.deepEqual(
    b.lines.map((l) => [l.irq, l.fiq]),
    a.lines.map((l) => [l.irq, l.fiq]),
  );
  for (const off of [CTLR, ISENABLER + 4, ISPENDR + 4, ISACTIVER + 4, IPRIORITYR + 44, 0x6000 + 8 * 47]) {
    assert.equal(b.dr(off), a.dr(off), `GICD 0x${off.toString(16)}`);
  }
  for (const k of [ICC.RPR_EL1, ICC.AP1R0_EL1, ICC.PMR_EL1, ICC.BPR1_EL1]) {
    assert.equal(b.sr(0, k), a.sr(0, k));
    assert.equal(b.sr(1, k), a.sr(1, k));
  }
  for (const t of [a, b]) {
    assert.equal(t.sr(1, ICC.IAR1_EL1), 47);
    t.sw(0, ICC.EOIR1_EL1, 46);
  }
  assert.deepEqual(b.gic.save(), a.gic.save());
  assert.throws(() => new Gicv3({ cpus: 3 }).restore(a.gic.save()), /state is for 2 CPUs/);
});

test('GICv3 §12 guest input never throws: random accesses of every size to every frame and random ICC_* writes', () => {
  const t = setup({ cpus: 2, spis: 988 });
  let s = 0x12345678;
  const rnd = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
  const keys = Object.values(ICC);
  const sizes = [1, 2, 4, 8];
  for (let i = 0; i < 20000; i++) {
    const size = sizes[rnd() & 3]!;
    const v = (BigInt(rnd()) << 32n) | BigInt(rnd());
    const dOff = rnd() & 0xffff;
    const rOff = rnd() % (3 * STRIDE);
    if (rnd() & 1) t.gic.distributor.write(dOff, size, v);
    else t.gic.distributor.read(dOff, size);
    if (rnd() & 1) t.gic.redistributors.write(rOff, size, v);
    else t.gic.redistributors.read(rOff, size);
    const c = rnd() & 1;
    const key = keys[rnd() % keys.length]!;
    if (rnd() & 1) t.gic.cpuInterface(c).write(dummy, key, v);
    else t.gic.cpuInterface(c).read(dummy, key);
    t.gic.setSpiLevel(rnd() % 1100, (rnd() & 1) === 1);
  }
  assert.equal(t.gic.cpuInterface(0).read(dummy, 0x1234), null, 'not a GIC register');
});
