#!/usr/bin/env node
// The `gunyah` command. `gunyah run --bare --kernel FILE.elf` boots a bare-metal AArch64 ELF on the
// plain QEMU-virt board; `gunyah run --primary FILE` boots the Gunyah system — hypervisor, resource
// manager — with FILE as the primary VM, as Gunyah's QEMU platform does. Errors are one line,
// prefixed "gunyah:", with a non-zero exit code (2 for bad input).

import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { BareBoard, BoardError } from '../machine/board.js';
import { FdtError } from '../machine/fdt/error.js';
import { readFdt, writeFdt } from '../machine/fdt/index.js';
import { LoadError, isElf, parseElf, type Segment } from '../vmm/loader/elf.js';
import { platformDt } from '../vmm/dt/platform.js';
import { GunyahSystem, HLOS, SystemConfigError } from '../vmm/system.js';
import { GUEST_RAM_BASE, HostVmm, type GuestSpec } from '../vmm/host.js';
import { DTB_WINDOW, loadKernel, placeInitrd, validateDtb, type KernelLayout } from '../vmm/loader/kernel.js';
import { generatorProgram } from '../vmm/rm-client/program.js';
import { demoGuests, linePrefixer } from '../vmm/demo.js';
import { SystemFileError, readSystemFile, systemGuests } from './system-file.js';
import { ExitType } from '../rm/msgs/vm-notify.js';
import path from 'node:path';
import type { SystemStop } from '../hyp/system.js';
import { TraceBuffer, traceChrome } from '../hyp/trace.js';

const EXIT_GUEST_FAILED = 1;
const EXIT_USAGE = 2;

class CliError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

interface RunOptions {
  bare?: boolean;
  kernel?: string;
  primary?: string;
  dtb?: string;
  append?: string;
  cpus: number;
  maxSeconds?: number;
  trace?: string;
  stats?: string;
  maxInsns?: number;
  ram: number;
  initrd?: string;
  mem?: bigint;
}

const MiB = 1024n * 1024n;
/** Guest RAM when --mem is not given. */
const DEFAULT_GUEST_MEM = 256n * MiB;

/** `--mem SIZE`: bytes, or a number with K, M or G (binary units); whole 2 MiB blocks, at least 4 MiB. */
function memSize(v: string): bigint {
  const m = /^(\d+)([KMG]?)i?B?$/i.exec(v.trim());
  if (!m) throw new InvalidArgumentError(`--mem must be a size like 256M or 1G, not '${v}'`);
  const unit = { '': 1n, K: 1024n, M: MiB, G: 1024n * MiB }[m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G'];
  const n = BigInt(m[1]!) * unit;
  if (n < 4n * MiB || n % (2n * MiB) !== 0n) {
    throw new InvalidArgumentError(`--mem must be a multiple of 2 MiB and at least 4 MiB, not '${v}'`);
  }
  return n;
}

function positiveInt(what: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n <= 0)
      throw new InvalidArgumentError(`${what} must be a positive integer, not '${v}'`);
    return n;
  };
}

function readInput(file: string): Uint8Array {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new CliError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, EXIT_USAGE);
  }
}

/** Console bytes to stdout, a line (or 4 KiB) at a time. */
function consoleOut(): { put: (b: number) => void; flush: () => void } {
  const out: number[] = [];
  const flush = (): void => {
    if (out.length) {
      process.stdout.write(Buffer.from(out));
      out.length = 0;
    }
  };
  return {
    put: (b) => {
      out.push(b);
      if (b === 10 || out.length >= 4096) flush();
    },
    flush,
  };
}

/** Virtual time run between checks of the wall clock and of console input. */
const SLICE_NS = 5_000_000;

/**
 * `run --primary FILE`: FILE is the primary VM — an ELF at its physical addresses, or a raw binary
 * loaded at the HLOS entry 0x4100_0000 (RM spec §4.2) — with the platform's device tree (or --dtb)
 * at 0x40F0_0000 for the RM to patch.
 */
async function runPrimary(opts: RunOptions): Promise<number> {
  const file = opts.primary!;
  const bytes = readInput(file);
  let segments: Segment[];
  if (isElf(bytes)) {
    let elf;
    try {
      elf = parseElf(bytes);
    } catch (e) {
      if (e instanceof LoadError) throw new CliError(`cannot boot ${file}: ${e.message}`, EXIT_USAGE);
      throw e;
    }
    // The RM enters the primary at the HLOS entry, whatever the file says.
    if (BigInt(elf.entry) !== HLOS.entry) {
      throw new CliError(
        `cannot boot ${file}: its entry point is 0x${elf.entry.toString(16)}, but the resource manager starts ` +
          `the primary VM at 0x${HLOS.entry.toString(16)}`,
        EXIT_USAGE,
      );
    }
    segments = elf.segments;
  } else {
    if (bytes.length === 0) throw new CliError(`cannot boot ${file}: the file is empty`, EXIT_USAGE);
    segments = [{ paddr: Number(HLOS.entry), data: bytes, memsz: bytes.length }];
  }
  let dt: Uint8Array;
  if (opts.dtb) {
    const d = readInput(opts.dtb);
    try {
      const tree = readFdt(d);
      if (opts.append !== undefined) tree.ensureNode('/chosen').setString('bootargs', opts.append);
      dt = writeFdt(tree);
    } catch (e) {
      if (e instanceof FdtError) throw new CliError(`cannot use ${opts.dtb}: ${e.message}`, EXIT_USAGE);
      throw e;
    }
  } else {
    dt = writeFdt(
      platformDt({ memory: [{ base: HLOS.base, size: HLOS.size }], cpus: opts.cpus, bootargs: opts.append }),
    );
  }
  const con = consoleOut();
  const trace = opts.trace ? new TraceBuffer() : undefined;
  let system: GunyahSystem;
  try {
    system = new GunyahSystem({ cpus: opts.cpus, onConsole: con.put, primary: { segments, dt }, trace });
  } catch (e) {
    if (e instanceof SystemConfigError) throw new CliError(`cannot boot ${file}: ${e.message}`, EXIT_USAGE);
    throw e;
  }
  const input = (b: Buffer): void => system.uart.receive(b);
  return runLoop(system, opts, con, trace, input, (stop) => {
    if (stop === 'platform-off') return 0;
    if (stop === 'platform-reset') throw new CliError('the primary VM reset the platform', EXIT_GUEST_FAILED);
    return null;
  });
}

/**
 * Run `system` in slices of virtual time, letting console input in between, until `decide` returns
 * an exit code (or throws), the RM fails, everything is idle, or --max-seconds runs out; then write
 * --trace and --stats.
 */
async function runLoop(
  system: GunyahSystem,
  opts: RunOptions,
  con: { flush: () => void },
  trace: TraceBuffer | undefined,
  input: ((b: Buffer) => void) | null,
  decide: (stop: SystemStop) => number | null,
  /** The host VMM running the guests, if any (its exits and outcomes go into --stats). */
  host?: HostVmm,
): Promise<number> {
  // Console input: while stdin is open, a system whose vCPUs all wait may be waiting for it. A run
  // with no console input (null) takes no stdin, and an idle system is stuck at once.
  let inputOpen = input !== null;
  let wake: (() => void) | null = null;
  const onData = (b: Buffer): void => {
    input?.(b);
    wake?.();
  };
  const onEnd = (): void => {
    inputOpen = false;
    wake?.();
  };
  if (input !== null) {
    process.stdin.on('data', onData);
    process.stdin.on('end', onEnd);
    process.stdin.on('error', onEnd);
  }
  const t0 = performance.now();
  let stop: SystemStop = 'limit';
  // A long run shows its progress on a terminal (stderr), one line rewritten in place; piped, nothing.
  const tty = process.stderr.isTTY === true;
  let shown = t0;
  let progressShown = false;
  const progress = (): void => {
    const now = performance.now();
    if (!tty || now - shown < PROGRESS_MS) return;
    shown = now;
    progressShown = true;
    const s = (now - t0) / 1000;
    const insns = system.sys.instructions;
    process.stderr.write(
      `\rgunyah: ${s.toFixed(1)} s, ${(insns / 1e6).toFixed(1)} M instructions, ${(insns / s / 1e6).toFixed(1)} MIPS, ` +
        `virtual ${(system.nowNs / 1e9).toFixed(3)} s\x1b[K`,
    );
  };
  try {
    for (let until = SLICE_NS; ; until += SLICE_NS) {
      stop = system.run(until);
      progress();
      const code = decide(stop);
      if (code !== null) return code;
      if (system.rm.failure !== null) throw new CliError(system.rm.failure, EXIT_GUEST_FAILED);
      if (stop === 'idle' && !inputOpen) {
        throw new CliError('every vCPU is waiting and nothing can wake them (the system is idle)', EXIT_GUEST_FAILED);
      }
      const left = opts.maxSeconds === undefined ? Infinity : opts.maxSeconds - (performance.now() - t0) / 1000;
      if (left <= 0) throw new CliError(`--max-seconds ${opts.maxSeconds} ran out`, EXIT_GUEST_FAILED);
      if (stop === 'idle') {
        // Nothing runs until console input arrives (or stdin closes, or time runs out).
        await new Promise<void>((r) => {
          wake = r;
          if (left !== Infinity) setTimeout(r, left * 1000).unref();
        });
        wake = null;
      } else {
        await new Promise<void>((r) => setImmediate(r));
      }
    }
  } finally {
    if (progressShown) process.stderr.write('\r\x1b[K');
    con.flush();
    if (input !== null) {
      process.stdin.off('data', onData);
      process.stdin.off('end', onEnd);
      process.stdin.off('error', onEnd);
      process.stdin.pause();
    }
    const seconds = (performance.now() - t0) / 1000;
    if (trace && opts.trace) writeFileSync(opts.trace, traceChrome(trace.events));
    if (opts.stats) writeFileSync(opts.stats, JSON.stringify(systemStats(system, seconds, stop, host), null, 2) + '\n');
  }
}

/** --stats of a system run: instructions, seconds, MIPS, virtual time, hypercalls by name. */
function systemStats(system: GunyahSystem, seconds: number, stop: SystemStop, host?: HostVmm): Record<string, unknown> {
  const instructions = system.sys.instructions;
  return {
    instructions,
    seconds: Number(seconds.toFixed(6)),
    mips: seconds > 0 ? Number((instructions / seconds / 1e6).toFixed(2)) : 0,
    virtualNs: system.nowNs,
    stop,
    hypercalls: Object.fromEntries([...system.hypercallCounts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    ...(host
      ? {
          // vcpu_run returns and VMMIO exits by kind, and how each guest ended.
          exits: Object.fromEntries([...host.exits].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
          guests: host.outcomes.map((o) => ({
            name: o.name,
            vmid: o.vmid,
            end: o.kind,
            exitType: o.exitType ?? null,
            why: o.message,
          })),
        }
      : {}),
  };
}

/** Wall time between progress lines on a terminal. */
const PROGRESS_MS = 1000;

/**
 * `run --kernel FILE` (no --bare): the whole system — hypervisor, RM, the host VMM on the primary —
 * with FILE booted as one guest VM: an ELF, an arm64 Linux Image, or a raw binary (as QEMU's
 * -kernel), its RAM at 0x8000_0000, the DTB address in x0. Its console is stdout and stdin.
 */
async function runGuestKernel(opts: RunOptions): Promise<number> {
  const file = opts.kernel!;
  const ram = { base: GUEST_RAM_BASE, size: opts.mem ?? DEFAULT_GUEST_MEM };
  const bad = (e: unknown): never => {
    if (e instanceof LoadError) throw new CliError(e.message, EXIT_USAGE);
    throw e;
  };
  let kernel: KernelLayout;
  try {
    kernel = loadKernel(readInput(file), ram, file);
  } catch (e) {
    return bad(e);
  }
  let initrd: { ipa: bigint; data: Uint8Array } | undefined;
  if (opts.initrd) {
    const data = readInput(opts.initrd);
    try {
      initrd = { ipa: placeInitrd(data.length, ram, kernel, Number(DTB_WINDOW)).initrd, data };
    } catch (e) {
      if (e instanceof LoadError) throw new CliError(`cannot place ${opts.initrd}: ${e.message}`, EXIT_USAGE);
      throw e;
    }
  }
  let dt;
  if (opts.dtb) {
    try {
      dt = validateDtb(readInput(opts.dtb), opts.dtb);
    } catch (e) {
      return bad(e);
    }
    if (opts.append !== undefined) dt.ensureNode('/chosen').setString('bootargs', opts.append);
  }
  const con = consoleOut();
  const host = new HostVmm([
    {
      name: path.basename(file),
      ramSize: ram.size,
      cpus: opts.cpus,
      segments: kernel.segments,
      entry: kernel.entry,
      bootargs: opts.append,
      initrd,
      dt,
      onConsole: con.put,
    },
  ]);
  const trace = opts.trace ? new TraceBuffer() : undefined;
  let uartIn: ((b: Uint8Array) => void) | null = null;
  host.onGuestUart = (name, uart) => (uartIn = (b) => uart.receive(b));
  const system = new GunyahSystem({ onConsole: con.put, primary: { program: generatorProgram(host.body) }, trace });
  return runLoop(
    system,
    opts,
    con,
    trace,
    (b) => uartIn?.(b),
    (stop) => {
      if (stop !== 'idle' || host.outcomes.length === 0) return null;
      const o = host.outcomes[0]!;
      if (o.kind === 'exited' && o.exitType === ExitType.PLATFORM_OFF) return 0;
      throw new CliError(`the guest ${o.message}`, EXIT_GUEST_FAILED);
    },
    host,
  );
}

/**
 * `run` with no image: the built-in demo — RM, host VMM, and two guest VMs that find each other
 * through /hypervisor, talk over message queues, ring a doorbell and pass a lent page (src/vmm/demo.ts).
 */
async function runDemo(opts: RunOptions): Promise<number> {
  const write = (line: string): void => void process.stdout.write(line + '\n');
  let guests;
  try {
    guests = demoGuests(write);
  } catch (e) {
    if (e instanceof LoadError || (e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new CliError(`the demo's guest image is missing or damaged: ${(e as Error).message}`, EXIT_USAGE);
    }
    throw e;
  }
  write('gunyah-ts demo: the hypervisor boots the resource manager; the RM starts the primary VM, whose host');
  write('VMM creates two guest VMs, alice and bob, through RM RPC and runs them. Each guest finds the other');
  write("in its device tree's /hypervisor node.");
  return runGuests(guests, opts, write, 'both guests powered off; the demo is over');
}

/**
 * `run FILE`: the system FILE describes (src/cli/system-file.ts, docs/system-yaml.md) — its VMs,
 * their links and shared memory — created by the host VMM and run as the demo is: each VM's console
 * prefixed with its name, the host's log as `host  | ...`. Exit 0 when every VM powered off.
 */
async function runSystem(file: string, opts: RunOptions): Promise<number> {
  for (const [given, flag] of [
    [opts.bare, '--bare'],
    [opts.kernel, '--kernel'],
    [opts.primary, '--primary'],
    [opts.mem, '--mem'],
    [opts.initrd, '--initrd'],
    [opts.dtb, '--dtb'],
    [opts.append, '--append'],
  ] as const) {
    if (given !== undefined) {
      throw new CliError(`${flag} cannot be combined with a system file (${file} says what each VM boots)`, EXIT_USAGE);
    }
  }
  const write = (line: string): void => void process.stdout.write(line + '\n');
  let guests;
  let sys;
  try {
    sys = readSystemFile(file);
    guests = systemGuests(sys, (name) => linePrefixer(name, write));
  } catch (e) {
    if (e instanceof SystemFileError) throw new CliError(e.message, EXIT_USAGE);
    throw e;
  }
  const count = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;
  write(
    `host  | ${file}: ${count(sys.vms.length, 'VM')} (${sys.vms.map((v) => v.name).join(', ')}), ` +
      `${count(sys.links.length, 'link')}, ${count(sys.sharedMemory.length, 'shared-memory region')}`,
  );
  return runGuests(guests, opts, write, 'every VM powered off');
}

/**
 * Guests the host VMM creates and runs, their consoles already line-prefixed into `write`, the
 * host's log as `host  | ...`; exit 0 once every guest powered off (then `done` is said).
 */
async function runGuests(
  guests: GuestSpec[],
  opts: RunOptions,
  write: (line: string) => void,
  done: string,
): Promise<number> {
  const host = new HostVmm(guests, (l) => write(l.replace(/^host: /, 'host  | ')));
  const trace = opts.trace ? new TraceBuffer() : undefined;
  const system = new GunyahSystem({
    onConsole: () => undefined,
    primary: { program: generatorProgram(host.body) },
    trace,
  });
  return runLoop(
    system,
    opts,
    { flush: () => undefined },
    trace,
    null, // no VM reads the console: an idle system is stuck, not waiting for input
    (stop) => {
      if (stop !== 'idle' || host.outcomes.length < guests.length) return null;
      const bad = host.outcomes.find((o) => !(o.kind === 'exited' && o.exitType === ExitType.PLATFORM_OFF));
      if (bad) throw new CliError(`${bad.name} ${bad.message}`, EXIT_GUEST_FAILED);
      write(`host  | ${done}`);
      return 0;
    },
    host,
  );
}

async function runCommand(opts: RunOptions): Promise<number> {
  if (opts.primary !== undefined) {
    if (opts.bare || opts.kernel)
      throw new CliError('--primary cannot be combined with --bare or --kernel', EXIT_USAGE);
    return runPrimary(opts);
  }
  if (!opts.bare) {
    return opts.kernel ? runGuestKernel(opts) : runDemo(opts);
  }
  if (!opts.kernel) throw new CliError('--bare needs --kernel FILE.elf', EXIT_USAGE);
  const bytes = readInput(opts.kernel);
  let image;
  try {
    image = parseElf(bytes);
  } catch (e) {
    if (e instanceof LoadError) throw new CliError(`cannot boot ${opts.kernel}: ${e.message}`, EXIT_USAGE);
    throw e;
  }
  const { put, flush } = consoleOut();
  let board: BareBoard;
  try {
    board = new BareBoard({
      ramMiB: opts.ram,
      onUartTx: put,
    });
    board.load(image.segments, image.entry);
  } catch (e) {
    if (e instanceof BoardError) throw new CliError(`cannot boot ${opts.kernel}: ${e.message}`, EXIT_USAGE);
    throw e;
  }
  const t0 = performance.now();
  const r = board.run(opts.maxInsns);
  const seconds = (performance.now() - t0) / 1000;
  flush();
  if (opts.stats) {
    const stats = {
      instructions: r.instructions,
      seconds: Number(seconds.toFixed(6)),
      mips: Number((r.instructions / seconds / 1e6).toFixed(2)),
      virtualNs: r.virtualNs,
      stop: r.stop,
    };
    writeFileSync(opts.stats, JSON.stringify(stats, null, 2) + '\n');
  }
  if (r.stop === 'system-off' || r.stop === 'system-reset') return 0;
  throw new CliError(`guest stopped: ${r.message ?? r.stop}`, EXIT_GUEST_FAILED);
}

export async function main(argv: string[]): Promise<number> {
  const program = new Command();
  program
    .name('gunyah')
    .description('The Gunyah hypervisor as an executable TypeScript model that boots real AArch64 code')
    .exitOverride()
    .configureOutput({
      writeErr: (s) => process.stderr.write(s),
      // Usage errors in the command's one-line form: `gunyah: <what was wrong>`.
      outputError: (s, write) => write(`gunyah: ${s.replace(/^error: /, '')}`),
    });
  let code = 0;
  program
    .command('run')
    .description(
      'boot a system: --primary FILE runs FILE as the primary VM under the hypervisor and resource manager; ' +
        '--bare runs one bare-metal ELF on the plain QEMU-virt board',
    )
    .option(
      '--primary <file>',
      'the primary VM (HLOS): a raw binary loaded at 0x41000000, or an ELF; entered with X0 = its device tree at 0x40F00000',
    )
    .option('--dtb <file>', 'with --primary: the device tree to boot with (the RM adds /hypervisor to it)')
    .option('--append <args>', 'with --primary: the kernel command line (/chosen bootargs)')
    .option('--initrd <file>', 'with --kernel: an initial ramdisk (placed below the DTB; /chosen says where)')
    .option('--mem <size>', 'with --kernel: guest RAM (e.g. 256M, 512M; default 256M)', memSize)
    .option('--cpus <n>', 'vCPUs of the guest (--kernel) or of the primary VM (--primary)', positiveInt('--cpus'), 1)
    .option(
      '--max-seconds <s>',
      'with --primary: stop with an error after this much wall time',
      positiveInt('--max-seconds'),
    )
    .option(
      '--trace <file>',
      'with --primary: write a Chrome trace-event JSON of the run (hypercalls, RPC, vIRQs, scheduling)',
    )
    .option('--bare', 'plain board, no hypervisor: RAM at 0x40000000, PL011 at 0x09000000, PSCI firmware')
    .option(
      '--kernel <file>',
      'boot FILE as a guest VM (an ELF, an arm64 Linux Image, or a raw binary loaded at RAM + 0x80000, x0 = its DTB); with --bare, an ELF on the plain board',
    )
    .option('--stats <file>', 'write run statistics as JSON (instructions, seconds, mips; hypercalls by name)')
    .option('--max-insns <n>', 'stop after this many guest instructions', positiveInt('--max-insns'))
    .option('--ram <MiB>', 'RAM size in MiB', positiveInt('--ram'), 128)
    .argument('[system]', 'a system file (YAML): several VMs with their links and shared memory (docs/system-yaml.md)')
    .action(async (system: string | undefined, opts: RunOptions, cmd: Command) => {
      if (system !== undefined && cmd.getOptionValueSource('cpus') === 'cli') {
        throw new CliError(`--cpus cannot be combined with a system file (${system} gives each VM's cpus)`, EXIT_USAGE);
      }
      code = await (system !== undefined ? runSystem(system, opts) : runCommand(opts));
    });
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : EXIT_USAGE;
    if (e instanceof CliError) {
      process.stderr.write(`gunyah: ${e.message}\n`);
      return e.code;
    }
    throw e;
  }
  return code;
}

// A reader that went away (`gunyah run | head`) ends the run quietly, as other command-line tools do.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});
process.exitCode = await main(process.argv.slice(2));
