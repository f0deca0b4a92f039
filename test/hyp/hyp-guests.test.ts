// Guests written for the hypervisor (guests/hyp-*.c), each in its own VM built by hypercalls and
// proxy-scheduled by a native host vCPU (test/hyp/guest-system.ts): hypercalls on both entry
// paths, SMCCC identification, PSCI CPU_ON with two vCPUs, a doorbell's VIRQ taken through the
// vGIC (hypervisor-abi.md §1, §6, §7, §9.1, §9.3–9.5), and two VMs exchanging messages over a pair
// of message queues (§5), waiting on their VIRQs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkLines } from '../scenarios/guest-run.js';
import { TraceBuffer, traceChrome } from '../../src/hyp/trace.js';
import { CTX_IPA, GuestSystem, ok } from './guest-system.js';

const HYP_CTX_MAGIC = 0x53544841594e5547n;
const MQ_CTX_MAGIC = 0x51454d48414e5947n;
const DOORBELL_VIRQ = 40n;
const ALL_RIGHTS = 0xffff_ffffn;

function assertPassed(out: string, name: string): void {
  const { pass, fail } = checkLines(out);
  assert.deepEqual(fail, [], `${name}: no FAIL lines; output:\n${out}`);
  assert.ok(pass.length > 0, `${name}: checks ran`);
  assert.match(out, /^EXIT 0$/m, `${name}: exit 0`);
}

test('hyp-calls.elf (§1, §9.3–9.5, §6): native and SMCCC hypercalls, PSCI CPU_ON of a second vCPU, a doorbell VIRQ through the vGIC', () => {
  const gs = new GuestSystem();
  const vm = gs.addVm('calls', 'hyp-calls.elf', { vcpus: 2 });
  const db = gs.mk('doorbell');
  ok(gs.v.call('object_activate', db, 0n), 'activate doorbell');
  ok(gs.v.call('doorbell_bind_virq', db, vm.vic, DOORBELL_VIRQ, 0n), 'bind doorbell');
  const dbInVm = gs.give(vm, db, ALL_RIGHTS);
  gs.poke64(vm, CTX_IPA, [HYP_CTX_MAGIC, dbInVm, DOORBELL_VIRQ]);
  assert.equal(gs.run(1_000_000_000), 'idle');
  assert.equal(vm.end, 'powered off', `ended by SYSTEM_OFF; output:\n${vm.out}`);
  assertPassed(vm.out, 'hyp-calls');
  assert.match(vm.out, /PASS vCPU 1 made its own hypercall/);
  assert.ok(gs.exits.wakeups > 0, 'the host slept and was woken by run-wakeup VIRQs');
});

function mqSystem(count: number, depth: number, window: number) {
  const gs = new GuestSystem();
  const ping = gs.addVm('ping', 'hyp-mq.elf');
  const pong = gs.addVm('pong', 'hyp-mq.elf');
  // Two queues: ping → pong and pong → ping, max message size 240 (§5.1 create_info: depth in
  // bits 15:0, max size in bits 31:16).
  const queue = (from: typeof ping, to: typeof ping, txVirq: bigint, rxVirq: bigint) => {
    const mq = gs.mk('msgqueue');
    ok(gs.v.call('msgqueue_configure', mq, BigInt(depth) | (240n << 16n), 0n), 'msgqueue_configure');
    ok(gs.v.call('object_activate', mq, 0n), 'activate msgqueue');
    ok(gs.v.call('msgqueue_bind_send_virq', mq, from.vic, txVirq, 0n), 'bind send virq');
    ok(gs.v.call('msgqueue_bind_receive_virq', mq, to.vic, rxVirq, 0n), 'bind receive virq');
    return { tx: gs.give(from, mq, 1n | 4n), rx: gs.give(to, mq, 2n | 8n) };
  };
  const a = queue(ping, pong, 40n, 41n);
  const b = queue(pong, ping, 42n, 43n);
  gs.poke64(ping, CTX_IPA, [MQ_CTX_MAGIC, 0n, a.tx, b.rx, 40n, 43n, BigInt(count), BigInt(window)]);
  gs.poke64(pong, CTX_IPA, [MQ_CTX_MAGIC, 1n, b.tx, a.rx, 42n, 41n, BigInt(count), 0n]);
  return { gs, ping, pong };
}

test('hyp-mq.elf (§5): two VMs exchange 300 messages of every size over a pair of message queues, waiting on their VIRQs', () => {
  const { gs, ping, pong } = mqSystem(300, 8, 4);
  assert.equal(gs.run(200_000_000), 'idle');
  assert.equal(ping.end, 'powered off', `ping output:\n${ping.out}`);
  assert.equal(pong.end, 'powered off', `pong output:\n${pong.out}`);
  assertPassed(ping.out, 'ping');
  assertPassed(pong.out, 'pong');
});

test('hyp-mq.elf (§5.2): a queue of depth 1 fills at once, and both sides still get through on the not-full VIRQ', () => {
  const { gs, ping, pong } = mqSystem(40, 1, 2);
  assert.equal(gs.run(200_000_000), 'idle');
  assertPassed(ping.out, 'ping');
  assertPassed(pong.out, 'pong');
  const fulls = Number(/ping waited \d+ times, queue full (\d+) times/.exec(ping.out)?.[1]);
  assert.ok(fulls > 0, `ping saw MSGQUEUE_FULL (${ping.out})`);
});

test('hyp-mq.elf: the same two-VM system runs the same way twice (outputs, virtual time, exits)', () => {
  const a = mqSystem(60, 4, 4);
  const b = mqSystem(60, 4, 4);
  a.gs.run(2_000_000_000);
  b.gs.run(2_000_000_000);
  assert.equal(a.ping.out, b.ping.out);
  assert.equal(a.pong.out, b.pong.out);
  assert.deepEqual([...a.gs.sys.time], [...b.gs.sys.time]);
  assert.deepEqual(a.gs.exits, b.gs.exits);
});

test('trace: a two-VM run records hypercalls, vIRQ assert/ack/EOI, scheduling and vcpu_run switches, identically twice', () => {
  const runTraced = () => {
    const s = mqSystem(20, 2, 2);
    const buf = new TraceBuffer();
    s.gs.hv.tracer.sink = buf;
    s.gs.run(200_000_000);
    return { s, events: buf.events };
  };
  const a = runTraced();
  assertPassed(a.s.ping.out, 'ping');
  const kinds = (k: string) => a.events.filter((e) => e.kind === k);
  assert.ok(
    kinds('hypercall').some((e) => e.kind === 'hypercall' && e.name === 'msgqueue_send'),
    'msgqueue_send entries',
  );
  assert.ok(kinds('hypercall-ret').length > 0);
  for (const what of ['assert', 'ack', 'eoi']) {
    assert.ok(
      kinds('virq').some((e) => e.kind === 'virq' && e.what === what && /msgqueue#\d+ (rx|tx)/.test(e.source)),
      `a msgqueue vIRQ ${what}`,
    );
  }
  assert.ok(
    kinds('virq').some((e) => e.kind === 'virq' && /run-wakeup/.test(e.source)),
    'run-wakeup vIRQs',
  );
  assert.ok(
    kinds('sched').some((e) => e.kind === 'sched' && e.reason === 'vcpu_run'),
    'vcpu_run switches',
  );
  assert.ok(
    kinds('sched').some((e) => e.kind === 'sched' && e.reason === 'wakeup'),
    'the host scheduled in',
  );
  const times = a.events.map((e) => e.t);
  assert.ok(
    times.every((t, i) => i === 0 || t >= times[i - 1]! - 200_000),
    'timestamps follow virtual time',
  );
  const b = runTraced();
  assert.equal(traceChrome(b.events), traceChrome(a.events), 'same system, same trace');
  // Tracing off: nothing is built.
  const c = mqSystem(20, 2, 2);
  c.gs.run(200_000_000);
  assert.equal(c.gs.hv.tracer.on, false);
});
