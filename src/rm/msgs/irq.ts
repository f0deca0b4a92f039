// IRQ lending (resource-manager-protocol.md §2.7): LEND, NOTIFY, ACCEPT, RELEASE, RECLAIM and the
// three notifications the RM sends for them.
//
// Left to the handler (the spec ties them to the lend's state or parties): the borrower named in
// a LENT notify list must be the lend's borrower; who may send which flag.

import { MsgId, RmError } from '../rpc/index.js';
import { checkUint, concat, decoded, fail, notificationOf, request, struct, u32Value, type Codec } from './codec.js';
import { noData, vmidEntry } from './vm.js';

/** VM_IRQ_ACCEPT's virq meaning "the RM chooses" (it then uses the hardware IRQ number). */
export const IRQ_ACCEPT_ANY = 0xffff_ffff;

/** VM_IRQ_NOTIFY flags: one value per message. */
export const IrqNotifyFlag = { LENT: 1, RELEASED: 2, ACCEPTED: 4 } as const;

/** VM_IRQ_LEND: 12 bytes `{u16 borrower; u16 pad; u32 virq (the owner's); u32 label}`; reply `{u32 handle}`. */
export interface VmIrqLendRequest {
  readonly borrower: number;
  readonly virq: number;
  readonly label: number;
}
export const vmIrqLendMsg = request(
  MsgId.VM_IRQ_LEND,
  'VM_IRQ_LEND',
  struct<VmIrqLendRequest>('VM_IRQ_LEND request', 12, { borrower: [0, 'u16'], virq: [4, 'u32'], label: [8, 'u32'] }),
  u32Value('VM_IRQ_LEND reply'),
);

/** VM_IRQ_ACCEPT: 8 bytes `{u32 handle; u32 virq}`; reply `{u32 virq}` (the one chosen). */
export interface VmIrqAcceptRequest {
  readonly handle: number;
  readonly virq: number;
}
export const vmIrqAcceptMsg = request(
  MsgId.VM_IRQ_ACCEPT,
  'VM_IRQ_ACCEPT',
  struct<VmIrqAcceptRequest>('VM_IRQ_ACCEPT request', 8, { handle: [0, 'u32'], virq: [4, 'u32'] }),
  u32Value('VM_IRQ_ACCEPT reply'),
);

/** VM_IRQ_RELEASE (borrower) and VM_IRQ_RECLAIM (owner): 4 bytes `{u32 handle}`. */
export interface IrqHandleRequest {
  readonly handle: number;
}
export const vmIrqReleaseMsg = request(
  MsgId.VM_IRQ_RELEASE,
  'VM_IRQ_RELEASE',
  struct<IrqHandleRequest>('VM_IRQ_RELEASE request', 4, { handle: [0, 'u32'] }),
  noData('VM_IRQ_RELEASE'),
);
export const vmIrqReclaimMsg = request(
  MsgId.VM_IRQ_RECLAIM,
  'VM_IRQ_RECLAIM',
  struct<IrqHandleRequest>('VM_IRQ_RECLAIM request', 4, { handle: [0, 'u32'] }),
  noData('VM_IRQ_RECLAIM'),
);

// ---------------------------------------------------------------------------- VM_IRQ_NOTIFY

/**
 * VM_IRQ_NOTIFY: `{u32 handle; u32 flags}`, and for LENT optionally `{u16 n; u16 pad; n × {u16 vmid;
 * u16 pad}}` with n ≤ 1. `borrowers` is present exactly when the list is.
 */
export interface VmIrqNotifyRequest {
  readonly handle: number;
  readonly flags: number;
  readonly borrowers?: readonly number[];
}

/** Most VMIDs a LENT notify list may name. */
export const IRQ_NOTIFY_MAX_VMIDS = 1;

const NAME = 'VM_IRQ_NOTIFY request';

/**
 * Decoding, in this order: under 8 bytes → MSG_INVALID [infer: the fixed part]; flags other than
 * LENT with any length but 8 → MSG_INVALID; a flags value that is none of 1/2/4 → ARGUMENT_INVALID;
 * a LENT list that is truncated, has n > 1, or leaves bytes after it → ARGUMENT_INVALID (the spec's
 * "bad notify list"; exact fill is [infer]). The spec does not order these against the handle
 * lookup; we check the bytes first.
 */
const vmIrqNotifyRequest: Codec<VmIrqNotifyRequest> = {
  name: NAME,
  encode(v) {
    checkUint(`${NAME}: handle`, 'u32', v.handle);
    checkUint(`${NAME}: flags`, 'u32', v.flags);
    const head = new Uint8Array(8);
    const dv = new DataView(head.buffer);
    dv.setUint32(0, v.handle, true);
    dv.setUint32(4, v.flags, true);
    if (v.borrowers === undefined) return head;
    checkUint(`${NAME}: list count`, 'u16', v.borrowers.length);
    const list = new Uint8Array(4);
    new DataView(list.buffer).setUint16(0, v.borrowers.length, true);
    return concat([head, list, ...v.borrowers.map((vmid) => vmidEntry.encode({ vmid }))]);
  },
  decode(b) {
    if (b.length < 8) return fail(RmError.MSG_INVALID, `${NAME}: ${b.length} bytes, need at least 8`);
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const handle = dv.getUint32(0, true);
    const flags = dv.getUint32(4, true);
    if (flags !== IrqNotifyFlag.LENT && b.length !== 8) {
      return fail(RmError.MSG_INVALID, `${NAME}: ${b.length} bytes with flags ${flags}, expected 8`);
    }
    if (flags !== IrqNotifyFlag.LENT && flags !== IrqNotifyFlag.RELEASED && flags !== IrqNotifyFlag.ACCEPTED) {
      return fail(RmError.ARGUMENT_INVALID, `${NAME}: flags ${flags} is not 1, 2 or 4`);
    }
    if (b.length === 8) return decoded({ handle, flags });
    if (b.length < 12) return fail(RmError.ARGUMENT_INVALID, `${NAME}: list header truncated`);
    const n = dv.getUint16(8, true);
    if (n > IRQ_NOTIFY_MAX_VMIDS) return fail(RmError.ARGUMENT_INVALID, `${NAME}: ${n} VMIDs, at most 1`);
    if (b.length !== 12 + 4 * n) {
      return fail(RmError.ARGUMENT_INVALID, `${NAME}: a ${n}-VMID list needs ${12 + 4 * n} bytes, got ${b.length}`);
    }
    const borrowers = n === 0 ? [] : [dv.getUint16(12, true)];
    return decoded({ handle, flags, borrowers });
  },
};
export const vmIrqNotifyMsg = request(
  MsgId.VM_IRQ_NOTIFY,
  'VM_IRQ_NOTIFY',
  vmIrqNotifyRequest,
  noData('VM_IRQ_NOTIFY'),
);

// ---------------------------------------------------------------------------- notifications

/** NOTIFY_VM_IRQ_LENT (to the borrower): 12 bytes `{u16 owner; u16 pad; u32 handle; u32 label}`. */
export interface VmIrqLentNotification {
  readonly owner: number;
  readonly handle: number;
  readonly label: number;
}
export const vmIrqLentNotification = notificationOf(
  MsgId.NOTIFY_VM_IRQ_LENT,
  'NOTIFY_VM_IRQ_LENT',
  struct<VmIrqLentNotification>('NOTIFY_VM_IRQ_LENT notification', 12, {
    owner: [0, 'u16'],
    handle: [4, 'u32'],
    label: [8, 'u32'],
  }),
);

/** NOTIFY_VM_IRQ_RELEASED / _ACCEPTED (to the owner): `{u32 handle}`. */
export interface IrqHandleNotification {
  readonly handle: number;
}
export const vmIrqReleasedNotification = notificationOf(
  MsgId.NOTIFY_VM_IRQ_RELEASED,
  'NOTIFY_VM_IRQ_RELEASED',
  struct<IrqHandleNotification>('NOTIFY_VM_IRQ_RELEASED notification', 4, { handle: [0, 'u32'] }),
);
export const vmIrqAcceptedNotification = notificationOf(
  MsgId.NOTIFY_VM_IRQ_ACCEPTED,
  'NOTIFY_VM_IRQ_ACCEPTED',
  struct<IrqHandleNotification>('NOTIFY_VM_IRQ_ACCEPTED notification', 4, { handle: [0, 'u32'] }),
);
