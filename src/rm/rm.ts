// The resource manager (RM spec; DESIGN.md §2): the root VM's program, a native vCPU that holds
// Gunyah's policy and reaches the hypervisor only through hypercalls. This is its skeleton: the
// start (read the boot environment, check the hypervisor, open its interrupt controller) and the
// loop that sleeps until an interrupt. RPC links, VM lifecycle, memory parcels and the device tree
// build on it.

import { readBootInfo, RmBootError, type RmBootInfo } from './boot.js';
import type { RmVcpu } from './port.js';

/** hypervisor_identify's api_info the RM was built for: API version 1, 64-bit (§9.5). */
const API_VERSION_MASK = 0x3fffn;
const API_64BIT = 1n << 15n;

export type RmStep = 'yield' | 'wait' | 'off';

export class ResourceManager {
  /** Set once the RM has started. */
  info: RmBootInfo | null = null;
  /** hypervisor_identify's api_info, as the RM saw it. */
  apiInfo = 0n;
  /** Why the RM stopped, if it did (a start failure: the message a log would carry). */
  failure: string | null = null;

  /** One scheduling of the RM's vCPU (the running system's NativeProgram.step). */
  step(v: RmVcpu): RmStep {
    if (this.failure !== null) return 'off';
    if (this.info === null) {
      try {
        this.start(v);
      } catch (e) {
        if (!(e instanceof RmBootError)) throw e;
        this.failure = e.message;
        return 'off';
      }
    }
    return 'wait';
  }

  private start(v: RmVcpu): void {
    const id = v.call('hypervisor_identify');
    this.apiInfo = id.x[0]!;
    if ((this.apiInfo & API_VERSION_MASK) !== 1n || (this.apiInfo & API_64BIT) === 0n) {
      throw new RmBootError(`unsupported hypervisor API (api_info 0x${this.apiInfo.toString(16)})`);
    }
    this.info = readBootInfo(v);
    v.irq?.init();
  }
}
