// The RM's hypercalls (DESIGN.md §2: the RM reaches the hypervisor only through the ABI). A thin
// wrapper over its vCPU: `call` returns the error and outputs; `must` is for calls that cannot
// fail unless the RM itself is wrong, and says which call failed and how.

import { Err, errorName } from '../hyp/abi/errors.js';
import type { HypCallResult, RmVcpu } from './port.js';

export class RmHypError extends Error {
  constructor(
    readonly call: string,
    readonly error: number,
  ) {
    super(`${call} failed: ${errorName(error)}`);
  }
}

export class Hyp {
  constructor(readonly v: RmVcpu) {}

  call(name: string, ...args: bigint[]): HypCallResult {
    return this.v.call(name, ...args);
  }

  /** The call's first output (x1), or RmHypError. */
  must(name: string, ...args: bigint[]): bigint {
    const r = this.v.call(name, ...args);
    if (r.e !== Err.OK) throw new RmHypError(name, r.e);
    return r.x[1]!;
  }
}
