// Disassembly of one instruction word from the encoding table, in LLVM's syntax (the same text
// `llvm-mc --disassemble` prints, which the ISA tests check). Unallocated words print as `.inst`.

import { Cpu } from './cpu.js';

export function disassemble(insn: number, pc = 0n): string {
  const row = Cpu.decode(insn | 0);
  if (!row) return `.inst\t0x${(insn >>> 0).toString(16).padStart(8, '0')}`;
  return row.fmt(insn | 0, pc);
}
