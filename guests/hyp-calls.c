/* hyp-calls.elf — a guest of the Gunyah hypervisor (not of the bare board): hypercalls on both
 * entry paths (`hvc #0x6000+N` and SMCCC through `hvc #0`), SMCCC identification, PSCI through
 * `hvc #0` and `smc #0` with CPU_ON of a second vCPU that makes its own hypercall and powers
 * itself off, and a doorbell whose virtual interrupt is taken through the vGIC.
 *
 * Entered with x0 = the address of a struct hyp_ctx the VMM wrote into guest memory. Prints
 * PASS/FAIL lines on the PL011 (which the VMM emulates) and exits through PSCI SYSTEM_OFF. */
#include "hyp.h"

struct hyp_ctx {
  u64 magic; /* HYP_CTX_MAGIC */
  u64 doorbell; /* cap (in this VM's cspace) of a doorbell bound to `doorbell_virq` of its VIC */
  u64 doorbell_virq;
};
#define HYP_CTX_MAGIC 0x53544841594e5547UL /* "GUNYAHTS" */

/* Shared with the secondary vCPU. */
static volatile u64 sec_done, sec_mpidr, sec_api;
static u8 sec_stack[4096] __attribute__((aligned(16)));
static struct secondary sec;

static void secondary_main(u64 arg) {
  struct hyp_ret r;
  HYPCALL(0x00, r, 0, 0, 0, 0, 0, 0, 0, 0);
  sec_api = r.x[0];
  sec_mpidr = READ_SYSREG(mpidr_el1);
  DSB(sy);
  sec_done = arg;
}

static volatile u32 irq_count, irq_intid;
static volatile u64 irq_flags;
static u64 doorbell_cap;

static void hook(struct frame *f, int vec) {
  if (vec == VEC_CUR_SPX + 1) {
    u32 intid = gic_ack();
    irq_intid = intid;
    if (intid != 1023) {
      struct hyp_ret r;
      HYPCALL(0x13, r, doorbell_cap, ~0UL, 0, 0, 0, 0, 0, 0); /* doorbell_receive, clear all */
      irq_flags |= r.x[1];
      irq_count++;
      gic_eoi(intid);
    }
    return;
  }
  printf("UNEXPECTED EXCEPTION vector %d ESR=0x%lx ELR=0x%lx FAR=0x%lx\n", vec, f->esr, f->elr, f->far);
  exit_with(0xee);
}

int main(u64 ctx_addr) {
  const struct hyp_ctx *ctx = (const struct hyp_ctx *)ctx_addr;
  if (!check_eq(ctx->magic, HYP_CTX_MAGIC, "boot context from the VMM in x0")) return fail_count;
  struct hyp_ret r;

  /* §9.5: hypervisor_identify on the native path. */
  HYPCALL(0x00, r, 0, 0, 0, 0, 0, 0, 0, 0);
  check_eq(r.x[0], 0x5100000000008001UL, "hvc #0x6000 hypervisor_identify: api_info");
  check_eq(r.x[1], 0x10000EFFUL, "hypervisor_identify: api_flags0");
  check_eq(r.x[2] | r.x[3] | r.x[4] | r.x[5] | r.x[6] | r.x[7], 0, "hypervisor_identify: x2..x7 zero");

  /* §1.2: the same call through SMCCC. */
  r = smccc_hvc(SMCCC_HYPCALL(0x00), 0, 0, 0, 0, 0, 0);
  check_eq(r.x[0], 0x5100000000008001UL, "SMCCC 0xC6008000 hypervisor_identify: api_info in x0");

  /* §9.4: SMCCC version, features and the vendor-hypervisor UID. */
  check_eq(smccc_hvc(0x80000000UL, 0, 0, 0, 0, 0, 0).x[0], 0x10003, "SMCCC_VERSION 1.3");
  check_eq(smccc_hvc(0x80000001UL, 0x80000000UL, 0, 0, 0, 0, 0).x[0], 0, "SMCCC_ARCH_FEATURES(VERSION)");
  check_eq(smccc_hvc(0x80000001UL, 0x80008000UL, 0, 0, 0, 0, 0).x[0], 0xffffffffUL,
           "SMCCC_ARCH_FEATURES(WORKAROUND_1) not supported");
  r = smccc_hvc(0x8600FF01UL, 0, 0, 0, 0, 0, 0);
  check_eq(r.x[0], 0xcd8fd5c1UL, "vendor-hyp CALL_UID word 0");
  check_eq(r.x[3], 0x145f3d67UL, "vendor-hyp CALL_UID word 3");

  /* §9.3: PSCI on both conduits. */
  check_eq(psci_call(PSCI_VERSION, 0, 0, 0), 0x10001, "PSCI_VERSION (hvc) 1.1");
  check_eq(smccc_smc(PSCI_VERSION, 0, 0, 0), 0x10001, "PSCI_VERSION (smc) 1.1");
  check_eq(psci_call(PSCI_FEATURES, PSCI_CPU_ON64, 0, 0), 0, "PSCI_FEATURES(CPU_ON64)");
  check_eq(psci_call(PSCI_AFFINITY_INFO, 1, 0, 0), 1, "AFFINITY_INFO(vCPU 1) OFF before CPU_ON");
  sec.stack_top = (u64)(sec_stack + sizeof sec_stack);
  sec.fn = (u64)secondary_main;
  sec.arg = 0x51;
  DSB(sy);
  check_eq(psci_call(PSCI_CPU_ON64, 1, (u64)secondary_entry, (u64)&sec), 0, "CPU_ON64 vCPU 1");
  check_eq(psci_call(PSCI_CPU_ON64, 1, (u64)secondary_entry, (u64)&sec), (u64)-4L,
           "CPU_ON64 again: ALREADY_ON, sign-extended");
  while (sec_done == 0) {
  }
  check_eq(sec_done, 0x51, "vCPU 1 ran its function with our argument");
  check_eq(sec_api, 0x5100000000008001UL, "vCPU 1 made its own hypercall");
  check_eq(sec_mpidr, 0x80000001UL, "vCPU 1 MPIDR_EL1: Aff0 = 1");
  while (psci_call(PSCI_AFFINITY_INFO, 1, 0, 0) != 1) {
  }
  check(1, "vCPU 1 powered itself off (AFFINITY_INFO OFF)");

  /* §6, §7, §9.1: a doorbell's VIRQ through the vGIC, taken as an IRQ exception. */
  doorbell_cap = ctx->doorbell;
  exc_hook = hook;
  gic_cpu_init();
  gic_enable_spi((u32)ctx->doorbell_virq, 0);
  __asm__ volatile("msr daifclr, #2" ::: "memory");
  HYPCALL(0x12, r, doorbell_cap, 0x5, 0, 0, 0, 0, 0, 0); /* doorbell_send */
  check_eq(r.x[0], 0, "doorbell_send OK");
  check_eq(r.x[1], 0, "doorbell_send: old flags 0");
  while (irq_count == 0) __asm__ volatile("wfi");
  check_eq(irq_intid, ctx->doorbell_virq, "the doorbell's VIRQ was taken");
  check_eq(irq_flags, 0x5, "doorbell_receive in the handler returned the flags sent");
  HYPCALL(0x12, r, doorbell_cap, 0x8, 0, 0, 0, 0, 0, 0);
  while (irq_count == 1) __asm__ volatile("wfi");
  check_eq(irq_flags, 0xd, "a second send raised the VIRQ again");
  check_eq(irq_count, 2, "one interrupt per send");
  __asm__ volatile("msr daifset, #2" ::: "memory");
  return fail_count;
}
