/* Flattened device tree reader: see fdt.h. Written from the Devicetree Specification's description
 * of the format (v0.4 ch. 5): a 40-byte big-endian header, a structure block of 4-byte-aligned
 * tokens (BEGIN_NODE + NUL-terminated name, END_NODE, PROP + len + name offset + value, NOP, END)
 * and a strings block holding the property names. */
#include "fdt.h"

#define TOK_BEGIN_NODE 1u
#define TOK_END_NODE 2u
#define TOK_PROP 3u
#define TOK_NOP 4u
#define TOK_END 9u

/* Header fields (byte offsets). */
#define H_MAGIC 0
#define H_TOTALSIZE 4
#define H_OFF_STRUCT 8
#define H_OFF_STRINGS 12
#define H_OFF_RSVMAP 16
#define H_VERSION 20
#define H_LAST_COMP 24
#define H_SIZE_STRINGS 32
#define H_SIZE_STRUCT 36

u32 fdt_be32(const void *p) {
  const u8 *b = p;
  return (u32)b[0] << 24 | (u32)b[1] << 16 | (u32)b[2] << 8 | (u32)b[3];
}

u64 fdt_be64(const void *p) {
  const u8 *b = p;
  return (u64)fdt_be32(b) << 32 | fdt_be32(b + 4);
}

static u32 align4(u32 v) { return (v + 3) & ~3u; }

/* Whether [off, off + len) lies inside [0, limit). */
static int inside(u64 off, u64 len, u64 limit) { return off <= limit && len <= limit - off; }

int fdt_init(struct fdt *f, const void *blob, u32 max_size) {
  const u8 *b = blob;
  memset(f, 0, sizeof *f);
  if (max_size == 0) max_size = FDT_DEFAULT_MAX_SIZE;
  if (max_size > 0x7fffffffu) max_size = 0x7fffffffu; /* offsets are ints */
  if (!b) return FDT_ERR_MAGIC;
  if (fdt_be32(b + H_MAGIC) != FDT_MAGIC) return FDT_ERR_MAGIC;
  u32 total = fdt_be32(b + H_TOTALSIZE);
  if (total < FDT_HEADER_SIZE || total > max_size) return FDT_ERR_SIZE;
  u32 version = fdt_be32(b + H_VERSION);
  if (version < 16 || fdt_be32(b + H_LAST_COMP) > 17) return FDT_ERR_VERSION;
  u32 soff = fdt_be32(b + H_OFF_STRUCT);
  u32 stroff = fdt_be32(b + H_OFF_STRINGS);
  u32 strsize = fdt_be32(b + H_SIZE_STRINGS);
  u32 rsv = fdt_be32(b + H_OFF_RSVMAP);
  /* Version 16 headers end before size_dt_struct: the structure block may run to the end. */
  u32 ssize = version >= 17 ? fdt_be32(b + H_SIZE_STRUCT) : total - (soff < total ? soff : total);
  if (soff < FDT_HEADER_SIZE || (soff & 3) || !inside(soff, ssize, total) || ssize < 8) return FDT_ERR_SIZE;
  if (stroff < FDT_HEADER_SIZE || !inside(stroff, strsize, total)) return FDT_ERR_SIZE;
  if (rsv < FDT_HEADER_SIZE || rsv >= total) return FDT_ERR_SIZE;
  f->base = b;
  f->totalsize = total;
  f->version = version;
  f->struct_off = soff;
  f->struct_size = ssize & ~3u;
  f->strings_off = stroff;
  f->strings_size = strsize;
  return 0;
}

const char *fdt_strerror(int err) {
  switch (err) {
    case 0:
      return "ok";
    case FDT_ERR_MAGIC:
      return "bad magic";
    case FDT_ERR_VERSION:
      return "unsupported version";
    case FDT_ERR_SIZE:
      return "bad size";
    case FDT_ERR_BADSTRUCT:
      return "bad structure block";
    case FDT_ERR_NOTFOUND:
      return "not found";
    case FDT_ERR_DEPTH:
      return "too deep";
    case FDT_ERR_PATH:
      return "path too long";
    case FDT_ERR_BADVALUE:
      return "bad property value";
    default:
      return "unknown error";
  }
}

/* ---- tokens ---- */

struct tok {
  u32 type;
  u32 next;    /* the following token (structure-block relative) */
  u32 data;    /* BEGIN_NODE: the name; PROP: the value (structure-block relative) */
  u32 len;     /* BEGIN_NODE: name length; PROP: value length */
  u32 nameoff; /* PROP: the name's offset in the strings block */
};

/* Length of the NUL-terminated string at p with at most `avail` bytes readable, or -1 if no NUL. */
static s64 bounded_strlen(const u8 *p, u32 avail) {
  for (u32 i = 0; i < avail; i++)
    if (p[i] == 0) return i;
  return -1;
}

/* Decode the token at structure offset `pos`. 0 or FDT_ERR_BADSTRUCT. */
static int token(const struct fdt *f, u32 pos, struct tok *t) {
  const u8 *s = f->base + f->struct_off;
  u32 size = f->struct_size;
  if ((pos & 3) || !inside(pos, 4, size)) return FDT_ERR_BADSTRUCT;
  t->type = fdt_be32(s + pos);
  t->data = t->len = t->nameoff = 0;
  switch (t->type) {
    case TOK_BEGIN_NODE: {
      s64 n = bounded_strlen(s + pos + 4, size - pos - 4);
      if (n < 0) return FDT_ERR_BADSTRUCT;
      t->data = pos + 4;
      t->len = (u32)n;
      u64 next = ((u64)pos + 4 + (u64)n + 1 + 3) & ~3ull;
      if (next > size) return FDT_ERR_BADSTRUCT;
      t->next = (u32)next;
      return 0;
    }
    case TOK_PROP: {
      if (!inside(pos, 12, size)) return FDT_ERR_BADSTRUCT;
      t->len = fdt_be32(s + pos + 4);
      t->nameoff = fdt_be32(s + pos + 8);
      t->data = pos + 12;
      if (!inside(t->data, t->len, size)) return FDT_ERR_BADSTRUCT;
      if (t->nameoff >= f->strings_size) return FDT_ERR_BADSTRUCT;
      if (bounded_strlen(f->base + f->strings_off + t->nameoff, f->strings_size - t->nameoff) < 0)
        return FDT_ERR_BADSTRUCT;
      u32 next = align4(t->data + t->len); /* no overflow: the value ends inside the block */
      if (next > size) return FDT_ERR_BADSTRUCT;
      t->next = next;
      return 0;
    }
    case TOK_END_NODE:
    case TOK_NOP:
    case TOK_END:
      t->next = pos + 4;
      return 0;
    default:
      return FDT_ERR_BADSTRUCT;
  }
}

static int streq(const char *a, const char *b) {
  while (*a && *a == *b) {
    a++;
    b++;
  }
  return *a == *b;
}

/* ---- the walk ---- */

void fdt_walk_start(struct fdt_walk *w, const struct fdt *f) {
  w->f = f;
  w->pos = 0;
  w->depth = 0;
  w->done = f->base ? 0 : FDT_ERR_MAGIC;
  w->path[0] = 0;
  w->pathlen[0] = 0;
}

/* w->done: 0 walking, 1 finished, 2 the root closed (only NOPs and END may follow), < 0 error. */
int fdt_walk_next(struct fdt_walk *w, struct fdt_node *n) {
  const struct fdt *f = w->f;
  for (;;) {
    if (w->done == 1 || w->done < 0) return w->done < 0 ? w->done : 0;
    struct tok t;
    int e = token(f, w->pos, &t);
    if (e) return w->done = e;
    u32 at = w->pos;
    w->pos = t.next;
    switch (t.type) {
      case TOK_BEGIN_NODE: {
        if (w->done == 2) return w->done = FDT_ERR_BADSTRUCT; /* a second root */
        int d = w->depth;
        if (d >= FDT_MAX_DEPTH) return w->done = FDT_ERR_DEPTH;
        const char *name = (const char *)f->base + f->struct_off + t.data;
        u32 len;
        if (d == 0) {
          w->path[0] = '/';
          len = 1;
        } else {
          len = w->pathlen[d];
          if (d > 1) {
            if (len + 1 >= FDT_MAX_PATH) return w->done = FDT_ERR_PATH;
            w->path[len++] = '/';
          }
          if (len + t.len >= FDT_MAX_PATH) return w->done = FDT_ERR_PATH;
          memcpy(w->path + len, name, t.len);
          len += t.len;
        }
        w->path[len] = 0;
        w->pathlen[d + 1] = (u16)len;
        w->stack[d] = (int)(f->struct_off + at);
        w->depth = d + 1;
        n->off = w->stack[d];
        n->parent = d ? w->stack[d - 1] : -1;
        n->depth = d;
        n->name = name;
        n->path = w->path;
        return 1;
      }
      case TOK_END_NODE:
        if (w->depth == 0) return w->done = FDT_ERR_BADSTRUCT;
        if (--w->depth == 0) w->done = 2;
        break;
      case TOK_PROP:
        if (w->depth == 0) return w->done = FDT_ERR_BADSTRUCT;
        break;
      case TOK_NOP:
        break;
      case TOK_END:
        if (w->depth != 0 || w->done != 2) return w->done = FDT_ERR_BADSTRUCT;
        w->done = 1;
        return 0;
    }
  }
}

/* ---- nodes ---- */

/* The BEGIN_NODE token of `node`, or an error. */
static int node_token(const struct fdt *f, int node, struct tok *t) {
  if (!f->base || node < (int)f->struct_off) return FDT_ERR_NOTFOUND;
  int e = token(f, (u32)node - f->struct_off, t);
  if (e) return e;
  return t->type == TOK_BEGIN_NODE ? 0 : FDT_ERR_NOTFOUND;
}

const char *fdt_node_name(const struct fdt *f, int node) {
  struct tok t;
  if (node_token(f, node, &t)) return 0;
  return (const char *)f->base + f->struct_off + t.data;
}

int fdt_parent_offset(const struct fdt *f, int node) {
  struct fdt_walk w;
  struct fdt_node n;
  int e;
  fdt_walk_start(&w, f);
  while ((e = fdt_walk_next(&w, &n)) == 1)
    if (n.off == node) return n.parent;
  return e < 0 ? e : FDT_ERR_NOTFOUND;
}

/* Whether node path `p` (as the walk builds it) matches the asked-for `want`, component-wise. */
static int path_matches(const char *p, const char *want) {
  if (p[0] != '/' || want[0] != '/') return 0;
  p++;
  want++;
  for (;;) {
    if (!*want || (*want == '/' && !want[1])) return !*p;
    if (!*p) return 0;
    const char *pe = p, *we = want;
    while (*pe && *pe != '/') pe++;
    while (*we && *we != '/') we++;
    int want_unit = 0;
    for (const char *q = want; q < we; q++) want_unit |= *q == '@';
    const char *pname_end = pe;
    if (!want_unit)
      for (const char *q = p; q < pe; q++)
        if (*q == '@') {
          pname_end = q;
          break;
        }
    if (pname_end - p != we - want) return 0;
    for (long i = 0; i < we - want; i++)
      if (p[i] != want[i]) return 0;
    p = *pe ? pe + 1 : pe;
    want = *we ? we + 1 : we;
    if (!*p && *want) return 0;
  }
}

int fdt_path_offset(const struct fdt *f, const char *path) {
  struct fdt_walk w;
  struct fdt_node n;
  int e;
  if (!path || path[0] != '/') return FDT_ERR_NOTFOUND;
  fdt_walk_start(&w, f);
  while ((e = fdt_walk_next(&w, &n)) == 1)
    if (path_matches(n.path, path)) return n.off;
  return e < 0 ? e : FDT_ERR_NOTFOUND;
}

/* ---- properties ---- */

int fdt_getprop(const struct fdt *f, int node, const char *name, const void **val, u32 *len) {
  struct tok t;
  int e = node_token(f, node, &t);
  if (e) return e;
  u32 pos = t.next;
  for (;;) {
    e = token(f, pos, &t);
    if (e) return e;
    if (t.type == TOK_NOP) {
      pos = t.next;
      continue;
    }
    if (t.type != TOK_PROP) return FDT_ERR_NOTFOUND; /* properties come before subnodes */
    if (streq((const char *)f->base + f->strings_off + t.nameoff, name)) {
      if (val) *val = f->base + f->struct_off + t.data;
      if (len) *len = t.len;
      return 0;
    }
    pos = t.next;
  }
}

u32 fdt_getprop_u32(const struct fdt *f, int node, const char *name, u32 dflt) {
  const void *v;
  u32 len;
  if (fdt_getprop(f, node, name, &v, &len) || len != 4) return dflt;
  return fdt_be32(v);
}

int fdt_getprop_cells(const struct fdt *f, int node, const char *name, u32 *out, int max) {
  const u8 *v;
  u32 len;
  int e = fdt_getprop(f, node, name, (const void **)&v, &len);
  if (e) return e;
  if (len % 4) return FDT_ERR_BADVALUE;
  int n = (int)(len / 4);
  for (int i = 0; i < n && i < max; i++) out[i] = fdt_be32(v + 4 * i);
  return n;
}

int fdt_stringlist_contains(const void *val, u32 len, const char *s) {
  const char *p = val;
  u32 i = 0;
  while (i < len) {
    u32 j = i;
    while (j < len && p[j]) j++;
    if (j == len) return 0; /* an unterminated tail is no string */
    const char *a = p + i, *b = s;
    u32 k = 0;
    while (k < j - i && a[k] == b[k]) k++;
    if (k == j - i && b[k] == 0) return 1;
    i = j + 1;
  }
  return 0;
}

int fdt_node_compatible(const struct fdt *f, int node, const char *compat) {
  const void *v;
  u32 len;
  if (fdt_getprop(f, node, "compatible", &v, &len)) return 0;
  return fdt_stringlist_contains(v, len, compat);
}

int fdt_next_compatible(const struct fdt *f, int after, const char *compat) {
  struct fdt_walk w;
  struct fdt_node n;
  int e;
  fdt_walk_start(&w, f);
  while ((e = fdt_walk_next(&w, &n)) == 1)
    if (n.off > after && fdt_node_compatible(f, n.off, compat)) return n.off;
  return e < 0 ? e : FDT_ERR_NOTFOUND;
}

u32 fdt_address_cells(const struct fdt *f, int node) { return fdt_getprop_u32(f, node, "#address-cells", 2); }
u32 fdt_size_cells(const struct fdt *f, int node) { return fdt_getprop_u32(f, node, "#size-cells", 1); }

static u64 cells_value(const u8 *p, u32 cells) { return cells == 2 ? fdt_be64(p) : cells == 1 ? fdt_be32(p) : 0; }

int fdt_reg(const struct fdt *f, int node, u64 *addr, u64 *size, int max) {
  const u8 *v;
  u32 len;
  int e = fdt_getprop(f, node, "reg", (const void **)&v, &len);
  if (e) return e;
  int parent = fdt_parent_offset(f, node);
  if (parent < -1) return parent;
  u32 ac = 2, sc = 1; /* the root's defaults if `node` is the root */
  if (parent >= 0) {
    ac = fdt_address_cells(f, parent);
    sc = fdt_size_cells(f, parent);
  }
  if (ac == 0 || ac > 2 || sc > 2) return FDT_ERR_BADVALUE;
  u32 entry = 4 * (ac + sc);
  if (len % entry) return FDT_ERR_BADVALUE;
  int n = (int)(len / entry);
  for (int i = 0; i < n && i < max; i++) {
    const u8 *p = v + (u32)i * entry;
    if (addr) addr[i] = cells_value(p, ac);
    if (size) size[i] = cells_value(p + 4 * ac, sc);
  }
  return n;
}

int fdt_interrupts(const struct fdt *f, int node, u32 *intid, u32 *flags, int max) {
  const u8 *v;
  u32 len;
  int e = fdt_getprop(f, node, "interrupts", (const void **)&v, &len);
  if (e) return e;
  if (len % 12) return FDT_ERR_BADVALUE;
  int n = (int)(len / 12);
  for (int i = 0; i < n; i++) {
    const u8 *p = v + 12 * i;
    u32 type = fdt_be32(p), num = fdt_be32(p + 4);
    static const u32 base[4] = {32, 16, 4096, 1056};
    if (type > 3 || num > 0xffffff) return FDT_ERR_BADVALUE;
    if (i < max) {
      if (intid) intid[i] = num + base[type];
      if (flags) flags[i] = fdt_be32(p + 8);
    }
  }
  return n;
}
