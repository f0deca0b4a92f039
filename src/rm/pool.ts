// Numbers the RM hands out and takes back (its own VIRQs, the VIRQs it picks in an owner's VIC, its
// link scratch buffers). Lowest free first, so a run is deterministic and a number freed by one
// VM's teardown is the next one a new VM gets.

export class NumberPool {
  private next: number;
  private readonly free: number[] = [];

  /** Numbers `first`, `first + step`, … up to `last` inclusive. */
  constructor(
    private readonly first: number,
    private readonly last: number,
    private readonly step = 1,
  ) {
    this.next = first;
  }

  /** The lowest free number, or null when all are taken. */
  take(): number | null {
    if (this.free.length > 0) return this.free.shift()!;
    if (this.next > this.last) return null;
    const n = this.next;
    this.next += this.step;
    return n;
  }

  /** Give `n` back. Numbers never handed out, or given back twice, are ignored. */
  give(n: number): void {
    if (n < this.first || n >= this.next || (n - this.first) % this.step !== 0 || this.free.includes(n)) return;
    const at = this.free.findIndex((f) => f > n);
    if (at < 0) this.free.push(n);
    else this.free.splice(at, 0, n);
  }

  /** How many numbers are out. */
  get inUse(): number {
    return (this.next - this.first) / this.step - this.free.length;
  }
}
