// The EL2 trap interface (DESIGN.md §2: "the CPU raises traps to EL2 through one interface, with
// an ESR-style syndrome"): HVC/SMC, trapped WFI, and stage-2 translation with its faults.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeCpu, RAM_BASE } from '../helpers/cpu.js';
import { Access, type Cpu, type El2 } from '../../src/arch/aarch64/cpu.js';
import { EC, describeEsr } from '../../src/arch/aarch64/esr.js';

interface Trap {
  esr: number;
  far: number;
  ipa: number;
  pc: number;
}

class RecordingEl2 implements El2 {
  traps: Trap[] = [];
  trapWfi = false;
  /** IPA → PA offset for IPAs below `limit`; above it, a stage-2 translation fault. */
  constructor(
    readonly offset = 0,
    readonly limit = Infinity,
  ) {}
  stage2: ((cpu: Cpu, ipaPage: number, access: Access, va: number) => number) | null = null;
  trap(cpu: Cpu, esr: number, far: number, ipa: number): void {
    this.traps.push({ esr, far, ipa, pc: cpu.pc });
    if (esr >>> 26 === EC.HVC64) cpu.x[0] = 0x1234n;
    if (esr >>> 26 === EC.DABORT_LOWER) {
      // Emulate an MMIO read: the register named by SRT gets a value, the PC moves on.
      const srt = (esr >>> 16) & 31;
      cpu.x[srt] = 0xabcdn;
      cpu.pc += 4;
    }
  }
}

test('Arm ARM D1.10.4: HVC #0x6000 at EL1 reaches EL2 with EC 0x16, IL=1, imm16 in the ISS, and returns after the HVC', () => {
  const { cpu, code } = makeCpu();
  const el2 = new RecordingEl2();
  cpu.el2 = el2;
  code(RAM_BASE, [0xd40c0002]); // hvc #0x6000
  cpu.step();
  assert.equal(el2.traps.length, 1);
  assert.equal(el2.traps[0]!.esr, 0x5a006000);
  assert.equal(el2.traps[0]!.pc, RAM_BASE + 4, 'the handler sees the preferred return address');
  assert.equal(cpu.pc, RAM_BASE + 4);
  assert.equal(cpu.x[0], 0x1234n);
  assert.equal(cpu.el, 1);
});

test('Arm ARM D1.10.4: SMC #0 at EL1 reaches EL2/EL3 with EC 0x17', () => {
  const { cpu, code } = makeCpu();
  const el2 = new RecordingEl2();
  cpu.el2 = el2;
  code(RAM_BASE, [0xd4000003]); // smc #0
  cpu.step();
  assert.equal(el2.traps[0]!.esr, 0x5e000000);
});

test('Arm ARM D1.10.4: without EL2, HVC is undefined; HVC from EL0 is undefined even with EL2', () => {
  const { cpu, code } = makeCpu();
  cpu.sys.vbarEl1 = BigInt(RAM_BASE + 0x800);
  code(RAM_BASE, [0xd40c0002]);
  cpu.step();
  assert.equal(cpu.sys.esrEl1 >>> 26, EC.UNKNOWN);
  const el2 = new RecordingEl2();
  cpu.el2 = el2;
  cpu.sys.spsrEl1 = 0;
  cpu.sys.elrEl1 = BigInt(RAM_BASE);
  cpu.eret();
  cpu.step();
  assert.equal(el2.traps.length, 0);
  assert.equal(cpu.sys.esrEl1 >>> 26, EC.UNKNOWN);
  assert.equal(cpu.el, 1);
});

test('Arm ARM D1.10.4 (HCR_EL2.TWI): a trapped WFI reaches EL2 with EC 0x01 and the WFI itself as return address', () => {
  const { cpu, code } = makeCpu();
  const el2 = new RecordingEl2();
  el2.trapWfi = true;
  cpu.el2 = el2;
  code(RAM_BASE, [0xd503207f]); // wfi
  cpu.step();
  assert.equal(el2.traps[0]!.esr >>> 26, EC.WFX);
  assert.equal(el2.traps[0]!.esr & 1, 0, 'TI = 0 for WFI');
  assert.equal(el2.traps[0]!.pc, RAM_BASE);
});

test('WFI without a trap and with nothing pending makes the CPU wait; a pending IRQ makes it a NOP', () => {
  const { cpu, code } = makeCpu();
  code(RAM_BASE, [0xd503207f, 0xd503207f]);
  cpu.step();
  assert.equal(cpu.pc, RAM_BASE + 4);
  cpu.irqLine = true; // masked by PSTATE.I, still a wake-up event
  cpu.step();
  assert.equal(cpu.pc, RAM_BASE + 8);
  assert.equal(cpu.el, 1);
});

test('Stage 2: data accesses go through the hook (IPA → PA), and a stage-2 fault reaches EL2 with ISV, SAS, SRT and the IPA', () => {
  const { cpu, code, ram } = makeCpu(1 << 21);
  const el2 = new RecordingEl2();
  el2.stage2 = (c, ipa, access, va) => {
    if (ipa >= 0x9000_0000) c.stage2Fault(va, ipa, access, 0x07 /* translation fault, level 3 */);
    return ipa - 0x8000_0000 + RAM_BASE; // IPA 0x8000_0000.. → RAM
  };
  cpu.el2 = el2;
  new DataView(ram.buffer).setUint32(0x2000, 0xcafef00d, true);
  // Code is fetched through stage 2 as well: place it at IPA 0x8000_0000 = PA RAM_BASE.
  code(RAM_BASE, [0xb9400041, 0xb9400061]); // ldr w1, [x2]; ldr w1, [x3]
  cpu.pc = 0x8000_0000;
  cpu.x[2] = 0x8000_2000n;
  cpu.x[3] = 0x9000_0010n;
  cpu.step();
  if (cpu.sys.esrEl1 !== 0) assert.fail(`unexpected exception: ${describeEsr(cpu.sys.esrEl1)}`);
  assert.equal(cpu.x[1], 0xcafef00dn);
  cpu.step();
  const t = el2.traps[0]!;
  assert.equal(t.esr >>> 26, EC.DABORT_LOWER);
  assert.equal((t.esr >>> 24) & 1, 1, 'ISV');
  assert.equal((t.esr >>> 22) & 3, 2, 'SAS = word');
  assert.equal((t.esr >>> 16) & 31, 1, 'SRT = x1');
  assert.equal((t.esr >>> 15) & 1, 0, 'SF = 0 for a W load');
  assert.equal((t.esr >>> 6) & 1, 0, 'WnR = read');
  assert.equal(t.esr & 0x3f, 0x07);
  assert.equal(t.ipa, 0x9000_0000, 'the faulting IPA page, as HPFAR_EL2 reports it');
  assert.equal(t.far, 0x9000_0010, 'the VA, as FAR_EL2 reports it');
  assert.equal(cpu.x[1], 0xabcdn, 'EL2 emulated the load');
  assert.equal(cpu.pc, 0x8000_0008);
});

test('esr.ts: syndromes are turned into words naming the class, the fault and the registers', () => {
  assert.equal(describeEsr(0x5a006000), 'HVC instruction from AArch64, imm16 0x6000');
  assert.equal(
    describeEsr(0x93810047),
    'data abort from a lower exception level: translation fault, level 3, on a write, 4-byte access, register w1',
  );
  assert.match(describeEsr(0x62380405), /trapped MSR, MRS or system instruction|SME/);
  assert.equal(describeEsr(0x96000021), 'data abort without a change in exception level: alignment fault, on a read');
});

test('Arm ARM D13.2 (HCR_EL2.TVM-style traps): an MSR that EL2 traps reaches it with EC 0x18 and the full ISS, and leaves the register alone', () => {
  const { cpu, code } = makeCpu();
  const el2 = new RecordingEl2();
  const trapped: Array<[number, boolean]> = [];
  Object.assign(el2, {
    trapSysreg: (_c: Cpu, key: number, read: boolean) => {
      trapped.push([key, read]);
      return !read; // trap writes only
    },
  });
  cpu.el2 = el2;
  code(RAM_BASE, [0xd5182003, 0xd5382004]); // msr TTBR0_EL1, x3; mrs x4, TTBR0_EL1
  cpu.x[3] = 0x1234000n;
  cpu.step();
  const t = el2.traps[0]!;
  assert.equal(t.esr >>> 26, EC.SYSREG);
  assert.equal(t.esr & 0x1ffffff, (3 << 20) | (0 << 17) | (0 << 14) | (2 << 10) | (3 << 5) | (0 << 1) | 0);
  assert.equal(t.pc, RAM_BASE, 'ELR_EL2 is the trapped instruction');
  assert.equal(cpu.sys.ttbr0El1, 0n);
  cpu.pc = RAM_BASE + 4;
  cpu.step();
  assert.deepEqual(trapped[1], [(3 << 14) | (0 << 11) | (2 << 7) | (0 << 3) | 0, true]);
  assert.equal(el2.traps.length, 1, 'reads were not trapped');
});
