// Every hypercall handler of this build, by name (rows of abi/hypercalls.ts without a handler
// answer UNIMPLEMENTED).

import type { Handler } from '../dispatch.js';
import { OBJECT_HANDLERS } from './objects.js';
import { IPC_HANDLERS } from './ipc.js';
import { MEM_HANDLERS } from './mem.js';
import { VCPU_HANDLERS } from './vcpu.js';
import { VPM_HANDLERS } from './vpm.js';
import { HWIRQ_HANDLERS } from './hwirq.js';
import { MISC_HANDLERS } from './misc.js';
import { VGIC_HANDLERS } from './vgic.js';
import { VIRTIO_HANDLERS } from './virtio.js';

export const HANDLERS: ReadonlyMap<string, Handler> = new Map<string, Handler>([
  ...OBJECT_HANDLERS,
  ...IPC_HANDLERS,
  ...MEM_HANDLERS,
  ...VCPU_HANDLERS,
  ...VPM_HANDLERS,
  ...HWIRQ_HANDLERS,
  ...MISC_HANDLERS,
  ...VGIC_HANDLERS,
  ...VIRTIO_HANDLERS,
]);
