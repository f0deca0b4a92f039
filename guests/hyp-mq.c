/* hyp-mq.elf — two VMs talking over a pair of Gunyah message queues (hypervisor-abi.md §5): the
 * "ping" VM sends messages of every size from 1 to 240 bytes, the "pong" VM receives each one,
 * changes every byte and sends it back, and ping checks the replies. Both wait in WFI on their
 * queues' level-triggered VIRQs (RX not-empty, TX not-full), acknowledged through the vGIC's
 * ICC_IAR1/EOIR1 with interrupts masked, and cope with MSGQUEUE_FULL by waiting for not-full.
 *
 * Entered with x0 = the address of a struct mq_ctx the VMM wrote into guest memory. */
#include "hyp.h"

struct mq_ctx {
  u64 magic; /* MQ_CTX_MAGIC */
  u64 role; /* 0 = ping, 1 = pong; benchmark: 2 = send `count` messages on tx, 3 = receive them */
  u64 tx; /* msgqueue cap (send right) in this VM's cspace */
  u64 rx; /* msgqueue cap (receive right) */
  u64 tx_virq; /* the TX queue's not-full VIRQ in this VM's VIC */
  u64 rx_virq; /* the RX queue's not-empty VIRQ */
  u64 count; /* messages to exchange */
  u64 window; /* ping: messages in flight at most (≤ depth + 1, or both sides can block sending) */
};
#define MQ_CTX_MAGIC 0x51454d48414e5947UL /* "GYNAHMEQ" */
#define ERR_MSGQUEUE_EMPTY 60
#define ERR_MSGQUEUE_FULL 61
#define MAX_MSG 240
#define SEND_PUSH 1

static u8 buf[MAX_MSG] __attribute__((aligned(16)));
static u32 waits, fulls;

static u64 msg_size(u64 i) { return 1 + (i * 37) % MAX_MSG; }
static u8 msg_byte(u64 i, u64 k) { return (u8)(i * 7 + k * 13 + 1); }

/* Sleep until one of our VIRQs is pending, then acknowledge and end it: the queues' VIRQs are
 * level-triggered and re-evaluated at EOI, so the state is re-read from the queue afterwards. */
static void wait_irq(void) {
  u32 id = gic_ack();
  if (id == 1023) {
    waits++;
    __asm__ volatile("wfi" ::: "memory");
    id = gic_ack();
  }
  if (id != 1023) gic_eoi(id);
}

static s64 send(u64 cap, u64 size) {
  for (;;) {
    struct hyp_ret r;
    HYPCALL(0x1b, r, cap, size, (u64)buf, SEND_PUSH, 0, 0, 0, 0);
    if ((s32)r.x[0] != ERR_MSGQUEUE_FULL) return (s32)r.x[0];
    fulls++;
    wait_irq();
  }
}

/* Returns the size received, or a negative error. */
static s64 receive(u64 cap) {
  for (;;) {
    struct hyp_ret r;
    HYPCALL(0x1c, r, cap, (u64)buf, MAX_MSG, 0, 0, 0, 0, 0);
    if ((s32)r.x[0] == 0) return (s64)r.x[1];
    if ((s32)r.x[0] != ERR_MSGQUEUE_EMPTY) return -(s64)(s32)r.x[0];
    wait_irq();
  }
}

int main(u64 ctx_addr) {
  const struct mq_ctx *ctx = (const struct mq_ctx *)ctx_addr;
  if (!check_eq(ctx->magic, MQ_CTX_MAGIC, "boot context from the VMM in x0")) return fail_count;
  gic_cpu_init();
  gic_enable_spi((u32)ctx->tx_virq, 0);
  gic_enable_spi((u32)ctx->rx_virq, 0);
  u64 n = ctx->count;
  u64 bad = 0;
  if (ctx->role == 2) {
    /* Throughput: 240-byte messages as fast as the queue takes them (no per-byte work). */
    for (u64 k = 0; k < MAX_MSG; k++) buf[k] = (u8)k;
    for (u64 i = 0; i < n; i++)
      if (send(ctx->tx, MAX_MSG) != 0) bad++;
    check_eq(bad, 0, "bench sender: every send succeeded");
  } else if (ctx->role == 3) {
    for (u64 i = 0; i < n; i++)
      if (receive(ctx->rx) != MAX_MSG) bad++;
    check_eq(bad, 0, "bench receiver: every message arrived whole");
    check_eq(buf[MAX_MSG - 1], MAX_MSG - 1, "bench receiver: the last message's last byte");
  } else if (ctx->role == 1) {
    for (u64 i = 0; i < n; i++) {
      s64 size = receive(ctx->rx);
      if (size != (s64)msg_size(i)) bad++;
      for (s64 k = 0; k < size; k++) {
        if (buf[k] != msg_byte(i, (u64)k)) bad++;
        buf[k] = (u8)~buf[k];
      }
      if (send(ctx->tx, (u64)size) != 0) bad++;
    }
    check_eq(bad, 0, "pong: every message arrived whole and in order, and went back");
  } else {
    u64 sent = 0, got = 0;
    /* Keep up to `window` messages in flight: send while it is open, otherwise take a reply. */
    while (got < n) {
      if (sent < n && sent - got < ctx->window) {
        for (u64 k = 0; k < msg_size(sent); k++) buf[k] = msg_byte(sent, k);
        if (send(ctx->tx, msg_size(sent)) != 0) bad++;
        sent++;
        continue;
      }
      s64 size = receive(ctx->rx);
      if (size != (s64)msg_size(got)) bad++;
      for (s64 k = 0; k < size; k++)
        if (buf[k] != (u8)~msg_byte(got, (u64)k)) bad++;
      got++;
    }
    check_eq(bad, 0, "ping: every reply came back changed, in order, with its size");
    check_eq(got, n, "ping: all replies received");
  }
  printf("info %s waited %u times, queue full %u times\n", ctx->role ? "pong" : "ping", waits, fulls);
  return fail_count;
}
