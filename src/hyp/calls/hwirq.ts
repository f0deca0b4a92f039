// Handlers for hwirq_bind_virq and hwirq_unbind_virq (hypervisor-abi.md §2.5, §7): forwarding a
// physical interrupt to a VIC. The hwirq is looked up with bind_vic (0x2, not the doc's 0x1, §13
// item 6), then the VIC with bind_source; the binding rules are the hwirq's (vm/hwirq.ts).

import type { CallCtx, Handler } from '../dispatch.js';
import type { Hwirq } from '../vm/hwirq.js';
import type { Vic } from '../vm/vic.js';

function hwirqBindVirq(c: CallCtx): number {
  const h = c.cap<Hwirq>(0);
  if (typeof h === 'number') return h;
  const vic = c.cap<Vic>(1);
  if (typeof vic === 'number') return vic;
  return h.bind(vic, Number(c.a[2]!));
}

function hwirqUnbindVirq(c: CallCtx): number {
  const h = c.cap<Hwirq>(0);
  if (typeof h === 'number') return h;
  return h.unbind();
}

export const HWIRQ_HANDLERS: ReadonlyMap<string, Handler> = new Map<string, Handler>([
  ['hwirq_bind_virq', hwirqBindVirq],
  ['hwirq_unbind_virq', hwirqUnbindVirq],
]);
