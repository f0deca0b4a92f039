/* A small read-only reader of flattened device trees (the Devicetree Specification v0.4, ch. 5:
 * the .dtb format) for the guests: header checks, a depth-first walk that knows each node's full
 * path, properties by name, big-endian cells, compatible matching, and `reg` / `interrupts`
 * helpers. Nodes are named by the offset of their FDT_BEGIN_NODE token from the start of the
 * blob. Every read is bounds-checked against the header's blocks and done byte by byte (a DT need
 * not be 8-byte aligned and the guests run with the MMU off, where unaligned accesses fault), so a
 * corrupt blob yields an error, never a fault. No allocation. */
#ifndef GUEST_FDT_H
#define GUEST_FDT_H
#include "rt.h"

#define FDT_MAGIC 0xd00dfeedu
#define FDT_HEADER_SIZE 40
/* fdt_init refuses a totalsize above this unless the caller passes its own limit. */
#define FDT_DEFAULT_MAX_SIZE 0x100000u
#define FDT_MAX_DEPTH 16
#define FDT_MAX_PATH 256

/* Errors (negative). */
#define FDT_ERR_MAGIC (-1)     /* not 0xd00dfeed */
#define FDT_ERR_VERSION (-2)   /* version < 16 or last_comp_version > 17 */
#define FDT_ERR_SIZE (-3)      /* totalsize or a block outside the limits */
#define FDT_ERR_BADSTRUCT (-4) /* a token, name or property outside its block, or out of order */
#define FDT_ERR_NOTFOUND (-5)
#define FDT_ERR_DEPTH (-6)     /* nodes nested deeper than FDT_MAX_DEPTH */
#define FDT_ERR_PATH (-7)      /* a path longer than FDT_MAX_PATH */
#define FDT_ERR_BADVALUE (-8)  /* a property of the wrong length */

/* A checked blob (fdt_init): where its blocks are. */
struct fdt {
  const u8 *base;
  u32 totalsize;
  u32 version;
  u32 struct_off, struct_size; /* structure block */
  u32 strings_off, strings_size; /* strings block */
};

/* A node as the walk reports it. */
struct fdt_node {
  int off;      /* offset of its FDT_BEGIN_NODE token: the handle the other calls take */
  int parent;   /* its parent's offset, -1 for the root */
  int depth;    /* 0 for the root */
  const char *name; /* its name with the unit address ("" for the root), inside the blob */
  const char *path; /* its full path ("/" for the root); valid until the walk's next step */
};

/* A depth-first walk over every node, in blob order. */
struct fdt_walk {
  const struct fdt *f;
  u32 pos;   /* next token, relative to the structure block */
  int depth; /* nodes open */
  int done;
  int stack[FDT_MAX_DEPTH]; /* offsets of the open nodes */
  u16 pathlen[FDT_MAX_DEPTH + 1];
  char path[FDT_MAX_PATH];
};

/* Big-endian cells at any alignment. */
u32 fdt_be32(const void *p);
u64 fdt_be64(const void *p);

/* Check the header of the blob at `blob` (magic, version >= 16, totalsize <= max_size, or
 * FDT_DEFAULT_MAX_SIZE when max_size is 0, blocks inside totalsize) and fill *f. 0 or an error. */
int fdt_init(struct fdt *f, const void *blob, u32 max_size);
const char *fdt_strerror(int err);

/* The walk: fdt_walk_next returns 1 with *n filled, 0 at the end, or an error (and stays there). */
void fdt_walk_start(struct fdt_walk *w, const struct fdt *f);
int fdt_walk_next(struct fdt_walk *w, struct fdt_node *n);

/* The node at absolute `path` ("/", "/a/b@1"): the first node in blob order whose path matches
 * component by component, where a component without '@' also matches a name with any unit address
 * ("/hypervisor/qcom,resource-mgr" finds "qcom,resource-mgr@1"). Its offset, or an error. */
int fdt_path_offset(const struct fdt *f, const char *path);
/* The parent of `node` (-1 for the root) or an error. */
int fdt_parent_offset(const struct fdt *f, int node);
/* The name of `node` ("" for the root), or null if `node` is no node. */
const char *fdt_node_name(const struct fdt *f, int node);

/* Property `name` of `node`: 0 with *val / *len set (either may be null), or an error. */
int fdt_getprop(const struct fdt *f, int node, const char *name, const void **val, u32 *len);
/* A u32 property (exactly 4 bytes) or `dflt` if absent or malformed. */
u32 fdt_getprop_u32(const struct fdt *f, int node, const char *name, u32 dflt);
/* Property `name` as big-endian cells: copies up to `max` into out, returns how many cells the
 * property has (or an error if absent or not a multiple of 4 bytes). */
int fdt_getprop_cells(const struct fdt *f, int node, const char *name, u32 *out, int max);

/* Whether a string-list property holds `s` (as one whole string). */
int fdt_stringlist_contains(const void *val, u32 len, const char *s);
/* Whether `node`'s compatible holds `compat`. */
int fdt_node_compatible(const struct fdt *f, int node, const char *compat);
/* The first node after `after` (-1: from the start) in blob order whose compatible holds `compat`:
 * its offset, or FDT_ERR_NOTFOUND / an error. */
int fdt_next_compatible(const struct fdt *f, int after, const char *compat);

/* The #address-cells / #size-cells that `node` gives its children (defaults 2 and 1). */
u32 fdt_address_cells(const struct fdt *f, int node);
u32 fdt_size_cells(const struct fdt *f, int node);
/* `reg` of `node`, decoded with its parent's #address-cells / #size-cells (each at most 2, i.e.
 * one u64; #size-cells 0 gives sizes of 0): up to `max` entries into addr[] and size[] (size may be
 * null); returns the number of entries the property has, or an error. */
int fdt_reg(const struct fdt *f, int node, u64 *addr, u64 *size, int max);

/* `interrupts` of `node` as 3-cell GIC specifiers <type number flags>: up to `max` INTIDs into
 * intid[] (type 0 SPI: number + 32; 1 PPI: + 16; 2 ESPI: + 4096; 3 EPPI: + 1056) and their flags
 * cells into flags[] (may be null; 1 = edge rising, 4 = level high). Returns the number of
 * specifiers, or an error (FDT_ERR_BADVALUE for an unknown type or a length not a multiple of 12). */
int fdt_interrupts(const struct fdt *f, int node, u32 *intid, u32 *flags, int max);

#endif
