/* hello-vm.elf — the smallest useful secondary VM (linked at 0x80000000, the base IPA of its image
 * parcel; started by the RM with x0 = its device tree), for system files such as
 * examples/hello-vm.yaml. It says who it is from its DT (/hypervisor/qcom,gunyah-vm
 * qcom,image-name, the /memory node, the CPUs under /cpus, /chosen bootargs), lists the vdevices
 * the RM wrote under /hypervisor (with their qcom,label), asks the RM for its VMID over its link
 * (VM_GET_VMID), and powers off with PSCI SYSTEM_OFF. A DT it cannot read prints `FAIL ...` and
 * exits with 1. */
#include "fdt.h"
#include "rm.h"

static struct fdt dt;
static struct rm_link link;

/* A string property of the node at `path`, or null. */
static const char *str_prop(const char *path, const char *name) {
  int n = fdt_path_offset(&dt, path);
  const char *v = 0;
  u32 len = 0;
  if (n < 0 || fdt_getprop(&dt, n, name, (const void **)&v, &len) || len == 0 || v[len - 1]) return 0;
  return v;
}

/* The nodes right below /hypervisor, with their first compatible and label. */
static void list_vdevices(void) {
  int hyp = fdt_path_offset(&dt, "/hypervisor");
  if (hyp < 0) return;
  struct fdt_walk w;
  struct fdt_node n;
  int in = -1;
  fdt_walk_start(&w, &dt);
  while (fdt_walk_next(&w, &n) == 1) {
    if (n.off == hyp) {
      in = n.depth;
      continue;
    }
    if (in < 0) continue;
    if (n.depth <= in) break;
    if (n.depth != in + 1) continue;
    const char *compat = 0;
    u32 len = 0;
    if (fdt_getprop(&dt, n.off, "compatible", (const void **)&compat, &len) || len == 0) compat = "?";
    u32 label = fdt_getprop_u32(&dt, n.off, "qcom,label", ~0u);
    if (label == ~0u)
      printf("  %s (%s)\n", n.name, compat);
    else
      printf("  %s (%s, label %u)\n", n.name, compat, label);
  }
}

int main(u64 x0) {
  int e = fdt_init(&dt, (const void *)x0, 0);
  if (e < 0) {
    printf("FAIL device tree at 0x%lx: %s\n", x0, fdt_strerror(e));
    return 1;
  }
  const char *name = str_prop("/hypervisor/qcom,gunyah-vm", "qcom,image-name");
  u64 base = 0, size = 0;
  int mem = fdt_path_offset(&dt, "/memory");
  if (mem < 0 || fdt_reg(&dt, mem, &base, &size, 1) < 1) {
    printf("FAIL no /memory node\n");
    return 1;
  }
  int cpus = 0;
  int cpu = fdt_path_offset(&dt, "/cpus");
  if (cpu >= 0) {
    struct fdt_walk w;
    struct fdt_node n;
    fdt_walk_start(&w, &dt);
    while (fdt_walk_next(&w, &n) == 1)
      if (n.parent == cpu && n.name[0] == 'c' && n.name[1] == 'p' && n.name[2] == 'u' && n.name[3] == '@') cpus++;
  }
  printf("hello from %s: %d vCPU, %lu MiB of RAM at 0x%lx\n", name ? name : "(no name)", cpus, size >> 20, base);
  const char *args = str_prop("/chosen", "bootargs");
  if (args) printf("bootargs: \"%s\"\n", args);
  printf("the RM gave me these devices under /hypervisor:\n");
  list_vdevices();
  if (rm_link_from_dt((const void *)x0, &link) < 0) {
    printf("FAIL no RM link in the device tree\n");
    return 1;
  }
  rm_init(&link);
  u32 vmid = 0, got = 0;
  if (rm_call(&link, RM_VM_GET_VMID, 0, 0, &vmid, sizeof vmid, &got) != RM_OK || got != 4) {
    printf("FAIL VM_GET_VMID\n");
    return 1;
  }
  printf("the RM says I am VMID 0x%x; powering off\n", vmid);
  return 0;
}
