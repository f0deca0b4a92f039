// Whole-system benchmarks (issue 5): the hypervisor, the resource manager and the built-in host VMM
// with real guests, measured in wall time.
//   (a) RM RPC round trips per second: guests/bin/rpc-bench.elf (a secondary VM) sends VM_GET_VMID
//       and waits for the reply N times; timed between its two console lines, in process (the same
//       wiring as `gunyah run --kernel`). Real Gunyah under QEMU TCG does ~170 per second.
//   (b) Start-up latency of the `gunyah` command, spawned as a user runs it: the built-in demo's first
//       line and its first guest line; `run --kernel` of a raw binary whose first instructions print
//       a byte (the time to its first console byte is the time to its first guest instruction plus
//       one emulated UART exit); and `node` itself, the floor under both.
//   (c) Host memory: process RSS before and after starting idle guests (each waits in WFI forever),
//       one guest with 1 GiB of RAM and sixteen side by side, each case in a fresh process.
// Figures only: nothing here is asserted by the tests.
//
// Usage: node dist/bench/system.js [round-trips] [runs]

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { GunyahSystem } from '../src/vmm/system.js';
import { GUEST_RAM_BASE, HostVmm, type GuestSpec } from '../src/vmm/host.js';
import { loadKernel } from '../src/vmm/loader/kernel.js';
import { generatorProgram } from '../src/vmm/rm-client/program.js';

const MiB = 1024n * 1024n;
const HERE = path.dirname(fileURLToPath(import.meta.url)); // dist/bench
const ROOT = path.resolve(HERE, '..', '..');
const CLI = path.join(ROOT, 'dist', 'gunyah.mjs');

/** Little-endian A64 words as a raw binary (what `run --kernel` loads at RAM + 0x80000). */
function rawBinary(words: readonly number[]): Uint8Array {
  const out = new Uint8Array(4 * words.length);
  const dv = new DataView(out.buffer);
  words.forEach((w, i) => dv.setUint32(4 * i, w, true));
  return out;
}

/** Waits in WFI forever (nothing ever interrupts it): `wfi; b .-4`. */
const IDLE_GUEST = rawBinary([0xd503207f, 0x17ffffff]);
/** Prints "!\n" on the PL011 from its third instruction, then PSCI SYSTEM_OFF. */
const HELLO_GUEST = rawBinary([
  0xd2a12001, // mov x1, #0x09000000
  0x52800420, // mov w0, #'!'
  0xb9000020, // str w0, [x1]
  0x52800140, // mov w0, #'\n'
  0xb9000020, // str w0, [x1]
  0xd2800100, // mov x0, #8
  0xf2b08000, // movk x0, #0x8400, lsl #16  (PSCI SYSTEM_OFF)
  0xd4000002, // hvc #0
  0x14000000, // b .
]);

/** The system of `gunyah run --kernel`, in process: RM, host VMM, and these guests. */
function boot(guests: GuestSpec[]): { system: GunyahSystem; host: HostVmm; started: () => number } {
  let started = 0;
  const host = new HostVmm(guests, (line) => {
    if (line.startsWith('host: started ')) started++;
  });
  const system = new GunyahSystem({ onConsole: () => undefined, primary: { program: generatorProgram(host.body) } });
  return { system, host, started: () => started };
}

function guest(name: string, image: Uint8Array, ramSize: bigint, onConsole: (b: number) => void, bootargs?: string) {
  const k = loadKernel(image, { base: GUEST_RAM_BASE, size: ramSize }, name);
  return { name, ramSize, cpus: 1, segments: k.segments, entry: k.entry, bootargs, onConsole };
}

// ---------------------------------------------------------------------------------------------
// (a) RM RPC round trips
// ---------------------------------------------------------------------------------------------

interface RpcResult {
  trips: number;
  seconds: number;
  /** Guest instructions and virtual time over the whole run (boot included). */
  instructions: number;
  virtualNs: number;
  /** Wall time of the whole run, boot to power-off. */
  totalSeconds: number;
}

function rpcRoundTrips(count: number): RpcResult {
  const image = readFileSync(path.join(ROOT, 'guests', 'bin', 'rpc-bench.elf'));
  const lines: string[] = [];
  let line = '';
  let start = 0;
  let end = 0;
  const onConsole = (b: number): void => {
    if (b !== 10) {
      line += String.fromCharCode(b);
      return;
    }
    // The loop runs between "rpc-bench: VMID ..." and "rpc-bench: done N".
    if (line.startsWith('rpc-bench: VMID')) start = performance.now();
    else if (line.startsWith('rpc-bench: done')) end = performance.now();
    lines.push(line);
    line = '';
  };
  const t0 = performance.now();
  const { system } = boot([guest('rpc-bench', image, 64n * MiB, onConsole, `count=${count}`)]);
  const stop = system.run(Number.MAX_SAFE_INTEGER);
  const t1 = performance.now();
  if (stop !== 'idle' || !lines.includes(`rpc-bench: done ${count}`) || !lines.includes('EXIT 0')) {
    throw new Error(`rpc-bench failed (${stop}):\n${lines.join('\n')}`);
  }
  return {
    trips: count,
    seconds: (end - start) / 1000,
    instructions: system.sys.instructions,
    virtualNs: system.nowNs,
    totalSeconds: (t1 - t0) / 1000,
  };
}

// ---------------------------------------------------------------------------------------------
// (b) start-up latency of the CLI
// ---------------------------------------------------------------------------------------------

interface Latency {
  /** ms from spawn to the first stdout byte, to the first line matching `mark`, to exit. */
  firstByte: number;
  mark: number;
  exit: number;
}

function spawnTimed(args: string[], mark: RegExp): Promise<Latency> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let firstByte = -1;
    let markAt = -1;
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      const now = performance.now() - t0;
      if (firstByte < 0) firstByte = now;
      out += d.toString();
      if (markAt < 0 && mark.test(out)) markAt = now;
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const exit = performance.now() - t0;
      if (code !== 0 || markAt < 0) reject(new Error(`${args.join(' ')} failed (exit ${code}):\n${out}${err}`));
      else resolve({ firstByte, mark: markAt, exit });
    });
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function latencies(runs: number, dir: string): Promise<void> {
  const hello = path.join(dir, 'hello.bin');
  writeFileSync(hello, HELLO_GUEST);
  const cases: { what: string; args: string[]; mark: RegExp; markName: string }[] = [
    { what: 'node -e 0', args: ['-e', 'process.stdout.write("x")'], mark: /x/, markName: 'output' },
    { what: 'gunyah run (demo)', args: [CLI, 'run'], mark: /^(alice|bob) *\|/m, markName: 'first guest line' },
    {
      what: 'gunyah run --kernel hello.bin',
      args: [CLI, 'run', '--kernel', hello],
      mark: /^!$/m,
      markName: 'first guest byte',
    },
  ];
  for (const c of cases) {
    const rs: Latency[] = [];
    await spawnTimed(c.args, c.mark); // warm the file cache
    for (let i = 0; i < runs; i++) rs.push(await spawnTimed(c.args, c.mark));
    const f = (k: keyof Latency): string => `${median(rs.map((r) => r[k])).toFixed(0)} ms`;
    const lo = (k: keyof Latency): string => `${Math.min(...rs.map((r) => r[k])).toFixed(0)}`;
    console.log(
      `  ${c.what.padEnd(30)} first byte ${f('firstByte')} (min ${lo('firstByte')}), ${c.markName} ${f('mark')} ` +
        `(min ${lo('mark')}), exit ${f('exit')}  [median of ${runs}]`,
    );
  }
}

/**
 * In process, modules loaded: wall time from building the system (hypervisor, RM boot, the host's
 * RPCs that create the guest) to the hello guest's first console byte, its third instruction.
 */
function firstByteInProcess(): number {
  const t0 = performance.now();
  let at = -1;
  const { system } = boot([
    guest('hello', HELLO_GUEST, 256n * MiB, () => {
      if (at < 0) at = performance.now() - t0;
    }),
  ]);
  if (system.run(Number.MAX_SAFE_INTEGER) !== 'idle' || at < 0) throw new Error('the hello guest did not print');
  return at;
}

// ---------------------------------------------------------------------------------------------
// (c) host memory of idle guests (each case in a fresh process: `--memory-child N MIB`)
// ---------------------------------------------------------------------------------------------

interface MemoryResult {
  guests: number;
  ramMiB: number;
  started: number;
  failures: string[];
  rssBeforeMiB: number;
  rssAfterMiB: number;
  bootMs: number;
}

const rssMiB = (): number => process.memoryUsage().rss / 2 ** 20;
const gc = (): void => (globalThis as { gc?: () => void }).gc?.();

function memoryChild(count: number, ramMiB: number): MemoryResult {
  gc();
  const before = rssMiB();
  const t0 = performance.now();
  const guests = Array.from({ length: count }, (_, i) =>
    guest(`idle${i}`, IDLE_GUEST, BigInt(ramMiB) * MiB, () => undefined),
  );
  const { system, host, started } = boot(guests);
  const stop = system.run(Number.MAX_SAFE_INTEGER);
  const bootMs = performance.now() - t0;
  if (stop !== 'idle') throw new Error(`the idle guests stopped with ${stop}`);
  gc();
  const after = rssMiB();
  return {
    guests: count,
    ramMiB,
    started: started(),
    failures: host.outcomes.map((o) => `${o.name}: ${o.message}`),
    rssBeforeMiB: before,
    rssAfterMiB: after,
    bootMs,
  };
}

function memory(count: number, ramMiB: number): MemoryResult {
  const r = spawnSync(
    process.execPath,
    ['--expose-gc', path.join(HERE, 'system.js'), '--memory-child', `${count}`, `${ramMiB}`],
    {
      encoding: 'utf8',
    },
  );
  if (r.status !== 0) throw new Error(`memory child failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as MemoryResult;
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--memory-child') {
    process.stdout.write(JSON.stringify(memoryChild(Number(argv[1]), Number(argv[2]))));
    return;
  }
  const trips = Number(argv[0] ?? 20_000);
  const runs = Number(argv[1] ?? 5);

  rpcRoundTrips(2_000); // warm up the JIT
  for (let i = 0; i < 3; i++) {
    const r = rpcRoundTrips(trips);
    console.log(
      `rpc          ${r.trips.toLocaleString('en-US')} VM_GET_VMID round trips from a guest in ${r.seconds.toFixed(3)} s: ` +
        `${Math.round(r.trips / r.seconds).toLocaleString('en-US')} per second (target 10,000; Gunyah under QEMU TCG ~170)`,
    );
    console.log(
      `             whole run ${r.totalSeconds.toFixed(3)} s, ${(r.virtualNs / 1e6).toFixed(1)} ms virtual, ` +
        `${(r.instructions / r.trips).toFixed(0)} guest instructions and ${(r.virtualNs / r.trips / 1000).toFixed(1)} µs virtual per round trip`,
    );
  }

  const long = rpcRoundTrips(5 * trips);
  console.log(
    `rpc          ${long.trips.toLocaleString('en-US')} round trips in ${long.seconds.toFixed(3)} s: ` +
      `${Math.round(long.trips / long.seconds).toLocaleString('en-US')} per second (longer run: the system's code warms up)`,
  );

  const dir = mkdtempSync(path.join(tmpdir(), 'gunyah-bench-'));
  try {
    console.log(
      'start-up     wall time from spawn (targets: demo first line < 1 s, --kernel first instruction < 300 ms)',
    );
    await latencies(runs, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const cold = firstByteInProcess();
  const warm = Array.from({ length: runs }, firstByteInProcess);
  console.log(
    `  in process (modules loaded): system built → hello guest's first byte ${cold.toFixed(0)} ms the first time, ` +
      `${median(warm).toFixed(0)} ms after that [median of ${runs}]`,
  );

  console.log('memory       process RSS with idle guests (each waits in WFI forever), each case in a fresh process');
  const base = memory(0, 0);
  console.log(
    `  no guests      RSS ${base.rssBeforeMiB.toFixed(1)} → ${base.rssAfterMiB.toFixed(1)} MiB (node, the modules, ` +
      `then the hypervisor, RM and host VMM booted)`,
  );
  for (const [count, ramMiB] of [
    [1, 1024],
    [1, 32],
    [16, 32],
    [16, 112],
  ] as const) {
    const m = memory(count, ramMiB);
    const label = `${count} × ${ramMiB} MiB`;
    if (m.failures.length > 0 || m.started !== count) {
      console.log(`  ${label.padEnd(14)} could not start: ${m.failures[0] ?? `${m.started} of ${count} started`}`);
      continue;
    }
    const perGuest = (m.rssAfterMiB - base.rssAfterMiB) / count;
    console.log(
      `  ${label.padEnd(14)} RSS ${m.rssBeforeMiB.toFixed(1)} → ${m.rssAfterMiB.toFixed(1)} MiB: ` +
        `${perGuest.toFixed(1)} MiB per guest over the system with no guests (target well under 64 MiB); ` +
        `booted in ${m.bootMs.toFixed(0)} ms`,
    );
  }
}

await main();
