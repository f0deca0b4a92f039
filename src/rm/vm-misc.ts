// The remaining RM requests (resource-manager-protocol.md §2.2, §2.6, §2.8, §2.9, §7, §9): VM
// identity (VM_GET_ID, VM_LOOKUP_URI/_GUID/_NAME), crash messages (VM_SET_CRASH_MSG,
// VM_GET_CRASH_MSG), VM_SET_STATUS, VM_SET_TIME_BASE, VM_SET_FIRMWARE_MEM, VM_AUTH_IMAGE, the
// Linux-defined boot context / demand paging / address layout (§2.6), IPA_RESERVE, FW_MILESTONE,
// FW_SET_VM_FIRMWARE and MEM_QCOM_LOOKUP_SGL.
//
// Each handler checks in the spec's order (where the spec lists no order, the public RM's, which
// §8 cross-checked) and answers with one reply; a request that fails changes nothing, except where
// the spec says it moves the VM to INIT_FAILED. Payloads go through the typed codecs of msgs/.
//
// What a request records is kept per VM record and wiped when the VM reaches RESET (§2.2: the
// teardown wipes name/uri/guid/status/crash message before VM_STATUS(RESET)); the lifecycle reads
// it through the accessors at the end of VmMisc (`bootContext` for VM_START's register writes,
// `firmwareMem`, `addressLayout`, `demandPaging`, `timeBase`, `firmwareImage`).

import { Err } from '../hyp/abi/errors.js';
import type { MemParcels, ParcelRegion } from './memparcel.js';
import { MemRights, MemType, TransType } from './memparcel-wire.js';
import {
  AddressRange,
  AuthType,
  CRASH_MSG_MAX,
  IpaAllocType,
  IpaConstraint,
  VM_LOOKUP_MAX_LEN,
  VmIdType,
  fwMilestoneMsg,
  fwSetVmFirmwareMsg,
  ipaReserveMsg,
  memLookupSglMsg,
  u32Value,
  vmAuthImageMsg,
  vmGetCrashMsgMsg,
  vmGetIdMsg,
  vmLookupGuidMsg,
  vmLookupNameMsg,
  vmLookupUriMsg,
  vmSetAddressLayoutMsg,
  vmSetBootContextMsg,
  vmSetCrashMsgMsg,
  vmSetDemandPagingMsg,
  vmSetFirmwareMemMsg,
  vmSetStatusMsg,
  vmSetTimeBaseMsg,
  type GpaRange,
  type IpaAllocRange,
  type IpaFixedRange,
  type VmIdentifier,
} from './msgs/index.js';
import { MsgId, RmError } from './rpc/index.js';
import type { RmVm } from './rm.js';
import type { VmImageConfig } from './vm-lifecycle.js';
import { SECONDARY_VMIDS, VMID_HLOS, VMID_RM, VmState, type Reply, type VmRecord, type VmTable } from './vm-mgmt.js';

/** What these handlers need of the RM (ResourceManager has this shape). */
export interface MiscHost {
  readonly vms: ReadonlyMap<number, RmVm>;
  readonly table: VmTable;
  readonly parcels: MemParcels;
  readonly lifecycle: { readonly images: ReadonlyMap<number, VmImageConfig> };
}

/** One VM_SET_BOOT_CONTEXT register (§2.6): reg_set 0 X, 1 PC, 2 SP. */
export interface BootRegister {
  readonly regSet: number;
  readonly regIndex: number;
  readonly value: bigint;
}

/** What VM_SET_TIME_BASE stored for a VM's vRTC. */
export interface TimeBase {
  readonly timeBase: bigint;
  readonly sysTimerRef: bigint;
}

/** The firmware region VM_SET_FIRMWARE_MEM gave a VM: a range of one of its parcels. */
export interface FirmwareMem {
  readonly parcel: number;
  readonly offset: bigint;
  readonly size: bigint;
}

/** A firmware image FW_SET_VM_FIRMWARE registered: the donated regions, now the RM's. */
export interface FirmwareImage {
  readonly regions: readonly ParcelRegion[];
  /**
   * Bytes VM_START copies into the firmware region (the rest of the region is zeroed, §2.9). As in
   * the public RM this is the size of the whole donated parcel; the request's size only has to fit
   * in it.
   */
  readonly size: bigint;
}

/** An IPA range reserved with IPA_RESERVE. */
export interface IpaRange {
  readonly base: bigint;
  readonly size: bigint;
}

/** What the requests here recorded about one VM; all of it goes at RESET. */
interface VmMiscState {
  crashMsg: Uint8Array;
  timeBase: TimeBase | null;
  firmwareMem: FirmwareMem | null;
  /** Keyed by reg_set << 8 | reg_index; a register set twice keeps the later value. */
  bootContext: Map<number, BootRegister>;
  demandPaging: readonly GpaRange[] | null;
  addressLayout: Map<number, IpaRange>;
  ipaReserved: IpaRange[];
}

const freshState = (): VmMiscState => ({
  crashMsg: new Uint8Array(0),
  timeBase: null,
  firmwareMem: null,
  bootContext: new Map(),
  demandPaging: null,
  addressLayout: new Map(),
  ipaReserved: [],
});

const ok = (data?: Uint8Array): Reply => (data ? { error: RmError.OK, data } : { error: RmError.OK });
const err = (error: number): Reply => ({ error });

/**
 * The error replies of VM_SET_TIME_BASE and VM_SET_FIRMWARE_MEM carry a u32 hypervisor error after
 * the rm_error (§2.2, §7): ARGUMENT_INVALID (1) unless a hypervisor call itself failed.
 */
const hypErrorWord = u32Value('hypervisor error');
const errWithHyp = (error: number, hypError: number = Err.ARGUMENT_INVALID): Reply => ({
  error,
  data: hypErrorWord.encode(hypError >>> 0),
});

const PAGE = 0x1000n;
const U64_LIMIT = 1n << 64n;
/**
 * [infer] The IPA space IPA_RESERVE reserves from: the range the memory-parcel allocator places
 * accepted memory in (memparcel.ts: above the first GiB the RM keeps for devices, §9.2, and below
 * the platform's 36-bit IPA limit).
 */
const IPA_SPACE = { base: 0x4000_0000n, limit: 1n << 36n } as const;

/**
 * The primary VM's name: the public RM names the VMs it creates itself ("HLOS" for the primary), the
 * others take image-name from their VM-config DT (§4.3).
 */
const PRIMARY_NAME = 'HLOS';
/**
 * The signing-authority identifier VM_GET_ID always ends with (§2.2): the QEMU platform answers
 * "N/A" for a VM that was never signed — every VM here.
 */
const SIGN_AUTHORITY = 'N/A';
/** VM_GET_ID's GUID entry is always 16 bytes. */
const GUID_LEN = 16;
/** The VM-config vdevice type that gives a VM a vRTC, the target of VM_SET_TIME_BASE (§4.3). */
const VRTC_VDEVICE = 'vrtc-pl031';

const utf8 = new TextEncoder();

/**
 * A name or URI as the RM keeps it: UTF-8, at most 79 bytes (the RM's 80-byte buffers with their
 * terminator; the same 79 that bounds VM_LOOKUP_URI/_NAME).
 */
const idBytes = (s: string | undefined): Uint8Array => utf8.encode(s ?? '').slice(0, VM_LOOKUP_MAX_LEN);

/**
 * `vm-guid` (8-4-4-4-12 hex digits) as the 16 bytes VM_GET_ID and VM_LOOKUP_GUID carry: the digits'
 * bytes in the order written, as the RM's parser stores them. [infer] A VM without a GUID — or whose
 * `vm-guid` is not in that form — has the all-zero GUID, as the RM leaves an unset one; so
 * VM_LOOKUP_GUID with 16 zero bytes finds every VM without a GUID (the RM compares the zeros like
 * any other GUID).
 */
export function guidBytes(guid: string | undefined): Uint8Array {
  const out = new Uint8Array(GUID_LEN);
  if (guid === undefined || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(guid)) return out;
  const hex = guid.replace(/-/g, '');
  for (let i = 0; i < GUID_LEN; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** Whether the padding after a `{u16 len; u16 res; bytes}` string is all zero (§2.2 "zero padding"). */
const zeroPadded = (p: Uint8Array, end: number): boolean => p.subarray(end).every((b) => b === 0);

const alignUp = (v: bigint, a: bigint): bigint => ((v + a - 1n) / a) * a;
const pageAligned = (v: bigint): boolean => v % PAGE === 0n;

export class VmMisc {
  private readonly state = new WeakMap<VmRecord, VmMiscState>();
  /** FW_MILESTONE has closed firmware registration (§2.9). */
  private milestone = false;
  /** Registered firmware images by auth type (only ANDROID has a slot, §2.9). */
  private readonly firmware = new Map<number, FirmwareImage>();

  constructor(private readonly host: MiscHost) {
    // §2.2 VM_RESET: the teardown wipes the VM's identity, os/app status and crash message before
    // the VM_STATUS(RESET) notification goes out, so that notification already carries the zeros.
    const next = host.table.onStatus;
    host.table.onStatus = (vm) => {
      if (vm.state === VmState.RESET) {
        this.state.delete(vm);
        vm.osState = 0;
        vm.appStatus = 0;
      }
      next?.(vm);
    };
  }

  /** The reply to request `msgId` from `caller`, or null for an ID not handled here. */
  handle(caller: number, msgId: number, p: Uint8Array): Reply | null {
    switch (msgId) {
      case MsgId.VM_GET_ID:
        return this.getId(caller, p);
      case MsgId.VM_LOOKUP_URI:
        return this.lookupString(caller, p, 'uri');
      case MsgId.VM_LOOKUP_NAME:
        return this.lookupString(caller, p, 'name');
      case MsgId.VM_LOOKUP_GUID:
        return this.lookupGuid(caller, p);
      case MsgId.VM_SET_CRASH_MSG:
        return this.setCrashMsg(caller, p);
      case MsgId.VM_GET_CRASH_MSG:
        return this.getCrashMsg(caller, p);
      case MsgId.VM_SET_STATUS:
        return this.setStatus(caller, p);
      case MsgId.VM_SET_TIME_BASE:
        return this.setTimeBase(caller, p);
      case MsgId.VM_SET_FIRMWARE_MEM:
        return this.setFirmwareMem(caller, p);
      case MsgId.VM_AUTH_IMAGE:
        return this.authImage(caller, p);
      case MsgId.VM_SET_BOOT_CONTEXT:
        return this.setBootContext(caller, p);
      case MsgId.VM_SET_DEMAND_PAGING:
        return this.setDemandPaging(caller, p);
      case MsgId.VM_SET_ADDRESS_LAYOUT:
        return this.setAddressLayout(caller, p);
      case MsgId.IPA_RESERVE:
        return this.ipaReserve(caller, p);
      case MsgId.FW_MILESTONE:
        return this.fwMilestone(caller, p);
      case MsgId.FW_SET_VM_FIRMWARE:
        return this.fwSetVmFirmware(caller, p);
      case MsgId.MEM_QCOM_LOOKUP_SGL:
        return this.lookupSgl(caller, p);
      default:
        return null;
    }
  }

  // ------------------------------------------------------------------------------- helpers

  private of(vm: VmRecord): VmMiscState {
    let s = this.state.get(vm);
    if (s === undefined) {
      s = freshState();
      this.state.set(vm, s);
    }
    return s;
  }

  private stateOf(vmid: number): VmMiscState | undefined {
    const vm = this.host.table.vms.get(vmid);
    return vm === undefined ? undefined : this.state.get(vm);
  }

  /** Whether `caller` may query `vm`: itself, its owner or a peer (§2.2). */
  private mayQuery(caller: number, vm: VmRecord): boolean {
    return caller === vm.vmid || caller === vm.owner || vm.peers.has(caller);
  }

  /** The name, URI and GUID of a VM (§2.2: image-name → NAME, vm-uri → URI, vm-guid → GUID). */
  private identity(vm: VmRecord): { name: Uint8Array; uri: Uint8Array; guid: Uint8Array } {
    if (vm.vmid === VMID_HLOS) return { name: idBytes(PRIMARY_NAME), uri: idBytes(''), guid: guidBytes(undefined) };
    const cfg = this.host.lifecycle.images.get(vm.vmid)?.config ?? null;
    return { name: idBytes(cfg?.imageName), uri: idBytes(cfg?.uri), guid: guidBytes(cfg?.guid) };
  }

  /** The owner-only checks of the §2.6 messages: unknown VM → VMID_INVALID, not the owner → DENIED. */
  private owned(caller: number, vmid: number): VmRecord | Reply {
    const vm = this.host.table.vms.get(vmid);
    if (vm === undefined) return err(RmError.VMID_INVALID);
    if (vm.owner !== caller) return err(RmError.DENIED);
    return vm;
  }

  private parcelSize(handle: number): bigint | undefined {
    return this.host.parcels.get(handle)?.regions.reduce((s, r) => s + r.size, 0n);
  }

  // ---------------------------------------------------------------------- identity (§2.2)

  /**
   * VM_GET_ID: exactly 4 bytes; vmid 0 = the caller; unknown → NORESOURCE; READY/RUNNING/PAUSED
   * only (VM_STATE); then self/owner/peers only, else NORESOURCE (the VM's existence is not
   * revealed). Identifiers: GUID (always, first), NAME and URI if set, SIGN_AUTH (always, last).
   */
  private getId(caller: number, p: Uint8Array): Reply {
    const d = vmGetIdMsg.request.decode(p);
    if (!d.ok) return err(d.error);
    const vm = this.host.table.vms.get(d.value.vmid === 0 ? caller : d.value.vmid);
    if (vm === undefined) return err(RmError.NORESOURCE);
    if (vm.state !== VmState.READY && vm.state !== VmState.RUNNING && vm.state !== VmState.PAUSED) {
      return err(RmError.VM_STATE);
    }
    if (!this.mayQuery(caller, vm)) return err(RmError.NORESOURCE);
    const id = this.identity(vm);
    const ids: VmIdentifier[] = [{ type: VmIdType.GUID, data: id.guid }];
    if (id.name.length > 0) ids.push({ type: VmIdType.NAME, data: id.name });
    if (id.uri.length > 0) ids.push({ type: VmIdType.URI, data: id.uri });
    ids.push({ type: VmIdType.SIGN_AUTH, data: utf8.encode(SIGN_AUTHORITY) });
    return ok(vmGetIdMsg.reply.encode(ids));
  }

  /** The VMs `caller` may query whose identifier `pick` equals `want`, in the RM's table order. */
  private matching(caller: number, want: Uint8Array, pick: (vm: VmRecord) => Uint8Array): number[] {
    const out: number[] = [];
    for (const vm of this.host.table.vms.values()) {
      if (this.mayQuery(caller, vm) && sameBytes(pick(vm), want)) out.push(vm.vmid);
    }
    return out;
  }

  /**
   * VM_LOOKUP_URI / VM_LOOKUP_NAME, checked as the public RM does: under 4 bytes → MSG_INVALID; a
   * length over 79 → ARGUMENT_INVALID (the spec gives the limit without a code; this is the RM's);
   * a payload that is not exactly 4 + len rounded up to 4 → MSG_INVALID; non-zero padding →
   * MSG_INVALID. An empty string matches the VMs without that identifier, as the RM's byte compare
   * does.
   */
  private lookupString(caller: number, p: Uint8Array, which: 'uri' | 'name'): Reply {
    if (p.length < 4) return err(RmError.MSG_INVALID);
    const len = p[0]! | (p[1]! << 8);
    if (len > VM_LOOKUP_MAX_LEN) return err(RmError.ARGUMENT_INVALID);
    const msg = which === 'uri' ? vmLookupUriMsg : vmLookupNameMsg;
    const d = msg.request.decode(p);
    if (!d.ok) return err(d.error);
    if (!zeroPadded(p, 4 + len)) return err(RmError.MSG_INVALID);
    const found = this.matching(caller, d.value, (vm) => this.identity(vm)[which]);
    return ok(msg.reply.encode(found));
  }

  /** VM_LOOKUP_GUID: exactly 16 bytes (MSG_INVALID). */
  private lookupGuid(caller: number, p: Uint8Array): Reply {
    const d = vmLookupGuidMsg.request.decode(p);
    if (!d.ok) return err(d.error);
    return ok(vmLookupGuidMsg.reply.encode(this.matching(caller, d.value, (vm) => this.identity(vm).guid)));
  }

  // ------------------------------------------------------------------ crash messages (§2.2)

  /**
   * VM_SET_CRASH_MSG from a VM about itself: exactly 4 + len rounded up to 4 bytes with zero padding
   * (MSG_INVALID otherwise); kept truncated to 192 bytes, replacing the previous one.
   */
  private setCrashMsg(caller: number, p: Uint8Array): Reply {
    const d = vmSetCrashMsgMsg.request.decode(p);
    if (!d.ok) return err(d.error);
    if (!zeroPadded(p, 4 + d.value.length)) return err(RmError.MSG_INVALID);
    const vm = this.host.table.vms.get(caller);
    if (vm === undefined) return err(RmError.VMID_INVALID);
    this.of(vm).crashMsg = d.value.slice(0, CRASH_MSG_MAX);
    return ok();
  }

  /**
   * VM_GET_CRASH_MSG: exactly 4 bytes; the VM's owner only — an unknown VM and a non-owner both get
   * VMID_INVALID (the public RM's codes; there is no "0 = self"). A VM that set none has len 0.
   */
  private getCrashMsg(caller: number, p: Uint8Array): Reply {
    const d = vmGetCrashMsgMsg.request.decode(p);
    if (!d.ok) return err(d.error);
    const vm = this.host.table.vms.get(d.value.vmid);
    if (vm === undefined || vm.owner !== caller) return err(RmError.VMID_INVALID);
    return ok(vmGetCrashMsgMsg.reply.encode(this.state.get(vm)?.crashMsg ?? new Uint8Array(0)));
  }

  // -------------------------------------------------------------------- VM_SET_STATUS (§2.2)

  /**
   * VM_SET_STATUS: only from the platform's secondary VMIDs (4..31): the primary and dynamic VMIDs
   * are DENIED, before the length is looked at. Exactly 4 bytes (MSG_INVALID); os_state 0 keeps the
   * current one, 1..7 set it, else ARGUMENT_INVALID; app_status is always stored. VM_STATUS goes to
   * the VM's running peers before the reply.
   */
  private setStatus(caller: number, p: Uint8Array): Reply {
    if (caller < SECONDARY_VMIDS.first || caller > SECONDARY_VMIDS.last) return err(RmError.DENIED);
    const d = vmSetStatusMsg.request.decode(p);
    if (!d.ok) return err(d.error);
    const vm = this.host.table.vms.get(caller);
    if (vm === undefined) return err(RmError.NORESOURCE);
    if (d.value.osState !== 0) vm.osState = d.value.osState;
    vm.appStatus = d.value.appStatus;
    this.host.table.onStatus?.(vm);
    return ok();
  }

  // ----------------------------------------------------------------- VM_SET_TIME_BASE (§2.2)

  /**
   * VM_SET_TIME_BASE: exactly 20 bytes (MSG_INVALID); vmid 0 = the caller; unknown → NORESOURCE;
   * self/owner/peers (DENIED); state INIT or READY (VM_STATE). The time base goes to the VM's vRTC:
   * a VM whose VM-config has no `vrtc-pl031` vdevice (and any VM still in INIT, whose config is
   * parsed only at VM_INIT) has none, and the RM answers ARGUMENT_INVALID with the hypervisor's
   * DENIED as the extra word, as the public RM does. Every error reply carries the extra u32.
   */
  private setTimeBase(caller: number, p: Uint8Array): Reply {
    const d = vmSetTimeBaseMsg.request.decode(p);
    if (!d.ok) return errWithHyp(d.error);
    const vm = this.host.table.vms.get(d.value.vmid === 0 ? caller : d.value.vmid);
    if (vm === undefined) return errWithHyp(RmError.NORESOURCE);
    if (!this.mayQuery(caller, vm)) return errWithHyp(RmError.DENIED);
    if (vm.state !== VmState.INIT && vm.state !== VmState.READY) return errWithHyp(RmError.VM_STATE);
    const cfg = this.host.lifecycle.images.get(vm.vmid)?.config ?? null;
    if (cfg === null || !cfg.vdevices.some((v) => v.type === VRTC_VDEVICE)) {
      return errWithHyp(RmError.ARGUMENT_INVALID, Err.DENIED);
    }
    this.of(vm).timeBase = { timeBase: d.value.timeBase, sysTimerRef: d.value.sysTimerRef };
    return ok();
  }

  // -------------------------------------------------------------- VM_SET_FIRMWARE_MEM (§2.2)

  /**
   * VM_SET_FIRMWARE_MEM, in the spec's order: 24 bytes with res 0 (MSG_INVALID); no "0 = self";
   * unknown → NORESOURCE; self/owner/peers (DENIED); state INIT (VM_STATE); the VM's auth type has a
   * firmware slot — only ANDROID (ARGUMENT_INVALID); a firmware image is registered (DENIED); the
   * parcel names the VM in its ACL (MEM_INVALID); offset + size inside it (ARGUMENT_INVALID); its
   * address tag equals the image parcel's (MEM_INVALID). Every error reply carries the extra u32 1.
   */
  private setFirmwareMem(caller: number, p: Uint8Array): Reply {
    const d = vmSetFirmwareMemMsg.request.decode(p);
    if (!d.ok) return errWithHyp(d.error);
    const r = d.value;
    const vm = this.host.table.vms.get(r.vmid);
    if (vm === undefined) return errWithHyp(RmError.NORESOURCE);
    if (!this.mayQuery(caller, vm)) return errWithHyp(RmError.DENIED);
    if (vm.state !== VmState.INIT) return errWithHyp(RmError.VM_STATE);
    const img = this.host.lifecycle.images.get(vm.vmid);
    if (img === undefined || img.auth !== AuthType.ANDROID) return errWithHyp(RmError.ARGUMENT_INVALID);
    if (!this.firmware.has(AuthType.ANDROID)) return errWithHyp(RmError.DENIED);
    const mp = this.host.parcels.get(r.memparcel);
    if (mp === undefined || !mp.acl.some((a) => a.vmid === vm.vmid)) return errWithHyp(RmError.MEM_INVALID);
    const size = mp.regions.reduce((s, x) => s + x.size, 0n);
    if (r.offset + r.size >= U64_LIMIT || r.offset + r.size > size) return errWithHyp(RmError.ARGUMENT_INVALID);
    // [infer] Address tags on the QEMU platform: all RAM has one tag, device memory another, so the
    // tags differ exactly when the two parcels' memory types do.
    const image = this.host.parcels.get(img.parcel);
    if (image === undefined || image.memType !== mp.memType) return errWithHyp(RmError.MEM_INVALID);
    this.of(vm).firmwareMem = { parcel: r.memparcel, offset: r.offset, size: r.size };
    return ok();
  }

  // -------------------------------------------------------------------- VM_AUTH_IMAGE (§2.2)

  /**
   * VM_AUTH_IMAGE: the primary only (DENIED), exact length (MSG_INVALID), unknown → VMID_INVALID,
   * the owner only (DENIED), state AUTH (VM_STATE). Only PLATFORM auth is authenticated here: the
   * QEMU platform's hook accepts any parameters, so the VM goes to INIT; a VM whose auth type is
   * NONE or ANDROID gets ARGUMENT_INVALID and goes to INIT_FAILED. VM_STATUS either way.
   */
  private authImage(caller: number, p: Uint8Array): Reply {
    if (caller !== VMID_HLOS) return err(RmError.DENIED);
    const d = vmAuthImageMsg.request.decode(p);
    if (!d.ok) return err(d.error);
    const vm = this.host.table.vms.get(d.value.vmid);
    if (vm === undefined) return err(RmError.VMID_INVALID);
    if (vm.owner !== caller) return err(RmError.DENIED);
    if (vm.state !== VmState.AUTH) return err(RmError.VM_STATE);
    if (this.host.lifecycle.images.get(vm.vmid)?.auth !== AuthType.PLATFORM) {
      this.host.table.setState(vm, VmState.INIT_FAILED);
      return err(RmError.ARGUMENT_INVALID);
    }
    this.host.table.setState(vm, VmState.INIT);
    return ok();
  }

  // ------------------------------------------------------ §2.6 (Linux-defined, not in the public RM)

  /**
   * VM_SET_BOOT_CONTEXT. [infer] The format first — 16 bytes exact (MSG_INVALID), a register set or
   * index that does not exist (ARGUMENT_INVALID, msgs/vm-setup.ts) — then the VM: unknown →
   * VMID_INVALID, not the caller's → DENIED, not READY → VM_STATE (§2.6: valid only in READY, where
   * Linux sends it, between VM_INIT and VM_START). The register is recorded for the boot vCPU; VM_START
   * writes it (`bootContext`). Setting a register again replaces its value.
   */
  private setBootContext(caller: number, p: Uint8Array): Reply {
    const d = vmSetBootContextMsg.request.decode(p);
    if (!d.ok) return err(d.error);
    const vm = this.owned(caller, d.value.vmid);
    if (!('vmid' in vm)) return vm;
    if (vm.state !== VmState.READY) return err(RmError.VM_STATE);
    const { regSet, regIndex, value } = d.value;
    this.of(vm).bootContext.set((regSet << 8) | regIndex, { regSet, regIndex, value });
    return ok();
  }

  /**
   * VM_SET_DEMAND_PAGING. [infer] Exact length (MSG_INVALID); unknown → VMID_INVALID; not the
   * caller's → DENIED; between VM_CONFIG_IMAGE and VM_INIT, i.e. INIT (or AUTH for a PLATFORM
   * image) → else VM_STATE; every range page-aligned, non-empty and inside the 64-bit space →
   * else ARGUMENT_INVALID. The list replaces any earlier one; the RM only records it (the host
   * populates those ranges itself, §2.6).
   */
  private setDemandPaging(caller: number, p: Uint8Array): Reply {
    const d = vmSetDemandPagingMsg.request.decode(p);
    if (!d.ok) return err(d.error);
    const vm = this.owned(caller, d.value.vmid);
    if (!('vmid' in vm)) return vm;
    if (vm.state !== VmState.INIT && vm.state !== VmState.AUTH) return err(RmError.VM_STATE);
    for (const r of d.value.ranges) {
      if (!pageAligned(r.gpa) || !pageAligned(r.size) || r.size === 0n || r.gpa + r.size > U64_LIMIT) {
        return err(RmError.ARGUMENT_INVALID);
      }
    }
    this.of(vm).demandPaging = d.value.ranges.map((r) => ({ gpa: r.gpa, size: r.size }));
    return ok();
  }

  /**
   * VM_SET_ADDRESS_LAYOUT. [infer] 24 bytes exact (MSG_INVALID), range_id 0/1 (ARGUMENT_INVALID,
   * msgs/vm-setup.ts); unknown → VMID_INVALID; not the caller's → DENIED; INIT (or AUTH) → else
   * VM_STATE; base and size page-aligned, size non-zero, no overflow → else ARGUMENT_INVALID; the
   * IMAGE range must hold the whole image parcel (ARGUMENT_INVALID). Recorded per range
   * (`addressLayout`); a second call for a range replaces the first.
   */
  private setAddressLayout(caller: number, p: Uint8Array): Reply {
    const d = vmSetAddressLayoutMsg.request.decode(p);
    if (!d.ok) return err(d.error);
    const r = d.value;
    const vm = this.owned(caller, r.vmid);
    if (!('vmid' in vm)) return vm;
    if (vm.state !== VmState.INIT && vm.state !== VmState.AUTH) return err(RmError.VM_STATE);
    if (!pageAligned(r.base) || !pageAligned(r.size) || r.size === 0n || r.base + r.size > U64_LIMIT) {
      return err(RmError.ARGUMENT_INVALID);
    }
    if (r.rangeId === AddressRange.IMAGE) {
      const img = this.host.lifecycle.images.get(vm.vmid);
      const need = img === undefined ? undefined : this.parcelSize(img.parcel);
      if (need === undefined || r.size < need) return err(RmError.ARGUMENT_INVALID);
    }
    this.of(vm).addressLayout.set(r.rangeId, { base: r.base, size: r.size });
    return ok();
  }

  // ---------------------------------------------------------------------- IPA_RESERVE (§2.9)

  /**
   * Whether `vmid` has an IPA allocator (§2.9: "is configured"): the primary, and a VM whose
   * VM-config the RM has parsed (VM_INIT).
   */
  private hasIpaAllocator(vmid: number): boolean {
    if (vmid === VMID_HLOS) return true;
    return (this.host.lifecycle.images.get(vmid)?.config ?? null) !== null && this.host.vms.has(vmid);
  }

  /**
   * Constraints → an address tag exists (§2.9), as the public RM maps them: none at all; exactly
   * BASE_MEMORY_COMPATIBLE; or NORMAL with optionally ECC and TAGGED. [infer] The QEMU platform
   * defines no platform constraints, so any non-zero platform_constraints has no tag.
   */
  private static constraintsMapToTag(generic: number, platform: number): boolean {
    if (platform !== 0) return false;
    if (generic === 0 || generic === IpaConstraint.BASE_MEMORY_COMPATIBLE) return true;
    const allowed = IpaConstraint.ECC | IpaConstraint.TAGGED | IpaConstraint.NORMAL;
    return (generic & ~allowed) === 0 && (generic & IpaConstraint.NORMAL) !== 0;
  }

  /**
   * IPA_RESERVE in the public RM's order: no IPA allocator → DENIED; under 16 bytes or alloc_type
   * not 0/1 → MSG_INVALID; constraints with no address tag → ARGUMENT_INVALID; the list (over 30
   * entries → NORESOURCE, overrun or a length other than the list's end → MSG_INVALID); then each
   * range in order — any one that cannot be reserved → DENIED with the earlier ones given back.
   * A fixed list replies no data; an alloc list `{u32 n; n × u64 base}`.
   */
  private ipaReserve(caller: number, p: Uint8Array): Reply {
    if (!this.hasIpaAllocator(caller)) return err(RmError.DENIED);
    if (p.length < 16) return err(RmError.MSG_INVALID);
    const allocType = p[0]!;
    if (allocType !== IpaAllocType.FIXED && allocType !== IpaAllocType.ALLOC) return err(RmError.MSG_INVALID);
    const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
    if (!VmMisc.constraintsMapToTag(dv.getUint32(4, true), dv.getUint32(8, true))) {
      return err(RmError.ARGUMENT_INVALID);
    }
    const d = ipaReserveMsg.request.decode(p);
    if (!d.ok) return err(d.error);
    const vm = this.host.table.vms.get(caller);
    if (vm === undefined) return err(RmError.DENIED);
    const taken: IpaRange[] = [];
    const req = d.value;
    if (req.allocType === IpaAllocType.FIXED) {
      for (const e of req.ranges) {
        const r = this.reserveFixed(vm, e, taken);
        if (r === null) return err(RmError.DENIED);
        taken.push(r);
      }
      this.of(vm).ipaReserved.push(...taken);
      return ok();
    }
    for (const e of req.ranges) {
      const r = this.reserveAlloc(vm, e, taken);
      if (r === null) return err(RmError.DENIED);
      taken.push(r);
    }
    this.of(vm).ipaReserved.push(...taken);
    return ok(ipaReserveMsg.reply.encode({ bases: taken.map((r) => r.base) }));
  }

  /**
   * Whether [base, base + size) is free in `vm`'s IPA space: inside the space, clear of the VM's
   * memory, of its earlier reservations and of `taken` (this request's).
   */
  private ipaFree(vm: VmRecord, base: bigint, size: bigint, taken: readonly IpaRange[]): boolean {
    if (base < IPA_SPACE.base || base + size > IPA_SPACE.limit) return false;
    const used: IpaRange[] = [
      ...(this.host.vms.get(vm.vmid)?.memory ?? []).map((m) => ({ base: m.ipa, size: m.size })),
      ...(this.state.get(vm)?.ipaReserved ?? []),
      ...taken,
    ];
    return used.every((u) => base + size <= u.base || base >= u.base + u.size);
  }

  /**
   * A fixed range: page-aligned, non-empty and free. [infer] The primary's IPA space is its
   * physical memory (IPA = PA) and takes no reservations — the public RM refuses to tag it.
   */
  private reserveFixed(vm: VmRecord, e: IpaFixedRange, taken: readonly IpaRange[]): IpaRange | null {
    if (vm.vmid === VMID_HLOS) return null;
    if (e.size === 0n || !pageAligned(e.base) || !pageAligned(e.size)) return null;
    return this.ipaFree(vm, e.base, e.size, taken) ? { base: e.base, size: e.size } : null;
  }

  /**
   * An alloc range: the lowest base aligned to `alignment` where `size` bytes fit inside [region_base,
   * region_base + region_size) and are free. [infer] alignment 0 means a page; otherwise it must be
   * a power of two of at least a page.
   */
  private reserveAlloc(vm: VmRecord, e: IpaAllocRange, taken: readonly IpaRange[]): IpaRange | null {
    if (vm.vmid === VMID_HLOS) return null;
    const align = e.alignment === 0n ? PAGE : e.alignment;
    if (align < PAGE || (align & (align - 1n)) !== 0n) return null;
    if (e.size === 0n || !pageAligned(e.size)) return null;
    const end = e.regionBase + e.regionSize;
    let at = alignUp(e.regionBase > IPA_SPACE.base ? e.regionBase : IPA_SPACE.base, align);
    while (at + e.size <= end && at + e.size <= IPA_SPACE.limit) {
      if (this.ipaFree(vm, at, e.size, taken)) return { base: at, size: e.size };
      // Step past whatever overlaps, aligned again.
      const used: IpaRange[] = [
        ...(this.host.vms.get(vm.vmid)?.memory ?? []).map((m) => ({ base: m.ipa, size: m.size })),
        ...(this.state.get(vm)?.ipaReserved ?? []),
        ...taken,
      ];
      const hit = used.find((u) => at + e.size > u.base && at < u.base + u.size);
      at = alignUp(hit === undefined ? at + align : hit.base + hit.size, align);
    }
    return null;
  }

  // ----------------------------------------------------------------------- firmware (§2.9)

  /** FW_MILESTONE: closed already → DENIED; not the primary → DENIED; not empty → MSG_INVALID. */
  private fwMilestone(caller: number, p: Uint8Array): Reply {
    if (this.milestone) return err(RmError.DENIED);
    if (caller !== VMID_HLOS) return err(RmError.DENIED);
    const d = fwMilestoneMsg.request.decode(p);
    if (!d.ok) return err(d.error);
    this.milestone = true;
    return ok();
  }

  /**
   * FW_SET_VM_FIRMWARE, in the public RM's order: after the milestone or not from the primary →
   * DENIED; 24 bytes (MSG_INVALID), res 0 (UNIMPLEMENTED); the auth type has a slot — only ANDROID
   * (ARGUMENT_INVALID); not registered yet (BUSY); the parcel names the RM in its ACL
   * (HANDLE_INVALID); offset 0 and 0 < size ≤ the parcel (ARGUMENT_INVALID). The RM then accepts the
   * parcel as a NORMAL donation to itself, with its ACL validated: another memory or transaction
   * type → ARGUMENT_INVALID, an ACL other than exactly {0xFF, RWX} or any attributes →
   * VALIDATE_FAILED, [infer] a parcel still being built → DENIED (as MEM_ACCEPT). The parcel and its
   * handle are gone afterwards.
   */
  private fwSetVmFirmware(caller: number, p: Uint8Array): Reply {
    if (this.milestone) return err(RmError.DENIED);
    if (caller !== VMID_HLOS) return err(RmError.DENIED);
    const d = fwSetVmFirmwareMsg.request.decode(p);
    if (!d.ok) return err(d.error);
    const r = d.value;
    if (r.authType !== AuthType.ANDROID) return err(RmError.ARGUMENT_INVALID);
    if (this.firmware.has(r.authType)) return err(RmError.BUSY);
    const mp = this.host.parcels.get(r.memparcel);
    if (mp === undefined || !mp.acl.some((a) => a.vmid === VMID_RM)) return err(RmError.HANDLE_INVALID);
    const size = mp.regions.reduce((s, x) => s + x.size, 0n);
    if (r.size === 0n || r.offset !== 0n || r.size > size) return err(RmError.ARGUMENT_INVALID);
    if (mp.memType !== MemType.NORMAL || mp.transType !== TransType.DONATE) return err(RmError.ARGUMENT_INVALID);
    if (mp.acl.length !== 1 || mp.acl[0]!.rights !== MemRights.RWX || mp.attrs.length !== 0) {
      return err(RmError.VALIDATE_FAILED);
    }
    if (mp.building) return err(RmError.DENIED);
    const regions = this.host.parcels.takeRmDonation(mp.handle);
    if (regions === undefined) return err(RmError.HANDLE_INVALID);
    this.firmware.set(r.authType, { regions, size });
    return ok();
  }

  // -------------------------------------------------------------- MEM_QCOM_LOOKUP_SGL (§2.8)

  /**
   * MEM_QCOM_LOOKUP_SGL: the request by the MEM_* list rules (at least 16 bytes, MSG_INVALID); the
   * first of the caller's parcels, in creation order, that is complete and held by nobody, with
   * the same mem_type, the same ACL (VMIDs and rights, in order), the same attributes, and an SGL
   * equal entry for entry to its region list (owner IPA and size, after splitting at physical
   * discontinuities) → `{u32 handle}`; none → LOOKUP_FAILED. (The RM stores the request's label in
   * a parcel that has none; every parcel here came from a MEM_LEND/SHARE/DONATE that gave one.)
   */
  private lookupSgl(caller: number, p: Uint8Array): Reply {
    const d = memLookupSglMsg.request.decode(p);
    if (!d.ok) return err(d.error);
    const r = d.value;
    for (const mp of this.host.parcels.all()) {
      if (mp.owner !== caller || mp.building || mp.shareCount !== 0 || mp.memType !== r.memType) continue;
      if (mp.acl.length !== r.acl.length || mp.attrs.length !== r.attrs.length) continue;
      if (mp.regions.length !== r.sgl.length) continue;
      if (!mp.acl.every((a, i) => a.vmid === r.acl[i]!.vmid && a.rights === r.acl[i]!.rights)) continue;
      if (!mp.regions.every((g, i) => g.ownerIpa === r.sgl[i]!.ipa && g.size === r.sgl[i]!.size)) continue;
      if (!mp.attrs.every((a, i) => a.attr === r.attrs[i]!.attr && a.vmid === r.attrs[i]!.vmid)) continue;
      return ok(memLookupSglMsg.reply.encode(mp.handle));
    }
    return err(RmError.LOOKUP_FAILED);
  }

  // ------------------------------------------------------------ what the lifecycle reads

  /**
   * The boot vCPU's registers VM_SET_BOOT_CONTEXT recorded for `vmid`, in the order first set. VM_START
   * applies them with vcpu_register_write (reg_set and reg_index as given) before powering the vCPU
   * on; empty when none was set.
   */
  bootContext(vmid: number): readonly BootRegister[] {
    return [...(this.stateOf(vmid)?.bootContext.values() ?? [])];
  }

  /** The crash message `vmid` stored (empty if none). */
  crashMessage(vmid: number): Uint8Array {
    return this.stateOf(vmid)?.crashMsg.slice() ?? new Uint8Array(0);
  }

  /** What VM_SET_TIME_BASE gave `vmid`'s vRTC, or null. */
  timeBase(vmid: number): TimeBase | null {
    return this.stateOf(vmid)?.timeBase ?? null;
  }

  /** `vmid`'s firmware region (VM_SET_FIRMWARE_MEM), or null. */
  firmwareMem(vmid: number): FirmwareMem | null {
    return this.stateOf(vmid)?.firmwareMem ?? null;
  }

  /** The demand-paged ranges of `vmid` (VM_SET_DEMAND_PAGING), or null if none were given. */
  demandPaging(vmid: number): readonly GpaRange[] | null {
    return this.stateOf(vmid)?.demandPaging ?? null;
  }

  /** Where VM_SET_ADDRESS_LAYOUT put range `rangeId` (0 IMAGE, 1 FIRMWARE) of `vmid`, or null. */
  addressLayout(vmid: number, rangeId: number): IpaRange | null {
    return this.stateOf(vmid)?.addressLayout.get(rangeId) ?? null;
  }

  /** The IPA ranges `vmid` reserved, in the order reserved. */
  ipaReservations(vmid: number): readonly IpaRange[] {
    return [...(this.stateOf(vmid)?.ipaReserved ?? [])];
  }

  /** The firmware image registered for `authType`, or null. */
  firmwareImage(authType: number): FirmwareImage | null {
    return this.firmware.get(authType) ?? null;
  }

  /** Whether FW_MILESTONE has closed firmware registration (ANDROID VMs start only after it). */
  get milestoneReached(): boolean {
    return this.milestone;
  }
}
