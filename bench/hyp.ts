// Hypervisor benchmarks (issue 3): hypercall round trips per second from an emulated guest
// running a `hypervisor_identify` loop (hvc #0x6000; subs; b.ne), with guest MIPS during the loop,
// and message-queue throughput.

import { performance } from 'node:perf_hooks';
import { Cpu, type PhysBus } from '../src/arch/aarch64/cpu.js';
import { Hypervisor } from '../src/hyp/hypervisor.js';
import { VcpuEl2 } from '../src/hyp/vm/vcpu-el2.js';
import { NativeVcpu } from '../src/hyp/vm/native.js';
import type { Thread } from '../src/hyp/vm/thread.js';
import type { GuestAccess } from '../src/hyp/vm/guest-access.js';
import { CTX_IPA, GuestSystem } from '../test/hyp/guest-system.js';
import { equipVcpu } from '../test/hyp/vcpu-kit.js';

const RAM_BASE = 0x4000_0000;

function hypercallLoop(iterations: number): { calls: number; seconds: number; mips: number } {
  const ram = new Uint8Array(1 << 20);
  const bus: PhysBus = { ramBase: RAM_BASE, ram, mmioRead: () => null, mmioWrite: () => false };
  const cpu = new Cpu(bus);
  const words = [
    0xd40c0002 /* hvc #0x6000 */, 0xf1000673 /* subs x19, x19, #1 */, 0x54ffffc1 /* b.ne #-8 */, 0xd503207f,
  ];
  const dv = new DataView(ram.buffer);
  words.forEach((w, k) => dv.setUint32(4 * k, w, true));
  cpu.reset(RAM_BASE);
  const hv = new Hypervisor();
  const vm = hv.createRootVm();
  cpu.el2 = new VcpuEl2(hv, vm.thread);
  cpu.x[19] = BigInt(iterations);
  const t0 = performance.now();
  cpu.run(Number.MAX_SAFE_INTEGER);
  const seconds = (performance.now() - t0) / 1000;
  const calls = hv.dispatcher.counts[0]!;
  if (calls !== iterations) throw new Error(`expected ${iterations} hypercalls, saw ${calls}`);
  return { calls, seconds, mips: cpu.icount / seconds / 1e6 };
}

const n = Number(process.argv[2] ?? 2_000_000);
hypercallLoop(50_000); // warm up the JIT
const r = hypercallLoop(n);
console.log(
  `hypercalls   ${r.calls.toLocaleString('en-US')} hypervisor_identify round trips in ${r.seconds.toFixed(3)} s`,
);
console.log(
  `             ${Math.round(r.calls / r.seconds).toLocaleString('en-US')} per second, guest ${r.mips.toFixed(1)} MIPS during the loop`,
);

/**
 * Message-queue throughput: 240-byte messages (the RM-RPC size), send then receive, between two
 * vCPUs in different cspaces holding send-only and receive-only caps to one queue (depth 8).
 * Both are native vCPUs here, so this measures the hypervisor's own work per message.
 */
function msgqueueLoop(messages: number): { messages: number; seconds: number } {
  const hv = new Hypervisor();
  const vm = hv.createRootVm();
  const root = new NativeVcpu(hv, vm.thread);
  const P = vm.caps.partition;
  const C = vm.caps.cspace;
  const ok = (r: { e: number; x: bigint[] }, what: string): bigint => {
    if (r.e !== 0) throw new Error(`${what} failed: ${r.e}`);
    return r.x[1]!;
  };
  const mq = ok(root.call('partition_create_msgqueue', P, C, 0n), 'create msgqueue');
  ok(root.call('msgqueue_configure', mq, (240n << 16n) | 8n, 0n), 'configure');
  ok(root.call('object_activate', mq, 0n), 'activate');
  const peer = (rights: bigint): NativeVcpu => {
    const cs = ok(root.call('partition_create_cspace', P, C, 0n), 'cspace');
    ok(root.call('cspace_configure', cs, 4n, 0n), 'cspace configure');
    ok(root.call('object_activate', cs, 0n), 'cspace activate');
    const t = ok(root.call('partition_create_thread', P, C, 0n), 'thread');
    ok(root.call('cspace_attach_thread', cs, t, 0n), 'attach');
    equipVcpu(root, P, C, t); // an addrspace and a VIC: §4.5's other prerequisites
    ok(root.call('object_activate', t, 0n), 'thread activate');
    ok(root.call('cspace_copy_cap_from', C, mq, cs, rights, 0n), 'copy');
    const thread = vm.cspace.lookup<Thread>(t, 'thread', 0, false) as Thread;
    // Flat memory instead of the addrspace's stage 2: the loop measures the queue, not translation.
    thread.access = new FlatMemory(4096);
    return new NativeVcpu(hv, thread);
  };
  const tx = peer(0x1n);
  const rx = peer(0x2n);
  const t0 = performance.now();
  // Registers are set by hand: this is what a guest's send/receive loop does, with no allocation.
  for (let k = 0; k < messages; k++) {
    tx.x[0] = 0n;
    tx.x[1] = 240n;
    tx.x[2] = 0x100n;
    tx.x[3] = 0n;
    tx.x[4] = 0n;
    hv.hvc(tx.thread, tx.x, 0x6000 + 0x1b);
    rx.x[0] = 0n;
    rx.x[1] = 0x200n;
    rx.x[2] = 240n;
    rx.x[3] = 0n;
    hv.hvc(rx.thread, rx.x, 0x6000 + 0x1c);
    if (rx.x[0] !== 0n || rx.x[1] !== 240n) throw new Error('receive failed');
  }
  return { messages, seconds: (performance.now() - t0) / 1000 };
}

/** A vCPU's memory as one flat buffer at VA 0 (stage 1 and 2 off). */
class FlatMemory implements GuestAccess {
  private readonly mem: Uint8Array;
  constructor(size: number) {
    this.mem = new Uint8Array(size);
  }
  read(va: bigint, len: number): Uint8Array | number {
    const o = Number(va);
    if (va + BigInt(len) > BigInt(this.mem.length)) return 22; // ADDR_INVALID
    return this.mem.subarray(o, o + len);
  }
  write(va: bigint, data: Uint8Array): number {
    if (va + BigInt(data.length) > BigInt(this.mem.length)) return 22;
    this.mem.set(data, Number(va));
    return 0;
  }
  readInto(va: bigint, dst: Uint8Array, at: number, len: number): number {
    const o = Number(va);
    if (o + len > this.mem.length) return 22;
    dst.set(this.mem.subarray(o, o + len), at);
    return 0;
  }
  writeFrom(va: bigint, src: Uint8Array, at: number, len: number): number {
    const o = Number(va);
    if (o + len > this.mem.length) return 22;
    this.mem.set(src.subarray(at, at + len), o);
    return 0;
  }
}

msgqueueLoop(20_000);
const m = msgqueueLoop(Number(process.argv[3] ?? 500_000));
console.log(
  `msgqueue     ${m.messages.toLocaleString('en-US')} × 240-byte send + receive in ${m.seconds.toFixed(3)} s`,
);
console.log(`             ${Math.round(m.messages / m.seconds).toLocaleString('en-US')} messages per second`);

/**
 * Message-queue throughput between two emulated VMs (the figure): guests/hyp-mq.elf in
 * two VMs, one sending 240-byte messages from one buffer as fast as the queue takes them, the
 * other receiving, both waiting in WFI on the queue's VIRQs when it is full or empty; a native
 * host vCPU proxy-schedules both with vcpu_run (test/hyp/guest-system.ts). Wall time of the run.
 */
function msgqueueVms(count: number, depth: number): { messages: number; seconds: number; mips: number } {
  const gs = new GuestSystem();
  const snd = gs.addVm('snd', 'hyp-mq.elf');
  const rcv = gs.addVm('rcv', 'hyp-mq.elf');
  const mq = gs.mk('msgqueue');
  const ok = (r: { e: number }, what: string): void => {
    if (r.e !== 0) throw new Error(`${what} failed: ${r.e}`);
  };
  ok(gs.v.call('msgqueue_configure', mq, BigInt(depth) | (240n << 16n), 0n), 'msgqueue_configure');
  ok(gs.v.call('object_activate', mq, 0n), 'activate');
  ok(gs.v.call('msgqueue_bind_send_virq', mq, snd.vic, 40n, 0n), 'bind send');
  ok(gs.v.call('msgqueue_bind_receive_virq', mq, rcv.vic, 41n, 0n), 'bind receive');
  const tx = gs.give(snd, mq, 1n | 4n);
  const rx = gs.give(rcv, mq, 2n | 8n);
  const MAGIC = 0x51454d48414e5947n;
  gs.poke64(snd, CTX_IPA, [MAGIC, 2n, tx, 0n, 40n, 42n, BigInt(count), 0n]);
  gs.poke64(rcv, CTX_IPA, [MAGIC, 3n, 0n, rx, 43n, 41n, BigInt(count), 0n]);
  const t0 = performance.now();
  const stop = gs.run(Number.MAX_SAFE_INTEGER);
  const seconds = (performance.now() - t0) / 1000;
  if (stop !== 'idle' || !/^EXIT 0$/m.test(rcv.out) || !/^EXIT 0$/m.test(snd.out)) {
    throw new Error(`msgqueue bench failed (${stop}):\n${snd.out}\n${rcv.out}`);
  }
  const insns = gs.vms.flatMap((vm) => vm.threads).reduce((n, t) => n + gs.sys.vcpuOf(t)!.cpu.icount, 0);
  return { messages: count, seconds, mips: insns / seconds / 1e6 };
}

msgqueueVms(20_000, 8); // warm up
for (const depth of [8, 255]) {
  const r = msgqueueVms(Number(process.argv[4] ?? 400_000), depth);
  console.log(
    `msgqueue VMs ${r.messages.toLocaleString('en-US')} × 240-byte send + receive between two emulated VMs (depth ${depth}) in ${r.seconds.toFixed(3)} s`,
  );
  console.log(
    `             ${Math.round(r.messages / r.seconds).toLocaleString('en-US')} messages per second, guests ${r.mips.toFixed(1)} MIPS`,
  );
}
