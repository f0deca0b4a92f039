/* RM RPC for guests: see rm.h. Packet header (§1.3): byte 0 = 0x21 (API 1, two header words),
 * byte 1 = type | fragments << 2, u16 seq, u32 message ID, all little-endian. Every packet read
 * from the RX queue goes through `pump`, which files notifications in the link's ring, so neither
 * rm_call nor rm_next_notification loses the other's messages. */
#include "rm.h"
#include "fdt.h"

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

u32 rm_wait_irq(void) {
  u32 id = gic_ack();
  if (id == 1023) {
    __asm__ volatile("wfi" ::: "memory");
    id = gic_ack();
  }
  if (id != 1023) gic_eoi(id);
  return id;
}

void rm_put8(struct rm_msg *m, u32 v) {
  if (m->len < RM_MAX_PAYLOAD) m->b[m->len++] = (u8)v;
}
void rm_put16(struct rm_msg *m, u32 v) {
  rm_put8(m, v);
  rm_put8(m, v >> 8);
}
void rm_put32(struct rm_msg *m, u32 v) {
  rm_put16(m, v);
  rm_put16(m, v >> 16);
}
void rm_put64(struct rm_msg *m, u64 v) {
  rm_put32(m, (u32)v);
  rm_put32(m, (u32)(v >> 32));
}

/* What `pump` found. */
#define PUMP_EMPTY 0
#define PUMP_PACKET 1 /* a reply (or other non-notification packet) is in rxbuf */
#define PUMP_OTHER 2 /* a notification (queued, or counted as dropped) or a packet dropped */
#define PUMP_ERROR (-1)

static void queue_notification(struct rm_link *l, u32 size) {
  u32 id = rd32(rxbuf + 4);
  l->notifications++;
  l->last_notification = id;
  if (l->ring_count == RM_NOTIFY_RING) {
    l->dropped++;
    return;
  }
  struct rm_notification *n = &l->ring[(l->ring_head + l->ring_count) % RM_NOTIFY_RING];
  l->ring_count++;
  n->id = id;
  n->len = size - RM_HEADER;
  n->truncated = (rxbuf[1] >> 2) != 0;
  memcpy(n->data, rxbuf + RM_HEADER, n->len);
}

/* Read one packet from the RX queue into rxbuf (its size in *size). Notifications are queued;
 * continuations (of fragmented notifications) and malformed packets are dropped. */
static int pump(struct rm_link *l, u32 *size) {
  struct hyp_ret r;
  HYPCALL(0x1c, r, l->rx_cap, (u64)rxbuf, RM_MSG_SIZE, 0, 0, 0, 0, 0);
  if ((s32)r.x[0] == ERR_MSGQUEUE_EMPTY) return PUMP_EMPTY;
  if ((s32)r.x[0] != 0) return PUMP_ERROR;
  u32 n = (u32)r.x[1];
  if (n > RM_MSG_SIZE) n = RM_MSG_SIZE;
  *size = n;
  if (n < RM_HEADER || rxbuf[0] != 0x21) return PUMP_OTHER; /* malformed: dropped */
  u32 type = rxbuf[1] & 3;
  if (type == TYPE_NOTIFICATION) {
    queue_notification(l, n);
    return PUMP_OTHER;
  }
  if (type != TYPE_REPLY) return PUMP_OTHER; /* a continuation: dropped */
  return PUMP_PACKET;
}

static void pop_notification(struct rm_link *l, struct rm_notification *out) {
  struct rm_notification *n = &l->ring[l->ring_head];
  out->id = n->id;
  out->len = n->len;
  out->truncated = n->truncated;
  memcpy(out->data, n->data, n->len);
  l->ring_head = (l->ring_head + 1) % RM_NOTIFY_RING;
  l->ring_count--;
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
    rm_wait_irq();
  }
  for (;;) {
    u32 size = 0;
    int p = pump(l, &size);
    if (p == PUMP_ERROR) return RM_LINK_ERROR;
    if (p == PUMP_EMPTY) {
      rm_wait_irq();
      continue;
    }
    if (p != PUMP_PACKET) continue;
    u16 rseq = (u16)(rxbuf[2] | rxbuf[3] << 8);
    u32 rid = rd32(rxbuf + 4);
    if (rseq != seq || rid != id) continue;
    /* Replies of these calls fit one packet; a fragmented one is a link error here. */
    if ((rxbuf[1] >> 2) != 0 || size < RM_HEADER + 4) return RM_LINK_ERROR;
    u32 n = size - RM_HEADER - 4;
    if (n > out_max) n = out_max;
    if (out) memcpy(out, rxbuf + RM_HEADER + 4, n);
    if (out_len) *out_len = n;
    return rd32(rxbuf + RM_HEADER);
  }
}

u32 rm_next_notification(struct rm_link *l, struct rm_notification *out) {
  for (;;) {
    if (l->ring_count) {
      pop_notification(l, out);
      return RM_OK;
    }
    u32 size;
    int p = pump(l, &size);
    if (p == PUMP_ERROR) return RM_LINK_ERROR;
    if (p == PUMP_EMPTY) rm_wait_irq();
  }
}

int rm_poll_notification(struct rm_link *l, struct rm_notification *out) {
  u32 size;
  int p;
  while ((p = pump(l, &size)) != PUMP_EMPTY && p != PUMP_ERROR) {
  }
  if (!l->ring_count) return 0;
  pop_notification(l, out);
  return 1;
}

int rm_link_from_dt(const void *blob, struct rm_link *out) {
  struct fdt f;
  int e = fdt_init(&f, blob, 0);
  if (e) return e;
  int hyp = fdt_path_offset(&f, "/hypervisor");
  if (hyp < 0) return hyp;
  struct fdt_walk w;
  struct fdt_node n;
  fdt_walk_start(&w, &f);
  while ((e = fdt_walk_next(&w, &n)) == 1) {
    if (n.parent != hyp) continue;
    if (!fdt_node_compatible(&f, n.off, RM_COMPAT_QCOM) && !fdt_node_compatible(&f, n.off, RM_COMPAT_GUNYAH) &&
        !fdt_node_compatible(&f, n.off, RM_COMPAT_QCOM_1_0))
      continue;
    u64 caps[2];
    u32 virqs[2];
    int nr = fdt_reg(&f, n.off, caps, 0, 2);
    if (nr < 0) return nr;
    if (nr != 2) return FDT_ERR_BADVALUE;
    int ni = fdt_interrupts(&f, n.off, virqs, 0, 2);
    if (ni < 0) return ni;
    if (ni != 2) return FDT_ERR_BADVALUE;
    memset(out, 0, sizeof *out);
    out->tx_cap = caps[0];
    out->rx_cap = caps[1];
    out->tx_virq = virqs[0];
    out->rx_virq = virqs[1];
    return n.off;
  }
  return e < 0 ? e : FDT_ERR_NOTFOUND;
}
