/* rm-share.elf — a primary VM (the HLOS, VMID 3) that lends and shares its own memory through the
 * resource manager and checks, from inside, what it can still touch (resource-manager-protocol.md
 * §2.8, §6.1; hypervisor-abi.md §9.6): a lent page cannot be read or written (each access takes a
 * synchronous external abort, FSC 0x10, FAR = the address) until it is reclaimed, with its
 * contents intact; a shared page stays readable and writable; a page shared with the owner at
 * R only can be read but not written. Built for the primary's entry address (0x41000000, §4.2);
 * runs with interrupts masked and polls its RM link in WFI. Output: PASS/FAIL lines, EXIT code. */
#include "rm.h"

#define PAGE 0x1000UL
#define LENT 0x48000000UL
#define SHARED 0x48001000UL
#define PRIMARY_VMID 3
#define RIGHTS_R 4
#define RIGHTS_RW 6
#define RIGHTS_RWX 7

static volatile u32 aborts, probing;
static volatile u64 abort_esr, abort_far;

/* A data abort at EL1 from an access probe: note it and skip the faulting instruction. Anything
 * else (an abort outside a probe too) ends the run. */
static void on_exception(struct frame *f, int vec) {
  if (probing && vec == VEC_CUR_SPX && ESR_EC(f->esr) == EC_DABT_CUR) {
    aborts++;
    abort_esr = f->esr;
    abort_far = f->far;
    f->elr += 4;
    return;
  }
  printf("UNEXPECTED EXCEPTION vec %d ESR=0x%lx ELR=0x%lx FAR=0x%lx\n", vec, f->esr, f->elr, f->far);
  exit_with(0xee);
}

/* One load or store at `a`; returns whether it took an abort (the loaded value is then garbage). */
static int probe_read(u64 a, u64 *v) {
  u32 before = aborts;
  u64 x;
  probing = 1;
  __asm__ volatile("ldr %0, [%1]" : "=r"(x) : "r"(a) : "memory");
  probing = 0;
  *v = x;
  return aborts != before;
}
static int probe_write(u64 a, u64 v) {
  u32 before = aborts;
  probing = 1;
  __asm__ volatile("str %0, [%1]" ::"r"(v), "r"(a) : "memory");
  probing = 0;
  return aborts != before;
}

/* The abort an unbacked stage-2 access takes (§9.6): EC data abort (current EL), FSC 0x10, FAR. */
static void check_abort(u64 at, const char *name) {
  check(ESR_EC(abort_esr) == EC_DABT_CUR && (abort_esr & 0x3f) == 0x10 && abort_far == at, name);
}

/* The request being built (rt/rm.h). */
static struct rm_msg rq;

/* MEM_LEND / MEM_SHARE of one page (§2.8): mem_type NORMAL, no flags, `label`, the ACL given,
 * one SGL entry, an explicit empty attribute list. Returns the handle or ~0 on an error. */
static u32 mem_give(struct rm_link *l, u32 id, u32 label, const u16 *vmids, const u8 *rights, int n, u64 page) {
  rq.len = 0;
  rm_put8(&rq, 0); /* mem_type NORMAL */
  rm_put8(&rq, 0);
  rm_put8(&rq, 0); /* flags */
  rm_put8(&rq, 0);
  rm_put32(&rq, label);
  rm_put16(&rq, (u32)n);
  rm_put16(&rq, 0);
  for (int i = 0; i < n; i++) {
    rm_put16(&rq, vmids[i]);
    rm_put8(&rq, rights[i]);
    rm_put8(&rq, 0);
  }
  rm_put16(&rq, 1);
  rm_put16(&rq, 0);
  rm_put64(&rq, page);
  rm_put64(&rq, PAGE);
  rm_put16(&rq, 0); /* attributes: none */
  rm_put16(&rq, 0);
  u32 handle = ~0u, got = 0;
  u32 e = rm_call(l, id, rq.b, rq.len, &handle, 4, &got);
  if (e != RM_OK || got != 4) {
    printf("  %s: error 0x%x\n", id == RM_MEM_LEND ? "MEM_LEND" : "MEM_SHARE", e);
    return ~0u;
  }
  return handle;
}

static u32 mem_reclaim(struct rm_link *l, u32 handle) {
  rq.len = 0;
  rm_put32(&rq, handle);
  rm_put32(&rq, 0); /* flags, res */
  return rm_call(l, RM_MEM_RECLAIM, rq.b, rq.len, 0, 0, 0);
}

int main(void) {
  struct rm_link link = RM_PRIMARY_LINK;
  u64 v;
  printf("rm-share: lend and share from the primary VM\n");
  exc_hook = on_exception;
  rm_init(&link);

  u32 me = 0, got = 0;
  check_eq(rm_call(&link, RM_VM_GET_VMID, 0, 0, &me, 4, &got), RM_OK, "VM_GET_VMID answers");
  check_eq(me, PRIMARY_VMID, "the primary is VMID 3");

  rq.len = 0;
  rm_put32(&rq, 0); /* {u16 vmid = 0: any; u16 res} */
  u32 vm = 0;
  check_eq(rm_call(&link, RM_VM_ALLOCATE, rq.b, rq.len, &vm, 4, &got), RM_OK, "VM_ALLOCATE(0)");
  check_eq(vm, 0x80, "the first dynamic VMID");

  *(volatile u64 *)LENT = 0x1e1d1e1d00000001UL;
  *(volatile u64 *)SHARED = 0x5a5a5a5a00000002UL;

  /* LEND: the page leaves the primary's address space. */
  u16 to_vm[1] = {(u16)vm};
  u8 rw[1] = {RIGHTS_RW};
  u32 lent = mem_give(&link, RM_MEM_LEND, 1, to_vm, rw, 1, LENT);
  check(lent != ~0u, "MEM_LEND of a page of the primary's RAM");
  check(probe_read(LENT, &v), "a lender's read of lent memory aborts");
  check_abort(LENT, "  synchronous external abort at the lent address");
  check(probe_write(LENT + 8, 1), "a lender's write to lent memory aborts");
  check_abort(LENT + 8, "  synchronous external abort at the lent address + 8");

  /* SHARE with the owner keeping RWX: the owner still reads and writes. */
  u16 both[2] = {(u16)vm, PRIMARY_VMID};
  u8 r_rwx[2] = {RIGHTS_R, RIGHTS_RWX};
  u32 shared = mem_give(&link, RM_MEM_SHARE, 2, both, r_rwx, 2, SHARED);
  check(shared != ~0u, "MEM_SHARE of a page with the owner keeping RWX");
  check(!probe_read(SHARED, &v) && v == 0x5a5a5a5a00000002UL, "a sharer still reads shared memory");
  check(!probe_write(SHARED + 8, 0x77) && *(volatile u64 *)(SHARED + 8) == 0x77, "a sharer still writes shared memory");

  /* RECLAIM gives the lent page back as it was. */
  check_eq(mem_reclaim(&link, lent), RM_OK, "MEM_RECLAIM of the lent page");
  check(!probe_read(LENT, &v), "the reclaimed page reads again");
  check_eq(v, 0x1e1d1e1d00000001UL, "  with what the lender wrote before lending");
  check_eq(mem_reclaim(&link, shared), RM_OK, "MEM_RECLAIM of the shared page");

  /* SHARE with the owner at R only: its access is cut to its ACL rights. */
  u8 rw_r[2] = {RIGHTS_RW, RIGHTS_R};
  shared = mem_give(&link, RM_MEM_SHARE, 3, both, rw_r, 2, SHARED);
  check(shared != ~0u, "MEM_SHARE with the owner keeping R only");
  check(!probe_read(SHARED, &v) && v == 0x5a5a5a5a00000002UL, "the owner reads its read-only share");
  check(probe_write(SHARED, 3), "the owner's write to its read-only share aborts");
  check_abort(SHARED, "  synchronous external abort at the shared address");
  check_eq(mem_reclaim(&link, shared), RM_OK, "MEM_RECLAIM gives RWX back");
  check(!probe_write(SHARED, 4) && *(volatile u64 *)SHARED == 4, "the owner writes the page again");

  rq.len = 0;
  rm_put32(&rq, vm);
  check_eq(rm_call(&link, RM_VM_DEALLOCATE, rq.b, rq.len, 0, 0, 0), RM_OK, "VM_DEALLOCATE");
  printf("rm-share: %u notification(s) received\n", link.notifications);
  exit_with(fail_count ? 1 : 0);
}
