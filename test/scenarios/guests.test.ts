// The guest programs of guests/ run on the bare board (QEMU `virt` layout, EL1, PSCI firmware):
// each prints PASS/FAIL lines for architectural claims it checks itself, and `EXIT <code>`.
// A claim here holds when every line with its prefix passed and at least one such line exists.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkLines, describeRun, runGuest, type GuestRun } from './guest-run.js';

function expectChecks(guest: string, prefixes: readonly string[]): GuestRun {
  const run = runGuest(guest);
  assert.equal(run.result.stop, 'system-off', `${guest}: ${describeRun(run)}`);
  const { pass, fail } = checkLines(run.text);
  for (const p of prefixes) {
    const failed = fail.filter((l) => l.startsWith(p));
    assert.deepEqual(failed, [], `${guest}: checks failed`);
    assert.ok(
      pass.some((l) => l.startsWith(p)),
      `${guest}: no PASS line starting with '${p}' (${describeRun(run)})`,
    );
  }
  return run;
}

function expectCleanExit(guest: string): void {
  const run = runGuest(guest);
  const { pass, fail } = checkLines(run.text);
  assert.deepEqual(fail, [], `${guest}: FAIL lines`);
  assert.ok(pass.length > 0, `${guest}: no PASS lines (${describeRun(run)})`);
  assert.match(run.text, /^EXIT 0$/m, `${guest}: ${describeRun(run)}`);
}

// ---- every guest: no self-check failed, EXIT 0 ----

for (const guest of ['hello.elf', 'exceptions.elf', 'mmu.elf', 'timer.elf', 'bench-small.elf']) {
  test(`guests: ${guest} passes every one of its own checks and ends with EXIT 0 and PSCI SYSTEM_OFF`, () => {
    expectCleanExit(guest);
    assert.equal(runGuest(guest).result.stop, 'system-off');
  });
}

// ---- hello.elf ----

test('virt board: hello.elf greets, reports EL1, MIDR 0x411fd070 (Cortex-A57) and CNTFRQ 62.5 MHz, and powers off via PSCI', () => {
  const run = expectChecks('hello.elf', ['hello: running at EL1']);
  assert.match(run.text, /^Hello from gunyah-ts/m);
  assert.match(run.text, /CurrentEL {2}EL1$/m);
  assert.match(run.text, /MIDR_EL1 {3}0x411fd070 /);
  assert.match(run.text, /CNTFRQ_EL0 62500000 Hz/);
  assert.match(run.text, /^EXIT 0$/m);
});

// ---- exceptions.elf ----

test('Arm ARM D1.10, ESR_EL1 (D17.2.37): SVC at EL1 goes to the current-EL SP_ELx vector with EC 0x15, ISS = imm16, ELR = next insn', () => {
  expectChecks('exceptions.elf', ['svc el1:']);
});

test('Arm ARM D1.10: ERET drops to EL0t; SVC from EL0 goes to the lower-EL AArch64 vector with SPSR.M = EL0t', () => {
  expectChecks('exceptions.elf', ['el0:', 'el0 svc:']);
});

test('Arm ARM D11 CNTKCTL_EL1.EL0VCTEN = 0: an EL0 read of CNTVCT_EL0 traps with EC 0x18 and an ISS naming the register, Rt and direction', () => {
  expectChecks('exceptions.elf', ['el0 mrs:']);
});

test('Arm ARM C6.2 UDF: an undefined instruction is EC 0 (unknown reason), IL 1, ISS 0, ELR = the instruction', () => {
  expectChecks('exceptions.elf', ['udf:']);
});

test('Arm ARM C6.2 BRK: EC 0x3C with ISS = imm16 and ELR = the BRK itself', () => {
  expectChecks('exceptions.elf', ['brk:']);
});

test('Arm ARM B2.5 (exclusives): an unaligned LDXR is an alignment fault (DFSC 0x21, WnR 0, FAR = address); an unaligned STXR faults or fails', () => {
  expectChecks('exceptions.elf', ['ldxr unaligned:', 'stxr unaligned:']);
});

test('Arm ARM D17.2.37 DFSC 0b010000: a load from an address no device decodes is a synchronous external abort', () => {
  expectChecks('exceptions.elf', ['external abort:']);
});

test('Arm ARM D1.10 PC alignment checking: BLR to a misaligned target faults with EC 0x22 and FAR = ELR = the target', () => {
  expectChecks('exceptions.elf', ['pc alignment:']);
});

test('PSCI (Arm DEN0022) §5.1: PSCI_VERSION over HVC from EL1 is answered by the firmware with 1.x, not by the guest vectors', () => {
  expectChecks('exceptions.elf', ['psci:']);
});

// ---- mmu.elf ----

test('Arm ARM D8.2: with the MMU on, TTBR0 (T0SZ 25, 3 levels) maps RAM 1:1 and TTBR1 (T1SZ 16, 4 levels) maps 0xffff0000_00000000', () => {
  expectChecks('mmu.elf', ['mmu on:', 'rw page:', 'ttbr1:']);
});

test('Arm ARM C5.5 AT S1E1R/S1E1W: PAR_EL1 gives the PA and MAIR attribute, or F = 1 with the fault status code', () => {
  expectChecks('mmu.elf', [
    'at mmu off:',
    'at rw page:',
    'at uart:',
    'at write ro page:',
    'at read ro page:',
    'at unmapped:',
    'at af=0 page:',
  ]);
});

test('Arm ARM D8.4: a store to an AP[2] = 1 page is a level-3 permission fault with WnR 1 that leaves memory unchanged', () => {
  expectChecks('mmu.elf', ['ro page:']);
});

test('Arm ARM D8.4: a fetch from a PXN page is a level-3 permission Instruction Abort; clearing PXN then TLBI VAE1 makes it executable', () => {
  expectChecks('mmu.elf', ['xn page:']);
});

test('Arm ARM D8.5: AF = 0 gives an access flag fault at level 3; the load is retried after the handler sets AF', () => {
  expectChecks('mmu.elf', ['af:']);
});

test('Arm ARM D8.13 TLB maintenance: after TLBI VAE1 or VMALLE1 a changed or removed descriptor takes effect; invalid entries are translation faults', () => {
  expectChecks('mmu.elf', ['unmapped:', 'remap:', 'unmap:']);
});

// ---- timer.elf ----

test('Arm ARM D11.1: CNTFRQ_EL0 reads 62.5 MHz and, with no EL2, CNTVCT_EL0 and CNTPCT_EL0 count up together', () => {
  expectChecks('timer.elf', ['cntfrq:', 'cntvct:', 'cntpct:', 'cntvoff:']);
});

test('Arm ARM D11.2: writing CNTV_TVAL sets CVAL = count + TVAL; ISTATUS rises once the count reaches CVAL and clears for a later CVAL', () => {
  expectChecks('timer.elf', ['cntv tval:', 'cntv:']);
});

test('Arm ARM D11.2: the physical EL1 timer programmed through CNTP_CVAL fires at CVAL', () => {
  expectChecks('timer.elf', ['cntp cval:', 'cntp:']);
});

test('DESIGN §3 virtual time: timer.elf prints the same output, tick counts included, on every run', () => {
  const a = runGuest('timer.elf');
  const b = runGuest('timer.elf', 50_000_000, { fresh: true });
  assert.equal(b.text, a.text);
  assert.equal(b.result.instructions, a.result.instructions);
});

// ---- bench-small.elf ----

test('bench-small.elf (integer workload) completes with the checksum QEMU prints for the same ELF', () => {
  const run = expectChecks('bench-small.elf', ['bench:']);
  // Recorded from `qemu-system-aarch64 -M virt -cpu cortex-a57 -kernel guests/bin/bench-small.elf`;
  // rebuilding bench.c changes it (the oracle test compares with a live QEMU run too).
  assert.match(run.text, /^CHECKSUM 15cf3de29cc20ca6$/m);
  assert.match(run.text, /^EXIT 0$/m);
});
