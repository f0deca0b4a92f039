/* rpc-bench.elf — the RM RPC round-trip benchmark (issue 5, bench/system.ts): a secondary VM (linked
 * at 0x80000000, started by the RM with x0 = its DT) that finds its RM link in /hypervisor
 * (rm_link_from_dt), sets up the GIC and the link's VIRQs, and then sends VM_GET_VMID and waits for
 * its reply, N times in a row, through the guest RM client `rt/rm.c` (msgqueue_send, then
 * msgqueue_receive, sleeping in WFI on the RX VIRQ while the queue is empty). N is DEFAULT_COUNT,
 * or `count=N` in /chosen bootargs (`gunyah run --kernel rpc-bench.elf --append count=1000`).
 *
 * Output: `rpc-bench: VMID 0x<v>, <N> round trips` before the loop and `rpc-bench: done <N>` right
 * after it (the host times the loop between the two lines), then `EXIT 0`. A failed call prints
 * `FAIL ...` and exits with 1. */
#include "fdt.h"
#include "rm.h"

#define DEFAULT_COUNT 20000u

static struct rm_link link;

static void fail(const char *what, u32 at) {
  printf("FAIL %s (call %u)\n", what, at);
  exit_with(1);
}

/* `count=N` among the words of /chosen bootargs, else DEFAULT_COUNT. */
static u32 count_from_dt(const void *blob) {
  struct fdt f;
  if (fdt_init(&f, blob, 0)) return DEFAULT_COUNT;
  int chosen = fdt_path_offset(&f, "/chosen");
  const char *args;
  u32 len;
  if (chosen < 0 || fdt_getprop(&f, chosen, "bootargs", (const void **)&args, &len)) return DEFAULT_COUNT;
  for (u32 i = 0; i + 6 <= len; i++) {
    if ((i > 0 && args[i - 1] != ' ') || args[i] != 'c' || args[i + 1] != 'o' || args[i + 2] != 'u' ||
        args[i + 3] != 'n' || args[i + 4] != 't' || args[i + 5] != '=')
      continue;
    u32 n = 0, digits = 0;
    for (u32 j = i + 6; j < len && args[j] >= '0' && args[j] <= '9' && digits < 9; j++, digits++)
      n = n * 10 + (u32)(args[j] - '0');
    if (digits > 0 && n > 0) return n;
  }
  return DEFAULT_COUNT;
}

int main(u64 x0) {
  const void *dt = (const void *)x0;
  if (rm_link_from_dt(dt, &link) < 0) fail("no RM link in the device tree", 0);
  u32 n = count_from_dt(dt);
  rm_init(&link);
  u32 vmid = 0, got = 0;
  if (rm_call(&link, RM_VM_GET_VMID, 0, 0, &vmid, 4, &got) != RM_OK || got != 4) fail("VM_GET_VMID", 0);
  printf("rpc-bench: VMID 0x%x, %u round trips\n", vmid, n);
  for (u32 i = 1; i <= n; i++) {
    u32 v = 0;
    got = 0;
    if (rm_call(&link, RM_VM_GET_VMID, 0, 0, &v, 4, &got) != RM_OK || got != 4) fail("VM_GET_VMID", i);
    if (v != vmid) fail("VM_GET_VMID changed its answer", i);
  }
  printf("rpc-bench: done %u\n", n);
  return 0;
}
