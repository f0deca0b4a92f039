// Vdevices between a VM and its owner (RM spec §2.3, §4.1, §4.3): a VM's config asks for a
// doorbell and a message-queue pair; the RM builds them at VM_INIT, writes their nodes into the
// VM's device tree at VM_START, and hands the owner its ends through VM_GET_HYP_RESOURCES. The
// guest (a native program run by the owner's VMM with vcpu_run) finds its ends in its own DT at
// X0, as a kernel would, and the two talk: a message up, a doorbell down, a message up again.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RmVcpu } from '../../src/rm/port.js';
import { Fdt, readFdt } from '../../src/machine/fdt/index.js';
import { HypResourceType } from '../../src/rm/msgs/hyp-resources.js';
import {
  createVm,
  endsOf,
  guestDt,
  type GuestDtOptions,
  must,
  primarySystem,
  rmLink,
  runToIdle,
  vcpuRun,
} from './harness.js';

const GUEST_BASE = 0x8000_0000n;
const DT_SIZE = 0x4000n;
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

/** The VM's config (§4.3): no /memory, a bare CPU, an rm-rpc without generate, a doorbell and a message-queue pair. */
const VDEV_DT: GuestDtOptions = {
  memory: false,
  cpuReg: false,
  affinity: null,
  rmRpcGenerate: false,
  vdevices: {
    bell: { 'vdevice-type': 'doorbell', generate: '/hypervisor/bell', label: [1], 'peer-default': true },
    mq: { 'vdevice-type': 'message-queue-pair', generate: '/hypervisor/mq', label: [2], 'peer-default': true },
  },
};

/** The (cap, INTID) pairs of the node whose name starts with `prefix` under /hypervisor. */
function endsNamed(dt: Fdt, prefix: string): { caps: bigint[]; virqs: number[] } {
  const [, node] = [...dt.lookup('/hypervisor')!.children].find(([name]) => name.startsWith(prefix))!;
  return endsOf(node);
}

test("RM §2.3/§4.1/§4.3: a doorbell and a message-queue pair from a VM's config — DT nodes for the guest, resources for the owner, and they carry data both ways", () => {
  const log: string[] = [];
  let before = { doorbell: -1, msgqueue: -1 };
  const s = primarySystem(
    function* (v: RmVcpu, { hv }) {
      // The RM has booted and made the primary (its link is two queues): count from here.
      before = { doorbell: hv.liveOf('doorbell').length, msgqueue: hv.liveOf('msgqueue').length };
      const { c } = rmLink(v);
      const { vmid, handle } = yield* createVm(v, c, { dt: guestDt(VDEV_DT) });
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
      const run = (): number => vcpuRun(v, vcpu.capId);
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
    },
    // The guest: finds its devices in its DT, says hello, waits for the doorbell, answers.
    () =>
      function* (v: RmVcpu) {
        const bytes = v.memory!.read(v.bootX0, Number(DT_SIZE));
        if (typeof bytes === 'number') throw new Error(`guest cannot read its DT (${bytes})`);
        const dt = readFdt(bytes);
        const bell = endsNamed(dt, 'bell@');
        const mq = endsNamed(dt, 'mq@');
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
      },
  );
  runToIdle(s, 500_000_000);
  const { hv } = s;
  assert.deepEqual(log, ['4:0:0 0:1:128 2:2:128 3:2:128', 'run 1', 'hello owner', 'run 2', 'rang 5']);
  // The RM link, the doorbell and the two queues are gone with the VM (only the primary's link stays).
  assert.equal(hv.liveOf('doorbell').length, before.doorbell);
  assert.equal(hv.liveOf('msgqueue').length, before.msgqueue);
});
