// Handlers for address spaces and memory extents (hypervisor-abi.md §2.6, §2.7, §10). Argument
// checks run in the spec's order; reserved bits of attribute and flag words are checked before any
// cap lookup (the dispatcher only checks whole reserved arguments). Where the spec leaves an order
// open, the choice is written next to the check.

import { Err } from '../abi/errors.js';
import { MEMEXTENT_RIGHT, PARTITION_RIGHT } from '../abi/rights.js';
import type { CallCtx, Handler } from '../dispatch.js';
import type { Partition } from '../core/partition.js';
import type { Thread } from '../vm/thread.js';
import { Stage2Access } from '../vm/stage2-access.js';
import { Addrspace } from '../mem/addrspace.js';
import { MemExtent, donateChild, donateSibling } from '../mem/memextent.js';
import { Stage2 } from '../mem/stage2.js';
import { creator } from './objects.js';
import {
  ACCESS_ATTRS_RES0,
  DONATE_OPTIONS_RES0,
  DONATE_TYPE,
  MAPPING_ATTRS_RES0,
  MAP_FLAGS_RES0,
  MAP_FLAG_PARTIAL,
  MODIFY_FLAGS_RES0,
  MODIFY_OP,
  accessWithin,
  kernelAccess,
  mappingAttrsValid,
  userAccess,
} from '../mem/attrs.js';

const TWO64 = 1n << 64n;
const PAGE_MASK = 0xfffn;
const NO_SYNC = 0x8000_0000;

/** The partition argument of a partition_create_* call (already looked up by `creator`). */
function partitionOf(c: CallCtx): Partition {
  return c.cap<Partition>(0) as Partition;
}

// ---------------------------------------------------------------------------------------------
// Address spaces
// ---------------------------------------------------------------------------------------------

function addrspaceConfigure(c: CallCtx): number {
  const as = c.cap<Addrspace>(0);
  if (typeof as === 'number') return as;
  return as.configure(Number(c.a[1]!));
}

/** The thread is looked up before the addrspace (as Gunyah's handler does). */
function addrspaceAttachThread(c: CallCtx): number {
  const t = c.cap<Thread>(1);
  if (typeof t === 'number') return t;
  const as = c.cap<Addrspace>(0);
  if (typeof as === 'number') return as;
  const e = as.attachThread(t);
  // A native vCPU reads guest buffers through its addrspace's stage 2 (an emulated vCPU's
  // runner installs its own stage-1 + stage-2 access over this).
  if (e === Err.OK) t.access = new Stage2Access(as.stage2, c.hv.mem.phys);
  return e;
}

/** No DMA-capable objects on this platform: the addrspace lookup is the only check (§2.6). */
function addrspaceAttachVdma(c: CallCtx): number {
  const as = c.cap<Addrspace>(0);
  if (typeof as === 'number') return as;
  return Err.CSPACE_WRONG_OBJECT_TYPE;
}

function addrspaceConfigureInfoArea(c: CallCtx): number {
  const as = c.cap<Addrspace>(0);
  if (typeof as === 'number') return as;
  const me = c.cap<MemExtent>(1);
  if (typeof me === 'number') return me;
  return as.configureInfoArea(me, c.a[2]!);
}

function addrspaceConfigureVmmio(c: CallCtx): number {
  const as = c.cap<Addrspace>(0);
  if (typeof as === 'number') return as;
  return as.configureVmmio(c.a[1]!, c.a[2]!, Number(c.a[3]!));
}

/** The addrspace and extent caps of map/unmap/update_access (addrspace first). */
function asAndExtent(c: CallCtx): [Addrspace, MemExtent] | number {
  const as = c.cap<Addrspace>(0);
  if (typeof as === 'number') return as;
  const me = c.cap<MemExtent>(1);
  if (typeof me === 'number') return me;
  return [as, me];
}

/**
 * The partial-range checks of map/unmap/update_access (§10.4): vbase, offset and size aligned
 * (ARGUMENT_ALIGNMENT); size ≠ 0, no wrap of offset or vbase, inside the extent (ARGUMENT_SIZE).
 */
function partialRange(me: MemExtent, vbase: bigint, offset: bigint, size: bigint): number {
  if (((vbase | offset | size) & PAGE_MASK) !== 0n) return Err.ARGUMENT_ALIGNMENT;
  if (size === 0n || offset + size - 1n >= TWO64 || vbase + size - 1n >= TWO64) return Err.ARGUMENT_SIZE;
  if (offset + size - 1n >= BigInt(me.pages) << 12n) return Err.ARGUMENT_SIZE;
  return Err.OK;
}

const pagesOf = (bytes: bigint): number => Number(bytes >> 12n);

function addrspaceMap(c: CallCtx): number {
  const vbase = c.a[2]!;
  const attrs = Number(c.a[3]!);
  const flags = Number(c.a[4]!);
  if ((attrs & MAPPING_ATTRS_RES0) !== 0 || (flags & MAP_FLAGS_RES0) !== 0) return Err.ARGUMENT_INVALID;
  const r = asAndExtent(c);
  if (typeof r === 'number') return r;
  const [as, me] = r;
  if ((flags & MAP_FLAG_PARTIAL) === 0) {
    if ((vbase & PAGE_MASK) !== 0n) return Err.ARGUMENT_ALIGNMENT;
    if (!mappingAttrsValid(me.access, me.memtype, attrs)) return Err.ARGUMENT_INVALID;
    return me.map(as, vbase, attrs);
  }
  const offset = c.a[5]!;
  const size = c.a[6]!;
  const e = partialRange(me, vbase, offset, size);
  if (e !== Err.OK) return e;
  if (!mappingAttrsValid(me.access, me.memtype, attrs)) return Err.ARGUMENT_INVALID;
  return me.mapPartial(as, vbase, pagesOf(offset), pagesOf(size), attrs);
}

function addrspaceUnmap(c: CallCtx): number {
  const vbase = c.a[2]!;
  const flags = Number(c.a[3]!);
  if ((flags & MAP_FLAGS_RES0) !== 0) return Err.ARGUMENT_INVALID;
  const r = asAndExtent(c);
  if (typeof r === 'number') return r;
  const [as, me] = r;
  if ((flags & MAP_FLAG_PARTIAL) === 0) {
    if ((vbase & PAGE_MASK) !== 0n) return Err.ARGUMENT_ALIGNMENT;
    return me.unmap(as, vbase);
  }
  const offset = c.a[4]!;
  const size = c.a[5]!;
  const e = partialRange(me, vbase, offset, size);
  if (e !== Err.OK) return e;
  return me.unmapPartial(as, vbase, pagesOf(offset), pagesOf(size));
}

/** Access is checked against the extent before alignment, as in Gunyah's memextent_update_access. */
function addrspaceUpdateAccess(c: CallCtx): number {
  const vbase = c.a[2]!;
  const access = Number(c.a[3]!);
  const flags = Number(c.a[4]!);
  if ((access & ACCESS_ATTRS_RES0) !== 0 || (flags & MAP_FLAGS_RES0) !== 0) return Err.ARGUMENT_INVALID;
  const r = asAndExtent(c);
  if (typeof r === 'number') return r;
  const [as, me] = r;
  const user = userAccess(access);
  const kernel = kernelAccess(access);
  if (!accessWithin(me.access, user) || !accessWithin(me.access, kernel)) return Err.ARGUMENT_INVALID;
  if ((flags & MAP_FLAG_PARTIAL) === 0) {
    if ((vbase & PAGE_MASK) !== 0n) return Err.ARGUMENT_ALIGNMENT;
    return me.updateAccess(as, vbase, user, kernel);
  }
  const offset = c.a[5]!;
  const size = c.a[6]!;
  const e = partialRange(me, vbase, offset, size);
  if (e !== Err.OK) return e;
  return me.updateAccessPartial(as, vbase, pagesOf(offset), pagesOf(size), user, kernel);
}

/**
 * addrspace_lookup (§10.4): size ≠ 0 (ARGUMENT_SIZE), no wrap (ADDR_OVERFLOW), aligned
 * (ARGUMENT_ALIGNMENT); the stage-2 run from vbase (ADDR_INVALID if unmapped) must be owned by the
 * extent (MEMDB_NOT_OWNER). Returns the offset into the extent, the run's size, its attributes.
 */
function addrspaceLookup(c: CallCtx): number {
  const r = asAndExtent(c);
  if (typeof r === 'number') return r;
  const [as, me] = r;
  const vbase = c.a[2]!;
  const size = c.a[3]!;
  if (size === 0n) return Err.ARGUMENT_SIZE;
  if (vbase + size - 1n >= TWO64) return Err.ADDR_OVERFLOW;
  if (((vbase | size) & PAGE_MASK) !== 0n) return Err.ARGUMENT_ALIGNMENT;
  const ipn = pagesOf(vbase);
  if (!Stage2.inRange(ipn, 1)) return Err.ADDR_INVALID;
  const run = as.stage2.run(ipn, pagesOf(size));
  if (run === null) return Err.ADDR_INVALID;
  if (!c.hv.mem.memdb.ownsAll(run.pa, run.pa + run.pages, me)) return Err.MEMDB_NOT_OWNER;
  c.out[1] = BigInt(run.pa - me.base) << 12n;
  c.out[2] = BigInt(run.pages) << 12n;
  c.out[3] = BigInt(run.attrs);
  return Err.OK;
}

// ---------------------------------------------------------------------------------------------
// Memory extents
// ---------------------------------------------------------------------------------------------

function memextentConfigure(c: CallCtx): number {
  const me = c.cap<MemExtent>(0);
  if (typeof me === 'number') return me;
  return me.configure(c.a[1]!, c.a[2]!, Number(c.a[3]!));
}

/** The parent is looked up before the extent being configured (as Gunyah's handler does). */
function memextentConfigureDerive(c: CallCtx): number {
  const parent = c.cap<MemExtent>(1);
  if (typeof parent === 'number') return parent;
  const me = c.cap<MemExtent>(0);
  if (typeof me === 'number') return me;
  return me.configureDerive(parent, c.a[2]!, c.a[3]!, Number(c.a[4]!));
}

/**
 * memextent_modify (§10.4): reserved flag bits before the lookup; UNMAP_ALL (either sync mode);
 * the range ops only with no_sync = 1; SYNC_ALL only with no_sync = 0; anything else
 * ARGUMENT_INVALID. Every change already took effect at once, so the syncs have nothing to wait for.
 */
function memextentModify(c: CallCtx): number {
  const flags = Number(c.a[1]!);
  if ((flags & MODIFY_FLAGS_RES0) !== 0) return Err.ARGUMENT_INVALID;
  const me = c.cap<MemExtent>(0);
  if (typeof me === 'number') return me;
  const op = flags & 0xff;
  const noSync = (flags & NO_SYNC) !== 0;
  switch (op) {
    case MODIFY_OP.UNMAP_ALL:
      me.unmapAll();
      return Err.OK;
    case MODIFY_OP.ZERO_RANGE:
    case MODIFY_OP.CACHE_CLEAN_RANGE:
    case MODIFY_OP.CACHE_FLUSH_RANGE:
      if (!noSync) return Err.ARGUMENT_INVALID;
      return me.cleanRange(op, c.a[2]!, c.a[3]!);
    case MODIFY_OP.SYNC_ALL:
      return noSync ? Err.ARGUMENT_INVALID : Err.OK;
    default:
      return Err.ARGUMENT_INVALID;
  }
}

/**
 * A party of memextent_donate: a memextent, or (for a non-derived child) its partition. Looked up
 * in any state without rights first, so that the type decides which right is needed: then the
 * usual order (wrong type → rights → not active) applies per type.
 */
function donateParty(c: CallCtx, id: bigint, partitionOk: boolean): MemExtent | Partition | number {
  const cs = c.thread.cspace;
  if (cs === null) return Err.CSPACE_CAP_NULL;
  const obj = cs.lookup(id, 'any', 0, false);
  if (typeof obj === 'number') return obj;
  if (obj.type === 'memextent') return cs.lookup<MemExtent>(id, 'memextent', MEMEXTENT_RIGHT.donate, true);
  if (obj.type === 'partition' && partitionOk) {
    return cs.lookup<Partition>(id, 'partition', PARTITION_RIGHT.donate, true);
  }
  return Err.CSPACE_WRONG_OBJECT_TYPE;
}

/** Whether `p` is the child's donor side: its parent extent, or its partition if not derived. */
function isParentOf(p: MemExtent | Partition, child: MemExtent): boolean {
  return child.parent !== null ? p === child.parent : p === child.partition;
}

/**
 * memextent_donate (§10.4): reserved option bits, then the type (ARGUMENT_INVALID), before any
 * lookup; `from` is looked up before `to` (our order). TO_CHILD and TO_PARENT need the other side
 * to be the child's parent extent or, for a non-derived child, its partition (ARGUMENT_INVALID).
 */
function memextentDonate(c: CallCtx): number {
  const options = Number(c.a[0]!);
  if ((options & DONATE_OPTIONS_RES0) !== 0) return Err.ARGUMENT_INVALID;
  const type = options & 0xff;
  if (type !== DONATE_TYPE.TO_CHILD && type !== DONATE_TYPE.TO_PARENT && type !== DONATE_TYPE.TO_SIBLING) {
    return Err.ARGUMENT_INVALID;
  }
  const from = donateParty(c, c.a[1]!, type === DONATE_TYPE.TO_CHILD);
  if (typeof from === 'number') return from;
  const to = donateParty(c, c.a[2]!, type === DONATE_TYPE.TO_PARENT);
  if (typeof to === 'number') return to;
  const offset = c.a[3]!;
  const size = c.a[4]!;
  if (type === DONATE_TYPE.TO_CHILD) {
    const child = to as MemExtent;
    if (!isParentOf(from, child)) return Err.ARGUMENT_INVALID;
    return donateChild(child, offset, size, false);
  }
  if (type === DONATE_TYPE.TO_PARENT) {
    const child = from as MemExtent;
    if (!isParentOf(to, child)) return Err.ARGUMENT_INVALID;
    return donateChild(child, offset, size, true);
  }
  return donateSibling(from as MemExtent, to as MemExtent, offset, size);
}

export const MEM_HANDLERS: ReadonlyMap<string, Handler> = new Map<string, Handler>([
  ['partition_create_addrspace', creator((c) => new Addrspace(c.hv, c.hv.mem, partitionOf(c)))],
  ['partition_create_memextent', creator((c) => new MemExtent(c.hv, c.hv.mem, partitionOf(c)))],
  ['addrspace_configure', addrspaceConfigure],
  ['addrspace_attach_thread', addrspaceAttachThread],
  ['addrspace_attach_vdma', addrspaceAttachVdma],
  ['addrspace_configure_info_area', addrspaceConfigureInfoArea],
  ['addrspace_configure_vmmio', addrspaceConfigureVmmio],
  ['addrspace_map', addrspaceMap],
  ['addrspace_unmap', addrspaceUnmap],
  ['addrspace_update_access', addrspaceUpdateAccess],
  ['addrspace_lookup', addrspaceLookup],
  ['memextent_configure', memextentConfigure],
  ['memextent_configure_derive', memextentConfigureDerive],
  ['memextent_modify', memextentModify],
  ['memextent_donate', memextentDonate],
]);
