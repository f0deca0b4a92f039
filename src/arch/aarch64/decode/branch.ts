// Rows of the branch encodings (Arm ARM C4.1.65): unconditional immediate, conditional,
// compare-and-branch, test-and-branch, and unconditional register branches with ERET.

import { group, insn } from './table.js';
import * as x from '../exec/branch.js';
import { COND_NAMES } from '../exec/common.js';
import { gpr, rel, xn } from '../disasm-util.js';

const imm26 = (i: number): number => ((i << 6) >> 6) * 4;
const imm19 = (i: number): number => ((i << 8) >> 13) * 4;
const imm14 = (i: number): number => ((i << 13) >> 18) * 4;

export const branch = group('Branches', [
  insn('B', '0 00101 imm26:26', x.b, (i) => `b\t${rel(imm26(i))}`),
  insn('BL', '1 00101 imm26:26', x.bl, (i) => `bl\t${rel(imm26(i))}`),
  insn('B.cond', '0101010 0 imm19:19 0 cond:4', x.bCond, (i) => `b.${COND_NAMES[i & 15]}\t${rel(imm19(i))}`),
  insn('CBZ', 'sf 011010 0 imm19:19 Rt:5', x.cbz, (i) => `cbz\t${gpr(i >>> 31, i & 31)}, ${rel(imm19(i))}`),
  insn('CBNZ', 'sf 011010 1 imm19:19 Rt:5', x.cbz, (i) => `cbnz\t${gpr(i >>> 31, i & 31)}, ${rel(imm19(i))}`),
  insn('TBZ', 'b5 011011 0 b40:5 imm14:14 Rt:5', x.tbz, (i) => fmtTb('tbz', i)),
  insn('TBNZ', 'b5 011011 1 b40:5 imm14:14 Rt:5', x.tbz, (i) => fmtTb('tbnz', i)),
  insn('BR', '1101011 0000 11111 000000 Rn:5 00000', x.br, (i) => `br\t${xn((i >>> 5) & 31)}`, { noRandom: true }),
  insn('BLR', '1101011 0001 11111 000000 Rn:5 00000', x.blr, (i) => `blr\t${xn((i >>> 5) & 31)}`, { noRandom: true }),
  insn('RET', '1101011 0010 11111 000000 Rn:5 00000', x.br, (i) => fmtRet(i), { noRandom: true }),
  insn('ERET', '1101011 0100 11111 000000 11111 00000', x.eret, () => 'eret', { noRandom: true }),
]);

function fmtTb(m: string, i: number): string {
  const bit = ((i >>> 26) & 32) | ((i >>> 19) & 31);
  return `${m}\t${gpr(bit >= 32 ? 1 : 0, i & 31)}, #${bit}, ${rel(imm14(i))}`;
}

function fmtRet(i: number): string {
  const n = (i >>> 5) & 31;
  return n === 30 ? 'ret' : `ret\t${xn(n)}`;
}
