/* demo.elf — the two guests of `gunyah run`'s built-in demo, one program in two roles chosen by the
 * VM's name in its device tree (/hypervisor/qcom,gunyah-vm qcom,image-name): "alice" and "bob".
 * Each finds, in the /hypervisor nodes the resource manager wrote for it (RM spec §4.1), its RM
 * link, the message-queue pair between the two of them (label 1) and their doorbell (label 2);
 * alice also has a page of memory the host donated to her (shm label 3, at GIFT_BASE).
 *
 *   1. bob says hello over the queues with his VMID; alice answers; three ping/pongs follow.
 *   2. alice writes a note into her page, lends it to bob (MEM_LEND + MEM_NOTIFY SHARED) and
 *      rings the doorbell; her own access to the page is gone (an access aborts) until she
 *      reclaims it.
 *   3. bob, woken by the doorbell, takes the MEM_SHARED notification from his RM link, accepts the
 *      parcel (the RM picks the address), reads the note, writes an answer, releases the page and
 *      tells alice over the queues.
 *   4. alice reclaims the page, reads bob's answer, and both power off.
 *
 * Entered with x0 = the DT's IPA; MMU off, interrupts masked, waiting in WFI on the GIC. */
#include "fdt.h"
#include "rm.h"

#define GIFT_BASE 0x90000000UL
#define PAGE 0x1000UL
#define LABEL_MQ 1
#define LABEL_BELL 2
#define MAX_MSG 240
#define ERR_MSGQUEUE_EMPTY 60
#define ERR_MSGQUEUE_FULL 61
#define RM_MEM_ACCEPT 0x51000011u
#define RM_MEM_RELEASE 0x51000014u
#define RM_MEM_NOTIFY 0x51000017u
#define RM_NOTIFY_MEM_SHARED 0x51100011u
#define MEM_NOTIFY_SHARED 1
#define TRANS_LEND 1
#define ACCEPT_MAP_CONTIGUOUS 16
#define ACCEPT_DONE 128

struct mq {
  u64 tx, rx;
  u32 tx_virq, rx_virq;
};

static struct fdt dt;
static struct rm_link link;
static struct mq mq;
static u64 bell_cap;
static u32 bell_virq;
static u8 msg[MAX_MSG] __attribute__((aligned(16)));
static volatile u32 aborts, probing;

static void on_exception(struct frame *f, int vec) {
  if (probing && vec == VEC_CUR_SPX && ESR_EC(f->esr) == EC_DABT_CUR) {
    aborts++;
    f->elr += 4;
    return;
  }
  printf("unexpected exception: vec %d ESR 0x%lx ELR 0x%lx FAR 0x%lx\n", vec, f->esr, f->elr, f->far);
  exit_with(0xee);
}

static void fail(const char *what) {
  printf("FAIL %s\n", what);
  exit_with(1);
}

static size_t slen(const char *s) {
  size_t n = 0;
  while (s[n]) n++;
  return n;
}

static int sameprefix(const u8 *a, const char *b) {
  for (size_t i = 0; b[i]; i++)
    if (a[i] != (u8)b[i]) return 0;
  return 1;
}

/* The first /hypervisor node with `compat` and qcom,label `label` (not the RM's own link). */
static int find_vdevice(const char *compat, u32 label) {
  for (int n = fdt_next_compatible(&dt, -1, compat); n >= 0; n = fdt_next_compatible(&dt, n, compat)) {
    if (fdt_node_compatible(&dt, n, "qcom,resource-manager")) continue;
    if (fdt_getprop_u32(&dt, n, "qcom,label", ~0u) == label) return n;
  }
  return -1;
}


static void mq_send(const char *text) {
  size_t n = slen(text);
  memcpy(msg, text, n);
  for (;;) {
    struct hyp_ret r;
    HYPCALL(0x1b, r, mq.tx, n, (u64)msg, 1, 0, 0, 0, 0);
    if ((s32)r.x[0] == 0) return;
    if ((s32)r.x[0] != ERR_MSGQUEUE_FULL) fail("msgqueue_send");
    rm_wait_irq();
  }
}

/* The next message from the peer, NUL-terminated in msg. */
static u64 mq_receive(void) {
  for (;;) {
    struct hyp_ret r;
    HYPCALL(0x1c, r, mq.rx, (u64)msg, MAX_MSG - 1, 0, 0, 0, 0, 0);
    if ((s32)r.x[0] == 0) {
      msg[r.x[1]] = 0;
      return r.x[1];
    }
    if ((s32)r.x[0] != ERR_MSGQUEUE_EMPTY) fail("msgqueue_receive");
    rm_wait_irq();
  }
}

/* The request being built (rt/rm.h). */
static struct rm_msg rq;
static u32 get32(const u8 *p) { return (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24; }
static u64 get64(const u8 *p) { return (u64)get32(p) | (u64)get32(p + 4) << 32; }

static u32 parse_hex(const u8 *s) {
  u32 v = 0;
  for (; *s; s++) {
    u32 d = *s >= '0' && *s <= '9' ? (u32)(*s - '0') : *s >= 'a' && *s <= 'f' ? (u32)(*s - 'a' + 10) : 99;
    if (d == 99) break;
    v = v * 16 + d;
  }
  return v;
}

static int probe_read(u64 a) {
  u32 before = aborts;
  probing = 1;
  __asm__ volatile("ldr x9, [%0]" ::"r"(a) : "x9", "memory");
  probing = 0;
  return aborts != before;
}

static void alice(void) {
  printf("waiting for bob\n");
  mq_receive();
  if (!sameprefix(msg, "hello alice, I am bob, VMID 0x")) fail("bob's hello");
  u32 bob = parse_hex(msg + 30);
  printf("bob says: \"%s\"\n", (const char *)msg);
  mq_send("hello bob, nice to meet you");
  for (int i = 1; i <= 3; i++) {
    char ping[] = "ping 0";
    ping[5] = (char)('0' + i);
    mq_send(ping);
    mq_receive();
    printf("sent \"%s\", got \"%s\"\n", ping, (const char *)msg);
  }

  /* The page the host donated to me: mine to lend. */
  const char *note = "a note from alice, written before she lent this page";
  memcpy((void *)GIFT_BASE, note, slen(note) + 1);
  rq.len = 0;
  rm_put8(&rq, 0); /* mem_type NORMAL */
  rm_put8(&rq, 0);
  rm_put8(&rq, 0); /* flags */
  rm_put8(&rq, 0);
  rm_put32(&rq, 7); /* label */
  rm_put16(&rq, 1); /* ACL: bob RW */
  rm_put16(&rq, 0);
  rm_put16(&rq, bob);
  rm_put8(&rq, 6);
  rm_put8(&rq, 0);
  rm_put16(&rq, 1); /* SGL: the page */
  rm_put16(&rq, 0);
  rm_put64(&rq, GIFT_BASE);
  rm_put64(&rq, PAGE);
  rm_put16(&rq, 0); /* no attributes */
  rm_put16(&rq, 0);
  u32 handle = 0, got = 0;
  if (rm_call(&link, RM_MEM_LEND, rq.b, rq.len, &handle, 4, &got) != RM_OK || got != 4) fail("MEM_LEND");
  rq.len = 0;
  rm_put32(&rq, handle);
  rm_put8(&rq, MEM_NOTIFY_SHARED);
  rm_put8(&rq, 0);
  rm_put16(&rq, 0);
  rm_put32(&rq, 0); /* mem_info_tag */
  rm_put16(&rq, 1);
  rm_put16(&rq, 0);
  rm_put16(&rq, bob);
  rm_put16(&rq, 0);
  if (rm_call(&link, RM_MEM_NOTIFY, rq.b, rq.len, 0, 0, 0) != RM_OK) fail("MEM_NOTIFY");
  printf("lent page 0x%lx to bob (VMID 0x%x) as parcel %u\n", GIFT_BASE, bob, handle);
  if (probe_read(GIFT_BASE))
    printf("reading it myself now aborts: it is not mine while lent\n");
  else
    fail("the lent page is still readable");
  struct hyp_ret r;
  HYPCALL(0x12, r, bell_cap, 1, 0, 0, 0, 0, 0, 0); /* doorbell_send */
  if ((s32)r.x[0] != 0) fail("doorbell_send");
  printf("rang bob's doorbell\n");

  mq_receive();
  printf("bob says: \"%s\"\n", (const char *)msg);
  rq.len = 0;
  rm_put32(&rq, handle);
  rm_put32(&rq, 0);
  if (rm_call(&link, RM_MEM_RECLAIM, rq.b, rq.len, 0, 0, 0) != RM_OK) fail("MEM_RECLAIM");
  printf("reclaimed the page; it now says: \"%s\"\n", (const char *)GIFT_BASE);
  mq_send("thanks bob, goodbye");
}

static void bob(u32 me) {
  char hello[] = "hello alice, I am bob, VMID 0x00";
  hello[30] = "0123456789abcdef"[(me >> 4) & 15];
  hello[31] = "0123456789abcdef"[me & 15];
  mq_send(hello);
  mq_receive();
  printf("alice says: \"%s\"\n", (const char *)msg);
  for (int i = 1; i <= 3; i++) {
    mq_receive();
    char pong[] = "pong 0";
    pong[5] = msg[5];
    mq_send(pong);
  }

  /* Wait for the doorbell, then for the RM's MEM_SHARED on the link. */
  gic_enable_spi(bell_virq, 1);
  while (rm_wait_irq() != bell_virq) {
  }
  struct hyp_ret r;
  HYPCALL(0x13, r, bell_cap, ~0UL, 0, 0, 0, 0, 0, 0); /* doorbell_receive: take and clear the flags */
  printf("the doorbell rang (flags 0x%lx)\n", r.x[1]);
  struct rm_notification n;
  do {
    if (rm_next_notification(&link, &n) != RM_OK) fail("notification");
  } while (n.id != RM_NOTIFY_MEM_SHARED);
  u32 handle = get32(n.data);
  printf("the RM says alice shared parcel %u with me\n", handle);
  rq.len = 0;
  rm_put32(&rq, handle);
  rm_put8(&rq, 0); /* mem_type */
  rm_put8(&rq, TRANS_LEND);
  rm_put8(&rq, ACCEPT_MAP_CONTIGUOUS | ACCEPT_DONE);
  rm_put8(&rq, 0);
  rm_put32(&rq, 0); /* label (not validated) */
  rm_put32(&rq, 0); /* ACL: none to validate */
  rm_put32(&rq, 0); /* SGL: empty, the RM picks; map_vmid 0 */
  rm_put32(&rq, 0); /* attributes */
  u8 reply[20];
  u32 got = 0;
  if (rm_call(&link, RM_MEM_ACCEPT, rq.b, rq.len, reply, sizeof reply, &got) != RM_OK || got < 20) fail("MEM_ACCEPT");
  u64 at = get64(reply + 4);
  printf("accepted it at 0x%lx: \"%s\"\n", at, (const char *)at);
  const char *answer = "bob was here";
  memcpy((void *)at, answer, slen(answer) + 1);
  rq.len = 0;
  rm_put32(&rq, handle);
  rm_put32(&rq, 0);
  if (rm_call(&link, RM_MEM_RELEASE, rq.b, rq.len, 0, 0, 0) != RM_OK) fail("MEM_RELEASE");
  mq_send("I read your note, wrote an answer, and gave the page back");
  mq_receive();
  printf("alice says: \"%s\"\n", (const char *)msg);
}

int main(u64 x0) {
  exc_hook = on_exception;
  int e = fdt_init(&dt, (const void *)x0, 0);
  if (e < 0) fail("no device tree at x0");
  int vmnode = fdt_path_offset(&dt, "/hypervisor/qcom,gunyah-vm");
  const char *name = 0;
  u32 len = 0;
  if (vmnode < 0 || fdt_getprop(&dt, vmnode, "qcom,image-name", (const void **)&name, &len) || len < 2) {
    fail("no VM name in /hypervisor/qcom,gunyah-vm");
  }
  if (rm_link_from_dt((const void *)x0, &link) < 0) fail("no RM link in the device tree");
  int q = find_vdevice("qcom,gunyah-message-queue", LABEL_MQ);
  if (q < 0) fail("no message-queue pair (label 1)");
  u64 caps[2];
  u32 virqs[2], flags[2];
  if (fdt_reg(&dt, q, caps, 0, 2) != 2 || fdt_interrupts(&dt, q, virqs, flags, 2) != 2) fail("queue node");
  mq.tx = caps[0];
  mq.rx = caps[1];
  mq.tx_virq = virqs[0];
  mq.rx_virq = virqs[1];
  int is_alice = name[0] == 'a';
  int b = find_vdevice(is_alice ? "qcom,gunyah-doorbell-source" : "qcom,gunyah-doorbell", LABEL_BELL);
  if (b < 0) fail("no doorbell (label 2)");
  if (fdt_reg(&dt, b, &bell_cap, 0, 1) != 1) fail("doorbell node");
  if (!is_alice && fdt_interrupts(&dt, b, &bell_virq, flags, 1) != 1) fail("doorbell interrupt");
  rm_init(&link);
  gic_enable_spi(mq.tx_virq, 0);
  gic_enable_spi(mq.rx_virq, 0);
  u32 me = 0, got = 0;
  if (rm_call(&link, RM_VM_GET_VMID, 0, 0, &me, 4, &got) != RM_OK) fail("VM_GET_VMID");
  printf("I am %s, VMID 0x%x; my queues are caps %lu/%lu\n", name, me, mq.tx, mq.rx);
  if (is_alice)
    alice();
  else
    bob(me);
  printf("done\n");
  exit_with(0);
}
