#!/usr/bin/env node
// The `gunyah` command. `gunyah run --bare --kernel FILE.elf` boots a bare-metal AArch64 ELF on the
// plain QEMU-virt board; the hypervisor mode (the default, once the hypervisor lands) boots the
// Gunyah system. Errors are one line, prefixed "gunyah:", with a non-zero exit code.

import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { BareBoard, BoardError } from '../machine/board.js';
import { LoadError, parseElf } from '../vmm/loader/elf.js';

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
  stats?: string;
  maxInsns?: number;
  ram: number;
}

function positiveInt(what: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n <= 0)
      throw new InvalidArgumentError(`${what} must be a positive integer, not '${v}'`);
    return n;
  };
}

function runCommand(opts: RunOptions): number {
  if (!opts.bare) {
    throw new CliError(
      'the hypervisor mode is not built yet; use --bare to run a bare-metal guest on the plain virt board',
      EXIT_USAGE,
    );
  }
  if (!opts.kernel) throw new CliError('--bare needs --kernel FILE.elf', EXIT_USAGE);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(opts.kernel);
  } catch (e) {
    throw new CliError(`cannot read ${opts.kernel}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, EXIT_USAGE);
  }
  let image;
  try {
    image = parseElf(bytes);
  } catch (e) {
    if (e instanceof LoadError) throw new CliError(`cannot boot ${opts.kernel}: ${e.message}`, EXIT_USAGE);
    throw e;
  }
  const out: number[] = [];
  const flush = (): void => {
    if (out.length) {
      process.stdout.write(Buffer.from(out));
      out.length = 0;
    }
  };
  let board: BareBoard;
  try {
    board = new BareBoard({
      ramMiB: opts.ram,
      onUartTx: (b) => {
        out.push(b);
        if (b === 10 || out.length >= 4096) flush();
      },
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

export function main(argv: string[]): number {
  const program = new Command();
  program
    .name('gunyah')
    .description('The Gunyah hypervisor as an executable TypeScript model that boots real AArch64 code')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  let code = 0;
  program
    .command('run')
    .description('boot a system (with --bare: one bare-metal ELF on the plain QEMU-virt board)')
    .option('--bare', 'plain board, no hypervisor: RAM at 0x40000000, PL011 at 0x09000000, PSCI firmware')
    .option('--kernel <file>', 'AArch64 ELF to load at its physical addresses and start at EL1')
    .option('--stats <file>', 'write run statistics as JSON (instructions, seconds, mips)')
    .option('--max-insns <n>', 'stop after this many guest instructions', positiveInt('--max-insns'))
    .option('--ram <MiB>', 'RAM size in MiB', positiveInt('--ram'), 128)
    .action((opts: RunOptions) => {
      code = runCommand(opts);
    });
  try {
    program.parse(argv, { from: 'user' });
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

process.exitCode = main(process.argv.slice(2));
