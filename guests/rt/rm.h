/* A guest's client of the Gunyah resource manager (resource-manager-protocol.md §1): RM RPC over
 * the VM's two message queues, single-packet requests (up to 232 payload bytes), replies matched
 * by sequence number, notifications kept in a small ring per link (their first packet: up to 232
 * payload bytes) for rm_next_notification, also while rm_call waits for a reply. The link comes
 * from the RM's /hypervisor node in the VM's DT (rm_link_from_dt) or from the fixed layouts below.
 * Enough for test and demo guests; a kernel driver would reassemble fragments. */
#ifndef GUEST_RM_H
#define GUEST_RM_H
#include "hyp.h"

#define RM_MSG_SIZE 240
#define RM_HEADER 8
#define RM_MAX_PAYLOAD (RM_MSG_SIZE - RM_HEADER)
#define RM_NOTIFY_RING 8

/* A notification as received: its message ID and the payload of its first packet. */
struct rm_notification {
  u32 id;
  u32 len;       /* payload bytes in data (at most RM_MAX_PAYLOAD) */
  u32 truncated; /* it had continuation packets, which were dropped */
  u8 data[RM_MAX_PAYLOAD];
};

/* The link as the RM describes it in the VM's /hypervisor node (§1.1): the TX and RX queue caps and
 * their VIRQs (TX = not full, RX = not empty). */
struct rm_link {
  u64 tx_cap, rx_cap;
  u32 tx_virq, rx_virq;
  u16 seq;
  u32 notifications;     /* notifications received so far */
  u32 last_notification; /* the last one's message ID */
  u32 dropped;           /* notifications lost because the ring was full (the newest are lost) */
  u32 ring_head, ring_count;
  struct rm_notification ring[RM_NOTIFY_RING];
};

/* The primary VM's link (§9.1): caps 0/1, VIRQs free-irq-start 960/961. */
#define RM_PRIMARY_LINK {.tx_cap = 0, .rx_cap = 1, .tx_virq = 960, .rx_virq = 961}
/* A secondary VM's link (§9.2): caps 0/1, VIRQs 94/95. */
#define RM_SECONDARY_LINK {.tx_cap = 0, .rx_cap = 1, .tx_virq = 94, .rx_virq = 95}

/* Message IDs (§2.1) and error codes (§1.6) the guests use. */
#define RM_VM_ALLOCATE 0x56000001u
#define RM_VM_DEALLOCATE 0x56000002u
#define RM_VM_GET_VMID 0x56000024u
#define RM_VM_CONSOLE_OPEN 0x56000081u
#define RM_VM_CONSOLE_CLOSE 0x56000082u
#define RM_VM_CONSOLE_WRITE 0x56000083u
#define RM_MEM_LEND 0x51000012u
#define RM_MEM_SHARE 0x51000013u
#define RM_MEM_RECLAIM 0x51000015u
#define RM_NOTIFY_VM_EXITED 0x56100001u
#define RM_NOTIFY_VM_SHUTDOWN 0x56100002u
#define RM_NOTIFY_VM_STATUS 0x56100008u
#define RM_NOTIFY_VM_CONSOLE_CHARS 0x56100080u
#define RM_OK 0u
/* Transport failures (not RM codes): the reply never came in a usable form. */
#define RM_LINK_ERROR 0xffff0001u

/* Set up the GIC and the link's VIRQs (level, as the queues' sources are; interrupts stay masked:
 * the client sleeps in WFI and polls). */
void rm_init(struct rm_link *l);

/* Send request `id` with `len` payload bytes and wait for its reply. Returns the RM's error word
 * (or RM_LINK_ERROR); the reply's data after the error word is copied to `out` (at most `out_max`
 * bytes) and its length stored in *out_len if not null. */
u32 rm_call(struct rm_link *l, u32 id, const void *payload, u32 len, void *out, u32 out_max, u32 *out_len);

/* The oldest queued notification, or (if none is queued) the next one to arrive, waiting for it in
 * WFI. Copies it to *out and takes it off the ring. Returns 0, or RM_LINK_ERROR if the queue
 * fails. Replies that arrive meanwhile (to no outstanding call) are dropped. */
u32 rm_next_notification(struct rm_link *l, struct rm_notification *out);
/* As rm_next_notification without waiting: drains what the RX queue holds now, then returns 1
 * with *out filled if a notification is queued, else 0. */
int rm_poll_notification(struct rm_link *l, struct rm_notification *out);

/* The compatibles that mark the RM node under /hypervisor (RM spec §1.1, §4.1). */
#define RM_COMPAT_GUNYAH "gunyah-resource-manager"
#define RM_COMPAT_QCOM "qcom,resource-manager"
#define RM_COMPAT_QCOM_1_0 "qcom,resource-manager-1-0"
/* Fill *out from the RM node in the VM's DT at `fdt`: the first child of /hypervisor whose
 * compatible holds "qcom,resource-manager", "gunyah-resource-manager" or
 * "qcom,resource-manager-1-0"; reg = <tx_cap rx_cap> (with /hypervisor's #address-cells 2,
 * #size-cells 0), interrupts = <tx> <rx> (GIC specifiers, turned into INTIDs). The rest of *out is
 * reset (seq 0, no notifications). Returns the node's offset in the blob (> 0) or a negative
 * FDT_ERR_* (FDT_ERR_NOTFOUND: no /hypervisor or no RM node; FDT_ERR_BADVALUE: reg or interrupts
 * without two entries). */
int rm_link_from_dt(const void *fdt, struct rm_link *out);

/* Sleep until an interrupt is pending, then take and end it (queues are re-read afterwards, so a
 * level interrupt that is still asserted comes back). Returns its INTID (1023: none). */
u32 rm_wait_irq(void);

/* A request payload being built: little-endian fields appended in order (RM spec §1.8, §2). */
struct rm_msg {
  u8 b[RM_MAX_PAYLOAD];
  u32 len;
};
void rm_put8(struct rm_msg *m, u32 v);
void rm_put16(struct rm_msg *m, u32 v);
void rm_put32(struct rm_msg *m, u32 v);
void rm_put64(struct rm_msg *m, u64 v);

#endif
