/* Shared runtime for the guests: PL011 output, printf-lite, PASS/FAIL checks, the C side of the
 * exception vectors, and the PSCI exit convention (`EXIT <code>` then SYSTEM_OFF). */
#include "rt.h"
#include <stdarg.h>

#define UART_DR (*(volatile u32 *)(UART0_BASE + 0x00))
#define UART_FR (*(volatile u32 *)(UART0_BASE + 0x18))
#define UART_FR_TXFF (1u << 5)

exc_hook_t exc_hook;
int fail_count;

void uart_putc(char c) {
  while (UART_FR & UART_FR_TXFF) {
  }
  UART_DR = (u8)c;
}

void uart_puts(const char *s) {
  while (*s) uart_putc(*s++);
}

static void put_u64(u64 v, unsigned base, int width, char pad, int upper) {
  char buf[24];
  const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  int n = 0;
  do {
    buf[n++] = digits[v % base];
    v /= base;
  } while (v);
  while (n < width && n < (int)sizeof buf) buf[n++] = pad;
  while (n) uart_putc(buf[--n]);
}

/* %d %i %u %x %X %c %s %p %%, with optional '0' flag, width, and l/ll/z length; '-' for %s. */
int printf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  for (const char *p = fmt; *p; p++) {
    if (*p != '%') {
      uart_putc(*p);
      continue;
    }
    p++;
    char pad = ' ';
    int width = 0, longs = 0, left = 0;
    if (*p == '-') {
      left = 1;
      p++;
    }
    if (*p == '0') {
      pad = '0';
      p++;
    }
    while (*p >= '0' && *p <= '9') width = width * 10 + (*p++ - '0');
    while (*p == 'l' || *p == 'z') {
      longs++;
      p++;
    }
    switch (*p) {
      case 'd':
      case 'i': {
        s64 v = longs ? va_arg(ap, s64) : va_arg(ap, int);
        if (v < 0) {
          uart_putc('-');
          put_u64(-(u64)v, 10, width ? width - 1 : 0, pad, 0);
        } else {
          put_u64((u64)v, 10, width, pad, 0);
        }
        break;
      }
      case 'u':
        put_u64(longs ? va_arg(ap, u64) : va_arg(ap, unsigned), 10, width, pad, 0);
        break;
      case 'x':
      case 'X':
        put_u64(longs ? va_arg(ap, u64) : va_arg(ap, unsigned), 16, width, pad, *p == 'X');
        break;
      case 'p':
        uart_puts("0x");
        put_u64((u64)va_arg(ap, void *), 16, 16, '0', 0);
        break;
      case 'c':
        uart_putc((char)va_arg(ap, int));
        break;
      case 's': {
        const char *s = va_arg(ap, const char *);
        if (!s) s = "(null)";
        int n = 0;
        while (s[n]) n++;
        if (!left)
          for (; n < width; n++) uart_putc(' ');
        uart_puts(s);
        if (left)
          for (; n < width; n++) uart_putc(' ');
        break;
      }
      case '%':
        uart_putc('%');
        break;
      case 0:
        p--;
        break;
      default:
        uart_putc('%');
        uart_putc(*p);
    }
  }
  va_end(ap);
  return 0;
}

int check(int ok, const char *name) {
  if (ok) {
    printf("PASS %s\n", name);
  } else {
    printf("FAIL %s\n", name);
    fail_count++;
  }
  return ok;
}

int check_eq(u64 got, u64 want, const char *name) {
  if (got == want) {
    printf("PASS %s\n", name);
    return 1;
  }
  printf("FAIL %s: got 0x%lx, want 0x%lx\n", name, got, want);
  fail_count++;
  return 0;
}

u64 psci_call(u64 fid, u64 a1, u64 a2, u64 a3) {
  register u64 x0 __asm__("x0") = fid;
  register u64 x1 __asm__("x1") = a1;
  register u64 x2 __asm__("x2") = a2;
  register u64 x3 __asm__("x3") = a3;
  __asm__ volatile("hvc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3)::"memory");
  return x0;
}

void exit_with(int code) {
  printf("EXIT %d\n", code);
  psci_call(PSCI_SYSTEM_OFF, 0, 0, 0);
  for (;;) __asm__ volatile("wfi");
}

extern char el0_return[];

static const char *const vec_names[16] = {
    "sync/cur-sp0", "irq/cur-sp0", "fiq/cur-sp0", "serror/cur-sp0",
    "sync/cur-spx", "irq/cur-spx", "fiq/cur-spx", "serror/cur-spx",
    "sync/lower64", "irq/lower64", "fiq/lower64", "serror/lower64",
    "sync/lower32", "irq/lower32", "fiq/lower32", "serror/lower32",
};

/* Called from the vector stubs with the saved frame (see start.S). */
void exc_dispatch(struct frame *f, int vec) {
  if (vec == VEC_LOWER64 && ESR_EC(f->esr) == EC_SVC64 && ESR_ISS(f->esr) == EL0_EXIT_SVC) {
    /* The EL0 side of run_el0 is done: return to el0_return at EL1h, DAIF masked, x0 kept. */
    f->elr = (u64)el0_return;
    f->spsr = 0x3c5;
    return;
  }
  if (exc_hook) {
    exc_hook(f, vec);
    return;
  }
  printf("UNEXPECTED EXCEPTION %s ESR=0x%lx EC=0x%lx ELR=0x%lx FAR=0x%lx SPSR=0x%lx\n", vec_names[vec & 15],
         f->esr, ESR_EC(f->esr), f->elr, f->far, f->spsr);
  exit_with(0xee);
}

/* The compiler may emit calls to these for aggregate copies and initialisation. */
void *memset(void *d, int c, size_t n) {
  u8 *p = d;
  while (n--) *p++ = (u8)c;
  return d;
}

void *memcpy(void *d, const void *s, size_t n) {
  u8 *p = d;
  const u8 *q = s;
  while (n--) *p++ = *q++;
  return d;
}
