// Handlers for identification, object creation and activation, and cspace management
// (hypervisor-abi.md §2.1, §2.2, §4).

import { Err } from '../abi/errors.js';
import { RIGHT_ACTIVATE } from '../abi/rights.js';
import { HYP_API_FLAGS0, HYP_API_FLAGS1, HYP_API_FLAGS2, HYP_API_INFO } from '../abi/smccc.js';
import type { CallCtx, Handler } from '../dispatch.js';
import { Cspace, CSPACE_MAX_CAPS } from '../core/cspace.js';
import type { HypObject } from '../core/object.js';
import type { Partition } from '../core/partition.js';
import { Thread } from '../vm/thread.js';

/** Constructors for the object types partition_create_* can make in this build. */
export type ObjectFactory = (c: CallCtx) => HypObject;

function identify(c: CallCtx): number {
  c.out[0] = HYP_API_INFO;
  c.out[1] = HYP_API_FLAGS0;
  c.out[2] = HYP_API_FLAGS1;
  c.out[3] = HYP_API_FLAGS2;
  return Err.OK;
}

/** partition_create_<type>: the new object is INIT; its master cap goes into the given cspace. */
export function creator(make: ObjectFactory): Handler {
  return (c) => {
    const p = c.cap(0);
    if (typeof p === 'number') return p;
    const cs = c.cap<Cspace>(1);
    if (typeof cs === 'number') return cs;
    const obj = c.hv.adopt(make(c));
    const id = cs.createMasterCap(obj);
    if (typeof id === 'number') {
      // No slot for the cap: the object never existed for anyone.
      c.hv.objectEvent(obj, 'destroy');
      return id;
    }
    c.out[1] = id;
    return Err.OK;
  };
}

function objectActivate(c: CallCtx): number {
  const obj = c.cap(0);
  if (typeof obj === 'number') return obj;
  return obj.activate();
}

function objectActivateFrom(c: CallCtx): number {
  const cs = c.cap<Cspace>(0);
  if (typeof cs === 'number') return cs;
  const obj = cs.lookup(c.a[1]!, 'any', RIGHT_ACTIVATE, false);
  if (typeof obj === 'number') return obj;
  return obj.activate();
}

function deleteCapFrom(c: CallCtx): number {
  const cs = c.cap<Cspace>(0);
  if (typeof cs === 'number') return cs;
  return cs.deleteCap(c.a[1]!);
}

function copyCapFrom(c: CallCtx): number {
  const src = c.cap<Cspace>(0);
  if (typeof src === 'number') return src;
  const dest = c.cap<Cspace>(2);
  if (typeof dest === 'number') return dest;
  const r = Cspace.copyCap(src, c.a[1]!, dest, Number(c.a[3]!));
  if (typeof r === 'number') return r;
  c.out[1] = r;
  return Err.OK;
}

function cspaceConfigure(c: CallCtx): number {
  const cs = c.cap<Cspace>(0);
  if (typeof cs === 'number') return cs;
  const max = Number(c.a[1]!);
  if (max > CSPACE_MAX_CAPS) return Err.ARGUMENT_INVALID;
  return cs.configure(max);
}

function cspaceAttachThread(c: CallCtx): number {
  const cs = c.cap<Cspace>(0);
  if (typeof cs === 'number') return cs;
  const t = c.cap<Thread>(1);
  if (typeof t === 'number') return t;
  t.attachCspace(cs);
  return Err.OK;
}

function revokeCapsFrom(c: CallCtx): number {
  const cs = c.cap<Cspace>(0);
  if (typeof cs === 'number') return cs;
  return cs.revokeCaps(c.a[1]!);
}

export const OBJECT_HANDLERS: ReadonlyMap<string, Handler> = new Map<string, Handler>([
  ['hypervisor_identify', identify],
  ['partition_create_cspace', creator((c) => new Cspace(c.hv))],
  ['partition_create_thread', creator((c) => new Thread(c.hv, c.cap<Partition>(0) as Partition))],
  ['object_activate', objectActivate],
  ['object_activate_from', objectActivateFrom],
  ['cspace_delete_cap_from', deleteCapFrom],
  ['cspace_copy_cap_from', copyCapFrom],
  ['cspace_configure', cspaceConfigure],
  ['cspace_attach_thread', cspaceAttachThread],
  ['cspace_revoke_caps_from', revokeCapsFrom],
]);
