// The VM notifications the RM sends (resource-manager-protocol.md §2.4): NOTIFY_VM_STATUS,
// NOTIFY_VM_EXITED with its exit reason words, NOTIFY_VM_SHUTDOWN. (NOTIFY_VM_CONSOLE_CHARS, also
// listed in §2.4, is with the console messages in console.ts.)
//
// These payloads are decoded by clients, so a decode error there is a malformed notification the
// client drops; its code (MSG_INVALID) only says what kind of fault it is.

import { MsgId, RmError } from '../rpc/index.js';
import { checkUint, concat, decoded, fail, notificationOf, struct, type Codec } from './codec.js';

// -------------------------------------------------------------------------- VM_STATUS

/** NOTIFY_VM_STATUS: `{u16 vmid; u16 res; u8 vm_status; u8 os_status; u16 app_status}`, 8 bytes. */
export interface VmStatusNotification {
  readonly vmid: number;
  readonly vmStatus: number;
  readonly osStatus: number;
  readonly appStatus: number;
}
export const vmStatusNotification = notificationOf(
  MsgId.NOTIFY_VM_STATUS,
  'NOTIFY_VM_STATUS',
  struct<VmStatusNotification>('NOTIFY_VM_STATUS notification', 8, {
    vmid: [0, 'u16'],
    vmStatus: [4, 'u8'],
    osStatus: [5, 'u8'],
    appStatus: [6, 'u16'],
  }),
);

// -------------------------------------------------------------------------- VM_EXITED

/** exit_type values (§2.4). */
export const ExitType = {
  VM_EXIT: 0,
  PLATFORM_OFF: 1,
  PLATFORM_RESET: 2,
  PSCI_SYSTEM_RESET2: 3,
  WATCHDOG_BITE: 4,
  SOFTWARE_ERROR: 5,
  ASYNC_HW_ERROR: 6,
  VM_STOP_FORCED: 7,
} as const;

/** exit_flags bit 15 in a SYSTEM_RESET2 reason: the PSCI call was the 64-bit one. */
export const EXIT_FLAG_RESET2_64BIT = 0x8000;

/**
 * NOTIFY_VM_EXITED: `{u16 vmid; u16 exit_type; u32 reason_size; u8 reason[reason_size]}`, exactly
 * 8 + reason_size bytes. The reason stays raw bytes here (Linux keeps at most 8 of them);
 * `exitReason` reads its words.
 */
export interface VmExitedNotification {
  readonly vmid: number;
  readonly exitType: number;
  readonly reason: Uint8Array;
}

const vmExitedPayload: Codec<VmExitedNotification> = {
  name: 'NOTIFY_VM_EXITED notification',
  encode(v) {
    checkUint('NOTIFY_VM_EXITED: vmid', 'u16', v.vmid);
    checkUint('NOTIFY_VM_EXITED: exit_type', 'u16', v.exitType);
    const head = new Uint8Array(8);
    const dv = new DataView(head.buffer);
    dv.setUint16(0, v.vmid, true);
    dv.setUint16(2, v.exitType, true);
    dv.setUint32(4, v.reason.length, true);
    return concat([head, v.reason]);
  },
  decode(b) {
    if (b.length < 8) return fail(RmError.MSG_INVALID, `NOTIFY_VM_EXITED: ${b.length} bytes, need at least 8`);
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const size = dv.getUint32(4, true);
    if (b.length !== 8 + size) {
      return fail(
        RmError.MSG_INVALID,
        `NOTIFY_VM_EXITED: reason_size ${size} needs ${8 + size} bytes, got ${b.length}`,
      );
    }
    return decoded({ vmid: dv.getUint16(0, true), exitType: dv.getUint16(2, true), reason: b.slice(8) });
  },
};
export const vmExitedNotification = notificationOf(MsgId.NOTIFY_VM_EXITED, 'NOTIFY_VM_EXITED', vmExitedPayload);

/** The words of an exit reason (§2.4). */
export interface ExitReason {
  /** Low 16 bits of word 0. */
  readonly exitFlags: number;
  /** Bits 16..31 of word 0. */
  readonly exitCode: number;
  /** For PSCI SYSTEM_RESET2 exits (16-byte reasons): words 1..3. */
  readonly reset2?: { readonly resetType: number; readonly cookie: bigint };
}

/**
 * Reads an exit reason: word 0 = exit_flags | exit_code << 16; a 16-byte reason adds reset_type and
 * the cookie's low and high words. Null if the reason is neither 4 nor 16 bytes (the sizes the RM
 * sends).
 */
export function exitReason(reason: Uint8Array): ExitReason | null {
  if (reason.length !== 4 && reason.length !== 16) return null;
  const dv = new DataView(reason.buffer, reason.byteOffset, reason.byteLength);
  const w0 = dv.getUint32(0, true);
  const base = { exitFlags: w0 & 0xffff, exitCode: w0 >>> 16 };
  if (reason.length === 4) return base;
  const cookie = BigInt(dv.getUint32(8, true)) | (BigInt(dv.getUint32(12, true)) << 32n);
  return { ...base, reset2: { resetType: dv.getUint32(4, true), cookie } };
}

/** The reason bytes for `r` (the inverse of exitReason). */
export function encodeExitReason(r: ExitReason): Uint8Array {
  checkUint('exit reason: exit_flags', 'u16', r.exitFlags);
  checkUint('exit reason: exit_code', 'u16', r.exitCode);
  const out = new Uint8Array(r.reset2 ? 16 : 4);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, (r.exitFlags | (r.exitCode << 16)) >>> 0, true);
  if (r.reset2) {
    checkUint('exit reason: reset_type', 'u32', r.reset2.resetType);
    checkUint('exit reason: cookie', 'u64', r.reset2.cookie);
    dv.setUint32(4, r.reset2.resetType, true);
    dv.setBigUint64(8, r.reset2.cookie, true);
  }
  return out;
}

// ------------------------------------------------------------------------- VM_SHUTDOWN

/** NOTIFY_VM_SHUTDOWN (to the guest): `{u32 stop_reason}`. */
export interface VmShutdownNotification {
  readonly stopReason: number;
}
export const vmShutdownNotification = notificationOf(
  MsgId.NOTIFY_VM_SHUTDOWN,
  'NOTIFY_VM_SHUTDOWN',
  struct<VmShutdownNotification>('NOTIFY_VM_SHUTDOWN notification', 4, { stopReason: [0, 'u32'] }),
);
