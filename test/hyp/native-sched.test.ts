// Native vCPUs in the running system (DESIGN.md §3; hypervisor-abi.md §7, §8.2): TypeScript
// programs scheduled like any vCPU, reaching the hypervisor only through hypercalls, waiting on
// their VIC's virtual interrupts, and paying a modelled time per hypercall.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Hypervisor } from '../../src/hyp/hypervisor.js';
import { NATIVE_HYPERCALL_NS, NativeVcpu } from '../../src/hyp/vm/native.js';
import { HypSystem, NATIVE_STEP_NS, type NativeProgram } from '../../src/hyp/system.js';
import { Err } from '../../src/hyp/abi/errors.js';
import type { Thread } from '../../src/hyp/vm/thread.js';
import { equipVcpu, freshAddrspace } from './vcpu-kit.js';

const ONES = 0xffff_ffff_ffff_ffffn;

function setup() {
  const hv = new Hypervisor();
  const root = hv.createRootVm();
  const v = new NativeVcpu(hv, root.thread);
  const { partition: P, cspace: C } = root.caps;
  const ok = (r: { e: number; x: bigint[] }, what: string): bigint => {
    assert.equal(r.e, Err.OK, what);
    return r.x[1]!;
  };
  const mk = (type: string) => ok(v.call(`partition_create_${type}`, P, C, 0n), `create ${type}`);
  const vic = mk('vic');
  ok(v.call('vic_configure', vic, 1n, 32n, 2n, 0n), 'vic_configure');
  ok(v.call('object_activate', vic, 0n), 'vic');
  // The native vCPUs are one VM: one addrspace (their view of memory, §4.5).
  const as = freshAddrspace(v, P, C);
  /** A native vCPU on CPU 0; `withVic`: on the doorbell's VIC, else on a VIC of its own (§4.5). */
  const thread = (priority: bigint, withVic: boolean): Thread => {
    const t = mk('thread');
    ok(v.call('vcpu_set_affinity', t, 0n, ONES), 'affinity');
    ok(v.call('vcpu_set_priority', t, priority), 'priority');
    ok(v.call('cspace_attach_thread', C, t, 0n), 'cspace');
    equipVcpu(v, P, C, t, withVic ? { addrspace: as, vic } : { addrspace: as });
    ok(v.call('object_activate', t, 0n), 'activate');
    ok(v.call('vcpu_poweron', t, 0n, 0n, 0n), 'poweron');
    return root.cspace.lookup<Thread>(t, 'thread', 0, false) as Thread;
  };
  const db = mk('doorbell');
  ok(v.call('object_activate', db, 0n), 'doorbell');
  ok(v.call('doorbell_bind_virq', db, vic, 40n, 0n), 'bind');
  const sys = new HypSystem(hv, 1);
  return { hv, sys, thread, db };
}

test('native vCPUs: a receiver waits on its doorbell VIRQ and wakes for each send of another native vCPU; time advances by the modelled costs', () => {
  const { sys, thread, db } = setup();
  const log: string[] = [];
  let received = 0n;
  const receiver: NativeProgram = {
    step(h) {
      const irq = h.irq!;
      if (log.length === 0) {
        irq.init();
        irq.enable(40);
      }
      for (let id = irq.ack(); id !== 1023; id = irq.ack()) {
        const r = h.call('doorbell_receive', db, ONES);
        received |= r.x[1]!;
        log.push(`rx ${r.x[1]!.toString(16)}`);
        irq.eoi(id);
      }
      if (log.length === 0) log.push('rx start');
      return 'wait';
    },
  };
  let sent = 0;
  const sender: NativeProgram = {
    step(h) {
      h.call('doorbell_send', db, 1n << BigInt(sent));
      log.push(`tx ${sent}`);
      sent++;
      return sent < 4 ? 'yield' : 'off';
    },
  };
  const rx = sys.addNative(thread(32n, true), receiver);
  sys.addNative(thread(32n, false), sender);
  assert.equal(sys.run(10_000_000), 'idle');
  assert.equal(received, 0xfn, 'every flag arrived');
  assert.equal(sent, 4);
  assert.equal(rx.waiting, true, 'the receiver sleeps at the end');
  // §8.2: an equal-priority wakeup does not preempt: the sender keeps its slice, and the receiver
  // then finds every flag behind one acknowledged level VIRQ.
  assert.deepEqual(log, ['rx start', 'tx 0', 'tx 1', 'tx 2', 'tx 3', 'rx f']);
  // Each step costs NATIVE_STEP_NS plus NATIVE_HYPERCALL_NS per hypercall; the idle CPU then skips.
  assert.ok(sys.time[0]! >= 4 * (NATIVE_STEP_NS + NATIVE_HYPERCALL_NS), `virtual time ${sys.time[0]}`);
});

test('native vCPUs: the higher priority runs first, and equal priorities take turns', () => {
  const { sys, thread } = setup();
  const order: string[] = [];
  const prog = (name: string, steps: number): NativeProgram => {
    let n = 0;
    return {
      step(h) {
        h.call('hypervisor_identify');
        order.push(name);
        return ++n < steps ? 'yield' : 'off';
      },
    };
  };
  sys.addNative(thread(30n, false), prog('low', 2));
  sys.addNative(thread(40n, false), prog('high', 2));
  assert.equal(sys.run(10_000_000), 'idle');
  assert.deepEqual(order, ['high', 'high', 'low', 'low']);
});

test('native vCPUs: a higher-priority receiver preempts the sender at each wakeup (§8.2)', () => {
  const { sys, thread, db } = setup();
  const log: string[] = [];
  let started = false;
  sys.addNative(thread(40n, true), {
    step(h) {
      const irq = h.irq!;
      if (!started) {
        irq.init();
        irq.enable(40);
        started = true;
      }
      for (let id = irq.ack(); id !== 1023; id = irq.ack()) {
        log.push(`rx ${h.call('doorbell_receive', db, ONES).x[1]!.toString(16)}`);
        irq.eoi(id);
      }
      return 'wait';
    },
  });
  let sent = 0;
  sys.addNative(thread(32n, false), {
    step(h) {
      h.call('doorbell_send', db, 1n << BigInt(sent));
      log.push(`tx ${sent}`);
      return ++sent < 3 ? 'yield' : 'off';
    },
  });
  assert.equal(sys.run(10_000_000), 'idle');
  assert.deepEqual(log, ['tx 0', 'rx 1', 'tx 1', 'rx 2', 'tx 2', 'rx 4']);
});
