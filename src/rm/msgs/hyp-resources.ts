// VM_GET_HYP_RESOURCES (resource-manager-protocol.md §2.3): the common VMID request, and the reply
// `{u32 n; n × 44-byte entry}` that Linux accepts only when it is exactly 4 + 44·n bytes after the
// error word. The entry is packed: its capability ID is a u64 at offset 12 and base and size u64s
// at 28 and 36, none 8-byte aligned.

import { MsgId } from '../rpc/index.js';
import { decoded, readCounted, request, struct, writeCounted, type Codec } from './codec.js';
import { vmidRequest } from './vm.js';

/** Resource types (§2.3); 9 and 10 are the newest Linux's, not the public RM's. */
export const HypResourceType = {
  DOORBELL_SRC: 0,
  DOORBELL: 1,
  MSG_QUEUE_SEND: 2,
  MSG_QUEUE_RECV: 3,
  VIRTUAL_CPU: 4,
  VIRTUAL_PM: 5,
  VIRTIO_MMIO: 6,
  VRTC: 7,
  WATCHDOG: 8,
  MEM_EXTENT: 9,
  ADDR_SPACE: 10,
} as const;

/** One 44-byte resource entry. */
export interface HypResource {
  readonly type: number;
  readonly partnerVmid: number;
  readonly handle: number;
  readonly label: number;
  readonly capId: bigint;
  readonly virqHandle: number;
  /** GIC INTID; 0 = none. */
  readonly virq: number;
  readonly base: bigint;
  readonly size: bigint;
}

/** Size of one entry. */
export const HYP_RESOURCE_ENTRY_SIZE = 44;

export const hypResourceEntry = struct<HypResource>('VM_GET_HYP_RESOURCES entry', HYP_RESOURCE_ENTRY_SIZE, {
  type: [0, 'u8'],
  partnerVmid: [2, 'u16'],
  handle: [4, 'u32'],
  label: [8, 'u32'],
  capId: [12, 'u64'],
  virqHandle: [20, 'u32'],
  virq: [24, 'u32'],
  base: [28, 'u64'],
  size: [36, 'u64'],
});

const hypResourcesReply: Codec<readonly HypResource[]> = {
  name: 'VM_GET_HYP_RESOURCES reply',
  encode: (entries) => writeCounted(entries, hypResourceEntry),
  decode(b) {
    const d = readCounted(b, 0, hypResourceEntry, 'VM_GET_HYP_RESOURCES reply');
    return d.ok ? decoded(d.value) : d;
  },
};

export const vmGetHypResourcesMsg = request(
  MsgId.VM_GET_HYP_RESOURCES,
  'VM_GET_HYP_RESOURCES',
  vmidRequest('VM_GET_HYP_RESOURCES'),
  hypResourcesReply,
);
