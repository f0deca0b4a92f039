// The RM RPC message-ID table (resource-manager-protocol.md §2.1, notifications §2.4) as data: every
// ID with its name, whether it is a request (client → RM) or a notification (RM → client), whether
// the public RM drop (bf31a9a) implements it and who uses it, so the RM, the client library and
// traces all name messages the same way. Shared ABI module; it imports nothing.
//
// Families: VM management 0x560000xx, its notifications 0x5610xxxx; memory 0x510000xx, its
// notifications 0x5110xxxx. Message ID 0 is never used (Linux reserves it).

/** Request: a client sends it as REQUEST and gets one REPLY. Notification: RM → client, no reply. */
export type MsgKind = 'request' | 'notification';

export interface MessageRow {
  readonly id: number;
  /** The spec's name (§2.1). */
  readonly name: string;
  readonly kind: MsgKind;
  /** Handled by the public RM drop (for notifications: the RM sends it). */
  readonly implemented: boolean;
  /** Who uses it, as §2.1 says (LNX, ACK, downstream, guest…); empty when the spec names no one. */
  readonly usedBy: string;
  /** Other names the same ID goes by (Linux's, or the RM's when the spec leads with Linux's). */
  readonly aka?: readonly string[];
  /** §2.1's remark on the row, kept verbatim in substance, including its uncertainty markers. */
  readonly note?: string;
}

interface Extra {
  readonly aka?: readonly string[];
  readonly note?: string;
}

const req = <N extends string>(id: number, name: N, implemented: boolean, usedBy: string, extra: Extra = {}) =>
  ({ id, name, kind: 'request', implemented, usedBy, ...extra }) as const;
const ntf = <N extends string>(id: number, name: N, usedBy: string, extra: Extra = {}) =>
  ({ id, name, kind: 'notification', implemented: true, usedBy, ...extra }) as const;

/** §2.1 and §2.4, in the spec's order. */
const ROWS = [
  // VM management
  req(0x5600_0001, 'VM_ALLOCATE', true, 'LNX, ACK', { aka: ['VM_ALLOC_VMID'] }),
  req(0x5600_0002, 'VM_DEALLOCATE', true, 'LNX, ACK', { aka: ['VM_DEALLOC_VMID'] }),
  req(0x5600_0004, 'VM_START', true, 'LNX, ACK'),
  req(0x5600_0005, 'VM_STOP', true, 'LNX, ACK'),
  req(0x5600_0006, 'VM_RESET', true, 'LNX, ACK'),
  req(0x5600_0007, 'VM_SUSPEND', false, '', { note: 'commented out in the public RM' }),
  req(0x5600_0008, 'VM_RESUME', false, '', { note: 'commented out in the public RM' }),
  req(0x5600_0009, 'VM_CONFIG_IMAGE', true, 'LNX, ACK'),
  req(0x5600_000a, 'VM_AUTH_IMAGE', true, '', { note: 'platform auth only' }),
  req(0x5600_000b, 'VM_INIT', true, 'LNX, ACK'),
  req(0x5600_0010, 'VM_GET_ID', true, 'downstream'),
  req(0x5600_0011, 'VM_LOOKUP_URI', true, 'downstream'),
  req(0x5600_0012, 'VM_LOOKUP_GUID', true, 'downstream'),
  req(0x5600_0013, 'VM_LOOKUP_NAME', true, 'downstream'),
  req(0x5600_0015, 'VM_GET_OWNER', true, 'downstream'),
  req(0x5600_0017, 'VM_GET_STATE', true, 'downstream'),
  req(0x5600_0019, 'VM_GET_CRASH_MSG', true, 'downstream'),
  req(0x5600_0020, 'VM_GET_HYP_RESOURCES', true, 'LNX, ACK'),
  req(0x5600_0021, 'VM_GET_HYP_CAPIDS', false, '', { note: 'the public RM answers UNIMPLEMENTED' }),
  req(0x5600_0022, 'VM_GET_HYP_IRQS', false, ''),
  req(0x5600_0024, 'VM_GET_VMID', true, 'LNX, ACK'),
  req(0x5600_0025, 'VM_GET_PEERS', true, 'downstream'),
  req(0x5600_0030, 'VM_SET_TIME_BASE', true, 'downstream'),
  req(0x5600_0031, 'VM_SET_BOOT_CONTEXT', false, 'LNX, ACK (if the VMM sets boot registers)', {
    aka: ['VM_SET_CONTEXT'],
    note: 'ID only in the public RM (its name there: VM_SET_CONTEXT); semantics are client-defined (§2.6)',
  }),
  req(0x5600_0032, 'VM_SET_FIRMWARE_MEM', true, 'ACK (Android pVM firmware)'),
  req(0x5600_0033, 'VM_SET_DEMAND_PAGING', false, 'LNX', { note: 'not in the public RM; client-defined (§2.6)' }),
  req(0x5600_0034, 'VM_SET_ADDRESS_LAYOUT', false, 'LNX', { note: 'not in the public RM; client-defined (§2.6)' }),
  req(0x5600_0050, 'VM_IRQ_ACCEPT', true, 'downstream'),
  req(0x5600_0051, 'VM_IRQ_LEND', true, 'downstream'),
  req(0x5600_0052, 'VM_IRQ_RELEASE', true, 'downstream'),
  req(0x5600_0053, 'VM_IRQ_RECLAIM', true, 'downstream'),
  req(0x5600_0054, 'VM_IRQ_NOTIFY', true, 'downstream'),
  req(0x5600_0055, 'VM_IRQ_UNMAP', false, ''),
  req(0x5600_0080, 'VM_SET_STATUS', true, 'guest', { note: 'a guest reports its OS/app status' }),
  req(0x5600_0081, 'VM_CONSOLE_OPEN', true, 'downstream'),
  req(0x5600_0082, 'VM_CONSOLE_CLOSE', true, 'downstream'),
  req(0x5600_0083, 'VM_CONSOLE_WRITE', true, 'downstream'),
  req(0x5600_0084, 'VM_CONSOLE_FLUSH', true, 'downstream'),
  req(0x5600_0085, 'VM_EXIT', true, 'guest', { note: 'a guest requests its own exit' }),
  req(0x5600_0086, 'VM_SET_CRASH_MSG', true, 'guest'),
  req(0x5600_00a0, 'VM_HOST_GET_TYPE', true, 'downstream'),
  req(0x5600_00b0, 'IPA_RESERVE', true, 'downstream'),
  req(0x5600_00b1, 'IPA_UNRESERVE', false, ''),
  // Memory
  req(0x5100_0010, 'MEM_DONATE', true, ''),
  req(0x5100_0011, 'MEM_ACCEPT', true, 'guests'),
  req(0x5100_0012, 'MEM_LEND', true, 'LNX, ACK'),
  req(0x5100_0013, 'MEM_SHARE', true, 'LNX, ACK'),
  req(0x5100_0014, 'MEM_RELEASE', true, 'guests'),
  req(0x5100_0015, 'MEM_RECLAIM', true, 'LNX, ACK'),
  req(0x5100_0017, 'MEM_NOTIFY', true, 'downstream'),
  req(0x5100_0018, 'MEM_APPEND', true, 'LNX'),
  req(0x5100_001a, 'MEM_QCOM_LOOKUP_SGL', true, 'QC downstream'),
  req(0x5100_0020, 'FW_MILESTONE', true, 'downstream [?]', { note: 'generic handler, HLOS only; user uncertain [?]' }),
  req(0x5100_0021, 'FW_SET_VM_FIRMWARE', true, 'downstream [?]', {
    note: 'generic handler, HLOS only; Android-pVM firmware; user uncertain [?]',
  }),
  // Notifications (§2.4, §2.7, §2.8)
  ntf(0x5610_0001, 'NOTIFY_VM_EXITED', 'LNX, ACK'),
  ntf(0x5610_0002, 'NOTIFY_VM_SHUTDOWN', 'guest', { note: 'sent to the guest' }),
  ntf(0x5610_0008, 'NOTIFY_VM_STATUS', 'LNX, ACK'),
  ntf(0x5610_0011, 'NOTIFY_VM_IRQ_LENT', ''),
  ntf(0x5610_0012, 'NOTIFY_VM_IRQ_RELEASED', ''),
  ntf(0x5610_0013, 'NOTIFY_VM_IRQ_ACCEPTED', ''),
  ntf(0x5610_0080, 'NOTIFY_VM_CONSOLE_CHARS', ''),
  ntf(0x5110_0011, 'MEM_SHARED', 'guests'),
  ntf(0x5110_0012, 'MEM_RELEASED', '', { note: 'sent to the owner' }),
  ntf(0x5110_0013, 'MEM_ACCEPTED', '', { note: 'sent to the owner' }),
  ntf(0x5110_0014, 'MEM_RECALL', '', { note: 'sent to the borrowers' }),
] as const;

/** Every row of §2.1/§2.4. */
export const MESSAGES: readonly MessageRow[] = ROWS;

type Row = (typeof ROWS)[number];
export type MessageName = Row['name'];

/** Message IDs by name: `MsgId.VM_ALLOCATE` = 0x56000001. */
export const MsgId = Object.freeze(Object.fromEntries(ROWS.map((r) => [r.name, r.id]))) as {
  readonly [R in Row as R['name']]: number;
};

const BY_ID = new Map<number, MessageRow>(ROWS.map((r) => [r.id, r]));

/** The table row of a message ID, or undefined for an ID the spec does not list. */
export function messageInfo(id: number): MessageRow | undefined {
  return BY_ID.get(id >>> 0);
}

/** The message's name for traces and errors: the spec's name, or `message 0x…` for unknown IDs. */
export function messageName(id: number): string {
  return BY_ID.get(id >>> 0)?.name ?? `message 0x${(id >>> 0).toString(16).padStart(8, '0')}`;
}
