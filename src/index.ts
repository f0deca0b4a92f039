// The gunyah-ts library: what a program embedding the model imports.

export { Cpu, Stop, Access, type El2, type PhysBus, type SysregHook } from './arch/aarch64/cpu.js';
export { disassemble } from './arch/aarch64/disasm.js';
export { describeEsr } from './arch/aarch64/esr.js';
export { BareBoard, BoardError, type RunResult, type StopKind } from './machine/board.js';
export { parseElf, LoadError, type ElfImage, type Segment } from './vmm/loader/elf.js';
