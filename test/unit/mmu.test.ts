// Stage-1 translation (Arm ARM D8, VMSAv8-64 with the 4 KiB granule) driven through the CPU's
// memory interface, with page tables written into RAM by the test.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeCpu, RAM_BASE } from '../helpers/cpu.js';
import { EC } from '../../src/arch/aarch64/esr.js';
import { Access } from '../../src/arch/aarch64/cpu.js';

const VBAR = RAM_BASE + 0x1000;
const L1 = RAM_BASE + 0x10000; // TTBR0 table (level 1, T0SZ=25 → 39-bit VA, start level 1)
const L2 = RAM_BASE + 0x11000;
const L3 = RAM_BASE + 0x12000;
const L1_HI = RAM_BASE + 0x13000; // TTBR1 table

const VALID = 1n;
const TABLE = 3n;
const PAGE = 3n;
const AF = 1n << 10n;
const AP_EL0 = 1n << 6n; // AP[1]: EL0 access
const AP_RO = 1n << 7n; // AP[2]: read-only
const UXN = 1n << 54n;
const PXN = 1n << 53n;

function setup() {
  const t = makeCpu(1 << 21);
  const dv = new DataView(t.ram.buffer);
  const put = (pa: number, v: bigint): void => dv.setBigUint64(pa - RAM_BASE, v, true);
  const { cpu } = t;
  cpu.sys.vbarEl1 = BigInt(VBAR);
  // L1[1] → L2 (VA 0x4000_0000..0x7fff_ffff); L2[0] → L3 (VA 0x4000_0000..0x401f_ffff)
  put(L1 + 8, BigInt(L2) | TABLE);
  put(L2, BigInt(L3) | TABLE);
  // L3: identity pages for the first 32 pages of RAM, EL1 RW.
  for (let k = 0; k < 32; k++) put(L3 + 8 * k, BigInt(RAM_BASE + k * 0x1000) | PAGE | AF);
  // L2[1]: a 2 MiB block at VA 0x4020_0000 → PA 0x4000_0000, EL0 and EL1 RW.
  put(L2 + 8, BigInt(RAM_BASE) | VALID | AF | AP_EL0);
  // TTBR1: L1[0] of the upper range (VA 0xffff_ff80_0000_0000) → a 1 GiB block at PA 0x4000_0000.
  put(L1_HI, BigInt(RAM_BASE) | VALID | AF);
  cpu.sys.ttbr0El1 = BigInt(L1);
  cpu.sys.ttbr1El1 = BigInt(L1_HI);
  cpu.sys.tcrEl1 = 25n | (25n << 16n) | (2n << 30n); // T0SZ=T1SZ=25, TG1=4K
  cpu.sys.sctlrEl1 |= 1n; // M
  cpu.tlbFlushAll();
  return { ...t, put };
}

test('VMSAv8-64 D8.2: a level-3 page and a level-2 block translate to their output addresses', () => {
  const { cpu } = setup();
  assert.equal(cpu.translate(RAM_BASE + 0x5123, Access.Read), RAM_BASE + 0x5123);
  assert.equal(cpu.translate(0x4020_0000 + 0x1234, Access.Read), RAM_BASE + 0x1234);
});

test('VMSAv8-64 D8.2.4: VA bit 55 set selects TTBR1; 0xffffff80_00000000 maps through the upper table', () => {
  const { cpu } = setup();
  const va = Number(BigInt.asIntN(64, 0xffffff8000000000n)) + 0x4567;
  assert.equal(cpu.translate(va, Access.Read), RAM_BASE + 0x4567);
});

test('VMSAv8-64 D8.4: a write to a read-only page is a permission fault at level 3 with WnR set', () => {
  const { cpu, put } = setup();
  put(L3 + 8 * 7, BigInt(RAM_BASE + 0x7000) | PAGE | AF | AP_RO);
  cpu.tlbFlushAll();
  assert.equal(cpu.read32(RAM_BASE + 0x7000), 0);
  cpu.pc = RAM_BASE + 0x100;
  assert.throws(() => cpu.write32(RAM_BASE + 0x7000, 1));
  const esr = cpu.sys.esrEl1;
  assert.equal(esr >>> 26, EC.DABORT_CUR);
  assert.equal(esr & 0x3f, 0x0f); // permission fault, level 3
  assert.equal((esr >>> 6) & 1, 1); // WnR
  assert.equal(cpu.sys.farEl1, BigInt(RAM_BASE + 0x7000));
  assert.equal(cpu.sys.elrEl1, BigInt(RAM_BASE + 0x100));
  assert.equal(cpu.pc, VBAR + 0x200);
});

test('VMSAv8-64 D8.5: a descriptor with AF=0 gives an access flag fault', () => {
  const { cpu, put } = setup();
  put(L3 + 8 * 9, BigInt(RAM_BASE + 0x9000) | PAGE);
  cpu.tlbFlushAll();
  assert.throws(() => cpu.read64(RAM_BASE + 0x9000));
  assert.equal(cpu.sys.esrEl1 & 0x3f, 0x0b); // access flag fault, level 3
});

test('VMSAv8-64 D8.2: an invalid descriptor gives a translation fault at its level', () => {
  const { cpu } = setup();
  assert.throws(() => cpu.read64(0x1000_0000)); // L1[0] is empty
  assert.equal(cpu.sys.esrEl1 & 0x3f, 0x05); // translation fault, level 1
  assert.throws(() => cpu.read64(RAM_BASE + 0x40_0000)); // L2[2] empty
  assert.equal(cpu.sys.esrEl1 & 0x3f, 0x06);
});

test('VMSAv8-64 D8.4.1: EL0 may not read an EL1-only page; the abort is from a lower EL', () => {
  const { cpu } = setup();
  cpu.sys.spsrEl1 = 0;
  cpu.sys.elrEl1 = BigInt(0x4020_0000);
  cpu.eret();
  assert.equal(cpu.el, 0);
  assert.equal(cpu.read32(0x4020_0010), 0); // EL0-accessible block
  assert.throws(() => cpu.read32(RAM_BASE + 0x5000));
  assert.equal(cpu.sys.esrEl1 >>> 26, EC.DABORT_LOWER);
  assert.equal(cpu.sys.esrEl1 & 0x3f, 0x0f);
  assert.equal(cpu.el, 1);
  assert.equal(cpu.pc, VBAR + 0x400);
});

test('VMSAv8-64 D8.4.2: UXN stops EL0 fetches, PXN stops EL1 fetches, and EL0-writable pages are never EL1-executable', () => {
  const { cpu, put } = setup();
  put(L3 + 8 * 10, BigInt(RAM_BASE + 0xa000) | PAGE | AF | PXN);
  put(L3 + 8 * 11, BigInt(RAM_BASE + 0xb000) | PAGE | AF | AP_EL0);
  put(L3 + 8 * 12, BigInt(RAM_BASE + 0xc000) | PAGE | AF | AP_EL0 | AP_RO | UXN);
  cpu.tlbFlushAll();
  assert.throws(() => cpu.translate(RAM_BASE + 0xa000, Access.Fetch));
  assert.equal(cpu.sys.esrEl1 >>> 26, EC.IABORT_CUR);
  assert.equal(cpu.sys.esrEl1 & 0x3f, 0x0f);
  assert.throws(() => cpu.translate(RAM_BASE + 0xb000, Access.Fetch));
  assert.equal(cpu.translate(RAM_BASE + 0xc000, Access.Fetch), RAM_BASE + 0xc000);
  assert.throws(() => cpu.translate(RAM_BASE + 0xc000, Access.Fetch, true));
});

test('Armv8.1 PAN: with PSTATE.PAN set, EL1 data accesses to EL0-accessible pages fault', () => {
  const { cpu } = setup();
  assert.equal(cpu.read32(0x4020_0000), 0);
  cpu.pan = 1;
  cpu.tlbRefreshPan();
  assert.throws(() => cpu.read32(0x4020_0000));
  assert.equal(cpu.sys.esrEl1 & 0x3f, 0x0e); // permission fault, level 2
});

test('Arm ARM D8.13: a changed descriptor takes effect after TLBI VMALLE1, not before', () => {
  const { cpu, put, code } = setup();
  assert.equal(cpu.translate(RAM_BASE + 0xd000, Access.Read), RAM_BASE + 0xd000);
  put(L3 + 8 * 13, BigInt(RAM_BASE + 0xe000) | PAGE | AF);
  assert.equal(cpu.translate(RAM_BASE + 0xd000, Access.Read), RAM_BASE + 0xd000); // stale entry
  code(RAM_BASE + 0x3000, [0xd508871f]); // tlbi vmalle1
  cpu.pc = RAM_BASE + 0x3000;
  cpu.step();
  assert.equal(cpu.translate(RAM_BASE + 0xd000, Access.Read), RAM_BASE + 0xe000);
});

test('Arm ARM C5.5 AT S1E1R: a successful walk writes the PA to PAR_EL1, a failing one sets PAR_EL1.F and FST', () => {
  const { cpu, code } = setup();
  code(RAM_BASE + 0x3000, [0xd5087802, 0xd5087802]); // at s1e1r, x2 (twice)
  cpu.pc = RAM_BASE + 0x3000;
  cpu.x[2] = BigInt(RAM_BASE + 0x4abc);
  cpu.sys.mairEl1 = 0x44ffn; // AttrIndx 0 → 0xff (normal write-back), 1 → 0x44
  cpu.step();
  assert.equal(cpu.sys.parEl1 & 0xfffffffff000n, BigInt(RAM_BASE + 0x4000), 'PA');
  assert.equal(cpu.sys.parEl1 >> 56n, 0xffn, 'ATTR from MAIR_EL1');
  assert.equal(cpu.sys.parEl1 & 0xfffn, 0xa00n, 'bit 11 RES1, NS, SH = 00 as in the descriptor, F = 0');
  cpu.x[2] = 0x1000_0000n;
  cpu.step();
  assert.equal(cpu.sys.parEl1 & 1n, 1n);
  assert.equal((cpu.sys.parEl1 >> 1n) & 0x3fn, 0x05n); // translation fault, level 1
});

test('VMSAv8-64 D8.2.6: an address beyond the TTBR0 range (T0SZ=25) faults at level 0 without a walk', () => {
  const { cpu } = setup();
  assert.throws(() => cpu.read32(2 ** 39));
  assert.equal(cpu.sys.esrEl1 & 0x3f, 0x04);
});
