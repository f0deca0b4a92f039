/* hello.elf — the demo guest: who am I, where, and how fast does time run. */
#include "rt.h"

int main(void) {
  u64 el = (READ_SYSREG(CurrentEL) >> 2) & 3;
  u64 midr = READ_SYSREG(midr_el1);
  u64 frq = READ_SYSREG(cntfrq_el0);
  printf("Hello from gunyah-ts bare-metal AArch64!\n");
  printf("  CurrentEL  EL%lu\n", el);
  printf("  MIDR_EL1   0x%08lx (implementer 0x%02lx, part 0x%03lx, r%lup%lu)\n", midr, (midr >> 24) & 0xff,
         (midr >> 4) & 0xfff, (midr >> 20) & 0xf, midr & 0xf);
  printf("  CNTFRQ_EL0 %lu Hz (%lu.%lu MHz)\n", frq, frq / 1000000, (frq / 100000) % 10);
  check(el == 1, "hello: running at EL1");
  return fail_count;
}
