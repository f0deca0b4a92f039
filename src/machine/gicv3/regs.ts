// Register offsets, bit fields and system-register encodings of the GICv3 model, written from the
// GICv3/v4 architecture specification (Arm IHI 0069), chapter 12 "Programmers' model": the
// distributor (GICD_*) and redistributor (GICR_*) register maps and the ICC_* system registers with
// their op0/op1/CRn/CRm/op2 encodings.

import { sysregKey } from '../../arch/aarch64/sysreg.js';

/** Size of the distributor frame (64 KiB). */
export const GICD_SIZE = 0x10000;
/** One redistributor: RD_base frame + SGI_base frame, 64 KiB each. */
export const GICR_STRIDE = 0x20000;
/** Offset of the SGI_base frame inside a redistributor. */
export const GICR_SGI_BASE = 0x10000;

// ---- Distributor ----
export const GICD_CTLR = 0x0000;
export const GICD_TYPER = 0x0004;
export const GICD_IIDR = 0x0008;
export const GICD_TYPER2 = 0x000c;
export const GICD_STATUSR = 0x0010;
export const GICD_SETSPI_NSR = 0x0040;
export const GICD_CLRSPI_NSR = 0x0048;
export const GICD_IGROUPR = 0x0080;
export const GICD_ISENABLER = 0x0100;
export const GICD_ICENABLER = 0x0180;
export const GICD_ISPENDR = 0x0200;
export const GICD_ICPENDR = 0x0280;
export const GICD_ISACTIVER = 0x0300;
export const GICD_ICACTIVER = 0x0380;
export const GICD_IPRIORITYR = 0x0400;
export const GICD_ITARGETSR = 0x0800;
export const GICD_ICFGR = 0x0c00;
export const GICD_IGRPMODR = 0x0d00;
export const GICD_NSACR = 0x0e00;
export const GICD_SGIR = 0x0f00;
export const GICD_IROUTER = 0x6000;

/** GICD_CTLR, layout when GICD_CTLR.DS == 1. */
export const CTLR_ENABLE_GRP0 = 1 << 0;
export const CTLR_ENABLE_GRP1 = 1 << 1;
export const CTLR_ARE = 1 << 4;
export const CTLR_DS = 1 << 6;

/** GICD_TYPER fields. */
export const TYPER_MBIS = 1 << 16;
export const TYPER_IDBITS_SHIFT = 19;
export const TYPER_A3V = 1 << 24;
export const TYPER_NO1N = 1 << 25;

// ---- Redistributor RD_base frame ----
export const GICR_CTLR = 0x0000;
export const GICR_IIDR = 0x0004;
export const GICR_TYPER = 0x0008;
export const GICR_STATUSR = 0x0010;
export const GICR_WAKER = 0x0014;
/** GICR_TYPER.Last. */
export const GICR_TYPER_LAST = 1 << 4;
/** GICR_WAKER. */
export const WAKER_PROCESSOR_SLEEP = 1 << 1;
export const WAKER_CHILDREN_ASLEEP = 1 << 2;

// ---- Redistributor SGI_base, offsets inside the SGI_base frame ----
export const GICR_IGROUPR0 = 0x0080;
export const GICR_ISENABLER0 = 0x0100;
export const GICR_ICENABLER0 = 0x0180;
export const GICR_ISPENDR0 = 0x0200;
export const GICR_ICPENDR0 = 0x0280;
export const GICR_ISACTIVER0 = 0x0300;
export const GICR_ICACTIVER0 = 0x0380;
export const GICR_IPRIORITYR = 0x0400;
export const GICR_ICFGR0 = 0x0c00;
export const GICR_ICFGR1 = 0x0c04;

// ---- Identification registers, common to GICD and GICR RD_base ----
export const ID_BASE = 0xffd0;
/** PIDR4..7, PIDR0..3, CIDR0..3 at 0xFFD0..0xFFFC. PIDR2 = ArchRev 3 (GICv3) | JEDEC | DES_1 0b011. */
// prettier-ignore
export const ID_REGS: readonly number[] = [
  0x04, 0x00, 0x00, 0x00, // PIDR4..7
  0x92, 0xb4, 0x3b, 0x00, // PIDR0..3
  0x0d, 0xf0, 0x05, 0xb1, // CIDR0..3
];
export const GICD_PIDR2 = 0xffe8;

// ---- Special INTIDs ----
export const INTID_SPURIOUS = 1023;
export const SPI_BASE = 32;
/** Largest number of SPIs without the extended range: INTIDs 32..1019. */
export const MAX_SPIS = 988;

// ---- CPU interface system registers, keys as in `sysregKey` ----
export const ICC = {
  PMR_EL1: sysregKey(3, 0, 4, 6, 0),
  IAR0_EL1: sysregKey(3, 0, 12, 8, 0),
  EOIR0_EL1: sysregKey(3, 0, 12, 8, 1),
  HPPIR0_EL1: sysregKey(3, 0, 12, 8, 2),
  BPR0_EL1: sysregKey(3, 0, 12, 8, 3),
  AP0R0_EL1: sysregKey(3, 0, 12, 8, 4),
  AP0R1_EL1: sysregKey(3, 0, 12, 8, 5),
  AP0R2_EL1: sysregKey(3, 0, 12, 8, 6),
  AP0R3_EL1: sysregKey(3, 0, 12, 8, 7),
  AP1R0_EL1: sysregKey(3, 0, 12, 9, 0),
  AP1R1_EL1: sysregKey(3, 0, 12, 9, 1),
  AP1R2_EL1: sysregKey(3, 0, 12, 9, 2),
  AP1R3_EL1: sysregKey(3, 0, 12, 9, 3),
  DIR_EL1: sysregKey(3, 0, 12, 11, 1),
  RPR_EL1: sysregKey(3, 0, 12, 11, 3),
  SGI1R_EL1: sysregKey(3, 0, 12, 11, 5),
  ASGI1R_EL1: sysregKey(3, 0, 12, 11, 6),
  SGI0R_EL1: sysregKey(3, 0, 12, 11, 7),
  IAR1_EL1: sysregKey(3, 0, 12, 12, 0),
  EOIR1_EL1: sysregKey(3, 0, 12, 12, 1),
  HPPIR1_EL1: sysregKey(3, 0, 12, 12, 2),
  BPR1_EL1: sysregKey(3, 0, 12, 12, 3),
  CTLR_EL1: sysregKey(3, 0, 12, 12, 4),
  SRE_EL1: sysregKey(3, 0, 12, 12, 5),
  IGRPEN0_EL1: sysregKey(3, 0, 12, 12, 6),
  IGRPEN1_EL1: sysregKey(3, 0, 12, 12, 7),
} as const;

/** ICC_CTLR_EL1 fields. */
export const ICC_CTLR_CBPR = 1 << 0;
export const ICC_CTLR_EOIMODE = 1 << 1;
export const ICC_CTLR_PRIBITS_SHIFT = 8;
export const ICC_CTLR_A3V = 1 << 15;

/** ICC_SRE_EL1: SRE | DFB | DIB, all fixed at 1 (no legacy memory-mapped CPU interface). */
export const ICC_SRE_VALUE = 0x7n;
