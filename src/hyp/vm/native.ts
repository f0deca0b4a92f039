// Native vCPUs (DESIGN.md §3): a vCPU whose code is a TypeScript program (the resource manager,
// the host VMM, test drivers). It reaches the hypervisor exactly as guest code does — register
// values in, register values out, through the same dispatcher — and nothing else.

import { HVC_BASE, HYPERCALL_BY_NAME, SMCCC_HYPERCALL_BASE } from '../abi/hypercalls.js';
import type { Hypervisor } from '../hypervisor.js';
import type { Thread } from './thread.js';

export interface CallResult {
  /** x0 as the guest reads the error: a signed 32-bit number (0 = OK). */
  e: number;
  /** x0..x7 after the call. */
  x: bigint[];
}

export class NativeVcpu {
  /** X0..X30. */
  readonly x = new BigUint64Array(31);

  constructor(
    readonly hv: Hypervisor,
    readonly thread: Thread,
  ) {}

  /** `hvc #imm` with x0.. = args; returns x0..x7. */
  hvcImm(imm: number, args: readonly bigint[]): bigint[] {
    args.forEach((v, k) => (this.x[k] = BigInt.asUintN(64, v)));
    this.hv.hvc(this.thread, this.x, imm);
    return [...this.x.subarray(0, 8)];
  }

  /** A Gunyah hypercall by name on the native path (`hvc #0x6000+N`). */
  call(name: string, ...args: bigint[]): CallResult {
    const row = HYPERCALL_BY_NAME.get(name);
    if (!row) throw new Error(`no hypercall named ${name}`);
    const x = this.hvcImm(HVC_BASE + row.num, args);
    return { e: Number(BigInt.asIntN(32, x[0]!)), x };
  }

  /** The same call through SMCCC (`hvc #0`, function ID 0xC6008000+N, inputs from x1). */
  callSmccc(name: string, ...args: bigint[]): CallResult {
    const row = HYPERCALL_BY_NAME.get(name);
    if (!row) throw new Error(`no hypercall named ${name}`);
    const x = this.hvcImm(0, [BigInt(SMCCC_HYPERCALL_BASE + row.num), ...args]);
    return { e: Number(BigInt.asIntN(64, x[0]!)), x };
  }
}
