// Numbers the RM hands out and takes back (its own VIRQs, the VIRQs it picks in a VM's or an
// owner's VIC, its link scratch buffers). Lowest free first, so a run is deterministic and a number
// freed by one VM's teardown is the next one a new VM gets. A number can also be reserved by value
// (a VIRQ a VM's config names).

export class NumberPool {
  private readonly taken = new Set<number>();
  /** No number below this is free. */
  private hint: number;

  /** Numbers `first`, `first + step`, … up to `last` inclusive. */
  constructor(
    private readonly first: number,
    private readonly last: number,
    private readonly step = 1,
  ) {
    this.hint = first;
  }

  /** The lowest free number, or null when all are taken. */
  take(): number | null {
    for (let n = this.hint; n <= this.last; n += this.step) {
      if (this.taken.has(n)) continue;
      this.taken.add(n);
      this.hint = n + this.step;
      return n;
    }
    this.hint = this.last + this.step;
    return null;
  }

  /** Take `n` itself; false when it is outside the pool or already taken. */
  reserve(n: number): boolean {
    if (!this.contains(n) || this.taken.has(n)) return false;
    this.taken.add(n);
    return true;
  }

  /** Give `n` back. Numbers never handed out, or given back twice, are ignored. */
  give(n: number): void {
    if (!this.taken.delete(n)) return;
    if (n < this.hint) this.hint = n;
  }

  /** Whether `n` is one of the pool's numbers (taken or not). */
  contains(n: number): boolean {
    return Number.isInteger(n) && n >= this.first && n <= this.last && (n - this.first) % this.step === 0;
  }

  /** How many numbers are out. */
  get inUse(): number {
    return this.taken.size;
  }
}
