// The RM client library (RM spec §1.5, §2): one typed generator method per request, on top of
// RmClientTransport (Linux's link rules) and rmCall. Each method encodes its request with the
// message's codec (rm/msgs), waits for the reply, and decodes the reply's data, returning
// `{ ok: true, value }` or `{ ok: false, error }` where error is the RM's error code (a number, §1.6)
// or a failure of the link or of the reply's bytes. Notifications come out typed, in arrival order.
//
// Methods are generators for native programs: `const r = yield* client.vmAllocate(0)`.

import { RpcError, rmErrorName, type RpcMessage } from '../../rm/rpc/index.js';
import {
  decodeNotification,
  fwMilestoneMsg,
  fwSetVmFirmwareMsg,
  ipaReserveMsg,
  memAcceptMsg,
  memAppendMsg,
  memDonateMsg,
  memLendMsg,
  memLookupSglMsg,
  memNotifyMsg,
  memReclaimMsg,
  memReleaseMsg,
  memShareMsg,
  vmAllocateMsg,
  vmAuthImageMsg,
  vmConfigImageMsg,
  vmConsoleCloseMsg,
  vmConsoleFlushMsg,
  vmConsoleOpenMsg,
  vmConsoleWriteMsg,
  vmDeallocateMsg,
  vmExitMsg,
  vmGetCrashMsgMsg,
  vmGetHypResourcesMsg,
  vmGetIdMsg,
  vmGetOwnerMsg,
  vmGetPeersMsg,
  vmGetStateMsg,
  vmGetVmidMsg,
  vmHostGetTypeMsg,
  vmInitMsg,
  vmIrqAcceptMsg,
  vmIrqLendMsg,
  vmIrqNotifyMsg,
  vmIrqReclaimMsg,
  vmIrqReleaseMsg,
  vmLookupGuidMsg,
  vmLookupNameMsg,
  vmLookupUriMsg,
  vmResetMsg,
  vmSetAddressLayoutMsg,
  vmSetBootContextMsg,
  vmSetCrashMsgMsg,
  vmSetDemandPagingMsg,
  vmSetFirmwareMemMsg,
  vmSetStatusMsg,
  vmSetTimeBaseMsg,
  vmStartMsg,
  vmStopMsg,
  VM_STOP_FLAG_FORCE,
  VM_STOP_REASON_LINUX,
  type DecodedNotification,
  type FwSetVmFirmwareRequest,
  type HypResource,
  type IpaReservePlaced,
  type IpaReserveRequest,
  type MemAcceptPlaced,
  type MemAcceptRequest,
  type MemAppendRequest,
  type MemCreateRequest,
  type MemLookupSglRequest,
  type MemNotifyRequest,
  type RequestMessage,
  type VmAuthImageRequest,
  type VmConfigImageRequest,
  type VmIdentifier,
  type VmIrqNotifyRequest,
  type VmSetAddressLayoutRequest,
  type VmSetBootContextRequest,
  type VmSetDemandPagingRequest,
  type VmSetFirmwareMemRequest,
  type VmSetTimeBaseRequest,
  type VmStatus,
} from '../../rm/msgs/index.js';
import { rmCall, type RmClientTransport } from './transport.js';

/** Why a call produced no RM answer: the link failed, or the reply's data broke its layout. */
export interface RmCallFailure {
  readonly failure: 'transport' | 'reply';
  readonly detail: string;
}

/**
 * A call's result. On an RM error, `error` is its code (§1.6; `rmErrorName` names it) and
 * `hypError` the extra u32 some messages append to error replies (VM_SET_TIME_BASE,
 * VM_SET_FIRMWARE_MEM).
 */
export type RmResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: number; readonly hypError?: number }
  | { readonly ok: false; readonly error: RmCallFailure };

/** The interrupt side a client needs (its vCPU's virtual GIC). */
export interface RmClientIrq {
  ack(): number;
  eoi(intid: number): void;
}

type Call<T> = Generator<'wait', RmResult<T>, void>;

/** A readable one-line account of a failed result, for logs and assertion messages. */
export function describeFailure(r: RmResult<unknown>): string {
  if (r.ok) return 'ok';
  if (typeof r.error === 'number') {
    const hyp = 'hypError' in r && r.hypError !== undefined ? ` (hypervisor error ${r.hypError})` : '';
    return `${rmErrorName(r.error)}${hyp}`;
  }
  return `${r.error.failure} failure: ${r.error.detail}`;
}

export class RmClient {
  constructor(
    readonly transport: RmClientTransport,
    private readonly irq: RmClientIrq | null,
  ) {}

  /** One call of `msg` with `req`: encode, wait for the reply, decode its data. */
  *call<Req, Rep>(msg: RequestMessage<Req, Rep>, req: Req): Call<Rep> {
    let payload: Uint8Array;
    try {
      payload = msg.request.encode(req);
    } catch (e) {
      // A value the wire cannot carry is the caller's mistake; it is reported, not thrown, so a
      // program's generator keeps its one error path.
      if (e instanceof RpcError) return { ok: false, error: { failure: 'transport', detail: e.message } };
      throw e;
    }
    const o = yield* rmCall(this.irq, this.transport, msg.id, payload);
    if (!o.ok) return { ok: false, error: { failure: 'transport', detail: o.reason } };
    if (o.error !== 0) {
      if (msg.errorData !== undefined && o.data.length > 0) {
        const h = msg.errorData.decode(o.data);
        if (h.ok) return { ok: false, error: o.error, hypError: h.value };
      }
      return { ok: false, error: o.error };
    }
    const d = msg.reply.decode(o.data);
    if (!d.ok) return { ok: false, error: { failure: 'reply', detail: d.detail } };
    return { ok: true, value: d.value };
  }

  /** Maps an OK value; failures pass through. */
  private *map<A, B>(c: Call<A>, f: (a: A) => B): Call<B> {
    const r = yield* c;
    return r.ok ? { ok: true, value: f(r.value) } : r;
  }

  // ------------------------------------------------------------------- §2.2 VM lifecycle

  /** VM_ALLOCATE: vmid 0 → the RM picks (its reply names it); otherwise that VMID (no reply data). */
  *vmAllocate(vmid = 0): Call<number> {
    return yield* this.map(this.call(vmAllocateMsg, { vmid }), (r) => r.vmid ?? vmid);
  }
  *vmDeallocate(vmid: number): Call<void> {
    return yield* this.map(this.call(vmDeallocateMsg, { vmid }), () => undefined);
  }
  *vmConfigImage(req: VmConfigImageRequest): Call<void> {
    return yield* this.map(this.call(vmConfigImageMsg, req), () => undefined);
  }
  *vmAuthImage(req: VmAuthImageRequest): Call<void> {
    return yield* this.map(this.call(vmAuthImageMsg, req), () => undefined);
  }
  *vmInit(vmid: number): Call<void> {
    return yield* this.map(this.call(vmInitMsg, { vmid }), () => undefined);
  }
  *vmStart(vmid: number): Call<void> {
    return yield* this.map(this.call(vmStartMsg, { vmid }), () => undefined);
  }
  /** VM_STOP; by default as Linux sends it: FORCE, stop_reason 3. */
  *vmStop(vmid: number, flags: number = VM_STOP_FLAG_FORCE, stopReason: number = VM_STOP_REASON_LINUX): Call<void> {
    return yield* this.map(this.call(vmStopMsg, { vmid, flags, stopReason }), () => undefined);
  }
  *vmReset(vmid: number): Call<void> {
    return yield* this.map(this.call(vmResetMsg, { vmid }), () => undefined);
  }
  *vmExit(exitFlags: number, exitCode: number): Call<void> {
    return yield* this.map(this.call(vmExitMsg, { exitFlags, exitCode }), () => undefined);
  }
  /** VM_GET_STATE: vmid 0 = the caller. */
  *vmGetState(vmid: number): Call<VmStatus> {
    return yield* this.call(vmGetStateMsg, { vmid });
  }
  *vmSetStatus(osState: number, appStatus: number): Call<void> {
    return yield* this.map(this.call(vmSetStatusMsg, { osState, appStatus }), () => undefined);
  }
  *vmGetVmid(): Call<number> {
    return yield* this.call(vmGetVmidMsg, {});
  }
  *vmGetOwner(): Call<number> {
    return yield* this.call(vmGetOwnerMsg, {});
  }
  *vmGetPeers(): Call<readonly number[]> {
    return yield* this.call(vmGetPeersMsg, {});
  }
  *vmHostGetType(): Call<number> {
    return yield* this.call(vmHostGetTypeMsg, {});
  }
  *vmGetId(vmid: number): Call<readonly VmIdentifier[]> {
    return yield* this.call(vmGetIdMsg, { vmid });
  }
  *vmLookupUri(uri: Uint8Array): Call<readonly number[]> {
    return yield* this.call(vmLookupUriMsg, uri);
  }
  *vmLookupGuid(guid: Uint8Array): Call<readonly number[]> {
    return yield* this.call(vmLookupGuidMsg, guid);
  }
  *vmLookupName(name: Uint8Array): Call<readonly number[]> {
    return yield* this.call(vmLookupNameMsg, name);
  }
  *vmSetCrashMsg(msg: Uint8Array): Call<void> {
    return yield* this.map(this.call(vmSetCrashMsgMsg, msg), () => undefined);
  }
  *vmGetCrashMsg(vmid: number): Call<Uint8Array> {
    return yield* this.call(vmGetCrashMsgMsg, { vmid });
  }
  *vmSetTimeBase(req: VmSetTimeBaseRequest): Call<void> {
    return yield* this.map(this.call(vmSetTimeBaseMsg, req), () => undefined);
  }
  *vmSetFirmwareMem(req: VmSetFirmwareMemRequest): Call<void> {
    return yield* this.map(this.call(vmSetFirmwareMemMsg, req), () => undefined);
  }

  // --------------------------------------------------------------- §2.3 hyp resources

  *vmGetHypResources(vmid: number): Call<readonly HypResource[]> {
    return yield* this.call(vmGetHypResourcesMsg, { vmid });
  }

  // ------------------------------------------------------------------------ §2.5 console

  *consoleOpen(target: number): Call<void> {
    return yield* this.map(this.call(vmConsoleOpenMsg, { vmid: target }), () => undefined);
  }
  *consoleClose(target: number): Call<void> {
    return yield* this.map(this.call(vmConsoleCloseMsg, { vmid: target }), () => undefined);
  }
  *consoleWrite(target: number, data: Uint8Array): Call<void> {
    return yield* this.map(this.call(vmConsoleWriteMsg, { target, data }), () => undefined);
  }
  *consoleFlush(target: number): Call<void> {
    return yield* this.map(this.call(vmConsoleFlushMsg, { vmid: target }), () => undefined);
  }

  // ---------------------------------------------------- §2.6 boot context, paging, layout

  *vmSetBootContext(req: VmSetBootContextRequest): Call<void> {
    return yield* this.map(this.call(vmSetBootContextMsg, req), () => undefined);
  }
  *vmSetDemandPaging(req: VmSetDemandPagingRequest): Call<void> {
    return yield* this.map(this.call(vmSetDemandPagingMsg, req), () => undefined);
  }
  *vmSetAddressLayout(req: VmSetAddressLayoutRequest): Call<void> {
    return yield* this.map(this.call(vmSetAddressLayoutMsg, req), () => undefined);
  }

  // -------------------------------------------------------------------- §2.7 IRQ lending

  /** VM_IRQ_LEND → the lend's handle. */
  *vmIrqLend(borrower: number, virq: number, label: number): Call<number> {
    return yield* this.call(vmIrqLendMsg, { borrower, virq, label });
  }
  *vmIrqNotify(req: VmIrqNotifyRequest): Call<void> {
    return yield* this.map(this.call(vmIrqNotifyMsg, req), () => undefined);
  }
  /** VM_IRQ_ACCEPT → the virq it was bound to (IRQ_ACCEPT_ANY lets the RM choose). */
  *vmIrqAccept(handle: number, virq: number): Call<number> {
    return yield* this.call(vmIrqAcceptMsg, { handle, virq });
  }
  *vmIrqRelease(handle: number): Call<void> {
    return yield* this.map(this.call(vmIrqReleaseMsg, { handle }), () => undefined);
  }
  *vmIrqReclaim(handle: number): Call<void> {
    return yield* this.map(this.call(vmIrqReclaimMsg, { handle }), () => undefined);
  }

  // ------------------------------------------------------------------ §2.8 memory parcels

  /** MEM_DONATE → the parcel's handle. */
  *memDonate(req: MemCreateRequest): Call<number> {
    return yield* this.call(memDonateMsg, req);
  }
  /** MEM_LEND → the parcel's handle. */
  *memLend(req: MemCreateRequest): Call<number> {
    return yield* this.call(memLendMsg, req);
  }
  /** MEM_SHARE → the parcel's handle. */
  *memShare(req: MemCreateRequest): Call<number> {
    return yield* this.call(memShareMsg, req);
  }
  *memAppend(req: MemAppendRequest): Call<void> {
    return yield* this.map(this.call(memAppendMsg, req), () => undefined);
  }
  /** MEM_ACCEPT → the IPAs the RM chose when the request gave none, else null. */
  *memAccept(req: MemAcceptRequest): Call<MemAcceptPlaced | null> {
    return yield* this.call(memAcceptMsg, req);
  }
  *memRelease(handle: number, flags = 0): Call<void> {
    return yield* this.map(this.call(memReleaseMsg, { handle, flags }), () => undefined);
  }
  *memReclaim(handle: number, flags = 0): Call<void> {
    return yield* this.map(this.call(memReclaimMsg, { handle, flags }), () => undefined);
  }
  *memNotify(req: MemNotifyRequest): Call<void> {
    return yield* this.map(this.call(memNotifyMsg, req), () => undefined);
  }
  /** MEM_QCOM_LOOKUP_SGL → the matching parcel's handle. */
  *memLookupSgl(req: MemLookupSglRequest): Call<number> {
    return yield* this.call(memLookupSglMsg, req);
  }

  // ------------------------------------------------------------------- §2.9 platform

  /** IPA_RESERVE → for an alloc list, the chosen bases; for a fixed list, null. */
  *ipaReserve(req: IpaReserveRequest): Call<IpaReservePlaced | null> {
    return yield* this.call(ipaReserveMsg, req);
  }
  *fwMilestone(): Call<void> {
    return yield* this.map(this.call(fwMilestoneMsg, {}), () => undefined);
  }
  *fwSetVmFirmware(req: FwSetVmFirmwareRequest): Call<void> {
    return yield* this.map(this.call(fwSetVmFirmwareMsg, req), () => undefined);
  }

  // -------------------------------------------------------------------- notifications

  /**
   * Every notification received so far, decoded, oldest first; they are removed from the
   * transport. Reads the RX queue first, so notifications that arrived since the last call are
   * included. Unknown IDs and payloads that break their layout come back as 'unknown' / 'malformed'.
   */
  takeNotifications(): DecodedNotification[] {
    this.transport.pump();
    return this.transport.notifications.splice(0).map((m: RpcMessage) => decodeNotification(m));
  }

  /** Waits until at least one notification has arrived, then takes them all (as takeNotifications). */
  *nextNotifications(): Generator<'wait', DecodedNotification[], void> {
    for (;;) {
      const taken: number[] = [];
      if (this.irq !== null) for (let id = this.irq.ack(); id !== 1023; id = this.irq.ack()) taken.push(id);
      const got = this.takeNotifications();
      for (const id of taken) this.irq!.eoi(id);
      if (got.length > 0) return got;
      yield 'wait';
    }
  }
}
