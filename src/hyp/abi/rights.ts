// Object types and capability rights bitmasks (hypervisor-abi.md §4.1, §4.4). Bit 31 of every
// type's rights is the generic object-activate right; a master cap holds all rights of its type.

export const ObjectType = {
  PARTITION: 'partition',
  CSPACE: 'cspace',
  ADDRSPACE: 'addrspace',
  MEMEXTENT: 'memextent',
  THREAD: 'thread',
  DOORBELL: 'doorbell',
  MSGQUEUE: 'msgqueue',
  VIC: 'vic',
  HWIRQ: 'hwirq',
  VPM_GROUP: 'vpm_group',
  VIRTIO_MMIO: 'virtio_mmio',
} as const;

export type ObjectTypeName = (typeof ObjectType)[keyof typeof ObjectType];

export const RIGHT_ACTIVATE = 0x8000_0000;

export const PARTITION_RIGHT = { object_create: 0x1, donate: 0x2 } as const;
export const CSPACE_RIGHT = { cap_create: 0x1, cap_delete: 0x2, cap_copy: 0x4, attach: 0x8, cap_revoke: 0x10 } as const;
export const ADDRSPACE_RIGHT = { attach: 0x1, map: 0x2, lookup: 0x4, add_vmmio_range: 0x8 } as const;
export const MEMEXTENT_RIGHT = { map: 0x1, derive: 0x2, attach: 0x4, lookup: 0x8, donate: 0x10 } as const;
export const THREAD_RIGHT = {
  power: 0x1,
  affinity: 0x2,
  priority: 0x4,
  timeslice: 0x8,
  yield_to: 0x10,
  bind_virq: 0x20,
  state: 0x40,
  lifecycle: 0x80,
  write_context: 0x100,
  disable: 0x200,
} as const;
export const DOORBELL_RIGHT = { send: 0x1, receive: 0x2, bind: 0x4 } as const;
export const MSGQUEUE_RIGHT = { send: 0x1, receive: 0x2, bind_send: 0x4, bind_receive: 0x8 } as const;
export const VIC_RIGHT = { bind_source: 0x1, attach_vcpu: 0x2, attach_vdevice: 0x4 } as const;
export const HWIRQ_RIGHT = { bind_vic: 0x2 } as const;
export const VPM_GROUP_RIGHT = { attach_vcpu: 0x1, bind_virq: 0x2, query: 0x4 } as const;
export const VIRTIO_MMIO_RIGHT = {
  bind_backend_virq: 0x1,
  bind_frontend_virq: 0x2,
  assert_virq: 0x4,
  config: 0x8,
} as const;

/** The ALL mask (master cap rights) of each type. */
export const ALL_RIGHTS: Record<ObjectTypeName, number> = {
  partition: 0x8000_0003,
  cspace: 0x8000_001f,
  addrspace: 0x8000_000f,
  memextent: 0x8000_001f,
  thread: 0x8000_03ff,
  doorbell: 0x8000_0007,
  msgqueue: 0x8000_000f,
  vic: 0x8000_0007,
  hwirq: 0x8000_0002,
  vpm_group: 0x8000_0007,
  virtio_mmio: 0x8000_000f,
};
