// Address spaces through hypercalls (hypervisor-abi.md §2.6, §10.4–10.6, §11.1): configure and
// VMIDs, thread attach, map / unmap / update_access / lookup with every attribute and range check,
// info area, VMMIO ranges, vdma; stage-2 translation and native vCPUs' guest access.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Err } from '../../src/hyp/abi/errors.js';
import { ADDRSPACE_RIGHT, MEMEXTENT_RIGHT, RIGHT_ACTIVATE } from '../../src/hyp/abi/rights.js';
import {
  MEMEXTENT_MEMTYPE as MT,
  MEMEXTENT_TYPE as KIND,
  PGTABLE_ACCESS as ACC,
  VM_MEMTYPE as VMT,
  encodeExtentAttrs,
  mappingAttrs,
} from '../../src/hyp/mem/attrs.js';
import type { Addrspace } from '../../src/hyp/mem/addrspace.js';
import { S2_PERMISSION_FAULT, S2_TRANSLATION_FAULT } from '../../src/hyp/mem/stage2.js';
import { Stage2Access } from '../../src/hyp/vm/stage2-access.js';
import { BASIC_RW, BASIC_RWX, MAP_R, MAP_RW, MAP_RWX, PAGE, SPARSE_RWX, ramPage, root } from './mem-helpers.js';

const BAD = 0x1f05n; // a well-formed cap ID naming an empty slot of the root cspace (table 31, slot 5)
const PARTIAL = 1n;
const V = 0x8000_0000n;

// ------------------------------------------------------------------------------------------------
// The scenario of the brief: RM lends part of its RAM to a new VM and takes it back.
// ------------------------------------------------------------------------------------------------

test('§10.4/§5.2: a basic extent over root RAM mapped into a new addrspace is readable and writable by its vCPU; unmap stops it at once', () => {
  const { hv, ok, err, extent, addrspace, vcpu } = root();
  const me = extent(ramPage(256), 16n * PAGE, BASIC_RWX);
  const as = addrspace();
  ok('addrspace_map', as, me, V, BigInt(MAP_RW), 0n, 0n, 0n);
  const { thread } = vcpu(as);
  const acc = thread.access!;
  // A write that crosses a page boundary lands at the right PAs.
  const data = Uint8Array.from({ length: 40 }, (_, k) => k + 1);
  assert.equal(acc.write(V + PAGE - 20n, data), Err.OK);
  const ram = hv.mem.phys.bytes;
  const off = 256 * 4096 + 4096 - 20;
  assert.deepEqual(ram.subarray(off, off + 40), data);
  assert.deepEqual(acc.read(V + PAGE - 20n, 40), data);
  ok('addrspace_unmap', as, me, V, 0n, 0n, 0n);
  assert.equal(acc.read(V, 1), Err.ADDR_INVALID);
  assert.equal(acc.write(V, new Uint8Array([0])), Err.ADDR_INVALID);
  assert.equal(err('addrspace_unmap', as, me, V, 0n, 0n, 0n), Err.ADDR_INVALID, 'no such mapping any more');
});

test('§10.4: update_access takes effect at once: read-only pages refuse writes with DENIED, and the stage-2 listeners hear of it', () => {
  const { obj, ok, extent, addrspace, vcpu } = root();
  const me = extent(ramPage(0), 4n * PAGE, BASIC_RW);
  const as = addrspace();
  ok('addrspace_map', as, me, V, BigInt(MAP_RW), 0n, 0n, 0n);
  const s2 = obj<Addrspace>(as).stage2;
  const heard: [number, number][] = [];
  s2.listeners.add((a, b) => heard.push([a, b]));
  const gen = s2.generation;
  const acc = vcpu(as).thread.access!;
  ok('addrspace_update_access', as, me, V, BigInt(ACC.R | (ACC.R << 4)), 0n, 0n, 0n);
  assert.ok(s2.generation > gen);
  assert.deepEqual(heard, [[Number(V >> 12n), Number(V >> 12n) + 4]]);
  assert.equal(acc.write(V, new Uint8Array([1])), Err.DENIED);
  assert.ok(acc.read(V, 1) instanceof Uint8Array);
  ok('addrspace_update_access', as, me, V, BigInt(ACC.RW | (ACC.RW << 4)), 0n, 0n, 0n);
  assert.equal(acc.write(V, new Uint8Array([1])), Err.OK);
});

test('§10.5: stage 2 keeps EL0 (user) and EL1 (kernel) access apart; translate gives PAs or fault kinds', () => {
  const { obj, ok, extent, addrspace } = root();
  const me = extent(ramPage(0), 2n * PAGE, BASIC_RWX);
  const as = addrspace();
  ok('addrspace_map', as, me, V, BigInt(mappingAttrs(ACC.R, ACC.RWX, VMT.NORMAL_WB)), 0n, 0n, 0n);
  const s2 = obj<Addrspace>(as).stage2;
  const READ = 1;
  const WRITE = 2;
  const FETCH = 4;
  const pa = Number(ramPage(1));
  assert.equal(s2.translate(Number(V) + 4096, READ, 0), pa);
  assert.equal(s2.translate(Number(V) + 4096, WRITE, 0), S2_PERMISSION_FAULT);
  assert.equal(s2.translate(Number(V) + 4096, FETCH, 0), S2_PERMISSION_FAULT);
  assert.equal(s2.translate(Number(V) + 4096, WRITE, 1), pa);
  assert.equal(s2.lastAllowed, READ | WRITE | FETCH);
  assert.equal(s2.translate(Number(V) + 4096, FETCH, 1), pa);
  assert.equal(s2.translate(Number(V) + 2 * 4096, READ, 1), S2_TRANSLATION_FAULT);
  assert.equal(s2.translate(2 ** 40, READ, 1), S2_TRANSLATION_FAULT);
  // An EL0 native view sees the user access.
  const el0 = new Stage2Access(s2, obj<Addrspace>(as).mem.phys, 0);
  assert.equal(el0.write(V, new Uint8Array([1])), Err.DENIED);
});

test('§5.2: guest access by VA never throws: ADDR_OVERFLOW on wrap, ADDR_INVALID past the IPA space, and a failed copy writes nothing', () => {
  const { hv, ok, extent, addrspace, vcpu } = root();
  const me = extent(ramPage(0), PAGE, BASIC_RW);
  const as = addrspace();
  ok('addrspace_map', as, me, V, BigInt(MAP_RW), 0n, 0n, 0n);
  const acc = vcpu(as).thread.access!;
  assert.equal(acc.read(0xffff_ffff_ffff_fff0n, 32), Err.ADDR_OVERFLOW);
  assert.equal(acc.write(0xffff_ffff_ffff_fff0n, new Uint8Array(32)), Err.ADDR_OVERFLOW);
  assert.equal(acc.read(1n << 40n, 4), Err.ADDR_INVALID);
  assert.deepEqual(acc.read(V + 5n, 0), new Uint8Array(0));
  // Straddling the end of the mapping: nothing is written to the mapped half either.
  assert.equal(acc.write(V + PAGE - 2n, new Uint8Array([7, 7, 7, 7])), Err.ADDR_INVALID);
  assert.equal(hv.mem.phys.bytes[4096 - 1], 0);
});

test('§11.1: the root vCPU runs in the root addrspace (VMID 255), where the RM region is identity-mapped RWX', () => {
  const { hv, vm, ok, err, create } = root();
  const rm = hv.mem.rmRegion;
  const acc = vm.thread.access!;
  assert.equal(acc.write(BigInt(rm.base + 8), new Uint8Array([0x5a])), Err.OK);
  assert.equal(hv.mem.phys.bytes[rm.base - hv.mem.phys.base + 8], 0x5a);
  const attrs = BigInt(MAP_RWX);
  assert.deepEqual(
    ok('addrspace_lookup', vm.caps.addrspace, vm.caps.rmMemextent, BigInt(rm.base), BigInt(rm.size), 0n),
    [0n, BigInt(rm.size), attrs, 0n, 0n, 0n, 0n],
  );
  assert.equal(acc.read(BigInt(hv.mem.phys.base), 1), Err.ADDR_INVALID, 'other RAM is not mapped');
  const as = create('addrspace');
  ok('addrspace_configure', as, 255n, 0n);
  assert.equal(err('object_activate', as, 0n), Err.BUSY, 'VMID 255 is the root VM’s');
});

test('§11.1: the QEMU device window is a device extent; the UART page is a derived extent the root VM may map', () => {
  const { vm, ok, err, addrspace } = root();
  assert.ok(vm.caps.deviceMemextent !== undefined && vm.caps.uartMemextent !== undefined);
  const as = addrspace();
  const dev = BigInt(mappingAttrs(ACC.RW, ACC.RW, VMT.DEVICE_nGnRE));
  ok('addrspace_map', as, vm.caps.uartMemextent, 0x0900_0000n, dev, 0n, 0n, 0n);
  assert.equal(
    err('addrspace_map', as, vm.caps.uartMemextent, 0x0a00_0000n, BigInt(MAP_RW), 0n, 0n, 0n),
    Err.ARGUMENT_INVALID,
    'normal memory types are not allowed on device extents',
  );
  // The GIC frames were carved out: the device extent does not own them, so it cannot map them.
  ok('addrspace_map', as, vm.caps.deviceMemextent, 0x1000_0000n, dev, PARTIAL, 0x0800_0000n, 0x1_0000n);
  assert.equal(err('addrspace_lookup', as, vm.caps.deviceMemextent, 0x1000_0000n, PAGE, 0n), Err.ADDR_INVALID);
});

// ------------------------------------------------------------------------------------------------
// addrspace_configure, activation, VMIDs
// ------------------------------------------------------------------------------------------------

test('§10.5: addrspace_configure accepts VMIDs 1..255 (u16 argument): 0 and 256 are ARGUMENT_INVALID', () => {
  const { err, create, copy } = root();
  const as = create('addrspace');
  assert.equal(err('addrspace_configure', as, 0n, 0n), Err.ARGUMENT_INVALID);
  assert.equal(err('addrspace_configure', as, 256n, 0n), Err.ARGUMENT_INVALID);
  assert.equal(err('addrspace_configure', as, 0x1_0005n, 0n), Err.OK, 'truncated to 16 bits: VMID 5');
  assert.equal(err('addrspace_configure', as, 254n, 1n), Err.ARGUMENT_INVALID, 'res0');
  assert.equal(err('addrspace_configure', copy(as, ADDRSPACE_RIGHT.map), 3n, 0n), Err.CSPACE_INSUFFICIENT_RIGHTS);
});

test('§4.5: addrspace activation is BUSY for an unconfigured VMID (0 is reserved) or one an active addrspace holds; deletion frees it', () => {
  const { ok, err, create, C } = root();
  const unconf = create('addrspace');
  assert.equal(err('object_activate', unconf, 0n), Err.BUSY);
  const a = create('addrspace');
  ok('addrspace_configure', a, 7n, 0n);
  ok('object_activate', a, 0n);
  assert.equal(err('addrspace_configure', a, 8n, 0n), Err.OBJECT_STATE);
  const b = create('addrspace');
  ok('addrspace_configure', b, 7n, 0n);
  assert.equal(err('object_activate', b, 0n), Err.BUSY);
  ok('cspace_delete_cap_from', C, a, 0n);
  const c = create('addrspace');
  ok('addrspace_configure', c, 7n, 0n);
  ok('object_activate', c, 0n);
});

test('§4.2: deleting an addrspace destroys it even while extents map into it; the extents forget the mappings', () => {
  const { hv, ok, C, extent, addrspace } = root();
  const before = hv.liveOf('addrspace').length;
  const me = extent(ramPage(0), PAGE);
  const as = addrspace();
  ok('addrspace_map', as, me, V, BigInt(MAP_RW), 0n, 0n, 0n);
  ok('addrspace_map', as, me, V + PAGE, BigInt(MAP_RW), 0n, 0n, 0n);
  ok('cspace_delete_cap_from', C, as, 0n);
  assert.equal(hv.liveOf('addrspace').length, before);
  const as2 = addrspace();
  // All four slots are usable again.
  for (let k = 0n; k < 4n; k++) ok('addrspace_map', as2, me, V + k * PAGE, BigInt(MAP_RW), 0n, 0n, 0n);
});

// ------------------------------------------------------------------------------------------------
// addrspace_attach_thread, attach_vdma
// ------------------------------------------------------------------------------------------------

test('§2.6/§10.5: up to 8 threads attach to one addrspace, the 9th is NOMEM; the thread must be INIT and the addrspace ACTIVE', () => {
  const { ok, err, create, C, addrspace, vic } = root();
  const as = addrspace();
  for (let k = 0; k < 8; k++) ok('addrspace_attach_thread', as, create('thread'), 0n);
  const t9 = create('thread');
  assert.equal(err('addrspace_attach_thread', as, t9, 0n), Err.NOMEM);
  const other = addrspace();
  ok('addrspace_attach_thread', other, t9, 0n);
  ok('cspace_attach_thread', C, t9, 0n);
  ok('vic_attach_vcpu', vic(), t9, 0n, 0n);
  ok('object_activate', t9, 0n);
  assert.equal(err('addrspace_attach_thread', other, t9, 0n), Err.OBJECT_STATE, 'thread active');
  const inactive = create('addrspace');
  assert.equal(err('addrspace_attach_thread', inactive, create('thread'), 0n), Err.OBJECT_STATE);
  // The thread is looked up first.
  assert.equal(err('addrspace_attach_thread', BAD, BAD - 1n, 0n), Err.CSPACE_CAP_NULL);
  assert.equal(err('addrspace_attach_thread', BAD, t9, 0n), Err.OBJECT_STATE);
});

test('§2.6: a thread attached again moves to the new addrspace (one attachment, one reference each)', () => {
  const { obj, ok, create, addrspace } = root();
  const a = addrspace();
  const b = addrspace();
  const t = create('thread');
  ok('addrspace_attach_thread', a, t, 0n);
  ok('addrspace_attach_thread', b, t, 0n);
  assert.equal(obj<Addrspace>(a).threads.length, 0);
  assert.equal(obj<Addrspace>(b).threads.length, 1);
  assert.equal(obj<Addrspace>(a).refs, 1, 'only the cap');
  assert.equal(obj<Addrspace>(b).refs, 2, 'the cap and the thread');
});

test('§2.6: addrspace_attach_vdma looks up the addrspace, then answers CSPACE_WRONG_OBJECT_TYPE (no DMA objects here)', () => {
  const { err, copy, addrspace } = root();
  const as = addrspace();
  assert.equal(err('addrspace_attach_vdma', as, 0n, 0n, 0n), Err.CSPACE_WRONG_OBJECT_TYPE);
  assert.equal(err('addrspace_attach_vdma', BAD, 0n, 0n, 0n), Err.CSPACE_CAP_NULL);
  assert.equal(err('addrspace_attach_vdma', copy(as, ADDRSPACE_RIGHT.map), 0n, 0n, 0n), Err.CSPACE_INSUFFICIENT_RIGHTS);
});

// ------------------------------------------------------------------------------------------------
// addrspace_map
// ------------------------------------------------------------------------------------------------

test('§10.4: reserved bits of map_attrs and map_flags are ARGUMENT_INVALID before any cap lookup', () => {
  const { err } = root();
  assert.equal(err('addrspace_map', BAD, BAD, V, BigInt(MAP_RW | (1 << 3)), 0n, 0n, 0n), Err.ARGUMENT_INVALID);
  assert.equal(err('addrspace_map', BAD, BAD, V, BigInt(MAP_RW | (1 << 24)), 0n, 0n, 0n), Err.ARGUMENT_INVALID);
  assert.equal(err('addrspace_map', BAD, BAD, V, BigInt(MAP_RW), 2n, 0n, 0n), Err.ARGUMENT_INVALID);
  assert.equal(
    err('addrspace_map', BAD, BAD, V, BigInt(MAP_RW), 0x8000_0000n, 0n, 0n),
    Err.CSPACE_CAP_NULL,
    'no_sync is fine',
  );
  assert.equal(err('addrspace_unmap', BAD, BAD, V, 0x4000_0000n, 0n, 0n), Err.ARGUMENT_INVALID);
  assert.equal(err('addrspace_update_access', BAD, BAD, V, 0x8n, 0n, 0n, 0n), Err.ARGUMENT_INVALID);
  assert.equal(err('addrspace_update_access', BAD, BAD, V, 0x77n, 0x10n, 0n, 0n), Err.ARGUMENT_INVALID);
});

test('§2.6: map needs the addrspace map right and the extent map right, both ACTIVE (addrspace looked up first)', () => {
  const { err, create, copy, extent, addrspace } = root();
  const me = extent(ramPage(0), PAGE);
  const as = addrspace();
  const A = BigInt(MAP_RW);
  assert.equal(
    err('addrspace_map', copy(as, ADDRSPACE_RIGHT.lookup), me, V, A, 0n, 0n, 0n),
    Err.CSPACE_INSUFFICIENT_RIGHTS,
  );
  assert.equal(
    err('addrspace_map', as, copy(me, MEMEXTENT_RIGHT.lookup), V, A, 0n, 0n, 0n),
    Err.CSPACE_INSUFFICIENT_RIGHTS,
  );
  assert.equal(err('addrspace_map', create('addrspace'), BAD, V, A, 0n, 0n, 0n), Err.OBJECT_STATE);
  assert.equal(err('addrspace_map', as, create('memextent'), V, A, 0n, 0n, 0n), Err.OBJECT_STATE);
});

test('§10.4: map checks vbase alignment, then attributes: access within the extent, memtype allowed, else ARGUMENT_INVALID', () => {
  const { err, extent, addrspace } = root();
  const rw = extent(ramPage(0), PAGE, BASIC_RW);
  const as = addrspace();
  const m = (me: bigint, attrs: number, vbase = V) => err('addrspace_map', as, me, vbase, BigInt(attrs), 0n, 0n, 0n);
  assert.equal(m(rw, MAP_RWX | (1 << 3), V + 1n), Err.ARGUMENT_INVALID, 'reserved bits first');
  assert.equal(m(rw, MAP_RWX, V + 0x800n), Err.ARGUMENT_ALIGNMENT, 'alignment before attributes');
  assert.equal(m(rw, MAP_RWX), Err.ARGUMENT_INVALID, 'X not in the extent');
  assert.equal(m(rw, mappingAttrs(ACC.RW, ACC.RWX, VMT.NORMAL_WB)), Err.ARGUMENT_INVALID, 'kernel X');
  assert.equal(m(rw, mappingAttrs(ACC.RW, ACC.RW, 4)), Err.ARGUMENT_INVALID, 'memtype 4 does not exist');
  assert.equal(m(rw, mappingAttrs(ACC.RW, ACC.RW, 16)), Err.ARGUMENT_INVALID, 'memtype 16 does not exist');
  assert.equal(m(rw, mappingAttrs(ACC.NONE, ACC.R, VMT.DEVICE_GRE)), Err.OK, 'ANY allows device types');
  const unc = extent(ramPage(8), PAGE, encodeExtentAttrs(ACC.RW, MT.UNCACHED, KIND.BASIC));
  assert.equal(m(unc, MAP_RW), Err.ARGUMENT_INVALID, 'write-back on UNCACHED');
  assert.equal(m(unc, mappingAttrs(ACC.RW, ACC.RW, VMT.NORMAL_WT)), Err.ARGUMENT_INVALID);
  assert.equal(m(unc, mappingAttrs(ACC.RW, ACC.RW, VMT.NORMAL_NC)), Err.OK);
  assert.equal(m(unc, mappingAttrs(ACC.RW, ACC.RW, VMT.DEVICE_nGnRnE), V + PAGE), Err.OK);
});

test('§10.3: a BASIC extent has at most 4 mappings (MEMEXTENT_MAPPINGS_FULL), in one or several addrspaces', () => {
  const { ok, err, extent, addrspace } = root();
  const me = extent(ramPage(0), PAGE);
  const a = addrspace();
  const b = addrspace();
  ok('addrspace_map', a, me, V, BigInt(MAP_RW), 0n, 0n, 0n);
  ok('addrspace_map', a, me, V + PAGE, BigInt(MAP_RW), 0n, 0n, 0n);
  ok('addrspace_map', b, me, V, BigInt(MAP_RW), 0n, 0n, 0n);
  ok('addrspace_map', b, me, V, BigInt(MAP_RW), 0n, 0n, 0n);
  assert.equal(err('addrspace_map', b, me, V + 8n * PAGE, BigInt(MAP_RW), 0n, 0n, 0n), Err.MEMEXTENT_MAPPINGS_FULL);
  ok('addrspace_unmap', a, me, V + PAGE, 0n, 0n, 0n);
  ok('addrspace_map', b, me, V + 8n * PAGE, BigInt(MAP_RW), 0n, 0n, 0n);
});

test('§10.4: a BASIC map whose vbase + size wraps is ADDR_OVERFLOW; one beyond the 36-bit IPA space is ADDR_INVALID', () => {
  const { err, extent, addrspace } = root();
  const me = extent(ramPage(0), 2n * PAGE);
  const as = addrspace();
  assert.equal(err('addrspace_map', as, me, 0xffff_ffff_ffff_f000n, BigInt(MAP_RW), 0n, 0n, 0n), Err.ADDR_OVERFLOW);
  assert.equal(err('addrspace_map', as, me, (1n << 36n) - PAGE, BigInt(MAP_RW), 0n, 0n, 0n), Err.ADDR_INVALID);
  assert.equal(err('addrspace_map', as, me, (1n << 36n) - 2n * PAGE, BigInt(MAP_RW), 0n, 0n, 0n), Err.OK);
});

test('§10.4: a partial map, unmap or update_access of a BASIC extent is MEMEXTENT_TYPE, after the range checks', () => {
  const { ok, err, extent, addrspace } = root();
  const me = extent(ramPage(0), 4n * PAGE);
  const as = addrspace();
  ok('addrspace_map', as, me, V, BigInt(MAP_RW), 0n, 0n, 0n);
  assert.equal(err('addrspace_map', as, me, V, BigInt(MAP_RW), PARTIAL, 0n, PAGE), Err.MEMEXTENT_TYPE);
  assert.equal(err('addrspace_map', as, me, V, BigInt(MAP_RW), PARTIAL, 0n, 8n * PAGE), Err.ARGUMENT_SIZE);
  assert.equal(err('addrspace_unmap', as, me, V, PARTIAL, 0n, PAGE), Err.MEMEXTENT_TYPE);
  assert.equal(err('addrspace_update_access', as, me, V, 0x44n, PARTIAL, 0n, PAGE), Err.MEMEXTENT_TYPE);
});

test('§10.4: partial range checks: vbase/offset/size aligned, then size ≠ 0, no wrap, inside the extent (ARGUMENT_SIZE), then attributes', () => {
  const { err, extent, addrspace } = root();
  const me = extent(ramPage(0), 4n * PAGE, SPARSE_RWX);
  const as = addrspace();
  const p = (vbase: bigint, off: bigint, size: bigint, attrs = MAP_RW) =>
    err('addrspace_map', as, me, vbase, BigInt(attrs), PARTIAL, off, size);
  assert.equal(p(V + 1n, 0n, PAGE), Err.ARGUMENT_ALIGNMENT);
  assert.equal(p(V, 1n, PAGE), Err.ARGUMENT_ALIGNMENT);
  assert.equal(p(V, 0n, 1n), Err.ARGUMENT_ALIGNMENT);
  assert.equal(p(V, 0n, 0n), Err.ARGUMENT_SIZE);
  assert.equal(p(0xffff_ffff_ffff_f000n, 0n, 2n * PAGE), Err.ARGUMENT_SIZE, 'vbase wraps');
  assert.equal(p(V, 0xffff_ffff_ffff_f000n, 2n * PAGE), Err.ARGUMENT_SIZE, 'offset wraps');
  assert.equal(p(V, 3n * PAGE, 2n * PAGE), Err.ARGUMENT_SIZE, 'outside the extent');
  assert.equal(p(V, 3n * PAGE, PAGE, mappingAttrs(ACC.RWX, ACC.RWX, 8)), Err.ARGUMENT_INVALID, 'then attributes');
  assert.equal(p(1n << 48n, 0n, PAGE), Err.ADDR_INVALID, 'vbase beyond 2^48');
  assert.equal(p(1n << 36n, 0n, PAGE), Err.ADDR_INVALID, 'beyond the IPA space');
  assert.equal(p(V, 3n * PAGE, PAGE), Err.OK);
});

test('§10.3: a SPARSE extent has 4 per-addrspace slots: many disjoint maps into one addrspace, overlapping ones take new slots, a 5th addrspace is MAPPINGS_FULL', () => {
  const { ok, err, P, extent, addrspace } = root();
  const me = extent(ramPage(0), 16n * PAGE, SPARSE_RWX);
  ok('memextent_donate', 0n, P, me, 0n, 16n * PAGE, 0n);
  const a = addrspace();
  for (let k = 0n; k < 16n; k++) ok('addrspace_map', a, me, V + 2n * k * PAGE, BigInt(MAP_RW), PARTIAL, k * PAGE, PAGE);
  // The same PA range again in the same addrspace overlaps slot 0's records: a second slot.
  ok('addrspace_map', a, me, 0x1_0000_0000n, BigInt(MAP_RW), 0n, 0n, 0n);
  const b = addrspace();
  const c = addrspace();
  ok('addrspace_map', b, me, V, BigInt(MAP_RW), 0n, 0n, 0n);
  ok('addrspace_map', c, me, V, BigInt(MAP_RW), 0n, 0n, 0n);
  const d = addrspace();
  assert.equal(err('addrspace_map', d, me, V, BigInt(MAP_RW), 0n, 0n, 0n), Err.MEMEXTENT_MAPPINGS_FULL);
  // Every mapping is live: page 5 at V + 10 pages in a, and at 0x1_0000_5000 too.
  assert.deepEqual(ok('addrspace_lookup', a, me, V + 10n * PAGE, PAGE, 0n).slice(0, 2), [5n * PAGE, PAGE]);
  assert.deepEqual(ok('addrspace_lookup', a, me, 0x1_0000_5000n, PAGE, 0n).slice(0, 2), [5n * PAGE, PAGE]);
});

test('§10.4: a sparse mapping is recorded for pages the extent does not own yet and becomes live when they are donated', () => {
  const { ok, err, P, extent, addrspace, vcpu } = root();
  const me = extent(ramPage(0), 8n * PAGE, SPARSE_RWX);
  const as = addrspace();
  ok('addrspace_map', as, me, V, BigInt(MAP_RW), 0n, 0n, 0n);
  const acc = vcpu(as).thread.access!;
  assert.equal(acc.read(V + 3n * PAGE, 1), Err.ADDR_INVALID);
  ok('memextent_donate', 0n, P, me, 3n * PAGE, PAGE, 0n);
  assert.ok(acc.read(V + 3n * PAGE, 1) instanceof Uint8Array);
  assert.equal(acc.read(V + 2n * PAGE, 1), Err.ADDR_INVALID);
  assert.equal(err('addrspace_lookup', as, me, V + 2n * PAGE, PAGE, 0n), Err.ADDR_INVALID);
});

// ------------------------------------------------------------------------------------------------
// addrspace_unmap, update_access
// ------------------------------------------------------------------------------------------------

test('§10.4: unmap of a mapping that does not exist is ADDR_INVALID for BASIC and SPARSE (wrong vbase, wrong addrspace, wrong range)', () => {
  const { ok, err, P, extent, addrspace } = root();
  const b = extent(ramPage(0), 2n * PAGE);
  const s = extent(ramPage(8), 8n * PAGE, SPARSE_RWX);
  ok('memextent_donate', 0n, P, s, 0n, 8n * PAGE, 0n);
  const as = addrspace();
  const other = addrspace();
  ok('addrspace_map', as, b, V, BigInt(MAP_RW), 0n, 0n, 0n);
  ok('addrspace_map', as, s, V + 0x10_0000n, BigInt(MAP_RW), PARTIAL, 0n, 4n * PAGE);
  assert.equal(err('addrspace_unmap', as, b, V + PAGE, 0n, 0n, 0n), Err.ADDR_INVALID);
  assert.equal(err('addrspace_unmap', other, b, V, 0n, 0n, 0n), Err.ADDR_INVALID);
  assert.equal(err('addrspace_unmap', as, s, V + 0x10_0000n, 0n, 0n, 0n), Err.ADDR_INVALID, 'whole extent not mapped');
  assert.equal(err('addrspace_unmap', as, s, V + 0x10_1000n, PARTIAL, 0n, PAGE), Err.ADDR_INVALID, 'wrong vbase');
  assert.equal(err('addrspace_unmap', as, s, V + 0x10_0000n, 0x8000_0001n, PAGE, 8n * PAGE), Err.ARGUMENT_SIZE);
  assert.equal(err('addrspace_unmap', as, b, V + 1n, 0n, 0n, 0n), Err.ARGUMENT_ALIGNMENT);
  // A sub-range of a sparse mapping can be unmapped on its own.
  ok('addrspace_unmap', as, s, V + 0x10_1000n, PARTIAL, PAGE, PAGE);
  assert.equal(err('addrspace_lookup', as, s, V + 0x10_1000n, PAGE, 0n), Err.ADDR_INVALID);
  assert.deepEqual(ok('addrspace_lookup', as, s, V + 0x10_2000n, 8n * PAGE, 0n).slice(0, 2), [2n * PAGE, 2n * PAGE]);
});

test('§10.4: unmap removes only its own entries: another extent mapped over the same IPAs keeps them', () => {
  const { ok, err, extent, addrspace } = root();
  const a = extent(ramPage(0), 2n * PAGE);
  const b = extent(ramPage(8), 2n * PAGE);
  const as = addrspace();
  ok('addrspace_map', as, a, V, BigInt(MAP_RW), 0n, 0n, 0n);
  ok('addrspace_map', as, b, V + PAGE, BigInt(MAP_RW), 0n, 0n, 0n); // replaces a's second page
  ok('addrspace_unmap', as, a, V, 0n, 0n, 0n);
  assert.equal(err('addrspace_lookup', as, a, V, PAGE, 0n), Err.ADDR_INVALID);
  assert.deepEqual(ok('addrspace_lookup', as, b, V + PAGE, 2n * PAGE, 0n).slice(0, 2), [0n, 2n * PAGE]);
});

test('§10.4: update_access checks access against the extent (ARGUMENT_INVALID) before vbase alignment; an unknown mapping is ADDR_INVALID', () => {
  const { ok, err, extent, addrspace } = root();
  const me = extent(ramPage(0), 2n * PAGE, BASIC_RW);
  const as = addrspace();
  ok('addrspace_map', as, me, V, BigInt(MAP_RW), 0n, 0n, 0n);
  assert.equal(err('addrspace_update_access', as, me, V + 1n, 0x77n, 0n, 0n, 0n), Err.ARGUMENT_INVALID);
  assert.equal(err('addrspace_update_access', as, me, V + 1n, 0x44n, 0n, 0n, 0n), Err.ARGUMENT_ALIGNMENT);
  assert.equal(err('addrspace_update_access', as, me, V + PAGE, 0x44n, 0n, 0n, 0n), Err.ADDR_INVALID);
  ok('addrspace_update_access', as, me, V, 0x40n, 0n, 0n, 0n); // user none, kernel R
  assert.deepEqual(ok('addrspace_lookup', as, me, V, 2n * PAGE, 0n).slice(0, 3), [
    0n,
    2n * PAGE,
    BigInt(mappingAttrs(ACC.NONE, ACC.R, VMT.NORMAL_WB)),
  ]);
});

test('§10.4: update_access on part of a sparse mapping changes only that part and keeps its memory type', () => {
  const { ok, err, P, extent, addrspace } = root();
  const me = extent(ramPage(0), 8n * PAGE, SPARSE_RWX);
  ok('memextent_donate', 0n, P, me, 0n, 8n * PAGE, 0n);
  const as = addrspace();
  const nc = mappingAttrs(ACC.RW, ACC.RW, VMT.NORMAL_NC);
  ok('addrspace_map', as, me, V, BigInt(nc), 0n, 0n, 0n);
  ok('addrspace_update_access', as, me, V + 2n * PAGE, 0x44n, PARTIAL, 2n * PAGE, 2n * PAGE);
  const ro = BigInt(mappingAttrs(ACC.R, ACC.R, VMT.NORMAL_NC));
  assert.deepEqual(ok('addrspace_lookup', as, me, V, 8n * PAGE, 0n).slice(0, 3), [0n, 2n * PAGE, BigInt(nc)]);
  assert.deepEqual(ok('addrspace_lookup', as, me, V + 2n * PAGE, 8n * PAGE, 0n).slice(0, 3), [
    2n * PAGE,
    2n * PAGE,
    ro,
  ]);
  assert.equal(
    err('addrspace_update_access', as, me, V + 3n * PAGE, 0x66n, PARTIAL, 1n * PAGE, PAGE),
    Err.ADDR_INVALID,
    'no mapping of that page at that vbase',
  );
  // The whole range now mixes two attribute sets: not one mapping.
  assert.equal(err('addrspace_update_access', as, me, V, 0x66n, 0n, 0n, 0n), Err.ADDR_INVALID);
});

// ------------------------------------------------------------------------------------------------
// addrspace_lookup
// ------------------------------------------------------------------------------------------------

test('§10.4: addrspace_lookup checks size ≠ 0, then wrap (ADDR_OVERFLOW), then alignment; returns offset, contiguous size and attributes', () => {
  const { ok, err, extent, addrspace, copy } = root();
  const me = extent(ramPage(4), 4n * PAGE, BASIC_RWX);
  const other = extent(ramPage(64), PAGE);
  const as = addrspace();
  ok('addrspace_map', as, me, V, BigInt(MAP_RWX), 0n, 0n, 0n);
  ok('addrspace_map', as, other, V + 4n * PAGE, BigInt(MAP_RW), 0n, 0n, 0n);
  assert.equal(err('addrspace_lookup', as, me, V + 1n, 0n, 0n), Err.ARGUMENT_SIZE);
  assert.equal(err('addrspace_lookup', as, me, 0xffff_ffff_ffff_f001n, 0x1000n, 0n), Err.ADDR_OVERFLOW);
  assert.equal(err('addrspace_lookup', as, me, V + 1n, PAGE, 0n), Err.ARGUMENT_ALIGNMENT);
  assert.equal(err('addrspace_lookup', as, me, V, 0x800n, 0n), Err.ARGUMENT_ALIGNMENT);
  assert.equal(err('addrspace_lookup', as, me, V - PAGE, PAGE, 0n), Err.ADDR_INVALID, 'unmapped start');
  assert.equal(err('addrspace_lookup', as, me, V + 4n * PAGE, PAGE, 0n), Err.MEMDB_NOT_OWNER, "another extent's page");
  assert.deepEqual(ok('addrspace_lookup', as, me, V + PAGE, 64n * PAGE, 0n), [
    PAGE,
    3n * PAGE,
    BigInt(MAP_RWX),
    0n,
    0n,
    0n,
    0n,
  ]);
  assert.deepEqual(ok('addrspace_lookup', as, me, V + PAGE, PAGE, 0n).slice(0, 2), [PAGE, PAGE], 'capped at size');
  assert.equal(err('addrspace_lookup', copy(as, ADDRSPACE_RIGHT.map), me, V, PAGE, 0n), Err.CSPACE_INSUFFICIENT_RIGHTS);
  assert.equal(err('addrspace_lookup', as, copy(me, MEMEXTENT_RIGHT.map), V, PAGE, 0n), Err.CSPACE_INSUFFICIENT_RIGHTS);
});

// ------------------------------------------------------------------------------------------------
// addrspace_configure_info_area
// ------------------------------------------------------------------------------------------------

test('§10.5: the info area is a BASIC, RW, memtype-ANY extent of at most 4 KiB at an aligned IPA; it is zeroed at activation', () => {
  const { hv, ok, err, create, extent } = root();
  hv.mem.phys.bytes.fill(0xee, 0, 2 * 4096);
  const info = extent(ramPage(0), PAGE);
  const as = create('addrspace');
  ok('addrspace_configure', as, 12n, 0n);
  assert.equal(err('addrspace_configure_info_area', as, extent(ramPage(16), 2n * PAGE), V, 0n), Err.ARGUMENT_SIZE);
  assert.equal(
    err('addrspace_configure_info_area', as, extent(ramPage(20), PAGE, SPARSE_RWX), V, 0n),
    Err.ARGUMENT_INVALID,
  );
  const dev = extent(ramPage(21), PAGE, encodeExtentAttrs(ACC.RW, MT.UNCACHED, KIND.BASIC));
  assert.equal(err('addrspace_configure_info_area', as, dev, V, 0n), Err.ARGUMENT_INVALID, 'memtype not ANY');
  const ro = extent(ramPage(22), PAGE, encodeExtentAttrs(ACC.R, MT.ANY, KIND.BASIC));
  assert.equal(err('addrspace_configure_info_area', as, ro, V, 0n), Err.DENIED, 'not writable');
  assert.equal(err('addrspace_configure_info_area', as, info, V + 8n, 0n), Err.ARGUMENT_ALIGNMENT);
  assert.equal(err('addrspace_configure_info_area', as, info, 1n << 36n, 0n), Err.ADDR_INVALID);
  ok('addrspace_configure_info_area', as, info, V, 0n);
  ok('object_activate', as, 0n);
  assert.equal(hv.mem.phys.bytes[0], 0);
  assert.equal(hv.mem.phys.bytes[4096], 0xee, 'only the info area');
  assert.equal(err('addrspace_configure_info_area', as, info, V, 0n), Err.OBJECT_STATE);
});

// ------------------------------------------------------------------------------------------------
// addrspace_configure_vmmio
// ------------------------------------------------------------------------------------------------

test('§10.6: VMMIO ADD: size ≠ 0, no wrap, ≤ 128 ranges (NORESOURCES), inside the IPA space, no overlap (BUSY)', () => {
  const { obj, ok, err, addrspace } = root();
  const as = addrspace();
  const add = (base: bigint, size: bigint) => err('addrspace_configure_vmmio', as, base, size, 0n, 0n);
  assert.equal(add(0x1000n, 0n), Err.ARGUMENT_SIZE);
  assert.equal(add(0xffff_ffff_ffff_ff00n, 0x200n), Err.ADDR_OVERFLOW);
  assert.equal(add(1n << 36n, 4n), Err.ARGUMENT_SIZE);
  assert.equal(add(0x0a00_0000n, 0x200n), Err.OK);
  assert.equal(add(0x0a00_01f0n, 0x20n), Err.BUSY);
  assert.equal(add(0x09ff_fff0n, 0x11n), Err.BUSY);
  assert.equal(add(0x0a00_0200n, 0x200n), Err.OK, 'adjacent is fine');
  for (let k = 2n; k < 128n; k++) ok('addrspace_configure_vmmio', as, 0x1000_0000n + k * 0x1000n, 0x10n, 0n, 0n);
  assert.equal(add(0x2000_0000n, 0x10n), Err.NORESOURCES);
  const A = obj<Addrspace>(as);
  assert.equal(A.vmmio.length, 128);
  assert.ok(A.vmmioContains(0x0a00_0100, 4));
  assert.ok(!A.vmmioContains(0x0a00_03fe, 4), 'runs past the range');
});

test('§10.6: VMMIO REMOVE needs an exactly matching range (else BUSY); other ops are UNIMPLEMENTED; INIT and ACTIVE both allowed', () => {
  const { ok, err, create, copy } = root();
  const as = create('addrspace');
  ok('addrspace_configure_vmmio', as, 0x0a00_0000n, 0x200n, 0n, 0n);
  ok('addrspace_configure', as, 40n, 0n);
  ok('object_activate', as, 0n);
  assert.equal(err('addrspace_configure_vmmio', as, 0x0a00_0000n, 0x100n, 1n, 0n), Err.BUSY);
  assert.equal(err('addrspace_configure_vmmio', as, 0x0a00_0000n, 0x200n, 2n, 0n), Err.UNIMPLEMENTED);
  ok('addrspace_configure_vmmio', as, 0x0a00_0000n, 0x200n, 1n, 0n);
  assert.equal(err('addrspace_configure_vmmio', as, 0x0a00_0000n, 0x200n, 1n, 0n), Err.BUSY, 'gone');
  const noRight = copy(as, ADDRSPACE_RIGHT.map | ADDRSPACE_RIGHT.attach | RIGHT_ACTIVATE);
  assert.equal(err('addrspace_configure_vmmio', noRight, 0x0a00_0000n, 0x200n, 0n, 0n), Err.CSPACE_INSUFFICIENT_RIGHTS);
});

test('§10.4: mapping a read-only BASIC extent RW is refused, R is fine (access ⊆ extent access)', () => {
  const { err, extent, addrspace } = root();
  const ro = extent(ramPage(0), PAGE, encodeExtentAttrs(ACC.R, MT.ANY, KIND.BASIC));
  const as = addrspace();
  assert.equal(err('addrspace_map', as, ro, V, BigInt(MAP_RW), 0n, 0n, 0n), Err.ARGUMENT_INVALID);
  assert.equal(err('addrspace_map', as, ro, V, BigInt(MAP_R), 0n, 0n, 0n), Err.OK);
  assert.equal(
    err('addrspace_map', as, extent(ramPage(1), PAGE, BASIC_RW), V + PAGE, BigInt(MAP_R), 0n, 0n, 0n),
    Err.OK,
  );
});
