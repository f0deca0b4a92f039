/* Calling the Gunyah hypervisor from a guest (hypervisor-abi.md §1): the native `hvc #0x6000+N`
 * form with arguments and results in x0..x7 (unused results zeroed, x10..x17 clobbered), the SMCCC
 * form `hvc #0` with function ID 0xC6008000+N in x0 and arguments from x1, and PSCI. Also the GIC
 * helpers a guest needs to take the hypervisor's virtual interrupts at QEMU virt's addresses. */
#ifndef GUEST_HYP_H
#define GUEST_HYP_H
#include "rt.h"

struct hyp_ret {
  u64 x[8];
};

/* A native hypercall: N is the call number (a literal), a0..a7 its arguments. */
#define HYPCALL(N, r, a0, a1, a2, a3, a4, a5, a6, a7)                                              \
  do {                                                                                             \
    register u64 _x0 __asm__("x0") = (u64)(a0);                                                    \
    register u64 _x1 __asm__("x1") = (u64)(a1);                                                    \
    register u64 _x2 __asm__("x2") = (u64)(a2);                                                    \
    register u64 _x3 __asm__("x3") = (u64)(a3);                                                    \
    register u64 _x4 __asm__("x4") = (u64)(a4);                                                    \
    register u64 _x5 __asm__("x5") = (u64)(a5);                                                    \
    register u64 _x6 __asm__("x6") = (u64)(a6);                                                    \
    register u64 _x7 __asm__("x7") = (u64)(a7);                                                    \
    __asm__ volatile("hvc #(0x6000 + " #N ")"                                                      \
                     : "+r"(_x0), "+r"(_x1), "+r"(_x2), "+r"(_x3), "+r"(_x4), "+r"(_x5), "+r"(_x6), \
                       "+r"(_x7)                                                                   \
                     :                                                                             \
                     : "x10", "x11", "x12", "x13", "x14", "x15", "x16", "x17", "memory");         \
    (r).x[0] = _x0;                                                                                \
    (r).x[1] = _x1;                                                                                \
    (r).x[2] = _x2;                                                                                \
    (r).x[3] = _x3;                                                                                \
    (r).x[4] = _x4;                                                                                \
    (r).x[5] = _x5;                                                                                \
    (r).x[6] = _x6;                                                                                \
    (r).x[7] = _x7;                                                                                \
  } while (0)

/* Call numbers used by the guests (hypervisor-abi.md §2). */
#define HYP_IDENTIFY 0x00
#define HYP_DOORBELL_SEND 0x12
#define HYP_DOORBELL_RECEIVE 0x13
#define HYP_MSGQUEUE_SEND 0x1b
#define HYP_MSGQUEUE_RECEIVE 0x1c

/* An SMCCC call through `hvc #0`: x0 = fid, x1..x6 = arguments; returns x0..x3. */
static inline struct hyp_ret smccc_hvc(u64 fid, u64 a1, u64 a2, u64 a3, u64 a4, u64 a5, u64 a6) {
  register u64 x0 __asm__("x0") = fid;
  register u64 x1 __asm__("x1") = a1;
  register u64 x2 __asm__("x2") = a2;
  register u64 x3 __asm__("x3") = a3;
  register u64 x4 __asm__("x4") = a4;
  register u64 x5 __asm__("x5") = a5;
  register u64 x6 __asm__("x6") = a6;
  __asm__ volatile("hvc #0"
                   : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3), "+r"(x4), "+r"(x5), "+r"(x6)
                   :
                   : "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14", "x15", "x16", "x17", "memory");
  struct hyp_ret r = {{x0, x1, x2, x3, x4, x5, x6, 0}};
  return r;
}

/* The same through `smc #0`. */
static inline u64 smccc_smc(u64 fid, u64 a1, u64 a2, u64 a3) {
  register u64 x0 __asm__("x0") = fid;
  register u64 x1 __asm__("x1") = a1;
  register u64 x2 __asm__("x2") = a2;
  register u64 x3 __asm__("x3") = a3;
  __asm__ volatile("smc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3)::"memory");
  return x0;
}

#define SMCCC_HYPCALL(n) (0xC6008000UL + (n))
#define PSCI_CPU_ON64 0xC4000003UL
#define PSCI_AFFINITY_INFO 0x84000004UL
#define PSCI_FEATURES 0x8400000AUL

/* Started by CPU_ON(mpidr, secondary_entry, &s): runs s.fn(s.arg) on s.stack_top, then CPU_OFF. */
struct secondary {
  u64 stack_top;
  u64 fn;
  u64 arg;
};
extern char secondary_entry[];

/* ---- the virtual GICv3 at QEMU virt's addresses (Gunyah's fixed vGIC addresses, §9.1) ---- */
#define GICD_BASE 0x08000000UL
#define GICR_BASE 0x080a0000UL
#define GICR_STRIDE 0x20000UL
#define REG32(a) (*(volatile u32 *)(a))
#define REG64(a) (*(volatile u64 *)(a))
#define ICC_PMR_EL1 s3_0_c4_c6_0
#define ICC_IAR1_EL1 s3_0_c12_c12_0
#define ICC_EOIR1_EL1 s3_0_c12_c12_1
#define ICC_SRE_EL1 s3_0_c12_c12_5
#define ICC_IGRPEN1_EL1 s3_0_c12_c12_7

/* Distributor on (ARE, Group 1), this CPU's redistributor awake, CPU interface open. */
static inline void gic_cpu_init(void) {
  u64 index = READ_SYSREG(mpidr_el1) & 0xff;
  REG32(GICD_BASE + 0x0) |= (1u << 4) | (1u << 1);
  u64 rd = GICR_BASE + index * GICR_STRIDE;
  REG32(rd + 0x14) &= ~(1u << 1); /* GICR_WAKER.ProcessorSleep */
  while (REG32(rd + 0x14) & (1u << 2)) {
  }
  WRITE_SYSREG(ICC_SRE_EL1, 7);
  WRITE_SYSREG(ICC_PMR_EL1, 0xff);
  WRITE_SYSREG(ICC_IGRPEN1_EL1, 1);
  ISB();
}

/* Enable SPI `intid` as a Group 1 interrupt routed to this CPU (level unless `edge`). */
static inline void gic_enable_spi(u32 intid, int edge) {
  u32 bit = 1u << (intid % 32);
  REG32(GICD_BASE + 0x80 + (intid / 32) * 4) |= bit; /* IGROUPR: Group 1 */
  *(volatile u8 *)(GICD_BASE + 0x400 + intid) = 0xa0; /* IPRIORITYR */
  u32 cfg = REG32(GICD_BASE + 0xc00 + (intid / 16) * 4);
  cfg &= ~(3u << ((intid % 16) * 2));
  if (edge) cfg |= 2u << ((intid % 16) * 2);
  REG32(GICD_BASE + 0xc00 + (intid / 16) * 4) = cfg;
  REG64(GICD_BASE + 0x6000 + intid * 8) = READ_SYSREG(mpidr_el1) & 0xff00ffffffUL; /* IROUTER */
  REG32(GICD_BASE + 0x100 + (intid / 32) * 4) = bit; /* ISENABLER */
}

static inline u32 gic_ack(void) { return (u32)READ_SYSREG(ICC_IAR1_EL1) & 0xffffff; }
static inline void gic_eoi(u32 intid) { WRITE_SYSREG(ICC_EOIR1_EL1, intid); }

#endif
