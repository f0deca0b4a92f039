// Handlers for the vGIC's hypercalls (hypervisor-abi.md §2.5, §2.6, §9.1): placing the GICD and
// GICR frames in an address space (addrspace_attach_vdevice) and the CPU index ↔ MPIDR mapping
// (vgic_set_mpidr_mapping). Lookups come first, in argument order, as Gunyah's handlers do.

import { Err } from '../abi/errors.js';
import { RIGHT_ACTIVATE } from '../abi/rights.js';
import { ObjState } from '../core/object.js';
import type { CallCtx, Handler } from '../dispatch.js';
import type { Addrspace } from '../mem/addrspace.js';
import { Vic, vicAttachVdevice } from '../vm/vic.js';

/**
 * addrspace_attach_vdevice (0x62): the addrspace (map right, ACTIVE), then the vdevice — a VIC
 * (attach_vdevice right, ACTIVE; any other object is CSPACE_WRONG_OBJECT_TYPE, the only vdevice
 * type with a handler on this platform) — then the VIC's rules (vicAttachVdevice). No reserved
 * argument: x5 is the device's flags word.
 */
function addrspaceAttachVdevice(c: CallCtx): number {
  const as = c.cap<Addrspace>(0);
  if (typeof as === 'number') return as;
  const vic = c.cap<Vic>(1);
  if (typeof vic === 'number') return vic;
  return vicAttachVdevice(vic, as, Number(c.a[2]!), c.a[3]!, c.a[4]!, c.a[5]!);
}

/**
 * vgic_set_mpidr_mapping (0x67): as Gunyah, the cap is looked up as any object with the activate
 * right, then the type (CSPACE_WRONG_OBJECT_TYPE), then the state (INIT, else OBJECT_STATE), then
 * the mapping's checks (Vic.setMpidrMapping, ARGUMENT_INVALID).
 */
function vgicSetMpidrMapping(c: CallCtx): number {
  const cs = c.thread.cspace;
  if (cs === null) return Err.CSPACE_CAP_NULL;
  const obj = cs.lookup(c.a[0]!, 'any', RIGHT_ACTIVATE, false);
  if (typeof obj === 'number') return obj;
  if (!(obj instanceof Vic)) return Err.CSPACE_WRONG_OBJECT_TYPE;
  if (obj.state !== ObjState.INIT) return Err.OBJECT_STATE;
  const shifts = [Number(c.a[2]!), Number(c.a[3]!), Number(c.a[4]!), Number(c.a[5]!)];
  return obj.setMpidrMapping(c.a[1]!, shifts, c.a[6]! !== 0n);
}

export const VGIC_HANDLERS: ReadonlyMap<string, Handler> = new Map<string, Handler>([
  ['addrspace_attach_vdevice', addrspaceAttachVdevice],
  ['vgic_set_mpidr_mapping', vgicSetMpidrMapping],
]);
