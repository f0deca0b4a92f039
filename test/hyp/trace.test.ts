// The trace (DESIGN.md §3): hypercalls with decoded arguments and error names, in text and in
// Chrome trace-event JSON; deterministic; nothing recorded without a sink.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Hypervisor } from '../../src/hyp/hypervisor.js';
import { NativeVcpu } from '../../src/hyp/vm/native.js';
import { TraceBuffer, traceChrome, traceText } from '../../src/hyp/trace.js';

function run(trace: boolean) {
  const hv = new Hypervisor();
  const vm = hv.createRootVm();
  const buf = new TraceBuffer();
  if (trace) hv.dispatcher.tracer.sink = buf;
  const v = new NativeVcpu(hv, vm.thread);
  v.call('hypervisor_identify');
  v.call('cspace_configure', 0x1f05n, 1n, 0n); // an empty slot of the root cspace
  return buf;
}

test('trace: a hypercall is recorded at entry with named arguments and at exit with the error name and outputs', () => {
  const text = traceText(run(true).events);
  assert.match(text, /root: hypervisor_identify\(\)/);
  assert.match(text, /hypervisor_identify → hyp_api_info=0x5100000000008001, api_flags0=0x10000eff/);
  assert.match(text, /cspace_configure\(cspace=0x1f05, max_caps=0x1, res0=0x0\)/);
  assert.match(text, /cspace_configure → CSPACE_CAP_NULL/);
});

test('trace: Chrome trace-event JSON parses, names the vCPU track, and pairs B/E events per hypercall', () => {
  const json = JSON.parse(traceChrome(run(true).events)) as {
    traceEvents: { ph: string; name: string; args?: { name?: string } }[];
  };
  const ev = json.traceEvents;
  assert.ok(ev.some((e) => e.ph === 'M' && e.args?.name === 'root'));
  assert.equal(ev.filter((e) => e.ph === 'B').length, 2);
  assert.equal(ev.filter((e) => e.ph === 'E').length, 2);
});

test('trace: the same calls give the same trace twice, and nothing is recorded without a sink', () => {
  assert.equal(traceText(run(true).events), traceText(run(true).events));
  assert.equal(run(false).events.length, 0);
});

test('trace §4.2: object lifecycle — create, activate, activate-failed and destroy are typed events with the object’s type, id and label', () => {
  const hv = new Hypervisor();
  const buf = new TraceBuffer();
  hv.dispatcher.tracer.sink = buf;
  let now = 0;
  hv.now = () => now;
  const vm = hv.createRootVm();
  const objs = buf.events.filter((e) => e.kind === 'object');
  const root = objs.find((e) => e.type === 'thread' && e.what === 'activate');
  assert.ok(root, 'the boot-time objects are traced too');
  assert.equal(root.label, 'root');
  assert.equal(root.obj, `thread#${root.oid}`);
  // The hwirqs of the hypervisor's own PPIs fail activation and are destroyed at once (§11.1).
  assert.equal(objs.filter((e) => e.type === 'hwirq' && e.what === 'activate-failed').length, 5);
  assert.equal(objs.filter((e) => e.type === 'hwirq' && e.what === 'destroy').length, 5);
  buf.events.length = 0;
  now = 5000;
  const v = new NativeVcpu(hv, vm.thread);
  const { partition: P, cspace: C } = vm.caps;
  const mq = v.call('partition_create_msgqueue', P, C, 0n).x[1]!;
  v.call('object_activate', mq, 0n); // not configured: OBJECT_CONFIG, FAILED
  v.call('cspace_delete_cap_from', C, mq, 0n);
  const ev = buf.events.filter((e) => e.kind === 'object');
  assert.deepEqual(
    ev.map((e) => e.what),
    ['create', 'activate-failed', 'destroy'],
  );
  for (const e of ev) {
    assert.equal(e.type, 'msgqueue');
    assert.equal(e.t, 5000, 'virtual time from the hypervisor clock');
  }
  const text = traceText(buf.events);
  assert.match(text, new RegExp(`object msgqueue#${ev[0]!.oid} create\\n`));
  assert.match(text, /object msgqueue#\d+ activate-failed/);
  const chrome = JSON.parse(traceChrome(buf.events)) as {
    traceEvents: { ph: string; name: string; ts: number; args?: Record<string, unknown> }[];
  };
  const inst = chrome.traceEvents.filter((e) => e.ph === 'i' && e.name.endsWith(`msgqueue#${ev[0]!.oid}`));
  assert.deepEqual(
    inst.map((e) => [e.name.split(' ')[0], e.ts, e.args?.type, e.args?.oid]),
    ['create', 'activate-failed', 'destroy'].map((w) => [w, 5, 'msgqueue', ev[0]!.oid]),
  );
});

test('trace: once the sink is detached, object lifecycle events stop', () => {
  const hv = new Hypervisor();
  const buf = new TraceBuffer();
  const vm = hv.createRootVm();
  const v = new NativeVcpu(hv, vm.thread);
  const cycle = (): void => {
    const db = v.call('partition_create_doorbell', vm.caps.partition, vm.caps.cspace, 0n).x[1]!;
    v.call('object_activate', db, 0n);
    v.call('cspace_delete_cap_from', vm.caps.cspace, db, 0n);
  };
  hv.dispatcher.tracer.sink = buf;
  cycle();
  const n = buf.events.filter((e) => e.kind === 'object').length;
  assert.equal(n, 3, 'create, activate, destroy while attached');
  hv.dispatcher.tracer.sink = null;
  cycle();
  assert.equal(buf.events.filter((e) => e.kind === 'object').length, n);
  assert.equal(hv.dispatcher.tracer.on, false);
});
