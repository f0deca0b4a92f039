/* echo.elf — a guest VM (linked at 0x80000000) whose console input is interrupt-driven, as a kernel's
 * PL011 driver does it: the receive interrupt (RXIM/RTIM in UARTIMSC) on SPI 33 through the vGIC,
 * WFI until it comes, then the RX FIFO drained (UARTFR.RXFE), each byte echoed. A line is echoed
 * back as `echo: <line>`; `q` on a line of its own ends the run (PSCI SYSTEM_OFF). The host VMM
 * emulates the PL011 and raises SPI 33 through a doorbell (an irqfd) when input arrives.
 * Register offsets: Arm PL011 TRM (DDI 0183). */
#include "hyp.h"

#define UART_DR 0x000
#define UART_FR 0x018
#define UART_IMSC 0x038
#define UART_ICR 0x044
#define FR_RXFE (1u << 4)
#define INT_RX (1u << 4)
#define INT_RT (1u << 6)
#define UART_SPI 33

static char line[128];
static u32 len, interrupts;

int main(void) {
  gic_cpu_init();
  gic_enable_spi(UART_SPI, 0);
  REG32(UART0_BASE + UART_IMSC) = INT_RX | INT_RT;
  printf("echo: type a line; q ends\n");
  for (;;) {
    u32 id = gic_ack();
    if (id == 1023) {
      __asm__ volatile("wfi" ::: "memory");
      continue;
    }
    interrupts++;
    while (!(REG32(UART0_BASE + UART_FR) & FR_RXFE)) {
      char c = (char)(REG32(UART0_BASE + UART_DR) & 0xff);
      if (c == '\r') continue;
      if (c != '\n' && len < sizeof line - 1) {
        line[len++] = c;
        continue;
      }
      line[len] = 0;
      if (len == 1 && line[0] == 'q') {
        printf("echo: bye after %u interrupt(s)\n", interrupts);
        gic_eoi(id);
        exit_with(0);
      }
      printf("echo: %s\n", line);
      len = 0;
    }
    REG32(UART0_BASE + UART_ICR) = INT_RX | INT_RT;
    gic_eoi(id);
  }
}
