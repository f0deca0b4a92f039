/* exceptions.elf — synchronous exceptions taken to EL1 and their syndromes (Arm ARM D1.10,
 * ESR_EL1 D17.2.37): SVC from EL1 and from EL0, an UNDEFINED instruction, data aborts (an
 * alignment fault on an unaligned exclusive, an external abort where no device answers), BRK,
 * a PC alignment fault and a trapped EL0 system-register access. (SP alignment checking is
 * not tested: QEMU, the oracle, does not implement SCTLR_EL1.SA.) */
#include "rt.h"

/* An address on virt where no device decodes (between virtio-mmio and the platform bus). */
#define UNMAPPED_PA 0x0b000000UL

static volatile struct {
  int count;
  int vec;
  u64 esr, elr, far, spsr;
} last;

static void hook(struct frame *f, int vec) {
  last.count++;
  last.vec = vec;
  last.esr = f->esr;
  last.elr = f->elr;
  last.far = f->far;
  last.spsr = f->spsr;
  switch (ESR_EC(f->esr)) {
    case EC_SVC64:
      break; /* ELR already points after the SVC */
    case EC_PC_ALIGN:
      f->elr = f->x[30]; /* we got here through BLR: resume at its return address */
      break;
    case EC_SP_ALIGN:
      f->elr += 4;
      break;
    default:
      f->elr += 4; /* UDF, BRK, aborts, traps: skip the instruction */
  }
}

static void reset_last(void) {
  last.count = 0;
  last.vec = -1;
  last.esr = last.elr = last.far = last.spsr = 0;
}

static void report(const char *what) {
  printf("  %s: vec=%d ESR=0x%08lx (EC=0x%02lx IL=%lu ISS=0x%07lx) ELR=0x%lx FAR=0x%lx SPSR=0x%lx\n", what,
         last.vec, last.esr, ESR_EC(last.esr), ESR_IL(last.esr), ESR_ISS(last.esr), last.elr, last.far, last.spsr);
}

/* ---- code run at EL0 ---- */

static volatile u64 el0_svc_after, el0_sysreg_at;

static u64 el0_body(u64 arg) {
  u64 after, at, v;
  __asm__ volatile("adr %0, 1f\n\tsvc #0x42\n1:" : "=r"(after)::"memory");
  el0_svc_after = after;
  /* CNTVCT_EL0 from EL0 with CNTKCTL_EL1.EL0VCTEN == 0 traps to EL1 (EC 0x18). */
  __asm__ volatile("adr %0, 1f\n1:\tmrs x5, cntvct_el0\n\tmov %1, x5" : "=r"(at), "=r"(v)::"x5", "memory");
  el0_sysreg_at = at;
  return arg * 3 + 1;
}

int main(void) {
  u64 at, after;
  exc_hook = hook;
  printf("exceptions: synchronous exceptions to EL1\n");

  /* SVC from EL1: EC 0x15, ISS = imm16, ELR = the next instruction, current-EL SPx vector. */
  reset_last();
  __asm__ volatile("adr %0, 1f\n\tsvc #0x123\n1:" : "=r"(after)::"memory");
  report("svc #0x123 at EL1");
  check(last.count == 1, "svc el1: one exception taken");
  check_eq(last.vec, VEC_CUR_SPX, "svc el1: vector is current EL with SP_ELx, synchronous");
  check_eq(ESR_EC(last.esr), EC_SVC64, "svc el1: EC is SVC64 (0x15)");
  check_eq(ESR_IL(last.esr), 1, "svc el1: IL is 1 (32-bit instruction)");
  check_eq(ESR_ISS(last.esr), 0x123, "svc el1: ISS is the immediate");
  check_eq(last.elr, after, "svc el1: ELR is the instruction after the SVC");
  check_eq(last.spsr & 0x3cf, 0x3c5, "svc el1: SPSR holds EL1h with DAIF masked");

  /* SVC from EL0, then a trapped system-register read at EL0, then return to EL1. */
  reset_last();
  WRITE_SYSREG(cntkctl_el1, 0);
  ISB();
  u64 r = run_el0(el0_body, 20);
  check_eq(r, 61, "el0: code ran at EL0 and returned its result to EL1");
  check_eq((READ_SYSREG(CurrentEL) >> 2) & 3, 1, "el0: back at EL1 after the EL0 exit call");
  check_eq(last.count, 2, "el0: two exceptions taken from EL0");
  report("mrs cntvct_el0 at EL0");
  check_eq(last.vec, VEC_LOWER64, "el0 mrs: vector is lower EL AArch64");
  check_eq(ESR_EC(last.esr), EC_SYSREG, "el0 mrs: EC is MSR/MRS trap (0x18)");
  /* ISS: Op0=3 Op2=2 Op1=3 CRn=14 Rt=5 CRm=0 Direction=1 (read). */
  check_eq(ESR_ISS(last.esr), (3UL << 20) | (2UL << 17) | (3UL << 14) | (14UL << 10) | (5UL << 5) | 1,
           "el0 mrs: ISS encodes op0/op1/CRn/CRm/op2, Rt and the direction");
  check_eq(last.elr, el0_sysreg_at, "el0 mrs: ELR is the trapped instruction");
  check_eq(last.spsr & 0xf, 0, "el0 mrs: SPSR.M is EL0t");

  /* The EL0 SVC was the first of the two; take it again to see its own syndrome. */
  reset_last();
  u64 (*body)(u64) = el0_body;
  WRITE_SYSREG(cntkctl_el1, 2); /* EL0VCTEN: now the counter read does not trap */
  ISB();
  r = run_el0(body, 1);
  report("svc #0x42 at EL0");
  check_eq(r, 4, "el0 svc: EL0 code completed");
  check_eq(last.count, 1, "el0 svc: one exception (the counter read no longer traps)");
  check_eq(last.vec, VEC_LOWER64, "el0 svc: vector is lower EL AArch64, synchronous");
  check_eq(ESR_EC(last.esr), EC_SVC64, "el0 svc: EC is SVC64 (0x15)");
  check_eq(ESR_ISS(last.esr), 0x42, "el0 svc: ISS is the immediate");
  check_eq(last.elr, el0_svc_after, "el0 svc: ELR is the instruction after the SVC");
  check_eq(last.spsr & 0xf, 0, "el0 svc: SPSR.M is EL0t");
  WRITE_SYSREG(cntkctl_el1, 0);

  /* UDF: Unknown reason (EC 0), IL 1, ISS 0, ELR = the UDF itself. */
  reset_last();
  __asm__ volatile("adr %0, 1f\n1:\tudf #0x1234" : "=r"(at)::"memory");
  report("udf #0x1234");
  check_eq(last.count, 1, "udf: one exception taken");
  check_eq(ESR_EC(last.esr), EC_UNKNOWN, "udf: EC is Unknown reason (0x00)");
  check_eq(ESR_IL(last.esr), 1, "udf: IL is 1");
  check_eq(ESR_ISS(last.esr), 0, "udf: ISS is 0");
  check_eq(last.elr, at, "udf: ELR is the UDF instruction");

  /* BRK: EC 0x3C, ISS = imm16, ELR = the BRK itself (not the next instruction). */
  reset_last();
  __asm__ volatile("adr %0, 1f\n1:\tbrk #0x77" : "=r"(at)::"memory");
  report("brk #0x77");
  check_eq(ESR_EC(last.esr), EC_BRK64, "brk: EC is BRK64 (0x3c)");
  check_eq(ESR_ISS(last.esr), 0x77, "brk: ISS is the immediate");
  check_eq(last.elr, at, "brk: ELR is the BRK instruction");

  /* LDXR from an unaligned address: alignment fault (DFSC 0b100001), WnR 0, FAR = the address. */
  static u64 words[4];
  u64 va = (u64)&words[1] + 2, tmp = 0;
  reset_last();
  __asm__ volatile("adr %0, 1f\n1:\tldxr %1, [%2]" : "=r"(at), "=r"(tmp) : "r"(va) : "memory");
  report("ldxr unaligned");
  check_eq(ESR_EC(last.esr), EC_DABT_CUR, "ldxr unaligned: EC is Data Abort, current EL (0x25)");
  check_eq(ESR_ISS(last.esr) & 0x3f, 0x21, "ldxr unaligned: DFSC is alignment fault (0x21)");
  check_eq((ESR_ISS(last.esr) >> 6) & 1, 0, "ldxr unaligned: WnR is 0 (read)");
  check_eq(last.far, va, "ldxr unaligned: FAR is the unaligned address");
  check_eq(last.elr, at, "ldxr unaligned: ELR is the LDXR");

  /* STXR to an unaligned address: an alignment fault with WnR 1, or, since it is IMPLEMENTATION
   * DEFINED whether aborts are detected before the exclusive monitor check (Arm ARM
   * AArch64.ExclusiveMonitorsPass), a plain failure (status 1) when the monitor is open. */
  u32 status = 7;
  reset_last();
  __asm__ volatile("clrex\n\tadr %0, 1f\n1:\tstxr %w1, %2, [%3]" : "=r"(at), "+r"(status) : "r"(tmp), "r"(va) : "memory");
  report("stxr unaligned");
  if (last.count) {
    check_eq(ESR_EC(last.esr), EC_DABT_CUR, "stxr unaligned: EC is Data Abort, current EL");
    check_eq(ESR_ISS(last.esr) & 0x3f, 0x21, "stxr unaligned: DFSC is alignment fault");
    check_eq((ESR_ISS(last.esr) >> 6) & 1, 1, "stxr unaligned: WnR is 1 (write)");
    check_eq(last.far, va, "stxr unaligned: FAR is the unaligned address");
  } else {
    check_eq(status, 1, "stxr unaligned: no abort, so the store-exclusive failed (status 1)");
  }
  check_eq(words[1] | words[2], 0, "stxr unaligned: memory is unchanged");

  /* A load where no device answers: synchronous external abort (DFSC 0b010000). */
  reset_last();
  __asm__ volatile("adr %0, 1f\n1:\tldr %1, [%2]" : "=r"(at), "=r"(tmp) : "r"(UNMAPPED_PA) : "memory");
  report("ldr from unmapped PA");
  check_eq(ESR_EC(last.esr), EC_DABT_CUR, "external abort: EC is Data Abort, current EL");
  check_eq(ESR_ISS(last.esr) & 0x3f, 0x10, "external abort: DFSC is synchronous external abort (0x10)");
  check_eq((ESR_ISS(last.esr) >> 6) & 1, 0, "external abort: WnR is 0");
  check_eq(last.elr, at, "external abort: ELR is the load");
  if (!((ESR_ISS(last.esr) >> 10) & 1)) check_eq(last.far, UNMAPPED_PA, "external abort: FAR is the address");

  /* BLR to a misaligned target: PC alignment fault (EC 0x22), FAR = ELR = the target. */
  reset_last();
  u64 target = (u64)&main + 2;
  __asm__ volatile("blr %0" ::"r"(target)
                   : "x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14",
                     "x15", "x16", "x17", "x30", "memory");
  report("blr to a misaligned target");
  check_eq(ESR_EC(last.esr), EC_PC_ALIGN, "pc alignment: EC is PC alignment fault (0x22)");
  check_eq(last.far, target, "pc alignment: FAR is the misaligned PC");
  check_eq(last.elr, target, "pc alignment: ELR is the misaligned PC");

  /* PSCI over HVC reaches the firmware, not our vectors. */
  reset_last();
  u64 v = psci_call(PSCI_VERSION, 0, 0, 0);
  printf("  PSCI_VERSION = 0x%lx\n", v);
  check(v >= 0x10000 && v < 0x20000 && last.count == 0, "psci: PSCI_VERSION over HVC answers 1.x from firmware");

  printf("exceptions: %d failures\n", fail_count);
  return fail_count;
}
