/* mmu.elf — stage-1 translation for the EL1&0 regime with the 4 KiB granule (Arm ARM D8):
 * identity-map RAM as Normal memory and the UART as Device memory through TTBR0 (T0SZ 25,
 * 3 levels), map a page at 0xffff0000_00000000 through TTBR1 (T1SZ 16, 4 levels), turn the MMU
 * on, then check permission faults (write to read-only, execute from XN), the access flag fault,
 * translation faults, AT S1E1R/S1E1W results in PAR_EL1 and TLBI after changing a mapping. */
#include "rt.h"

#define PAGE 4096UL
#define RAM_BASE 0x40000000UL

/* Descriptor fields (Arm ARM D8.3). */
#define D_VALID (1UL << 0)
#define D_TABLE (1UL << 1) /* table at levels 0..2, page at level 3 */
#define D_ATTR(i) ((u64)(i) << 2)
#define D_AP_RO (1UL << 7) /* AP[2]: read-only */
#define D_SH_INNER (3UL << 8)
#define D_AF (1UL << 10)
#define D_PXN (1UL << 53)
#define D_UXN (1UL << 54)

#define ATTR_NORMAL 0 /* MAIR attr0 0xff: Normal, Inner/Outer Write-Back */
#define ATTR_DEVICE 1 /* MAIR attr1 0x00: Device-nGnRnE */
#define MAIR_VALUE 0x00ffUL

#define NORMAL_PAGE (D_VALID | D_TABLE | D_ATTR(ATTR_NORMAL) | D_SH_INNER | D_AF | D_UXN)
#define NORMAL_BLOCK (D_VALID | D_ATTR(ATTR_NORMAL) | D_SH_INNER | D_AF | D_UXN)
#define DEVICE_BLOCK (D_VALID | D_ATTR(ATTR_DEVICE) | D_AF | D_UXN | D_PXN)

/* TCR_EL1: T0SZ 25, WB WA walks, inner shareable, TG0 4K; T1SZ 16, TG1 4K (0b10); IPS 40 bits. */
#define TCR_VALUE                                                                                          \
  ((25UL << 0) | (1UL << 8) | (1UL << 10) | (3UL << 12) | (0UL << 14) | (16UL << 16) | (1UL << 24) | \
   (1UL << 26) | (3UL << 28) | (2UL << 30) | (2UL << 32))

#define HIGH_VA 0xffff000000000000UL
#define UNMAPPED_VA 0x0000001000000000UL /* TTBR0 level-1 entry 64: invalid */

#define ALIGNED __attribute__((aligned(4096)))
static u64 l1_lo[512] ALIGNED, l2_dev[512] ALIGNED, l2_ram[512] ALIGNED, l3_img[512] ALIGNED;
static u64 l0_hi[512] ALIGNED, l1_hi[512] ALIGNED, l2_hi[512] ALIGNED, l3_hi[512] ALIGNED;
static volatile u64 page_rw[512] ALIGNED, page_ro[512] ALIGNED, page_af[512] ALIGNED;
static volatile u64 phys_a[512] ALIGNED, phys_b[512] ALIGNED, phys_c[512] ALIGNED;
static volatile u32 page_code[1024] ALIGNED;

static volatile struct {
  int count, fix_af;
  u64 esr, elr, far;
} last;

static volatile u64 *l3_entry(u64 va) { return &l3_img[(va - RAM_BASE) >> 12]; }

static void tlbi_va(u64 va) {
  __asm__ volatile("dsb ishst\n\ttlbi vae1, %0\n\tdsb ish\n\tisb" ::"r"((va >> 12) & 0xfffffffffffUL) : "memory");
}

static void hook(struct frame *f, int vec) {
  (void)vec;
  last.count++;
  last.esr = f->esr;
  last.elr = f->elr;
  last.far = f->far;
  u64 ec = ESR_EC(f->esr), fsc = ESR_ISS(f->esr) & 0x3f;
  if (ec == EC_IABT_CUR) {
    f->elr = f->x[30]; /* reached by BLR: return to the caller */
  } else if (ec == EC_DABT_CUR && fsc == 0x0b && last.fix_af) {
    *l3_entry(f->far & ~(PAGE - 1)) |= D_AF; /* software access-flag management; retry */
    tlbi_va(f->far);
  } else {
    f->elr += 4;
  }
}

static void reset_last(void) {
  last.count = 0;
  last.esr = last.elr = last.far = 0;
}

static u64 load(u64 va, u64 *at) {
  u64 v = 0xbad, pc;
  __asm__ volatile("adr %0, 1f\n1:\tldr %1, [%2]" : "=&r"(pc), "+r"(v) : "r"(va) : "memory");
  if (at) *at = pc;
  return v;
}

static void store(u64 va, u64 v, u64 *at) {
  u64 pc;
  __asm__ volatile("adr %0, 1f\n1:\tstr %1, [%2]" : "=&r"(pc) : "r"(v), "r"(va) : "memory");
  if (at) *at = pc;
}

static u64 call(u64 va) {
  register u64 x0 __asm__("x0") = 7;
  __asm__ volatile("blr %1"
                   : "+r"(x0)
                   : "r"(va)
                   : "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14",
                     "x15", "x16", "x17", "x30", "memory");
  return x0;
}

static u64 at_s1e1r(u64 va) {
  __asm__ volatile("at s1e1r, %0\n\tisb" ::"r"(va) : "memory");
  return READ_SYSREG(par_el1);
}

static u64 at_s1e1w(u64 va) {
  __asm__ volatile("at s1e1w, %0\n\tisb" ::"r"(va) : "memory");
  return READ_SYSREG(par_el1);
}

static void report(const char *what) {
  printf("  %s: ESR=0x%08lx (EC=0x%02lx FSC=0x%02lx WnR=%lu) ELR=0x%lx FAR=0x%lx\n", what, last.esr,
         ESR_EC(last.esr), ESR_ISS(last.esr) & 0x3f, (ESR_ISS(last.esr) >> 6) & 1, last.elr, last.far);
}

static void build_tables(void) {
  /* TTBR0: identity. 0..1 GiB: the UART's 2 MiB as Device; 1..2 GiB: RAM as Normal, with the
   * first 2 MiB (this image) in 4 KiB pages so single pages can differ. */
  l1_lo[0] = (u64)l2_dev | D_VALID | D_TABLE;
  l2_dev[UART0_BASE >> 21] = (UART0_BASE & ~0x1fffffUL) | DEVICE_BLOCK;
  l1_lo[1] = (u64)l2_ram | D_VALID | D_TABLE;
  l2_ram[0] = (u64)l3_img | D_VALID | D_TABLE;
  for (u64 i = 1; i < 512; i++) l2_ram[i] = (RAM_BASE + (i << 21)) | NORMAL_BLOCK;
  for (u64 i = 0; i < 512; i++) l3_img[i] = (RAM_BASE + (i << 12)) | NORMAL_PAGE;
  *l3_entry((u64)page_ro) |= D_AP_RO | D_PXN;
  *l3_entry((u64)page_af) &= ~D_AF;
  *l3_entry((u64)page_code) |= D_PXN;
  /* TTBR1: 0xffff0000_00000000 -> phys_c, +0x1000 -> phys_a (remapped to phys_b later). */
  l0_hi[0] = (u64)l1_hi | D_VALID | D_TABLE;
  l1_hi[0] = (u64)l2_hi | D_VALID | D_TABLE;
  l2_hi[0] = (u64)l3_hi | D_VALID | D_TABLE;
  l3_hi[0] = (u64)phys_c | NORMAL_PAGE | D_PXN;
  l3_hi[1] = (u64)phys_a | NORMAL_PAGE | D_PXN;
}

int main(void) {
  u64 at, v, par;
  exc_hook = hook;
  printf("mmu: stage-1 translation, 4 KiB granule\n");
  extern char __image_end[];
  if (!check((u64)__image_end <= RAM_BASE + 0x200000, "mmu: image fits the 2 MiB mapped with pages")) return 1;

  /* With the MMU off, AT reports the flat mapping. */
  par = at_s1e1r((u64)page_rw + 0x123);
  printf("  AT S1E1R (MMU off) PAR_EL1=0x%lx\n", par);
  check_eq(par & 1, 0, "at mmu off: PAR.F is 0");
  check_eq(par & 0xfffffffff000UL, (u64)page_rw, "at mmu off: PAR.PA is the VA");

  build_tables();
  page_ro[0] = 0x1111;
  phys_a[0] = 0xaaaa;
  phys_b[0] = 0xbbbb;
  page_af[5] = 0xaf; /* before the MMU is on: with AF = 0 even this store would fault */
  page_code[0] = 0x52800540; /* mov w0, #42 */
  page_code[1] = 0xd65f03c0; /* ret */
  __asm__ volatile("dc cvau, %0\n\tdsb ish\n\tic ivau, %0\n\tdsb ish\n\tisb" ::"r"(page_code) : "memory");

  WRITE_SYSREG(mair_el1, MAIR_VALUE);
  WRITE_SYSREG(tcr_el1, TCR_VALUE);
  WRITE_SYSREG(ttbr0_el1, (u64)l1_lo);
  WRITE_SYSREG(ttbr1_el1, (u64)l0_hi);
  __asm__ volatile("dsb ish\n\tisb\n\ttlbi vmalle1\n\tdsb ish\n\tisb" ::: "memory");
  u64 sctlr = READ_SYSREG(sctlr_el1);
  sctlr |= (1UL << 0) | (1UL << 2) | (1UL << 12); /* M, C, I */
  sctlr &= ~((1UL << 1) | (1UL << 19));           /* A (alignment checks) and WXN off */
  WRITE_SYSREG(sctlr_el1, sctlr);
  ISB();
  printf("  MMU on: SCTLR_EL1=0x%lx\n", READ_SYSREG(sctlr_el1));
  check_eq(READ_SYSREG(sctlr_el1) & 1, 1, "mmu on: SCTLR_EL1.M reads 1 and code still runs (identity map)");

  /* Normal RAM and the UART work through the tables. */
  page_rw[3] = 0x5a5a;
  check_eq(page_rw[3], 0x5a5a, "rw page: store then load through the identity map");

  /* TTBR1: the high page aliases phys_c. */
  store(HIGH_VA + 8, 0x12345678, 0);
  check_eq(phys_c[1], 0x12345678, "ttbr1: a store at 0xffff000000000008 lands in its physical page");
  phys_c[2] = 0xcafe;
  check_eq(load(HIGH_VA + 16, 0), 0xcafe, "ttbr1: a load at 0xffff000000000010 reads its physical page");
  par = at_s1e1r(HIGH_VA + 0x10);
  check_eq(par & 0xfffffffff001UL, (u64)phys_c, "ttbr1: AT S1E1R gives the physical page, F = 0");

  /* AT S1E1R on a mapped page: PA and the MAIR attribute. */
  par = at_s1e1r((u64)page_rw + 0x456);
  printf("  AT S1E1R page_rw PAR_EL1=0x%lx\n", par);
  check_eq(par & 1, 0, "at rw page: PAR.F is 0");
  check_eq(par & 0xfffffffff000UL, (u64)page_rw, "at rw page: PAR.PA is the page");
  check_eq(par >> 56, 0xff, "at rw page: PAR.ATTR is MAIR attr0 (0xff)");
  par = at_s1e1r(UART0_BASE);
  check_eq(par >> 56, 0x00, "at uart: PAR.ATTR is Device-nGnRnE (0x00)");

  /* AT S1E1W on the read-only page: permission fault at level 3 in PAR. */
  par = at_s1e1w((u64)page_ro);
  printf("  AT S1E1W page_ro PAR_EL1=0x%lx\n", par);
  check_eq(par & 1, 1, "at write ro page: PAR.F is 1");
  check_eq((par >> 1) & 0x3f, 0x0f, "at write ro page: PAR.FST is permission fault, level 3");
  par = at_s1e1r((u64)page_ro);
  check_eq(par & 1, 0, "at read ro page: PAR.F is 0");

  /* AT on an unmapped VA and on a page with AF = 0. */
  par = at_s1e1r(UNMAPPED_VA);
  printf("  AT S1E1R unmapped PAR_EL1=0x%lx\n", par);
  check_eq(par & 1, 1, "at unmapped: PAR.F is 1");
  check_eq((par >> 1) & 0x3f, 0x05, "at unmapped: PAR.FST is translation fault, level 1");
  par = at_s1e1r((u64)page_af);
  check_eq((par & 1) | (((par >> 1) & 0x3f) << 1), 1 | (0x0b << 1), "at af=0 page: PAR.FST is access flag fault, level 3");

  /* Write to the read-only page: permission fault, level 3, WnR 1; memory unchanged. */
  reset_last();
  check_eq(load((u64)page_ro, 0), 0x1111, "ro page: loads work");
  store((u64)page_ro, 0x2222, &at);
  report("store to read-only page");
  check_eq(last.count, 1, "ro page: the store faults");
  check_eq(ESR_EC(last.esr), EC_DABT_CUR, "ro page: EC is Data Abort, current EL");
  check_eq(ESR_ISS(last.esr) & 0x3f, 0x0f, "ro page: DFSC is permission fault, level 3");
  check_eq((ESR_ISS(last.esr) >> 6) & 1, 1, "ro page: WnR is 1");
  check_eq(last.far, (u64)page_ro, "ro page: FAR is the address");
  check_eq(last.elr, at, "ro page: ELR is the store");
  check_eq(page_ro[0], 0x1111, "ro page: memory is unchanged");

  /* Execute from a PXN page: instruction abort, permission fault level 3, FAR = ELR = target. */
  reset_last();
  v = call((u64)page_code);
  report("call into a PXN page");
  check_eq(last.count, 1, "xn page: the fetch faults");
  check_eq(ESR_EC(last.esr), EC_IABT_CUR, "xn page: EC is Instruction Abort, current EL (0x21)");
  check_eq(ESR_ISS(last.esr) & 0x3f, 0x0f, "xn page: IFSC is permission fault, level 3");
  check_eq(last.far, (u64)page_code, "xn page: FAR is the target");
  check_eq(last.elr, (u64)page_code, "xn page: ELR is the target");
  check_eq(v, 7, "xn page: no instruction of the page ran");
  *l3_entry((u64)page_code) &= ~D_PXN;
  tlbi_va((u64)page_code);
  reset_last();
  v = call((u64)page_code);
  check(last.count == 0 && v == 42, "xn page: after clearing PXN and TLBI VAE1 the code runs");

  /* Access flag fault: the handler sets AF and returns to the same load, which then succeeds. */
  reset_last();
  last.fix_af = 1;
  v = load((u64)&page_af[5], &at);
  last.fix_af = 0;
  report("load from a page with AF = 0");
  check_eq(last.count, 1, "af: one fault");
  check_eq(ESR_ISS(last.esr) & 0x3f, 0x0b, "af: DFSC is access flag fault, level 3");
  check_eq(last.far, (u64)&page_af[5], "af: FAR is the address");
  check_eq(last.elr, at, "af: ELR is the load");
  check_eq(v, 0xaf, "af: the retried load reads the data");

  /* Translation fault at level 1. */
  reset_last();
  load(UNMAPPED_VA + 0x20, &at);
  report("load from an unmapped VA");
  check_eq(ESR_ISS(last.esr) & 0x3f, 0x05, "unmapped: DFSC is translation fault, level 1");
  check_eq(last.far, UNMAPPED_VA + 0x20, "unmapped: FAR is the address");

  /* TLBI after changing a mapping: the new translation is used. */
  u64 va = HIGH_VA + PAGE;
  check_eq(load(va, 0), 0xaaaa, "remap: the page first maps phys_a");
  l3_hi[1] = (u64)phys_b | NORMAL_PAGE | D_PXN;
  tlbi_va(va);
  check_eq(load(va, 0), 0xbbbb, "remap: after TLBI VAE1 it maps phys_b");
  l3_hi[1] = (u64)phys_a | NORMAL_PAGE | D_PXN;
  __asm__ volatile("dsb ishst\n\ttlbi vmalle1\n\tdsb ish\n\tisb" ::: "memory");
  check_eq(load(va, 0), 0xaaaa, "remap: after TLBI VMALLE1 it maps phys_a again");
  l3_hi[1] = 0;
  tlbi_va(va);
  reset_last();
  load(va, 0);
  report("load after unmapping");
  check_eq(ESR_ISS(last.esr) & 0x3f, 0x07, "unmap: after TLBI the access is a translation fault, level 3");
  check_eq(last.far, va, "unmap: FAR is the high VA");

  printf("mmu: %d failures\n", fail_count);
  return fail_count;
}
