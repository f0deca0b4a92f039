// A secondary VM of real AArch64 code (guests/fdt-check.c, linked at 0x80000000) reads the device
// tree the RM patched for it (RM spec §4.1) with the guest FDT reader (guests/rt/fdt.c), finds its
// RM link under /hypervisor (reg = <tx rx> caps, interrupts = tx, rx) and asks the RM for its VMID
// over that link (§1, §2.2 VM_GET_VMID). It is created as Linux's VM manager does it (§9.2) by a
// native VMM on the primary: allocate → lend the memory holding the image and the VM-config DT →
// config image → init → get resources → start → run the vCPU with vcpu_run, emulating the PL011 the
// guest prints on from its VMMIO exits (hypervisor-abi.md §8.4, §10.6).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { RmVcpu } from '../../src/rm/port.js';
import type { DecodedNotification } from '../../src/rm/msgs/index.js';
import { parseElf } from '../../src/vmm/loader/elf.js';
import { createVm, guestDt, must, primarySystem, rmLink, runWithUart } from './harness.js';

/** Where the guest sees its memory. */
const GUEST_BASE = 0x8000_0000n;
/** Above the image, its .bss and its stacks (the image's end is checked below). */
const DT_OFFSET = 0x10_0000n;

/** fdt-check.elf as bytes at offsets from the guest's RAM base (its .bss zero). */
function guestImage(): { bytes: Uint8Array; entry: bigint } {
  const elf = parseElf(readFileSync(new URL('../../../guests/bin/fdt-check.elf', import.meta.url)));
  let end = 0;
  for (const s of elf.segments) end = Math.max(end, s.paddr + s.memsz - Number(GUEST_BASE));
  const bytes = new Uint8Array(end);
  for (const s of elf.segments) {
    assert.ok(s.paddr >= Number(GUEST_BASE), 'linked for the VM base 0x80000000');
    bytes.set(s.data, s.paddr - Number(GUEST_BASE));
  }
  return { bytes, entry: BigInt(elf.entry) };
}

interface Run {
  out: string;
  stop: string;
  rmFailure: unknown;
  notes: DecodedNotification[];
  steps: string[];
  vmid: number;
}

function runFdtCheck(): Run {
  const image = guestImage();
  assert.equal(image.entry, GUEST_BASE, 'entry at the image start');
  const run: Run = { out: '', stop: '', rmFailure: null, notes: [], steps: [], vmid: -1 };
  // The guest's vCPU runs real code.
  const { sys, rm } = primarySystem(function* (v: RmVcpu) {
    const { irq, c } = rmLink(v);
    const { vmid } = yield* createVm(v, c, {
      code: image.bytes,
      dt: guestDt({ imageName: 'fdt-check', consoleDev: true }),
      imageSize: BigInt(image.bytes.length),
      dtOffset: DT_OFFSET,
      steps: run.steps,
    });
    run.vmid = vmid;
    const res = must('resources', yield* c.vmGetHypResources(vmid), run.steps);
    const vcpu = res.find((r) => r.type === 4);
    assert.ok(vcpu, 'a VIRTUAL_CPU resource');
    irq.enable(vcpu.virq, true);
    must('start', yield* c.vmStart(vmid), run.steps);
    run.notes.push(...c.takeNotifications());
    // The owner's side of the guest's console (§2.5), to send it notifications.
    must('console open', yield* c.consoleOpen(vmid));
    const text = (s: string) => new TextEncoder().encode(s);
    let sent = 0;
    // The VMM: run the vCPU, emulate the UART on its VMMIO exits, until it powers off.
    const off = yield* runWithUart(v, vcpu.capId, run, function* () {
      if (sent === 0 && run.out.includes('console open\n')) {
        for (sent = 1; sent <= 10; sent++) must('console write', yield* c.consoleWrite(vmid, text(`msg ${sent}`)));
      }
      if (sent === 11 && run.out.includes('waiting\n')) {
        must('console write', yield* c.consoleWrite(vmid, text('bye')));
        sent++;
      }
    });
    assert.ok(off, `the guest powers off; output:\n${run.out}`);
    run.steps.push('guest off');
    while (!run.notes.some((n) => n.name === 'NOTIFY_VM_EXITED')) run.notes.push(...(yield* c.nextNotifications()));
  });
  run.stop = sys.run(4_000_000_000);
  run.rmFailure = rm.failure;
  return run;
}

test('guest FDT reader (guests/rt/fdt.c): a secondary VM of real code lists /hypervisor from the DT the RM patched, finds its RM link there and gets its VMID over it; corrupt DT copies are refused without a fault; console notifications are queued while it waits for replies', () => {
  const r = runFdtCheck();
  assert.equal(r.rmFailure, null);
  assert.equal(r.stop, 'idle');
  assert.deepEqual(r.steps, ['allocate', 'lend', 'config image', 'init', 'resources', 'start', 'guest off']);
  assert.equal(r.vmid, 0x80);
  const lines = r.out.split('\n').filter((l) => l.length > 0);
  assert.deepEqual(
    lines.filter((l) => l.startsWith('FAIL') || l.startsWith('UNEXPECTED')),
    [],
    r.out,
  );
  // x0 = base IPA + DT offset (§2.2 VM_START).
  assert.ok(lines.includes(`fdt-check: DT at 0x${(GUEST_BASE + DT_OFFSET).toString(16)}`), r.out);
  // Every node under /hypervisor with its compatible list (§4.1).
  const nodes = new Map(
    lines
      .filter((l) => l.startsWith('NODE '))
      .map((l) => {
        const m = /^NODE (\S+)(?: compatible (.*)| \(no compatible\))$/.exec(l);
        assert.ok(m, l);
        const compat = m[2] === undefined ? [] : [...m[2].matchAll(/"([^"]*)"/g)].map((x) => x[1]!);
        return [m[1]!, compat] as const;
      }),
  );
  assert.deepEqual(
    [...nodes.keys()].sort(),
    ['/hypervisor', '/hypervisor/qcom,gunyah-vm', '/hypervisor/qcom,resource-mgr@1'],
    r.out,
  );
  assert.ok(nodes.get('/hypervisor')!.includes('gunyah-hypervisor'));
  assert.deepEqual(nodes.get('/hypervisor/qcom,gunyah-vm'), ['qcom,gunyah-vm-id-1.0', 'qcom,gunyah-vm-id']);
  const rmCompat = nodes.get('/hypervisor/qcom,resource-mgr@1')!;
  for (const c of ['gunyah-resource-manager', 'qcom,resource-manager', 'qcom,resource-manager-1-0']) {
    assert.ok(rmCompat.includes(c), `${c} in ${rmCompat.join(', ')}`);
  }
  // The link from the RM node: caps 0 / 1 (§9.2) and its two VIRQs.
  const link = lines.find((l) => l.startsWith('RM link '));
  assert.match(link ?? '', /^RM link qcom,resource-mgr@1: tx cap 0x0 rx cap 0x1 tx virq \d+ rx virq \d+$/, r.out);
  // VM_GET_VMID over that link, equal to the DT's qcom,vmid.
  assert.ok(lines.includes('PASS VM_GET_VMID'), r.out);
  assert.ok(lines.includes('VMID 0x80'), r.out);
  assert.ok(lines.includes("PASS the VMID is the DT's qcom,vmid"), r.out);
  // The reader's checks on corrupt copies of the DT.
  for (const claim of [
    'PASS the copied DT reads',
    'PASS bad magic refused',
    'PASS version 15 refused',
    'PASS totalsize beyond the buffer refused',
    'PASS structure block beyond totalsize refused',
    'PASS strings block beyond totalsize refused',
    'PASS a structure block without FDT_END refused',
    'PASS byte flips read without a fault',
  ]) {
    assert.ok(lines.includes(claim), `missing "${claim}" in:\n${r.out}`);
  }
  // The notification ring (guests/rt/rm.c): ten console notifications arrive while the guest waits
  // in rm_call; the first eight are kept in order, the newest two dropped; one more is waited for.
  for (const claim of [
    'PASS VM_CONSOLE_OPEN',
    'PASS notifications received while waiting for replies',
    'PASS   the ring holds eight',
    'PASS   the newest two dropped',
    'PASS a notification waited for',
    'PASS no more queued',
    'PASS VM_CONSOLE_CLOSE',
  ]) {
    assert.ok(lines.includes(claim), `missing "${claim}" in:\n${r.out}`);
  }
  assert.deepEqual(
    lines.filter((l) => l.startsWith('console from ')),
    [1, 2, 3, 4, 5, 6, 7, 8].map((i) => `console from 0: msg ${i}`).concat(['console from 0: bye']),
    r.out,
  );
  assert.equal(lines.at(-1), 'EXIT 0', r.out);
  // The guest's SYSTEM_OFF is a PLATFORM_OFF exit (§2.4).
  const exited = r.notes.find((n) => n.name === 'NOTIFY_VM_EXITED');
  assert.ok(exited && exited.name === 'NOTIFY_VM_EXITED');
  assert.equal(exited.value.exitType, 1);
});
