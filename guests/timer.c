/* timer.elf — the generic timer (Arm ARM D11): CNTFRQ_EL0, CNTVCT_EL0/CNTPCT_EL0 counting up,
 * the virtual and physical EL1 timers programmed through TVAL and CVAL, with ISTATUS polled
 * (IMASK set: without an interrupt controller set up, nothing is taken). */
#include "rt.h"

#define CTL_ENABLE 1UL
#define CTL_IMASK 2UL
#define CTL_ISTATUS 4UL
/* Upper bound for "plausible": one second of counter ticks (QEMU's counter follows host time). */
#define PLAUSIBLE_MAX 62500000UL

static u64 vct(void) {
  ISB();
  return READ_SYSREG(cntvct_el0);
}

static u64 pct(void) {
  ISB();
  return READ_SYSREG(cntpct_el0);
}

int main(void) {
  printf("timer: generic timer, polled\n");
  u64 frq = READ_SYSREG(cntfrq_el0);
  printf("  CNTFRQ_EL0 = %lu\n", frq);
  check_eq(frq, 62500000, "cntfrq: the counter runs at 62.5 MHz");

  u64 a = vct();
  for (volatile int i = 0; i < 1000; i++) {
  }
  u64 b = vct();
  check(b > a, "cntvct: the virtual count advances");
  u64 pa = pct();
  for (volatile int i = 0; i < 1000; i++) {
  }
  u64 p0 = pct(), v0 = vct(), p1 = pct();
  check(p0 > pa, "cntpct: the physical count advances");
  /* No EL2 on this board: CNTVOFF is treated as 0, so the two counts are the same clock. */
  check(p0 <= v0 && v0 <= p1, "cntvoff: with no EL2, CNTVCT equals CNTPCT");

  /* Virtual timer through TVAL: CVAL becomes CNTVCT + TVAL, ISTATUS sets when CNTVCT >= CVAL. */
  const u64 tval = 62500; /* 1 ms */
  WRITE_SYSREG(cntv_ctl_el0, CTL_IMASK);
  u64 before = vct();
  WRITE_SYSREG(cntv_tval_el0, tval);
  WRITE_SYSREG(cntv_ctl_el0, CTL_ENABLE | CTL_IMASK);
  ISB();
  u64 after = vct();
  u64 cval = READ_SYSREG(cntv_cval_el0);
  u64 polls = 0, ctl;
  while (!((ctl = READ_SYSREG(cntv_ctl_el0)) & CTL_ISTATUS)) polls++;
  u64 fired = vct();
  check(cval >= before + tval && cval <= after + tval, "cntv tval: CVAL is the count at the write plus TVAL");
  u64 elapsed = fired - before;
  printf("  virtual timer fired after %lu ticks (asked %lu, %lu polls)\n", elapsed, tval, polls);
  check(polls > 0, "cntv: ISTATUS is clear until the deadline");
  check(fired >= cval, "cntv: ISTATUS sets only once CNTVCT >= CVAL");
  check(elapsed >= tval && elapsed < PLAUSIBLE_MAX, "cntv: elapsed ticks are plausible");
  s32 tv = (s32)READ_SYSREG(cntv_tval_el0);
  check(tv <= 0, "cntv: TVAL reads as CVAL - CNTVCT, not positive after firing");
  check_eq(ctl & (CTL_ENABLE | CTL_IMASK), CTL_ENABLE | CTL_IMASK, "cntv: CTL keeps ENABLE and IMASK");

  /* Moving CVAL into the future clears ISTATUS; disabling the timer keeps it from firing. */
  WRITE_SYSREG(cntv_cval_el0, vct() + PLAUSIBLE_MAX * 100);
  ISB();
  check_eq(READ_SYSREG(cntv_ctl_el0) & CTL_ISTATUS, 0, "cntv: a CVAL in the future clears ISTATUS");
  WRITE_SYSREG(cntv_ctl_el0, 0);

  /* Physical timer through CVAL. */
  WRITE_SYSREG(cntp_ctl_el0, CTL_IMASK);
  u64 start = pct();
  u64 pcval = start + 62500; /* 1 ms */
  WRITE_SYSREG(cntp_cval_el0, pcval);
  WRITE_SYSREG(cntp_ctl_el0, CTL_ENABLE | CTL_IMASK);
  ISB();
  check_eq(READ_SYSREG(cntp_cval_el0), pcval, "cntp cval: reads back");
  polls = 0;
  while (!(READ_SYSREG(cntp_ctl_el0) & CTL_ISTATUS)) polls++;
  u64 pfired = pct();
  check(polls > 0, "cntp: ISTATUS is clear until the deadline");
  check(pfired >= pcval && pfired - start < PLAUSIBLE_MAX, "cntp: fires at CVAL, elapsed ticks plausible");
  WRITE_SYSREG(cntp_ctl_el0, 0);

  printf("timer: %d failures\n", fail_count);
  return fail_count;
}
