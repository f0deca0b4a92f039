/* The guests' shared runtime: PL011 console, printf-lite, checks, exception hook, PSCI exit.
 * Every guest prints `PASS name` / `FAIL name ...` lines and ends with `EXIT <code>` before
 * PSCI SYSTEM_OFF, so a test reads the result from the UART alone. */
#ifndef GUEST_RT_H
#define GUEST_RT_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long u64;
typedef signed int s32;
typedef signed long s64;
typedef unsigned long size_t;

#define UART0_BASE 0x09000000UL

#define PSCI_VERSION 0x84000000UL
#define PSCI_SYSTEM_OFF 0x84000008UL
#define PSCI_SYSTEM_RESET 0x84000009UL

/* Registers as the vector stubs save them; a handler may change any field, eret restores all. */
struct frame {
  u64 x[31];
  u64 sp_el0;
  u64 elr;
  u64 spsr;
  u64 esr;
  u64 far;
};

/* Vector index 0..15: (source group * 4) + kind. Groups: 0 current EL SP_EL0, 1 current EL SP_ELx,
 * 2 lower EL AArch64, 3 lower EL AArch32. Kinds: 0 synchronous, 1 IRQ, 2 FIQ, 3 SError. */
enum { VEC_CUR_SP0 = 0, VEC_CUR_SPX = 4, VEC_LOWER64 = 8, VEC_LOWER32 = 12 };
typedef void (*exc_hook_t)(struct frame *f, int vec);
/* Called for every exception; when null, an exception prints a report and exits with 0xEE. */
extern exc_hook_t exc_hook;

void uart_putc(char c);
void uart_puts(const char *s);
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints `PASS name` or `FAIL name`, counts failures; returns ok. */
int check(int ok, const char *name);
/* As check, with the values on the FAIL line. */
int check_eq(u64 got, u64 want, const char *name);
extern int fail_count;

/* Prints `EXIT <code>` and powers off through PSCI SYSTEM_OFF. */
__attribute__((noreturn)) void exit_with(int code);
u64 psci_call(u64 fid, u64 a1, u64 a2, u64 a3);

/* Enter `fn(arg)` at EL0 (SP_EL0 = the EL0 stack); returns fn's result when it returns or calls
 * el0_exit (both end in `svc #EL0_EXIT_SVC`, which the runtime turns back into a return at EL1). */
#define EL0_EXIT_SVC 0xfff
u64 run_el0(u64 (*fn)(u64), u64 arg);

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);

#define READ_SYSREG(name)                                   \
  ({                                                        \
    u64 _v;                                                 \
    __asm__ volatile("mrs %0, " #name : "=r"(_v)::"memory"); \
    _v;                                                     \
  })
#define WRITE_SYSREG(name, v) __asm__ volatile("msr " #name ", %0" ::"r"((u64)(v)) : "memory")
#define ISB() __asm__ volatile("isb" ::: "memory")
#define DSB(opt) __asm__ volatile("dsb " #opt ::: "memory")

/* ESR_ELx exception classes used by the guests (Arm ARM D17.2.37). */
#define EC_UNKNOWN 0x00
#define EC_SVC64 0x15
#define EC_HVC64 0x16
#define EC_SYSREG 0x18
#define EC_IABT_LOWER 0x20
#define EC_IABT_CUR 0x21
#define EC_PC_ALIGN 0x22
#define EC_DABT_LOWER 0x24
#define EC_DABT_CUR 0x25
#define EC_SP_ALIGN 0x26
#define EC_BRK64 0x3c
#define ESR_EC(e) (((e) >> 26) & 0x3f)
#define ESR_IL(e) (((e) >> 25) & 1)
#define ESR_ISS(e) ((e)&0x1ffffff)

#endif
