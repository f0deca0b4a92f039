// A whole VM lifecycle through the RM (RM spec §2.2–§2.4, §3, §4, §9.2), as Linux's VM manager
// drives it, from a native VMM on the primary VM: allocate → lend the guest's memory → config
// image → init → get resources → start → run the guest's vCPU with vcpu_run until it powers off →
// VM_STATUS / VM_EXITED notifications → reclaim refused while in use → reset → reclaim → the
// guest's writes and the RM's DT patch are in the memory → deallocate. The guest is real AArch64
// code, emulated.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Hypervisor } from '../../src/hyp/hypervisor.js';
import { HypSystem } from '../../src/hyp/system.js';
import { ResourceManager, PRIMARY_LINK_RX_VIRQ, PRIMARY_LINK_TX_VIRQ } from '../../src/rm/rm.js';
import { RmClientTransport } from '../../src/vmm/rm-client/transport.js';
import { RmClient, describeFailure, type RmResult } from '../../src/vmm/rm-client/client.js';
import { generatorProgram } from '../../src/vmm/rm-client/program.js';
import type { RmVcpu } from '../../src/rm/port.js';
import { RmError } from '../../src/rm/rpc/index.js';
import { Fdt, readFdt, writeFdt } from '../../src/machine/fdt/index.js';
import { encodeCells } from '../../src/machine/fdt/props.js';
import { VmState } from '../../src/rm/vm-mgmt.js';
import type { DecodedNotification } from '../../src/rm/msgs/index.js';

const MiB = 1024 * 1024;
/** The guest's memory inside the primary's RAM (IPA = PA there), and where the guest sees it. */
const GUEST_PA = 0x4800_0000n;
const GUEST_SIZE = 0x20_0000n;
const GUEST_BASE = 0x8000_0000n;
const DT_OFFSET = 0x1_0000n;
const DT_SIZE = 0x4000n;
// adr x1, .+0x800; str x0,[x1]; movz x2,#0xbeef; str x2,[x1,#8]
// movz x0,#0x8400,lsl #16; movk x0,#8; hvc #0 (PSCI SYSTEM_OFF); b .
const GUEST = [0x10004001, 0xf9000020, 0xd297dde2, 0xf9000422, 0xd2b08000, 0xf2800100, 0xd4000002, 0x14000000];

/** The VM-config DT a VMM supplies (§4.3, §9.2): memory, a CPU, PSCI, and the rm-rpc vdevice. */
function guestDt(): Uint8Array {
  const f = new Fdt();
  f.root.setCells('#address-cells', [2]);
  f.root.setCells('#size-cells', [2]);
  const mem = f.addNode('/memory');
  mem.setString('device_type', 'memory');
  mem.setProperty('reg', encodeCells([0, Number(GUEST_BASE), 0, Number(GUEST_SIZE)]));
  f.addNode('/cpus').setCells('#address-cells', [1]);
  f.lookup('/cpus')!.setCells('#size-cells', [0]);
  const cpu = f.addNode('/cpus/cpu@0');
  cpu.setString('device_type', 'cpu');
  cpu.setCells('reg', [0]);
  f.addNode('/psci').setStrings('compatible', ['arm,psci-1.0']);
  const cfg = f.addNode('/gunyah-vm-config');
  cfg.setString('vm-type', 'aarch64-guest');
  cfg.setString('image-name', 'tiny');
  f.addNode('/gunyah-vm-config/memory').setCells('base-address', [0, Number(GUEST_BASE)]);
  f.addNode('/gunyah-vm-config/vcpus').setString('affinity', 'proxy');
  f.addNode('/gunyah-vm-config/vdevices').setString('generate', '/hypervisor');
  const rpc = f.addNode('/gunyah-vm-config/vdevices/rm-rpc');
  rpc.setString('vdevice-type', 'rm-rpc');
  rpc.setString('generate', '/hypervisor/qcom,resource-mgr');
  rpc.setFlag('console-dev');
  return writeFdt(f);
}

test('RM §2.2/§3/§9.2: a VM through its whole lifecycle, with real guest code, notifications in order, memory and objects given back', () => {
  const hv = new Hypervisor({ memory: { base: 0x4000_0000, size: 2048 * MiB } });
  const root = hv.createRootVm();
  const sys = new HypSystem(hv, 1);
  const rm = new ResourceManager();
  sys.addNative(root.thread, rm);
  const steps: string[] = [];
  const notes: DecodedNotification[] = [];
  let guestMemory = 0 as Uint8Array | number;
  let patchedDt = 0 as Uint8Array | number;
  const liveBefore = { thread: 0, msgqueue: 0, cspace: 0 };
  let spawned = 0;
  sys.spawn = () => {
    if (spawned++ > 0) return 'emulate'; // the guest's vCPU: real code
    return generatorProgram(function* (v: RmVcpu) {
      const irq = v.irq!;
      irq.init();
      irq.enable(PRIMARY_LINK_TX_VIRQ);
      irq.enable(PRIMARY_LINK_RX_VIRQ);
      const c = new RmClient(
        new RmClientTransport(v, { txCap: 0n, rxCap: 1n, scratch: { rx: 0x4000_1000n, tx: 0x4000_1100n } }),
        irq,
      );
      const must = <T>(what: string, r: RmResult<T>): T => {
        if (!r.ok) throw new Error(`${what}: ${describeFailure(r)}`);
        steps.push(what);
        return r.value;
      };
      const drain = () => notes.push(...c.takeNotifications());
      liveBefore.thread = hv.liveOf('thread').length;
      liveBefore.msgqueue = hv.liveOf('msgqueue').length;
      liveBefore.cspace = hv.liveOf('cspace').length;

      const vmid = must('allocate', yield* c.vmAllocate(0));
      // The VMM loads the guest into its own memory, then lends it.
      const mem = v.memory!;
      const code = new Uint8Array(new Uint32Array(GUEST).buffer);
      mem.write(GUEST_PA, code);
      mem.write(GUEST_PA + DT_OFFSET, guestDt());
      const handle = must(
        'lend',
        yield* c.memLend({
          memType: 0,
          flags: 0,
          label: 0,
          acl: [{ vmid, rights: 7 }],
          sgl: [{ ipa: GUEST_PA, size: GUEST_SIZE }],
          attrs: [],
        }),
      );
      must(
        'config image',
        yield* c.vmConfigImage({
          vmid,
          authType: 0,
          memparcel: handle,
          imageOffset: 0n,
          imageSize: 0x1000n,
          dtOffset: DT_OFFSET,
          dtSize: DT_SIZE,
        }),
      );
      must('init', yield* c.vmInit(vmid));
      const res = must('resources', yield* c.vmGetHypResources(vmid));
      assert.equal(res.length, 1, 'one vCPU entry');
      assert.deepEqual(
        [res[0]!.type, res[0]!.label, res[0]!.virq],
        [4, 0, 962],
        'type VIRTUAL_CPU, label 0, virq 962 (§9.2)',
      );
      irq.enable(res[0]!.virq, true);
      must('start', yield* c.vmStart(vmid));
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
      must('reset', yield* c.vmReset(vmid));
      while (!notes.some((n) => n.name === 'NOTIFY_VM_STATUS' && n.value.vmStatus === VmState.RESET)) {
        notes.push(...(yield* c.nextNotifications()));
      }
      must('reclaim', yield* c.memReclaim(handle));
      guestMemory = mem.read(GUEST_PA + 0x800n, 16);
      patchedDt = mem.read(GUEST_PA + DT_OFFSET, Number(DT_SIZE));
      must('deallocate', yield* c.vmDeallocate(vmid));
      const gone = yield* c.vmGetState(vmid);
      assert.deepEqual(gone, { ok: false, error: RmError.NORESOURCE });
    });
  };
  assert.equal(sys.run(500_000_000), 'idle');
  assert.equal(rm.failure, null);
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
