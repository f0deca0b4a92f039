// The vGIC's frames in guest memory (hypervisor-abi.md §9.1, §9.6, §10.6, §2.5, §2.6):
// addrspace_attach_vdevice, emulation of GICD/GICR accesses on stage-2 translation faults (data
// abort syndrome: SAS, SSE, SRT, SF, WnR), the fixed legacy addresses, VMMIO exit decode, and
// vgic_set_mpidr_mapping. VMs are built by the root through hypercalls only; guests are real
// AArch64 code running under HypSystem.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Hypervisor } from '../../src/hyp/hypervisor.js';
import { NativeVcpu } from '../../src/hyp/vm/native.js';
import { HypSystem } from '../../src/hyp/system.js';
import { Err, errorName } from '../../src/hyp/abi/errors.js';
import { ADDRSPACE_RIGHT, VIC_RIGHT, RIGHT_ACTIVATE } from '../../src/hyp/abi/rights.js';
import type { Thread } from '../../src/hyp/vm/thread.js';
import { Stop } from '../../src/arch/aarch64/cpu.js';
import { Vic, vicIndexOfMpidr, vicMpidrOfIndex } from '../../src/hyp/vm/vic.js';

const ONES = 0xffff_ffff_ffff_ffffn;
const GUEST_PA = 0x4100_0000;
const GUEST_IPA = 0x8000_0000;
const RWX = 7n;
const MAP_ATTRS = 7n | (7n << 4n) | (15n << 16n); // user RWX, kernel RWX, NORMAL_WB

// The QEMU virt layout the RM uses for a guest's vGIC (§11.3, §12 step 5).
const GICD = 0x0800_0000;
const GICR = 0x080a_0000;
const GICR_STRIDE = 0x2_0000;
const GICD_SIZE = 0x1_0000n;

// GICD / GICR register offsets (Arm IHI 0069 chapter 12).
const D_CTLR = 0x0;
const D_TYPER = 0x4;
const D_IIDR = 0x8;
const D_STATUSR = 0x10;
const D_SETSPI_NSR = 0x40;
const D_IGROUPR = 0x80;
const D_ISENABLER = 0x100;
const D_ISPENDR = 0x200;
const D_IPRIORITYR = 0x400;
const D_ITARGETSR = 0x800;
const D_ICFGR = 0xc00;
const D_IGRPMODR = 0xd00;
const D_NSACR = 0xe00;
const D_IROUTER = 0x6000;
const PIDR0 = 0xffe0;
const PIDR2 = 0xffe8;
const R_IIDR = 0x4;
const R_TYPER = 0x8;
const R_STATUSR = 0x10;
const R_WAKER = 0x14;
const R_SETLPIR = 0x40;
const S_ISPENDR0 = 0x10200;
const STATUSR_RRD = 1n;
const STATUSR_WRD = 2n;
const STATUSR_RWOD = 4n;
const STATUSR_WROD = 8n;

// An MMIO driver guest: it walks a table at IPA 0x8000_4000 of 48-byte entries
// [op, address, value, result, esr, far] until op 0, performs each op with x2 = address and
// x3 = value, and stores x0 (result), and the ESR_EL1/FAR_EL1 of an abort the op took (0 if none:
// the synchronous handler records them and skips the faulting instruction).
//
//   start: movz x22,#0x8000,lsl #16; add x22,x22,#4,lsl #12; add x9,x22,#1,lsl #12
//          sub x9,x9,#4,lsl #12; msr vbar_el1,x9            // VBAR_EL1 = 0x8000_1000
//   next:  ldr x1,[x22]; cbz x1,done; ldr x2,[x22,#8]; ldr x3,[x22,#16]; mov x0,#0
//          mov x15,#0; mov x16,#0; adr x9,table; add x9,x9,x1,lsl #2; br x9
//   after: str x0,[x22,#24]; str x15,[x22,#32]; str x16,[x22,#40]; add x22,x22,#48; b next
//   done:  wfi; b done
//   table: b after; b op1; ... b op21
//   op1: ldr w0,[x2]       op2: ldr x0,[x2]       op3: ldrb w0,[x2]      op4: ldrh w0,[x2]
//   op5: ldrsb x0,[x2]     op6: ldrsw x0,[x2]     op7: str w3,[x2]       op8: str x3,[x2]
//   op9: strb w3,[x2]      op10: strh w3,[x2]     op11: str wzr,[x2]     op12: ldp w0,w4,[x2]
//   op13: ldrsb w0,[x2]    op14: ldrsh x0,[x2]    op15: mov x0,x2; ldr wzr,[x2]
//   op16: mrs x0,mpidr_el1 op17: msr ICC_SGI1R_EL1,x3; isb
//   op18: msr ICC_PMR_EL1,x3                      op19: msr ICC_IGRPEN1_EL1,x3
//   op20: msr daifclr,#2; wfi; msr daifset,#2; mov x0,x18; mov x15,x19
//   op21: ldr w0,[x2,x3]   (each op then: b after)
// prettier-ignore
const DRIVER = [
  0xd2b00016, 0x914012d6, 0x914006c9, 0xd1401129, 0xd518c009, 0xf94002c1, 0xb40001c1, 0xf94006c2,
  0xf9400ac3, 0xd2800000, 0xd280000f, 0xd2800010, 0x10000149, 0x8b010929, 0xd61f0120, 0xf9000ec0,
  0xf90012cf, 0xf90016d0, 0x9100c2d6, 0x17fffff2, 0xd503207f, 0x17ffffff, 0x17fffff9, 0x14000015,
  0x14000016, 0x14000017, 0x14000018, 0x14000019, 0x1400001a, 0x1400001b, 0x1400001c, 0x1400001d,
  0x1400001e, 0x1400001f, 0x14000020, 0x14000021, 0x14000022, 0x14000023, 0x14000025, 0x14000026,
  0x14000028, 0x14000029, 0x1400002a, 0x1400002f, 0xb9400040, 0x17ffffe2, 0xf9400040, 0x17ffffe0,
  0x39400040, 0x17ffffde, 0x79400040, 0x17ffffdc, 0x39800040, 0x17ffffda, 0xb9800040, 0x17ffffd8,
  0xb9000043, 0x17ffffd6, 0xf9000043, 0x17ffffd4, 0x39000043, 0x17ffffd2, 0x79000043, 0x17ffffd0,
  0xb900005f, 0x17ffffce, 0x29401040, 0x17ffffcc, 0x39c00040, 0x17ffffca, 0x79800040, 0x17ffffc8,
  0xaa0203e0, 0xb940005f, 0x17ffffc5, 0xd53800a0, 0x17ffffc3, 0xd518cba3, 0xd5033fdf, 0x17ffffc0,
  0xd5184603, 0x17ffffbe, 0xd518cce3, 0x17ffffbc, 0xd50342ff, 0xd503207f, 0xd50342df, 0xaa1203e0,
  0xaa1303ef, 0x17ffffb6, 0xb8636840, 0x17ffffb4,
];
// Current-EL synchronous vector (VBAR + 0x200): mrs x15,esr_el1; mrs x16,far_el1;
// mrs x17,elr_el1; add x17,x17,#4; msr elr_el1,x17; eret
const SYNC_VECTOR = [0xd538520f, 0xd5386010, 0xd5384031, 0x91001231, 0xd5184031, 0xd69f03e0];
// Current-EL IRQ vector (VBAR + 0x280): mrs x18,ICC_IAR1_EL1; add x19,x19,#1;
// msr ICC_EOIR1_EL1,x18; eret
const IRQ_VECTOR = [0xd538cc12, 0x91000673, 0xd518cc32, 0xd69f03e0];

const OP = {
  LDR_W: 1,
  LDR_X: 2,
  LDRB: 3,
  LDRH: 4,
  LDRSB_X: 5,
  LDRSW_X: 6,
  STR_W: 7,
  STR_X: 8,
  STRB: 9,
  STRH: 10,
  STR_WZR: 11,
  LDP_W: 12,
  LDRSB_W: 13,
  LDRSH_X: 14,
  LDR_WZR: 15,
  MRS_MPIDR: 16,
  MSR_SGI1R: 17,
  MSR_PMR: 18,
  MSR_IGRPEN1: 19,
  WFI_IRQ: 20,
  LDR_W_REG: 21,
} as const;

/** Offset of each memory op's load/store instruction in DRIVER (see the listing above). */
const OP_INSN: Record<number, number> = {
  1: 0xb0,
  2: 0xb8,
  3: 0xc0,
  4: 0xc8,
  5: 0xd0,
  6: 0xd8,
  7: 0xe0,
  8: 0xe8,
  9: 0xf0,
  10: 0xf8,
  11: 0x100,
  12: 0x108,
  13: 0x110,
  14: 0x118,
  15: 0x124,
};

const TABLE_IPA = GUEST_IPA + 0x4000;
const ENTRY = 48;

interface Op {
  op: number;
  addr: number;
  value?: bigint;
}

interface OpResult {
  x0: bigint;
  esr: bigint;
  far: bigint;
}

interface VmOptions {
  vcpus?: number;
  /** How many of the vCPUs are activated (default all). */
  active?: number;
  /** vic_configure options: default 3 (max_msis_valid | disable_default_addr, as the RM does). */
  vicOptions?: bigint;
  /** vgic_set_mpidr_mapping arguments, made while the VIC is INIT. */
  mapping?: { mask: bigint; shifts: [bigint, bigint, bigint, bigint]; mt: bigint };
  /** GICR attach flags per vCPU; null = do not attach any vdevice. Default: all 0. */
  gicrFlags?: bigint[] | null;
}

function buildVm(o: VmOptions = {}) {
  const vcpus = o.vcpus ?? 1;
  const active = o.active ?? vcpus;
  const hv = new Hypervisor();
  const root = hv.createRootVm();
  const v = new NativeVcpu(hv, root.thread);
  const { partition: P, cspace: C } = root.caps;
  const ok = (name: string, ...args: bigint[]): bigint => {
    const r = v.call(name, ...args);
    assert.equal(r.e, Err.OK, `${name}: ${errorName(r.e)}`);
    return r.x[1]!;
  };
  const mk = (type: string): bigint => ok(`partition_create_${type}`, P, C, 0n);
  const me = mk('memextent');
  ok('memextent_configure', me, BigInt(GUEST_PA), 0x10_0000n, RWX, 0n);
  ok('object_activate', me, 0n);
  const as = mk('addrspace');
  ok('addrspace_configure', as, 10n, 0n);
  ok('object_activate', as, 0n);
  ok('addrspace_map', as, me, BigInt(GUEST_IPA), MAP_ATTRS, 0n, 0n, 0n);
  const vic = mk('vic');
  ok('vic_configure', vic, BigInt(vcpus), 64n, o.vicOptions ?? 3n, 0n);
  if (o.mapping) ok('vgic_set_mpidr_mapping', vic, o.mapping.mask, ...o.mapping.shifts, o.mapping.mt);
  ok('object_activate', vic, 0n);
  const threads: bigint[] = [];
  for (let i = 0; i < vcpus; i++) {
    const t = mk('thread');
    ok('vcpu_set_affinity', t, 0n, ONES);
    ok('cspace_attach_thread', C, t, 0n);
    ok('addrspace_attach_thread', as, t, 0n);
    ok('vic_attach_vcpu', vic, t, BigInt(i), 0n);
    if (i < active) ok('object_activate', t, 0n);
    threads.push(t);
  }
  const flags = o.gicrFlags === undefined ? new Array<bigint>(active).fill(0n) : o.gicrFlags;
  if (flags !== null) {
    ok('addrspace_attach_vdevice', as, vic, 0n, BigInt(GICD), GICD_SIZE, 0n);
    flags.forEach((f, i) =>
      ok('addrspace_attach_vdevice', as, vic, BigInt(i + 1), BigInt(GICR + i * GICR_STRIDE), 0x2_0000n, f),
    );
  }
  const ram = hv.mem.phys.bytes;
  const dv = new DataView(ram.buffer, ram.byteOffset);
  const off = (ipa: number) => GUEST_PA - hv.mem.phys.base + (ipa - GUEST_IPA);
  const put = (ipa: number, words: readonly number[]) =>
    words.forEach((w, k) => dv.setUint32(off(ipa) + 4 * k, w, true));
  put(GUEST_IPA, DRIVER);
  put(GUEST_IPA + 0x1200, SYNC_VECTOR);
  put(GUEST_IPA + 0x1280, IRQ_VECTOR);
  const sys = new HypSystem(hv, 1);
  const objs = threads.map((t) => root.cspace.lookup<Thread>(t, 'thread', 0, false) as Thread);
  objs.slice(0, active).forEach((t) => sys.addEmulated(t));
  const vicObj = root.cspace.lookup<Vic>(vic, 'vic', 0, false) as Vic;

  /** Write the op table (terminated by op 0). */
  const setOps = (ops: readonly Op[]) => {
    ops.forEach((e, k) => {
      const b = off(TABLE_IPA) + ENTRY * k;
      dv.setBigUint64(b, BigInt(e.op), true);
      dv.setBigUint64(b + 8, BigInt(e.addr), true);
      dv.setBigUint64(b + 16, e.value ?? 0n, true);
      for (let j = 24; j < ENTRY; j += 8) dv.setBigUint64(b + j, 0xdeadn, true);
    });
    dv.setBigUint64(off(TABLE_IPA) + ENTRY * ops.length, 0n, true);
  };
  const result = (k: number): OpResult => {
    const b = off(TABLE_IPA) + ENTRY * k;
    return {
      x0: dv.getBigUint64(b + 24, true),
      esr: dv.getBigUint64(b + 32, true),
      far: dv.getBigUint64(b + 40, true),
    };
  };
  /** Power on vCPU `i` at the driver, run until everything waits, and return each op's result. */
  const run = (ops: readonly Op[], i = 0): OpResult[] => {
    setOps(ops);
    ok('vcpu_poweron', threads[i]!, BigInt(GUEST_IPA), 0n, 0n);
    assert.equal(sys.run(50_000_000), 'idle');
    return ops.map((_, k) => result(k));
  };
  return { hv, v, ok, mk, sys, as, vic, vicObj, threads, objs, P, C, run, setOps, result };
}

/** The ESR_EL1 of a synchronous external abort on a data access from EL1 (§9.6): EC 0x25, FSC 0x10. */
function assertExternalAbort(r: OpResult, write: boolean, far: number, what: string): void {
  assert.equal(Number(r.esr >> 26n), 0x25, `${what}: data abort from the current EL`);
  assert.equal(Number(r.esr & 0x3fn), 0x10, `${what}: FSC synchronous external abort`);
  assert.equal(Number((r.esr >> 24n) & 1n), 0, `${what}: ISV clear`);
  assert.equal(Number((r.esr >> 6n) & 1n), write ? 1 : 0, `${what}: WnR`);
  assert.equal(r.far, BigInt(far), `${what}: FAR_EL1 = the VA`);
}

function assertEmulated(r: OpResult, what: string): void {
  assert.equal(r.esr, 0n, `${what}: emulated, no abort`);
}

// ----------------------------------------------------------------------------------------------
// Register contents through the attached frames
// ----------------------------------------------------------------------------------------------

test('§9.1: a guest reads GICD_TYPER (ITLinesNumber 31, IDbits 9, MBIS, A3V, No1N; LPIS, ESPI 0), GICD_IIDR / GICR_IIDR (Qualcomm 0x070, product G), PIDR2 ArchRev 3 through attached frames', () => {
  const vm = buildVm({ vcpus: 1 });
  const r = vm.run([
    { op: OP.LDR_W, addr: GICD + D_TYPER },
    { op: OP.LDR_W, addr: GICD + D_IIDR },
    { op: OP.LDR_W_REG, addr: GICD, value: BigInt(PIDR2) },
    { op: OP.LDR_W, addr: GICR + R_IIDR },
    { op: OP.LDR_W, addr: GICR + PIDR2 },
    { op: OP.LDR_W, addr: GICD + D_CTLR },
  ]);
  r.forEach((x, k) => assertEmulated(x, `op ${k}`));
  const typer = Number(r[0]!.x0);
  assert.equal(typer & 0x1f, 31, 'ITLinesNumber');
  assert.equal((typer >>> 19) & 0x1f, 9, 'IDbits: 10-bit INTIDs');
  assert.equal((typer >>> 16) & 1, 1, 'MBIS');
  assert.equal((typer >>> 24) & 1, 1, 'A3V');
  assert.equal((typer >>> 25) & 1, 1, 'No1N');
  assert.equal((typer >>> 17) & 1, 0, 'LPIS');
  assert.equal((typer >>> 8) & 1, 0, 'ESPI');
  for (const iidr of [r[1]!.x0, r[3]!.x0]) {
    assert.equal(Number(iidr & 0xfffn), 0x070, 'implementer: JEP106 Qualcomm');
    assert.equal(Number(iidr >> 24n), 0x47, "product 'G'");
    assert.equal(Number((iidr >> 12n) & 0xffn), 0, 'variant and revision 0');
  }
  assert.equal(r[2]!.x0, 0x30n, 'GICD_PIDR2: ArchRev 3, nothing else');
  assert.equal(r[4]!.x0, 0x30n, 'GICR_PIDR2');
  assert.equal(r[5]!.x0 & 0x50n, 0x50n, 'GICD_CTLR: ARE and DS read as one');
});

test('§9.1: each GICR_TYPER (64-bit load) reads its affinity, Processor_Number = GICR index, and Last from the attach flags (last_valid: last; else index == max_vcpus)', () => {
  // Flags: GICR0 none (1 ≠ 3 → Last 0), GICR1 last_valid|last (forced 1), GICR2 last_valid alone
  // (forced 0 although it is the final one).
  const vm = buildVm({ vcpus: 3, gicrFlags: [0n, 3n, 1n] });
  const r = vm.run([0, 1, 2].map((n) => ({ op: OP.LDR_X, addr: GICR + n * GICR_STRIDE + R_TYPER })));
  r.forEach((x, k) => assertEmulated(x, `GICR${k}`));
  assert.equal(r[0]!.x0, 0x0000_0000_0000_0000n);
  assert.equal(r[1]!.x0, 0x0000_0001_0000_0110n);
  assert.equal(r[2]!.x0, 0x0000_0002_0000_0200n);
  // A flags-0 GICR on the final index reads Last = 1.
  const one = buildVm({ vcpus: 1 });
  assert.equal(one.run([{ op: OP.LDR_X, addr: GICR + R_TYPER }])[0]!.x0, 0x10n);
});

test('§9.1/§7: the guest enables SPI 40 through GICD (group 1, priority, ISENABLER, CTLR) and its CPU interface, then takes it as an IRQ when the root sends the doorbell bound to it: IAR1 = 40, EOIR1 ends it, once', () => {
  const vm = buildVm({ vcpus: 1 });
  const db = vm.mk('doorbell');
  vm.ok('object_activate', db, 0n);
  vm.ok('doorbell_bind_virq', db, vm.vic, 40n, 0n);
  // Flags are cleared as they assert (ack mask), so the level source drops at the guest's EOI.
  vm.ok('doorbell_mask', db, ONES, ONES, 0n);
  const bit = 1n << 8n; // INTID 40 = word 1, bit 8
  const ops: Op[] = [
    { op: OP.STR_W, addr: GICD + D_IGROUPR + 4, value: bit },
    { op: OP.STRB, addr: GICD + D_IPRIORITYR + 40, value: 0x80n },
    { op: OP.STR_W, addr: GICD + D_ISENABLER + 4, value: bit },
    { op: OP.STR_W, addr: GICD + D_CTLR, value: 2n },
    { op: OP.MSR_PMR, addr: 0, value: 0xffn },
    { op: OP.MSR_IGRPEN1, addr: 0, value: 1n },
    { op: OP.LDR_W, addr: GICD + D_ISENABLER + 4 },
    { op: OP.LDRB, addr: GICD + D_IPRIORITYR + 40 },
    { op: OP.WFI_IRQ, addr: 0 },
    { op: OP.LDR_W, addr: GICD + D_ISPENDR + 4 },
  ];
  vm.setOps(ops);
  vm.ok('vcpu_poweron', vm.threads[0]!, BigInt(GUEST_IPA), 0n, 0n);
  assert.equal(vm.sys.run(50_000_000), 'idle', 'the guest waits in WFI for the interrupt');
  assert.equal(vm.result(8).x0, 0xdeadn, 'not woken yet');
  assert.equal(vm.result(6).x0, bit, 'ISENABLER1 reads the enable back');
  assert.equal(vm.result(7).x0, 0x80n, 'IPRIORITYR byte reads the priority back');
  assert.equal(vm.v.call('doorbell_send', db, 1n, 0n).e, Err.OK);
  assert.equal(vm.sys.run(100_000_000), 'idle');
  const w = vm.result(8);
  assert.equal(w.x0, 40n, 'ICC_IAR1_EL1 returned INTID 40');
  assert.equal(w.esr, 1n, 'the IRQ vector ran exactly once');
  assert.equal(vm.result(9).x0 & bit, 0n, 'no longer pending after EOI');
  for (let k = 0; k < ops.length; k++) if (k !== 8) assertEmulated(vm.result(k), `op ${k}`);
});

// ----------------------------------------------------------------------------------------------
// The data abort syndrome: sizes, sign extension, register width, XZR
// ----------------------------------------------------------------------------------------------

test('§9.6: emulated loads honour the syndrome: byte and halfword sizes, SSE sign extension to 32 (W) or 64 (X) bits, SF; a 32-bit load zero-extends', () => {
  const vm = buildVm({ vcpus: 1 });
  const r = vm.run([
    { op: OP.STRB, addr: GICD + D_IPRIORITYR + 41, value: 0x1_88n }, // strb stores the low byte
    { op: OP.LDRB, addr: GICD + D_IPRIORITYR + 41 },
    { op: OP.LDRSB_X, addr: GICD + D_IPRIORITYR + 41 },
    { op: OP.LDRSB_W, addr: GICD + D_IPRIORITYR + 41 },
    { op: OP.STR_W, addr: GICD + D_ICFGR + 8, value: 0xffff_ffff_8000_0000n }, // INTID 47 edge
    { op: OP.LDRSW_X, addr: GICD + D_ICFGR + 8 },
    { op: OP.LDR_W, addr: GICD + D_ICFGR + 8 },
    { op: OP.LDRH, addr: GICD + D_SETSPI_NSR }, // halfword: allowed on SETSPI_NSR, write-only → 0
    { op: OP.LDRSH_X, addr: GICD + D_SETSPI_NSR },
  ]);
  r.forEach((x, k) => assertEmulated(x, `op ${k}`));
  assert.equal(r[1]!.x0, 0x88n, 'ldrb: priority 0x88 (5 bits kept)');
  assert.equal(r[2]!.x0, 0xffff_ffff_ffff_ff88n, 'ldrsb x: sign-extended to 64 bits');
  assert.equal(r[3]!.x0, 0x0000_0000_ffff_ff88n, 'ldrsb w: sign-extended to 32 bits, upper half zero');
  assert.equal(r[5]!.x0, 0xffff_ffff_8000_0000n, 'ldrsw x: bit 31 extended');
  assert.equal(r[6]!.x0, 0x8000_0000n, 'ldr w: zero-extended');
  assert.equal(r[7]!.x0, 0n);
  assert.equal(r[8]!.x0, 0n);
});

test('§9.6: a store of WZR writes 0 (GICD_CTLR groups off); a load to WZR is discarded and leaves SP and the other registers alone', () => {
  const vm = buildVm({ vcpus: 1 });
  vm.ok('vcpu_register_write', vm.threads[0]!, 2n, 1n, 0x8000_8000n, 0n); // SP_EL1
  const r = vm.run([
    { op: OP.STR_W, addr: GICD + D_CTLR, value: 3n },
    { op: OP.LDR_W, addr: GICD + D_CTLR },
    { op: OP.STR_WZR, addr: GICD + D_CTLR },
    { op: OP.LDR_W, addr: GICD + D_CTLR },
    { op: OP.LDR_WZR, addr: GICD + D_TYPER },
    { op: OP.STR_W, addr: GICD + D_IPRIORITYR + 40, value: 0xf8f8_f8f8n },
    { op: OP.LDR_W, addr: GICD + D_IPRIORITYR + 40 },
    { op: OP.STR_WZR, addr: GICD + D_IPRIORITYR + 40 },
    { op: OP.LDR_W, addr: GICD + D_IPRIORITYR + 40 },
  ]);
  r.forEach((x, k) => assertEmulated(x, `op ${k}`));
  assert.equal(r[1]!.x0 & 3n, 3n, 'both groups enabled by the W store');
  assert.equal(r[3]!.x0 & 3n, 0n, 'str wzr stored 0');
  assert.equal(r[4]!.x0, BigInt(GICD + D_TYPER), 'x0 (set before the load) is untouched');
  assert.equal(r[6]!.x0, 0xf8f8_f8f8n);
  assert.equal(r[8]!.x0, 0n, 'str wzr stored 0, not register 31 (SP)');
  const cpu = vm.sys.vcpuOf(vm.objs[0]!)!.cpu;
  assert.equal(cpu.readSpBank(1), 0x8000_8000n, 'SP_EL1 untouched by the WZR load');
});

test('§9.6: LDP to a GIC frame (no ISV) is a synchronous external abort with FAR = the VA; so are accesses the vGIC refuses: a GICR halfword, a GICD 64-bit access outside IROUTER, a misaligned word', () => {
  const vm = buildVm({ vcpus: 1 });
  const r = vm.run([
    { op: OP.LDP_W, addr: GICD },
    { op: OP.LDRH, addr: GICR + R_IIDR },
    { op: OP.LDR_X, addr: GICD + D_TYPER + 4 }, // 8-byte aligned, but not IROUTER
    { op: OP.LDR_W, addr: GICD + D_IIDR + 2 },
    { op: OP.STRH, addr: GICR + R_WAKER, value: 0n },
    { op: OP.LDR_W, addr: GICD + D_IIDR }, // still works after the aborts
    { op: OP.LDR_X, addr: GICD + D_IROUTER + 8 * 40 }, // 64-bit IROUTER: allowed
  ]);
  assertExternalAbort(r[0]!, false, GICD, 'ldp');
  assertExternalAbort(r[1]!, false, GICR + R_IIDR, 'GICR ldrh');
  assertExternalAbort(r[2]!, false, GICD + D_TYPER + 4, 'GICD 64-bit');
  assertExternalAbort(r[3]!, false, GICD + D_IIDR + 2, 'misaligned');
  assertExternalAbort(r[4]!, true, GICR + R_WAKER, 'GICR strh');
  assertEmulated(r[5]!, 'IIDR');
  assert.equal(r[5]!.x0, 0x4700_0070n);
  assertEmulated(r[6]!, 'IROUTER');
  assert.equal(r[6]!.x0, 0n, 'IROUTER40 resets to affinity 0');
});

test('§9.1: STATUSR records misuse — write-only reads (RWOD, value 0), read-only writes (WROD, ignored), unknown reads (RRD, 0) and unknown writes (WRD, abort); writing 1s clears it', () => {
  const vm = buildVm({ vcpus: 1 });
  const r = vm.run([
    { op: OP.LDR_W, addr: GICD + D_STATUSR }, // 0: clean
    { op: OP.LDR_W, addr: GICD + D_SETSPI_NSR }, // 1: write-only
    { op: OP.LDR_W, addr: GICD + D_STATUSR }, // 2: RWOD
    { op: OP.STR_W, addr: GICD + D_TYPER, value: 0n }, // 3: read-only
    { op: OP.LDR_W, addr: GICD + D_TYPER }, // 4: unchanged
    { op: OP.LDR_W, addr: GICD + PIDR0 }, // 5: not an ID register of the vGIC
    { op: OP.STR_W, addr: GICD + 0x20, value: 1n }, // 6: unknown register
    { op: OP.LDR_W, addr: GICD + D_STATUSR }, // 7: RWOD|WROD|RRD|WRD
    { op: OP.STR_W, addr: GICD + D_STATUSR, value: STATUSR_RWOD | STATUSR_RRD }, // 8: W1C
    { op: OP.LDR_W, addr: GICD + D_STATUSR }, // 9
    { op: OP.LDR_W, addr: GICR + R_SETLPIR }, // 10: GICR write-only
    { op: OP.STR_W, addr: GICR + R_TYPER, value: 0n }, // 11: GICR read-only
    { op: OP.LDR_W, addr: GICR + 0x18 }, // 12: GICR unknown
    { op: OP.LDR_W, addr: GICR + R_STATUSR }, // 13
    { op: OP.LDR_W, addr: GICR + R_WAKER }, // 14: awake at reset
  ]);
  assert.equal(r[0]!.x0, 0n);
  assert.equal(r[1]!.x0, 0n);
  assert.equal(r[2]!.x0, STATUSR_RWOD);
  assertEmulated(r[3]!, 'read-only write');
  assert.notEqual(r[4]!.x0, 0n, 'TYPER keeps its value');
  assert.equal(r[5]!.x0, 0n, 'PIDR0 reads 0');
  assertExternalAbort(r[6]!, true, GICD + 0x20, 'unknown GICD write');
  assert.equal(r[7]!.x0, STATUSR_RWOD | STATUSR_WROD | STATUSR_RRD | STATUSR_WRD);
  assert.equal(r[9]!.x0, STATUSR_WROD | STATUSR_WRD, 'written 1s cleared, others kept');
  assert.equal(r[13]!.x0, STATUSR_RWOD | STATUSR_WROD | STATUSR_RRD, 'GICR_STATUSR is the GICR’s own');
  assert.equal(r[14]!.x0 & 6n, 0n, 'GICR_WAKER: ProcessorSleep and ChildrenAsleep clear');
});

test('§9.1: ITARGETSR, IGRPMODR and NSACR are RAZ/WI; CPENDSGIR/SPENDSGIR ignore writes', () => {
  const vm = buildVm({ vcpus: 1 });
  const r = vm.run([
    { op: OP.STR_W, addr: GICD + D_ITARGETSR + 40, value: 0xffff_ffffn },
    { op: OP.LDR_W, addr: GICD + D_ITARGETSR + 40 },
    { op: OP.STRB, addr: GICD + D_ITARGETSR + 41, value: 0xffn },
    { op: OP.LDRB, addr: GICD + D_ITARGETSR + 41 },
    { op: OP.STR_W, addr: GICD + D_IGRPMODR + 4, value: 0xffff_ffffn },
    { op: OP.LDR_W, addr: GICD + D_IGRPMODR + 4 },
    { op: OP.STR_W, addr: GICD + D_NSACR + 8, value: 0xffff_ffffn },
    { op: OP.LDR_W, addr: GICD + D_NSACR + 8 },
    { op: OP.STRB, addr: GICD + 0xf20, value: 0xffn }, // SPENDSGIR0
    { op: OP.STR_W, addr: GICD + 0xf10, value: 0xffff_ffffn }, // CPENDSGIR0
    { op: OP.LDR_W, addr: GICR + S_ISPENDR0 },
    { op: OP.LDR_W, addr: GICD + D_STATUSR },
  ]);
  r.forEach((x, k) => assertEmulated(x, `op ${k}`));
  for (const k of [1, 3, 5, 7]) assert.equal(r[k]!.x0, 0n, `op ${k} reads 0`);
  assert.equal(r[10]!.x0, 0n, 'SPENDSGIR made no SGI pending');
  assert.equal(r[11]!.x0, 0n, 'none of these set STATUSR');
});

// ----------------------------------------------------------------------------------------------
// The fixed legacy addresses
// ----------------------------------------------------------------------------------------------

test('§9.1/§10.6: without disable_default_addr and with no frames attached, the vGIC answers at GICD 0x0800_0000 and at GICR 0x080A_0000 + n × 0x20000 of active vCPUs; Last marks a GICR followed by none', () => {
  const vm = buildVm({ vcpus: 2, active: 1, vicOptions: 1n, gicrFlags: null });
  const r = vm.run([
    { op: OP.LDR_W, addr: GICD + D_IIDR },
    { op: OP.LDR_X, addr: GICR + R_TYPER },
    { op: OP.LDR_W, addr: GICR + GICR_STRIDE + R_IIDR }, // GICR1: its vCPU is not active
    { op: OP.LDR_W, addr: GICR + 8 * GICR_STRIDE }, // beyond the 8-frame window
  ]);
  assertEmulated(r[0]!, 'GICD');
  assert.equal(r[0]!.x0, 0x4700_0070n);
  assertEmulated(r[1]!, 'GICR0');
  assert.equal(r[1]!.x0, 0x10n, 'GICR0: affinity 0, processor 0, Last (GICR1 has no vCPU)');
  assertExternalAbort(r[2]!, false, GICR + GICR_STRIDE + R_IIDR, 'GICR of an inactive vCPU');
  assertExternalAbort(r[3]!, false, GICR + 8 * GICR_STRIDE, 'beyond the window');
});

test('§9.1/§10.6: with disable_default_addr (the RM’s default) the same fixed addresses are an external abort', () => {
  const vm = buildVm({ vcpus: 1, vicOptions: 2n, gicrFlags: null });
  const r = vm.run([
    { op: OP.LDR_W, addr: GICD + D_IIDR },
    { op: OP.LDR_X, addr: GICR + R_TYPER },
  ]);
  assertExternalAbort(r[0]!, false, GICD + D_IIDR, 'GICD');
  assertExternalAbort(r[1]!, false, GICR + R_TYPER, 'GICR');
});

test('§10.6: attached frames are found at their own IPAs, before the fixed addresses', () => {
  const vm = buildVm({ vcpus: 1, vicOptions: 0n, gicrFlags: null });
  vm.ok('addrspace_attach_vdevice', vm.as, vm.vic, 0n, 0x3000_0000n, GICD_SIZE, 0n);
  vm.ok('addrspace_attach_vdevice', vm.as, vm.vic, 1n, 0x3100_0000n, 0x2_0000n, 2n); // last without last_valid
  const r = vm.run([
    { op: OP.LDR_W, addr: 0x3000_0000 + D_IIDR },
    { op: OP.LDR_X, addr: 0x3100_0000 + R_TYPER },
    { op: OP.LDR_W, addr: GICD + D_IIDR }, // fixed address still answers (bit1 clear)
  ]);
  r.forEach((x, k) => assertEmulated(x, `op ${k}`));
  assert.equal(r[0]!.x0, 0x4700_0070n);
  assert.equal(r[1]!.x0, 0x10n, 'last flag ignored without last_valid: Last = (1 == max_vcpus)');
  assert.equal(r[2]!.x0, 0x4700_0070n);
});

// ----------------------------------------------------------------------------------------------
// VMMIO exit decode
// ----------------------------------------------------------------------------------------------

test('§10.6/§8.4: with onVmmio set, an access inside a VMMIO range is handed out (IPA, size, write, stored value) at the faulting PC; resumeVmmio completes it with the size/sign/width/XZR rules and moves on', () => {
  const vm = buildVm({ vcpus: 1 });
  const MMIO = 0x0a00_0000;
  vm.ok('addrspace_configure_vmmio', vm.as, BigInt(MMIO), 0x1000n, 0n, 0n);
  const ev = vm.sys.vcpuOf(vm.objs[0]!)!;
  const cpu = ev.cpu;
  const el2 = ev.el2;
  let exits = 0;
  el2.onVmmio = (c) => {
    assert.equal(c, cpu);
    exits++;
  };
  // SP is register 31 too: a store of WZR must not store it.
  vm.ok('vcpu_register_write', vm.threads[0]!, 2n, 1n, 0x8000_8000n, 0n);
  const ops: Op[] = [
    { op: OP.LDRSH_X, addr: MMIO + 0x10 },
    { op: OP.STR_W, addr: MMIO + 0x14, value: 0xaaaa_bbbb_1234_5678n },
    { op: OP.LDR_W, addr: MMIO },
    { op: OP.STRB, addr: MMIO + 1, value: 0x1ffn },
    { op: OP.STR_WZR, addr: MMIO + 4 },
    { op: OP.LDRSB_W, addr: MMIO + 2 },
    { op: OP.LDR_WZR, addr: MMIO + 8 },
    { op: OP.LDR_X, addr: MMIO + 0xff8 },
  ];
  vm.setOps(ops);
  vm.ok('vcpu_poweron', vm.threads[0]!, BigInt(GUEST_IPA), 0n, 0n);
  // The test stands in for the proxy scheduler: it runs the vCPU until it stops, answers, resumes.
  const step = (op: number, ipa: number, size: number, write: boolean, value: bigint, answer: bigint) => {
    const before = exits;
    for (let k = 0; k < 10 && el2.pendingVmmio === null; k++) assert.equal(cpu.run(cpu.icount + 100_000), Stop.Left);
    assert.equal(exits, before + 1, 'onVmmio called once');
    assert.deepEqual(el2.pendingVmmio, { ipa, size, write, value });
    assert.equal(cpu.pc, GUEST_IPA + OP_INSN[op]!, 'PC at the faulting instruction');
    el2.resumeVmmio(cpu, answer);
    assert.equal(el2.pendingVmmio, null);
    assert.equal(cpu.pc, GUEST_IPA + OP_INSN[op]! + 4, 'resumed after the instruction');
  };
  step(OP.LDRSH_X, MMIO + 0x10, 2, false, 0n, 0x1_8001n);
  step(OP.STR_W, MMIO + 0x14, 4, true, 0x1234_5678n, 0xdeadn);
  step(OP.LDR_W, MMIO, 4, false, 0n, 0xffff_ffff_1234_5678n);
  step(OP.STRB, MMIO + 1, 1, true, 0xffn, 0n);
  step(OP.STR_WZR, MMIO + 4, 4, true, 0n, 0n);
  step(OP.LDRSB_W, MMIO + 2, 1, false, 0n, 0x80n);
  step(OP.LDR_WZR, MMIO + 8, 4, false, 0n, 0x1234n);
  step(OP.LDR_X, MMIO + 0xff8, 8, false, 0n, 0xfedc_ba98_7654_3210n);
  assert.equal(cpu.run(cpu.icount + 100_000), Stop.Wfi, 'the driver finished its table');
  const r = ops.map((_, k) => vm.result(k));
  r.forEach((x, k) => assertEmulated(x, `op ${k}`));
  assert.equal(r[0]!.x0, 0xffff_ffff_ffff_8001n, 'ldrsh x: answer truncated to 16 bits, sign-extended to 64');
  assert.equal(r[2]!.x0, 0x1234_5678n, 'ldr w: answer truncated to 32 bits');
  assert.equal(r[5]!.x0, 0xffff_ff80n, 'ldrsb w: sign-extended to 32 bits only');
  assert.equal(r[6]!.x0, BigInt(MMIO + 8), 'ldr wzr: nothing written');
  assert.equal(r[7]!.x0, 0xfedc_ba98_7654_3210n);
  assert.equal(exits, 8);
});

test('§10.6/§9.6: VMMIO accesses abort without onVmmio, outside every range, when straddling a range’s end, or without ISV', () => {
  const vm = buildVm({ vcpus: 1 });
  const MMIO = 0x0a00_0000;
  vm.ok('addrspace_configure_vmmio', vm.as, BigInt(MMIO), 0x1000n, 0n, 0n);
  // No onVmmio: an abort even inside the range.
  const r0 = vm.run([{ op: OP.LDR_W, addr: MMIO }]);
  assertExternalAbort(r0[0]!, false, MMIO, 'no VMM');
  const vm2 = buildVm({ vcpus: 1 });
  vm2.ok('addrspace_configure_vmmio', vm2.as, BigInt(MMIO), 0x800n, 0n, 0n);
  const el2 = vm2.sys.vcpuOf(vm2.objs[0]!)!.el2;
  let exits = 0;
  el2.onVmmio = () => exits++;
  const r = vm2.run([
    { op: OP.LDR_W, addr: MMIO + 0x800 },
    { op: OP.LDR_W, addr: MMIO + 0x7fe },
    { op: OP.LDP_W, addr: MMIO + 0x10 },
  ]);
  assertExternalAbort(r[0]!, false, MMIO + 0x800, 'outside');
  assertExternalAbort(r[1]!, false, MMIO + 0x7fe, 'straddling the end');
  assertExternalAbort(r[2]!, false, MMIO + 0x10, 'ldp');
  assert.equal(exits, 0);
  assert.equal(el2.pendingVmmio, null);
});

// ----------------------------------------------------------------------------------------------
// addrspace_attach_vdevice (§2.6, §9.1)
// ----------------------------------------------------------------------------------------------

test('§2.6/§3.1: addrspace_attach_vdevice looks up the addrspace (map right, ACTIVE) before the VIC (attach_vdevice right, ACTIVE)', () => {
  const vm = buildVm({ vcpus: 1, gicrFlags: null });
  const call = (as: bigint, vic: bigint) =>
    vm.v.call('addrspace_attach_vdevice', as, vic, 0n, BigInt(GICD), GICD_SIZE, 0n).e;
  const db = vm.mk('doorbell');
  vm.ok('object_activate', db, 0n);
  const asInit = vm.mk('addrspace');
  const vicInit = vm.mk('vic');
  const copy = (cap: bigint, rights: number) => vm.ok('cspace_copy_cap_from', vm.C, cap, vm.C, BigInt(rights), 0n);
  assert.equal(call(asInit, db), Err.OBJECT_STATE, 'addrspace first: INIT addrspace, even with a doorbell as vdevice');
  assert.equal(call(db, vm.vic), Err.CSPACE_WRONG_OBJECT_TYPE);
  const asNoMap = copy(
    vm.as,
    RIGHT_ACTIVATE | ADDRSPACE_RIGHT.attach | ADDRSPACE_RIGHT.lookup | ADDRSPACE_RIGHT.add_vmmio_range,
  );
  assert.equal(call(asNoMap, vm.vic), Err.CSPACE_INSUFFICIENT_RIGHTS);
  assert.equal(call(vm.as, db), Err.CSPACE_WRONG_OBJECT_TYPE, 'a doorbell is not a vdevice');
  const vicNoAttach = copy(vm.vic, RIGHT_ACTIVATE | VIC_RIGHT.bind_source | VIC_RIGHT.attach_vcpu);
  assert.equal(call(vm.as, vicNoAttach), Err.CSPACE_INSUFFICIENT_RIGHTS);
  assert.equal(call(vm.as, vicInit), Err.OBJECT_STATE, 'the VIC must be ACTIVE');
  const gone = vm.mk('doorbell');
  vm.ok('cspace_delete_cap_from', vm.C, gone, 0n);
  assert.equal(call(vm.as, gone), Err.CSPACE_CAP_NULL, 'a deleted cap');
  const asOnlyMap = copy(vm.as, ADDRSPACE_RIGHT.map);
  const vicOnlyAttach = copy(vm.vic, VIC_RIGHT.attach_vdevice);
  assert.equal(call(asOnlyMap, vicOnlyAttach), Err.OK, 'map and attach_vdevice are all it needs');
});

test('§9.1: addrspace_attach_vdevice index and flags: index > max_vcpus ARGUMENT_INVALID; GICD flags must be 0; GICR flags only last_valid/last; GICR of a vCPU not attached-and-activated IDLE; attached twice BUSY', () => {
  // VIC of 3: vCPU 0 active, vCPU 1 attached but INIT, index 2 has no vCPU.
  const vm = buildVm({ vcpus: 2, active: 1, gicrFlags: null });
  const vic3 = vm.mk('vic');
  vm.ok('vic_configure', vic3, 3n, 32n, 3n, 0n);
  vm.ok('object_activate', vic3, 0n);
  const att = (vic: bigint, index: bigint, base: number, size: bigint, flags = 0n) =>
    vm.v.call('addrspace_attach_vdevice', vm.as, vic, index, BigInt(base), size, flags).e;
  assert.equal(att(vm.vic, 3n, GICR, 0x2_0000n), Err.ARGUMENT_INVALID, 'index > max_vcpus (2)');
  assert.equal(att(vm.vic, 0x1_0000_0003n, GICR, 0x2_0000n), Err.ARGUMENT_INVALID, 'index is a u32: still 3');
  assert.equal(att(vm.vic, 0n, GICD, GICD_SIZE, 1n), Err.ARGUMENT_INVALID, 'GICD flags must be 0');
  assert.equal(att(vm.vic, 1n, GICR, 0x2_0000n, 4n), Err.ARGUMENT_INVALID, 'GICR flag bit 2');
  assert.equal(att(vm.vic, 2n, GICR, 0x2_0000n, 1n << 63n), Err.ARGUMENT_INVALID, 'flags before IDLE');
  assert.equal(att(vm.vic, 2n, GICR + GICR_STRIDE, 0x2_0000n), Err.IDLE, 'vCPU 1 attached but not activated');
  assert.equal(att(vic3, 3n, GICR, 0x2_0000n), Err.IDLE, 'no vCPU at index 2');
  assert.equal(att(vm.vic, 0n, GICD, GICD_SIZE), Err.OK);
  assert.equal(att(vm.vic, 0n, 0x2000_0000, GICD_SIZE), Err.BUSY, 'GICD attached already (elsewhere)');
  assert.equal(att(vm.vic, 0n, 0x2000_0000, 0n), Err.BUSY, 'BUSY before the range checks');
  assert.equal(att(vm.vic, 1n, GICR, 0x2_0000n, 3n), Err.OK);
  assert.equal(att(vm.vic, 1n, GICR + 4 * GICR_STRIDE, 0x2_0000n), Err.BUSY, 'GICR0 attached already');
});

test('§9.1/§10.6: vdevice ranges follow the range-table rules: size 0 ARGUMENT_SIZE, wrap ADDR_OVERFLOW, beyond the 36-bit IPA space ARGUMENT_SIZE, overlap BUSY; a failed attach leaves nothing attached; no frame-size rule', () => {
  const vm = buildVm({ vcpus: 1, gicrFlags: null });
  const att = (index: bigint, base: bigint, size: bigint) =>
    vm.v.call('addrspace_attach_vdevice', vm.as, vm.vic, index, base, size, 0n).e;
  assert.equal(att(0n, BigInt(GICD), 0n), Err.ARGUMENT_SIZE);
  assert.equal(att(0n, 0xffff_ffff_ffff_0000n, 0x2_0000n), Err.ADDR_OVERFLOW);
  assert.equal(att(0n, 0xf_ffff_0000n, 0x2_0000n), Err.ARGUMENT_SIZE);
  // Our choice, after Gunyah's handler: the size is not checked against the 64 KiB frame.
  assert.equal(att(0n, BigInt(GICD), 0x1000n), Err.OK, 'a 4 KiB GICD range');
  assert.equal(att(1n, BigInt(GICD - 0x1_0000), 0x2_0000n), Err.BUSY, 'overlaps the GICD range');
  assert.equal(att(1n, BigInt(GICD - 0x2_0000), 0x2_0000n), Err.OK, 'ending where the GICD begins is fine');
  const r = vm.run([
    { op: OP.LDR_W, addr: GICD + D_IIDR },
    { op: OP.LDR_W, addr: GICD - 0x2_0000 + R_IIDR },
    { op: OP.LDR_W, addr: GICD + PIDR2 }, // beyond the 4 KiB GICD range, no fixed addresses: abort
  ]);
  assertEmulated(r[0]!, 'GICD');
  assert.equal(r[0]!.x0, 0x4700_0070n);
  assertEmulated(r[1]!, 'GICR');
  assert.equal(r[1]!.x0, 0x4700_0070n);
  assertExternalAbort(r[2]!, false, GICD + PIDR2, 'outside the range');
});

test('§4.2/§9.1: a VIC’s destruction takes its GICD out of the addrspace; the attachment holds the addrspace alive', () => {
  const vm = buildVm({ vcpus: 1, gicrFlags: null });
  const vic2 = vm.mk('vic');
  vm.ok('object_activate', vic2, 0n);
  vm.ok('addrspace_attach_vdevice', vm.as, vic2, 0n, 0x2000_0000n, GICD_SIZE, 0n);
  const vic3 = vm.mk('vic');
  vm.ok('object_activate', vic3, 0n);
  assert.equal(vm.v.call('addrspace_attach_vdevice', vm.as, vic3, 0n, 0x2000_0000n, GICD_SIZE, 0n).e, Err.BUSY);
  const vic2Obj = vm.hv.live.size;
  vm.ok('cspace_delete_cap_from', vm.C, vic2, 0n);
  assert.equal(vm.hv.live.size, vic2Obj - 1, 'the VIC was destroyed');
  vm.ok('addrspace_attach_vdevice', vm.as, vic3, 0n, 0x2000_0000n, GICD_SIZE, 0n);
  // A second addrspace with only the GICD attachment referring to it survives its cap's deletion.
  const as2 = vm.mk('addrspace');
  vm.ok('addrspace_configure', as2, 11n, 0n);
  vm.ok('object_activate', as2, 0n);
  const vic4 = vm.mk('vic');
  vm.ok('object_activate', vic4, 0n);
  vm.ok('addrspace_attach_vdevice', as2, vic4, 0n, 0x2000_0000n, GICD_SIZE, 0n);
  const live = vm.hv.live.size;
  vm.ok('cspace_delete_cap_from', vm.C, as2, 0n);
  assert.equal(vm.hv.live.size, live, 'addrspace kept by the GICD attachment');
  vm.ok('cspace_delete_cap_from', vm.C, vic4, 0n);
  assert.equal(vm.hv.live.size, live - 2, 'VIC gone, and with it the last reference to the addrspace');
});

// ----------------------------------------------------------------------------------------------
// vgic_set_mpidr_mapping (§2.5, §9.1, §8.1)
// ----------------------------------------------------------------------------------------------

test('§2.5/§9.1: vgic_set_mpidr_mapping needs a VIC cap with the activate right in INIT; shifts < 32, disjoint fields, a contiguous low-bit index mask below 0xFFFF', () => {
  const vm = buildVm({ vcpus: 1, gicrFlags: null });
  const vic = vm.mk('vic');
  const set = (cap: bigint, mask: bigint, s: bigint[], mt = 0n) =>
    vm.v.call('vgic_set_mpidr_mapping', cap, mask, s[0]!, s[1]!, s[2]!, s[3]!, mt).e;
  const db = vm.mk('doorbell');
  const noAct = vm.ok('cspace_copy_cap_from', vm.C, vic, vm.C, 0x7n, 0n);
  assert.equal(set(db, 7n, [0n, 0n, 0n, 0n]), Err.CSPACE_WRONG_OBJECT_TYPE);
  assert.equal(set(noAct, 7n, [0n, 0n, 0n, 0n]), Err.CSPACE_INSUFFICIENT_RIGHTS);
  assert.equal(set(vm.vic, 7n, [0n, 0n, 0n, 0n]), Err.OBJECT_STATE, 'an ACTIVE VIC');
  assert.equal(set(vm.vic, 7n, [32n, 0n, 0n, 0n]), Err.OBJECT_STATE, 'state before the arguments');
  const bad: [bigint, bigint[], string][] = [
    [7n, [32n, 0n, 0n, 0n], 'shift 32'],
    [7n, [0n, 0n, 0n, 40n], 'shift ≥ 32 on an unused level'],
    [0x0103n, [0n, 1n, 0n, 0n], 'Aff0 0b11 and Aff1 0b1 << 1 overlap'],
    [0x0101n, [0n, 2n, 0n, 0n], 'index bits 0 and 2: not contiguous'],
    [0x06n, [0n, 0n, 0n, 0n], 'index bits 1-2: not from bit 0'],
    [0xffffn, [0n, 8n, 0n, 0n], 'index mask 0xFFFF'],
    [0xff_0000_00ffn, [0n, 0n, 0n, 8n], 'Aff3 field counts: 0xFFFF'],
  ];
  for (const [mask, s, what] of bad) assert.equal(set(vic, mask, s), Err.ARGUMENT_INVALID, what);
  assert.equal(set(vic, 0x7fffn, [0n, 8n, 0n, 0n]), Err.OK, '15 bits');
  assert.equal(set(vic, 0n, [31n, 31n, 31n, 31n]), Err.OK, 'empty: uniprocessor');
  assert.equal(set(vic, 0xff00_ff00_0000n | 0x3n, [0n, 0n, 0n, 0n]), Err.OK, 'bits outside Aff0..3 ignored');
  assert.equal(set(vic, 0x0300n, [0n, 0x1_0000_0000n, 0n, 0n]), Err.OK, 'shifts are u32: 2^32 truncates to 0');
  // A failed call keeps the last good mapping.
  assert.equal(set(vic, 0x0301n, [0n, 1n, 0n, 0n], 1n), Err.OK);
  assert.equal(set(vic, 0x0101n, [0n, 2n, 0n, 0n]), Err.ARGUMENT_INVALID);
  vm.ok('vic_configure', vic, 4n, 32n, 3n, 0n);
  vm.ok('object_activate', vic, 0n);
  const v = vm.hv.live;
  const obj = [...v].find((o) => o instanceof Vic && o.maxVcpus === 4) as Vic;
  assert.equal(vicMpidrOfIndex(obj, 3), 0x8100_0101n, 'index 3 → Aff1 1, Aff0 1, MT');
});

test('§9.1/§8.1: the MPIDR mapping gives each vCPU its MPIDR_EL1 (MT, U clear, Aff fields), its GICR_TYPER affinity, and routes ICC_SGI1R by affinity', () => {
  // Index = Aff0[0] | Aff1[1:0] << 1: index 3 → Aff1 1, Aff0 1.
  const vm = buildVm({ vcpus: 4, mapping: { mask: 0x0301n, shifts: [0n, 1n, 0n, 0n], mt: 1n } });
  const expect = [0x8100_0000n, 0x8100_0001n, 0x8100_0100n, 0x8100_0101n];
  expect.forEach((m, i) => {
    assert.equal(vicMpidrOfIndex(vm.vicObj, i), m, `index ${i}`);
    assert.equal(vicIndexOfMpidr(vm.vicObj, m), i, `MPIDR ${m.toString(16)}`);
  });
  assert.equal(vicIndexOfMpidr(vm.vicObj, 0x0101n), 3, 'U, MT and bit 31 do not matter');
  assert.equal(vicIndexOfMpidr(vm.vicObj, 0x8100_0002n), -1, 'Aff0 bit 1 is outside the mask');
  assert.equal(vicIndexOfMpidr(vm.vicObj, 0x1_8100_0000n), -1, 'Aff3 outside the mask');
  // SGI 5 to Aff3.Aff2.Aff1 = 0.0.1, target list {1}: the vCPU at index 3 only.
  const sgi = (5n << 24n) | (1n << 16n) | 0b10n;
  const r = vm.run([
    { op: OP.MRS_MPIDR, addr: 0 },
    { op: OP.LDR_X, addr: GICR + 3 * GICR_STRIDE + R_TYPER },
    { op: OP.MSR_SGI1R, addr: 0, value: sgi },
    ...[0, 1, 2, 3].map((n) => ({ op: OP.LDR_W, addr: GICR + n * GICR_STRIDE + S_ISPENDR0 })),
  ]);
  r.forEach((x, k) => assertEmulated(x, `op ${k}`));
  assert.equal(r[0]!.x0, 0x8100_0000n, 'vCPU 0 reads its MPIDR_EL1');
  assert.equal(r[1]!.x0, 0x0000_0101_0000_0310n, 'GICR3: Aff 0.0.1.1, processor 3, Last');
  assert.deepEqual(
    r.slice(3).map((x) => x.x0),
    [0n, 0n, 0n, 1n << 5n],
    'SGI 5 pending only on the vCPU with affinity 0.0.1.1',
  );
  // The vCPU at index 3 sees its own MPIDR.
  const vm3 = buildVm({ vcpus: 4, mapping: { mask: 0x0301n, shifts: [0n, 1n, 0n, 0n], mt: 1n } });
  assert.equal(vm3.run([{ op: OP.MRS_MPIDR, addr: 0 }], 3)[0]!.x0, 0x8100_0101n);
});

test('§8.1/§9.1: the default mapping is the QEMU hardware one (Aff0 = index, mask 0x7, MT and U clear); an empty index mask makes every vCPU uniprocessor (U set, affinity 0)', () => {
  const vm = buildVm({ vcpus: 3 });
  assert.equal(vm.run([{ op: OP.MRS_MPIDR, addr: 0 }], 2)[0]!.x0, 0x8000_0002n);
  assert.equal(vicIndexOfMpidr(vm.vicObj, 0x8000_0002n), 2);
  assert.equal(vicIndexOfMpidr(vm.vicObj, 0x8000_0003n), -1, 'index 3 ≥ max_vcpus');
  assert.equal(vicIndexOfMpidr(vm.vicObj, 0x8000_0008n), -1, 'Aff0 beyond mask 0x7');
  assert.equal(vicIndexOfMpidr(vm.vicObj, 0x8000_0100n), -1, 'Aff1 unused by the default mapping');
  const up = buildVm({ vcpus: 2, mapping: { mask: 0n, shifts: [0n, 0n, 0n, 0n], mt: 0n } });
  const r = up.run(
    [
      { op: OP.MRS_MPIDR, addr: 0 },
      { op: OP.LDR_X, addr: GICR + GICR_STRIDE + R_TYPER },
    ],
    1,
  );
  assert.equal(r[0]!.x0, 0xc000_0000n, 'U set, all affinity fields 0');
  assert.equal(r[1]!.x0, 0x0000_0000_0000_0110n, 'GICR1: affinity 0 too, processor 1, Last');
});
