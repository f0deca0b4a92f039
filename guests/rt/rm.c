/* RM RPC for guests: see rm.h. Packet header (§1.3): byte 0 = 0x21 (API 1, two header words),
 * byte 1 = type | fragments << 2, u16 seq, u32 message ID, all little-endian. */
#include "rm.h"

#define TYPE_REQUEST 1
#define TYPE_REPLY 2
#define TYPE_NOTIFICATION 3
#define ERR_MSGQUEUE_EMPTY 60
#define ERR_MSGQUEUE_FULL 61
#define HYP_MSGQUEUE_SEND_N 0x1b
#define HYP_MSGQUEUE_RECEIVE_N 0x1c

static u8 txbuf[RM_MSG_SIZE] __attribute__((aligned(16)));
static u8 rxbuf[RM_MSG_SIZE] __attribute__((aligned(16)));

static u32 rd32(const u8 *p) { return (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24; }
static void wr32(u8 *p, u32 v) {
  p[0] = (u8)v;
  p[1] = (u8)(v >> 8);
  p[2] = (u8)(v >> 16);
  p[3] = (u8)(v >> 24);
}

void rm_init(struct rm_link *l) {
  gic_cpu_init();
  gic_enable_spi(l->tx_virq, 0);
  gic_enable_spi(l->rx_virq, 0);
}

/* Sleep until an interrupt is pending, then take and end it (the queue is re-read afterwards). */
static void wait_irq(void) {
  u32 id = gic_ack();
  if (id == 1023) {
    __asm__ volatile("wfi" ::: "memory");
    id = gic_ack();
  }
  if (id != 1023) gic_eoi(id);
}

u32 rm_call(struct rm_link *l, u32 id, const void *payload, u32 len, void *out, u32 out_max, u32 *out_len) {
  if (len > RM_MAX_PAYLOAD) return RM_LINK_ERROR;
  u16 seq = l->seq++;
  txbuf[0] = 0x21;
  txbuf[1] = TYPE_REQUEST; /* no continuations */
  txbuf[2] = (u8)seq;
  txbuf[3] = (u8)(seq >> 8);
  wr32(txbuf + 4, id);
  memcpy(txbuf + RM_HEADER, payload, len);
  for (;;) {
    struct hyp_ret r;
    HYPCALL(0x1b, r, l->tx_cap, RM_HEADER + len, (u64)txbuf, 1, 0, 0, 0, 0);
    if ((s32)r.x[0] == 0) break;
    if ((s32)r.x[0] != ERR_MSGQUEUE_FULL) return RM_LINK_ERROR;
    wait_irq();
  }
  for (;;) {
    struct hyp_ret r;
    HYPCALL(0x1c, r, l->rx_cap, (u64)rxbuf, RM_MSG_SIZE, 0, 0, 0, 0, 0);
    if ((s32)r.x[0] == ERR_MSGQUEUE_EMPTY) {
      wait_irq();
      continue;
    }
    if ((s32)r.x[0] != 0) return RM_LINK_ERROR;
    u32 size = (u32)r.x[1];
    if (size < RM_HEADER || rxbuf[0] != 0x21) continue;
    u32 type = rxbuf[1] & 3;
    u16 rseq = (u16)(rxbuf[2] | rxbuf[3] << 8);
    u32 rid = rd32(rxbuf + 4);
    if (type == TYPE_NOTIFICATION) {
      l->notifications++;
      l->last_notification = rid;
      continue;
    }
    if (type != TYPE_REPLY || rseq != seq || rid != id) continue;
    /* Replies of these calls fit one packet; a fragmented one is a link error here. */
    if ((rxbuf[1] >> 2) != 0 || size < RM_HEADER + 4) return RM_LINK_ERROR;
    u32 n = size - RM_HEADER - 4;
    if (n > out_max) n = out_max;
    if (out) memcpy(out, rxbuf + RM_HEADER + 4, n);
    if (out_len) *out_len = n;
    return rd32(rxbuf + RM_HEADER);
  }
}
