/* fdt-check.elf — a secondary VM (linked at 0x80000000, the base IPA of its image parcel) that
 * reads the device tree the RM patched for it (resource-manager-protocol.md §4.1) with the guest
 * FDT reader `rt/fdt.c`: entered with x0 = the DT's IPA, it prints every node under /hypervisor
 * with its compatible list, finds its RM link there (rm_link_from_dt: reg = <tx rx> caps,
 * interrupts = tx, rx), sets up the GIC and the link's VIRQs, asks the RM for its VMID
 * (VM_GET_VMID) and compares it with the DT's qcom,vmid. Then it checks that the reader survives
 * corrupt copies of the same DT (bad header fields and flipped bytes: an error, never a fault).
 * Output: `NODE <path> compatible "<c>" ...`, `RM link ...`, `VMID 0x<n>`, PASS/FAIL lines, EXIT.
 * A DT it cannot read prints `FAIL DT ...` and exits with 1. */
#include "fdt.h"
#include "rm.h"

static volatile u32 probing;

/* A data abort while reading the DT at x0 (an address with no memory behind it): report it. */
static void on_exception(struct frame *f, int vec) {
  if (probing && vec == VEC_CUR_SPX && ESR_EC(f->esr) == EC_DABT_CUR) {
    printf("FAIL DT unreadable at 0x%lx\n", f->far);
    exit_with(1);
  }
  printf("UNEXPECTED EXCEPTION vec %d ESR=0x%lx ELR=0x%lx FAR=0x%lx\n", vec, f->esr, f->elr, f->far);
  exit_with(0xee);
}

static void print_compatible(const struct fdt *f, int node) {
  const char *v;
  u32 len;
  if (fdt_getprop(f, node, "compatible", (const void **)&v, &len) || len == 0) {
    printf(" (no compatible)");
    return;
  }
  printf(" compatible");
  u32 i = 0;
  while (i < len) {
    u32 j = i;
    while (j < len && v[j]) j++;
    printf(" \"");
    for (u32 k = i; k < j; k++) uart_putc(v[k]);
    uart_putc('"');
    i = j + 1;
  }
}

/* Every node below /hypervisor (and /hypervisor itself). Returns the number printed or an error. */
static int list_hypervisor(const struct fdt *f, int hyp) {
  struct fdt_walk w;
  struct fdt_node n;
  int e, in = -1, count = 0;
  fdt_walk_start(&w, f);
  while ((e = fdt_walk_next(&w, &n)) == 1) {
    if (n.off == hyp)
      in = n.depth;
    else if (in >= 0 && n.depth <= in)
      in = -1;
    if (in < 0) continue;
    printf("NODE %s", n.path);
    print_compatible(f, n.off);
    uart_putc('\n');
    count++;
  }
  return e < 0 ? e : count;
}

/* Walk a (possibly corrupt) blob the way the guest reads a real one; 0 if it reads as a whole. */
static int read_all(const u8 *blob, u32 max) {
  struct fdt f;
  int e = fdt_init(&f, blob, max);
  if (e) return e;
  struct fdt_walk w;
  struct fdt_node n;
  u32 cells[8];
  u64 addr[4], size[4];
  fdt_walk_start(&w, &f);
  while ((e = fdt_walk_next(&w, &n)) == 1) {
    fdt_node_compatible(&f, n.off, "qcom,resource-manager");
    fdt_getprop_cells(&f, n.off, "interrupts", cells, 8);
    fdt_interrupts(&f, n.off, cells, cells + 4, 4);
    fdt_node_name(&f, n.off);
  }
  if (e < 0) return e;
  int hyp = fdt_path_offset(&f, "/hypervisor");
  if (hyp >= 0) {
    int rmn = fdt_next_compatible(&f, -1, "gunyah-resource-manager");
    if (rmn >= 0) fdt_reg(&f, rmn, addr, size, 4);
  }
  struct rm_link l;
  int r = rm_link_from_dt(blob, &l);
  return r < 0 && r != FDT_ERR_NOTFOUND ? r : 0;
}

static u8 copy[0x4000] __attribute__((aligned(16)));

static void put_be32(u8 *p, u32 v) {
  p[0] = (u8)(v >> 24);
  p[1] = (u8)(v >> 16);
  p[2] = (u8)(v >> 8);
  p[3] = (u8)v;
}

/* Corrupt copies of the DT: each header check answers with its error; byte flips anywhere in the
 * blob give an error or a readable tree, and the guest is still running afterwards. */
static void corrupt_copies(const struct fdt *f) {
  u32 total = f->totalsize;
  if (total > sizeof copy) {
    printf("SKIP corrupt copies: DT of %u bytes\n", total);
    return;
  }
  memcpy(copy, f->base, total);
  check_eq((u64)(s64)read_all(copy, total), 0, "the copied DT reads");
  put_be32(copy, 0xd00dfeee);
  check_eq((u64)(s64)read_all(copy, total), (u64)(s64)FDT_ERR_MAGIC, "bad magic refused");
  put_be32(copy, FDT_MAGIC);
  put_be32(copy + 20, 15);
  check_eq((u64)(s64)read_all(copy, total), (u64)(s64)FDT_ERR_VERSION, "version 15 refused");
  put_be32(copy + 20, f->version);
  put_be32(copy + 4, total + 1);
  check_eq((u64)(s64)read_all(copy, total), (u64)(s64)FDT_ERR_SIZE, "totalsize beyond the buffer refused");
  put_be32(copy + 4, total);
  put_be32(copy + 36, f->struct_size + total);
  check_eq((u64)(s64)read_all(copy, total), (u64)(s64)FDT_ERR_SIZE, "structure block beyond totalsize refused");
  put_be32(copy + 36, f->struct_size);
  put_be32(copy + 32, 0xfffffff0u);
  check_eq((u64)(s64)read_all(copy, total), (u64)(s64)FDT_ERR_SIZE, "strings block beyond totalsize refused");
  memcpy(copy, f->base, total);
  /* The structure block cut short: the last token (FDT_END) lost. */
  put_be32(copy + 36, f->struct_size - 4);
  check_eq((u64)(s64)read_all(copy, total), (u64)(s64)FDT_ERR_BADSTRUCT, "a structure block without FDT_END refused");
  memcpy(copy, f->base, total);

  /* Byte flips spread over the whole blob. */
  u32 bad = 0, ok = 0;
  u32 step = total / 97 + 1;
  for (u32 at = 0; at < total; at += step) {
    for (u32 k = 0; k < 3; k++) {
      static const u8 xors[3] = {0xff, 0x01, 0x80};
      copy[at] ^= xors[k];
      if (read_all(copy, total) < 0)
        bad++;
      else
        ok++;
      copy[at] = f->base[at];
    }
  }
  printf("corrupt copies: %u refused, %u still read\n", bad, ok);
  check(bad + ok > 0, "byte flips read without a fault");
}

/* Print a NOTIFY_VM_CONSOLE_CHARS {u16 from; u16 n; bytes[n]} as `console from <vmid>: <text>`. */
static void print_console(const struct rm_notification *n) {
  if (n->id != RM_NOTIFY_VM_CONSOLE_CHARS || n->len < 4) {
    printf("notification 0x%x, %u bytes\n", n->id, n->len);
    return;
  }
  u32 from = n->data[0] | (u32)n->data[1] << 8, count = n->data[2] | (u32)n->data[3] << 8;
  if (count > n->len - 4) count = n->len - 4;
  printf("console from %u: ", from);
  for (u32 i = 0; i < count; i++) uart_putc((char)n->data[4 + i]);
  uart_putc('\n');
}

/* The notification ring, with the owner's VMM writing to this VM's console (RM spec §2.5): it sends
 * ten messages once it reads `console open`, which arrive while the guest sits in rm_call (queued:
 * the first eight kept, two dropped), and one more once it reads `waiting`, which
 * rm_next_notification waits for in WFI. */
static void console_notifications(struct rm_link *l) {
  u8 req[4] = {0, 0, 0, 0}; /* target 0: this VM's own console */
  if (!check_eq(rm_call(l, RM_VM_CONSOLE_OPEN, req, 4, 0, 0, 0), RM_OK, "VM_CONSOLE_OPEN")) return;
  u32 before = l->notifications;
  printf("console open\n");
  u32 vmid, calls = 0;
  while (l->notifications - before < 10 && calls < 5000) {
    rm_call(l, RM_VM_GET_VMID, 0, 0, &vmid, sizeof vmid, 0);
    calls++;
  }
  check_eq(l->notifications - before, 10, "notifications received while waiting for replies");
  check_eq(l->ring_count, RM_NOTIFY_RING, "  the ring holds eight");
  check_eq(l->dropped, 2, "  the newest two dropped");
  struct rm_notification n;
  while (l->ring_count) {
    if (rm_next_notification(l, &n) != RM_OK) break;
    print_console(&n);
  }
  printf("waiting\n");
  check_eq(rm_next_notification(l, &n), RM_OK, "a notification waited for");
  print_console(&n);
  check(!rm_poll_notification(l, &n), "no more queued");
  check_eq(rm_call(l, RM_VM_CONSOLE_CLOSE, req, 4, 0, 0, 0), RM_OK, "VM_CONSOLE_CLOSE");
}

int main(u64 dt) {
  printf("fdt-check: DT at 0x%lx\n", dt);
  struct fdt f;
  exc_hook = on_exception;
  probing = 1;
  int e = fdt_init(&f, (const void *)dt, 0);
  probing = 0;
  if (e) {
    printf("FAIL DT header: %s\n", fdt_strerror(e));
    return 1;
  }
  printf("DT version %u, %u bytes\n", f.version, f.totalsize);
  int hyp = fdt_path_offset(&f, "/hypervisor");
  if (hyp < 0) {
    printf("FAIL DT /hypervisor: %s\n", fdt_strerror(hyp));
    return 1;
  }
  int listed = list_hypervisor(&f, hyp);
  if (listed < 0) {
    printf("FAIL DT walk: %s\n", fdt_strerror(listed));
    return 1;
  }
  int vmnode = fdt_path_offset(&f, "/hypervisor/qcom,gunyah-vm");
  u32 dt_vmid = vmnode >= 0 ? fdt_getprop_u32(&f, vmnode, "qcom,vmid", ~0u) : ~0u;

  static struct rm_link link;
  int rmnode = rm_link_from_dt((const void *)dt, &link);
  if (rmnode < 0) {
    printf("FAIL DT RM link: %s\n", fdt_strerror(rmnode));
    return 1;
  }
  printf("RM link %s: tx cap 0x%lx rx cap 0x%lx tx virq %u rx virq %u\n", fdt_node_name(&f, rmnode), link.tx_cap,
         link.rx_cap, link.tx_virq, link.rx_virq);
  rm_init(&link);
  u32 vmid = 0, n = 0;
  u32 err = rm_call(&link, RM_VM_GET_VMID, 0, 0, &vmid, sizeof vmid, &n);
  if (!check_eq(err, RM_OK, "VM_GET_VMID") || !check_eq(n, 4, "VM_GET_VMID reply size")) return 1;
  printf("VMID 0x%x\n", vmid);
  check_eq(vmid, dt_vmid, "the VMID is the DT's qcom,vmid");

  corrupt_copies(&f);
  console_notifications(&link);
  return fail_count;
}
