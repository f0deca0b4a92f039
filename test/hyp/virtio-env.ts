// Test environment for the virtio-mmio tests (no tests here): a VM built by the root through
// hypercalls (vm-env.ts) whose one emulated vCPU runs a small script interpreter, and a virtio-mmio
// device whose register page the VM maps read-only at 0x0A00_0000 (QEMU virt's first virtio-mmio
// slot) while the root — the backend — maps it read-write in its own addrspace and reaches it
// through its own memory view, as a backend VM does.
//
// The guest interpreter reads 16-byte entries [op u32, value u32, address u64] from IPA
// 0x8000_1000 and appends what it reads to IPA 0x8000_2000; a synchronous exception (the
// external abort of a refused store, §9.6) appends ESR_EL1 and resumes after the instruction.
//
//   start:  movz x6,#0x8000,lsl #16; add x6,x6,#1,lsl #12     // script
//           movz x7,#0x8000,lsl #16; add x7,x7,#2,lsl #12     // results
//           movz x8,#0x8000,lsl #16; add x8,x8,#0x800; msr vbar_el1,x8; isb
//   next:   ldp w1,w2,[x6]; ldr x4,[x6,#8]; add x6,x6,#16; cbz w1,done
//           op 1: str w2,[x4]      op 2: strb w2,[x4]    op 3: ldr w9,[x4]; str w9,[x7],#4
//           op 4: strh w2,[x4]     op 5: str x2,[x4]     op 6: ldrb w9,[x4]; str w9,[x7],#4
//           op 7: wfi              op 8: mrs x9,icc_iar1_el1; str w9,[x7],#4
//           op 9: msr icc_eoir1_el1,x2   op 10: msr icc_pmr_el1,x2   op 11: msr icc_igrpen1_el1,x2; isb
//           op 12: str wzr,[x4]    (each: cmp w1,#op; b.ne <next op>; ...; b next)
//   done:   ldur x0,[x6,#-8]; mov x1,#1; hvc #0x6039; b done   // vcpu_poweroff(own cap, last_vcpu)
// The end entry (op 0) carries the vCPU's own cap, so the guest powers itself off when its script
// is done; the next script starts from the top again (results too) at the next power-on.
//   vector (VBAR + 0x200, current EL with SP_ELx, synchronous):
//           mrs x9,esr_el1; str w9,[x7],#4; mrs x10,elr_el1; add x10,x10,#4; msr elr_el1,x10; eret

import assert from 'node:assert/strict';
import { Err, errorName } from '../../src/hyp/abi/errors.js';
import { NativeIrq } from '../../src/hyp/vm/native.js';
import type { Vic } from '../../src/hyp/vm/vic.js';
import { GUEST_IPA, buildVm, ok } from './vm-env.js';

const INTERPRETER = [
  0xd2b00006, 0x914004c6, 0xd2b00007, 0x914008e7, 0xd2b00008, 0x91200108, 0xd518c008, 0xd5033fdf, 0x294008c1,
  0xf94004c4, 0x910040c6, 0x340006a1, 0x7100043f, 0x54000061, 0xb9000082, 0x17fffff9, 0x7100083f, 0x54000061,
  0x39000082, 0x17fffff5, 0x71000c3f, 0x54000081, 0xb9400089, 0xb80044e9, 0x17fffff0, 0x7100103f, 0x54000061,
  0x79000082, 0x17ffffec, 0x7100143f, 0x54000061, 0xf9000082, 0x17ffffe8, 0x7100183f, 0x54000081, 0x39400089,
  0xb80044e9, 0x17ffffe3, 0x71001c3f, 0x54000061, 0xd503207f, 0x17ffffdf, 0x7100203f, 0x54000081, 0xd538cc09,
  0xb80044e9, 0x17ffffda, 0x7100243f, 0x54000061, 0xd518cc22, 0x17ffffd6, 0x7100283f, 0x54000061, 0xd5184602,
  0x17ffffd2, 0x71002c3f, 0x54000081, 0xd518cce2, 0xd5033fdf, 0x17ffffcd, 0x7100303f, 0x54000061, 0xb900009f,
  0x17ffffc9, 0xf85f80c0, 0xd2800021, 0xd40c0722, 0x17fffffd,
];
const VECTOR = [0xd5385209, 0xb80044e9, 0xd538402a, 0x9100114a, 0xd518402a, 0xd69f03e0];

export const OP = {
  W32: 1,
  W8: 2,
  R32: 3,
  W16: 4,
  W64: 5,
  R8: 6,
  WFI: 7,
  IAR: 8,
  EOI: 9,
  PMR: 10,
  IGRPEN1: 11,
  WZR: 12,
} as const;

export type Step = readonly [op: number, value: number, addr: bigint];

/** The register page: a RAM page away from the VM's memory and the RM region. */
export const REG_PA = 0x4200_0000;
/** Where the frontend VM maps it (read-only), and where the root backend maps it (read-write). */
export const FRONT_IPA = 0x0a00_0000n;
export const BACK_IPA = 0x8_0000_0000n;
/** Extent attributes: RW, memtype ANY, BASIC. */
export const ME_RW = 6n;
/** user R / kernel R, and user RW / kernel RW; NORMAL_WB (§10.2). */
export const MAP_RO = 4n | (4n << 4n) | (15n << 16n);
export const MAP_RW = 6n | (6n << 4n) | (15n << 16n);
/** virtio_option_flags.valid_device_type, and virtio-input's device type. */
export const VALID_TYPE = 1n << 6n;
export const INPUT = 18n;
/** The fixed vGIC distributor of the VM (vm-env's VIC keeps the legacy addresses). */
export const GICD = 0x0800_0000n;
const RESULTS = 0x2000;
const SCRIPT = 0x1000;

export interface DeviceOptions {
  vqs?: number;
  flags?: bigint;
  type?: bigint;
  /** Map the page read-only into the VM (default true). */
  front?: boolean;
}

/** A guest VM (one emulated vCPU running the interpreter) and a configured, active virtio-mmio device. */
export function virtioVm(o: DeviceOptions = {}) {
  const env = buildVm({ vcpus: 1, code: { 0: INTERPRETER, 0xa00: VECTOR } });
  const { v, root, as, mk } = env;
  const call = (name: string, ...args: bigint[]) => v.call(name, ...args);
  const must = (name: string, ...args: bigint[]): bigint[] => {
    const r = call(name, ...args);
    assert.equal(r.e, Err.OK, `${name}: ${errorName(r.e)}`);
    return r.x;
  };
  const me = mk('memextent');
  must('memextent_configure', me, BigInt(REG_PA), 0x1000n, ME_RW, 0n);
  must('object_activate', me, 0n);
  const vio = mk('virtio_mmio');
  must('virtio_mmio_configure', vio, me, BigInt(o.vqs ?? 2), o.flags ?? 0n, o.type ?? 0n);
  must('object_activate', vio, 0n);
  if (o.front ?? true) must('addrspace_map', as, me, FRONT_IPA, MAP_RO, 0n, 0n, 0n);
  must('addrspace_map', root.caps.addrspace, me, BACK_IPA, MAP_RW, 0n, 0n, 0n);
  const access = root.thread.access!;
  /** The backend reads a 32-bit register through its own mapping of the page. */
  const reg = (off: number): number => {
    const b = access.read(BACK_IPA + BigInt(off), 4);
    assert.ok(typeof b !== 'number', 'backend read of the register page');
    return new DataView(b.buffer, b.byteOffset).getUint32(0, true);
  };
  /** The backend writes a 32-bit register through its own (writable) mapping. */
  const setReg = (off: number, value: number): void => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, value >>> 0, true);
    assert.equal(access.write(BACK_IPA + BigInt(off), b), Err.OK);
  };
  /** Place the guest's script (ends with op 0) and clear its results. */
  const script = (steps: readonly Step[]): void => {
    for (let k = 0; k < 0x400; k += 4) env.dv.setUint32(env.base + RESULTS + k, 0, true);
    steps.forEach(([op, value, addr], k) => {
      env.dv.setUint32(env.base + SCRIPT + 16 * k, op, true);
      env.dv.setUint32(env.base + SCRIPT + 16 * k + 4, value >>> 0, true);
      env.dv.setBigUint64(env.base + SCRIPT + 16 * k + 8, addr, true);
    });
    env.dv.setUint32(env.base + SCRIPT + 16 * steps.length, 0, true);
    env.dv.setBigUint64(env.base + SCRIPT + 16 * steps.length + 8, env.threads[0]!, true);
  };
  /** What the guest appended so far: loads, and ESR_EL1 of each abort. */
  const results = (n: number): number[] =>
    Array.from({ length: n }, (_, k) => env.dv.getUint32(env.base + RESULTS + 4 * k, true));
  const thread = env.objs[0]!;
  /**
   * Run until the guest waits or has powered itself off, powering it on at the interpreter first
   * if it is off (a new script); time limit 20 ms of virtual time from now.
   */
  const run = (): string => {
    if (thread.poweredOff) must('vcpu_poweron', env.threads[0]!, GUEST_IPA, 0n, 0n);
    return env.sys.run(Math.max(...env.sys.time) + 20_000_000);
  };
  /** Run `steps` to the end of the script; returns what the guest appended (n values). */
  const guest = (steps: readonly Step[], n: number): number[] => {
    script(steps);
    assert.equal(run(), 'idle', 'the guest runs its script');
    assert.equal(thread.poweredOff, true, 'the guest reached the end of its script');
    return results(n);
  };
  return { ...env, me, vio, call, must, reg, setReg, script, results, run, guest };
}

/** A register of the page as the frontend addresses it. */
export const at = (off: number): bigint => FRONT_IPA + BigInt(off);

/** Whether a result is the ESR_EL1 of a synchronous external abort on a store (EC 0x25, FSC 0x10, WnR). */
export function isStoreAbort(esr: number): boolean {
  return esr >>> 26 === 0x25 && (esr & 0x3f) === 0x10 && ((esr >>> 6) & 1) === 1;
}

/** Results with aborts shown as 'abort'. */
export const shown = (r: number[]): (number | 'abort')[] => r.map((x) => (isStoreAbort(x) ? 'abort' : x));

/** The guest's steps enabling SPI `virq` as a level Group 1 interrupt at its vGIC. */
export function guestEnableSpi(virq: number): Step[] {
  const w = BigInt(4 * (virq >>> 5));
  const bit = 1 << (virq & 31);
  return [
    [OP.W32, 0x12, GICD], // GICD_CTLR: EnableGrp1A | ARE
    [OP.W32, bit, GICD + 0x80n + w], // GICD_IGROUPR
    [OP.W32, 0xa0a0a0a0, GICD + 0x400n + BigInt(virq & ~3)], // GICD_IPRIORITYR
    [OP.W32, bit, GICD + 0x100n + w], // GICD_ISENABLER
    [OP.PMR, 0xff, 0n],
    [OP.IGRPEN1, 1, 0n],
  ];
}

/**
 * The VM's vGIC as its guest would see it (a GIC CPU interface view on the VM's VIC, for checking
 * VIRQ pending state without running code), with SPI `virq` enabled.
 */
export function vmIrq(env: ReturnType<typeof virtioVm>, virq: number): NativeIrq {
  const vic = env.root.cspace.lookup<Vic>(env.vic, 'vic', 0, false) as Vic;
  const irq = new NativeIrq(vic.gic!, 0);
  irq.init();
  irq.enable(virq);
  return irq;
}

/** The root vCPU's view of its own VIC (it is not run by the system here: the test drives it). */
export function rootIrq(env: ReturnType<typeof virtioVm>, virq: number): NativeIrq {
  const irq = new NativeIrq(env.root.vic.gic!, 0);
  irq.init();
  irq.enable(virq);
  return irq;
}

export { ok };
