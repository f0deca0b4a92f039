// Hypervisor benchmarks (issue 3): hypercall round trips per second from an emulated guest
// running a `hypervisor_identify` loop (hvc #0x6000; subs; b.ne), with guest MIPS during the loop.

import { performance } from 'node:perf_hooks';
import { Cpu, type PhysBus } from '../src/arch/aarch64/cpu.js';
import { Hypervisor } from '../src/hyp/hypervisor.js';
import { VcpuEl2 } from '../src/hyp/vm/vcpu-el2.js';

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
