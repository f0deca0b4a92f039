// The vGIC's memory-mapped frames as a guest sees them through Gunyah (hypervisor-abi.md §9.1):
// which accesses are allowed, which registers exist, and what the ones Gunyah emulates itself
// read as. Everything else is the VIC's GICv3 model (src/machine/gicv3), reached through its
// distributor and redistributor frames, so interrupt state has one owner.
//
// What differs from the bare board's GIC, following Gunyah's vgic vdevice handlers:
// * Access sizes: misaligned accesses, and sizes a register does not take, are refused (the
//   guest gets an abort, see vcpu-el2.ts). GICD: 32-bit anywhere; 64-bit only to IROUTER;
//   16-bit only to SETSPI_NSR/CLRSPI_NSR; 8-bit only to IPRIORITYR, ITARGETSR, CPENDSGIR,
//   SPENDSGIR. GICR: 32-bit anywhere; 64-bit at offsets up to 0xA0 (INVLPIR) and at 0xB0
//   (INVALLR) — Gunyah's check reads "offset <= INVLPIR", which admits every RD_base register
//   below it, and we keep that; 8-bit only to the SGI frame's IPRIORITYR; 16-bit never.
// * GICD_STATUSR / GICR_STATUSR record what went wrong (write 1 to clear): reading a write-only
//   register (GICD SETSPI/CLRSPI_NSR/SR, SGIR; GICR SETLPIR, CLRLPIR, INVLPIR, INVALLR) reads 0
//   and sets RWOD; writing a read-only one (GICD TYPER, IIDR, TYPER2, PIDR2; GICR IIDR, TYPER,
//   SYNCR, PIDR2) is ignored and sets WROD; reading an unknown offset reads 0 and sets RRD;
//   writing an unknown offset sets WRD and is refused (abort).
// * Identification: IIDR is Gunyah's (VGIC_IIDR); PIDR2 reads 0x30 (ArchRev 3) and is the only ID
//   register: the other PIDR/CIDR offsets are unknown registers.
// * RAZ/WI: ITARGETSR, IGRPMODR, NSACR (GICD), IGRPMODR0, NSACR (GICR). CPENDSGIR/SPENDSGIR
//   and SETSPI_SR/CLRSPI_SR and GICD_SGIR are WI; C/SPENDSGIR reads are unknown-register reads
//   (0, RRD), as in Gunyah's read handler.
// * GICR_TYPER: affinity from the VIC's MPIDR mapping, Processor_Number = GICR index, Last as the
//   attachment says (not "the last CPU"); PLPIS etc. 0. GICR_CTLR, PROPBASER, PENDBASER and SYNCR
//   read 0 (no LPIs); GICR_CTLR writes are ignored; writes to PROPBASER/PENDBASER/INVLPIR/INVALLR
//   are unknown-register writes (Gunyah's QEMU build has no LPI support compiled in).
// * 16-bit writes to SETSPI_NSR/CLRSPI_NSR act as 32-bit writes of the zero-extended value.
//
// Reads return the value, or VGIC_FAULT for a refused access; writes return false when refused.

import { GICR_SGI_BASE } from '../../machine/gicv3/regs.js';
import { VGIC_IIDR, VGIC_PIDR2, type Vic } from './vic.js';

/** A read Gunyah refuses (its VCPU_TRAP_RESULT_FAULT). */
export const VGIC_FAULT = -1n;

/** GICD_STATUSR / GICR_STATUSR bits. */
export const STATUSR = { RRD: 1, WRD: 2, RWOD: 4, WROD: 8 } as const;

const PIDR2 = 0xffe8;

// ---- GICD offsets ----
const D_CTLR = 0x0;
const D_TYPER = 0x4;
const D_IIDR = 0x8;
const D_TYPER2 = 0xc;
const D_STATUSR = 0x10;
const D_SETSPI_NSR = 0x40;
const D_CLRSPI_NSR = 0x48;
const D_SETSPI_SR = 0x50;
const D_CLRSPI_SR = 0x58;
const D_BITMAPS = 0x80; // IGROUPR .. ICACTIVER, up to 0x3FF
const D_IPRIORITYR = 0x400; // 1020 bytes
const D_ITARGETSR = 0x800; // 1020 bytes
const D_ICFGR = 0xc00; // 64 words
const D_IGRPMODR = 0xd00; // 32 words
const D_NSACR = 0xe00; // 64 words
const D_SGIR = 0xf00;
const D_CPENDSGIR = 0xf10; // 16 bytes
const D_SPENDSGIR = 0xf20; // 16 bytes
const D_IROUTER_SPI = 0x6100; // IROUTER32 .. IROUTER1019
const D_IROUTER_END = 0x6000 + 8 * 1020;

// ---- GICR offsets (RD_base, then SGI_base + ...) ----
const R_CTLR = 0x0;
const R_IIDR = 0x4;
const R_TYPER = 0x8;
const R_STATUSR = 0x10;
const R_WAKER = 0x14;
const R_SETLPIR = 0x40;
const R_CLRLPIR = 0x48;
const R_PROPBASER = 0x70;
const R_PENDBASER = 0x78;
const R_INVLPIR = 0xa0;
const R_INVALLR = 0xb0;
const R_SYNCR = 0xc0;
const S_IGROUPR0 = GICR_SGI_BASE + 0x80;
const S_ICACTIVER0 = GICR_SGI_BASE + 0x380;
const S_IPRIORITYR = GICR_SGI_BASE + 0x400; // 32 bytes
const S_ICFGR0 = GICR_SGI_BASE + 0xc00;
const S_ICFGR1 = GICR_SGI_BASE + 0xc04;
const S_IGRPMODR0 = GICR_SGI_BASE + 0xd00;
const S_NSACR = GICR_SGI_BASE + 0xe00;
const GICR_TYPER_LAST = 0x10;

const within = (off: number, base: number, len: number): boolean => off >= base && off < base + len;

// ------------------------------------------------------------------------------------- GICD

function gicdAllowed(off: number, size: number): boolean {
  if ((off & (size - 1)) !== 0) return false;
  switch (size) {
    case 4:
      return true;
    case 8:
      return off >= D_IROUTER_SPI && off < D_IROUTER_END;
    case 2:
      return off === D_SETSPI_NSR || off === D_CLRSPI_NSR;
    case 1:
      return (
        within(off, D_IPRIORITYR, 1020) ||
        within(off, D_ITARGETSR, 1020) ||
        within(off, D_CPENDSGIR, 16) ||
        within(off, D_SPENDSGIR, 16)
      );
    default:
      return false;
  }
}

/** A guest read of `size` bytes at offset `off` of `vic`'s GICD frame (VIC active). */
export function vgicGicdRead(vic: Vic, off: number, size: number): bigint {
  if (!gicdAllowed(off, size)) return VGIC_FAULT;
  const d = vic.gic!.distributor;
  if (off === D_SETSPI_NSR || off === D_CLRSPI_NSR || off === D_SETSPI_SR || off === D_CLRSPI_SR || off === D_SGIR) {
    vic.gicdStatusr |= STATUSR.RWOD;
    return 0n;
  }
  if (off === D_STATUSR) return BigInt(vic.gicdStatusr);
  if (off === PIDR2) return BigInt(VGIC_PIDR2);
  if (off === D_IIDR) return BigInt(VGIC_IIDR);
  if (
    off === D_CTLR ||
    off === D_TYPER ||
    off === D_TYPER2 ||
    within(off, D_BITMAPS, D_IPRIORITYR - D_BITMAPS) ||
    within(off, D_IPRIORITYR, 1020) ||
    within(off, D_ICFGR, 0x100) ||
    (off >= D_IROUTER_SPI && off < D_IROUTER_END)
  ) {
    return d.read(off, size);
  }
  if (within(off, D_ITARGETSR, 1020) || within(off, D_IGRPMODR, 0x80) || within(off, D_NSACR, 0x100)) return 0n;
  vic.gicdStatusr |= STATUSR.RRD;
  return 0n;
}

/** A guest write to `vic`'s GICD frame; false if refused (the guest takes an abort). */
export function vgicGicdWrite(vic: Vic, off: number, size: number, v: bigint): boolean {
  if (!gicdAllowed(off, size)) return false;
  const d = vic.gic!.distributor;
  if (off === D_TYPER || off === D_IIDR || off === D_TYPER2 || off === PIDR2) {
    vic.gicdStatusr |= STATUSR.WROD;
    return true;
  }
  if (off === D_STATUSR) {
    vic.gicdStatusr &= ~Number(v & 0xfn);
    return true;
  }
  if (off === D_SETSPI_NSR || off === D_CLRSPI_NSR) {
    d.write(off, 4, v & (size === 2 ? 0xffffn : 0xffff_ffffn));
    return true;
  }
  if (
    off === D_CTLR ||
    within(off, D_BITMAPS, D_IPRIORITYR - D_BITMAPS) ||
    within(off, D_IPRIORITYR, 1020) ||
    within(off, D_ICFGR, 0x100) ||
    (off >= D_IROUTER_SPI && off < D_IROUTER_END)
  ) {
    d.write(off, size, v);
    return true;
  }
  if (
    off === D_SETSPI_SR ||
    off === D_CLRSPI_SR ||
    off === D_SGIR ||
    within(off, D_ITARGETSR, 1020) ||
    within(off, D_IGRPMODR, 0x80) ||
    within(off, D_NSACR, 0x100) ||
    within(off, D_CPENDSGIR, 16) ||
    within(off, D_SPENDSGIR, 16)
  ) {
    return true;
  }
  vic.gicdStatusr |= STATUSR.WRD;
  return false;
}

// ------------------------------------------------------------------------------------- GICR

function gicrAllowed(off: number, size: number): boolean {
  if ((off & (size - 1)) !== 0) return false;
  switch (size) {
    case 4:
      return true;
    case 8:
      return off <= R_INVLPIR || off === R_INVALLR;
    case 1:
      return within(off, S_IPRIORITYR, 32);
    default:
      return false;
  }
}

/** Whether `off` is one of the SGI frame's bitmap registers (IGROUPR0, IS/IC ENABLER0/PENDR0/ACTIVER0). */
function sgiBitmap(off: number): boolean {
  return off >= S_IGROUPR0 && off <= S_ICACTIVER0 && (off & 0x7f) === 0;
}

/**
 * A guest read of GICR `n` (a GICR index of `vic`), with GICR_TYPER.Last = `last` as the frame
 * was reached (attached range or fixed address).
 */
export function vgicGicrRead(vic: Vic, n: number, off: number, size: number, last: boolean): bigint {
  if (!gicrAllowed(off, size)) return VGIC_FAULT;
  if (off === R_SETLPIR || off === R_CLRLPIR || off === R_INVLPIR || off === R_INVALLR) {
    vic.gicrStatusr[n] |= STATUSR.RWOD;
    return 0n;
  }
  if (off === R_TYPER || off === R_TYPER + 4) {
    const typer = (BigInt(vic.affinityOf(n)) << 32n) | BigInt((n << 8) | (last ? GICR_TYPER_LAST : 0));
    return off === R_TYPER ? typer : typer >> 32n;
  }
  if (off === R_IIDR) return BigInt(VGIC_IIDR);
  if (off === PIDR2) return BigInt(VGIC_PIDR2);
  if (off === R_STATUSR) return BigInt(vic.gicrStatusr[n]!);
  if (off === R_CTLR || off === R_PROPBASER || off === R_PENDBASER || off === R_SYNCR) return 0n;
  if (off === S_IGRPMODR0 || off === S_NSACR) return 0n;
  if (off === R_WAKER || sgiBitmap(off) || within(off, S_IPRIORITYR, 32) || off === S_ICFGR0 || off === S_ICFGR1) {
    return vic.gic!.redistributor(n).read(off, size);
  }
  vic.gicrStatusr[n] |= STATUSR.RRD;
  return 0n;
}

/** A guest write to GICR `n` of `vic`; false if refused. */
export function vgicGicrWrite(vic: Vic, n: number, off: number, size: number, v: bigint): boolean {
  if (!gicrAllowed(off, size)) return false;
  if (off === R_IIDR || off === R_TYPER || off === R_SYNCR || off === PIDR2) {
    vic.gicrStatusr[n] |= STATUSR.WROD;
    return true;
  }
  if (off === R_STATUSR) {
    vic.gicrStatusr[n] &= ~Number(v & 0xfn);
    return true;
  }
  // No LPIs: GICR_CTLR (EnableLPIs) and the direct-LPI registers ignore writes; ICFGR0 (SGIs,
  // always edge), IGRPMODR0 and NSACR are WI.
  if (off === R_CTLR || off === R_SETLPIR || off === R_CLRLPIR) return true;
  if (off === S_ICFGR0 || off === S_IGRPMODR0 || off === S_NSACR) return true;
  if (off === R_WAKER || sgiBitmap(off) || within(off, S_IPRIORITYR, 32) || off === S_ICFGR1) {
    vic.gic!.redistributor(n).write(off, size, v);
    return true;
  }
  vic.gicrStatusr[n] |= STATUSR.WRD;
  return false;
}
