// Every encoding group of the A64 table, in the Arm ARM's order. The decoder, disassembler and
// random-instruction generator all start from this list.

import type { Group } from './table.js';
import { branch } from './branch.js';
import { system } from './system.js';
import { dpImm } from './dp-imm.js';
import { dpReg } from './dp-reg.js';
import { ldst } from './ldst.js';
import { fp } from './fp.js';

export const ALL_GROUPS: readonly Group[] = [dpImm, branch, system, ldst, dpReg, fp];

/** The group whose every row touches SIMD&FP state (trapped by CPACR_EL1.FPEN). */
export const FP_GROUP: Group = fp;

/** Groups whose instructions end a basic block (they may change the PC, PSTATE, translation or time). */
export const BLOCK_END_GROUPS: readonly Group[] = [branch, system];
