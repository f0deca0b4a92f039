// A whole VM lifecycle through the RM (RM spec §2.2–§2.4, §3, §4, §9.2), as Linux's VM manager
// drives it, from a native VMM on the primary VM: allocate → lend the guest's memory → config
// image → init → get resources → start → run the guest's vCPU with vcpu_run until it powers off →
// VM_STATUS / VM_EXITED notifications → reclaim refused while in use → reset → reclaim → the
// guest's writes and the RM's DT patch are in the memory → deallocate. The guest is real AArch64
// code, emulated.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RmVcpu } from '../../src/rm/port.js';
import { RmError } from '../../src/rm/rpc/index.js';
import { readFdt } from '../../src/machine/fdt/index.js';
import { VmState } from '../../src/rm/vm-mgmt.js';
import type { DecodedNotification } from '../../src/rm/msgs/index.js';
import { createVm, guestDt, must, primarySystem, rmLink, runToIdle } from './harness.js';

/** The guest's memory inside the primary's RAM (IPA = PA there), and where the guest sees it. */
const GUEST_PA = 0x4800_0000n;
const GUEST_BASE = 0x8000_0000n;
const DT_OFFSET = 0x1_0000n;
const DT_SIZE = 0x4000n;
// adr x1, .+0x800; str x0,[x1]; movz x2,#0xbeef; str x2,[x1,#8]
// movz x0,#0x8400,lsl #16; movk x0,#8; hvc #0 (PSCI SYSTEM_OFF); b .
const GUEST = [0x10004001, 0xf9000020, 0xd297dde2, 0xf9000422, 0xd2b08000, 0xf2800100, 0xd4000002, 0x14000000];

test('RM §2.2/§3/§9.2: a VM through its whole lifecycle, with real guest code, notifications in order, memory and objects given back', () => {
  const steps: string[] = [];
  const notes: DecodedNotification[] = [];
  let guestMemory = 0 as Uint8Array | number;
  let patchedDt = 0 as Uint8Array | number;
  const liveBefore = { thread: 0, msgqueue: 0, cspace: 0 };
  // The guest's vCPU runs real code.
  const s = primarySystem(function* (v: RmVcpu, { hv }) {
    const { irq, c } = rmLink(v);
    const drain = () => notes.push(...c.takeNotifications());
    liveBefore.thread = hv.liveOf('thread').length;
    liveBefore.msgqueue = hv.liveOf('msgqueue').length;
    liveBefore.cspace = hv.liveOf('cspace').length;

    // The VMM loads the guest into its own memory, then lends it.
    const mem = v.memory!;
    const code = new Uint8Array(new Uint32Array(GUEST).buffer);
    const { vmid, handle } = yield* createVm(v, c, {
      code,
      dt: guestDt({ imageName: 'tiny', consoleDev: true }),
      steps,
    });
    const res = must('resources', yield* c.vmGetHypResources(vmid), steps);
    assert.equal(res.length, 1, 'one vCPU entry');
    assert.deepEqual(
      [res[0]!.type, res[0]!.label, res[0]!.virq],
      [4, 0, 962],
      'type VIRTUAL_CPU, label 0, virq 962 (§9.2)',
    );
    irq.enable(res[0]!.virq, true);
    must('start', yield* c.vmStart(vmid), steps);
    drain();
    // The VMM runs the guest's vCPU until it powers off.
    for (let i = 0; i < 100; i++) {
      const r = v.call('vcpu_run', res[0]!.capId, 0n, 0n, 0n, 0n);
      assert.equal(r.e, 0, 'vcpu_run');
      if (Number(r.x[1]) === 2) break; // POWERED_OFF
      yield 'yield';
    }
    steps.push('guest off');
    // VM_STATUS(EXITED) then VM_EXITED.
    while (!notes.some((n) => n.name === 'NOTIFY_VM_EXITED')) notes.push(...(yield* c.nextNotifications()));
    const inUse = yield* c.memReclaim(handle);
    assert.deepEqual(inUse, { ok: false, error: RmError.MEM_INUSE }, 'MEM_INUSE while the VM holds it');
    must('reset', yield* c.vmReset(vmid), steps);
    while (!notes.some((n) => n.name === 'NOTIFY_VM_STATUS' && n.value.vmStatus === VmState.RESET)) {
      notes.push(...(yield* c.nextNotifications()));
    }
    must('reclaim', yield* c.memReclaim(handle), steps);
    guestMemory = mem.read(GUEST_PA + 0x800n, 16);
    patchedDt = mem.read(GUEST_PA + DT_OFFSET, Number(DT_SIZE));
    must('deallocate', yield* c.vmDeallocate(vmid), steps);
    const gone = yield* c.vmGetState(vmid);
    assert.deepEqual(gone, { ok: false, error: RmError.NORESOURCE });
  });
  runToIdle(s, 500_000_000);
  const { hv } = s;
  assert.deepEqual(steps, [
    'allocate',
    'lend',
    'config image',
    'init',
    'resources',
    'start',
    'guest off',
    'reset',
    'reclaim',
    'deallocate',
  ]);
  const statuses = notes
    .filter((n) => n.name === 'NOTIFY_VM_STATUS')
    .map((n) => (n.name === 'NOTIFY_VM_STATUS' ? n.value.vmStatus : -1));
  assert.deepEqual(statuses, [
    VmState.INIT,
    VmState.READY,
    VmState.RUNNING,
    VmState.EXITED,
    VmState.RESETTING,
    VmState.RESET,
  ]);
  const exitedStatusAt = notes.findIndex((n) => n.name === 'NOTIFY_VM_STATUS' && n.value.vmStatus === VmState.EXITED);
  const exitedAt = notes.findIndex((n) => n.name === 'NOTIFY_VM_EXITED');
  assert.ok(exitedStatusAt >= 0 && exitedAt === exitedStatusAt + 1, 'VM_EXITED right after VM_STATUS(EXITED) (§2.4)');
  const exited = notes.find((n) => n.name === 'NOTIFY_VM_EXITED');
  assert.ok(exited && exited.name === 'NOTIFY_VM_EXITED');
  assert.equal(exited.value.exitType, 1, 'PLATFORM_OFF');
  assert.deepEqual([...exited.value.reason], [0, 0, 0, 0], 'reason size 4, reason 0');
  assert.ok(
    notes.some((n) => n.name === 'MEM_RELEASED'),
    'the reset released the image parcel (MEM_RELEASED)',
  );
  // The guest ran in the lent memory with X0 = base + DT offset.
  assert.ok(guestMemory instanceof Uint8Array);
  const gm = new DataView(guestMemory.buffer, guestMemory.byteOffset);
  assert.equal(gm.getBigUint64(0, true), GUEST_BASE + DT_OFFSET, 'X0 was the DT address');
  assert.equal(gm.getBigUint64(8, true), 0xbeefn);
  // The RM patched the DT in place: /hypervisor with the VM node and its RM link.
  assert.ok(patchedDt instanceof Uint8Array);
  const dt = readFdt(patchedDt);
  assert.deepEqual(dt.lookup('/hypervisor/qcom,gunyah-vm')!.getCells('qcom,vmid'), [0x80]);
  assert.ok(dt.lookup('/hypervisor/qcom,resource-mgr@1'), 'the RM node at generate@rx cap');
  // §4.1: /chosen kaslr-seed, 8 random bytes (from the hypervisor's seeded entropy source).
  const seed = dt.lookup('/chosen')?.getProperty('kaslr-seed');
  assert.equal(seed?.length, 8);
  assert.ok(
    seed!.some((b) => b !== 0),
    'a seed, not zeros',
  );
  // Everything the VM had is gone again.
  assert.equal(hv.liveOf('thread').length, liveBefore.thread);
  assert.equal(hv.liveOf('msgqueue').length, liveBefore.msgqueue);
  assert.equal(hv.liveOf('cspace').length, liveBefore.cspace);
});
