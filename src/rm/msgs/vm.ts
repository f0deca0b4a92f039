// Payloads of the VM lifecycle and VM query messages (resource-manager-protocol.md §2.2): the
// requests, the data of their OK replies, and the extra u32 of the error replies that carry one.
//
// Left to the handlers, because the spec orders them after a lookup: VM_CONFIG_IMAGE's auth type
// (ARGUMENT_INVALID, checked last — `configImageAuthValid`), VM_SET_CRASH_MSG's truncation to 192
// bytes (a storage rule, not a format error), the "0 = self" meaning of vmid fields.

import { MsgId, RmError, RpcError } from '../rpc/index.js';
import {
  align4,
  checkUint,
  concat,
  decoded,
  empty,
  fail,
  paddedString,
  readCounted,
  request,
  struct,
  u32Value,
  writeCounted,
  type Codec,
  type Empty,
  type StructCodec,
} from './codec.js';

// ------------------------------------------------------------------------- shared shapes

/** The "common VMID" request `{u16 vmid; u16 res}`, exactly 4 bytes (§2.2). */
export interface VmidRequest {
  readonly vmid: number;
}

/** The common VMID request of message `name`. */
export const vmidRequest = (name: string): StructCodec<VmidRequest> =>
  struct<VmidRequest>(`${name} request`, 4, { vmid: [0, 'u16'] });

/** An error-only reply: no data after the rm_error word (our decoder insists on that [infer]). */
export const noData = (name: string): Codec<Empty> => empty(`${name} reply`);

/** `{u16 vmid; u16 pad}`: one VMID in the lists of the VM lookups and the notify lists (§2.2, §2.7, §2.8). */
export interface VmidEntry {
  readonly vmid: number;
}
export const vmidEntry = struct<VmidEntry>('VMID entry', 4, { vmid: [0, 'u16'] });

// ------------------------------------------------------------------------- VM_ALLOCATE

/**
 * VM_ALLOCATE's OK reply: `{u32 vmid}` when the request asked for vmid 0 (the VMID chosen), no data
 * when it named a secondary VMID (vmid null).
 */
export interface VmAllocateReply {
  readonly vmid: number | null;
}

const vmAllocateReply: Codec<VmAllocateReply> = {
  name: 'VM_ALLOCATE reply',
  encode(v) {
    if (v.vmid === null) return new Uint8Array(0);
    return u32Value('VM_ALLOCATE reply').encode(v.vmid);
  },
  decode(b) {
    if (b.length === 0) return decoded({ vmid: null });
    const d = u32Value('VM_ALLOCATE reply').decode(b);
    return d.ok ? decoded({ vmid: d.value }) : d;
  },
};

export const vmAllocateMsg = request(MsgId.VM_ALLOCATE, 'VM_ALLOCATE', vmidRequest('VM_ALLOCATE'), vmAllocateReply);
export const vmDeallocateMsg = request(
  MsgId.VM_DEALLOCATE,
  'VM_DEALLOCATE',
  vmidRequest('VM_DEALLOCATE'),
  noData('VM_DEALLOCATE'),
);
export const vmStartMsg = request(MsgId.VM_START, 'VM_START', vmidRequest('VM_START'), noData('VM_START'));
export const vmResetMsg = request(MsgId.VM_RESET, 'VM_RESET', vmidRequest('VM_RESET'), noData('VM_RESET'));

// ----------------------------------------------------------------------------- VM_STOP

/** VM_STOP flags bit 0: stop now (Linux always sets it, with stop_reason 3). */
export const VM_STOP_FLAG_FORCE = 1;
/** The stop_reason Linux sends. */
export const VM_STOP_REASON_LINUX = 3;

/** VM_STOP: `{u16 vmid; u8 flags; u8 res; u32 stop_reason}`, 8 bytes exact. */
export interface VmStopRequest {
  readonly vmid: number;
  readonly flags: number;
  readonly stopReason: number;
}
export const vmStopMsg = request(
  MsgId.VM_STOP,
  'VM_STOP',
  struct<VmStopRequest>('VM_STOP request', 8, { vmid: [0, 'u16'], flags: [2, 'u8'], stopReason: [4, 'u32'] }),
  noData('VM_STOP'),
);

// ---------------------------------------------------------------------- VM_CONFIG_IMAGE

/** Auth types (§2.2, §3). */
export const AuthType = { NONE: 0, PLATFORM: 1, ANDROID: 2 } as const;

/** VM_CONFIG_IMAGE: 40 bytes exact, offsets 0/2/4/8/16/24/32. */
export interface VmConfigImageRequest {
  readonly vmid: number;
  readonly authType: number;
  readonly memparcel: number;
  readonly imageOffset: bigint;
  readonly imageSize: bigint;
  readonly dtOffset: bigint;
  readonly dtSize: bigint;
}
export const vmConfigImageMsg = request(
  MsgId.VM_CONFIG_IMAGE,
  'VM_CONFIG_IMAGE',
  struct<VmConfigImageRequest>('VM_CONFIG_IMAGE request', 40, {
    vmid: [0, 'u16'],
    authType: [2, 'u16'],
    memparcel: [4, 'u32'],
    imageOffset: [8, 'u64'],
    imageSize: [16, 'u64'],
    dtOffset: [24, 'u64'],
    dtSize: [32, 'u64'],
  }),
  noData('VM_CONFIG_IMAGE'),
);

/**
 * Whether VM_CONFIG_IMAGE's auth type is one the RM knows (0/1/2). The spec checks it last, after
 * the parcel and range checks (ARGUMENT_INVALID), so it is the handler's, not the decoder's.
 */
export const configImageAuthValid = (authType: number): boolean =>
  authType === AuthType.NONE || authType === AuthType.PLATFORM || authType === AuthType.ANDROID;

// ------------------------------------------------------------------------ VM_AUTH_IMAGE

export interface AuthParam {
  readonly paramType: number;
  readonly param: number;
}
const authParam = struct<AuthParam>('VM_AUTH_IMAGE parameter', 8, { paramType: [0, 'u32'], param: [4, 'u32'] });

/** VM_AUTH_IMAGE: `{u16 target; u16 n; n × {u32 param_type; u32 param}}`, exactly 4 + 8n bytes. */
export interface VmAuthImageRequest {
  readonly vmid: number;
  readonly params: readonly AuthParam[];
}
const vmAuthImageRequest: Codec<VmAuthImageRequest> = {
  name: 'VM_AUTH_IMAGE request',
  encode(v) {
    checkUint('VM_AUTH_IMAGE request: vmid', 'u16', v.vmid);
    checkUint('VM_AUTH_IMAGE request: parameter count', 'u16', v.params.length);
    const head = new Uint8Array(4);
    const dv = new DataView(head.buffer);
    dv.setUint16(0, v.vmid, true);
    dv.setUint16(2, v.params.length, true);
    return concat([head, ...v.params.map((p) => authParam.encode(p))]);
  },
  decode(b) {
    if (b.length < 4) return fail(RmError.MSG_INVALID, `VM_AUTH_IMAGE request: ${b.length} bytes, need at least 4`);
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const vmid = dv.getUint16(0, true);
    const n = dv.getUint16(2, true);
    if (b.length !== 4 + 8 * n) {
      return fail(
        RmError.MSG_INVALID,
        `VM_AUTH_IMAGE request: ${n} parameters need ${4 + 8 * n} bytes, got ${b.length}`,
      );
    }
    const params: AuthParam[] = [];
    for (let i = 0; i < n; i++) {
      const p = authParam.decode(b.subarray(4 + 8 * i, 12 + 8 * i));
      if (!p.ok) return p;
      params.push(p.value);
    }
    return decoded({ vmid, params });
  },
};
export const vmAuthImageMsg = request(
  MsgId.VM_AUTH_IMAGE,
  'VM_AUTH_IMAGE',
  vmAuthImageRequest,
  noData('VM_AUTH_IMAGE'),
);

// ----------------------------------------------------------------------------- VM_INIT

/**
 * VM_INIT: the common VMID request whose reserved u16 must be 0. The spec says "res must be 0"
 * without a code; we answer MSG_INVALID, the code of every other format rule in §2.2 [infer].
 */
export const vmInitMsg = request(
  MsgId.VM_INIT,
  'VM_INIT',
  struct<VmidRequest>('VM_INIT request', 4, { vmid: [0, 'u16'] }, { mustBeZero: [[2, 'u16', RmError.MSG_INVALID]] }),
  noData('VM_INIT'),
);

// ---------------------------------------------------------------------------- VM_GET_ID

/** VM_GET_ID identifier types. */
export const VmIdType = { GUID: 0, URI: 1, NAME: 2, SIGN_AUTH: 3 } as const;

/** One identifier: `{u8 type; u8 res; u16 len; bytes[len] padded to 4}`. */
export interface VmIdentifier {
  readonly type: number;
  readonly data: Uint8Array;
}

/** VM_GET_ID's OK reply: `{u32 n_ids; n identifiers}`, filling the reply exactly. */
const vmGetIdReply: Codec<readonly VmIdentifier[]> = {
  name: 'VM_GET_ID reply',
  encode(ids) {
    const parts: Uint8Array[] = [];
    const head = new Uint8Array(4);
    new DataView(head.buffer).setUint32(0, ids.length, true);
    parts.push(head);
    for (const id of ids) {
      checkUint('VM_GET_ID reply: type', 'u8', id.type);
      checkUint('VM_GET_ID reply: length', 'u16', id.data.length);
      const e = new Uint8Array(4 + align4(id.data.length));
      const dv = new DataView(e.buffer);
      dv.setUint8(0, id.type);
      dv.setUint16(2, id.data.length, true);
      e.set(id.data, 4);
      parts.push(e);
    }
    return concat(parts);
  },
  decode(b) {
    if (b.length < 4) return fail(RmError.MSG_INVALID, `VM_GET_ID reply: ${b.length} bytes, no u32 count`);
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const n = dv.getUint32(0, true);
    // Every identifier takes at least its 4-byte header: a count the bytes cannot hold is refused
    // before the loop, so a huge count costs nothing.
    if (n > (b.length - 4) / 4)
      return fail(RmError.MSG_INVALID, `VM_GET_ID reply: ${n} identifiers in ${b.length} bytes`);
    const ids: VmIdentifier[] = [];
    let at = 4;
    for (let i = 0; i < n; i++) {
      if (b.length - at < 4)
        return fail(RmError.MSG_INVALID, `VM_GET_ID reply: identifier ${i} header runs past the end`);
      const type = dv.getUint8(at);
      const len = dv.getUint16(at + 2, true);
      if (at + 4 + align4(len) > b.length) {
        return fail(RmError.MSG_INVALID, `VM_GET_ID reply: identifier ${i} (${len} bytes) runs past the end`);
      }
      ids.push({ type, data: b.slice(at + 4, at + 4 + len) });
      at += 4 + align4(len);
    }
    if (at !== b.length)
      return fail(RmError.MSG_INVALID, `VM_GET_ID reply: ${b.length - at} bytes after the last identifier`);
    return decoded(ids);
  },
};
export const vmGetIdMsg = request(MsgId.VM_GET_ID, 'VM_GET_ID', vmidRequest('VM_GET_ID'), vmGetIdReply);

// ------------------------------------------------------------------------- VM lookups

/** Longest URI or name VM_LOOKUP_URI/_NAME accept (§2.2). Over it: MSG_INVALID [infer: no code given]. */
export const VM_LOOKUP_MAX_LEN = 79;

/** The OK reply of the VM lookups: `{u32 n; n × {u16 vmid; u16 pad}}`. */
const vmidListReply = (name: string): Codec<readonly number[]> => ({
  name: `${name} reply`,
  encode: (vmids) =>
    writeCounted(
      vmids.map((vmid) => ({ vmid })),
      vmidEntry,
    ),
  decode(b) {
    const d = readCounted(b, 0, vmidEntry, `${name} reply`);
    return d.ok ? decoded(d.value.map((e) => e.vmid)) : d;
  },
});

/** VM_LOOKUP_URI: `{u16 len; u16 res; uri padded with zeros to 4}`, len ≤ 79. */
export const vmLookupUriMsg = request(
  MsgId.VM_LOOKUP_URI,
  'VM_LOOKUP_URI',
  paddedString('VM_LOOKUP_URI request', VM_LOOKUP_MAX_LEN),
  vmidListReply('VM_LOOKUP_URI'),
);
/** VM_LOOKUP_NAME: as VM_LOOKUP_URI. */
export const vmLookupNameMsg = request(
  MsgId.VM_LOOKUP_NAME,
  'VM_LOOKUP_NAME',
  paddedString('VM_LOOKUP_NAME request', VM_LOOKUP_MAX_LEN),
  vmidListReply('VM_LOOKUP_NAME'),
);

/** VM_LOOKUP_GUID: 16 raw bytes, exactly. */
const guidRequest: Codec<Uint8Array> = {
  name: 'VM_LOOKUP_GUID request',
  encode(g) {
    if (g.length !== 16) throw new RpcError(`VM_LOOKUP_GUID request: a GUID is 16 bytes, not ${g.length}`);
    return g.slice();
  },
  decode: (b) =>
    b.length === 16
      ? decoded(b.slice())
      : fail(RmError.MSG_INVALID, `VM_LOOKUP_GUID request: ${b.length} bytes, expected 16`),
};
export const vmLookupGuidMsg = request(
  MsgId.VM_LOOKUP_GUID,
  'VM_LOOKUP_GUID',
  guidRequest,
  vmidListReply('VM_LOOKUP_GUID'),
);

// ---------------------------------------------------------------- questions about the caller

export const vmGetOwnerMsg = request(
  MsgId.VM_GET_OWNER,
  'VM_GET_OWNER',
  empty('VM_GET_OWNER request'),
  u32Value('VM_GET_OWNER reply'),
);
export const vmGetVmidMsg = request(
  MsgId.VM_GET_VMID,
  'VM_GET_VMID',
  empty('VM_GET_VMID request'),
  u32Value('VM_GET_VMID reply'),
);

/** VM_GET_PEERS' OK reply: `{u32 count; u32 vmid[count]}`. */
interface U32Entry {
  readonly v: number;
}
const u32Entry = struct<U32Entry>('peer VMID', 4, { v: [0, 'u32'] });
const vmGetPeersReply: Codec<readonly number[]> = {
  name: 'VM_GET_PEERS reply',
  encode: (vmids) =>
    writeCounted(
      vmids.map((v) => ({ v })),
      u32Entry,
    ),
  decode(b) {
    const d = readCounted(b, 0, u32Entry, 'VM_GET_PEERS reply');
    return d.ok ? decoded(d.value.map((e) => e.v)) : d;
  },
};
export const vmGetPeersMsg = request(
  MsgId.VM_GET_PEERS,
  'VM_GET_PEERS',
  empty('VM_GET_PEERS request'),
  vmGetPeersReply,
);

/** VM_HOST_GET_TYPE's answer on this platform: AArch64 (byte 0 = 0x64), Gunyah + RM (1), version 1. */
export const HOST_TYPE_GUNYAH_AARCH64 = 0x0100_0164;
export const vmHostGetTypeMsg = request(
  MsgId.VM_HOST_GET_TYPE,
  'VM_HOST_GET_TYPE',
  empty('VM_HOST_GET_TYPE request'),
  u32Value('VM_HOST_GET_TYPE reply'),
);

// ------------------------------------------------------------------------ VM_GET_STATE

/** VM_GET_STATE's OK reply: `{u32 status}`, status = vm_state | os_state << 8 | app_status << 16. */
export interface VmStatus {
  readonly vmState: number;
  readonly osState: number;
  readonly appStatus: number;
}
export const vmGetStateMsg = request(
  MsgId.VM_GET_STATE,
  'VM_GET_STATE',
  vmidRequest('VM_GET_STATE'),
  // The u32 little-endian puts vm_state in byte 0, os_state in byte 1 and app_status in bytes 2–3.
  struct<VmStatus>('VM_GET_STATE reply', 4, { vmState: [0, 'u8'], osState: [1, 'u8'], appStatus: [2, 'u16'] }),
);

// ----------------------------------------------------------------------- VM_SET_STATUS

/** Largest os_state (§3: 7 CRASHED); 0 means "no change". */
export const OS_STATE_MAX = 7;

/** VM_SET_STATUS: `{u8 ignored; u8 os_state; u16 app_status}`, 4 bytes (exact [infer]). */
export interface VmSetStatusRequest {
  readonly osState: number;
  readonly appStatus: number;
}
export const vmSetStatusMsg = request(
  MsgId.VM_SET_STATUS,
  'VM_SET_STATUS',
  struct<VmSetStatusRequest>(
    'VM_SET_STATUS request',
    4,
    { osState: [1, 'u8'], appStatus: [2, 'u16'] },
    {
      check: (v) =>
        v.osState > OS_STATE_MAX
          ? fail(RmError.ARGUMENT_INVALID, `VM_SET_STATUS request: os_state ${v.osState} is not 0..${OS_STATE_MAX}`)
          : null,
    },
  ),
  noData('VM_SET_STATUS'),
);

// ------------------------------------------------------------------------------ VM_EXIT

/** VM_EXIT exit codes a guest may give (2 UNKNOWN_ERROR is the RM's own, refused here). */
export const ExitCode = { NORMAL: 0, SOFTWARE_ERROR: 1, UNKNOWN_ERROR: 2, BUS_ERROR: 3, DEVICE_ERROR: 4 } as const;
const GUEST_EXIT_CODES: readonly number[] = [
  ExitCode.NORMAL,
  ExitCode.SOFTWARE_ERROR,
  ExitCode.BUS_ERROR,
  ExitCode.DEVICE_ERROR,
];
/** exit_flags bit 0: the guest asks to be restarted. */
export const EXIT_FLAG_RESTART = 1;

/**
 * VM_EXIT: `{u16 exit_flags; u8 exit_code; u8 res}`, 4 bytes exact. exit_code outside {0,1,3,4} is
 * MSG_INVALID; the spec writes the reserved byte as "res(=0)", the notation it uses where a
 * non-zero reserved field is refused, so a non-zero one is MSG_INVALID too [infer].
 */
export interface VmExitRequest {
  readonly exitFlags: number;
  readonly exitCode: number;
}
export const vmExitMsg = request(
  MsgId.VM_EXIT,
  'VM_EXIT',
  struct<VmExitRequest>(
    'VM_EXIT request',
    4,
    { exitFlags: [0, 'u16'], exitCode: [2, 'u8'] },
    {
      mustBeZero: [[3, 'u8', RmError.MSG_INVALID]],
      check: (v) =>
        GUEST_EXIT_CODES.includes(v.exitCode)
          ? null
          : fail(RmError.MSG_INVALID, `VM_EXIT request: exit_code ${v.exitCode} is not 0, 1, 3 or 4`),
    },
  ),
  noData('VM_EXIT'),
);

// ------------------------------------------------------------------- crash messages

/** The longest crash message the RM keeps (longer ones are truncated, not refused). */
export const CRASH_MSG_MAX = 192;

/** VM_SET_CRASH_MSG: `{u16 len; u16 res; bytes padded with zeros to 4}`. */
export const vmSetCrashMsgMsg = request(
  MsgId.VM_SET_CRASH_MSG,
  'VM_SET_CRASH_MSG',
  paddedString('VM_SET_CRASH_MSG request'),
  noData('VM_SET_CRASH_MSG'),
);
/** VM_GET_CRASH_MSG: the owner asks with a vmid; OK reply `{u16 len; u16 pad; bytes padded to 4}`. */
export const vmGetCrashMsgMsg = request(
  MsgId.VM_GET_CRASH_MSG,
  'VM_GET_CRASH_MSG',
  vmidRequest('VM_GET_CRASH_MSG'),
  paddedString('VM_GET_CRASH_MSG reply'),
);

// ------------------------------------------------------------------ VM_SET_TIME_BASE

/** The extra u32 after the rm_error of an error reply: the hypervisor error (§2.2). */
const hypErrorData = (name: string): Codec<number> => u32Value(`${name} error data`);

/** VM_SET_TIME_BASE: 20 bytes, u64s at the unaligned offsets 4 and 12. */
export interface VmSetTimeBaseRequest {
  readonly vmid: number;
  readonly timeBase: bigint;
  readonly sysTimerRef: bigint;
}
export const vmSetTimeBaseMsg = request(
  MsgId.VM_SET_TIME_BASE,
  'VM_SET_TIME_BASE',
  struct<VmSetTimeBaseRequest>('VM_SET_TIME_BASE request', 20, {
    vmid: [0, 'u16'],
    timeBase: [4, 'u64'],
    sysTimerRef: [12, 'u64'],
  }),
  noData('VM_SET_TIME_BASE'),
  hypErrorData('VM_SET_TIME_BASE'),
);

// --------------------------------------------------------------- VM_SET_FIRMWARE_MEM

/** VM_SET_FIRMWARE_MEM: 24 bytes `{u16 vmid; u16 res (must be 0: MSG_INVALID); u32 parcel; u64 offset; u64 size}`. */
export interface VmSetFirmwareMemRequest {
  readonly vmid: number;
  readonly memparcel: number;
  readonly offset: bigint;
  readonly size: bigint;
}
export const vmSetFirmwareMemMsg = request(
  MsgId.VM_SET_FIRMWARE_MEM,
  'VM_SET_FIRMWARE_MEM',
  struct<VmSetFirmwareMemRequest>(
    'VM_SET_FIRMWARE_MEM request',
    24,
    { vmid: [0, 'u16'], memparcel: [4, 'u32'], offset: [8, 'u64'], size: [16, 'u64'] },
    { mustBeZero: [[2, 'u16', RmError.MSG_INVALID]] },
  ),
  noData('VM_SET_FIRMWARE_MEM'),
  hypErrorData('VM_SET_FIRMWARE_MEM'),
);

/** Every §2.2 request, in the spec's order. */
export const VM_MESSAGES = [
  vmAllocateMsg,
  vmDeallocateMsg,
  vmConfigImageMsg,
  vmAuthImageMsg,
  vmInitMsg,
  vmStartMsg,
  vmStopMsg,
  vmResetMsg,
  vmExitMsg,
  vmGetStateMsg,
  vmSetStatusMsg,
  vmGetVmidMsg,
  vmGetOwnerMsg,
  vmGetPeersMsg,
  vmHostGetTypeMsg,
  vmGetIdMsg,
  vmLookupUriMsg,
  vmLookupGuidMsg,
  vmLookupNameMsg,
  vmSetCrashMsgMsg,
  vmGetCrashMsgMsg,
  vmSetTimeBaseMsg,
  vmSetFirmwareMemMsg,
] as const;
