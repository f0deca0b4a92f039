// Hypercall ABI (hypervisor-abi.md §1, §2, §9.4–9.5) driven from a native vCPU: registers in,
// registers out, through the same dispatcher an emulated guest uses.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Hypervisor } from '../../src/hyp/hypervisor.js';
import { NativeVcpu } from '../../src/hyp/vm/native.js';
import { Err } from '../../src/hyp/abi/errors.js';
import { HYPERCALLS, HYPERCALL_NUM } from '../../src/hyp/abi/hypercalls.js';

const ONES = 0xffff_ffff_ffff_ffffn;

function root() {
  const hv = new Hypervisor();
  const vm = hv.createRootVm();
  return { hv, vm, v: new NativeVcpu(hv, vm.thread) };
}

test("§2: the table has 92 calls below 0x69 and its 13 holes are exactly the spec's", () => {
  assert.equal(HYPERCALLS.length, 92);
  const nums = new Set(HYPERCALLS.map((r) => r.num));
  const holes = [...Array(HYPERCALL_NUM).keys()].filter((n) => !nums.has(n));
  assert.deepEqual(holes, [0x08, 0x09, 0x16, 0x1e, 0x33, 0x35, 0x36, 0x37, 0x40, 0x41, 0x42, 0x58, 0x63]);
});

test('§9.5: hypervisor_identify returns api_info 0x5100000000008001 and flags0 0x10000EFF, zeroing x4..x7', () => {
  const { v } = root();
  v.x.fill(0x5555n);
  const x = v.hvcImm(0x6000, []);
  assert.deepEqual(x, [0x5100000000008001n, 0x10000effn, 0n, 0n, 0n, 0n, 0n, 0n]);
});

test('§1.1: a table hole returns all-ones in x0 and zeroes x1..x7 and x10..x17, preserving x8 and x18', () => {
  const { v } = root();
  v.x.fill(7n);
  v.hvcImm(0x6000 + 0x16, []);
  assert.equal(v.x[0], ONES);
  for (let k = 1; k < 8; k++) assert.equal(v.x[k], 0n);
  assert.equal(v.x[8], 7n);
  for (let k = 10; k < 18; k++) assert.equal(v.x[k], 0n);
  assert.equal(v.x[18], 7n);
});

test("§1.1/§1.3: an HVC immediate beyond the table (0x6069) or outside Gunyah's range answers -1 and leaves the other registers", () => {
  const { v } = root();
  v.x.fill(3n);
  v.hvcImm(0x6069, []);
  assert.equal(v.x[0], ONES);
  assert.equal(v.x[1], 3n);
  v.x.fill(3n);
  v.hvcImm(0x1234, []);
  assert.equal(v.x[0], ONES);
  assert.equal(v.x[5], 3n);
});

test('§1.1: a C-implemented UNIMPLEMENTED call returns 0x00000000FFFFFFFF (32-bit error, upper half zero)', () => {
  const { v } = root();
  const r = v.call('object_reset', 0n, 0n);
  assert.equal(r.x[0], 0xffff_ffffn);
  assert.equal(r.e, Err.UNIMPLEMENTED);
  const p = v.call('partition_create_partition', 1n, 0n, 0n);
  assert.equal(p.e, Err.UNIMPLEMENTED);
  assert.equal(p.x[1], ONES, 'new_cap is all-ones');
});

test('§1.1: reserved arguments are checked on the full register before anything else: res0 ≠ 0 or res1 ≠ all-ones → ARGUMENT_INVALID', () => {
  const { v, vm } = root();
  // Bad res0 with a bad cap too: the reserved check wins.
  assert.equal(v.call('object_activate', 0x9999n, 1n).e, Err.ARGUMENT_INVALID);
  assert.equal(v.call('cspace_configure', vm.caps.cspace, 10n, 1n << 40n).e, Err.ARGUMENT_INVALID);
  // msgqueue_configure_send: x3 is res1.
  assert.equal(v.call('msgqueue_configure_send', 0n, 0n, 0n, 0n).e, Err.ARGUMENT_INVALID);
});

test('§1.1: inputs are truncated to their declared width before validation (u32 rights mask)', () => {
  const { v, vm } = root();
  const cs = v.call('partition_create_cspace', vm.caps.partition, vm.caps.cspace, 0n).x[1]!;
  // rights_mask is u32: 0xFFFFFFFF_00000001 keeps only bit 0 (cap_create).
  const r = v.call('cspace_copy_cap_from', vm.caps.cspace, cs, vm.caps.cspace, 0xffff_ffff_0000_0001n, 0n);
  assert.equal(r.e, Err.OK);
  const copy = r.x[1]!;
  // The copy has cap_create only: using it for cap_delete fails with insufficient rights.
  assert.equal(v.call('cspace_delete_cap_from', copy, 0n, 0n).e, Err.CSPACE_INSUFFICIENT_RIGHTS);
});

test('§1.2: SMCCC-wrapped hypercalls take inputs from x1, write outputs from x0, sign-extend errors and keep other registers', () => {
  const { v } = root();
  v.x.fill(9n);
  const id = v.hvcImm(0, [0xc6008000n]);
  assert.deepEqual(id.slice(0, 4), [0x5100000000008001n, 0x10000effn, 0n, 0n]);
  assert.equal(v.x[4], 9n, 'x4 untouched on the SMCCC path');
  const r = v.callSmccc('object_reset', 0n, 0n);
  assert.equal(r.x[0], ONES, 'UNIMPLEMENTED sign-extended');
  v.x.fill(9n);
  v.hvcImm(0, [0xc6008000n + 0x16n]);
  assert.equal(v.x[0], ONES, 'unknown N');
  v.hvcImm(0, [0x86008000n]);
  assert.equal(v.x[0], ONES, 'hypercall class needs fast SMC64');
});

test('§9.4: SMCCC_VERSION is 1.3, vendor-hyp CALL_UID gives the Gunyah UID words, REVISION gives hyp_api_info, bits 23:17 set → -1', () => {
  const { v } = root();
  assert.equal(v.hvcImm(0, [0x80000000n])[0], 0x10003n);
  assert.deepEqual(v.hvcImm(0, [0x8600ff01n]).slice(0, 4), [0xcd8fd5c1n, 0xdb5f53a4n, 0x36ce6592n, 0x145f3d67n]);
  assert.deepEqual(v.hvcImm(0, [0x8500ff01n]).slice(0, 4), [0xcd8fd5c1n, 0xdb5f53a4n, 0x36ce6592n, 0x145f3d67n]);
  assert.equal(v.hvcImm(0, [0x8600ff03n])[0], 0x5100000000008001n);
  assert.equal(v.hvcImm(0, [0x80000001n, 0x80000000n])[0], 0n, 'ARCH_FEATURES(VERSION)');
  assert.equal(v.hvcImm(0, [0x80000001n, 0x80008000n])[0], 0xffff_ffffn, 'no WORKAROUND_1: -1 as a 32-bit result');
  assert.equal(v.hvcImm(0, [0x80020000n])[0], ONES);
  assert.equal(v.hvcImm(0, [0x8400000an, 0x80000000n])[0], 0n, 'PSCI_FEATURES(SMCCC_VERSION) without a vpm_group');
  assert.equal(
    v.hvcImm(0, [0x8400000an, 0x84000000n])[0],
    0xffff_ffffn,
    'PSCI_FEATURES(PSCI_VERSION) without a vpm_group',
  );
});

test('docs/hypercalls.md is the page generated from the table (run `npm run docs` after changing the table)', async () => {
  const { readFileSync } = await import('node:fs');
  const { hypercallReference } = await import('../../src/hyp/abi/doc.js');
  const onDisk = readFileSync(new URL('../../../docs/hypercalls.md', import.meta.url), 'utf8');
  assert.equal(onDisk, hypercallReference());
});
