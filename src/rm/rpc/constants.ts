// RM RPC wire constants (resource-manager-protocol.md §1.2–§1.6) as data: the packet header
// fields, message types, packet and payload sizes, the message-size limits of the two ends, and
// the RM error codes with their names. Shared ABI module: the RM, the client library (vmm/) and
// the trace exporters import it; it imports nothing.

// ------------------------------------------------------------------------------ header (§1.3)

/** API version, header byte 0 bits 3:0. */
export const RPC_API_VERSION = 1;
/** Header length in 32-bit words, header byte 0 bits 7:4. */
export const RPC_HEADER_WORDS = 2;
/** Byte 0 of every valid header: header words in the high nibble, API version in the low one. */
export const RPC_HEADER_BYTE0 = (RPC_HEADER_WORDS << 4) | RPC_API_VERSION; // 0x21
/** Header size in bytes. */
export const RPC_HEADER_SIZE = RPC_HEADER_WORDS * 4; // 8

/** Byte 1 bits 1:0: the message type. */
export const RPC_TYPE_MASK = 0x3;
/** Byte 1 bits 7:2: the fragment count (continuation packets after the first). */
export const RPC_FRAGMENTS_SHIFT = 2;
export const RPC_FRAGMENTS_MASK = 0x3f;

/** Message types (header byte 1 bits 1:0). */
export const MsgType = {
  CONTINUATION: 0,
  REQUEST: 1,
  REPLY: 2,
  NOTIFICATION: 3,
} as const;
export type MsgType = (typeof MsgType)[keyof typeof MsgType];
/** The type of a message's first packet (a continuation never starts one). */
export type FirstMsgType = Exclude<MsgType, typeof MsgType.CONTINUATION>;

const TYPE_NAMES = ['CONTINUATION', 'REQUEST', 'REPLY', 'NOTIFICATION'] as const;

/** The message type's name as the spec spells it, or `type N`. */
export function msgTypeName(t: number): string {
  return TYPE_NAMES[t] ?? `type ${t}`;
}

// ------------------------------------------------------------------- sizes and limits (§1.2, §1.4)

/** Largest message-queue message, i.e. the largest packet (both RM links are created with it). */
export const RPC_PACKET_SIZE = 240;
/** Payload bytes per packet: 240 − 8. */
export const RPC_PAYLOAD_PER_PACKET = RPC_PACKET_SIZE - RPC_HEADER_SIZE; // 232
/** Largest fragment count a receiver accepts (the 6-bit field could say 63). */
export const RPC_MAX_FRAGMENTS = 62;
/** Most packets one message may take: the first plus 62 continuations. */
export const RPC_MAX_PACKETS = RPC_MAX_FRAGMENTS + 1; // 63
/** The RM's limit: it refuses to send a message larger than 63 × 232 bytes. */
export const RPC_MAX_PAYLOAD_RM = RPC_MAX_PACKETS * RPC_PAYLOAD_PER_PACKET; // 14 616
/**
 * Linux's limit: it refuses to send more than 62 × 232 bytes (it multiplies its fragment limit,
 * not its packet limit, by the payload size), so a Linux client never sends a 63-packet message.
 */
export const RPC_MAX_PAYLOAD_LINUX = RPC_MAX_FRAGMENTS * RPC_PAYLOAD_PER_PACKET; // 14 384

/** Message-queue send flag bit 0: raise the receiver's interrupt now (Linux: last fragment only). */
export const MSGQ_TX_FLAG_PUSH = 1;

// ------------------------------------------------------------------------ RM error codes (§1.6)

/** RM error codes (u32, the first word of every reply payload). */
export const RmError = {
  OK: 0x0,
  NOMEM: 0x1,
  NORESOURCE: 0x2,
  DENIED: 0x3,
  MSG_INVALID: 0x4,
  BUSY: 0x5,
  ARGUMENT_INVALID: 0x6,
  HANDLE_INVALID: 0x7,
  VALIDATE_FAILED: 0x8,
  MAP_FAILED: 0x9,
  MEM_INVALID: 0xa,
  MEM_INUSE: 0xb,
  MEM_RELEASED: 0xc,
  VMID_INVALID: 0xd,
  LOOKUP_FAILED: 0xe,
  IRQ_INVALID: 0xf,
  IRQ_INUSE: 0x10,
  IRQ_RELEASED: 0x11,
  IN_USE: 0x12,
  IRQ_NOT_MAPPED: 0x13,
  VM_STATE: 0x14,
  UNIMPLEMENTED: 0xffff_ffff,
} as const;
export type RmErrorCode = (typeof RmError)[keyof typeof RmError];
export type RmErrorName = keyof typeof RmError;

/** The errno (positive spelling) Linux's driver turns an RM error into; `null` for OK (Linux returns 0). */
export type LinuxErrno = 'ENOMEM' | 'ENODEV' | 'EPERM' | 'EINVAL' | 'EBUSY' | 'EBADMSG' | 'EOPNOTSUPP';

/** One row of §1.6: the code, the RM's name, Linux's name if it differs, and Linux's errno. */
export interface RmErrorRow {
  readonly code: RmErrorCode;
  readonly name: RmErrorName;
  /** Linux's name for the code when it differs from the RM's. */
  readonly linuxName?: string;
  /** What Linux returns for it (negated in the kernel); null = success. */
  readonly linuxErrno: LinuxErrno | null;
  /** Known to the RM only: Linux has no name for it and maps it to EBADMSG like any unknown code. */
  readonly rmOnly?: boolean;
}

const errRow = (name: RmErrorName, linuxErrno: LinuxErrno | null, extra: Partial<RmErrorRow> = {}): RmErrorRow => ({
  code: RmError[name],
  name,
  linuxErrno,
  ...extra,
});

/** §1.6, in table order. */
export const RM_ERRORS: readonly RmErrorRow[] = [
  errRow('OK', null),
  errRow('NOMEM', 'ENOMEM'),
  errRow('NORESOURCE', 'ENODEV'),
  errRow('DENIED', 'EPERM'),
  errRow('MSG_INVALID', 'EINVAL', { linuxName: 'INVALID' }),
  errRow('BUSY', 'EBUSY'),
  errRow('ARGUMENT_INVALID', 'EINVAL'),
  errRow('HANDLE_INVALID', 'EINVAL'),
  errRow('VALIDATE_FAILED', 'EINVAL'),
  errRow('MAP_FAILED', 'EINVAL'),
  errRow('MEM_INVALID', 'EINVAL'),
  errRow('MEM_INUSE', 'EINVAL'),
  errRow('MEM_RELEASED', 'EINVAL'),
  errRow('VMID_INVALID', 'EINVAL'),
  errRow('LOOKUP_FAILED', 'EINVAL'),
  errRow('IRQ_INVALID', 'EINVAL'),
  errRow('IRQ_INUSE', 'EINVAL'),
  errRow('IRQ_RELEASED', 'EINVAL'),
  errRow('IN_USE', 'EBADMSG', { rmOnly: true }),
  errRow('IRQ_NOT_MAPPED', 'EBADMSG', { rmOnly: true }),
  errRow('VM_STATE', 'EBADMSG', { rmOnly: true }),
  errRow('UNIMPLEMENTED', 'EOPNOTSUPP'),
];

const ERROR_BY_CODE = new Map<number, RmErrorRow>(RM_ERRORS.map((r) => [r.code, r]));

/** The RM error's name (§1.6), or `RM error 0x…` for a code the table does not know. */
export function rmErrorName(code: number): string {
  return ERROR_BY_CODE.get(code)?.name ?? `RM error 0x${(code >>> 0).toString(16)}`;
}

/** Linux's errno for an RM error code: codes outside its table (the RM-only ones too) give EBADMSG. */
export function rmErrorLinuxErrno(code: number): LinuxErrno | null {
  const row = ERROR_BY_CODE.get(code);
  return row === undefined ? 'EBADMSG' : row.linuxErrno;
}
