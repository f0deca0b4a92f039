// Memory parcels (resource-manager-protocol.md §2.8, policy §6; hypervisor-abi.md §10, §12 item 8):
// MEM_LEND, MEM_SHARE, MEM_DONATE, MEM_APPEND, MEM_ACCEPT, MEM_RELEASE, MEM_RECLAIM and MEM_NOTIFY,
// and the notifications MEM_SHARED, MEM_RELEASED, MEM_ACCEPTED and MEM_RECALL.
//
// The RM decides; the hypervisor enforces. Each region of a parcel is a memory extent *derived*
// from the extent that backs the owner's memory (memextent_configure_derive + object_activate):
// activation moves the pages' ownership from the owner's extent to the region's in the memory
// database and carries the owner's stage-2 mapping of them along (§10.3). From there:
//   * the overlap / ownership check is the hypervisor's: addrspace_lookup answers MEMDB_NOT_OWNER
//     (or ADDR_INVALID) for memory the owner's extent no longer owns or maps, and the derive's
//     activation fails the same way — both become MEM_INVALID;
//   * LEND and DONATE take the owner's access away with addrspace_unmap of the region's mapping in
//     the owner's addrspace (a later access by the owner is a stage-2 fault: the abort of §9.6);
//   * SHARE keeps it, cut down to the owner's ACL rights with addrspace_update_access;
//   * ACCEPT maps the region into the borrower's addrspace (addrspace_map) with its ACL rights and
//     attribute, RELEASE unmaps it (addrspace_unmap);
//   * RECLAIM deletes the region extents (cspace_delete_cap_from): destruction hands the pages back
//     to the owner's extent, whose mapping of them becomes live again (§10.3 "on child destruction,
//     ownership and mappings revert to the parent") — so no mapping and no extent is left;
//   * sanitising is memextent_modify(ZERO_RANGE) on the region extent.
// The real RM donates pages between sparse extents (memextent_donate); here the owner's RAM is one
// BASIC extent, which cannot donate (§10.4: only SPARSE extents take part), so regions are derived
// children instead — the same ownership moves, made by activation and destruction.
//
// Check orders follow the public RM (§2.8, §6.2–6.3). Choices where the spec is open are marked
// [infer] next to the code and tested in test/rm/memparcel.test.ts.

import { Err } from '../hyp/abi/errors.js';
import type { RmBootInfo } from './boot.js';
import type { Hyp } from './hyp.js';
import type { RmVm } from './rm.js';
import { MsgId, RmError } from './rpc/index.js';
import { DYNAMIC_VMIDS, SECONDARY_VMIDS, VMID_HLOS, VMID_RM, VmState, type Reply, type VmTable } from './vm-mgmt.js';
import {
  AcceptFlag,
  APPEND_FLAG_DONE,
  CREATE_FLAG_APPEND,
  CREATE_FLAG_SANITIZE,
  MemAttr,
  MemRights,
  MemType,
  NotifyFlag,
  RELEASE_FLAG_SANITIZE,
  TransType,
  encodeAcceptSgl,
  encodeHandle,
  encodeOwnerNotice,
  encodeRecall,
  encodeShared,
  parseAccept,
  parseAppend,
  parseCreate,
  parseHandleFlags,
  parseNotify,
  parseNotifyVmids,
  type AclEntry,
  type AttrEntry,
  type SglEntry,
} from './memparcel-wire.js';

/** What the parcel code needs of the RM (ResourceManager has this shape). */
export interface MemParcelHost {
  readonly vms: ReadonlyMap<number, RmVm>;
  readonly table: VmTable;
  readonly hyp: Hyp | null;
  readonly info: RmBootInfo | null;
  notify(vmid: number, msgId: number, payload: Uint8Array): void;
}

/** Live parcels one owner may have (§2.8; the RM's MAX_MEMPARCEL_PER_VM). */
export const MAX_PARCELS_PER_OWNER = 64;
/** Handles skip this value: Linux's "no handle" (§1.7). */
export const INVALID_HANDLE = 0xffff_ffff;

const PAGE = 0x1000n;
const SIZE_2M = 0x20_0000n;
/**
 * [infer] The RM's address limit for SGL entries and IPAs: the 36-bit IPA space of the QEMU
 * platform (hypervisor-abi.md §10.5). An IPA or size at or above it, or a range past it, is
 * ARGUMENT_INVALID at create; a requested IPA range past it is NORESOURCE at accept.
 */
const ADDR_LIMIT = 1n << 36n;
/**
 * [infer] The RM's IPA allocator for a VM starts above the first GiB, which it keeps for devices
 * (RM spec §9.2: the guest platform's devices live there and the info area goes to the lowest free
 * address above it). Requested IPAs below it are NORESOURCE; chosen ones are the lowest free
 * address above it (2 MiB aligned for regions of 2 MiB or more, §2.8).
 */
const IPA_ALLOC_BASE = 0x4000_0000n;

/** memextent attrs of a region (§10.2): access bits 2:0, memtype bits 9:8 (ANY 0, DEVICE 1). */
const REGION_ATTRS_NORMAL = 7n; // RWX, ANY, BASIC
const REGION_ATTRS_IO = 6n | (1n << 8n); // RW, DEVICE, BASIC (IO memory is never executable)
/** memextent_modify ZERO_RANGE with no_sync (the range ops require it, §10.4). */
const MODIFY_ZERO_RANGE = 1n | 0x8000_0000n;
/** Stage-2 memory types of a borrower's mapping, by parcel attribute (§6.3 step 3). */
const S2_DEVICE_NGNRE = 1n;
const S2_NORMAL_NC = 5n;
const S2_NORMAL_WB = 15n;

/** One region: a physically contiguous piece of the owner's memory, and the extent now holding it. */
export interface ParcelRegion {
  /** Where the owner has it (its IPA when it created the parcel). */
  readonly ownerIpa: bigint;
  readonly size: bigint;
  /** The region's memory extent (a cap in the RM's cspace). */
  readonly memextent: bigint;
}

/** One ACL entry's state: its rights and attribute, and where (if anywhere) it has the parcel. */
export interface ParcelVm {
  readonly vmid: number;
  readonly rights: number;
  attr: number;
  /** IPAs placed so far: one per region, or one for the whole parcel when contiguous. */
  ipas: bigint[];
  contiguous: boolean;
  /** Accepted (at least one ACCEPT placed IPAs): the VM holds the parcel until it releases it. */
  shared: boolean;
  /** Mapped into its addrspace (ACCEPT with DONE). */
  mapped: boolean;
}

export interface Parcel {
  readonly handle: number;
  readonly owner: number;
  readonly memType: number;
  readonly transType: number;
  readonly label: number;
  /** The mem-info tag fixed by the first NOTIFY(SHARED), or null before it. */
  tag: number | null;
  readonly sanitizeCreate: boolean;
  /** Zero the memory at reclaim (a SANITIZE flag on ACCEPT, RELEASE or RECLAIM). */
  sanitizeReclaim: boolean;
  /** Created with APPEND and not yet finished by MEM_APPEND(DONE). */
  building: boolean;
  /** Held by the RM itself (an image parcel of a started VM): RELEASE and RECLAIM are DENIED. */
  locked: boolean;
  readonly acl: readonly AclEntry[];
  readonly attrs: readonly AttrEntry[];
  readonly vms: ParcelVm[];
  readonly regions: ParcelRegion[];
  /** How many ACL VMs hold it (RECLAIM is MEM_INUSE while this is not 0). */
  shareCount: number;
}

/** What NOTIFY(SHARED) to a READY VM does (§2.8): the RM accepts on its behalf when configured to. */
export type AutoAccept = (vmid: number, parcel: Parcel) => 'accepted' | 'failed' | 'no-match';

type Fail = { error: number };
const ok = (data?: Uint8Array): Reply => (data ? { error: RmError.OK, data } : { error: RmError.OK });
const err = (error: number): Reply => ({ error });

const alignUp = (v: bigint, a: bigint): bigint => (v + a - 1n) & ~(a - 1n);
/** The RM's addr_valid: page-aligned and below the address limit. */
const addrValid = (v: bigint): boolean => v < ADDR_LIMIT && (v & (PAGE - 1n)) === 0n;

/** Hypervisor error → RM error, as the RM converts them (§1.6). */
function hypToRm(e: number): number {
  switch (e) {
    case Err.OK:
      return RmError.OK;
    case Err.UNIMPLEMENTED:
      return RmError.UNIMPLEMENTED;
    case Err.NOMEM:
      return RmError.NOMEM;
    case Err.NORESOURCES:
      return RmError.NORESOURCE;
    case Err.BUSY:
      return RmError.BUSY;
    case Err.ARGUMENT_INVALID:
      return RmError.ARGUMENT_INVALID;
    case Err.ADDR_OVERFLOW:
    case Err.ADDR_UNDERFLOW:
    case Err.ADDR_INVALID:
      return RmError.MEM_INVALID;
    default:
      return RmError.DENIED;
  }
}

const validRights = (r: number): boolean =>
  r === MemRights.R || r === MemRights.RX || r === MemRights.RW || r === MemRights.RWX;

export class MemParcels {
  /** Live parcels by handle. */
  private readonly parcels = new Map<number, Parcel>();
  private nextHandle = 0;
  /**
   * Region extents a VM has mapped as borrowed memory (LEND/SHARE accepted): entries of its
   * `memory` it does not own, so it cannot lend them on (MEM_INVALID).
   */
  private readonly borrowed = new Set<bigint>();
  /** NOTIFY(SHARED) to a READY VM: the VM-config vdevices decide (VM_INIT's work); none by default. */
  autoAccept: AutoAccept | null = null;

  constructor(private readonly host: MemParcelHost) {}

  /** The parcel with this handle, for inspection (VM_START, traces, tests). */
  get(handle: number): Readonly<Parcel> | undefined {
    return this.parcels.get(handle >>> 0);
  }

  /** Every live parcel, in creation order. */
  all(): readonly Readonly<Parcel>[] {
    return [...this.parcels.values()];
  }

  /** The reply to memory-parcel request `msgId` from `caller`, or null for an ID not handled here. */
  handle(caller: number, msgId: number, p: Uint8Array): Reply | null {
    switch (msgId) {
      case MsgId.MEM_LEND:
        return this.create(caller, TransType.LEND, p);
      case MsgId.MEM_SHARE:
        return this.create(caller, TransType.SHARE, p);
      case MsgId.MEM_DONATE:
        return this.create(caller, TransType.DONATE, p);
      case MsgId.MEM_APPEND:
        return this.append(caller, p);
      case MsgId.MEM_ACCEPT:
        return this.accept(caller, p);
      case MsgId.MEM_RELEASE:
        return this.release(caller, p);
      case MsgId.MEM_RECLAIM:
        return this.reclaim(caller, p);
      case MsgId.MEM_NOTIFY:
        return this.notifyReq(caller, p);
      default:
        return null;
    }
  }

  private get hyp(): Hyp {
    const h = this.host.hyp;
    if (h === null) throw new Error('memory parcels: the resource manager has not started');
    return h;
  }

  private get rootCaps(): { partition: bigint; cspace: bigint } {
    const info = this.host.info;
    if (info === null) throw new Error('memory parcels: the resource manager has not started');
    return info.caps;
  }

  // -------------------------------------------------------------------------------------------
  // Create: MEM_LEND / MEM_SHARE / MEM_DONATE (§2.8, §6.2)
  // -------------------------------------------------------------------------------------------

  private ownedCount(vmid: number): number {
    let n = 0;
    for (const mp of this.parcels.values()) if (mp.owner === vmid) n++;
    return n;
  }

  /** Counting up from 0, skipping handles in use and 0xFFFFFFFF (§2.8). */
  private allocHandle(): number {
    for (;;) {
      const h = this.nextHandle;
      this.nextHandle = (this.nextHandle + 1) >>> 0;
      if (h !== INVALID_HANDLE && !this.parcels.has(h)) return h;
    }
  }

  /**
   * A VMID an ACL may name (§6.2): the primary, the RM, any VMID of the platform's secondary range
   * (allocated or not; the QEMU platform has no peripheral VMIDs), or an allocated dynamic VMID.
   */
  private vmidValid(vmid: number): boolean {
    if (vmid === VMID_HLOS || vmid === VMID_RM) return true;
    if (vmid >= SECONDARY_VMIDS.first && vmid <= SECONDARY_VMIDS.last) return true;
    return vmid >= DYNAMIC_VMIDS.first && vmid <= DYNAMIC_VMIDS.last && this.host.table.vms.has(vmid);
  }

  private create(caller: number, transType: number, p: Uint8Array): Reply {
    const req = parseCreate(p);
    if (!req.ok) return err(req.error);
    const { memType, flags, acl, sgl, attrs } = req;
    if (acl.length === 0 || sgl.length === 0) return err(RmError.ARGUMENT_INVALID);
    if (transType === TransType.DONATE && acl.length > 1) return err(RmError.ARGUMENT_INVALID);
    if (this.ownedCount(caller) >= MAX_PARCELS_PER_OWNER) return err(RmError.DENIED);
    // [infer] The RM does not check mem_type itself (its extent creation fails for other values);
    // we answer ARGUMENT_INVALID, before a handle is taken.
    if (memType !== MemType.NORMAL && memType !== MemType.IO) return err(RmError.ARGUMENT_INVALID);
    const sanitize = (flags & CREATE_FLAG_SANITIZE) !== 0;
    if (sanitize && memType === MemType.IO) return err(RmError.ARGUMENT_INVALID);
    // [infer, §9.1 "a failed LEND may consume one"] As in the RM, the handle is taken once the
    // request has passed the checks above; any later failure (ACL, attributes, memory) still uses
    // it up, so the next parcel gets the following number.
    const handle = this.allocHandle();
    const io = memType === MemType.IO;
    const maxRights = io ? MemRights.RW : MemRights.RWX;
    const defaultAttr = io ? MemAttr.DEVICE : MemAttr.NORMAL;
    const vms: ParcelVm[] = [];
    let ownerInAcl = false;
    for (let i = 0; i < acl.length; i++) {
      const e = acl[i]!;
      for (let j = 0; j < i; j++) if (acl[j]!.vmid === e.vmid) return err(RmError.ARGUMENT_INVALID);
      if (!this.vmidValid(e.vmid) || !validRights(e.rights)) return err(RmError.ARGUMENT_INVALID);
      if (io && (e.rights & MemRights.X) !== 0) return err(RmError.ARGUMENT_INVALID);
      // A donation hands over the memory: the recipient must get full rights.
      if (transType === TransType.DONATE && e.rights !== maxRights) return err(RmError.DENIED);
      if (e.vmid === caller) ownerInAcl = true;
      vms.push({
        vmid: e.vmid,
        rights: e.rights,
        attr: defaultAttr,
        ipas: [],
        contiguous: false,
        shared: false,
        mapped: false,
      });
    }
    // SHARE keeps the owner's access (so it names itself); LEND and DONATE must not.
    if ((transType === TransType.SHARE) !== ownerInAcl) return err(RmError.ARGUMENT_INVALID);
    for (let i = 0; i < attrs.length; i++) {
      const a = attrs[i]!;
      for (let j = 0; j < i; j++) if (attrs[j]!.vmid === a.vmid) return err(RmError.ARGUMENT_INVALID);
      if (a.attr > MemAttr.CACHED) return err(RmError.ARGUMENT_INVALID);
      if (io !== (a.attr === MemAttr.DEVICE)) return err(RmError.ARGUMENT_INVALID);
      if (transType === TransType.DONATE && a.attr !== defaultAttr) return err(RmError.ARGUMENT_INVALID);
      const vm = vms.find((v) => v.vmid === a.vmid);
      if (vm === undefined) return err(RmError.VMID_INVALID);
      vm.attr = a.attr;
    }
    const mp: Parcel = {
      handle,
      owner: caller,
      memType,
      transType,
      label: req.label,
      tag: null,
      sanitizeCreate: sanitize,
      sanitizeReclaim: false,
      building: (flags & CREATE_FLAG_APPEND) !== 0,
      locked: false,
      acl,
      attrs,
      vms,
      regions: [],
      shareCount: 0,
    };
    const added = this.addSgl(mp, sgl);
    if ('error' in added) return err(added.error);
    mp.regions.push(...added);
    this.parcels.set(handle, mp);
    return ok(encodeHandle(handle));
  }

  /**
   * Take the SGL's memory from the owner into new region extents (§6.2), all or nothing. Each entry
   * must be page-aligned and below the address limit (ARGUMENT_INVALID) and be mapped in the
   * owner's addrspace from memory the owner still owns — addrspace_lookup on the extent backing
   * that IPA says so, and splits the entry where the physical memory is not contiguous; memory
   * already in another parcel, borrowed, or not the owner's at all is MEM_INVALID.
   */
  private addSgl(mp: Parcel, sgl: readonly SglEntry[]): ParcelRegion[] | Fail {
    const owner = this.host.vms.get(mp.owner);
    const made: ParcelRegion[] = [];
    const fail = (error: number): Fail => {
      this.dropRegions(made, false);
      return { error };
    };
    for (const e of sgl) {
      // [infer] A zero size is ARGUMENT_INVALID (the RM's loop has no case for it).
      if (!addrValid(e.ipa) || !addrValid(e.size) || e.size === 0n || e.ipa + e.size > ADDR_LIMIT) {
        return fail(RmError.ARGUMENT_INVALID);
      }
      if (owner === undefined) return fail(RmError.MEM_INVALID);
      const end = e.ipa + e.size;
      for (let at = e.ipa; at < end;) {
        const backing = owner.memory.find((m) => !this.borrowed.has(m.memextent) && m.ipa <= at && at < m.ipa + m.size);
        if (backing === undefined) return fail(RmError.MEM_INVALID);
        const want = (end < backing.ipa + backing.size ? end : backing.ipa + backing.size) - at;
        const look = this.hyp.call('addrspace_lookup', owner.addrspace, backing.memextent, at, want, 0n);
        if (look.e !== Err.OK) return fail(RmError.MEM_INVALID);
        const offset = look.x[1]!;
        const size = look.x[2]!;
        const r = this.newRegion(mp, owner, backing.memextent, at, offset, size);
        if ('error' in r) return fail(r.error);
        made.push(r);
        at += size;
      }
    }
    return made;
  }

  /**
   * One region: derive an extent over [offset, offset + size) of the owner's extent and activate it
   * (the pages and the owner's mapping move into it; activation fails if the owner's extent no longer
   * owns them all — the hypervisor's overlap check), then take or cut the owner's access and
   * sanitise if asked.
   */
  private newRegion(
    mp: Parcel,
    owner: RmVm,
    parent: bigint,
    ipa: bigint,
    offset: bigint,
    size: bigint,
  ): ParcelRegion | Fail {
    const hyp = this.hyp;
    const { partition, cspace } = this.rootCaps;
    const created = hyp.call('partition_create_memextent', partition, cspace, 0n);
    if (created.e !== Err.OK) return { error: hypToRm(created.e) };
    const me = created.x[1]!;
    const region: ParcelRegion = { ownerIpa: ipa, size, memextent: me };
    const attrs = mp.memType === MemType.IO ? REGION_ATTRS_IO : REGION_ATTRS_NORMAL;
    let e = hyp.call('memextent_configure_derive', me, parent, offset, size, attrs, 0n).e;
    if (e === Err.OK) e = hyp.call('object_activate', me, 0n).e;
    if (e !== Err.OK) {
      this.deleteCap(me);
      return { error: RmError.MEM_INVALID };
    }
    if (mp.transType === TransType.SHARE) {
      const rights = BigInt(mp.vms.find((v) => v.vmid === mp.owner)!.rights);
      e = hyp.call('addrspace_update_access', owner.addrspace, me, ipa, rights | (rights << 4n), 0n, 0n, 0n).e;
      if (e !== Err.OK) {
        this.deleteCap(me);
        return { error: RmError.MAP_FAILED };
      }
    } else {
      // LEND / DONATE: the owner loses the memory until RECLAIM (§6.1).
      e = hyp.call('addrspace_unmap', owner.addrspace, me, ipa, 0n, 0n, 0n).e;
      if (e !== Err.OK) {
        this.deleteCap(me);
        return { error: RmError.MEM_INVALID };
      }
    }
    if (mp.sanitizeCreate) this.zero(region);
    return region;
  }

  private zero(r: ParcelRegion): void {
    this.hyp.must('memextent_modify', r.memextent, MODIFY_ZERO_RANGE, 0n, r.size);
  }

  private deleteCap(cap: bigint): void {
    this.hyp.must('cspace_delete_cap_from', this.rootCaps.cspace, cap, 0n);
  }

  /**
   * Delete region extents: their pages, and the owner's mapping of them, return to the owner's
   * extent (§10.3). With `wipe` they are zeroed first.
   */
  private dropRegions(regions: readonly ParcelRegion[], wipe: boolean): void {
    for (const r of regions) {
      if (wipe) this.zero(r);
      this.deleteCap(r.memextent);
    }
  }

  // -------------------------------------------------------------------------------------------
  // MEM_APPEND (§2.8)
  // -------------------------------------------------------------------------------------------

  /**
   * More SGL for a parcel created with APPEND: an empty SGL is ARGUMENT_INVALID; unknown handle →
   * HANDLE_INVALID; only the owner, and only while the parcel is still being built (DENIED). DONE
   * finishes it.
   */
  private append(caller: number, p: Uint8Array): Reply {
    const req = parseAppend(p);
    if (!req.ok) return err(req.error);
    if (req.sgl.length === 0) return err(RmError.ARGUMENT_INVALID);
    const mp = this.parcels.get(req.handle);
    if (mp === undefined) return err(RmError.HANDLE_INVALID);
    if (mp.owner !== caller || !mp.building) return err(RmError.DENIED);
    const added = this.addSgl(mp, req.sgl);
    if ('error' in added) return err(added.error);
    mp.regions.push(...added);
    if ((req.flags & APPEND_FLAG_DONE) !== 0) mp.building = false;
    return ok();
  }

  // -------------------------------------------------------------------------------------------
  // MEM_ACCEPT (§2.8, §6.3 step 3)
  // -------------------------------------------------------------------------------------------

  /** IPA ranges of `vmid` in use: its memory, and every IPA placed for it in any parcel. */
  private usedIpas(vmid: number): [bigint, bigint][] {
    const used: [bigint, bigint][] = [];
    for (const m of this.host.vms.get(vmid)?.memory ?? []) used.push([m.ipa, m.ipa + m.size]);
    for (const mp of this.parcels.values()) {
      const info = mp.vms.find((v) => v.vmid === vmid);
      if (info !== undefined) used.push(...placedRanges(mp, info, 0, info.ipas.length));
    }
    return used;
  }

  /**
   * The IPA allocator (§6.3 step 3): `want` if [want, want + size) is free (NORESOURCE otherwise),
   * or the lowest free address, 2 MiB-aligned for 2 MiB or more. `used` includes this call's
   * earlier placements.
   */
  private allocIpa(used: readonly [bigint, bigint][], want: bigint | null, size: bigint): bigint | null {
    const free = (a: bigint): boolean =>
      a >= IPA_ALLOC_BASE && a + size <= ADDR_LIMIT && used.every(([lo, hi]) => a + size <= lo || a >= hi);
    if (want !== null) return free(want) ? want : null;
    const align = size >= SIZE_2M ? SIZE_2M : PAGE;
    let at = alignUp(IPA_ALLOC_BASE, align);
    for (;;) {
      if (at + size > ADDR_LIMIT) return null;
      const hit = used.find(([lo, hi]) => at + size > lo && at < hi);
      if (hit === undefined) return at;
      at = alignUp(hit[1], align);
    }
  }

  /**
   * Accept in the RM's order: handle; mem/trans type; the VALIDATE flags; MAP_OTHER; map_vmid; the
   * caller in the ACL; not the owner and not already mapped; MAP_CONTIGUOUS and SANITIZE rules;
   * the requested IPAs (count, alignment and sizes, then free); DONE only when every IPA is placed;
   * then map. IPAs may be placed over several calls (§2.8).
   */
  private accept(caller: number, p: Uint8Array): Reply {
    const req = parseAccept(p);
    if (!req.ok) return err(req.error);
    const mp = this.parcels.get(req.handle);
    if (mp === undefined) return err(RmError.HANDLE_INVALID);
    if (req.memType !== mp.memType || req.transType !== mp.transType) return err(RmError.ARGUMENT_INVALID);
    const flags = req.flags;
    if ((flags & AcceptFlag.VALIDATE_SANITIZED) !== 0 && !mp.sanitizeCreate) return err(RmError.VALIDATE_FAILED);
    if ((flags & AcceptFlag.VALIDATE_LABEL) !== 0 && req.label !== mp.label) return err(RmError.VALIDATE_FAILED);
    if ((flags & AcceptFlag.VALIDATE_ACL_ATTR) !== 0 && !sameAclAttrs(mp, req.acl, req.attrs)) {
      return err(RmError.VALIDATE_FAILED);
    }
    // Only mapping into the caller's own addrspace is supported.
    if ((flags & AcceptFlag.MAP_OTHER) !== 0) return err(RmError.DENIED);
    if (req.mapVmid !== 0) return err(RmError.ARGUMENT_INVALID);
    const vm = this.host.vms.get(caller);
    const info = mp.vms.find((v) => v.vmid === caller);
    if (vm === undefined || info === undefined) return err(RmError.VMID_INVALID);
    if (caller === mp.owner || info.mapped) return err(RmError.DENIED);
    // [infer, §6.2 "a re-implementation should refuse"] A parcel still being built cannot be
    // accepted: DENIED (the public RM does not check).
    if (mp.building) return err(RmError.DENIED);
    const wantContiguous = (flags & AcceptFlag.MAP_CONTIGUOUS) !== 0;
    if (wantContiguous) {
      if (mp.memType !== MemType.NORMAL) return err(RmError.ARGUMENT_INVALID);
      if (info.ipas.length > 0 && !info.contiguous) return err(RmError.ARGUMENT_INVALID);
    }
    // Placement continues the way it started.
    const contiguous = info.ipas.length > 0 ? info.contiguous : wantContiguous;
    const sanitize = (flags & AcceptFlag.SANITIZE) !== 0;
    if (sanitize && (mp.memType === MemType.IO || (info.rights & MemRights.W) === 0)) {
      return err(RmError.ARGUMENT_INVALID);
    }
    const numMappings = contiguous ? 1 : mp.regions.length;
    let numAlloc = Math.min(numMappings - info.ipas.length, 512);
    const rmChooses = req.sgl.length === 0;
    if (!rmChooses) {
      if (req.sgl.length > numAlloc) return err(RmError.ARGUMENT_INVALID);
      numAlloc = req.sgl.length;
    }
    const total = mp.regions.reduce((s, r) => s + r.size, 0n);
    const used = this.usedIpas(caller);
    const placed: SglEntry[] = [];
    for (let j = 0; j < numAlloc; j++) {
      const size = contiguous ? total : mp.regions[info.ipas.length + j]!.size;
      let want: bigint | null = null;
      if (!rmChooses) {
        const s = req.sgl[j]!;
        if (!addrValid(s.ipa) || s.size !== size) return err(RmError.ARGUMENT_INVALID);
        want = s.ipa;
      }
      const at = this.allocIpa(used, want, size);
      if (at === null) return err(RmError.NORESOURCE);
      used.push([at, at + size]);
      placed.push({ ipa: at, size });
    }
    const done = (flags & AcceptFlag.DONE) !== 0;
    if (done && info.ipas.length + placed.length !== numMappings) return err(RmError.ARGUMENT_INVALID);
    const ipas = [...info.ipas, ...placed.map((e) => e.ipa)];
    if (done) {
      const e = this.mapAll(mp, vm, info, ipas, contiguous);
      if (e !== RmError.OK) return err(e);
    }
    // Success: commit.
    info.ipas = ipas;
    info.contiguous = contiguous;
    if (sanitize) mp.sanitizeReclaim = true;
    if (done) this.completeAccept(mp, vm, info);
    // The accepter holds the parcel from its first placement until it releases it (a completed
    // donation has no parcel left to hold).
    if (!info.shared && !(done && mp.transType === TransType.DONATE)) {
      info.shared = true;
      mp.shareCount++;
    }
    const incomplete = info.ipas.length < numMappings;
    return rmChooses ? ok(encodeAcceptSgl(placed, incomplete)) : ok();
  }

  /**
   * Map every region into the accepter's addrspace with its ACL rights (user and kernel) and the
   * stage-2 memory type of its attribute (§6.3 step 3), all or nothing (MAP_FAILED). The
   * hypervisor maps only pages the region extent owns (§10.1).
   */
  /**
   * VM_START's acceptance of the image parcel on the VM's behalf (RM spec §2.2): it must be a LEND
   * with exactly one ACL entry {vmid, RWX} and no attributes (as with VALIDATE_ACL_ATTR), and is
   * mapped contiguously at `baseIpa`, then locked (the RM holds it while the VM runs). Returns an RM
   * error (VM_START answers NORESOURCE for any failure here).
   */
  acceptImage(vmid: number, handle: number, baseIpa: bigint): number {
    const mp = this.parcels.get(handle);
    const vm = this.host.vms.get(vmid);
    if (mp === undefined || vm === undefined) return RmError.HANDLE_INVALID;
    const acl = mp.acl;
    if (
      mp.transType !== TransType.LEND ||
      acl.length !== 1 ||
      acl[0]!.vmid !== vmid ||
      acl[0]!.rights !== MemRights.RWX ||
      mp.attrs.length !== 0 ||
      mp.building
    ) {
      return RmError.VALIDATE_FAILED;
    }
    const info = mp.vms.find((v) => v.vmid === vmid)!;
    if (info.mapped || info.ipas.length > 0) return RmError.DENIED;
    const total = mp.regions.reduce((s, r) => s + r.size, 0n);
    if (this.allocIpa(this.usedIpas(vmid), baseIpa, total) === null) return RmError.NORESOURCE;
    const e = this.mapAll(mp, vm, info, [baseIpa], true);
    if (e !== RmError.OK) return e;
    info.ipas = [baseIpa];
    info.contiguous = true;
    this.completeAccept(mp, vm, info);
    info.shared = true;
    mp.shareCount++;
    mp.locked = true;
    return RmError.OK;
  }

  /**
   * The RM accepts parcel `handle` on VM `vmid`'s behalf (RM spec §2.8: MEM_NOTIFY(SHARED) to a
   * READY VM whose shm vdevice has the parcel's label and a fixed base; §2.2: VM_START's
   * label-matched vdevice parcels), as a MEM_ACCEPT with MAP_CONTIGUOUS and DONE would: the whole
   * parcel contiguously at `ipa` (NORESOURCE unless free), or where the VM's IPA allocator puts it
   * when `ipa` is null, with the VM's ACL rights and attribute. Unlike the image parcel it is not
   * locked: the VM may release it. Returns an RM error; on failure nothing has changed.
   */
  acceptFor(vmid: number, handle: number, ipa: bigint | null): number {
    const mp = this.parcels.get(handle >>> 0);
    if (mp === undefined) return RmError.HANDLE_INVALID;
    const vm = this.host.vms.get(vmid);
    const info = mp.vms.find((v) => v.vmid === vmid);
    if (vm === undefined || info === undefined) return RmError.VMID_INVALID;
    if (vmid === mp.owner || info.mapped || info.ipas.length > 0 || mp.building) return RmError.DENIED;
    // Contiguous placement is for NORMAL memory only (§2.8 MAP_CONTIGUOUS).
    if (mp.memType !== MemType.NORMAL) return RmError.ARGUMENT_INVALID;
    if (ipa !== null && !addrValid(ipa)) return RmError.ARGUMENT_INVALID;
    const total = mp.regions.reduce((s, r) => s + r.size, 0n);
    const at = this.allocIpa(this.usedIpas(vmid), ipa, total);
    if (at === null) return RmError.NORESOURCE;
    const e = this.mapAll(mp, vm, info, [at], true);
    if (e !== RmError.OK) return e;
    info.ipas = [at];
    info.contiguous = true;
    this.completeAccept(mp, vm, info);
    // The VM holds it now (a donation is over, but its owner is still told it was accepted).
    info.shared = true;
    mp.shareCount++;
    return RmError.OK;
  }

  private mapAll(mp: Parcel, vm: RmVm, info: ParcelVm, ipas: readonly bigint[], contiguous: boolean): number {
    const rights = BigInt(info.rights);
    const memtype =
      info.attr === MemAttr.DEVICE ? S2_DEVICE_NGNRE : info.attr === MemAttr.UNCACHED ? S2_NORMAL_NC : S2_NORMAL_WB;
    const attrs = rights | (rights << 4n) | (memtype << 16n);
    const at = regionIpas(mp, ipas, contiguous);
    for (let i = 0; i < mp.regions.length; i++) {
      const e = this.hyp.call('addrspace_map', vm.addrspace, mp.regions[i]!.memextent, at[i]!, attrs, 0n, 0n, 0n).e;
      if (e !== Err.OK) {
        for (let k = 0; k < i; k++)
          this.hyp.call('addrspace_unmap', vm.addrspace, mp.regions[k]!.memextent, at[k]!, 0n, 0n, 0n);
        return RmError.MAP_FAILED;
      }
    }
    return RmError.OK;
  }

  /**
   * After the mapping: the regions join the accepter's memory. A donation ends here: the memory is
   * the recipient's own from now on (it may lend it on), and the parcel and its handle are gone
   * (§6.1) — the region extents stay, held for the recipient.
   */
  private completeAccept(mp: Parcel, vm: RmVm, info: ParcelVm): void {
    info.mapped = true;
    const at = regionIpas(mp, info.ipas, info.contiguous);
    mp.regions.forEach((r, i) => {
      vm.memory.push({ ipa: at[i]!, size: r.size, memextent: r.memextent });
      if (mp.transType !== TransType.DONATE) this.borrowed.add(r.memextent);
    });
    if (mp.transType === TransType.DONATE) this.parcels.delete(mp.handle);
  }

  // -------------------------------------------------------------------------------------------
  // MEM_RELEASE / MEM_RECLAIM (§6.3 steps 4–5)
  // -------------------------------------------------------------------------------------------

  private release(caller: number, p: Uint8Array): Reply {
    const req = parseHandleFlags(p);
    if (!req.ok) return err(req.error);
    const mp = this.parcels.get(req.handle);
    if (mp === undefined) return err(RmError.HANDLE_INVALID);
    if (mp.locked) return err(RmError.DENIED);
    const vm = this.host.vms.get(caller);
    if (vm === undefined) return err(RmError.VMID_INVALID);
    const info = mp.vms.find((v) => v.vmid === caller);
    if (info === undefined) return err(RmError.HANDLE_INVALID);
    if (caller === mp.owner) return err(RmError.DENIED);
    if (!info.shared) return err(RmError.MEM_RELEASED);
    const sanitize = (req.flags & RELEASE_FLAG_SANITIZE) !== 0;
    if (sanitize && (mp.memType === MemType.IO || (info.rights & MemRights.W) === 0)) {
      return err(RmError.ARGUMENT_INVALID);
    }
    const e = this.unmapFrom(mp, vm, info);
    if (e !== RmError.OK) return err(e);
    // SANITIZE (needs W) arms wipe-on-reclaim.
    if (sanitize) mp.sanitizeReclaim = true;
    return ok();
  }

  /**
   * Take the parcel away from an ACL VM that holds it: unmap it from its addrspace (addrspace_unmap
   * of each region, MAP_FAILED if the hypervisor refuses — the mappings are then restored), free the
   * IPAs, and when no borrower is left the owner may reclaim.
   */
  private unmapFrom(mp: Parcel, vm: RmVm, info: ParcelVm): number {
    if (info.mapped) {
      const at = regionIpas(mp, info.ipas, info.contiguous);
      for (let i = 0; i < mp.regions.length; i++) {
        const e = this.hyp.call('addrspace_unmap', vm.addrspace, mp.regions[i]!.memextent, at[i]!, 0n, 0n, 0n).e;
        if (e !== Err.OK) {
          const rights = BigInt(info.rights);
          const memtype =
            info.attr === MemAttr.DEVICE
              ? S2_DEVICE_NGNRE
              : info.attr === MemAttr.UNCACHED
                ? S2_NORMAL_NC
                : S2_NORMAL_WB;
          for (let k = 0; k < i; k++) {
            this.hyp.call(
              'addrspace_map',
              vm.addrspace,
              mp.regions[k]!.memextent,
              at[k]!,
              rights | (rights << 4n) | (memtype << 16n),
              0n,
              0n,
              0n,
            );
          }
          return RmError.MAP_FAILED;
        }
      }
      const caps = new Set(mp.regions.map((r) => r.memextent));
      for (let k = vm.memory.length - 1; k >= 0; k--) if (caps.has(vm.memory[k]!.memextent)) vm.memory.splice(k, 1);
      for (const c of caps) this.borrowed.delete(c);
    }
    info.ipas = [];
    info.contiguous = false;
    info.mapped = false;
    info.shared = false;
    mp.shareCount--;
    return RmError.OK;
  }

  /**
   * Reclaim: only the owner (DENIED); MEM_INUSE while any ACL VM holds the parcel; DENIED while the
   * RM holds it; SANITIZE not for IO. The region extents are deleted, which gives the memory and
   * the owner's original mapping back (§6.3 step 5), zeroed first if a sanitise was requested; the
   * handle dies.
   */
  private reclaim(caller: number, p: Uint8Array): Reply {
    const req = parseHandleFlags(p);
    if (!req.ok) return err(req.error);
    const mp = this.parcels.get(req.handle);
    if (mp === undefined) return err(RmError.HANDLE_INVALID);
    if (caller !== mp.owner) return err(RmError.DENIED);
    if (mp.shareCount > 0) return err(RmError.MEM_INUSE);
    if (mp.locked) return err(RmError.DENIED);
    const sanitize = (req.flags & RELEASE_FLAG_SANITIZE) !== 0;
    if (sanitize && mp.memType === MemType.IO) return err(RmError.ARGUMENT_INVALID);
    this.dropRegions(mp.regions, sanitize || mp.sanitizeReclaim);
    this.parcels.delete(mp.handle);
    return ok();
  }

  /**
   * The RM accepts a donation to itself (FW_SET_VM_FIRMWARE, RM spec §2.9; the caller has checked
   * that the parcel is a complete NORMAL DONATE to VMID_RM with RWX): as with any accepted
   * donation the parcel and its handle are gone, and its region extents (caps in the RM's cspace)
   * are the RM's own memory from now on. Undefined for an unknown handle.
   */
  takeRmDonation(handle: number): readonly ParcelRegion[] | undefined {
    const mp = this.parcels.get(handle >>> 0);
    if (mp === undefined) return undefined;
    this.parcels.delete(mp.handle);
    return mp.regions;
  }

  /**
   * VM_RESET's force-release (§6.3 step 7, §9.2): everything `vmid` holds is taken back from it as
   * a RELEASE would, and each owner gets MEM_RELEASED {handle, vmid, tag}.
   */
  releaseAll(vmid: number): void {
    const vm = this.host.vms.get(vmid);
    if (vm === undefined) return;
    for (const mp of [...this.parcels.values()]) {
      const info = mp.vms.find((v) => v.vmid === vmid);
      if (info === undefined || !info.shared || vmid === mp.owner) continue;
      if (this.unmapFrom(mp, vm, info) !== RmError.OK) continue;
      // An image parcel the RM held for the VM is the owner's to reclaim again.
      mp.locked = false;
      this.host.notify(mp.owner, MsgId.MEM_RELEASED, encodeOwnerNotice(mp.handle, vmid, mp.tag ?? 0));
    }
  }

  // -------------------------------------------------------------------------------------------
  // MEM_NOTIFY (§2.8, §6.3 steps 2, 3, 4, 6)
  // -------------------------------------------------------------------------------------------

  private notifyReq(caller: number, p: Uint8Array): Reply {
    const req = parseNotify(p);
    if (!req.ok) return err(req.error);
    const mp = this.parcels.get(req.handle);
    if (mp === undefined) return err(RmError.HANDLE_INVALID);
    // The tag is checked before the flags value, for every kind of notify.
    if (mp.tag !== null && mp.tag !== req.tag) return err(RmError.ARGUMENT_INVALID);
    switch (req.flags) {
      case NotifyFlag.SHARED:
        return this.notifyShared(caller, mp, req.tag, p);
      case NotifyFlag.RELEASED:
        return err(this.notifyOwner(caller, mp, false));
      case NotifyFlag.ACCEPTED:
        return err(this.notifyOwner(caller, mp, true));
      case NotifyFlag.RECALL:
        return this.notifyRecall(caller, mp, p);
      default:
        return err(RmError.ARGUMENT_INVALID);
    }
  }

  /**
   * The VMID list of SHARED / RECALL (§2.8): each listed VM must be one the RM knows
   * (VMID_INVALID) and be in the ACL (ARGUMENT_INVALID).
   */
  private targets(mp: Parcel, p: Uint8Array): number[] | Fail {
    const r = parseNotifyVmids(p, mp.vms.length);
    if (!r.ok) return { error: r.error };
    for (const v of r.vmids) {
      if (!this.host.table.vms.has(v)) return { error: RmError.VMID_INVALID };
      if (!mp.vms.some((i) => i.vmid === v)) return { error: RmError.ARGUMENT_INVALID };
    }
    return r.vmids;
  }

  private notifyShared(caller: number, mp: Parcel, tag: number, p: Uint8Array): Reply {
    if (caller !== mp.owner) return err(RmError.DENIED);
    // [infer, §6.2] A parcel still being built cannot be offered yet: DENIED.
    if (mp.building) return err(RmError.DENIED);
    const targets = this.targets(mp, p);
    if ('error' in targets) return err(targets.error);
    mp.tag ??= tag;
    const payload = encodeShared({
      handle: mp.handle,
      memType: mp.memType,
      transType: mp.transType,
      sanitized: mp.sanitizeCreate,
      owner: mp.owner,
      label: mp.label,
      tag: mp.tag,
      acl: mp.acl,
      regionSizes: mp.regions.slice(0, 512).map((r) => r.size),
      attrs: mp.attrs,
    });
    let result: number = RmError.OK;
    for (const vmid of targets) {
      if (this.host.table.vms.get(vmid)?.state === VmState.READY) {
        // A VM that is READY (configured, not started) does not run to accept: the RM accepts on
        // its behalf if its config asks for this parcel, and tells the owner. [?, §2.8] With no
        // matching vdevice nothing happens and the reply carries MEM_RELEASED (an RM quirk we keep).
        const how = this.autoAccept?.(vmid, mp) ?? 'no-match';
        result = this.notifyOwner(vmid, mp, how !== 'failed');
      } else {
        this.host.notify(vmid, MsgId.MEM_SHARED, payload);
      }
    }
    return err(result);
  }

  /**
   * NOTIFY(ACCEPTED / RELEASED) by an ACL VM: MEM_ACCEPTED / MEM_RELEASED to the owner with the
   * caller's VMID. Not in the ACL → HANDLE_INVALID; ACCEPTED while not holding → MEM_RELEASED;
   * RELEASED while holding → MEM_INUSE.
   */
  private notifyOwner(vmid: number, mp: Parcel, accepted: boolean): number {
    const info = mp.vms.find((v) => v.vmid === vmid);
    if (info === undefined) return RmError.HANDLE_INVALID;
    if (accepted !== info.shared) return info.shared ? RmError.MEM_INUSE : RmError.MEM_RELEASED;
    const id = accepted ? MsgId.MEM_ACCEPTED : MsgId.MEM_RELEASED;
    this.host.notify(mp.owner, id, encodeOwnerNotice(mp.handle, vmid, mp.tag ?? 0));
    return RmError.OK;
  }

  /** NOTIFY(RECALL) by the owner: MEM_RECALL {handle, tag} to each listed VM (advisory, §6.3 step 6). */
  private notifyRecall(caller: number, mp: Parcel, p: Uint8Array): Reply {
    if (caller !== mp.owner) return err(RmError.DENIED);
    const targets = this.targets(mp, p);
    if ('error' in targets) return err(targets.error);
    const payload = encodeRecall(mp.handle, mp.tag ?? 0);
    for (const vmid of targets) this.host.notify(vmid, MsgId.MEM_RECALL, payload);
    return ok();
  }
}

/** VALIDATE_ACL_ATTR: the same counts, then the same entries in the same order (§2.8). */
function sameAclAttrs(mp: Parcel, acl: readonly AclEntry[], attrs: readonly AttrEntry[]): boolean {
  if (acl.length !== mp.acl.length || attrs.length !== mp.attrs.length) return false;
  for (let i = 0; i < acl.length; i++) {
    if (acl[i]!.vmid !== mp.acl[i]!.vmid || acl[i]!.rights !== mp.acl[i]!.rights) return false;
  }
  for (let i = 0; i < attrs.length; i++) {
    if (attrs[i]!.attr !== mp.attrs[i]!.attr || attrs[i]!.vmid !== mp.attrs[i]!.vmid) return false;
  }
  return true;
}

/** The IPA of each region for an accepter whose placed IPAs are `ipas`. */
function regionIpas(mp: Parcel, ipas: readonly bigint[], contiguous: boolean): bigint[] {
  if (!contiguous) return [...ipas];
  const out: bigint[] = [];
  let at = ipas[0] ?? 0n;
  for (const r of mp.regions) {
    out.push(at);
    at += r.size;
  }
  return out;
}

/** The IPA ranges of placements [from, to) of an accepter. */
function placedRanges(mp: Parcel, info: ParcelVm, from: number, to: number): [bigint, bigint][] {
  const out: [bigint, bigint][] = [];
  for (let i = from; i < to; i++) {
    const ipa = info.ipas[i]!;
    const size = info.contiguous ? mp.regions.reduce((s, r) => s + r.size, 0n) : mp.regions[i]!.size;
    out.push([ipa, ipa + size]);
  }
  return out;
}
