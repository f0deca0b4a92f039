// The block cache and the compiled-block tier must be invisible: same results, same instruction
// counts, same exceptions as the plain interpreter (DESIGN.md §3, determinism), and self-modifying
// code must take effect.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { BareBoard } from '../../src/machine/board.js';
import { parseElf } from '../../src/vmm/loader/elf.js';
import { makeCpu, RAM_BASE } from '../helpers/cpu.js';

function runGuest(file: string, compile: boolean) {
  const img = parseElf(readFileSync(new URL(`../../../guests/bin/${file}`, import.meta.url)));
  const board = new BareBoard();
  board.cpu.compileBlocks = compile;
  board.load(img.segments, img.entry);
  const r = board.run(50_000_000);
  return { r, out: board.uartText(), x: [...board.cpu.x], pc: board.cpu.pc };
}

for (const file of ['bench-small.elf', 'exceptions.elf', 'mmu.elf']) {
  test(`determinism: ${file} gives the same output, instruction count and registers with and without compiled blocks`, () => {
    const a = runGuest(file, true);
    const b = runGuest(file, false);
    assert.equal(a.r.stop, 'system-off');
    assert.equal(a.out, b.out);
    assert.equal(a.r.instructions, b.r.instructions);
    assert.deepEqual(a.x, b.x);
    assert.equal(a.pc, b.pc);
  });
}

test('self-modifying code: a store over an already executed (and compiled) loop body takes effect', () => {
  const { cpu, code } = makeCpu();
  // loop: add x0, x0, #1 ; subs x1, x1, #1 ; b.ne loop ; then: str w3, [x2] ; b loop-restart
  code(RAM_BASE, [
    0x91000400, // add x0, x0, #1
    0xf1000421, // subs x1, x1, #1
    0x54ffffc1, // b.ne #-8
    0xb9000043, // str w3, [x2]
    0xd503201f, // nop
  ]);
  cpu.x[1] = 100n; // 100 iterations: hot enough to compile
  cpu.x[2] = BigInt(RAM_BASE); // the store rewrites the first instruction...
  cpu.x[3] = 0x91002800n; // ...into add x0, x0, #10
  cpu.run(300);
  assert.equal(cpu.x[0], 100n);
  assert.equal(cpu.pc, RAM_BASE + 12);
  cpu.run(302); // str, nop
  cpu.pc = RAM_BASE;
  cpu.x[1] = 3n;
  cpu.run(302 + 9);
  assert.equal(cpu.x[0], 130n, 'the rewritten add #10 ran three times');
});

test('block cache: code in RAM more than 2 GiB above its base (offsets ≥ 2^31) runs — block ends are computed without 32-bit shifts', () => {
  let out = '';
  const b = new BareBoard({ ramMiB: 2560, onUartTx: (c) => (out += String.fromCharCode(c)) });
  // x1 = 0x0900_0000; 'H', 'i', '\n' to UARTDR; PSCI SYSTEM_OFF (encodings from llvm-mc).
  const w = [
    0xd2a12001, 0x52800902, 0xb9000022, 0x52800d22, 0xb9000022, 0x52800142, 0xb9000022, 0xd2b08000, 0xf2800100,
    0xd4000002, 0x14000000,
  ];
  const data = new Uint8Array(w.length * 4);
  const dv = new DataView(data.buffer);
  w.forEach((x, i) => dv.setUint32(4 * i, x >>> 0, true));
  b.load([{ paddr: 0xc000_1000, data, memsz: data.length }], 0xc000_1000);
  const r = b.run(1_000_000);
  assert.equal(out, 'Hi\n');
  assert.equal(r.stop, 'system-off');
});
