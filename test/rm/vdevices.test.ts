// Vdevices between a VM and its owner (RM spec §2.3, §4.1, §4.3): a VM's config asks for a
// doorbell and a message-queue pair; the RM builds them at VM_INIT, writes their nodes into the
// VM's device tree at VM_START, and hands the owner its ends through VM_GET_HYP_RESOURCES. The
// guest (a native program run by the owner's VMM with vcpu_run) finds its ends in its own DT at
// X0, as a kernel would, and the two talk: a message up, a doorbell down, a message up again.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Hypervisor } from '../../src/hyp/hypervisor.js';
import { HypSystem } from '../../src/hyp/system.js';
import { ResourceManager, PRIMARY_LINK_RX_VIRQ, PRIMARY_LINK_TX_VIRQ } from '../../src/rm/rm.js';
import { RmClientTransport } from '../../src/vmm/rm-client/transport.js';
import { RmClient, describeFailure, type RmResult } from '../../src/vmm/rm-client/client.js';
import { generatorProgram } from '../../src/vmm/rm-client/program.js';
import type { RmVcpu } from '../../src/rm/port.js';
import { Fdt, readFdt, writeFdt } from '../../src/machine/fdt/index.js';
import { encodeU32 } from '../../src/machine/fdt/props.js';
import { HypResourceType } from '../../src/rm/msgs/hyp-resources.js';

const MiB = 1024 * 1024;
const GUEST_PA = 0x4800_0000n;
const GUEST_SIZE = 0x20_0000n;
const GUEST_BASE = 0x8000_0000n;
const DT_OFFSET = 0x1_0000n;
const DT_SIZE = 0x4000n;
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

function guestDt(): Uint8Array {
  const f = new Fdt();
  f.root.setCells('#address-cells', [2]);
  f.root.setCells('#size-cells', [2]);
  f.addNode('/cpus').setCells('#address-cells', [1]);
  f.addNode('/cpus/cpu@0').setString('device_type', 'cpu');
  f.addNode('/psci').setStrings('compatible', ['arm,psci-1.0']);
  const cfg = f.addNode('/gunyah-vm-config');
  cfg.setString('vm-type', 'aarch64-guest');
  f.addNode('/gunyah-vm-config/memory').setCells('base-address', [0, Number(GUEST_BASE)]);
  f.addNode('/gunyah-vm-config/vdevices').setString('generate', '/hypervisor');
  f.addNode('/gunyah-vm-config/vdevices/rm-rpc').setString('vdevice-type', 'rm-rpc');
  const bell = f.addNode('/gunyah-vm-config/vdevices/bell');
  bell.setString('vdevice-type', 'doorbell');
  bell.setString('generate', '/hypervisor/bell');
  bell.setProperty('label', encodeU32(1));
  bell.setFlag('peer-default');
  const mq = f.addNode('/gunyah-vm-config/vdevices/mq');
  mq.setString('vdevice-type', 'message-queue-pair');
  mq.setString('generate', '/hypervisor/mq');
  mq.setProperty('label', encodeU32(2));
  mq.setFlag('peer-default');
  return writeFdt(f);
}

/** The (cap, INTID) pairs of the node whose name starts with `prefix` under /hypervisor. */
function endsOf(dt: Fdt, prefix: string): { caps: bigint[]; virqs: number[] } {
  const [, node] = [...dt.lookup('/hypervisor')!.children].find(([name]) => name.startsWith(prefix))!;
  const reg = node.getProperty('reg')!;
  const dv = new DataView(reg.buffer, reg.byteOffset, reg.byteLength);
  const caps = [...Array(reg.length / 8).keys()].map((k) => dv.getBigUint64(8 * k, false));
  const cells = node.getCells('interrupts') ?? [];
  const virqs = [...Array(cells.length / 3).keys()].map((k) => cells[3 * k + 1]! + 32);
  return { caps, virqs };
}

test("RM §2.3/§4.1/§4.3: a doorbell and a message-queue pair from a VM's config — DT nodes for the guest, resources for the owner, and they carry data both ways", () => {
  const hv = new Hypervisor({ memory: { base: 0x4000_0000, size: 2048 * MiB } });
  const root = hv.createRootVm();
  const sys = new HypSystem(hv, 1);
  const rm = new ResourceManager();
  sys.addNative(root.thread, rm);
  const log: string[] = [];
  let spawned = 0;
  let before = { doorbell: -1, msgqueue: -1 };
  sys.spawn = () => {
    if (spawned++ > 0) {
      // The guest: finds its devices in its DT, says hello, waits for the doorbell, answers.
      let dt: Fdt | null = null;
      let bell = { caps: [0n], virqs: [0] };
      let mq = { caps: [0n, 0n], virqs: [0, 0] };
      return generatorProgram(function* (v: RmVcpu) {
        const bytes = v.memory!.read(v.bootX0, Number(DT_SIZE));
        if (typeof bytes === 'number') throw new Error(`guest cannot read its DT (${bytes})`);
        dt = readFdt(bytes);
        bell = endsOf(dt, 'bell@');
        mq = endsOf(dt, 'mq@');
        const irq = v.irq!;
        irq.init();
        irq.enable(bell.virqs[0]!);
        const buf = GUEST_BASE + 0x3000n;
        v.memory!.write(buf, text('hello owner'));
        assert.equal(v.call('msgqueue_send', mq.caps[0]!, 11n, buf, 1n, 0n).e, 0, 'guest send');
        while (irq.ack() === 1023) yield 'wait';
        const flags = v.call('doorbell_receive', bell.caps[0]!, 0xffn, 0n).x[1]!;
        irq.eoi(bell.virqs[0]!);
        v.memory!.write(buf, text(`rang ${flags}`));
        assert.equal(v.call('msgqueue_send', mq.caps[0]!, 6n, buf, 1n, 0n).e, 0, 'guest reply');
      });
    }
    return generatorProgram(function* (v: RmVcpu) {
      // The RM has booted and made the primary (its link is two queues): count from here.
      before = { doorbell: hv.liveOf('doorbell').length, msgqueue: hv.liveOf('msgqueue').length };
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
        return r.value;
      };
      const vmid = must('allocate', yield* c.vmAllocate(0));
      v.memory!.write(GUEST_PA + DT_OFFSET, guestDt());
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
        'config',
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
      // While the VM lives: its doorbell, and its RM link's two queues plus the pair's two.
      assert.equal(hv.liveOf('doorbell').length, before.doorbell + 1);
      assert.equal(hv.liveOf('msgqueue').length, before.msgqueue + 4);
      const of = (type: number) => res.find((r) => r.type === type)!;
      log.push(res.map((r) => `${r.type}:${r.label}:${r.partnerVmid}`).join(' '));
      const vcpu = of(HypResourceType.VIRTUAL_CPU);
      const ring = of(HypResourceType.DOORBELL_SRC);
      const recv = of(HypResourceType.MSG_QUEUE_RECV);
      must('start', yield* c.vmStart(vmid));
      const buf = 0x4000_2000n;
      const receive = (): string => {
        const r = v.call('msgqueue_receive', recv.capId, buf, 240n, 0n);
        if (r.e !== 0) return `error ${r.e}`;
        return new TextDecoder().decode(v.memory!.read(buf, Number(r.x[1]!)) as Uint8Array);
      };
      const run = (): number => Number(v.call('vcpu_run', vcpu.capId, 0n, 0n, 0n, 0n).x[1]!);
      log.push(`run ${run()}`); // the guest says hello and waits (EXPECTS_WAKEUP)
      log.push(receive());
      assert.equal(v.call('doorbell_send', ring.capId, 0x5n, 0n).e, 0, 'owner rings');
      log.push(`run ${run()}`); // the guest answers and stops (POWERED_OFF)
      log.push(receive());
      must('stop', yield* c.vmStop(vmid));
      must('reset', yield* c.vmReset(vmid));
      for (;;) {
        const n = yield* c.nextNotifications();
        if (n.some((x) => x.name === 'NOTIFY_VM_STATUS' && x.value.vmStatus === 11)) break;
      }
      must('reclaim', yield* c.memReclaim(handle));
      must('deallocate', yield* c.vmDeallocate(vmid));
    });
  };
  assert.equal(sys.run(500_000_000), 'idle');
  assert.equal(rm.failure, null);
  assert.deepEqual(log, ['4:0:0 0:1:128 2:2:128 3:2:128', 'run 1', 'hello owner', 'run 2', 'rang 5']);
  // The RM link, the doorbell and the two queues are gone with the VM (only the primary's link stays).
  assert.equal(hv.liveOf('doorbell').length, before.doorbell);
  assert.equal(hv.liveOf('msgqueue').length, before.msgqueue);
});
