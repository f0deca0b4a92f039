// Branches, exception return and compare-and-branch (Arm ARM C4.1.65 "Branches, Exception
// Generating and System instructions", the branch part).

import type { Cpu } from '../cpu.js';
import { condHolds, rz } from './common.js';

const LR = 30;

export function b(cpu: Cpu, i: number): void {
  cpu.pc += ((i << 6) >> 6) * 4;
}

export function bl(cpu: Cpu, i: number): void {
  cpu.setRegNum(LR, cpu.pc + 4);
  cpu.pc += ((i << 6) >> 6) * 4;
}

export function bCond(cpu: Cpu, i: number): void {
  cpu.pc += condHolds(cpu, i & 15) ? ((i << 8) >> 13) * 4 : 4;
}

export function cbz(cpu: Cpu, i: number): void {
  const t = rz(i & 31);
  const w = cpu.w;
  const v = i < 0 ? w[2 * t]! | w[2 * t + 1]! : w[2 * t]!;
  const zero = v === 0;
  const taken = (i & (1 << 24)) === 0 ? zero : !zero;
  cpu.pc += taken ? ((i << 8) >> 13) * 4 : 4;
}

export function tbz(cpu: Cpu, i: number): void {
  const t = rz(i & 31);
  const bit = ((i >>> 26) & 32) | ((i >>> 19) & 31);
  const v = bit < 32 ? (cpu.w[2 * t]! >>> bit) & 1 : (cpu.w[2 * t + 1]! >>> (bit - 32)) & 1;
  const taken = (i & (1 << 24)) === 0 ? v === 0 : v === 1;
  cpu.pc += taken ? ((i << 13) >> 18) * 4 : 4;
}

export function br(cpu: Cpu, i: number): void {
  cpu.pc = cpu.regNum(rz((i >>> 5) & 31));
}

export function blr(cpu: Cpu, i: number): void {
  const target = cpu.regNum(rz((i >>> 5) & 31));
  cpu.setRegNum(LR, cpu.pc + 4);
  cpu.pc = target;
}

export function eret(cpu: Cpu): void {
  if (cpu.el === 0) cpu.undefined();
  cpu.eret();
}
