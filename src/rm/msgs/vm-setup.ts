// The messages the newest Linux sends while building a VM and the public RM lacks
// (resource-manager-protocol.md §2.6): VM_SET_BOOT_CONTEXT, VM_SET_DEMAND_PAGING,
// VM_SET_ADDRESS_LAYOUT. Their layouts are the client's; the rules the RM applies to them are ours
// to choose, and each is marked [infer] where it is set.

import { MsgId, RmError } from '../rpc/index.js';
import { checkUint, concat, decoded, fail, request, struct, type Codec, type StructCodec } from './codec.js';
import { noData } from './vm.js';

// --------------------------------------------------------------------- VM_SET_BOOT_CONTEXT

/** Register sets of VM_SET_BOOT_CONTEXT and how many registers each has (§2.6). */
export const BootRegSet = { X: 0, PC: 1, SP: 2 } as const;
/**
 * Registers per set: X0..X30 are the general registers, and the spec's "index 0..31" admits 31 as
 * well (XZR/SP encoding), so X takes 32; PC one; SP three (SP_EL0..EL2, [uncertain] in the spec).
 */
export const BOOT_REG_COUNT: Readonly<Record<number, number>> = { 0: 32, 1: 1, 2: 3 };

/** VM_SET_BOOT_CONTEXT: 16 bytes `{u16 vmid; u8 reg_set; u8 reg_index; u32 res; u64 value}`. */
export interface VmSetBootContextRequest {
  readonly vmid: number;
  readonly regSet: number;
  readonly regIndex: number;
  readonly value: bigint;
}

/**
 * [infer] 16 bytes exact (MSG_INVALID); a register set or index outside the table above is
 * ARGUMENT_INVALID — a well-formed message naming a register that does not exist.
 */
export const vmSetBootContextMsg = request(
  MsgId.VM_SET_BOOT_CONTEXT,
  'VM_SET_BOOT_CONTEXT',
  struct<VmSetBootContextRequest>(
    'VM_SET_BOOT_CONTEXT request',
    16,
    { vmid: [0, 'u16'], regSet: [2, 'u8'], regIndex: [3, 'u8'], value: [8, 'u64'] },
    {
      check: (v) => {
        const n = BOOT_REG_COUNT[v.regSet];
        if (n === undefined) {
          return fail(RmError.ARGUMENT_INVALID, `VM_SET_BOOT_CONTEXT request: register set ${v.regSet} is not 0..2`);
        }
        if (v.regIndex >= n) {
          return fail(
            RmError.ARGUMENT_INVALID,
            `VM_SET_BOOT_CONTEXT request: register set ${v.regSet} has no register ${v.regIndex}`,
          );
        }
        return null;
      },
    },
  ),
  noData('VM_SET_BOOT_CONTEXT'),
);

// -------------------------------------------------------------------- VM_SET_DEMAND_PAGING

/** A guest-physical range the host populates on demand. */
export interface GpaRange {
  readonly gpa: bigint;
  readonly size: bigint;
}
export const gpaRange: StructCodec<GpaRange> = struct<GpaRange>('VM_SET_DEMAND_PAGING range', 16, {
  gpa: [0, 'u64'],
  size: [8, 'u64'],
});

/** VM_SET_DEMAND_PAGING: `{u16 vmid; u16 res; u32 count; count × {u64 gpa; u64 size}}`. */
export interface VmSetDemandPagingRequest {
  readonly vmid: number;
  readonly ranges: readonly GpaRange[];
}

/**
 * [infer] The payload must be exactly 8 + 16·count bytes (MSG_INVALID), as every other counted
 * request of §2; no cap beyond what a message can hold (the spec gives none).
 */
const demandPagingRequest: Codec<VmSetDemandPagingRequest> = {
  name: 'VM_SET_DEMAND_PAGING request',
  encode(v) {
    checkUint('VM_SET_DEMAND_PAGING request: vmid', 'u16', v.vmid);
    checkUint('VM_SET_DEMAND_PAGING request: count', 'u32', v.ranges.length);
    const head = new Uint8Array(8);
    const dv = new DataView(head.buffer);
    dv.setUint16(0, v.vmid, true);
    dv.setUint32(4, v.ranges.length, true);
    return concat([head, ...v.ranges.map((r) => gpaRange.encode(r))]);
  },
  decode(b) {
    const name = 'VM_SET_DEMAND_PAGING request';
    if (b.length < 8) return fail(RmError.MSG_INVALID, `${name}: ${b.length} bytes, need at least 8`);
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const n = dv.getUint32(4, true);
    if (b.length !== 8 + 16 * n)
      return fail(RmError.MSG_INVALID, `${name}: ${n} ranges need ${8 + 16 * n} bytes, got ${b.length}`);
    const ranges: GpaRange[] = [];
    for (let i = 0; i < n; i++) {
      const r = gpaRange.decode(b.subarray(8 + 16 * i, 24 + 16 * i));
      if (!r.ok) return r;
      ranges.push(r.value);
    }
    return decoded({ vmid: dv.getUint16(0, true), ranges });
  },
};
export const vmSetDemandPagingMsg = request(
  MsgId.VM_SET_DEMAND_PAGING,
  'VM_SET_DEMAND_PAGING',
  demandPagingRequest,
  noData('VM_SET_DEMAND_PAGING'),
);

// ------------------------------------------------------------------- VM_SET_ADDRESS_LAYOUT

/** range_id values: where the config-image parcel lives, and where the firmware goes. */
export const AddressRange = { IMAGE: 0, FIRMWARE: 1 } as const;

/** VM_SET_ADDRESS_LAYOUT: 24 bytes `{u16 vmid; u16 res; u32 range_id; u64 base; u64 size}`. */
export interface VmSetAddressLayoutRequest {
  readonly vmid: number;
  readonly rangeId: number;
  readonly base: bigint;
  readonly size: bigint;
}

/** [infer] 24 bytes exact (MSG_INVALID); a range_id other than 0/1 is ARGUMENT_INVALID. */
export const vmSetAddressLayoutMsg = request(
  MsgId.VM_SET_ADDRESS_LAYOUT,
  'VM_SET_ADDRESS_LAYOUT',
  struct<VmSetAddressLayoutRequest>(
    'VM_SET_ADDRESS_LAYOUT request',
    24,
    { vmid: [0, 'u16'], rangeId: [4, 'u32'], base: [8, 'u64'], size: [16, 'u64'] },
    {
      check: (v) =>
        v.rangeId === AddressRange.IMAGE || v.rangeId === AddressRange.FIRMWARE
          ? null
          : fail(RmError.ARGUMENT_INVALID, `VM_SET_ADDRESS_LAYOUT request: range_id ${v.rangeId} is not 0 or 1`),
    },
  ),
  noData('VM_SET_ADDRESS_LAYOUT'),
);
