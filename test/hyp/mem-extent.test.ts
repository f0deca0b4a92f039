// Memory extents through hypercalls (hypervisor-abi.md §2.7, §10.1–10.4): configure, derive,
// activation and ownership, modify, donate — success paths, every error path and its order, rights.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Err } from '../../src/hyp/abi/errors.js';
import { MEMEXTENT_RIGHT, PARTITION_RIGHT, RIGHT_ACTIVATE } from '../../src/hyp/abi/rights.js';
import {
  MEMEXTENT_MEMTYPE as MT,
  MEMEXTENT_TYPE as KIND,
  PGTABLE_ACCESS as ACC,
  VM_MEMTYPE,
  encodeExtentAttrs,
  mappingAttrs,
} from '../../src/hyp/mem/attrs.js';
import type { MemExtent } from '../../src/hyp/mem/memextent.js';
import { HYP_OWNER } from '../../src/hyp/mem/memdb.js';
import { BASIC_RW, BASIC_RWX, MAP_RW, MAP_RWX, PAGE, SPARSE_RWX, ramPage, root } from './mem-helpers.js';

const NO_SYNC = 0x8000_0000n;
const ZERO_RANGE = 1n | NO_SYNC;
const BAD = 0x1f05n; // a well-formed cap ID naming an empty slot of the root cspace (table 31, slot 5)

test('§10.1/§11.1: at boot the root partition owns every page of RAM and the hypervisor none', () => {
  const { hv, vm } = root();
  const db = hv.mem.memdb;
  const pages = hv.mem.phys.size / 4096;
  // The RM memory extent took its region from the partition; everything else is the partition's.
  const rm = vm.rmMemextent;
  assert.equal(db.countOwned(vm.partition) + db.countOwned(rm), pages);
  assert.equal(db.countOwned(HYP_OWNER), 0);
  assert.equal(rm.ownedPages, rm.pages);
});

test('§10.3: memextent_configure checks size/wrap (ARGUMENT_INVALID) before alignment (ARGUMENT_ALIGNMENT) before attributes', () => {
  const { create, err } = root();
  const me = create('memextent');
  const A = BigInt(BASIC_RW);
  assert.equal(err('memextent_configure', me, 0x123n, 0n, A, 0n), Err.ARGUMENT_INVALID, 'size 0 wins over alignment');
  assert.equal(err('memextent_configure', me, 0xffff_ffff_ffff_f000n, 0x2000n, A, 0n), Err.ARGUMENT_INVALID, 'wrap');
  assert.equal(err('memextent_configure', me, 0x4000_0800n, 0x1000n, A, 0n), Err.ARGUMENT_ALIGNMENT);
  assert.equal(err('memextent_configure', me, 0x4000_0000n, 0x1800n, A, 0n), Err.ARGUMENT_ALIGNMENT);
  assert.equal(err('memextent_configure', me, 0x4000_0800n, 0x1000n, 1n << 3n, 0n), Err.ARGUMENT_ALIGNMENT);
  // Attributes: res0 bits, append, access NONE, memtype CACHED, type 2.
  for (const bad of [
    BASIC_RW | (1 << 3),
    BASIC_RW | (1 << 12),
    BASIC_RW | (1 << 31),
    encodeExtentAttrs(ACC.NONE, MT.ANY, KIND.BASIC),
    encodeExtentAttrs(ACC.RW, MT.CACHED, KIND.BASIC),
    encodeExtentAttrs(ACC.RW, MT.ANY, 2),
  ]) {
    assert.equal(err('memextent_configure', me, 0x4000_0000n, 0x1000n, BigInt(bad >>> 0), 0n), Err.ARGUMENT_INVALID);
  }
  assert.equal(err('memextent_configure', me, 0x4000_0000n, 0x1000n, A, 0n), Err.OK);
});

test('§2.7/§4.2: memextent_configure needs the activate right and state INIT; the res0 argument is checked first', () => {
  const { ok, err, create, copy } = root();
  const me = create('memextent');
  const noAct = copy(me, MEMEXTENT_RIGHT.map);
  assert.equal(
    err('memextent_configure', noAct, ramPage(0), PAGE, BigInt(BASIC_RW), 0n),
    Err.CSPACE_INSUFFICIENT_RIGHTS,
  );
  assert.equal(err('memextent_configure', me, ramPage(0), PAGE, BigInt(BASIC_RW), 1n), Err.ARGUMENT_INVALID);
  ok('memextent_configure', me, ramPage(0), PAGE, BigInt(BASIC_RW), 0n);
  ok('object_activate', me, 0n);
  assert.equal(err('memextent_configure', me, ramPage(1), PAGE, BigInt(BASIC_RW), 0n), Err.OBJECT_STATE);
});

test('§4.5: activating an unconfigured extent fails OBJECT_CONFIG and leaves it FAILED for good', () => {
  const { err, create } = root();
  const me = create('memextent');
  assert.equal(err('object_activate', me, 0n), Err.OBJECT_CONFIG);
  assert.equal(err('object_activate', me, 0n), Err.OBJECT_STATE);
  assert.equal(err('memextent_configure', me, ramPage(0), PAGE, BigInt(BASIC_RW), 0n), Err.OBJECT_STATE);
});

test('§10.3: a BASIC extent takes its whole range from its partition; a range it does not wholly own is MEMDB_NOT_OWNER', () => {
  const { hv, vm, ok, err, create, obj, extent } = root();
  const a = extent(ramPage(16), 16n * PAGE);
  const me = obj<MemExtent>(a);
  assert.equal(hv.mem.memdb.countOwned(me), 16);
  // Overlapping the first extent by one page: the partition does not own that page any more.
  const b = create('memextent');
  ok('memextent_configure', b, ramPage(31), 4n * PAGE, BigInt(BASIC_RW), 0n);
  assert.equal(err('object_activate', b, 0n), Err.MEMDB_NOT_OWNER);
  // Outside RAM: nobody owns it.
  const c = create('memextent');
  ok('memextent_configure', c, 0x1_0000_0000n, PAGE, BigInt(BASIC_RW), 0n);
  assert.equal(err('object_activate', c, 0n), Err.MEMDB_NOT_OWNER);
  // Nothing moved on failure.
  assert.equal(hv.mem.memdb.countOwned(me), 16);
  assert.equal(hv.mem.memdb.ownerOf(Number(ramPage(31) >> 12n)), me);
  assert.equal(hv.mem.memdb.ownerOf(Number(ramPage(32) >> 12n)), vm.partition);
});

test('§10.3: a SPARSE extent owns nothing at activation, even over memory nobody has', () => {
  const { hv, obj, extent } = root();
  const s = obj<MemExtent>(extent(ramPage(0), 64n * PAGE, SPARSE_RWX));
  assert.equal(s.ownedPages, 0);
  const far = obj<MemExtent>(extent(0x10_0000_0000n, 1n << 40n, SPARSE_RWX));
  assert.equal(far.ownedPages, 0);
  assert.equal(hv.mem.memdb.countOwned(far), 0);
});

test('§4.2/§10.3: deleting an active extent returns its pages to the partition, and the extent is destroyed', () => {
  const { hv, vm, ok, C, obj, extent } = root();
  const before = hv.liveOf('memextent').length;
  const a = extent(ramPage(0), 8n * PAGE);
  assert.equal(hv.liveOf('memextent').length, before + 1);
  assert.equal(obj<MemExtent>(a).ownedPages, 8);
  ok('cspace_delete_cap_from', C, a, 0n);
  assert.equal(hv.liveOf('memextent').length, before);
  assert.equal(hv.mem.memdb.countOwned(vm.partition, Number(ramPage(0) >> 12n), Number(ramPage(8) >> 12n)), 8);
  extent(ramPage(0), 8n * PAGE); // the range can be taken again
});

test('§10.3: memextent_configure_derive checks, in order: size/wrap, range in parent (ADDR_INVALID), alignment, attributes, access subset, memtype', () => {
  const { ok, err, create, extent } = root();
  const parent = extent(ramPage(0), 16n * PAGE, BASIC_RW);
  const me = create('memextent');
  const d = (off: bigint, size: bigint, attrs = BASIC_RW) =>
    err('memextent_configure_derive', me, parent, off, size, BigInt(attrs >>> 0), 0n);
  assert.equal(d(0x800n, 0n), Err.ARGUMENT_INVALID, 'size 0');
  assert.equal(d(0xffff_ffff_ffff_f000n, 0x2000n), Err.ARGUMENT_INVALID, 'offset + size wraps');
  assert.equal(d(16n * PAGE, PAGE), Err.ADDR_INVALID, 'offset at the end');
  assert.equal(d(15n * PAGE, 2n * PAGE), Err.ADDR_INVALID, 'runs past the end');
  assert.equal(d(0x800n, PAGE), Err.ARGUMENT_ALIGNMENT);
  assert.equal(d(0n, 0x800n), Err.ARGUMENT_ALIGNMENT);
  assert.equal(d(0n, PAGE, BASIC_RW | (1 << 31)), Err.ARGUMENT_INVALID, 'append');
  assert.equal(d(0n, PAGE, encodeExtentAttrs(ACC.RWX, MT.ANY, KIND.BASIC)), Err.ARGUMENT_INVALID, 'X not in parent');
  assert.equal(d(0n, PAGE, encodeExtentAttrs(ACC.R, MT.DEVICE, KIND.BASIC)), Err.OK, 'parent ANY allows any memtype');
  ok('memextent_configure_derive', me, parent, 0n, PAGE, BigInt(BASIC_RW), 0n);
  // A parent with a fixed memtype: the child must match it.
  const unc = extent(ramPage(32), 4n * PAGE, encodeExtentAttrs(ACC.RW, MT.UNCACHED, KIND.BASIC));
  const me2 = create('memextent');
  const dev = encodeExtentAttrs(ACC.RW, MT.DEVICE, KIND.BASIC);
  assert.equal(err('memextent_configure_derive', me2, unc, 0n, PAGE, BigInt(dev), 0n), Err.ARGUMENT_INVALID);
  const uncAttrs = encodeExtentAttrs(ACC.R, MT.UNCACHED, KIND.BASIC);
  assert.equal(err('memextent_configure_derive', me2, unc, 0n, PAGE, BigInt(uncAttrs), 0n), Err.OK);
});

test('§2.7: configure_derive needs derive on an ACTIVE parent (looked up first) and activate on an INIT child', () => {
  const { err, create, copy, extent } = root();
  const parent = extent(ramPage(0), 4n * PAGE);
  const child = create('memextent');
  const A = BigInt(BASIC_RW);
  const noDerive = copy(parent, MEMEXTENT_RIGHT.map);
  assert.equal(err('memextent_configure_derive', child, noDerive, 0n, PAGE, A, 0n), Err.CSPACE_INSUFFICIENT_RIGHTS);
  // Both caps bad: the parent's error is reported.
  assert.equal(err('memextent_configure_derive', BAD, noDerive, 0n, PAGE, A, 0n), Err.CSPACE_INSUFFICIENT_RIGHTS);
  const inactive = create('memextent');
  assert.equal(err('memextent_configure_derive', child, inactive, 0n, PAGE, A, 0n), Err.OBJECT_STATE);
  const noAct = copy(child, MEMEXTENT_RIGHT.map);
  assert.equal(err('memextent_configure_derive', noAct, parent, 0n, PAGE, A, 0n), Err.CSPACE_INSUFFICIENT_RIGHTS);
  assert.equal(err('memextent_configure_derive', parent, parent, 0n, PAGE, A, 0n), Err.OBJECT_STATE, 'child active');
});

test('§10.3: a derived BASIC extent takes its range from the parent; an overlapping sibling is MEMDB_NOT_OWNER; destroying the child gives it back', () => {
  const { hv, ok, err, create, obj, extent, derive, C } = root();
  const parent = extent(ramPage(0), 16n * PAGE);
  const P = obj<MemExtent>(parent);
  const child = derive(parent, 4n * PAGE, 4n * PAGE);
  const K = obj<MemExtent>(child);
  assert.equal(K.ownedPages, 4);
  assert.equal(P.ownedPages, 12);
  const sib = create('memextent');
  ok('memextent_configure_derive', sib, parent, 6n * PAGE, 4n * PAGE, BigInt(BASIC_RW), 0n);
  assert.equal(err('object_activate', sib, 0n), Err.MEMDB_NOT_OWNER);
  ok('cspace_delete_cap_from', C, child, 0n);
  assert.equal(P.ownedPages, 16);
  assert.equal(hv.mem.memdb.countOwned(K), 0);
  derive(parent, 6n * PAGE, 4n * PAGE);
});

test('§4.2: a derived extent holds a reference to its parent: deleting the parent cap keeps the parent until the child goes', () => {
  const { hv, ok, C, extent, derive } = root();
  const before = hv.liveOf('memextent').length;
  const parent = extent(ramPage(0), 8n * PAGE);
  const child = derive(parent, 0n, PAGE);
  ok('cspace_delete_cap_from', C, parent, 0n);
  assert.equal(hv.liveOf('memextent').length, before + 2);
  ok('cspace_delete_cap_from', C, child, 0n);
  assert.equal(hv.liveOf('memextent').length, before);
});

test("§10.3: a derived BASIC extent inherits the parent's mappings of its range with its own (reduced) access; destroying it restores the parent's", () => {
  const { ok, C, extent, derive, addrspace } = root();
  const parent = extent(ramPage(0), 16n * PAGE, BASIC_RWX);
  const as = addrspace();
  const V = 0x8000_0000n;
  ok('addrspace_map', as, parent, V, BigInt(MAP_RWX), 0n, 0n, 0n);
  const child = derive(parent, 4n * PAGE, 2n * PAGE, encodeExtentAttrs(ACC.R, MT.ANY, KIND.BASIC));
  const childRead = BigInt(mappingAttrs(ACC.R, ACC.R, VM_MEMTYPE.NORMAL_WB));
  // The child's pages are mapped at the same IPAs, read-only, and belong to the child.
  assert.deepEqual(ok('addrspace_lookup', as, child, V + 4n * PAGE, 2n * PAGE, 0n).slice(0, 3), [
    0n,
    2n * PAGE,
    childRead,
  ]);
  // The parent's own run now stops before the child's pages.
  assert.deepEqual(ok('addrspace_lookup', as, parent, V, 16n * PAGE, 0n).slice(0, 3), [0n, 4n * PAGE, BigInt(MAP_RWX)]);
  ok('cspace_delete_cap_from', C, child, 0n);
  assert.deepEqual(ok('addrspace_lookup', as, parent, V, 16n * PAGE, 0n).slice(0, 3), [
    0n,
    16n * PAGE,
    BigInt(MAP_RWX),
  ]);
});

test('§10.3: a derived BASIC extent under a SPARSE parent that maps only part of its range fails DENIED; fully mapped it inherits', () => {
  const { ok, err, create, P, extent, derive, addrspace } = root();
  const parent = extent(ramPage(0), 16n * PAGE, SPARSE_RWX);
  ok('memextent_donate', 0n, P, parent, 0n, 16n * PAGE, 0n); // TO_CHILD from the partition
  const as = addrspace();
  ok('addrspace_map', as, parent, 0x1000_0000n, BigInt(MAP_RW), 1n, 0n, 2n * PAGE); // partial: pages 0..1
  const child = create('memextent');
  ok('memextent_configure_derive', child, parent, 0n, 4n * PAGE, BigInt(BASIC_RW), 0n);
  assert.equal(err('object_activate', child, 0n), Err.DENIED);
  const whole = derive(parent, 0n, 2n * PAGE);
  assert.deepEqual(ok('addrspace_lookup', as, whole, 0x1000_0000n, 2n * PAGE, 0n).slice(0, 2), [0n, 2n * PAGE]);
});

test('§4.5: deriving from an extent attached as an info area fails BUSY at activation', () => {
  const { ok, err, create, extent } = root();
  const info = extent(ramPage(0), PAGE);
  const as = create('addrspace');
  ok('addrspace_configure', as, 9n, 0n);
  ok('addrspace_configure_info_area', as, info, 0x9000_0000n, 0n);
  ok('object_activate', as, 0n);
  const child = create('memextent');
  ok('memextent_configure_derive', child, info, 0n, PAGE, BigInt(BASIC_RW), 0n);
  assert.equal(err('object_activate', child, 0n), Err.BUSY);
});

// ------------------------------------------------------------------------------------------------
// memextent_modify
// ------------------------------------------------------------------------------------------------

test('§10.4: memextent_modify checks reserved flag bits 30:8 before the cap lookup', () => {
  const { err, extent } = root();
  const me = extent(ramPage(0), PAGE);
  assert.equal(err('memextent_modify', BAD, 0x100n, 0n, 0n), Err.ARGUMENT_INVALID);
  assert.equal(err('memextent_modify', BAD, 0n, 0n, 0n), Err.CSPACE_CAP_NULL);
  assert.equal(err('memextent_modify', me, 0x4000_0000n, 0n, 0n), Err.ARGUMENT_INVALID);
});

test('§10.4: ZERO_RANGE zeroes the owned pages of the range (and only them), and needs no_sync', () => {
  const { hv, ok, err, extent } = root();
  const ram = hv.mem.phys.bytes;
  ram.fill(0xaa, 0, 8 * 4096);
  const me = extent(ramPage(0), 8n * PAGE);
  assert.equal(err('memextent_modify', me, 1n, 0n, PAGE), Err.ARGUMENT_INVALID, 'range op without no_sync');
  ok('memextent_modify', me, ZERO_RANGE, 2n * PAGE, 3n * PAGE);
  assert.equal(ram[2 * 4096 - 1], 0xaa);
  assert.ok(ram.subarray(2 * 4096, 5 * 4096).every((b) => b === 0));
  assert.equal(ram[5 * 4096], 0xaa);
  ok('memextent_modify', me, 2n | NO_SYNC, 0n, PAGE); // CACHE_CLEAN_RANGE
  ok('memextent_modify', me, 3n | NO_SYNC, 0n, PAGE); // CACHE_FLUSH_RANGE
  assert.equal(ram[0], 0xaa, 'clean/flush do not change memory');
});

test('§10.4: range ops check, in order: DENIED (device or not writable), ARGUMENT_ALIGNMENT, ARGUMENT_SIZE, ARGUMENT_INVALID (outside)', () => {
  const { err, extent, vm } = root();
  const ro = extent(ramPage(0), 4n * PAGE, encodeExtentAttrs(ACC.R, MT.ANY, KIND.BASIC));
  assert.equal(err('memextent_modify', ro, ZERO_RANGE, 0x800n, 0n), Err.DENIED, 'DENIED first');
  if (vm.caps.uartMemextent !== undefined) {
    assert.equal(err('memextent_modify', vm.caps.uartMemextent, ZERO_RANGE, 0n, PAGE), Err.DENIED, 'device memory');
  }
  const me = extent(ramPage(8), 4n * PAGE);
  assert.equal(err('memextent_modify', me, ZERO_RANGE, 0x800n, 0n), Err.ARGUMENT_ALIGNMENT);
  assert.equal(err('memextent_modify', me, ZERO_RANGE, 0n, 0n), Err.ARGUMENT_SIZE);
  assert.equal(
    err('memextent_modify', me, ZERO_RANGE, 0xffff_ffff_ffff_f000n, PAGE),
    Err.ARGUMENT_INVALID,
    'phys wraps',
  );
  assert.equal(err('memextent_modify', me, ZERO_RANGE, PAGE, 0xffff_ffff_ffff_f000n), Err.ARGUMENT_SIZE, 'size wraps');
  assert.equal(err('memextent_modify', me, ZERO_RANGE, 3n * PAGE, 2n * PAGE), Err.ARGUMENT_INVALID);
  assert.equal(err('memextent_modify', me, ZERO_RANGE, 0n, 4n * PAGE), Err.OK);
});

test('§10.4: SYNC_ALL needs no_sync = 0; unknown ops are ARGUMENT_INVALID; modify needs the map right on an ACTIVE extent', () => {
  const { err, create, copy, extent } = root();
  const me = extent(ramPage(0), PAGE);
  assert.equal(err('memextent_modify', me, 255n, 0n, 0n), Err.OK);
  assert.equal(err('memextent_modify', me, 255n | NO_SYNC, 0n, 0n), Err.ARGUMENT_INVALID);
  assert.equal(err('memextent_modify', me, 4n, 0n, 0n), Err.ARGUMENT_INVALID);
  assert.equal(err('memextent_modify', me, 0x80n | NO_SYNC, 0n, 0n), Err.ARGUMENT_INVALID);
  assert.equal(err('memextent_modify', copy(me, MEMEXTENT_RIGHT.lookup), 255n, 0n, 0n), Err.CSPACE_INSUFFICIENT_RIGHTS);
  assert.equal(err('memextent_modify', create('memextent'), 255n, 0n, 0n), Err.OBJECT_STATE);
});

test('§10.4: UNMAP_ALL removes every mapping of the extent from every addrspace at once', () => {
  const { ok, err, extent, addrspace, vcpu } = root();
  const me = extent(ramPage(0), 4n * PAGE);
  const a1 = addrspace();
  const a2 = addrspace();
  ok('addrspace_map', a1, me, 0x1000_0000n, BigInt(MAP_RW), 0n, 0n, 0n);
  ok('addrspace_map', a1, me, 0x2000_0000n, BigInt(MAP_RW), 0n, 0n, 0n);
  ok('addrspace_map', a2, me, 0x1000_0000n, BigInt(MAP_RW), 0n, 0n, 0n);
  const { thread } = vcpu(a2);
  assert.ok(thread.access!.read(0x1000_0000n, 4) instanceof Uint8Array);
  ok('memextent_modify', me, 0n, 0n, 0n);
  assert.equal(thread.access!.read(0x1000_0000n, 4), Err.ADDR_INVALID);
  for (const [as, va] of [
    [a1, 0x1000_0000n],
    [a1, 0x2000_0000n],
    [a2, 0x1000_0000n],
  ] as const) {
    assert.equal(err('addrspace_lookup', as, me, va, PAGE, 0n), Err.ADDR_INVALID);
    assert.equal(err('addrspace_unmap', as, me, va, 0n, 0n, 0n), Err.ADDR_INVALID, 'the records are gone too');
  }
  // All four mapping slots are free again.
  for (let k = 0; k < 4; k++) ok('addrspace_map', a1, me, BigInt(k + 1) * 0x1000_0000n, BigInt(MAP_RW), 0n, 0n, 0n);
});

// ------------------------------------------------------------------------------------------------
// memextent_donate
// ------------------------------------------------------------------------------------------------

test('§10.4: memextent_donate checks reserved option bits and the type before any cap lookup', () => {
  const { err } = root();
  assert.equal(err('memextent_donate', 0x100n, BAD, BAD, 0n, PAGE, 0n), Err.ARGUMENT_INVALID);
  assert.equal(err('memextent_donate', 3n, BAD, BAD, 0n, PAGE, 0n), Err.ARGUMENT_INVALID);
  assert.equal(err('memextent_donate', 0n | NO_SYNC, BAD, BAD, 0n, PAGE, 0n), Err.CSPACE_CAP_NULL);
});

test('§10.4: TO_CHILD from the partition gives pages to a non-derived SPARSE extent; TO_PARENT gives them back', () => {
  const { hv, vm, ok, err, P, obj, extent } = root();
  const s = extent(ramPage(0), 64n * PAGE, SPARSE_RWX);
  const S = obj<MemExtent>(s);
  ok('memextent_donate', 0n, P, s, 8n * PAGE, 4n * PAGE, 0n);
  assert.equal(S.ownedPages, 4);
  assert.equal(hv.mem.memdb.ownerOf(Number(ramPage(8) >> 12n)), S);
  assert.equal(err('memextent_donate', 0n, P, s, 8n * PAGE, PAGE, 0n), Err.MEMDB_NOT_OWNER, 'already given');
  ok('memextent_donate', 1n, s, P, 9n * PAGE, 2n * PAGE, 0n);
  assert.equal(S.ownedPages, 2);
  assert.equal(hv.mem.memdb.ownerOf(Number(ramPage(9) >> 12n)), vm.partition);
  assert.equal(err('memextent_donate', 1n, s, P, 9n * PAGE, PAGE, 0n), Err.MEMDB_NOT_OWNER, 'no longer owned');
});

test('§10.4: donate range checks: ARGUMENT_ALIGNMENT, ARGUMENT_SIZE (0 or wrap), ARGUMENT_INVALID (outside the extent)', () => {
  const { err, P, extent } = root();
  const s = extent(ramPage(0), 16n * PAGE, SPARSE_RWX);
  assert.equal(err('memextent_donate', 0n, P, s, 0x800n, 0n, 0n), Err.ARGUMENT_ALIGNMENT);
  assert.equal(err('memextent_donate', 0n, P, s, 0n, 0x800n, 0n), Err.ARGUMENT_ALIGNMENT);
  assert.equal(err('memextent_donate', 0n, P, s, 0n, 0n, 0n), Err.ARGUMENT_SIZE);
  assert.equal(err('memextent_donate', 0n, P, s, PAGE, 0xffff_ffff_ffff_f000n, 0n), Err.ARGUMENT_SIZE);
  assert.equal(err('memextent_donate', 0n, P, s, 0xffff_ffff_ffff_f000n, PAGE, 0n), Err.ARGUMENT_INVALID);
  assert.equal(err('memextent_donate', 0n, P, s, 15n * PAGE, 2n * PAGE, 0n), Err.ARGUMENT_INVALID);
  assert.equal(err('memextent_donate', 0n, P, s, 15n * PAGE, PAGE, 0n), Err.OK);
});

test('§10.4: TO_CHILD/TO_PARENT need a SPARSE child (MEMEXTENT_TYPE) whose parent is SPARSE (ARGUMENT_INVALID), and its real parent', () => {
  const { ok, err, P, extent, derive } = root();
  const basic = extent(ramPage(0), 4n * PAGE);
  assert.equal(err('memextent_donate', 0n, P, basic, 0n, PAGE, 0n), Err.MEMEXTENT_TYPE);
  assert.equal(err('memextent_donate', 1n, basic, P, 0n, PAGE, 0n), Err.MEMEXTENT_TYPE);
  const underBasic = derive(basic, 0n, 2n * PAGE, encodeExtentAttrs(ACC.RW, MT.ANY, KIND.SPARSE));
  assert.equal(err('memextent_donate', 0n, basic, underBasic, 0n, PAGE, 0n), Err.ARGUMENT_INVALID);
  assert.equal(err('memextent_donate', 1n, underBasic, basic, 0n, PAGE, 0n), Err.ARGUMENT_INVALID);
  const sp = extent(ramPage(16), 16n * PAGE, SPARSE_RWX);
  ok('memextent_donate', 0n, P, sp, 0n, 16n * PAGE, 0n);
  const child = derive(sp, 4n * PAGE, 4n * PAGE, SPARSE_RWX);
  const other = extent(ramPage(64), 16n * PAGE, SPARSE_RWX);
  assert.equal(
    err('memextent_donate', 0n, P, child, 0n, PAGE, 0n),
    Err.ARGUMENT_INVALID,
    'partition of a derived child',
  );
  assert.equal(err('memextent_donate', 0n, other, child, 0n, PAGE, 0n), Err.ARGUMENT_INVALID, 'not its parent');
  assert.equal(err('memextent_donate', 0n, child, P, 0n, PAGE, 0n), Err.CSPACE_WRONG_OBJECT_TYPE, 'to a partition');
  assert.equal(err('memextent_donate', 0n, sp, child, 0n, PAGE, 0n), Err.OK);
  assert.equal(err('memextent_donate', 1n, child, sp, 0n, PAGE, 0n), Err.OK);
});

test("§10.4: donate lookups: `from` before `to`, each needing its type's donate right on an ACTIVE object", () => {
  const { err, P, C, create, copy, extent } = root();
  const s = extent(ramPage(0), 4n * PAGE, SPARSE_RWX);
  const pNoDonate = copy(P, PARTITION_RIGHT.object_create);
  const sNoDonate = copy(s, MEMEXTENT_RIGHT.map | RIGHT_ACTIVATE);
  assert.equal(err('memextent_donate', 0n, pNoDonate, s, 0n, PAGE, 0n), Err.CSPACE_INSUFFICIENT_RIGHTS);
  assert.equal(err('memextent_donate', 0n, P, sNoDonate, 0n, PAGE, 0n), Err.CSPACE_INSUFFICIENT_RIGHTS);
  assert.equal(err('memextent_donate', 0n, BAD, sNoDonate, 0n, PAGE, 0n), Err.CSPACE_CAP_NULL, 'from first');
  assert.equal(err('memextent_donate', 0n, C, s, 0n, PAGE, 0n), Err.CSPACE_WRONG_OBJECT_TYPE, 'a cspace');
  const inactive = create('memextent');
  assert.equal(err('memextent_donate', 0n, P, inactive, 0n, PAGE, 0n), Err.OBJECT_STATE);
  assert.equal(err('memextent_donate', 2n, P, s, 0n, PAGE, 0n), Err.CSPACE_WRONG_OBJECT_TYPE, 'sibling: no partitions');
});

test('§10.4: TO_SIBLING moves pages between SPARSE children of one parent; offset is relative to `from`, the range must lie in both', () => {
  const { ok, err, P, obj, extent, derive } = root();
  const sp = extent(ramPage(0), 32n * PAGE, SPARSE_RWX);
  ok('memextent_donate', 0n, P, sp, 0n, 32n * PAGE, 0n);
  const a = derive(sp, 0n, 16n * PAGE, SPARSE_RWX);
  const b = derive(sp, 8n * PAGE, 16n * PAGE, SPARSE_RWX);
  ok('memextent_donate', 0n, sp, a, 8n * PAGE, 4n * PAGE, 0n);
  // a's offset 8 pages = PA page 8 = b's offset 0.
  ok('memextent_donate', 2n, a, b, 8n * PAGE, 2n * PAGE, 0n);
  assert.equal(obj<MemExtent>(a).ownedPages, 2);
  assert.equal(obj<MemExtent>(b).ownedPages, 2);
  assert.equal(err('memextent_donate', 2n, a, b, 8n * PAGE, 2n * PAGE, 0n), Err.MEMDB_NOT_OWNER);
  assert.equal(err('memextent_donate', 2n, a, b, 0n, PAGE, 0n), Err.ARGUMENT_INVALID, 'not inside b');
  assert.equal(err('memextent_donate', 2n, a, a, 8n * PAGE, PAGE, 0n), Err.ARGUMENT_INVALID, 'from == to');
  const stranger = extent(ramPage(100), 32n * PAGE, SPARSE_RWX);
  assert.equal(err('memextent_donate', 2n, sp, stranger, 0n, PAGE, 0n), Err.ARGUMENT_INVALID, 'no common parent');
});

test('§10.4: TO_SIBLING from a BASIC extent is MEMEXTENT_TYPE; to a BASIC sibling ARGUMENT_INVALID', () => {
  const { ok, err, P, extent, derive } = root();
  const sp = extent(ramPage(0), 32n * PAGE, SPARSE_RWX);
  ok('memextent_donate', 0n, P, sp, 0n, 32n * PAGE, 0n);
  const basic = derive(sp, 0n, 4n * PAGE, BASIC_RWX);
  const sparse = derive(sp, 0n, 16n * PAGE, SPARSE_RWX);
  assert.equal(err('memextent_donate', 2n, basic, sparse, 0n, PAGE, 0n), Err.MEMEXTENT_TYPE);
  assert.equal(err('memextent_donate', 2n, sparse, basic, 0n, PAGE, 0n), Err.ARGUMENT_INVALID);
});

test('§10.4: donation moves live mappings with the pages: the donor loses them from its addrspace, the receiver gains them in its own', () => {
  const { ok, err, P, extent, derive, addrspace, vcpu } = root();
  const host = extent(ramPage(0), 32n * PAGE, SPARSE_RWX);
  ok('memextent_donate', 0n, P, host, 0n, 32n * PAGE, 0n);
  // Derived before the host maps anything, so it inherits no host mappings.
  const guest = derive(host, 0n, 32n * PAGE, SPARSE_RWX);
  const hostAs = addrspace();
  const guestAs = addrspace();
  ok('addrspace_map', hostAs, host, 0x4000_0000n, BigInt(MAP_RW), 0n, 0n, 0n);
  ok('addrspace_map', guestAs, guest, 0x8000_0000n, BigInt(MAP_RW), 0n, 0n, 0n);
  const h = vcpu(hostAs).thread.access!;
  const g = vcpu(guestAs).thread.access!;
  assert.equal(h.write(0x4000_4000n, new Uint8Array([1, 2, 3])), Err.OK);
  assert.equal(g.read(0x8000_4000n, 3), Err.ADDR_INVALID, 'the guest owns nothing yet');
  ok('memextent_donate', 0n, host, guest, 4n * PAGE, 2n * PAGE, 0n);
  assert.deepEqual(g.read(0x8000_4000n, 3), new Uint8Array([1, 2, 3]));
  assert.equal(h.read(0x4000_4000n, 3), Err.ADDR_INVALID, 'gone from the host at once');
  assert.equal(err('addrspace_lookup', hostAs, host, 0x4000_4000n, PAGE, 0n), Err.ADDR_INVALID);
  assert.deepEqual(ok('addrspace_lookup', guestAs, guest, 0x8000_4000n, 8n * PAGE, 0n).slice(0, 2), [
    4n * PAGE,
    2n * PAGE,
  ]);
  ok('memextent_donate', 1n, guest, host, 4n * PAGE, 2n * PAGE, 0n);
  assert.equal(g.read(0x8000_4000n, 3), Err.ADDR_INVALID);
  assert.deepEqual(h.read(0x4000_4000n, 3), new Uint8Array([1, 2, 3]));
});

test("§10.3/§10.4: a SPARSE child copies the parent's mapping records, so pages donated to it stay mapped where the parent had them", () => {
  const { ok, P, extent, derive, addrspace, vcpu } = root();
  const host = extent(ramPage(0), 16n * PAGE, SPARSE_RWX);
  ok('memextent_donate', 0n, P, host, 0n, 16n * PAGE, 0n);
  const hostAs = addrspace();
  ok('addrspace_map', hostAs, host, 0x4000_0000n, BigInt(MAP_RWX), 0n, 0n, 0n);
  const shared = derive(host, 0n, 16n * PAGE, encodeExtentAttrs(ACC.R, MT.ANY, KIND.SPARSE));
  const h = vcpu(hostAs).thread.access!;
  assert.equal(h.write(0x4000_0000n, new Uint8Array([9])), Err.OK);
  ok('memextent_donate', 0n, host, shared, 0n, PAGE, 0n);
  // Still mapped in the host, now with the child's access: readable, not writable.
  assert.deepEqual(h.read(0x4000_0000n, 1), new Uint8Array([9]));
  assert.equal(h.write(0x4000_0000n, new Uint8Array([1])), Err.DENIED);
  ok('memextent_donate', 1n, shared, host, 0n, PAGE, 0n);
  assert.equal(h.write(0x4000_0000n, new Uint8Array([1])), Err.OK);
});

test('§10.3: destroying a SPARSE child returns its pages to the parent, whose mappings of them come back', () => {
  const { ok, err, P, C, obj, extent, derive, addrspace } = root();
  const host = extent(ramPage(0), 16n * PAGE, SPARSE_RWX);
  ok('memextent_donate', 0n, P, host, 0n, 16n * PAGE, 0n);
  const child = derive(host, 0n, 16n * PAGE, SPARSE_RWX);
  const as = addrspace();
  ok('addrspace_map', as, host, 0x4000_0000n, BigInt(MAP_RW), 0n, 0n, 0n);
  ok('memextent_donate', 0n, host, child, 0n, 8n * PAGE, 0n);
  assert.equal(err('addrspace_lookup', as, host, 0x4000_0000n, PAGE, 0n), Err.ADDR_INVALID);
  ok('cspace_delete_cap_from', C, child, 0n);
  assert.equal(obj<MemExtent>(host).ownedPages, 16);
  assert.deepEqual(ok('addrspace_lookup', as, host, 0x4000_0000n, 16n * PAGE, 0n).slice(0, 2), [0n, 16n * PAGE]);
});

test('§10.1: pages given away through donate and derive all come back to the partition when the extents are destroyed', () => {
  const { hv, vm, ok, C, P, extent, derive } = root();
  const db = hv.mem.memdb;
  const before = db.countOwned(vm.partition);
  const sp = extent(ramPage(0), 64n * PAGE, SPARSE_RWX);
  ok('memextent_donate', 0n, P, sp, 0n, 32n * PAGE, 0n);
  const c = derive(sp, 0n, 16n * PAGE, SPARSE_RWX);
  ok('memextent_donate', 0n, sp, c, 0n, 8n * PAGE, 0n);
  const b = derive(sp, 16n * PAGE, 8n * PAGE, BASIC_RWX);
  assert.equal(db.countOwned(vm.partition), before - 32);
  ok('cspace_delete_cap_from', C, b, 0n);
  ok('cspace_delete_cap_from', C, c, 0n);
  ok('cspace_delete_cap_from', C, sp, 0n);
  assert.equal(db.countOwned(vm.partition), before);
});
