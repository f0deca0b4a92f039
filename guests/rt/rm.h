/* A guest's client of the Gunyah resource manager (resource-manager-protocol.md §1): RM RPC over
 * the VM's two message queues, single-packet requests (up to 232 payload bytes), replies matched
 * by sequence number, notifications counted and dropped. Enough for test guests; a kernel driver
 * would reassemble fragments and hand notifications on. */
#ifndef GUEST_RM_H
#define GUEST_RM_H
#include "hyp.h"

/* The link as the RM describes it in the VM's /hypervisor node (§1.1): the TX and RX queue caps and
 * their VIRQs (TX = not full, RX = not empty). */
struct rm_link {
  u64 tx_cap, rx_cap;
  u32 tx_virq, rx_virq;
  u16 seq;
  u32 notifications; /* notifications received (and dropped) so far */
  u32 last_notification; /* the last one's message ID */
};

/* The primary VM's link (§9.1): caps 0/1, VIRQs free-irq-start 960/961. */
#define RM_PRIMARY_LINK {0, 1, 960, 961, 0, 0, 0}
/* A secondary VM's link (§9.2): caps 0/1, VIRQs 94/95. */
#define RM_SECONDARY_LINK {0, 1, 94, 95, 0, 0, 0}

#define RM_MSG_SIZE 240
#define RM_HEADER 8
#define RM_MAX_PAYLOAD (RM_MSG_SIZE - RM_HEADER)

/* Message IDs (§2.1) and error codes (§1.6) the guests use. */
#define RM_VM_ALLOCATE 0x56000001u
#define RM_VM_DEALLOCATE 0x56000002u
#define RM_VM_GET_VMID 0x56000024u
#define RM_MEM_LEND 0x51000012u
#define RM_MEM_SHARE 0x51000013u
#define RM_MEM_RECLAIM 0x51000015u
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

#endif
