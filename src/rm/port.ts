// What the resource manager runs on (DESIGN.md §2–3): a native vCPU of the root VM. The RM reaches
// the hypervisor only through hypercalls by register values, takes its interrupts from its own
// virtual GIC, and reads and writes its own memory (the RM region, stage 1 off: VA = IPA) — the
// same three things the real RM has. Any object with this shape will do: the running system passes
// its NativeVcpu (src/hyp/vm/native.ts); tests may pass fakes.

/** x0 as the caller reads the error (a signed 32-bit number, 0 = OK), and x0..x7. */
export interface HypCallResult {
  e: number;
  x: bigint[];
}

/** The vCPU's interrupt controller, as a kernel drives it through ICC_* registers. */
export interface RmIrq {
  /** Enable Group 1 delivery at the distributor and the CPU interface. */
  init(): void;
  /** Enable shared VIRQ `intid` (edge-triggered if `edge`). */
  enable(intid: number, edge?: boolean): void;
  /** Acknowledge the highest-priority pending interrupt (1023: none). */
  ack(): number;
  /** End (and deactivate) interrupt `intid`. */
  eoi(intid: number): void;
}

/** The vCPU's own memory by address (errors are hypervisor error codes). */
export interface RmMemory {
  read(va: bigint, len: number): Uint8Array | number;
  write(va: bigint, data: Uint8Array): number;
}

export interface RmVcpu {
  /** A Gunyah hypercall by name on the native path (`hvc #0x6000+N`). */
  call(name: string, ...args: bigint[]): HypCallResult;
  readonly irq: RmIrq | null;
  readonly memory: RmMemory | null;
  /** X0 when the vCPU was powered on (for the root vCPU: the boot environment's IPA, §11.1). */
  readonly bootX0: bigint;
}
