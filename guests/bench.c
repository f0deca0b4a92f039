/* bench.elf / bench-small.elf — the CPU benchmark workload: plain integer C that compiles to the
 * instruction mix of ordinary systems code. One round runs every kernel once (~2e6 instructions);
 * SCALE rounds run, each on different inputs. The checksums let a run here be compared with the
 * same ELF under QEMU. SCALE is a compile-time constant (see the Makefile). */
#include "rt.h"

#ifndef SCALE
#define SCALE 1
#endif

#define SIEVE_N 24576
#define HASH_BYTES 32768
#define SORT_N 1536
#define LIST_N 4096
#define LIST_LAPS 8
#define FIB_N 20
#define COPY_WORDS 2048
#define MAT_N 24
#define GCD_PAIRS 800

static u8 sieve_buf[SIEVE_N];
static u8 bytes[HASH_BYTES];
static u32 sort_buf[SORT_N];
static struct node {
  struct node *next;
  u64 value;
} nodes[LIST_N];
static u64 copy_src[COPY_WORDS], copy_dst[COPY_WORDS];
static u32 mat_a[MAT_N][MAT_N], mat_b[MAT_N][MAT_N], mat_c[MAT_N][MAT_N];

static u64 rng_state;
static u64 xorshift(void) {
  u64 x = rng_state;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return rng_state = x;
}

/* Primes below SIEVE_N, plus a dependence on the round so the loop cannot be folded. */
static u64 sieve(u64 round) {
  for (u32 i = 0; i < SIEVE_N; i++) sieve_buf[i] = 1;
  sieve_buf[0] = sieve_buf[1] = 0;
  for (u32 i = 2; i * i < SIEVE_N; i++)
    if (sieve_buf[i])
      for (u32 j = i * i; j < SIEVE_N; j += i) sieve_buf[j] = 0;
  u64 count = 0, last = 0;
  for (u32 i = (u32)(round & 7); i < SIEVE_N; i++)
    if (sieve_buf[i]) {
      count++;
      last = i;
    }
  return count * 100000 + last;
}

/* 64-bit FNV-1a over a buffer refilled from the generator: byte loads, XOR, multiplies. */
static u64 fnv1a(void) {
  for (u32 i = 0; i < HASH_BYTES; i += 8) {
    u64 r = xorshift();
    for (u32 k = 0; k < 8; k++) bytes[i + k] = (u8)(r >> (8 * k));
  }
  u64 h = 0xcbf29ce484222325UL;
  for (u32 i = 0; i < HASH_BYTES; i++) {
    h ^= bytes[i];
    h *= 0x100000001b3UL;
  }
  return h;
}

/* Shell sort (Ciura's gaps) of 32-bit keys; returns a position-weighted sum of the result. */
static u64 shell_sort(void) {
  static const u32 gaps[] = {701, 301, 132, 57, 23, 10, 4, 1};
  for (u32 i = 0; i < SORT_N; i++) sort_buf[i] = (u32)xorshift();
  for (u32 g = 0; g < sizeof gaps / sizeof gaps[0]; g++) {
    u32 gap = gaps[g];
    for (u32 i = gap; i < SORT_N; i++) {
      u32 t = sort_buf[i], j = i;
      while (j >= gap && sort_buf[j - gap] > t) {
        sort_buf[j] = sort_buf[j - gap];
        j -= gap;
      }
      sort_buf[j] = t;
    }
  }
  u64 sum = 0;
  int sorted = 1;
  for (u32 i = 0; i < SORT_N; i++) {
    sum += (u64)sort_buf[i] * (i + 1);
    if (i && sort_buf[i - 1] > sort_buf[i]) sorted = 0;
  }
  return sorted ? sum : 0;
}

/* A randomly permuted singly linked cycle, walked LIST_LAPS times: dependent loads. */
static u64 list_chase(void) {
  static u32 perm[LIST_N];
  for (u32 i = 0; i < LIST_N; i++) perm[i] = i;
  for (u32 i = LIST_N - 1; i > 0; i--) {
    u32 j = (u32)(xorshift() % (i + 1));
    u32 t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  for (u32 i = 0; i < LIST_N; i++) {
    nodes[perm[i]].next = &nodes[perm[(i + 1) % LIST_N]];
    nodes[perm[i]].value = i * 2654435761u;
  }
  struct node *p = &nodes[perm[0]];
  u64 acc = 0;
  for (u32 k = 0; k < LIST_N * LIST_LAPS; k++) {
    acc = (acc << 5 | acc >> 59) + p->value;
    p = p->next;
  }
  return acc;
}

/* Recursive calls: stack frames, BL/RET, compare-and-branch. */
static u64 fib(u32 n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

/* Word and byte copy loops (the shapes of memcpy), then a compare. */
static u64 copies(void) {
  for (u32 i = 0; i < COPY_WORDS; i++) copy_src[i] = xorshift();
  for (int rep = 0; rep < 4; rep++) {
    u64 *d = copy_dst;
    const u64 *s = copy_src;
    for (u32 i = 0; i < COPY_WORDS; i += 4) {
      d[i] = s[i];
      d[i + 1] = s[i + 1];
      d[i + 2] = s[i + 2];
      d[i + 3] = s[i + 3];
    }
  }
  u8 *db = (u8 *)copy_dst;
  const u8 *sb = (const u8 *)copy_src;
  for (u32 i = 0; i < COPY_WORDS * 8; i++) db[i] = sb[(i + 8) % (COPY_WORDS * 8)];
  u64 x = 0;
  for (u32 i = 0; i < COPY_WORDS; i++) x += copy_dst[i] ^ (copy_src[i] >> 3);
  return x;
}

/* Integer matrix multiply: multiply-accumulate with 2-D indexing. */
static u64 matmul(void) {
  for (u32 i = 0; i < MAT_N; i++)
    for (u32 j = 0; j < MAT_N; j++) {
      mat_a[i][j] = (u32)xorshift() & 0xffff;
      mat_b[i][j] = (u32)xorshift() & 0xffff;
    }
  for (u32 i = 0; i < MAT_N; i++)
    for (u32 j = 0; j < MAT_N; j++) {
      u32 s = 0;
      for (u32 k = 0; k < MAT_N; k++) s += mat_a[i][k] * mat_b[k][j];
      mat_c[i][j] = s;
    }
  u64 t = 0;
  for (u32 i = 0; i < MAT_N; i++) t = t * 31 + mat_c[i][(i * 7) % MAT_N];
  return t;
}

/* Euclid's algorithm: divisions and remainders. */
static u64 gcds(void) {
  u64 sum = 0;
  for (u32 k = 0; k < GCD_PAIRS; k++) {
    u64 a = xorshift() >> 16, b = xorshift() >> 24;
    while (b) {
      u64 t = a % b;
      a = b;
      b = t;
    }
    sum += a;
  }
  return sum;
}

static u64 mix(u64 acc, u64 v) { return (acc << 7 | acc >> 57) ^ v; }

int main(void) {
  u64 sums[8] = {0};
  rng_state = 0x9e3779b97f4a7c15UL;
  printf("bench: %d round%s of sieve, fnv1a, shell sort, list chase, fib, copies, matmul, gcd\n", SCALE,
         SCALE == 1 ? "" : "s");
  for (u64 round = 0; round < SCALE; round++) {
    sums[0] = mix(sums[0], sieve(round));
    sums[1] = mix(sums[1], fnv1a());
    sums[2] = mix(sums[2], shell_sort());
    sums[3] = mix(sums[3], list_chase());
    sums[4] = mix(sums[4], fib(FIB_N + (u32)(round & 1)));
    sums[5] = mix(sums[5], copies());
    sums[6] = mix(sums[6], matmul());
    sums[7] = mix(sums[7], gcds());
  }
  static const char *const names[8] = {"sieve", "fnv1a", "shellsort", "list", "fib", "copy", "matmul", "gcd"};
  u64 total = 0;
  for (int i = 0; i < 8; i++) {
    printf("  %-10s %016lx\n", names[i], sums[i]);
    total = mix(total, sums[i]);
  }
  check(sums[2] != 0, "bench: shell sort produced sorted output");
  printf("CHECKSUM %016lx\n", total);
  return fail_count;
}
