// Hypercall dispatch (hypervisor-abi.md §1): the native `hvc #(0x6000+N)` path and the
// SMCCC-wrapped path (`hvc #0` / `smc #0` with function ID 0xC6008000+N), driven by the table in
// abi/hypercalls.ts. Both paths run the same handler on the same truncated inputs; they differ in
// where inputs come from, how outputs are written and which registers are zeroed.
// Registers are the caller's X0..X30 as a BigUint64Array (an emulated vCPU's `cpu.x`, or a native
// vCPU's own register file): there is no other way in.

import { Err } from './abi/errors.js';
import { HYPERCALL_NUM, HYPERCALLS, type HypercallRow, type InArg } from './abi/hypercalls.js';
import { ObjState, type HypObject } from './core/object.js';
import type { Thread } from './vm/thread.js';
import type { Hypervisor } from './hypervisor.js';
import { Tracer } from './trace.js';

const ALL_ONES = 0xffff_ffff_ffff_ffffn;

/** What a handler sees: truncated inputs, an output buffer, and cap lookups as the row declares. */
export class CallCtx {
  /** Inputs, truncated to their declared widths. */
  readonly a = new BigUint64Array(8);
  /** Outputs after the error: out[1]... (out[0] is unused when the row has an error output). */
  readonly out = new BigUint64Array(8);
  thread!: Thread;
  row!: HypercallRow;

  constructor(readonly hv: Hypervisor) {}

  /**
   * Look up input `i` (a cap argument) in the calling thread's cspace with the type and rights
   * the table gives. `init` arguments must also be in state INIT. Returns the object or an error.
   */
  cap<T extends HypObject>(i: number): T | number {
    const arg = this.row.inputs[i] as Extract<InArg, { kind: 'cap' }>;
    const cs = this.thread.cspace;
    if (cs === null) return Err.CSPACE_CAP_NULL;
    if (arg.state !== 'init') return cs.lookup<T>(this.a[i]!, arg.type, arg.rights, arg.state === 'active');
    // Configure and attach-as-INIT paths look the cap up as "any object" with the rights, and only
    // then check the type (§3.1): a cap of another type without the activate right is
    // CSPACE_INSUFFICIENT_RIGHTS, not CSPACE_WRONG_OBJECT_TYPE.
    const r = cs.lookup<T>(this.a[i]!, 'any', arg.rights, false);
    if (typeof r === 'number') return r;
    if (arg.type !== 'any' && r.type !== arg.type) return Err.CSPACE_WRONG_OBJECT_TYPE;
    if (r.state !== ObjState.INIT) return Err.OBJECT_STATE;
    return r;
  }
}

export type Handler = (c: CallCtx) => number;

interface Entry {
  row: HypercallRow;
  handler: Handler | null;
  /** Per input: the mask to truncate to (0n for reserved arguments, checked instead). */
  masks: bigint[];
  hasError: boolean;
}

const MASK: Record<InArg['kind'], bigint> = {
  cap: ALL_ONES,
  u64: ALL_ONES,
  u32: 0xffff_ffffn,
  u16: 0xffffn,
  bool: 0xffn,
  res0: 0n,
  res1: 0n,
};

export class Dispatcher {
  private readonly table: (Entry | null)[] = new Array<Entry | null>(HYPERCALL_NUM).fill(null);
  /**
   * Call contexts by nesting depth: vcpu_run runs another vCPU inside the caller's hypercall, and
   * that vCPU's own hypercalls must not overwrite the outer call's inputs and outputs.
   */
  private readonly ctxs: CallCtx[] = [];
  private depth = 0;
  /** Hypercalls made, by number (for --stats and tests). */
  readonly counts = new Float64Array(HYPERCALL_NUM);
  /** Hypercall entry/exit events go here when a sink is attached. */
  readonly tracer = new Tracer();

  constructor(
    private readonly hv: Hypervisor,
    handlers: ReadonlyMap<string, Handler>,
  ) {
    this.ctxs.push(new CallCtx(hv));
    for (const row of HYPERCALLS) {
      const handler = row.unimplemented ? null : (handlers.get(row.name) ?? null);
      this.table[row.num] = {
        row,
        handler,
        masks: row.inputs.map((a) => MASK[a.kind]),
        hasError: row.outputs[0]?.kind === 'error',
      };
    }
  }

  /** Whether a handler is installed for the call (rows without one answer UNIMPLEMENTED). */
  implemented(name: string): boolean {
    return this.table.some((e) => e?.row.name === name && e.handler !== null);
  }

  /** The call context of the next nesting level. */
  private enter(): CallCtx {
    const d = this.depth++;
    return this.ctxs[d] ?? (this.ctxs[d] = new CallCtx(this.hv));
  }

  /** Run call `n` for `thread`; returns the error (or 0 for calls without one). Outputs in c.out. */
  private run(e: Entry, thread: Thread, c: CallCtx): number {
    c.thread = thread;
    c.row = e.row;
    c.out.fill(0n);
    this.counts[e.row.num]!++;
    const tr = this.tracer;
    if (tr.on) tr.hypercall(0, thread.label, e.row, c.a);
    let err: number;
    if (e.handler === null) {
      if (e.row.name === 'partition_create_partition') c.out[1] = ALL_ONES;
      err = Err.UNIMPLEMENTED;
    } else {
      err = e.handler(c);
    }
    if (tr.on) tr.hypercallRet(0, thread.label, e.row, err, c.out);
    return err;
  }

  /**
   * Native path: `hvc #(0x6000 + n)` with inputs in x0.. and outputs in x0.. (§1.1). Unused
   * x0..x7 and x10..x17 are zeroed; x8, x9 and x18.. are preserved (x9 is architecturally
   * clobbered: we choose to leave it).
   */
  hvc(thread: Thread, x: BigUint64Array, n: number): void {
    const e = n < HYPERCALL_NUM ? this.table[n] : undefined;
    if (e === undefined) {
      // Beyond the table: an ordinary trapped HVC, answered like an unknown SMCCC call.
      x[0] = ALL_ONES;
      return;
    }
    if (e === null) {
      // A hole in the table: all-ones in x0 (not a C handler's 32-bit error), x1..x7 zero.
      x[0] = ALL_ONES;
      for (let k = 1; k < 8; k++) x[k] = 0n;
      for (let k = 10; k < 18; k++) x[k] = 0n;
      return;
    }
    const c = this.enter();
    try {
      const ins = e.row.inputs;
      let err: number = Err.OK;
      for (let k = 0; k < ins.length; k++) {
        const kind = ins[k]!.kind;
        if ((kind === 'res0' && x[k] !== 0n) || (kind === 'res1' && x[k] !== ALL_ONES)) err = Err.ARGUMENT_INVALID;
        c.a[k] = x[k]! & e.masks[k]!;
      }
      if (err !== Err.OK && e.hasError) {
        this.counts[e.row.num]!++;
        c.out.fill(0n);
      } else {
        err = this.run(e, thread, c);
      }
      const outs = e.row.outputs;
      for (let k = 0; k < 8; k++) {
        if (k >= outs.length) x[k] = 0n;
        else if (outs[k]!.kind === 'error') x[k] = BigInt(err >>> 0);
        else x[k] = outValue(outs[k]!.kind, c.out[k]!);
      }
      for (let k = 10; k < 18; k++) x[k] = 0n;
    } finally {
      this.depth--;
    }
  }

  /**
   * SMCCC-wrapped path (§1.2): call `n` with inputs from x1.., outputs to x0..; other registers
   * keep their values, reserved inputs are not checked, errors are sign-extended to 64 bits.
   */
  smcccHypercall(thread: Thread, x: BigUint64Array, n: number): void {
    const e = n < HYPERCALL_NUM ? this.table[n] : undefined;
    if (!e) {
      x[0] = ALL_ONES;
      return;
    }
    const c = this.enter();
    try {
      const ins = e.row.inputs;
      for (let k = 0; k < ins.length; k++) c.a[k] = k + 1 < 31 ? x[k + 1]! & (e.masks[k] || ALL_ONES) : 0n;
      const err = this.run(e, thread, c);
      const outs = e.row.outputs;
      for (let k = 0; k < outs.length; k++) {
        x[k] = outs[k]!.kind === 'error' ? BigInt.asUintN(64, BigInt(err)) : outValue(outs[k]!.kind, c.out[k]!);
      }
    } finally {
      this.depth--;
    }
  }
}

function outValue(kind: string, v: bigint): bigint {
  switch (kind) {
    case 'u32':
      return v & 0xffff_ffffn;
    case 'bool':
      return v !== 0n ? 1n : 0n;
    default:
      return v;
  }
}
