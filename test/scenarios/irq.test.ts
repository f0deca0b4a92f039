// irq.elf on the bare board: the GICv3 (Arm IHI 0069) set up as a small OS does it (distributor with
// ARE and Group 1, redistributor woken, ICC_* system registers), the virtual timer's PPI 27 and
// SGIs taken through the IRQ vector from WFI. The guest checks itself and prints PASS/FAIL lines
// that do not depend on timing, so QEMU's own GICv3 (`-M virt,gic-version=3`) is the oracle: it
// must print the same lines. Without QEMU that comparison fails under CI and is skipped elsewhere.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { checkLines, describeRun, guestPath, qemuAvailable, QEMU, runGuest, type GuestRun } from './guest-run.js';

const GUEST = 'irq.elf';

/** The guest's timer interval (guests/irq.c INTERVAL, counter ticks) and interrupt count. */
const INTERVAL_TICKS = 6250;
const TIMER_IRQS = 5;
/** The generic counter runs at 62.5 MHz of virtual time: 16 ns per tick. */
const NS_PER_TICK = 16;

/** Every line starting with one of `prefixes` passed, and each prefix has at least one PASS line. */
function expectChecks(prefixes: readonly string[]): GuestRun {
  const run = runGuest(GUEST);
  assert.equal(run.result.stop, 'system-off', describeRun(run));
  const { pass, fail } = checkLines(run.text);
  for (const p of prefixes) {
    assert.deepEqual(
      fail.filter((l) => l.startsWith(p)),
      [],
      `${GUEST}: checks failed`,
    );
    assert.ok(
      pass.some((l) => l.startsWith(p)),
      `${GUEST}: no PASS line starting with '${p}' (${describeRun(run)})`,
    );
  }
  return run;
}

/** The PASS/FAIL lines and the EXIT line: everything the guest prints that does not depend on timing. */
function verdictLines(text: string): string[] {
  return text.split('\n').filter((l) => /^(PASS|FAIL|EXIT) /.test(l));
}

function needQemu(t: TestContext): boolean {
  if (qemuAvailable()) return true;
  const msg = `ORACLE MISSING: ${QEMU} not on PATH (Debian package qemu-system-arm); irq.elf not compared with QEMU's GICv3`;
  if (process.env.CI) assert.fail(msg);
  console.warn(msg);
  t.skip(msg);
  return false;
}

test('irq.elf passes every one of its own checks and ends with EXIT 0 and PSCI SYSTEM_OFF', () => {
  const run = runGuest(GUEST);
  const { pass, fail } = checkLines(run.text);
  assert.deepEqual(fail, [], `${GUEST}: FAIL lines`);
  assert.ok(pass.length >= 30, `${GUEST}: only ${pass.length} PASS lines (${describeRun(run)})`);
  assert.match(run.text, /^EXIT 0$/m, describeRun(run));
  assert.equal(run.result.stop, 'system-off', describeRun(run));
});

test('GICv3 (IHI 0069) GICD_CTLR: with DS = 1, ARE and EnableGrp1 are set as Linux sets them on QEMU virt', () => {
  expectChecks(['gicd ctlr:']);
});

test('GICv3 (IHI 0069) GICR_TYPER/GICR_WAKER: the redistributor is found by affinity, starts asleep, and wakes when ProcessorSleep is cleared', () => {
  expectChecks(['gicr typer:', 'gicr waker:']);
});

test('GICv3 (IHI 0069) GICR_IGROUPR0/IPRIORITYR/ISENABLER0: SGI and PPI group, priority (byte access) and enables read back', () => {
  expectChecks(['gicr igroupr0:', 'gicr ipriorityr:', 'gicr isenabler0:']);
});

test('GICv3 (IHI 0069) ICC_SRE/PMR/IGRPEN1/RPR_EL1: the system-register CPU interface is on, PMR keeps its implemented bits, idle RPR is 0xFF', () => {
  expectChecks(['icc sre:', 'icc pmr: 0xff', 'icc igrpen1:', 'icc rpr:']);
});

test('Arm ARM D11.2 + IHI 0069 ch. 4: the virtual timer raises PPI 27 five times; IAR1 gives 27, it is active until EOIR1, each only once CNTVCT >= CVAL', () => {
  expectChecks(['vtimer irq:']);
});

test('Arm ARM D1.10: an IRQ from EL1 with PSTATE.I clear is taken to the current-EL SP_ELx IRQ vector with DAIF.I set', () => {
  expectChecks(['vectors:', 'vtimer irq: IRQ vector entered']);
});

test('GICv3 (IHI 0069) ICC_IAR1_EL1/ICC_HPPIR1_EL1: with nothing pending both read the spurious INTID 1023', () => {
  expectChecks(['icc iar1:', 'icc hppir1:', 'gicr isactiver0:']);
});

test('GICv3 (IHI 0069) ICC_SGI1R_EL1: an SGI to TargetList bit 0 (this CPU, Aff0 = 0) is acknowledged as INTID 5, once (edge-triggered)', () => {
  expectChecks(['sgi:']);
});

test('GICv3 (IHI 0069) ch. 4 priority masking: an interrupt whose priority is not higher than ICC_PMR_EL1 is not signalled (IAR1 reads 1023) and is taken once PMR allows it', () => {
  expectChecks(['icc pmr: an SGI', 'icc pmr: IAR1', 'icc pmr: raising']);
});

test('DESIGN §3 virtual time: WFI skips idle time to the timer deadline, so the guest retires far fewer instructions than the virtual time it waits', () => {
  const run = expectChecks(['vtimer irq: CNTVCT advanced']);
  const waitedNs = TIMER_IRQS * INTERVAL_TICKS * NS_PER_TICK;
  assert.ok(run.result.virtualNs >= waitedNs, `virtual time ${run.result.virtualNs} ns < ${waitedNs} ns waited`);
  assert.ok(
    run.result.instructions < waitedNs / NS_PER_TICK,
    `${run.result.instructions} instructions retired: WFI did not skip idle time`,
  );
});

test('DESIGN §3 determinism: two runs of irq.elf print the same output, tick counts included, and retire the same instructions', () => {
  const a = runGuest(GUEST, 50_000_000, { fresh: true });
  const b = runGuest(GUEST, 50_000_000, { fresh: true });
  assert.equal(a.result.stop, 'system-off', describeRun(a));
  assert.equal(b.text, a.text);
  assert.equal(b.result.instructions, a.result.instructions);
  assert.equal(b.result.virtualNs, a.result.virtualNs);
});

test("QEMU oracle: irq.elf prints the same PASS lines and EXIT 0 under QEMU virt,gic-version=3 (QEMU's GICv3) as on our board", (t) => {
  if (!needQemu(t)) return;
  const ours = runGuest(GUEST);
  const r = spawnSync(
    QEMU,
    [
      '-M',
      'virt,gic-version=3',
      '-cpu',
      'cortex-a57',
      '-m',
      '128M',
      '-nographic',
      '-nic',
      'none',
      '-kernel',
      guestPath(GUEST),
    ],
    { encoding: 'latin1', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  assert.equal(r.status, 0, `QEMU failed (status ${r.status}): ${r.stderr}`);
  const theirs = verdictLines(r.stdout);
  assert.ok(theirs.includes('EXIT 0'), `QEMU run did not end with EXIT 0:\n${r.stdout}`);
  assert.deepEqual(
    theirs.filter((l) => l.startsWith('FAIL')),
    [],
    'the guest fails under QEMU: the guest is wrong',
  );
  assert.deepEqual(verdictLines(ours.text), theirs);
});
