// Data processing -- immediate (Arm ARM C4.1.86, instructions in C6.2): execution on a bare CPU
// with hand-checked values, unallocated encodings, and the disassembly of every row checked
// against llvm-mc (an independent oracle). Encodings were produced by llvm-mc (-triple=aarch64
// -show-encoding); the unallocated ones were checked to be rejected by llvm-mc --disassemble.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { makeCpu, RAM_BASE } from '../helpers/cpu.js';
import { findLlvmMc, oracleMissing } from '../helpers/oracle.js';
import { Cpu } from '../../src/arch/aarch64/cpu.js';
import { EC } from '../../src/arch/aarch64/esr.js';
import { dpImm } from '../../src/arch/aarch64/decode/dp-imm.js';
import { Decoder } from '../../src/arch/aarch64/decode/decoder.js';
import type { Group } from '../../src/arch/aarch64/decode/table.js';

const VBAR = RAM_BASE + 0x800;
const M64 = (1n << 64n) - 1n;
const u64 = (v: bigint): bigint => BigInt.asUintN(64, v);

/** A CPU with `regs` loaded, after executing `words` from RAM_BASE. */
function run(words: number[], regs: Record<number, bigint> = {}, setup?: (cpu: Cpu) => void): Cpu {
  const t = makeCpu();
  t.cpu.sys.vbarEl1 = BigInt(VBAR);
  for (const [r, v] of Object.entries(regs)) t.cpu.x[Number(r)] = u64(v);
  setup?.(t.cpu);
  t.code(RAM_BASE, words);
  t.cpu.pc = RAM_BASE;
  for (let k = 0; k < words.length; k++) t.cpu.step();
  return t.cpu;
}

const nzcv = (cpu: Cpu): string => `${cpu.nf}${cpu.zf}${cpu.cf}${cpu.vf}`;

function assertUndefined(word: number): void {
  const cpu = run([word], { 0: 0x1234n, 1: 0x5678n });
  assert.equal(cpu.pc, VBAR + 0x200, `0x${word.toString(16)} should be undefined`);
  assert.equal(cpu.sys.esrEl1 >>> 26, EC.UNKNOWN);
  assert.equal(cpu.x[0], 0x1234n, 'no register written');
}

// ---- add/subtract (immediate) ----

test('A64 C6.2 ADD (immediate): LSL #12 shifts the immediate, and register 31 is SP', () => {
  const cpu = run([0x914007ff], {}, (c) => (c.x[31] = 0x10000n)); // add sp, sp, #1, lsl #12
  assert.equal(cpu.x[31], 0x11000n);
});

test('A64 C6.2 ADD (immediate): the 32-bit form wraps and zeroes bits 63:32', () => {
  const cpu = run([0x11000420], { 0: -1n, 1: 0x12345678ffffffffn }); // add w0, w1, #1
  assert.equal(cpu.x[0], 0n);
});

test('A64 C6.2 MOV (to/from SP): ADD Xd, SP, #0 copies SP', () => {
  const cpu = run([0x910003e0], {}, (c) => (c.x[31] = 0xffff800012345670n)); // mov x0, sp
  assert.equal(cpu.x[0], 0xffff800012345670n);
});

test('A64 C6.2 ADDS (immediate): carry out of bit 63 sets C and Z, not V', () => {
  const cpu = run([0xb1000420], { 1: M64 }); // adds x0, x1, #1
  assert.equal(cpu.x[0], 0n);
  assert.equal(nzcv(cpu), '0110');
});

test('A64 C6.2 CMP (immediate): a smaller first operand borrows (C clear) and is negative', () => {
  const cpu = run([0xf100143f], { 1: 3n }); // cmp x1, #5
  assert.equal(nzcv(cpu), '1000');
  const eq = run([0xf100143f], { 1: 5n });
  assert.equal(nzcv(eq), '0110');
});

test('A64 C6.2 CMP (immediate): INT64_MIN - 1 overflows (V set)', () => {
  const cpu = run([0xf100043f], { 1: 1n << 63n }); // cmp x1, #1
  assert.equal(nzcv(cpu), '0011');
});

test('A64 C6.2 CMP (immediate): Rn 31 is SP, not XZR', () => {
  const cpu = run([0xf10017ff], {}, (c) => (c.x[31] = 5n)); // cmp sp, #5
  assert.equal(nzcv(cpu), '0110');
});

test('A64 C6.2 SUBS (immediate): the 32-bit form takes flags from bit 31', () => {
  const cpu = run([0x71000462], { 3: 0xffffffff00000000n }); // subs w2, w3, #1
  assert.equal(cpu.x[2], 0xffffffffn);
  assert.equal(nzcv(cpu), '1000');
});

test('A64 C6.2 CMN (immediate): 0x7fffffff + 1 overflows a W register', () => {
  const cpu = run([0x3100043f], { 1: 0x7fffffffn }); // cmn w1, #1
  assert.equal(nzcv(cpu), '1001');
});

test('A64 C6.2 ADD (immediate): bit 23 set (add/subtract with tags, MTE) is unallocated here', () => {
  assertUndefined(0x91800000);
});

// ---- logical (immediate) ----

test('A64 C6.2 AND (immediate): DecodeBitMasks gives 0xff for N=1 immr=0 imms=7', () => {
  const cpu = run([0x92401c20], { 1: 0x123456789abcdefn }); // and x0, x1, #0xff
  assert.equal(cpu.x[0], 0xefn);
});

test('A64 C6.2 AND (immediate): Rd 31 is SP (aligning the stack)', () => {
  const cpu = run([0x927cec3f], { 1: 0x1000fn }); // and sp, x1, #0xfffffffffffffff0
  assert.equal(cpu.x[31], 0x10000n);
});

test('A64 C6.2 MOV (bitmask immediate): ORR from WZR with a replicated 2-bit element', () => {
  const cpu = run([0x3200f3e0], { 0: -1n }); // orr w0, wzr, #0x55555555
  assert.equal(cpu.x[0], 0x55555555n);
});

test('A64 C6.2 EOR (immediate): a 2-bit element replicated over 64 bits', () => {
  const cpu = run([0xd200f0a4], { 5: 0xffffffff00000000n }); // eor x4, x5, #0x5555555555555555
  assert.equal(cpu.x[4], 0xaaaaaaaa55555555n);
});

test('A64 C6.2 ANDS (immediate): sets N from bit 63 and clears C and V', () => {
  const cpu = run([0xf2410062], { 3: M64 }, (c) => {
    c.cf = 1;
    c.vf = 1;
  }); // ands x2, x3, #0x8000000000000000
  assert.equal(cpu.x[2], 1n << 63n);
  assert.equal(nzcv(cpu), '1000');
});

test('A64 J1 DecodeBitMasks: an all-ones element (imms = levels) and sf=0 with N=1 are unallocated', () => {
  assertUndefined(0x9240fc20); // and x0, x1 with N=1 imms=111111
  assertUndefined(0x12401c20); // and w0, w1 with N=1
});

// ---- move wide ----

test('A64 C6.2 MOVK: replaces bits 63:48 and keeps the rest', () => {
  const cpu = run([0xf2e24680], { 0: 0x1111222233334444n }); // movk x0, #0x1234, lsl #48
  assert.equal(cpu.x[0], 0x1234222233334444n);
});

test('A64 C6.2 MOVN: the 32-bit form zero-extends the inverted value', () => {
  const cpu = run([0x12800000], { 0: 0x123n }); // movn w0, #0 (mov w0, #-1)
  assert.equal(cpu.x[0], 0xffffffffn);
  const x = run([0x92a00240]); // movn x0, #0x12, lsl #16
  assert.equal(x.x[0], u64(~(0x12n << 16n)));
});

test('A64 C6.2 MOVZ: hw=2 places the immediate at bit 32 and clears the rest', () => {
  const cpu = run([0xd2d7dde3], { 3: M64 }); // movz x3, #0xbeef, lsl #32
  assert.equal(cpu.x[3], 0xbeef00000000n);
});

test('A64 C6.2 MOVZ: hw >= 2 with sf=0, and opc=01, are unallocated', () => {
  assertUndefined(0x52c00000); // movz w0 with hw=2
  assertUndefined(0x32800000); // move wide with opc=01
});

// ---- PC-relative addressing ----

test('A64 C6.2 ADR: PC plus a signed byte offset', () => {
  const t = makeCpu();
  t.code(RAM_BASE + 0x100, [0x10ffffc0]); // adr x0, #-8
  t.cpu.pc = RAM_BASE + 0x100;
  t.cpu.step();
  assert.equal(t.cpu.x[0], BigInt(RAM_BASE + 0xf8));
});

test('A64 C6.2 ADRP: the 4 KiB page of PC plus a page offset', () => {
  const t = makeCpu();
  t.code(RAM_BASE + 0x1234, [0xd0000001]); // adrp x1, #8192
  t.cpu.pc = RAM_BASE + 0x1234;
  t.cpu.step();
  assert.equal(t.cpu.x[1], BigInt(RAM_BASE + 0x1000 + 0x2000));
});

test('A64 C6.2 ADRP: a kernel (TTBR1) PC gives a sign-extended 64-bit page address', () => {
  const { cpu } = makeCpu();
  const word = 0xd0000001; // adrp x1, #8192
  cpu.pc = Number(BigInt.asIntN(64, 0xffff800000001234n));
  Cpu.decode(word | 0)!.exec(cpu, word | 0);
  assert.equal(cpu.x[1], 0xffff800000003000n);
  assert.equal(cpu.pc, Number(BigInt.asIntN(64, 0xffff800000001238n)));
});

// ---- bitfield ----

test('A64 C6.2 UBFX/SBFX: extract bits 11:4, zero- or sign-extended', () => {
  const v = 0xf0f0f0f0f0f0f8f0n;
  assert.equal(run([0xd3442c20], { 1: v }).x[0], 0x8fn); // ubfx x0, x1, #4, #8
  assert.equal(run([0x93442c20], { 1: v }).x[0], u64(-0x71n)); // sbfx x0, x1, #4, #8
});

test('A64 C6.2 BFI: inserts 16 bits at bit 8 and keeps the other destination bits', () => {
  const cpu = run([0xb3783c20], { 0: M64, 1: 0x1234n }); // bfi x0, x1, #8, #16
  assert.equal(cpu.x[0], 0xffffffffff1234ffn);
});

test('A64 C6.2 BFXIL: the 32-bit form moves bits 31:28 to 3:0 and zeroes bits 63:32', () => {
  const cpu = run([0x331c7c20], { 0: 0xffffffff12345670n, 1: 0xa0000000n }); // bfxil w0, w1, #28, #4
  assert.equal(cpu.x[0], 0x1234567an);
});

test('A64 C6.2 LSL/LSR/ASR (immediate): aliases of UBFM and SBFM at the extremes', () => {
  assert.equal(run([0xd3440c20], { 1: 0x1fn }).x[0], 0xf000000000000000n); // lsl x0, x1, #60
  assert.equal(run([0xd37ffc20], { 1: 1n << 63n }).x[0], 1n); // lsr x0, x1, #63
  assert.equal(run([0x9341fc20], { 1: 1n << 63n }).x[0], 0xc000000000000000n); // asr x0, x1, #1
  assert.equal(run([0x53010020], { 1: 3n }).x[0], 0x80000000n); // lsl w0, w1, #31
  assert.equal(run([0x13047c20], { 1: 0x80000000n }).x[0], 0xf8000000n); // asr w0, w1, #4
});

test('A64 C6.2 SXTW/SXTH/SXTB/UXTH: sign- and zero-extension aliases', () => {
  assert.equal(run([0x93407c20], { 1: 0x80000000n }).x[0], 0xffffffff80000000n); // sxtw x0, w1
  assert.equal(run([0x93403c20], { 1: 0x18000n }).x[0], 0xffffffffffff8000n); // sxth x0, w1
  assert.equal(run([0x13001c20], { 1: 0x80n }).x[0], 0xffffff80n); // sxtb w0, w1
  assert.equal(run([0x53003c20], { 1: 0x12345678n }).x[0], 0x5678n); // uxth w0, w1
});

test('A64 C6.2 SBFIZ/UBFIZ: a field placed at an offset, sign-extended above it', () => {
  assert.equal(run([0x93601c20], { 1: 0x80n }).x[0], 0xffffff8000000000n); // sbfiz x0, x1, #32, #8
  assert.equal(run([0x531c0c20], { 1: 0xffn }).x[0], 0xf0n); // ubfiz w0, w1, #4, #4
});

test('A64 C6.2 SBFM: sf=1 with N=0, and 32-bit imms >= 32, are unallocated', () => {
  assertUndefined(0x93001c20);
  assertUndefined(0x5300fc20);
});

// ---- extract ----

test('A64 C6.2 EXTR: bits lsb+63:lsb of Xn:Xm, across the word boundary', () => {
  const regs = { 1: 0x1111222233334444n, 2: 0x5555666677778888n };
  assert.equal(run([0x93c24020], regs).x[0], 0x4444555566667777n); // extr x0, x1, x2, #16
  assert.equal(run([0x93c2a020], regs).x[0], 0x2233334444555566n); // extr x0, x1, x2, #40
});

test('A64 C6.2 ROR (immediate): EXTR with Rn == Rm, 32-bit; imms >= 32 is unallocated', () => {
  assert.equal(run([0x13812020], { 1: 0x12345678n }).x[0], 0x78123456n); // ror w0, w1, #8
  assertUndefined(0x13818020);
});

// ---- disassembly against llvm-mc ----

/** Deterministic words for every row (fields biased to 0, all-ones, 31 and 1) plus random words in the group's space. */
function sampleWords(group: Group, decoder: Decoder, spaceMask: number, spaceValue: number): number[] {
  let s = 0x9e3779b9;
  const rnd = (): number => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
  const words: number[] = [];
  for (const row of group.rows) {
    let got = 0;
    for (let t = 0; t < 4000 && got < 120; t++) {
      let w = ((rnd() & ~row.mask) | row.value) >>> 0;
      for (const f of row.fields) {
        const max = 2 ** f.width - 1;
        const p = rnd() % 8;
        const v = p === 0 ? 0 : p === 1 ? max : p === 2 ? Math.min(31, max) : p === 3 ? 1 : rnd() & max;
        const mask = (max * 2 ** f.lsb) >>> 0;
        w = ((w & ~mask) | ((v * 2 ** f.lsb) >>> 0)) >>> 0;
      }
      if (rnd() % 4 === 0) w = ((w & ~(31 << 16)) | (((w >>> 5) & 31) << 16)) >>> 0; // Rm = Rn
      if (decoder.decode(w | 0) === row) {
        words.push(w);
        got++;
      }
    }
    assert.ok(got > 0, `no encodings generated for ${row.name}`);
  }
  for (let k = 0; k < 20000; k++) words.push(((rnd() & ~spaceMask) | spaceValue) >>> 0);
  return words;
}

/** Our disassembly and llvm-mc's for each word; null where the encoding is unallocated. */
function compareWithLlvm(llvmMc: string, decoder: Decoder, words: number[]): string[] {
  const input = words
    .map((w) => [0, 8, 16, 24].map((sh) => `0x${((w >>> sh) & 255).toString(16)}`).join(' '))
    .join('\n');
  const r = spawnSync(llvmMc, ['--disassemble', '-triple=aarch64', '-mattr=+v8.1a,+lse,+crc,+fp-armv8,+neon'], {
    input,
    maxBuffer: 1 << 28,
  });
  assert.equal(r.status, 0, r.stderr?.toString());
  const invalid = new Set<number>();
  for (const m of r.stderr.toString().matchAll(/<stdin>:(\d+):\d+: warning: invalid instruction encoding/g)) {
    invalid.add(Number(m[1]) - 1);
  }
  const lines = r.stdout
    .toString()
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('.text'));
  const bad: string[] = [];
  let li = 0;
  words.forEach((w, k) => {
    const llvm = invalid.has(k) ? null : lines[li++]!.replace(/\s+\/\/.*$/, '').replace(/\s+/, ' ');
    const row = decoder.decode(w | 0);
    const ours = row ? row.fmt(w | 0, 0n).replace('\t', ' ') : null;
    if (ours !== llvm)
      bad.push(`0x${w.toString(16).padStart(8, '0')} [${row?.name ?? 'unallocated'}]: ours ${ours}, llvm-mc ${llvm}`);
  });
  assert.equal(li, lines.length, 'llvm-mc output out of step with the input');
  return bad;
}

test('disassembly of every data-processing-immediate row matches llvm-mc, which agrees on what is allocated', (t) => {
  const llvmMc = findLlvmMc();
  if (!llvmMc) {
    t.skip(
      oracleMissing('llvm-mc not found; data-processing-immediate disassembly not checked', 'apt-get install llvm'),
    );
    return;
  }
  const decoder = new Decoder([dpImm]);
  const words = sampleWords(dpImm, decoder, 7 << 26, 4 << 26); // op0 = 100x
  const bad = compareWithLlvm(llvmMc, decoder, words);
  assert.deepEqual(bad.slice(0, 20), [], `${bad.length} of ${words.length} words differ`);
});
