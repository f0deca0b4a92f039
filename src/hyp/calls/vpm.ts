// Handlers for virtual PM groups (hypervisor-abi.md §2.9). Binding the group's VIRQ arrives with
// the VIRQ source module.

import { Err } from '../abi/errors.js';
import type { CallCtx, Handler } from '../dispatch.js';
import { creator } from './objects.js';
import { VPM_FLAG_NO_AGGREGATION, VpmGroup } from '../vm/vpm.js';
import type { Thread } from '../vm/thread.js';

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
  ['vpm_group_get_state', getState],
]);
