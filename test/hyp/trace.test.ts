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
  v.call('cspace_configure', 50n, 1n, 0n);
  return buf;
}

test('trace: a hypercall is recorded at entry with named arguments and at exit with the error name and outputs', () => {
  const text = traceText(run(true).events);
  assert.match(text, /root: hypervisor_identify\(\)/);
  assert.match(text, /hypervisor_identify → hyp_api_info=0x5100000000008001, api_flags0=0x10000eff/);
  assert.match(text, /cspace_configure\(cspace=0x32, max_caps=0x1, res0=0x0\)/);
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
