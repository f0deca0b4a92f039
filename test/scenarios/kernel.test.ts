// `gunyah run --kernel FILE` end to end (issue 5): one guest VM booted under the whole system —
// hypervisor, resource manager, the host VMM on the primary VM — with its PL011 on stdout; exit 0
// when it powers off through PSCI SYSTEM_OFF, 1 with a one-line reason when it crashes or loops
// in resets, 2 with one line for input that cannot be booted.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { CLI, guestPath, runCli } from './guest-run.js';
import { oracleMissing } from '../helpers/oracle.js';

function withTmp<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(path.join(tmpdir(), 'gunyah-kernel-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function words(w: readonly number[]): Uint8Array {
  const b = new Uint8Array(4 * w.length);
  const dv = new DataView(b.buffer);
  w.forEach((x, i) => dv.setUint32(4 * i, x >>> 0, true));
  return b;
}

// Position-independent code (encodings from llvm-mc): x1 = 0x0900_0000 (the PL011); write 'H', 'i',
// '\n' to UARTDR; x0 = 0x84000008 (PSCI SYSTEM_OFF); hvc #0; b .
const SAY_HI = [
  0xd2a12001, 0x52800902, 0xb9000022, 0x52800d22, 0xb9000022, 0x52800142, 0xb9000022, 0xd2b08000, 0xf2800100,
  0xd4000002, 0x14000000,
];
/** The same, but ending in PSCI SYSTEM_RESET (0x84000009). */
const SAY_HI_RESET = [...SAY_HI.slice(0, 8), 0xf2800120, 0xd4000002, 0x14000000];

/**
 * An arm64 Linux `Image` (Documentation/arch/arm64/booting.rst): code0 = `b` over the 64-byte
 * header, text_offset 0x80000, image_size, flags 0 (little-endian), magic "ARM\x64" at 0x38; the
 * code follows the header.
 */
function image(code: readonly number[]): Uint8Array {
  const body = words(code);
  const out = new Uint8Array(64 + body.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 0x14000010, true); // b #0x40
  dv.setBigUint64(8, 0x80000n, true);
  dv.setBigUint64(16, BigInt(out.length), true);
  dv.setUint32(0x38, 0x644d5241, true);
  out.set(body, 64);
  return out;
}

function assertOneLine(r: { status: number | null; stderr: string }, code: number, pattern: RegExp): void {
  assert.equal(r.status, code, r.stderr);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `stderr must be one line, got:\n${r.stderr}`);
  assert.match(lines[0]!, /^gunyah: /);
  assert.match(lines[0]!, pattern);
}

test('CLI run --kernel: a raw binary (loaded at RAM + 0x80000 as QEMU -kernel does) and an arm64 Image (at the 2 MiB-aligned RAM base + text_offset) boot as a guest VM, print through the emulated PL011 and exit 0 on PSCI SYSTEM_OFF', () => {
  withTmp((dir) => {
    for (const [name, bytes] of [
      ['hi.bin', words(SAY_HI)],
      ['Image', image(SAY_HI)],
    ] as const) {
      const f = path.join(dir, name);
      writeFileSync(f, bytes);
      const r = runCli(['run', '--kernel', f]);
      assert.equal(r.status, 0, `${name}: ${r.stderr}`);
      assert.equal(r.stdout, 'Hi\n', name);
      assert.equal(r.stderr, '', name);
    }
  });
});

test('CLI run --kernel: a guest that crashes (no vectors, an undefined instruction) ends with exit 1 and one line; one that resets every boot ends as a reset loop', () => {
  withTmp((dir) => {
    const crash = path.join(dir, 'crash.bin');
    writeFileSync(crash, words([0x00000000])); // udf #0 with VBAR_EL1 = 0: an exception loop
    assertOneLine(runCli(['run', '--kernel', crash]), 1, /crashed/);
    const loop = path.join(dir, 'loop.bin');
    writeFileSync(loop, words(SAY_HI_RESET));
    const r = runCli(['run', '--kernel', loop]);
    assertOneLine(r, 1, /reset loop/);
    assert.equal(r.stdout, 'Hi\n'.repeat(4), 'booted four times');
  });
});

test('CLI run --kernel: input it cannot boot — a missing file, an ELF outside guest RAM, an ELF for another machine, an empty file, a bad --mem, a --dtb that is not a DTB, an unknown option — exits 2 with one line naming the problem', () => {
  withTmp((dir) => {
    const empty = path.join(dir, 'empty.bin');
    writeFileSync(empty, '');
    const dtb = path.join(dir, 'bad.dtb');
    writeFileSync(dtb, 'not a dtb');
    const hi = path.join(dir, 'hi.bin');
    writeFileSync(hi, words(SAY_HI));
    assertOneLine(runCli(['run', '--kernel', path.join(dir, 'nope')]), 2, /nope: ENOENT/);
    assertOneLine(runCli(['run', '--kernel', guestPath('hello.elf')]), 2, /outside guest RAM 0x80000000/);
    assertOneLine(runCli(['run', '--kernel', guestPath('not-arm64.elf')]), 2, /x86-64/);
    assertOneLine(runCli(['run', '--kernel', empty]), 2, /empty/);
    assertOneLine(runCli(['run', '--kernel', hi, '--mem', '3X']), 2, /--mem must be a size/);
    assertOneLine(runCli(['run', '--kernel', hi, '--mem', '3M']), 2, /multiple of 2 MiB/);
    assertOneLine(runCli(['run', '--kernel', hi, '--dtb', dtb]), 2, /bad\.dtb/);
    assertOneLine(runCli(['run', '--kernel', hi, '--frobnicate']), 2, /unknown option '--frobnicate'/);
  });
});

test('CLI run --kernel: console input reaches the guest as PL011 receive interrupts (SPI 33 through the host\'s irqfd doorbell) — echo.elf waits in WFI, drains the RX FIFO on each interrupt, echoes each line, and ends on "q"', () => {
  const r = runCli(
    ['run', '--kernel', guestPath('echo.elf'), '--mem', '16M'],
    120_000,
    'hello world\nsecond line\nq\n',
  );
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.equal(r.stderr, '');
  const lines = r.stdout.split('\n');
  assert.deepEqual(lines.slice(0, 3), ['echo: type a line; q ends', 'echo: hello world', 'echo: second line']);
  assert.match(r.stdout, /^echo: bye after [1-9]\d* interrupt\(s\)$/m, 'it took interrupts, not polls');
  assert.match(r.stdout, /^EXIT 0$/m);
});

test('CLI run --kernel: a guest waiting for console input when stdin is closed ends with exit 1 and one line (nothing can wake it)', () => {
  const r = runCli(['run', '--kernel', guestPath('echo.elf'), '--mem', '16M'], 120_000, '');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^gunyah: every vCPU is waiting and nothing can wake them/);
});

test('CLI run --kernel --trace: the same guest and input twice give byte-identical consoles and traces (no wall clock, no randomness in the model)', () => {
  withTmp((dir) => {
    const runs = [1, 2].map((k) => {
      const trace = path.join(dir, `t${k}.json`);
      const r = runCli(
        ['run', '--kernel', guestPath('echo.elf'), '--mem', '16M', '--trace', trace],
        120_000,
        'one\ntwo\nq\n',
      );
      assert.equal(r.status, 0, r.stderr);
      return { out: r.stdout, trace: readFileSync(trace, 'utf8') };
    });
    assert.equal(runs[0]!.out, runs[1]!.out);
    assert.ok(runs[0]!.trace.length > 10_000, 'a trace with content');
    assert.equal(runs[0]!.trace, runs[1]!.trace);
  });
});

test('CLI run --kernel: a long run shows its progress on a terminal (one stderr line rewritten in place) and nothing when piped', (t) => {
  withTmp((dir) => {
    const spin = path.join(dir, 'spin.bin');
    writeFileSync(spin, words([0x14000000])); // b .
    const piped = runCli(['run', '--kernel', spin, '--max-seconds', '2']);
    assertOneLine(piped, 1, /--max-seconds 2 ran out/);
    assert.doesNotMatch(piped.stderr, /MIPS/, 'piped: no progress');
    // A terminal: util-linux `script` runs the command on a pseudo-terminal.
    const tty = spawnSync(
      'script',
      ['-qec', `"${process.execPath}" "${CLI}" run --kernel "${spin}" --max-seconds 3`, '/dev/null'],
      {
        encoding: 'latin1',
        timeout: 60_000,
      },
    );
    if (tty.error) {
      t.skip(oracleMissing(`util-linux script, to make a terminal (${tty.error.message})`, 'apt-get install bsdutils'));
      return;
    }
    // The line is rewritten in place: carriage return, the figures, then ESC [K (erase to end of line).
    const ESC = String.fromCharCode(27);
    assert.ok(
      /\rgunyah: \d+\.\d s, [\d.]+ M instructions, [\d.]+ MIPS, virtual [\d.]+ s$/.test(
        tty.stdout.split(`${ESC}[K`)[0]!,
      ),
      JSON.stringify(tty.stdout.slice(0, 200)),
    );
    assert.match(tty.stdout, /gunyah: --max-seconds 3 ran out/);
  });
});
