// The platform's random number source, as prng_get_entropy (hypervisor-abi.md §2.10) and the
// SMCCC TRNG interface (§9.4) see it. Real hardware answers from a TRNG; this model must be
// deterministic (same inputs, same outputs — DESIGN.md §3), so it is a seeded xoshiro128**
// generator: every run with the same seed gives the same "entropy". Never Math.random.
//
// It also keeps prng_get_entropy's per-thread rate-limit state (Gunyah keeps it in the thread
// object; here it stays with the generator so the thread module needs no field for it).

/** Default seed: "gunyah" in ASCII (any fixed value would do). */
export const DEFAULT_PRNG_SEED = 0x6775_6e79_6168n;

export class PlatformPrng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  /** Per thread: window start in counter ticks, with the reads in that window in bits 1:0. */
  readonly lastRead = new WeakMap<object, number>();

  constructor(seed: bigint | number = DEFAULT_PRNG_SEED) {
    // Expand the seed into the 128-bit state with splitmix32 steps (xoshiro must not start at 0).
    const s = BigInt.asUintN(64, BigInt(seed));
    let x = Number(s & 0xffff_ffffn);
    const next = (): number => {
      x = (x + 0x9e37_79b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85eb_ca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2_ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    x ^= Number(s >> 32n);
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** The next 32 random bits (xoshiro128**). */
  random32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
