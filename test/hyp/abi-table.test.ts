// The unit tier's audit of the hypercall table (hypervisor-abi.md §1.1, §2, §3.1, §4.2–4.4), driven
// by the rows of src/hyp/abi/hypercalls.ts and run from the root VM's native vCPU (no CPU
// emulation). For every implemented call and every cap argument of its row, each way a cap lookup
// can fail is tried with the other arguments valid, and the error must be the one §3.1 gives, in
// its order; every reserved argument is checked; and the same arguments with caps holding exactly
// the row's rights must then succeed — which shows the other arguments really were valid. A second
// table, transcribed from the spec, checks the rows' cap types, states and rights; a last test
// checks that every implemented call is exercised by name in some test file under test/hyp/.
//
// Not audited here: rows marked unimplemented (their only behaviour is UNIMPLEMENTED, dispatch
// tests cover it) and the virtio_mmio / virtio_input calls (their own tests come with them) — both
// still get the reserved-argument check, which the dispatcher does before any handler.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { Hypervisor } from '../../src/hyp/hypervisor.js';
import { NativeVcpu, type CallResult } from '../../src/hyp/vm/native.js';
import { HypSystem } from '../../src/hyp/system.js';
import { HYPERCALLS, type HypercallRow, type InArg } from '../../src/hyp/abi/hypercalls.js';
import { ALL_RIGHTS, RIGHT_ACTIVATE, type ObjectTypeName } from '../../src/hyp/abi/rights.js';
import { Err, errorName } from '../../src/hyp/abi/errors.js';
import {
  MEMEXTENT_MEMTYPE as MT,
  MEMEXTENT_TYPE as KIND,
  PGTABLE_ACCESS as ACC,
  VM_MEMTYPE,
  encodeExtentAttrs,
  mappingAttrs,
} from '../../src/hyp/mem/attrs.js';
import { MEM_BASE, MEM_SIZE, TestMemory, createInfo } from './ipc-env.js';
import { equipVcpu } from './vcpu-kit.js';

const ONES = 0xffff_ffff_ffff_ffffn;
const PAGE = 0x1000n;
/** A well-formed cap ID of an empty slot (table 31, slot 5) inside the root cspace's 2048 caps. */
const EMPTY = 0x1f05n;
/**
 * Cap IDs that do not decode (§4.3: a 16-bit (table << 8) | slot value): slot 255 (beyond any
 * table), a value above 16 bits, and CSPACE_CAP_INVALID (all-ones) — ARGUMENT_INVALID, not CAP_NULL.
 */
const MALFORMED = [0xffn, 0x1_0000n, ONES];
/** Physical RAM the root partition owns (64 MiB at 0x4000_0000 by default), clear of the RM region. */
const RAM = 0x4100_0000n;
const VIRQ = 40n;
const IPA = 0x1000_0000n;
const BASIC_RW = BigInt(encodeExtentAttrs(ACC.RW, MT.ANY, KIND.BASIC));
const SPARSE_RW = BigInt(encodeExtentAttrs(ACC.RW, MT.ANY, KIND.SPARSE));
const MAP_RW = BigInt(mappingAttrs(ACC.RW, ACC.RW, VM_MEMTYPE.NORMAL_WB));
const VCPU_OPTION_PROXY = 1n << 9n;
/** A root hwirq that forwards an SPI (QEMU virt's SPI 40 is unused, so it has a cap). */
const HWIRQ_INTID = 40;

/** The object types a test can hold caps to (virtio_mmio objects cannot be created yet). */
const TYPES: readonly ObjectTypeName[] = [
  'partition',
  'cspace',
  'addrspace',
  'memextent',
  'thread',
  'doorbell',
  'msgqueue',
  'vic',
  'hwirq',
  'vpm_group',
];

/**
 * §4.5: activations that fail, leaving the object FAILED for good (the error each gives). Doorbells,
 * VICs and vpm_groups cannot fail to activate; partitions and hwirqs are never INIT.
 */
const FAIL_RECIPE: Partial<Record<ObjectTypeName, number>> = {
  cspace: Err.OBJECT_CONFIG, // max_caps = 0
  addrspace: Err.BUSY, // VMID 0 (unconfigured) is reserved
  memextent: Err.OBJECT_CONFIG, // size 0
  thread: Err.OBJECT_CONFIG, // no cspace
  msgqueue: Err.OBJECT_CONFIG, // depth 0
};

type CapArg = Extract<InArg, { kind: 'cap' }>;

/** The root VM and helpers to make objects in its cspace, through hypercalls only. */
function world() {
  const hv = new Hypervisor();
  const vm = hv.createRootVm();
  const v = new NativeVcpu(hv, vm.thread);
  // The root vCPU's buffers (msgqueue_send/receive), as in ipc-env.ts.
  vm.thread.access = new TestMemory(MEM_BASE, MEM_SIZE);
  const { partition: P, cspace: C, vcpu: T } = vm.caps;
  const call = (name: string, ...args: bigint[]): CallResult => v.call(name, ...args);
  const ok = (name: string, ...args: bigint[]): bigint[] => {
    const r = call(name, ...args);
    assert.equal(r.e, Err.OK, `setup ${name}: ${errorName(r.e)}`);
    return r.x;
  };
  const create = (type: string): bigint => ok(`partition_create_${type}`, P, C, 0n)[1]!;
  const copy = (cap: bigint, rights: number): bigint =>
    ok('cspace_copy_cap_from', C, cap, C, BigInt(rights >>> 0), 0n)[1]!;
  let nextPage = 0n;
  let nextVmid = 1n;
  /** Fresh physical pages of the root partition. */
  const pages = (n: bigint): bigint => {
    const pa = RAM + nextPage * PAGE;
    nextPage += n;
    return pa;
  };
  const extent = (n = 1n, attrs = BASIC_RW): bigint => {
    const me = create('memextent');
    ok('memextent_configure', me, pages(n), n * PAGE, attrs, 0n);
    ok('object_activate', me, 0n);
    return me;
  };
  const activate = (cap: bigint): bigint => {
    ok('object_activate', cap, 0n);
    return cap;
  };
  /** The master cap of an ACTIVE object of `type`, configured as its creator would. */
  const active = (type: ObjectTypeName): bigint => {
    switch (type) {
      case 'partition':
        return P;
      case 'hwirq':
        return vm.caps.hwirq[HWIRQ_INTID]!;
      case 'cspace': {
        const cs = create('cspace');
        ok('cspace_configure', cs, 8n, 0n);
        return activate(cs);
      }
      case 'addrspace': {
        const as = create('addrspace');
        ok('addrspace_configure', as, nextVmid++, 0n);
        return activate(as);
      }
      case 'memextent':
        return extent();
      case 'thread': {
        // §4.5: a cspace, an addrspace and a VIC.
        const t = create('thread');
        ok('cspace_attach_thread', C, t, 0n);
        equipVcpu(v, P, C, t);
        return activate(t);
      }
      case 'msgqueue': {
        const mq = create('msgqueue');
        ok('msgqueue_configure', mq, createInfo(2, 16), 0n);
        return activate(mq);
      }
      case 'vic': {
        const vic = create('vic');
        ok('vic_configure', vic, 1n, 64n, 0n, 0n);
        return activate(vic);
      }
      case 'doorbell':
      case 'vpm_group':
        return activate(create(type));
      default:
        throw new Error(`no ${type} objects in the unit tier yet`);
    }
  };
  /** The master cap of an INIT object of `type`, or null when the type is never INIT for a guest. */
  const init = (type: ObjectTypeName): bigint | null =>
    type === 'partition' || type === 'hwirq' ? null : create(type);
  /** The master cap of a FAILED object of `type`, or null when activation cannot fail (§4.5). */
  const failed = (type: ObjectTypeName): bigint | null => {
    const e = FAIL_RECIPE[type];
    if (e === undefined) return null;
    const cap = create(type);
    assert.equal(call('object_activate', cap, 0n).e, e, `${type} activation fails with ${errorName(e)}`);
    return cap;
  };
  return { hv, vm, v, P, C, T, call, ok, create, copy, pages, extent, active, init, failed };
}

type World = ReturnType<typeof world>;

interface Fixture {
  /** Valid arguments; caps are master caps in the root cspace. */
  args: bigint[];
  /** What the call returns with them (OK unless the spec says otherwise). */
  result?: number;
}

/** A mapped extent: [addrspace, memextent] with the extent's page at IPA. */
function mapped(w: World): [bigint, bigint] {
  const as = w.active('addrspace');
  const me = w.extent();
  w.ok('addrspace_map', as, me, IPA, MAP_RW, 0n, 0n, 0n);
  return [as, me];
}

const create = (): ((w: World) => Fixture) => (w) => ({ args: [w.P, w.C, 0n] });

/** Valid arguments for every audited call (§2), built fresh for each call. */
const FIXTURES: Record<string, (w: World) => Fixture> = {
  // §2.1
  partition_create_cspace: create(),
  partition_create_addrspace: create(),
  partition_create_memextent: create(),
  partition_create_thread: create(),
  partition_create_doorbell: create(),
  partition_create_msgqueue: create(),
  partition_create_vic: create(),
  partition_create_vpm_group: create(),
  object_activate: (w) => ({ args: [w.create('doorbell'), 0n] }),
  object_activate_from: (w) => ({ args: [w.C, w.create('doorbell'), 0n] }),
  // §2.2
  cspace_delete_cap_from: (w) => ({ args: [w.C, w.create('doorbell'), 0n] }),
  cspace_copy_cap_from: (w) => ({ args: [w.C, w.P, w.C, 0xffff_ffffn, 0n] }),
  cspace_configure: (w) => ({ args: [w.create('cspace'), 8n, 0n] }),
  cspace_attach_thread: (w) => ({ args: [w.C, w.create('thread'), 0n] }),
  cspace_revoke_caps_from: (w) => ({ args: [w.C, w.create('doorbell'), 0n] }),
  // §2.3
  doorbell_bind_virq: (w) => ({ args: [w.active('doorbell'), w.active('vic'), VIRQ, 0n] }),
  doorbell_unbind_virq: (w) => ({ args: [w.active('doorbell'), 0n] }),
  doorbell_send: (w) => ({ args: [w.active('doorbell'), 1n, 0n] }),
  doorbell_receive: (w) => ({ args: [w.active('doorbell'), 1n, 0n] }),
  doorbell_reset: (w) => ({ args: [w.active('doorbell'), 0n] }),
  doorbell_mask: (w) => ({ args: [w.active('doorbell'), ONES, 0n, 0n] }),
  // §2.4
  msgqueue_bind_send_virq: (w) => ({ args: [w.active('msgqueue'), w.active('vic'), VIRQ, 0n] }),
  msgqueue_bind_receive_virq: (w) => ({ args: [w.active('msgqueue'), w.active('vic'), VIRQ, 0n] }),
  msgqueue_unbind_send_virq: (w) => ({ args: [w.active('msgqueue'), 0n] }),
  msgqueue_unbind_receive_virq: (w) => ({ args: [w.active('msgqueue'), 0n] }),
  msgqueue_send: (w) => ({ args: [w.active('msgqueue'), 4n, MEM_BASE, 0n, 0n] }),
  msgqueue_receive: (w) => {
    const mq = w.active('msgqueue');
    w.ok('msgqueue_send', mq, 4n, MEM_BASE, 0n, 0n);
    return { args: [mq, MEM_BASE + 0x100n, 16n, 0n] };
  },
  msgqueue_flush: (w) => ({ args: [w.active('msgqueue'), 0n] }),
  // Thresholds and holdoffs 0xFFFFFFFF: "unchanged" (§5.2).
  msgqueue_configure_send: (w) => ({ args: [w.active('msgqueue'), 0xffff_ffffn, 0xffff_ffffn, ONES] }),
  msgqueue_configure_receive: (w) => ({ args: [w.active('msgqueue'), 0xffff_ffffn, 0xffff_ffffn, ONES] }),
  msgqueue_configure: (w) => ({ args: [w.create('msgqueue'), createInfo(2, 16), 0n] }),
  // §2.5
  hwirq_bind_virq: (w) => ({ args: [w.active('hwirq'), w.active('vic'), VIRQ, 0n] }),
  hwirq_unbind_virq: (w) => {
    const hw = w.active('hwirq');
    w.ok('hwirq_bind_virq', hw, w.active('vic'), VIRQ, 0n);
    return { args: [hw, 0n] };
  },
  vic_configure: (w) => ({ args: [w.create('vic'), 1n, 64n, 0n, 0n] }),
  vic_attach_vcpu: (w) => ({ args: [w.active('vic'), w.create('thread'), 0n, 0n] }),
  // No MSI sources on QEMU: CSPACE_WRONG_OBJECT_TYPE after a successful vic lookup (§2.5).
  vic_bind_msi_source: (w) => ({ args: [w.active('vic'), 0n, 0n], result: Err.CSPACE_WRONG_OBJECT_TYPE }),
  // Aff0 = index bits 3:0 (§9.1).
  vgic_set_mpidr_mapping: (w) => ({ args: [w.create('vic'), 0xfn, 0n, 0n, 0n, 0n, 0n] }),
  // §2.6
  addrspace_attach_thread: (w) => ({ args: [w.active('addrspace'), w.create('thread'), 0n] }),
  addrspace_map: (w) => ({ args: [w.active('addrspace'), w.extent(), IPA, MAP_RW, 0n, 0n, 0n] }),
  addrspace_unmap: (w) => ({ args: [...mapped(w), IPA, 0n, 0n, 0n] }),
  addrspace_update_access: (w) => ({ args: [...mapped(w), IPA, BigInt(ACC.R | (ACC.R << 4)), 0n, 0n, 0n] }),
  addrspace_configure: (w) => ({ args: [w.create('addrspace'), 7n, 0n] }),
  // No DMA objects on QEMU: CSPACE_WRONG_OBJECT_TYPE after a successful addrspace lookup (§2.6).
  addrspace_attach_vdma: (w) => ({ args: [w.active('addrspace'), 0n, 0n, 0n], result: Err.CSPACE_WRONG_OBJECT_TYPE }),
  addrspace_lookup: (w) => ({ args: [...mapped(w), IPA, PAGE, 0n] }),
  addrspace_configure_info_area: (w) => ({ args: [w.create('addrspace'), w.extent(), 0x2000_0000n, 0n] }),
  addrspace_configure_vmmio: (w) => ({ args: [w.active('addrspace'), 0x3000_0000n, PAGE, 0n, 0n] }),
  // Index 0 = the GICD frame, 64 KiB, flags 0 (§9.1).
  addrspace_attach_vdevice: (w) => ({
    args: [w.active('addrspace'), w.active('vic'), 0n, 0x3000_0000n, 0x1_0000n, 0n],
  }),
  // §2.7: op 0 = UNMAP_ALL.
  memextent_modify: (w) => ({ args: [w.extent(), 0n, 0n, 0n] }),
  memextent_configure: (w) => ({ args: [w.create('memextent'), w.pages(1n), PAGE, BASIC_RW, 0n] }),
  memextent_configure_derive: (w) => ({ args: [w.create('memextent'), w.extent(2n), 0n, PAGE, BASIC_RW, 0n] }),
  // TO_CHILD (type 0) from the partition into a SPARSE extent (§10.4).
  memextent_donate: (w) => ({ args: [0n, w.P, w.extent(4n, SPARSE_RW), 0n, 4n * PAGE, 0n] }),
  // §2.8
  vcpu_configure: (w) => ({ args: [w.create('thread'), 0n, 0n] }),
  vcpu_poweron: (w) => ({ args: [w.active('thread'), 0x1000n, 0n, 0n] }),
  // Only the calling vCPU (the root's) powers itself off; outside a vpm_group with last_vcpu set.
  vcpu_poweroff: (w) => ({ args: [w.T, 1n] }),
  vcpu_kill: (w) => ({ args: [w.active('thread'), 0n] }),
  scheduler_yield: () => ({ args: [0n, 0n, 0n] }),
  vcpu_set_affinity: (w) => ({ args: [w.create('thread'), 0n, ONES] }),
  vcpu_set_priority: (w) => ({ args: [w.create('thread'), 10n] }),
  vcpu_set_timeslice: (w) => ({ args: [w.create('thread'), 1_000_000n] }),
  // Type 0 = HALT.
  vcpu_bind_virq: (w) => ({ args: [w.active('thread'), w.active('vic'), VIRQ, 0n, 0n] }),
  vcpu_unbind_virq: (w) => ({ args: [w.active('thread'), 0n, 0n] }),
  vcpu_register_write: (w) => ({ args: [w.create('thread'), 0n, 0n, 5n, 0n] }),
  // A proxy-scheduled vCPU not yet powered on: vcpu_run reports POWERED_OFF (§8.4); a running
  // system answers vcpu_run, so one is made (with no vCPUs of its own to run).
  vcpu_run: (w) => {
    const t = w.create('thread');
    w.ok('vcpu_configure', t, VCPU_OPTION_PROXY, 0n);
    w.ok('cspace_attach_thread', w.C, t, 0n);
    equipVcpu(w.v, w.P, w.C, t);
    w.ok('object_activate', t, 0n);
    new HypSystem(w.hv, 1);
    return { args: [t, 0n, 0n, 0n, 0n] };
  },
  vcpu_run_check: (w) => {
    const t = w.active('thread');
    new HypSystem(w.hv, 1);
    return { args: [t, 0n] };
  },
  // §2.9
  vpm_group_configure: (w) => ({ args: [w.create('vpm_group'), 1n, 0n] }),
  vpm_group_attach_vcpu: (w) => ({ args: [w.active('vpm_group'), w.create('thread'), 0n, 0n] }),
  vpm_group_bind_virq: (w) => ({ args: [w.active('vpm_group'), w.active('vic'), VIRQ, 0n] }),
  vpm_group_unbind_virq: (w) => ({ args: [w.active('vpm_group'), 0n] }),
  vpm_group_get_state: (w) => ({ args: [w.active('vpm_group'), 0n] }),
  // §2.10
  trace_update_class_flags: () => ({ args: [0n, 0n, 0n] }),
  prng_get_entropy: () => ({ args: [4n, 0n] }),
};

/**
 * The cap arguments of each audited call as hypervisor-abi.md §2 gives them, transcribed apart
 * from the table: "type state rights" per cap argument, state A = ACTIVE, any = any state, init =
 * the activate right in any state and then INIT; '' = no cap arguments the dispatcher looks up
 * (caps resolved in another cspace or by type are the handler's).
 */
const SPEC_CAPS: Record<string, string> = {
  hypervisor_identify: '',
  partition_create_cspace: 'partition A 0x1, cspace A 0x1',
  partition_create_addrspace: 'partition A 0x1, cspace A 0x1',
  partition_create_memextent: 'partition A 0x1, cspace A 0x1',
  partition_create_thread: 'partition A 0x1, cspace A 0x1',
  partition_create_doorbell: 'partition A 0x1, cspace A 0x1',
  partition_create_msgqueue: 'partition A 0x1, cspace A 0x1',
  partition_create_vic: 'partition A 0x1, cspace A 0x1',
  partition_create_vpm_group: 'partition A 0x1, cspace A 0x1',
  object_activate: 'any any 0x80000000',
  object_activate_from: 'cspace A 0x1',
  cspace_delete_cap_from: 'cspace A 0x2',
  cspace_copy_cap_from: 'cspace A 0x4, cspace A 0x1',
  cspace_configure: 'cspace init',
  cspace_attach_thread: 'cspace A 0x8, thread init',
  cspace_revoke_caps_from: 'cspace A 0x10',
  doorbell_bind_virq: 'doorbell A 0x4, vic A 0x1',
  doorbell_unbind_virq: 'doorbell A 0x4',
  doorbell_send: 'doorbell A 0x1',
  doorbell_receive: 'doorbell A 0x2',
  doorbell_reset: 'doorbell A 0x2',
  doorbell_mask: 'doorbell A 0x2',
  msgqueue_bind_send_virq: 'msgqueue A 0x4, vic A 0x1',
  msgqueue_bind_receive_virq: 'msgqueue A 0x8, vic A 0x1',
  msgqueue_unbind_send_virq: 'msgqueue A 0x4',
  msgqueue_unbind_receive_virq: 'msgqueue A 0x8',
  msgqueue_send: 'msgqueue A 0x1',
  msgqueue_receive: 'msgqueue A 0x2',
  msgqueue_flush: 'msgqueue A 0x2',
  msgqueue_configure_send: 'msgqueue A 0x1',
  msgqueue_configure_receive: 'msgqueue A 0x2',
  msgqueue_configure: 'msgqueue init',
  hwirq_bind_virq: 'hwirq A 0x2, vic A 0x1',
  hwirq_unbind_virq: 'hwirq A 0x2',
  vic_configure: 'vic init',
  vic_attach_vcpu: 'vic A 0x2, thread init',
  vic_bind_msi_source: 'vic A 0x1',
  vgic_set_mpidr_mapping: 'vic init',
  addrspace_attach_thread: 'addrspace A 0x1, thread init',
  addrspace_map: 'addrspace A 0x2, memextent A 0x1',
  addrspace_unmap: 'addrspace A 0x2, memextent A 0x1',
  addrspace_update_access: 'addrspace A 0x2, memextent A 0x1',
  addrspace_configure: 'addrspace init',
  addrspace_attach_vdma: 'addrspace A 0x1',
  addrspace_lookup: 'addrspace A 0x4, memextent A 0x8',
  addrspace_configure_info_area: 'addrspace init, memextent A 0x4',
  addrspace_configure_vmmio: 'addrspace any 0x8',
  addrspace_attach_vdevice: 'addrspace A 0x2, vic A 0x4',
  memextent_modify: 'memextent A 0x1',
  memextent_configure: 'memextent init',
  memextent_configure_derive: 'memextent init, memextent A 0x2',
  memextent_donate: '',
  vcpu_configure: 'thread init',
  vcpu_poweron: 'thread A 0x1',
  vcpu_poweroff: 'thread A 0x1',
  vcpu_kill: 'thread A 0x80',
  scheduler_yield: '',
  vcpu_set_affinity: 'thread any 0x2',
  vcpu_set_priority: 'thread any 0x4',
  vcpu_set_timeslice: 'thread any 0x8',
  vcpu_bind_virq: 'thread A 0x20, vic A 0x1',
  vcpu_unbind_virq: 'thread A 0x20',
  vcpu_register_write: 'thread any 0x100',
  vcpu_run: 'thread A 0x12',
  vcpu_run_check: 'thread A 0x60',
  vpm_group_configure: 'vpm_group init',
  vpm_group_attach_vcpu: 'vpm_group A 0x1, thread init',
  vpm_group_bind_virq: 'vpm_group A 0x2, vic A 0x1',
  vpm_group_unbind_virq: 'vpm_group A 0x2',
  vpm_group_get_state: 'vpm_group A 0x4',
  trace_update_class_flags: '',
  prng_get_entropy: '',
};

/**
 * Argument checks the spec places before any cap lookup (§2.8, §2.9, §10.4): [input index, bad
 * value, error]. They are tried with every cap naming an empty slot — memextent_donate's two caps
 * are u64 inputs resolved by its handler, blanked too — so the error can only come from that check.
 */
const PRE_LOOKUP: Record<string, [number, bigint, number][]> = {
  vcpu_configure: [
    [1, 1n << 6n, Err.ARGUMENT_INVALID], // option bits 7:6, 62:10 are unknown
    [1, 1n << 62n, Err.ARGUMENT_INVALID],
  ],
  vpm_group_configure: [
    [1, 2n, Err.UNIMPLEMENTED], // only bit 0 (no_aggregation) is known
    [1, 1n << 63n, Err.UNIMPLEMENTED],
  ],
  addrspace_map: [
    [3, 1n << 3n, Err.ARGUMENT_INVALID], // map_attrs bit 3 is reserved
    [4, 2n, Err.ARGUMENT_INVALID], // map_flags bits 30:1 are reserved
  ],
  addrspace_unmap: [[3, 1n << 30n, Err.ARGUMENT_INVALID]],
  addrspace_update_access: [
    [3, 1n << 3n, Err.ARGUMENT_INVALID], // access_attrs bit 3 is reserved
    [4, 2n, Err.ARGUMENT_INVALID],
  ],
  memextent_modify: [[1, 1n << 8n, Err.ARGUMENT_INVALID]], // flags bits 30:8
  memextent_donate: [
    [0, 1n << 8n, Err.ARGUMENT_INVALID], // options bits 30:8
    [0, 3n, Err.ARGUMENT_INVALID], // type 3 is not a donation type
  ],
};
const PRE_LOOKUP_BLANK: Record<string, number[]> = { memextent_donate: [1, 2] };

const isVirtio = (name: string): boolean => name.startsWith('virtio_') || name === 'partition_create_virtio_mmio';
/** The calls this file audits: implemented in this build and not virtio. */
const AUDITED = HYPERCALLS.filter((r) => !r.unimplemented && !isVirtio(r.name));
const capArgs = (row: HypercallRow): [number, CapArg][] =>
  row.inputs.flatMap((a, i): [number, CapArg][] => (a.kind === 'cap' ? [[i, a]] : []));
const bits = (rights: number): number[] => [...Array(32).keys()].map((b) => 2 ** b).filter((b) => (rights & b) !== 0);
const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;

/** §1.1: a reserved argument's bad values (res0 must be 0, res1 all-ones, on the full register). */
function badReserved(a: InArg): bigint[] {
  if (a.kind === 'res0') return [1n, 1n << 32n, ONES];
  if (a.kind === 'res1') return [0n, 0xffff_ffffn, ONES - 1n];
  return [];
}

/** Run the audit of one call in a fresh root VM. */
function auditRow(row: HypercallRow): void {
  const w = world();
  const fx = FIXTURES[row.name];
  assert.ok(fx, `no fixture for ${row.name}: add one with valid arguments`);
  const { args, result = Err.OK } = fx(w);
  assert.equal(args.length, row.inputs.length, `${row.name}: fixture gives every input`);
  const with_ = (i: number, v: bigint): bigint[] => args.map((a, k) => (k === i ? v : a));
  const expect = (callArgs: bigint[], e: number, what: string): void => {
    const got = w.call(row.name, ...callArgs).e;
    assert.equal(got, e, `${row.name}: ${what}: expected ${errorName(e)}, got ${errorName(got)}`);
  };

  for (const [i, arg] of capArgs(row)) {
    const at = (v: bigint, e: number, what: string) => expect(with_(i, v), e, `${arg.name} ${what}`);
    const valid = args[i]!;
    const validType: ObjectTypeName = arg.type === 'any' ? 'doorbell' : arg.type;
    const all = ALL_RIGHTS[validType];
    const anyObject = arg.state === 'init' || arg.type === 'any';

    // §3.1 steps 1–3: decode, then the slot.
    at(EMPTY, Err.CSPACE_CAP_NULL, 'empty slot');
    for (const id of MALFORMED) at(id, Err.ARGUMENT_INVALID, `malformed cap ID 0x${id.toString(16)}`);
    const revoked = w.copy(valid, all);
    w.ok('cspace_revoke_caps_from', w.C, valid, 0n);
    at(revoked, Err.CSPACE_CAP_REVOKED, 'revoked copy');
    const deleted = w.copy(valid, all);
    w.ok('cspace_delete_cap_from', w.C, deleted, 0n);
    at(deleted, Err.CSPACE_CAP_NULL, 'deleted cap');

    // Step 4: the type (after the rights for any-object lookups, which check the type themselves).
    if (arg.type !== 'any') {
      for (const other of TYPES) {
        if (other === arg.type) continue;
        const cap = w.active(other);
        at(cap, Err.CSPACE_WRONG_OBJECT_TYPE, `master cap to a ${other}`);
        if (anyObject) {
          // Any-object lookup: rights first, so a wrong-type cap without the activate right fails
          // on the rights.
          at(
            w.copy(cap, ALL_RIGHTS[other] & ~RIGHT_ACTIVATE),
            Err.CSPACE_INSUFFICIENT_RIGHTS,
            `${other} cap without ACT`,
          );
        } else {
          // Typed lookup: the type before the rights and the state (an INIT object, activate right only).
          const initObj = w.init(other) ?? cap;
          at(w.copy(initObj, RIGHT_ACTIVATE), Err.CSPACE_WRONG_OBJECT_TYPE, `${other} cap with ACT only`);
        }
      }
    }

    // Step 5: each required right is needed (the state comes after it).
    for (const b of bits(arg.rights)) {
      at(w.copy(valid, all & ~b), Err.CSPACE_INSUFFICIENT_RIGHTS, `copy without right ${hex(b)}`);
      const wrongState = arg.state === 'active' ? w.init(validType) : arg.state === 'init' ? w.active(validType) : null;
      if (wrongState !== null) {
        at(w.copy(wrongState, all & ~b), Err.CSPACE_INSUFFICIENT_RIGHTS, `wrong-state object without right ${hex(b)}`);
      }
    }
    assert.ok(arg.rights !== 0, `${row.name} ${arg.name}: every cap argument needs some right`);

    // Step 6: the state. 'any' lookups take INIT and ACTIVE objects alike (their handlers decide).
    if (arg.type !== 'any' && arg.state !== 'any') {
      const wrong = arg.state === 'active' ? w.init(arg.type) : w.active(arg.type);
      if (wrong !== null) at(wrong, Err.OBJECT_STATE, arg.state === 'active' ? 'INIT object' : 'ACTIVE object');
      const dead = w.failed(arg.type);
      if (dead !== null) at(dead, Err.OBJECT_STATE, 'FAILED object');
    }
  }

  // §1.1: reserved arguments, checked before anything else — even before a bad cap.
  row.inputs.forEach((a, k) => {
    for (const bad of badReserved(a)) {
      expect(with_(k, bad), Err.ARGUMENT_INVALID, `${a.kind} ${a.name} = 0x${bad.toString(16)}`);
      const allBad = args.map((v, j) => (j === k ? bad : row.inputs[j]!.kind === 'cap' ? EMPTY : v));
      expect(allBad, Err.ARGUMENT_INVALID, `${a.kind} ${a.name} bad and every cap empty`);
    }
  });

  // Checks the spec puts before the lookups win over empty caps.
  for (const [k, bad, e] of PRE_LOOKUP[row.name] ?? []) {
    const blank = PRE_LOOKUP_BLANK[row.name] ?? [];
    const early = args.map((v, j) => (j === k ? bad : row.inputs[j]!.kind === 'cap' || blank.includes(j) ? EMPTY : v));
    expect(early, e, `${row.inputs[k]!.name} = 0x${bad.toString(16)} with every cap empty`);
  }

  // Nothing above changed anything the call depends on: with caps holding exactly the row's
  // rights, the valid arguments give the call's result.
  const minimal = args.map((v, i) => {
    const a = row.inputs[i]!;
    return a.kind === 'cap' ? w.copy(v, a.rights) : v;
  });
  expect(minimal, result, 'valid arguments, caps with exactly the required rights');
}

test('§2/§4.4: the table’s cap arguments (type, state, rights) are those the spec lists for every audited call', () => {
  const fmt = (row: HypercallRow): string =>
    capArgs(row)
      .map(([, a]) =>
        a.state === 'init' && a.rights === RIGHT_ACTIVATE
          ? `${a.type} init`
          : `${a.type} ${a.state === 'active' ? 'A' : a.state} ${hex(a.rights)}`,
      )
      .join(', ');
  const audited = AUDITED.map((r) => r.name);
  assert.deepEqual(Object.keys(SPEC_CAPS).sort(), [...audited].sort(), 'one spec entry per audited call');
  for (const row of AUDITED) assert.equal(fmt(row), SPEC_CAPS[row.name], row.name);
  for (const name of Object.keys(PRE_LOOKUP)) assert.ok(audited.includes(name), `PRE_LOOKUP names ${name}`);
});

test('§2: every audited call has a handler in this build (a row without one answers UNIMPLEMENTED)', () => {
  const hv = new Hypervisor();
  const missing = AUDITED.filter((r) => !hv.dispatcher.implemented(r.name)).map((r) => r.name);
  assert.deepEqual(missing, []);
});

test('§3.1/§4.2–4.4: every cap argument of every implemented call fails each lookup step with the spec’s error, in order; the valid call then succeeds', async (t) => {
  for (const row of AUDITED) {
    if (row.name === 'hypervisor_identify') continue; // no inputs, no error output (§9.5)
    await t.test(row.name, () => auditRow(row));
  }
});

test('§1.1: every reserved argument of every row with an error output — unimplemented and virtio rows too — rejects a bad value with ARGUMENT_INVALID', () => {
  const w = world();
  let checked = 0;
  for (const row of HYPERCALLS) {
    if (row.outputs[0]?.kind !== 'error' || AUDITED.includes(row)) continue; // audited rows: above
    const args = row.inputs.map((a) => (a.kind === 'res1' ? ONES : 0n));
    row.inputs.forEach((a, k) => {
      for (const bad of badReserved(a)) {
        const r = w.call(row.name, ...args.map((v, j) => (j === k ? bad : v)));
        assert.equal(r.e, Err.ARGUMENT_INVALID, `${row.name} ${a.kind} ${a.name} = 0x${bad.toString(16)}`);
        checked++;
      }
    });
    if (row.unimplemented) assert.equal(w.call(row.name, ...args).e, Err.UNIMPLEMENTED, `${row.name} with res0 = 0`);
  }
  assert.ok(checked > 0);
});

test('coverage: every implemented call is made by name in some test file under test/hyp/ besides this audit', () => {
  const dir = new URL('../../../test/hyp/', import.meta.url);
  const sources = readdirSync(dir)
    .filter((f) => f.endsWith('.test.ts') && f !== 'abi-table.test.ts')
    .map((f) => readFileSync(new URL(f, dir), 'utf8'));
  assert.ok(sources.length > 10, 'the test sources are readable');
  const missing = AUDITED.filter((r) => !sources.some((s) => new RegExp(`\\b${r.name}\\b`).test(s))).map((r) => r.name);
  assert.deepEqual(missing, [], `calls no test file names: ${missing.join(', ')}`);
});
