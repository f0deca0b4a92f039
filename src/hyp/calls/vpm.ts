// Handlers for virtual PM groups (hypervisor-abi.md §2.9): configure, attach, the group's VIRQ
// (bind/unbind, §7) and its power state.

import { Err } from '../abi/errors.js';
import type { CallCtx, Handler } from '../dispatch.js';
import { creator } from './objects.js';
import { VPM_FLAG_NO_AGGREGATION, VpmGroup } from '../vm/vpm.js';
import type { Thread } from '../vm/thread.js';
import type { Vic } from '../vm/vic.js';

function configure(c: CallCtx): number {
  // Unknown flag bits answer UNIMPLEMENTED, checked before the cap lookup (§2.9).
  if ((c.a[1]! & ~VPM_FLAG_NO_AGGREGATION) !== 0n) return Err.UNIMPLEMENTED;
  const g = c.cap<VpmGroup>(0);
  if (typeof g === 'number') return g;
  return g.configure(c.a[1]!);
}

function attachVcpu(c: CallCtx): number {
  const g = c.cap<VpmGroup>(0);
  if (typeof g === 'number') return g;
  const t = c.cap<Thread>(1);
  if (typeof t === 'number') return t;
  return g.attach(t, Number(c.a[2]!));
}

/** The group (bind_virq), then the VIC (bind_source), then the shared-VIRQ rules (§7). */
function bindVirq(c: CallCtx): number {
  const g = c.cap<VpmGroup>(0);
  if (typeof g === 'number') return g;
  const vic = c.cap<Vic>(1);
  if (typeof vic === 'number') return vic;
  return g.source.bind(vic, Number(c.a[2]!));
}

/** Always OK once the lookup passes, bound or not (as Gunyah's vpm_unbind_virq). */
function unbindVirq(c: CallCtx): number {
  const g = c.cap<VpmGroup>(0);
  if (typeof g === 'number') return g;
  g.source.unbind();
  return Err.OK;
}

function getState(c: CallCtx): number {
  const g = c.cap<VpmGroup>(0);
  if (typeof g === 'number') return g;
  c.out[1] = BigInt(g.powerState());
  return Err.OK;
}

export const VPM_HANDLERS: ReadonlyMap<string, Handler> = new Map<string, Handler>([
  ['partition_create_vpm_group', creator((c) => new VpmGroup(c.hv))],
  ['vpm_group_configure', configure],
  ['vpm_group_attach_vcpu', attachVcpu],
  ['vpm_group_bind_virq', bindVirq],
  ['vpm_group_unbind_virq', unbindVirq],
  ['vpm_group_get_state', getState],
]);
