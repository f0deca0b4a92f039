// Typed payloads of every RM message (resource-manager-protocol.md §2): one module per spec section,
// and the tables that find a message's codecs by ID (for the RM's dispatch, the client library and
// traces). Shared ABI module: it imports only the wire format (../rpc).
//
// Messages without a layout in the spec are not here: VM_SUSPEND/RESUME (commented out in the
// RM), VM_GET_HYP_CAPIDS/_IRQS, VM_IRQ_UNMAP and IPA_UNRESERVE (answered UNIMPLEMENTED).

import type { RpcMessage } from '../rpc/index.js';
import type { NotificationMessage, RequestMessage } from './codec.js';
import * as vm from './vm.js';
import { vmGetHypResourcesMsg } from './hyp-resources.js';
import { vmExitedNotification, vmShutdownNotification, vmStatusNotification } from './vm-notify.js';
import {
  vmConsoleCharsNotification,
  vmConsoleCloseMsg,
  vmConsoleFlushMsg,
  vmConsoleOpenMsg,
  vmConsoleWriteMsg,
} from './console.js';
import { vmSetAddressLayoutMsg, vmSetBootContextMsg, vmSetDemandPagingMsg } from './vm-setup.js';
import {
  vmIrqAcceptMsg,
  vmIrqAcceptedNotification,
  vmIrqLendMsg,
  vmIrqLentNotification,
  vmIrqNotifyMsg,
  vmIrqReclaimMsg,
  vmIrqReleaseMsg,
  vmIrqReleasedNotification,
} from './irq.js';
import {
  memAcceptMsg,
  memAcceptedNotification,
  memAppendMsg,
  memDonateMsg,
  memLendMsg,
  memLookupSglMsg,
  memNotifyMsg,
  memReclaimMsg,
  memRecallNotification,
  memReleaseMsg,
  memReleasedNotification,
  memShareMsg,
  memSharedNotification,
} from './memparcel.js';
import { fwMilestoneMsg, fwSetVmFirmwareMsg, ipaReserveMsg } from './platform.js';

export * from './codec.js';
export * from './vm.js';
export * from './hyp-resources.js';
export * from './vm-notify.js';
export * from './console.js';
export * from './vm-setup.js';
export * from './irq.js';
export * from './memparcel.js';
export * from './platform.js';

/** A request descriptor with its types erased (for tables). */
export type AnyRequestMessage = RequestMessage<unknown, unknown>;

/** Every request with a layout, in the order of §2.2–§2.9. */
export const REQUEST_MESSAGES: readonly AnyRequestMessage[] = [
  ...vm.VM_MESSAGES,
  vmGetHypResourcesMsg,
  vmConsoleOpenMsg,
  vmConsoleCloseMsg,
  vmConsoleWriteMsg,
  vmConsoleFlushMsg,
  vmSetBootContextMsg,
  vmSetDemandPagingMsg,
  vmSetAddressLayoutMsg,
  vmIrqLendMsg,
  vmIrqNotifyMsg,
  vmIrqAcceptMsg,
  vmIrqReleaseMsg,
  vmIrqReclaimMsg,
  memDonateMsg,
  memLendMsg,
  memShareMsg,
  memAppendMsg,
  memAcceptMsg,
  memReleaseMsg,
  memReclaimMsg,
  memNotifyMsg,
  memLookupSglMsg,
  ipaReserveMsg,
  fwMilestoneMsg,
  fwSetVmFirmwareMsg,
];

/** Every notification, by name (§2.4, §2.7, §2.8). */
export const NOTIFICATIONS = {
  NOTIFY_VM_EXITED: vmExitedNotification,
  NOTIFY_VM_SHUTDOWN: vmShutdownNotification,
  NOTIFY_VM_STATUS: vmStatusNotification,
  NOTIFY_VM_IRQ_LENT: vmIrqLentNotification,
  NOTIFY_VM_IRQ_RELEASED: vmIrqReleasedNotification,
  NOTIFY_VM_IRQ_ACCEPTED: vmIrqAcceptedNotification,
  NOTIFY_VM_CONSOLE_CHARS: vmConsoleCharsNotification,
  MEM_SHARED: memSharedNotification,
  MEM_RELEASED: memReleasedNotification,
  MEM_ACCEPTED: memAcceptedNotification,
  MEM_RECALL: memRecallNotification,
} as const;

export type NotificationName = keyof typeof NOTIFICATIONS;
type NotificationValue<K extends NotificationName> =
  (typeof NOTIFICATIONS)[K] extends NotificationMessage<infer T> ? T : never;

/** A notification decoded to its typed payload. */
export type TypedNotification = {
  [K in NotificationName]: { readonly name: K; readonly seq: number; readonly value: NotificationValue<K> };
}[NotificationName];

/** What a client makes of a notification: typed, or why not (it then drops it). */
export type DecodedNotification =
  | TypedNotification
  | { readonly name: 'unknown'; readonly msgId: number; readonly seq: number; readonly payload: Uint8Array }
  | {
      readonly name: 'malformed';
      /** The notification's own name. */
      readonly of: NotificationName;
      readonly seq: number;
      readonly payload: Uint8Array;
      readonly detail: string;
    };

const REQUEST_BY_ID = new Map<number, AnyRequestMessage>(REQUEST_MESSAGES.map((m) => [m.id, m]));
const NOTIFICATION_BY_ID = new Map<number, NotificationName>(
  (Object.keys(NOTIFICATIONS) as NotificationName[]).map((k) => [NOTIFICATIONS[k].id, k]),
);

/** The request descriptor of a message ID, or undefined (no layout, or not a request). */
export function requestMessage(msgId: number): AnyRequestMessage | undefined {
  return REQUEST_BY_ID.get(msgId >>> 0);
}

/** Decodes a NOTIFICATION message's payload by its ID. Never throws. */
export function decodeNotification(m: Pick<RpcMessage, 'msgId' | 'seq' | 'payload'>): DecodedNotification {
  const name = NOTIFICATION_BY_ID.get(m.msgId >>> 0);
  if (name === undefined) return { name: 'unknown', msgId: m.msgId, seq: m.seq, payload: m.payload };
  const d = (NOTIFICATIONS[name] as NotificationMessage<unknown>).payload.decode(m.payload);
  if (!d.ok) return { name: 'malformed', of: name, seq: m.seq, payload: m.payload, detail: d.detail };
  return { name, seq: m.seq, value: d.value } as TypedNotification;
}
