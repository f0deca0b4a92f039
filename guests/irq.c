/* irq.elf — interrupts through the GICv3 (Arm IHI 0069) as a small OS sets them up on QEMU
 * `virt,gic-version=3` (one security state, GICD_CTLR.DS = 1): wake the redistributor, enable the
 * system-register CPU interface, route the virtual timer's PPI 27 and an SGI as Group 1 IRQs,
 * and take them through the IRQ vector (Arm ARM D1.10) while idling in WFI. Every PASS line is
 * independent of timing, so the same lines print under QEMU; tick counts go on info lines. */
#include "rt.h"

#define GICD_BASE 0x08000000UL
#define GICR_BASE 0x080a0000UL
#define GICR_STRIDE 0x20000UL
#define GICR_SGI_OFF 0x10000UL

/* Distributor (IHI 0069 12.9). With DS = 1: EnableGrp0 [0], EnableGrp1 [1], ARE [4], DS [6], RWP [31]. */
#define GICD_CTLR 0x0000
#define GICD_TYPER 0x0004
#define CTLR_EN_GRP0 (1u << 0)
#define CTLR_EN_GRP1 (1u << 1)
#define CTLR_ARE (1u << 4)
#define CTLR_DS (1u << 6)
#define CTLR_RWP (1u << 31)

/* Redistributor RD_base (12.11) and SGI_base frames. */
#define GICR_CTLR 0x0000
#define GICR_TYPER 0x0008
#define GICR_WAKER 0x0014
#define GICR_TYPER_LAST (1u << 4)
#define WAKER_PROCESSOR_SLEEP (1u << 1)
#define WAKER_CHILDREN_ASLEEP (1u << 2)
#define GICR_CTLR_RWP (1u << 3)
#define GICR_IGROUPR0 0x0080
#define GICR_ISENABLER0 0x0100
#define GICR_ICENABLER0 0x0180
#define GICR_ICPENDR0 0x0280
#define GICR_ISACTIVER0 0x0300
#define GICR_ICACTIVER0 0x0380
#define GICR_IPRIORITYR 0x0400

#define INTID_VTIMER 27
#define INTID_SGI 5
#define INTID_SGI_MASKED 6
#define INTID_SPURIOUS 1023
#define IRQ_PRIO 0xa0 /* Linux's GICD_INT_DEF_PRI */

#define CTL_ENABLE 1UL
#define CTL_IMASK 2UL
#define CTL_ISTATUS 4UL

#define N_TICKS 5
#define INTERVAL 6250UL /* 100 us at 62.5 MHz */

#define REG32(a) (*(volatile u32 *)(a))

/* The CPU interface registers by encoding, so no assembler GIC support is needed. */
#define ICC_PMR_EL1 s3_0_c4_c6_0
#define ICC_IAR1_EL1 s3_0_c12_c12_0
#define ICC_EOIR1_EL1 s3_0_c12_c12_1
#define ICC_HPPIR1_EL1 s3_0_c12_c12_2
#define ICC_BPR1_EL1 s3_0_c12_c12_3
#define ICC_CTLR_EL1 s3_0_c12_c12_4
#define ICC_SRE_EL1 s3_0_c12_c12_5
#define ICC_IGRPEN1_EL1 s3_0_c12_c12_7
#define ICC_RPR_EL1 s3_0_c12_c11_3
#define ICC_SGI1R_EL1 s3_0_c12_c11_5
#define RD(r) READ_SYSREG(r)
#define WR(r, v) WRITE_SYSREG(r, v)

static u64 rd_base, sgi_base;

/* What the IRQ handler saw, read by main. */
static volatile u32 irq_count, timer_count, sgi_count, sgi_masked_count, other_count;
static volatile u32 last_intid, bad_vector;
static volatile u32 timer_istatus_ok, timer_after_cval_ok, timer_active_ok, timer_rpr_ok, entry_ok;
static volatile u32 sgi_active_ok, sgi_rpr_ok;
static volatile u32 unexpected_intid;

static u64 vct(void) {
  ISB();
  return READ_SYSREG(cntvct_el0);
}

static void irq_handler(void) {
  u32 intid = (u32)RD(ICC_IAR1_EL1) & 0xffffff;
  last_intid = intid;
  irq_count++;
  if (intid == INTID_SPURIOUS) {
    other_count++;
    return;
  }
  u32 active = REG32(sgi_base + GICR_ISACTIVER0);
  u64 rpr = RD(ICC_RPR_EL1);
  if (intid == INTID_VTIMER) {
    timer_count++;
    u64 ctl = READ_SYSREG(cntv_ctl_el0);
    if (ctl & CTL_ISTATUS) timer_istatus_ok++;
    if (vct() >= READ_SYSREG(cntv_cval_el0)) timer_after_cval_ok++;
    if (active & (1u << INTID_VTIMER)) timer_active_ok++;
    if (rpr == IRQ_PRIO) timer_rpr_ok++;
    /* Level-sensitive: the line stays high until the deadline moves or the timer is disabled, so
     * do that before the EOI or the interrupt is pending again at once. */
    if (timer_count < N_TICKS) {
      WRITE_SYSREG(cntv_tval_el0, INTERVAL);
    } else {
      WRITE_SYSREG(cntv_ctl_el0, 0);
    }
    ISB();
  } else if (intid == INTID_SGI || intid == INTID_SGI_MASKED) {
    if (intid == INTID_SGI)
      sgi_count++;
    else
      sgi_masked_count++;
    if (active & (1u << intid)) sgi_active_ok++;
    if (rpr == IRQ_PRIO) sgi_rpr_ok++;
  } else {
    unexpected_intid = intid;
    other_count++;
  }
  WR(ICC_EOIR1_EL1, intid);
  ISB();
}

static void hook(struct frame *f, int vec) {
  if (vec == VEC_CUR_SPX + 1) {
    /* Taken from the idle loop with PSTATE.I clear; the exception entry set DAIF.I. */
    if ((f->spsr & 0x80) == 0 && (READ_SYSREG(daif) & 0x80)) entry_ok++;
    irq_handler();
    return;
  }
  bad_vector = 1;
  printf("UNEXPECTED EXCEPTION vector %d ESR=0x%lx ELR=0x%lx\n", vec, f->esr, f->elr);
  exit_with(0xee);
}

/* Idle as an OS does: with IRQs masked, test the condition, WFI (a pending interrupt wakes it even
 * while masked, so none can be lost between the test and the WFI), then open the window. */
static void wait_until(volatile u32 *counter, u32 target) {
  __asm__ volatile("msr daifset, #2" ::: "memory");
  while (*counter < target) {
    __asm__ volatile("wfi" ::: "memory");
    __asm__ volatile("msr daifclr, #2\n\tisb\n\tmsr daifset, #2" ::: "memory");
  }
}

/* Find this CPU's redistributor: the frame whose GICR_TYPER.Affinity_Value matches MPIDR_EL1. */
static int find_redistributor(void) {
  u64 mpidr = READ_SYSREG(mpidr_el1);
  u32 aff = (u32)(((mpidr >> 32) & 0xff) << 24 | (mpidr & 0xffffff));
  for (u64 f = GICR_BASE; f < GICR_BASE + 64 * GICR_STRIDE; f += GICR_STRIDE) {
    u32 typer_lo = REG32(f + GICR_TYPER), typer_hi = REG32(f + GICR_TYPER + 4);
    if (typer_hi == aff) {
      rd_base = f;
      sgi_base = f + GICR_SGI_OFF;
      return 1;
    }
    if (typer_lo & GICR_TYPER_LAST) break;
  }
  return 0;
}

static void gicd_wait_rwp(void) {
  for (int i = 0; i < 1000000 && (REG32(GICD_BASE + GICD_CTLR) & CTLR_RWP); i++) {
  }
}

static void gicr_wait_rwp(void) {
  for (int i = 0; i < 1000000 && (REG32(rd_base + GICR_CTLR) & GICR_CTLR_RWP); i++) {
  }
}

static void gic_init(void) {
  /* Distributor: off, then affinity routing and Group 1 on (Linux writes the same with DS = 1). */
  REG32(GICD_BASE + GICD_CTLR) = 0;
  gicd_wait_rwp();
  REG32(GICD_BASE + GICD_CTLR) = CTLR_ARE | CTLR_EN_GRP1;
  gicd_wait_rwp();
  u32 ctlr = REG32(GICD_BASE + GICD_CTLR);
  printf("  GICD_CTLR = 0x%x, GICD_TYPER = 0x%x\n", ctlr, REG32(GICD_BASE + GICD_TYPER));
  check(ctlr & CTLR_DS, "gicd ctlr: DS reads 1 (a single security state)");
  check_eq(ctlr & (CTLR_ARE | CTLR_EN_GRP1), CTLR_ARE | CTLR_EN_GRP1, "gicd ctlr: ARE and EnableGrp1 read back set");

  check(find_redistributor(), "gicr typer: a redistributor's Affinity_Value matches MPIDR_EL1");
  if (!rd_base) exit_with(1);

  /* Redistributor power: it starts asleep; clear ProcessorSleep, wait for ChildrenAsleep to clear. */
  u32 waker = REG32(rd_base + GICR_WAKER);
  check_eq(waker & (WAKER_PROCESSOR_SLEEP | WAKER_CHILDREN_ASLEEP), WAKER_PROCESSOR_SLEEP | WAKER_CHILDREN_ASLEEP,
           "gicr waker: the redistributor is asleep at reset");
  REG32(rd_base + GICR_WAKER) = waker & ~WAKER_PROCESSOR_SLEEP;
  int spins = 0;
  while ((REG32(rd_base + GICR_WAKER) & WAKER_CHILDREN_ASLEEP) && spins < 1000000) spins++;
  check_eq(REG32(rd_base + GICR_WAKER) & (WAKER_PROCESSOR_SLEEP | WAKER_CHILDREN_ASLEEP), 0,
           "gicr waker: ChildrenAsleep clears after ProcessorSleep is cleared");

  /* SGIs and PPIs: all disabled and inactive, Group 1, default priority; then enable ours. */
  REG32(sgi_base + GICR_ICENABLER0) = 0xffffffff;
  gicr_wait_rwp();
  REG32(sgi_base + GICR_ICACTIVER0) = 0xffffffff;
  REG32(sgi_base + GICR_ICPENDR0) = 0xffffffff;
  REG32(sgi_base + GICR_IGROUPR0) = 0xffffffff;
  for (int i = 0; i < 32; i += 4) REG32(sgi_base + GICR_IPRIORITYR + i) = IRQ_PRIO * 0x01010101u;
  check_eq(REG32(sgi_base + GICR_IGROUPR0) & (1u << INTID_VTIMER | 1u << INTID_SGI), 1u << INTID_VTIMER | 1u << INTID_SGI,
           "gicr igroupr0: PPI 27 and SGI 5 are Group 1");
  check_eq(*(volatile u8 *)(sgi_base + GICR_IPRIORITYR + INTID_VTIMER), IRQ_PRIO,
           "gicr ipriorityr: PPI 27 priority reads back (byte access)");
  REG32(sgi_base + GICR_ISENABLER0) =
      (1u << INTID_VTIMER) | (1u << INTID_SGI) | (1u << INTID_SGI_MASKED);
  check_eq(REG32(sgi_base + GICR_ISENABLER0), (1u << INTID_VTIMER) | (1u << INTID_SGI) | (1u << INTID_SGI_MASKED),
           "gicr isenabler0: reads back exactly the enabled INTIDs");

  /* CPU interface (IHI 0069 12.2): system registers, unmask all priorities, Group 1 on. */
  WR(ICC_SRE_EL1, RD(ICC_SRE_EL1) | 1);
  ISB();
  check_eq(RD(ICC_SRE_EL1) & 1, 1, "icc sre: SRE reads 1 (system-register interface enabled)");
  WR(ICC_PMR_EL1, 0xff);
  WR(ICC_BPR1_EL1, 0);
  WR(ICC_CTLR_EL1, 0); /* EOImode 0: EOIR both drops priority and deactivates */
  WR(ICC_IGRPEN1_EL1, 1);
  ISB();
  u64 pmr = RD(ICC_PMR_EL1);
  printf("  ICC_PMR_EL1 = 0x%lx, ICC_BPR1_EL1 = %lu, ICC_CTLR_EL1 = 0x%lx\n", pmr, RD(ICC_BPR1_EL1), RD(ICC_CTLR_EL1));
  /* PMR implements the top PRIbits+1 bits; the rest read as zero. */
  u64 pribits = ((RD(ICC_CTLR_EL1) >> 8) & 7) + 1;
  check_eq(pmr, (0xffUL << (8 - pribits)) & 0xff, "icc pmr: 0xff reads back with the unimplemented low bits zero");
  check_eq(RD(ICC_IGRPEN1_EL1), 1, "icc igrpen1: Group 1 enabled");
  check_eq(RD(ICC_RPR_EL1), 0xff, "icc rpr: idle running priority is 0xff");
}

static void test_timer(void) {
  /* Virtual timer, TVAL deadlines, N interrupts taken from WFI. */
  WRITE_SYSREG(cntv_ctl_el0, 0);
  u64 t0 = vct();
  WRITE_SYSREG(cntv_tval_el0, INTERVAL);
  WRITE_SYSREG(cntv_ctl_el0, CTL_ENABLE);
  ISB();
  wait_until(&timer_count, N_TICKS);
  u64 t1 = vct();
  printf("  %u timer interrupts in %lu ticks (interval %lu)\n", timer_count, t1 - t0, INTERVAL);
  check_eq(last_intid, INTID_VTIMER, "vtimer irq: ICC_IAR1_EL1 gives INTID 27");
  check_eq(timer_count, N_TICKS, "vtimer irq: the handler counted 5 timer interrupts");
  check_eq(other_count, 0, "vtimer irq: no spurious or unexpected INTID was acknowledged");
  check(t1 - t0 >= N_TICKS * INTERVAL, "vtimer irq: CNTVCT advanced by at least 5 intervals");
  check_eq(timer_istatus_ok, N_TICKS, "vtimer irq: CNTV_CTL.ISTATUS was set in every handler");
  check_eq(timer_after_cval_ok, N_TICKS, "vtimer irq: taken only once CNTVCT >= CNTV_CVAL");
  check_eq(timer_active_ok, N_TICKS, "vtimer irq: PPI 27 is active (GICR_ISACTIVER0) between IAR and EOIR");
  check_eq(timer_rpr_ok, N_TICKS, "vtimer irq: ICC_RPR_EL1 is the interrupt's priority while it is active");
  check_eq(entry_ok, N_TICKS, "vtimer irq: IRQ vector entered with SPSR.I clear and DAIF.I set");
  check_eq(READ_SYSREG(cntv_ctl_el0) & CTL_ENABLE, 0, "vtimer irq: the handler disabled the timer after the last one");

  /* Nothing pending: acknowledge returns the spurious INTID and changes nothing. */
  __asm__ volatile("msr daifset, #2" ::: "memory");
  check_eq(RD(ICC_HPPIR1_EL1) & 0xffffff, INTID_SPURIOUS, "icc hppir1: 1023 when nothing is pending");
  check_eq(RD(ICC_IAR1_EL1) & 0xffffff, INTID_SPURIOUS, "icc iar1: 1023 (spurious) when nothing is pending");
  check_eq(RD(ICC_RPR_EL1), 0xff, "icc rpr: back to idle 0xff after the last EOI");
  check_eq(REG32(sgi_base + GICR_ISACTIVER0), 0, "gicr isactiver0: nothing active after the last EOI");
}

static void test_sgi(void) {
  /* SGI 5 to this CPU: ICC_SGI1R_EL1 INTID [27:24], Aff3/2/1 = 0, IRM 0, TargetList bit 0 (Aff0 0). */
  u64 mpidr = READ_SYSREG(mpidr_el1);
  u64 aff0 = mpidr & 0xff;
  u64 sgi = ((u64)INTID_SGI << 24) | (1UL << (aff0 & 15)) | (((mpidr >> 8) & 0xff) << 16) |
            (((mpidr >> 16) & 0xff) << 32) | (((mpidr >> 32) & 0xff) << 48) | ((aff0 >> 4) << 44);
  u32 before = irq_count;
  __asm__ volatile("msr daifset, #2" ::: "memory");
  WR(ICC_SGI1R_EL1, sgi);
  ISB();
  check_eq(RD(ICC_HPPIR1_EL1) & 0xffffff, INTID_SGI, "sgi: ICC_HPPIR1_EL1 shows SGI 5 pending");
  wait_until(&sgi_count, 1);
  check_eq(last_intid, INTID_SGI, "sgi: ICC_IAR1_EL1 gives INTID 5");
  check_eq(irq_count - before, 1, "sgi: one IRQ exception per SGI");
  check_eq(sgi_active_ok, 1, "sgi: SGI 5 is active between IAR and EOIR");
  check_eq(sgi_rpr_ok, 1, "sgi: ICC_RPR_EL1 is the SGI's priority while it is active");
  check_eq(RD(ICC_IAR1_EL1) & 0xffffff, INTID_SPURIOUS, "sgi: an SGI is edge-triggered, not pending again after EOIR");

  /* Priority masking: with PMR = 0x80, priority 0xa0 is not signalled and IAR returns 1023. */
  WR(ICC_PMR_EL1, 0x80);
  ISB();
  WR(ICC_SGI1R_EL1, (sgi & ~(0xfUL << 24)) | ((u64)INTID_SGI_MASKED << 24));
  ISB();
  __asm__ volatile("msr daifclr, #2\n\tisb\n\tnop\n\tnop\n\tmsr daifset, #2" ::: "memory");
  check_eq(sgi_masked_count, 0, "icc pmr: an SGI of priority 0xa0 is not taken while PMR is 0x80");
  check_eq(RD(ICC_IAR1_EL1) & 0xffffff, INTID_SPURIOUS, "icc pmr: IAR1 returns 1023 for a pending interrupt masked by PMR");
  WR(ICC_PMR_EL1, 0xff);
  ISB();
  wait_until(&sgi_masked_count, 1);
  check_eq(last_intid, INTID_SGI_MASKED, "icc pmr: raising PMR to 0xff delivers the held SGI 6");
}

int main(void) {
  printf("irq: GICv3, virtual timer PPI 27 and SGIs through the IRQ vector\n");
  exc_hook = hook;
  gic_init();
  test_timer();
  test_sgi();
  check_eq(bad_vector, 0, "vectors: only the IRQ vector (current EL, SP_ELx) was entered");
  check_eq(entry_ok, irq_count, "vectors: every IRQ was taken with SPSR.I clear and set DAIF.I in the handler");
  printf("irq: %d failures\n", fail_count);
  return fail_count;
}
