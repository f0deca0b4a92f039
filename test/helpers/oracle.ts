// Finding and launching the independent oracles of DESIGN.md §6: Unicorn (Debian python3-unicorn,
// driven by test/isa/unicorn_oracle.py) for instruction semantics and llvm-mc for encodings and
// disassembly. A test that needs an oracle and finds it missing says so loudly; under CI it fails.

import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The repository root, from dist/test/helpers/oracle.js or test/helpers/oracle.ts. */
function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'test', 'isa'))) return dir;
    dir = path.dirname(dir);
  }
  return process.cwd();
}

export const UNICORN_SCRIPT = path.join(repoRoot(), 'test', 'isa', 'unicorn_oracle.py');

let pythonCache: string | null | undefined;

/**
 * A Python that can `import unicorn`. Debian's python3-unicorn lives under /usr/bin/python3; the
 * `python3` first on PATH may be another interpreter (pyenv) without it, so that one is tried last.
 * UNICORN_PYTHON, when set, is the only candidate.
 */
export function findUnicornPython(): string | null {
  if (pythonCache !== undefined) return pythonCache;
  const candidates = process.env.UNICORN_PYTHON
    ? [process.env.UNICORN_PYTHON]
    : ['/usr/bin/python3', '/usr/local/bin/python3', 'python3', 'python'];
  pythonCache = null;
  for (const c of candidates) {
    if (!c) continue;
    const r = spawnSync(c, ['-c', 'import unicorn, unicorn.arm64_const'], { stdio: 'ignore', timeout: 20000 });
    if (r.status === 0) {
      pythonCache = c;
      break;
    }
  }
  return pythonCache;
}

let llvmMcCache: string | null | undefined;

/** llvm-mc from PATH (Debian's `llvm` package), or a versioned one. LLVM_MC, when set, is the only candidate. */
export function findLlvmMc(): string | null {
  if (llvmMcCache !== undefined) return llvmMcCache;
  const candidates = process.env.LLVM_MC
    ? [process.env.LLVM_MC]
    : ['llvm-mc', ...[19, 18, 17, 16, 15, 14].map((v) => `llvm-mc-${v}`)];
  llvmMcCache = null;
  for (const c of candidates) {
    if (!c) continue;
    const r = spawnSync(c, ['--version'], { stdio: 'ignore', timeout: 20000 });
    if (r.status === 0) {
      llvmMcCache = c;
      break;
    }
  }
  return llvmMcCache;
}

/**
 * What to do about a missing oracle: under CI (process.env.CI set) it is a failure; locally the
 * test is skipped with a loud warning. Returns the skip reason, or throws under CI.
 */
export function oracleMissing(what: string, hint: string): string {
  const msg = `ORACLE MISSING: ${what} (${hint})`;
  if (process.env.CI) throw new Error(msg);
  console.warn(msg);
  return msg;
}

// ---- Unicorn ----

export interface UnicornHeader {
  base: number;
  size: number;
  mem: Uint8Array;
}

/** One test case as the Python side reads it (see unicorn_oracle.py for the field meanings). */
export interface UnicornCaseLine {
  id: number;
  pc: number;
  insn: number;
  /** 256-byte little-endian image of X0..X30, SP. */
  x: Uint8Array;
  nzcv: number;
  /** 512-byte little-endian image of Q0..Q31, when the case uses vector registers. */
  v: Uint8Array | null;
  fpcr: number;
  fpsr: number;
  /** Where a taken branch goes (our CPU's next PC): Unicorn gets a UDF there, see the script. */
  guard?: number;
}

export interface UnicornResult {
  id: number;
  /** null, or the kind of exception: udef, svc, pabort, dabort, bkpt, unmapped, intrN, error:... */
  exc: string | null;
  /** 256-byte little-endian image of X0..X30, SP. */
  x: Buffer;
  pc: bigint;
  nzcv: number;
  v: Buffer | null;
  fpsr: number | null;
  /** Bytes the instruction wrote inside the window: [address, final bytes]. */
  mem: [number, Buffer][];
}

interface RawResult {
  id: number;
  exc: string | null;
  x: string;
  pc: string;
  nzcv: number;
  v?: string;
  fpsr?: number;
  mem: [string, string][];
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/**
 * One running `unicorn_oracle.py`: send cases, receive results through `onResult` in the order
 * sent. If the process dies (QEMU aborts on a few encodings), `onCrash` gets the ids still without
 * a result, oldest first: the first one killed it (the script flushes after every case).
 */
export class UnicornProcess {
  private readonly proc: ChildProcessWithoutNullStreams;
  private stderr = '';
  private readonly done: Promise<void>;
  private drained: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  /** Ids sent and not yet answered, oldest first. */
  private readonly outstanding: number[] = [];
  private head = 0;
  private ended = false;

  constructor(
    python: string,
    header: UnicornHeader,
    onResult: (r: UnicornResult) => void,
    onCrash: (unanswered: number[], why: string) => void,
  ) {
    this.proc = spawn(python, [UNICORN_SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stderr.setEncoding('utf8');
    this.proc.stderr.on('data', (d: string) => {
      if (process.env.UNICORN_ORACLE_TRACE) process.stderr.write(d);
      else if (this.stderr.length < 20000) this.stderr += d;
      else this.stderr = this.stderr.slice(-10000) + d;
    });
    const rl = createInterface({ input: this.proc.stdout, crlfDelay: Infinity });
    rl.on('line', (line) => {
      if (!line.startsWith('{')) return;
      const r = JSON.parse(line) as RawResult;
      if (this.outstanding[this.head] !== r.id) throw new Error(`oracle answered ${r.id} out of order`);
      this.head++;
      if (this.head > 4096) {
        this.outstanding.splice(0, this.head);
        this.head = 0;
      }
      onResult({
        id: r.id,
        exc: r.exc,
        x: Buffer.from(r.x, 'hex'),
        pc: BigInt('0x' + r.pc),
        nzcv: r.nzcv,
        v: r.v !== undefined ? Buffer.from(r.v, 'hex') : null,
        fpsr: r.fpsr ?? null,
        mem: r.mem.map(([a, b]) => [parseInt(a, 16), Buffer.from(b, 'hex')]),
      });
    });
    this.done = new Promise((resolve) => {
      let settled = false;
      const end = (why: string | null): void => {
        if (settled) return;
        settled = true;
        this.wake?.();
        const left = this.outstanding.slice(this.head);
        if (why !== null) onCrash(left, why);
        else if (left.length) onCrash(left, 'oracle exited without answering every case');
        resolve();
      };
      this.proc.on('error', (e) => end(`cannot run ${python}: ${e.message}`));
      // 'close' comes after stdout has ended, so every answered line has been seen.
      this.proc.on('close', (code, signal) =>
        end(code === 0 ? null : `unicorn_oracle.py exited with ${code ?? signal}: ${this.stderr.slice(-2000)}`),
      );
    });
    this.proc.stdin.on('error', () => undefined);
    this.write(JSON.stringify({ base: header.base.toString(16), size: header.size, mem: hex(header.mem) }) + '\n');
  }

  /** Queue a case; resolves when the pipe can take more (back-pressure). */
  async send(c: UnicornCaseLine): Promise<void> {
    const o: Record<string, unknown> = {
      id: c.id,
      pc: c.pc.toString(16),
      insn: c.insn >>> 0,
      x: hex(c.x),
      nzcv: c.nzcv,
    };
    if (c.v) {
      o.v = hex(c.v);
      o.fpcr = c.fpcr;
      o.fpsr = c.fpsr;
    }
    if (c.guard !== undefined) o.guard = c.guard.toString(16);
    this.outstanding.push(c.id);
    if (!this.write(JSON.stringify(o) + '\n')) {
      this.drained ??= new Promise<void>((resolve) => {
        this.wake = (): void => {
          this.drained = null;
          this.wake = null;
          resolve();
        };
        this.proc.stdin.once('drain', this.wake);
      });
      await this.drained;
    }
  }

  private write(s: string): boolean {
    if (this.proc.stdin.destroyed || this.proc.stdin.writableEnded) return true;
    return this.proc.stdin.write(s);
  }

  /** Close the input and wait until the process has answered everything (or died). */
  async finish(): Promise<void> {
    if (!this.ended) {
      this.ended = true;
      this.proc.stdin.end();
    }
    await this.done;
  }

  kill(): void {
    this.proc.kill();
  }
}

// ---- llvm-mc ----

/**
 * Disassemble words with one llvm-mc process. Returns, per word, the instruction text with
 * whitespace normalised (mnemonic, one space, operands), or null when llvm-mc calls the encoding
 * invalid.
 */
export function llvmDisassemble(llvmMc: string, words: readonly number[], mattr: string): (string | null)[] {
  const input = words
    .map((w) => {
      const u = w >>> 0;
      return [0, 8, 16, 24].map((s) => '0x' + ((u >>> s) & 0xff).toString(16).padStart(2, '0')).join(' ');
    })
    .join('\n');
  const r = spawnSync(llvmMc, ['--disassemble', '-triple=aarch64', `-mattr=${mattr}`], {
    input: input + '\n',
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  if (r.error) throw r.error;
  // stdout has one line per valid instruction (after a `.text` line); stderr has a warning plus two
  // context lines per invalid one, with the input line number. Merge by line number.
  const invalid = new Set<number>();
  for (const m of r.stderr.matchAll(/<stdin>:(\d+):\d+: warning: invalid instruction encoding/g)) {
    invalid.add(Number(m[1]) - 1);
  }
  const texts = r.stdout
    .split('\n')
    .map((l) => l.replace(/\/\/.*$/, '').trim())
    .filter((l) => l !== '' && !l.startsWith('.text'));
  const out: (string | null)[] = [];
  let k = 0;
  for (let i = 0; i < words.length; i++) {
    if (invalid.has(i)) out.push(null);
    else out.push(normaliseAsm(texts[k++] ?? '<missing>'));
  }
  if (k !== texts.length) throw new Error(`llvm-mc output out of step: ${texts.length} lines for ${k} valid words`);
  return out;
}

/** Collapse whitespace: `mnemonic operands` with single spaces. */
export function normaliseAsm(s: string): string {
  return s.trim().replace(/\s+/g, ' ');
}
