// The Gunyah hypercall table as data (hypervisor-abi.md §2): one row per call with its number,
// name, typed inputs (register x0.. in order on the native path), outputs, and the capability
// rights each cap argument needs. Dispatch, argument truncation and reserved-argument checks,
// the generated reference page (docs/hypercalls.md) and the table tests all come from here.
// Shared ABI module: guests' tooling and the RM may import it.

import {
  ADDRSPACE_RIGHT as AS,
  CSPACE_RIGHT as CS,
  DOORBELL_RIGHT as DB,
  HWIRQ_RIGHT as HW,
  MEMEXTENT_RIGHT as ME,
  MSGQUEUE_RIGHT as MQ,
  PARTITION_RIGHT as PT,
  RIGHT_ACTIVATE as ACT,
  THREAD_RIGHT as TH,
  VIC_RIGHT as VIC,
  VIRTIO_MMIO_RIGHT as VIO,
  VPM_GROUP_RIGHT as VPM,
  type ObjectTypeName,
} from './rights.js';

/**
 * How a cap argument is looked up: `active` — the object must be ACTIVE (else OBJECT_STATE);
 * `any` — any state; `init` — looked up in any state with the rights given, and the handler
 * requires INIT (configure and attach paths).
 */
export type CapState = 'active' | 'any' | 'init';

export type InArg =
  | { kind: 'cap'; name: string; type: ObjectTypeName | 'any'; rights: number; state: CapState }
  | { kind: 'u64' | 'u32' | 'u16' | 'bool'; name: string }
  | { kind: 'res0' | 'res1'; name: string };

export type OutArg = { kind: 'error' | 'u64' | 'u32' | 'bool' | 'cap'; name: string };

export interface HypercallRow {
  readonly num: number;
  readonly name: string;
  readonly inputs: readonly InArg[];
  readonly outputs: readonly OutArg[];
  /** Always returns UNIMPLEMENTED in this build (the row exists in the table). */
  readonly unimplemented?: boolean;
  readonly note?: string;
}

const cap = (name: string, type: ObjectTypeName | 'any', rights = 0, state: CapState = 'active'): InArg => ({
  kind: 'cap',
  name,
  type,
  rights,
  state,
});
const u64 = (name: string): InArg => ({ kind: 'u64', name });
const u32 = (name: string): InArg => ({ kind: 'u32', name });
const u16 = (name: string): InArg => ({ kind: 'u16', name });
const res0 = (name = 'res0'): InArg => ({ kind: 'res0', name });
const res1 = (name = 'res1'): InArg => ({ kind: 'res1', name });
const err: OutArg = { kind: 'error', name: 'error' };
const o64 = (name: string): OutArg => ({ kind: 'u64', name });
const o32 = (name: string): OutArg => ({ kind: 'u32', name });
const obool = (name: string): OutArg => ({ kind: 'bool', name });
const ocap = (name: string): OutArg => ({ kind: 'cap', name });

function call(
  num: number,
  name: string,
  inputs: InArg[],
  outputs: OutArg[],
  extra: { unimplemented?: boolean; note?: string } = {},
): HypercallRow {
  return { num, name, inputs, outputs, ...extra };
}

/** partition_create_<type>: (partition, cspace, res0) → (error, new_cap). */
const create = (num: number, type: string, extra: { unimplemented?: boolean; note?: string } = {}): HypercallRow =>
  call(
    num,
    `partition_create_${type}`,
    [cap('partition', 'partition', PT.object_create), cap('cspace', 'cspace', CS.cap_create), res0()],
    [err, ocap('new_cap')],
    extra,
  );

export const HYPERCALLS: readonly HypercallRow[] = [
  // §2.1 identification, partition, object
  call(0x00, 'hypervisor_identify', [], [o64('hyp_api_info'), o64('api_flags0'), o64('api_flags1'), o64('api_flags2')]),
  create(0x01, 'partition', { unimplemented: true, note: 'new_cap is all-ones' }),
  create(0x02, 'cspace'),
  create(0x03, 'addrspace'),
  create(0x04, 'memextent'),
  create(0x05, 'thread', { note: 'creates a VCPU-kind thread' }),
  create(0x06, 'doorbell'),
  create(0x07, 'msgqueue'),
  create(0x0a, 'vic'),
  create(0x0b, 'vpm_group'),
  create(0x48, 'virtio_mmio'),
  call(0x0c, 'object_activate', [cap('cap', 'any', ACT, 'any'), res0()], [err]),
  call(0x0d, 'object_activate_from', [cap('cspace', 'cspace', CS.cap_create), u64('cap'), res0()], [err]),
  call(0x0e, 'object_reset', [u64('cap'), res0()], [err], { unimplemented: true }),
  call(0x0f, 'object_reset_from', [u64('cspace'), u64('cap'), res0()], [err], { unimplemented: true }),
  // §2.2 capability spaces
  call(0x22, 'cspace_delete_cap_from', [cap('cspace', 'cspace', CS.cap_delete), u64('cap'), res0()], [err]),
  call(
    0x23,
    'cspace_copy_cap_from',
    [
      cap('src_cspace', 'cspace', CS.cap_copy),
      u64('src_cap'),
      cap('dest_cspace', 'cspace', CS.cap_create),
      u32('rights_mask'),
      res0(),
    ],
    [err, ocap('new_cap')],
  ),
  call(0x24, 'cspace_revoke_cap_from', [u64('cspace'), u64('cap'), res0()], [err], { unimplemented: true }),
  call(0x25, 'cspace_configure', [cap('cspace', 'cspace', ACT, 'init'), u32('max_caps'), res0()], [err]),
  call(
    0x3e,
    'cspace_attach_thread',
    [cap('cspace', 'cspace', CS.attach), cap('thread', 'thread', ACT, 'init'), res0()],
    [err],
  ),
  call(0x59, 'cspace_revoke_caps_from', [cap('cspace', 'cspace', CS.cap_revoke), u64('master_cap'), res0()], [err]),
  // §2.3 doorbells
  call(
    0x10,
    'doorbell_bind_virq',
    [cap('doorbell', 'doorbell', DB.bind), cap('vic', 'vic', VIC.bind_source), u32('virq'), res0()],
    [err],
  ),
  call(0x11, 'doorbell_unbind_virq', [cap('doorbell', 'doorbell', DB.bind), res0()], [err]),
  call(
    0x12,
    'doorbell_send',
    [cap('doorbell', 'doorbell', DB.send), u64('new_flags'), res0()],
    [err, o64('old_flags')],
  ),
  call(
    0x13,
    'doorbell_receive',
    [cap('doorbell', 'doorbell', DB.receive), u64('clear_flags'), res0()],
    [err, o64('old_flags')],
  ),
  call(0x14, 'doorbell_reset', [cap('doorbell', 'doorbell', DB.receive), res0()], [err]),
  call(
    0x15,
    'doorbell_mask',
    [cap('doorbell', 'doorbell', DB.receive), u64('enable_mask'), u64('ack_mask'), res0()],
    [err],
  ),
  // §2.4 message queues
  call(
    0x17,
    'msgqueue_bind_send_virq',
    [cap('msgqueue', 'msgqueue', MQ.bind_send), cap('vic', 'vic', VIC.bind_source), u32('virq'), res0()],
    [err],
  ),
  call(
    0x18,
    'msgqueue_bind_receive_virq',
    [cap('msgqueue', 'msgqueue', MQ.bind_receive), cap('vic', 'vic', VIC.bind_source), u32('virq'), res0()],
    [err],
  ),
  call(0x19, 'msgqueue_unbind_send_virq', [cap('msgqueue', 'msgqueue', MQ.bind_send), res0()], [err]),
  call(0x1a, 'msgqueue_unbind_receive_virq', [cap('msgqueue', 'msgqueue', MQ.bind_receive), res0()], [err]),
  call(
    0x1b,
    'msgqueue_send',
    [cap('msgqueue', 'msgqueue', MQ.send), u64('size'), u64('data'), u32('send_flags'), res0()],
    [err, obool('not_full')],
  ),
  call(
    0x1c,
    'msgqueue_receive',
    [cap('msgqueue', 'msgqueue', MQ.receive), u64('buffer'), u64('buf_size'), res0()],
    [err, o64('size'), obool('not_empty')],
  ),
  call(0x1d, 'msgqueue_flush', [cap('msgqueue', 'msgqueue', MQ.receive), res0()], [err]),
  call(
    0x1f,
    'msgqueue_configure_send',
    [cap('msgqueue', 'msgqueue', MQ.send), u32('notfull_thres'), u32('notfull_holdoff'), res1()],
    [err],
  ),
  call(
    0x20,
    'msgqueue_configure_receive',
    [cap('msgqueue', 'msgqueue', MQ.receive), u32('notempty_thres'), u32('notempty_holdoff'), res1()],
    [err],
  ),
  call(0x21, 'msgqueue_configure', [cap('msgqueue', 'msgqueue', ACT, 'init'), u64('create_info'), res0()], [err]),
  // §2.5 interrupts, VIC
  call(
    0x26,
    'hwirq_bind_virq',
    [cap('hwirq', 'hwirq', HW.bind_vic), cap('vic', 'vic', VIC.bind_source), u32('virq'), res0()],
    [err],
  ),
  call(0x27, 'hwirq_unbind_virq', [cap('hwirq', 'hwirq', HW.bind_vic), res0()], [err]),
  call(
    0x28,
    'vic_configure',
    [cap('vic', 'vic', ACT, 'init'), u32('max_vcpus'), u32('max_virqs'), u64('vic_options'), u32('max_msis')],
    [err],
  ),
  call(
    0x29,
    'vic_attach_vcpu',
    [cap('vic', 'vic', VIC.attach_vcpu), cap('vcpu', 'thread', ACT, 'init'), u32('index'), res0()],
    [err],
  ),
  call(0x56, 'vic_bind_msi_source', [cap('vic', 'vic', VIC.bind_source), u64('msi_source'), res0()], [err], {
    note: 'no MSI sources on this platform: CSPACE_WRONG_OBJECT_TYPE after the vic lookup',
  }),
  call(
    0x67,
    'vgic_set_mpidr_mapping',
    [
      cap('vic', 'vic', ACT, 'init'),
      u64('mask'),
      u32('aff0_shift'),
      u32('aff1_shift'),
      u32('aff2_shift'),
      u32('aff3_shift'),
      { kind: 'bool', name: 'mt' },
    ],
    [err],
  ),
  // §2.6 address spaces
  call(
    0x2a,
    'addrspace_attach_thread',
    [cap('addrspace', 'addrspace', AS.attach), cap('thread', 'thread', ACT, 'init'), res0()],
    [err],
  ),
  call(
    0x2b,
    'addrspace_map',
    [
      cap('addrspace', 'addrspace', AS.map),
      cap('memextent', 'memextent', ME.map),
      u64('vbase'),
      u32('map_attrs'),
      u32('map_flags'),
      u64('offset'),
      u64('size'),
    ],
    [err],
  ),
  call(
    0x2c,
    'addrspace_unmap',
    [
      cap('addrspace', 'addrspace', AS.map),
      cap('memextent', 'memextent', ME.map),
      u64('vbase'),
      u32('map_flags'),
      u64('offset'),
      u64('size'),
    ],
    [err],
  ),
  call(
    0x2d,
    'addrspace_update_access',
    [
      cap('addrspace', 'addrspace', AS.map),
      cap('memextent', 'memextent', ME.map),
      u64('vbase'),
      u32('access_attrs'),
      u32('map_flags'),
      u64('offset'),
      u64('size'),
    ],
    [err],
  ),
  call(0x2e, 'addrspace_configure', [cap('addrspace', 'addrspace', ACT, 'init'), u16('vmid'), res0()], [err]),
  call(
    0x2f,
    'addrspace_attach_vdma',
    [cap('addrspace', 'addrspace', AS.attach), u64('dma_object'), u32('index'), res0()],
    [err],
    {
      note: 'no DMA objects on this platform: CSPACE_WRONG_OBJECT_TYPE after the addrspace lookup',
    },
  ),
  call(
    0x5a,
    'addrspace_lookup',
    [
      cap('addrspace', 'addrspace', AS.lookup),
      cap('memextent', 'memextent', ME.lookup),
      u64('vbase'),
      u64('size'),
      res0(),
    ],
    [err, o64('offset'), o64('size'), o32('map_attrs')],
  ),
  call(
    0x5b,
    'addrspace_configure_info_area',
    [cap('addrspace', 'addrspace', ACT, 'init'), cap('info_area_me', 'memextent', ME.attach), u64('ipa'), res0()],
    [err],
  ),
  call(
    0x60,
    'addrspace_configure_vmmio',
    [cap('addrspace', 'addrspace', AS.add_vmmio_range, 'any'), u64('vbase'), u64('size'), u32('op'), res0()],
    [err],
  ),
  call(
    0x62,
    'addrspace_attach_vdevice',
    [
      cap('addrspace', 'addrspace', AS.map),
      cap('vdevice', 'vic', VIC.attach_vdevice),
      u32('index'),
      u64('vbase'),
      u64('size'),
      u64('flags'),
    ],
    [err],
  ),
  // §2.7 memory extents
  call(
    0x30,
    'memextent_modify',
    [cap('memextent', 'memextent', ME.map), u32('flags'), u64('offset'), u64('size')],
    [err],
  ),
  call(
    0x31,
    'memextent_configure',
    [cap('memextent', 'memextent', ACT, 'init'), u64('phys_base'), u64('size'), u32('attributes'), res0()],
    [err],
  ),
  call(
    0x32,
    'memextent_configure_derive',
    [
      cap('memextent', 'memextent', ACT, 'init'),
      cap('parent', 'memextent', ME.derive),
      u64('offset'),
      u64('size'),
      u32('attributes'),
      res0(),
    ],
    [err],
  ),
  call(0x61, 'memextent_donate', [u32('options'), u64('from'), u64('to'), u64('offset'), u64('size'), res0()], [err]),
  // §2.8 VCPUs and scheduling
  call(0x34, 'vcpu_configure', [cap('vcpu', 'thread', ACT, 'init'), u64('vcpu_options'), res0()], [err]),
  call(
    0x38,
    'vcpu_poweron',
    [cap('vcpu', 'thread', TH.power), u64('entry_point'), u64('context'), u64('flags')],
    [err],
  ),
  call(0x39, 'vcpu_poweroff', [cap('vcpu', 'thread', TH.power), u64('flags')], [err]),
  call(0x3a, 'vcpu_kill', [cap('vcpu', 'thread', TH.lifecycle), res0()], [err]),
  call(0x3b, 'scheduler_yield', [u32('control'), u64('arg1'), res0()], [err]),
  call(0x3d, 'vcpu_set_affinity', [cap('vcpu', 'thread', TH.affinity, 'any'), u16('cpu_index'), res1()], [err]),
  call(0x46, 'vcpu_set_priority', [cap('vcpu', 'thread', TH.priority, 'any'), u32('priority')], [err]),
  call(0x47, 'vcpu_set_timeslice', [cap('vcpu', 'thread', TH.timeslice, 'any'), u64('timeslice')], [err]),
  call(
    0x5c,
    'vcpu_bind_virq',
    [cap('vcpu', 'thread', TH.bind_virq), cap('vic', 'vic', VIC.bind_source), u32('virq'), u32('virq_type'), res0()],
    [err],
  ),
  call(0x5d, 'vcpu_unbind_virq', [cap('vcpu', 'thread', TH.bind_virq), u32('virq_type'), res0()], [err]),
  call(
    0x64,
    'vcpu_register_write',
    [cap('vcpu', 'thread', TH.write_context, 'any'), u32('register_set'), u32('register_index'), u64('value'), res0()],
    [err],
  ),
  call(
    0x65,
    'vcpu_run',
    [
      cap('vcpu', 'thread', TH.affinity | TH.yield_to),
      u64('resume_data_0'),
      u64('resume_data_1'),
      u64('resume_data_2'),
      res0(),
    ],
    [err, o32('vcpu_run_state'), o64('state_data_0'), o64('state_data_1'), o64('state_data_2')],
  ),
  call(
    0x68,
    'vcpu_run_check',
    [cap('vcpu', 'thread', TH.bind_virq | TH.state), res0()],
    [err, o32('vcpu_run_state'), o64('state_data_0'), o64('state_data_1'), o64('state_data_2')],
  ),
  // §2.9 virtual PM groups
  call(0x66, 'vpm_group_configure', [cap('vpm_group', 'vpm_group', ACT, 'init'), u64('flags'), res0()], [err]),
  call(
    0x3c,
    'vpm_group_attach_vcpu',
    [cap('vpm_group', 'vpm_group', VPM.attach_vcpu), cap('vcpu', 'thread', ACT, 'init'), u32('index'), res0()],
    [err],
  ),
  call(
    0x43,
    'vpm_group_bind_virq',
    [cap('vpm_group', 'vpm_group', VPM.bind_virq), cap('vic', 'vic', VIC.bind_source), u32('virq'), res0()],
    [err],
  ),
  call(0x44, 'vpm_group_unbind_virq', [cap('vpm_group', 'vpm_group', VPM.bind_virq), res0()], [err]),
  call(0x45, 'vpm_group_get_state', [cap('vpm_group', 'vpm_group', VPM.query), res0()], [err, o64('vpm_state')]),
  // §2.10 misc
  call(0x3f, 'trace_update_class_flags', [u64('set_flags'), u64('clear_flags'), res0()], [err, o64('flags')]),
  call(
    0x57,
    'prng_get_entropy',
    [u32('num_bytes'), res0()],
    [err, o32('data0'), o32('data1'), o32('data2'), o32('data3')],
  ),
  // §2.11 virtio-mmio and virtio-input
  call(
    0x49,
    'virtio_mmio_configure',
    [
      cap('virtio_mmio', 'virtio_mmio', ACT, 'init'),
      cap('memextent', 'memextent', ME.attach),
      u32('vqs_num'),
      u64('flags'),
      u32('device_type'),
    ],
    [err],
  ),
  call(
    0x4a,
    'virtio_mmio_backend_bind_virq',
    [cap('virtio_mmio', 'virtio_mmio', VIO.bind_backend_virq), cap('vic', 'vic', VIC.bind_source), u32('virq'), res0()],
    [err],
  ),
  call(
    0x4b,
    'virtio_mmio_backend_unbind_virq',
    [cap('virtio_mmio', 'virtio_mmio', VIO.bind_backend_virq), res0()],
    [err],
  ),
  call(
    0x4c,
    'virtio_mmio_frontend_bind_virq',
    [
      cap('virtio_mmio', 'virtio_mmio', VIO.bind_frontend_virq),
      cap('vic', 'vic', VIC.bind_source),
      u32('virq'),
      res0(),
    ],
    [err],
  ),
  call(
    0x4d,
    'virtio_mmio_frontend_unbind_virq',
    [cap('virtio_mmio', 'virtio_mmio', VIO.bind_frontend_virq), res0()],
    [err],
  ),
  call(
    0x4e,
    'virtio_mmio_backend_assert_virq',
    [cap('virtio_mmio', 'virtio_mmio', VIO.assert_virq), u32('interrupt_status'), res0()],
    [err],
  ),
  call(
    0x4f,
    'virtio_mmio_backend_set_dev_features',
    [cap('virtio_mmio', 'virtio_mmio', VIO.config), u32('sel'), u32('dev_feat'), res0()],
    [err],
  ),
  call(
    0x50,
    'virtio_mmio_backend_set_queue_num_max',
    [cap('virtio_mmio', 'virtio_mmio', VIO.config), u32('sel'), u32('queue_num_max'), res0()],
    [err],
  ),
  call(
    0x51,
    'virtio_mmio_backend_get_drv_features',
    [cap('virtio_mmio', 'virtio_mmio', VIO.config), u32('sel'), res0()],
    [err, o32('drv_feat')],
  ),
  call(
    0x52,
    'virtio_mmio_backend_get_queue_info',
    [cap('virtio_mmio', 'virtio_mmio', VIO.config), u32('sel'), res0()],
    [err, o32('queue_num'), o32('queue_ready'), o64('queue_desc'), o64('queue_drv'), o64('queue_dev')],
  ),
  call(
    0x53,
    'virtio_mmio_backend_get_notification',
    [cap('virtio_mmio', 'virtio_mmio', VIO.config), res0()],
    [err, o64('vqs_bitmap'), o64('reason')],
  ),
  call(0x54, 'virtio_mmio_backend_acknowledge_reset', [cap('virtio_mmio', 'virtio_mmio', VIO.config), res0()], [err]),
  call(
    0x55,
    'virtio_mmio_backend_update_status',
    [cap('virtio_mmio', 'virtio_mmio', VIO.config), u32('val'), res0()],
    [err],
  ),
  call(
    0x5e,
    'virtio_input_configure',
    [
      cap('virtio_mmio', 'virtio_mmio', VIO.config),
      u64('devids'),
      u32('prop_bits'),
      u32('num_evtypes'),
      u32('num_absaxes'),
      res0(),
    ],
    [err],
  ),
  call(
    0x5f,
    'virtio_input_set_data',
    [cap('virtio_mmio', 'virtio_mmio', VIO.config), u32('sel'), u32('subsel'), u32('size'), u64('data'), res0()],
    [err],
  ),
];

/** Highest defined number + 1: numbers below it with no row are table holes (hypervisor-abi.md §1.1). */
export const HYPERCALL_NUM = 0x69;

/** Native HVC immediates: hvc #(HVC_BASE + N). */
export const HVC_BASE = 0x6000;
/** SMCCC-wrapped hypercalls: function ID SMCCC_HYPERCALL_BASE | N, arguments from x1 (§1.2). */
export const SMCCC_HYPERCALL_BASE = 0xc600_8000;

export const HYPERCALL_BY_NUM: ReadonlyMap<number, HypercallRow> = new Map(HYPERCALLS.map((r) => [r.num, r]));
export const HYPERCALL_BY_NAME: ReadonlyMap<string, HypercallRow> = new Map(HYPERCALLS.map((r) => [r.name, r]));
