// Rows of the A64 load/store encodings (Arm ARM C4.1.66 "Loads and Stores"): single registers in
// every addressing mode (GPR and SIMD&FP), literal loads, pairs, exclusives, load-acquire/
// store-release, the v8.1 LSE atomics, and the Advanced SIMD structure loads/stores. Disassembly
// follows `llvm-mc --disassemble` (LLVM 14) exactly, aliases included (STADD for LDADD to XZR...).
//
// Register-file rows are generated per kind (size:opc, bits 31:30 and 23:22) so that each row has
// its own execute function; the hot ones (LDR/STR X and W, byte and halfword, LDRSW) are specialised
// per addressing mode in exec/ldst.ts.

import { group, insn, type Exec, type InsnRow } from './table.js';
import * as x from '../exec/ldst.js';
import { xn, wn, xsp } from '../disasm-util.js';

const bin = (v: number, n: number): string => v.toString(2).padStart(n, '0');
const rt = (i: number): number => i & 31;
const rn = (i: number): number => (i >>> 5) & 31;
const rt2 = (i: number): number => (i >>> 10) & 31;
const rs = (i: number): number => (i >>> 16) & 31;
const imm9 = (i: number): number => (i << 11) >> 23;
const imm7 = (i: number): number => (i << 10) >> 25;
const imm12 = (i: number): number => (i >>> 10) & 0xfff;
const imm19 = (i: number): number => ((i << 8) >> 13) * 4;

/** `[base]` or `[base, #off]`. */
const mem = (n: number, off: number): string => (off === 0 ? `[${xsp(n)}]` : `[${xsp(n)}, #${off}]`);
const memPre = (n: number, off: number): string => `[${xsp(n)}, #${off}]!`;
const memPost = (n: number, off: number): string => `[${xsp(n)}], #${off}`;

/** PRFM's <prfop>: PLD/PLI/PST, L1..L3, KEEP/STRM; other values print as `#imm5`. */
export function prfop(t: number): string {
  const type = t >>> 3;
  const target = (t >>> 1) & 3;
  if (type === 3 || target === 3) return `#${t}`;
  return `${['pld', 'pli', 'pst'][type]!}l${target + 1}${(t & 1) !== 0 ? 'strm' : 'keep'}`;
}

// ---- single-register kinds ----

interface Kind {
  /** Base mnemonic (the unsigned-offset form). */
  readonly m: string;
  /** Register class of Rt: w, x, b, h, s, d, q, or p for a prefetch operation. */
  readonly r: string;
  /** log2 of the access size. */
  readonly scale: number;
}

const INT_KINDS: readonly (Kind | undefined)[] = [
  { m: 'strb', r: 'w', scale: 0 },
  { m: 'ldrb', r: 'w', scale: 0 },
  { m: 'ldrsb', r: 'x', scale: 0 },
  { m: 'ldrsb', r: 'w', scale: 0 },
  { m: 'strh', r: 'w', scale: 1 },
  { m: 'ldrh', r: 'w', scale: 1 },
  { m: 'ldrsh', r: 'x', scale: 1 },
  { m: 'ldrsh', r: 'w', scale: 1 },
  { m: 'str', r: 'w', scale: 2 },
  { m: 'ldr', r: 'w', scale: 2 },
  { m: 'ldrsw', r: 'x', scale: 2 },
  undefined,
  { m: 'str', r: 'x', scale: 3 },
  { m: 'ldr', r: 'x', scale: 3 },
  { m: 'prfm', r: 'p', scale: 3 },
  undefined,
];

const FP_KINDS: readonly (Kind | undefined)[] = [
  { m: 'str', r: 'b', scale: 0 },
  { m: 'ldr', r: 'b', scale: 0 },
  { m: 'str', r: 'q', scale: 4 },
  { m: 'ldr', r: 'q', scale: 4 },
  { m: 'str', r: 'h', scale: 1 },
  { m: 'ldr', r: 'h', scale: 1 },
  undefined,
  undefined,
  { m: 'str', r: 's', scale: 2 },
  { m: 'ldr', r: 's', scale: 2 },
  undefined,
  undefined,
  { m: 'str', r: 'd', scale: 3 },
  { m: 'ldr', r: 'd', scale: 3 },
  undefined,
  undefined,
];

function regName(r: string, t: number): string {
  switch (r) {
    case 'w':
      return wn(t);
    case 'x':
      return xn(t);
    case 'p':
      return prfop(t);
    default:
      return `${r}${t}`;
  }
}

/** ldr → ldur, ldrsw → ldursw, prfm → prfum. */
const unscaledName = (m: string): string => (m === 'prfm' ? 'prfum' : `${m.slice(0, 2)}u${m.slice(2)}`);
/** ldr → ldtr, strb → sttrb. */
const unprivName = (m: string): string => `${m.slice(0, 2)}t${m.slice(2)}`;

const EXTEND = ['', '', 'uxtw', 'lsl', '', '', 'sxtw', 'sxtx'];

function fmtRegOffset(k: Kind, i: number): string {
  const opt = (i >>> 13) & 7;
  const s = (i >>> 12) & 1;
  const m = rs(i);
  const rm = (opt & 1) !== 0 ? xn(m) : wn(m);
  let ext = '';
  if (opt === 3) ext = s ? `, lsl #${k.scale}` : '';
  else ext = `, ${EXTEND[opt]!}${s ? ` #${k.scale}` : ''}`;
  return `${k.m}\t${regName(k.r, rt(i))}, [${xsp(rn(i))}, ${rm}${ext}]`;
}

const regOffsetOk = (i: number): boolean => ((i >>> 13) & 2) !== 0;

const rows: InsnRow[] = [];

for (let k = 0; k < 16; k++) {
  const size = bin(k >>> 2, 2);
  const opc = bin(k & 3, 2);
  for (const v of [0, 1]) {
    const kind = (v ? FP_KINDS : INT_KINDS)[k];
    if (!kind) continue;
    const name = `${kind.m.toUpperCase()} ${kind.r === 'p' ? '' : `(${kind.r}) `}`;
    const rtn = (i: number): string => regName(kind.r, rt(i));
    const pick = (table: readonly (Exec | undefined)[], fp: Exec): Exec => (v ? fp : table[k]!);
    rows.push(
      insn(
        `${name}unsigned offset`,
        `${size} 111 ${v} 01 ${opc} imm12:12 Rn:5 Rt:5`,
        pick(x.UI, x.fpUi),
        (i) => `${kind.m}\t${rtn(i)}, ${mem(rn(i), imm12(i) << kind.scale)}`,
      ),
      insn(
        `${unscaledName(kind.m).toUpperCase()} ${kind.r === 'p' ? '' : `(${kind.r}) `}unscaled`,
        `${size} 111 ${v} 00 ${opc} 0 imm9:9 00 Rn:5 Rt:5`,
        pick(x.UNSCALED, x.fpUnscaled),
        (i) => `${unscaledName(kind.m)}\t${rtn(i)}, ${mem(rn(i), imm9(i))}`,
      ),
      insn(
        `${name}register offset`,
        `${size} 111 ${v} 00 ${opc} 1 Rm:5 option:3 S 10 Rn:5 Rt:5`,
        pick(x.REG, x.fpReg),
        (i) => fmtRegOffset(kind, i),
        { ok: regOffsetOk },
      ),
    );
    if (kind.r === 'p') continue; // no pre/post-index or unprivileged prefetch
    rows.push(
      insn(
        `${name}post-index`,
        `${size} 111 ${v} 00 ${opc} 0 imm9:9 01 Rn:5 Rt:5`,
        pick(x.POST, x.fpPost),
        (i) => `${kind.m}\t${rtn(i)}, ${memPost(rn(i), imm9(i))}`,
      ),
      insn(
        `${name}pre-index`,
        `${size} 111 ${v} 00 ${opc} 0 imm9:9 11 Rn:5 Rt:5`,
        pick(x.PRE, x.fpPre),
        (i) => `${kind.m}\t${rtn(i)}, ${memPre(rn(i), imm9(i))}`,
      ),
    );
    if (v === 0) {
      rows.push(
        insn(
          `${unprivName(kind.m).toUpperCase()} (${kind.r}) unprivileged`,
          `${size} 111 0 00 ${opc} 0 imm9:9 10 Rn:5 Rt:5`,
          x.unpriv,
          (i) => `${unprivName(kind.m)}\t${rtn(i)}, ${mem(rn(i), imm9(i))}`,
        ),
      );
    }
  }
}

// ---- literal ----

rows.push(
  insn('LDR (literal, w)', '00 011 0 00 imm19:19 Rt:5', x.ldrLitW, (i) => `ldr\t${wn(rt(i))}, #${imm19(i)}`),
  insn('LDR (literal, x)', '01 011 0 00 imm19:19 Rt:5', x.ldrLitX, (i) => `ldr\t${xn(rt(i))}, #${imm19(i)}`),
  insn('LDRSW (literal)', '10 011 0 00 imm19:19 Rt:5', x.ldrswLit, (i) => `ldrsw\t${xn(rt(i))}, #${imm19(i)}`),
  insn('PRFM (literal)', '11 011 0 00 imm19:19 Rt:5', x.prfmLit, (i) => `prfm\t${prfop(rt(i))}, #${imm19(i)}`),
  insn(
    'LDR (literal, SIMD&FP)',
    'opc:2 011 1 00 imm19:19 Rt:5',
    x.ldrLitFp,
    (i) => `ldr\t${'sdq'[i >>> 30]!}${rt(i)}, #${imm19(i)}`,
    { ok: (i) => i >>> 30 !== 3 },
  ),
);

// ---- pairs ----

const PAIR_MODES = [
  ['offset', '010'],
  ['pre-index', '011'],
  ['post-index', '001'],
] as const;

function fmtPair(m: string, r: string, scale: number, mode: number, i: number): string {
  const off = imm7(i) << scale;
  const regs = `${regName(r, rt(i))}, ${regName(r, rt2(i))}`;
  const n = rn(i);
  const addr = mode === 1 ? memPre(n, off) : mode === 2 ? memPost(n, off) : mem(n, off);
  return `${m}\t${regs}, ${addr}`;
}

const GPR_PAIRS: readonly (readonly [string, string, number, string, string, readonly Exec[]])[] = [
  // mnemonic, opc, L, register class, scale, execs per mode (offset, pre, post)
  ['stp', '00', 0, 'w', '2', [x.stpWoff, x.stpWpre, x.stpWpost]],
  ['ldp', '00', 1, 'w', '2', [x.ldpWoff, x.ldpWpre, x.ldpWpost]],
  ['ldpsw', '01', 1, 'x', '2', [x.ldpswOff, x.ldpswPre, x.ldpswPost]],
  ['stp', '10', 0, 'x', '3', [x.stpXoff, x.stpXpre, x.stpXpost]],
  ['ldp', '10', 1, 'x', '3', [x.ldpXoff, x.ldpXpre, x.ldpXpost]],
];

for (const [m, opc, l, r, scale, execs] of GPR_PAIRS) {
  PAIR_MODES.forEach(([mode, bits], k) => {
    rows.push(
      insn(`${m.toUpperCase()} (${r}) ${mode}`, `${opc} 101 0 ${bits} ${l} imm7:7 Rt2:5 Rn:5 Rt:5`, execs[k]!, (i) =>
        fmtPair(m, r, Number(scale), k, i),
      ),
    );
  });
  if (m !== 'ldpsw') {
    const nm = m === 'ldp' ? 'ldnp' : 'stnp';
    rows.push(
      insn(`${nm.toUpperCase()} (${r})`, `${opc} 101 0 000 ${l} imm7:7 Rt2:5 Rn:5 Rt:5`, execs[0]!, (i) =>
        fmtPair(nm, r, Number(scale), 0, i),
      ),
    );
  }
}

for (const l of [0, 1]) {
  const ok = (i: number): boolean => i >>> 30 !== 3;
  const fpReg = (i: number): string => 'sdq'[i >>> 30]!;
  const base = l ? 'ldp' : 'stp';
  PAIR_MODES.forEach(([mode, bits], k) => {
    rows.push(
      insn(
        `${base.toUpperCase()} (SIMD&FP) ${mode}`,
        `opc:2 101 1 ${bits} ${l} imm7:7 Rt2:5 Rn:5 Rt:5`,
        x.fpPair,
        (i) => fmtPair(base, fpReg(i), 2 + (i >>> 30), k, i),
        { ok },
      ),
    );
  });
  const nm = l ? 'ldnp' : 'stnp';
  rows.push(
    insn(
      `${nm.toUpperCase()} (SIMD&FP)`,
      `opc:2 101 1 000 ${l} imm7:7 Rt2:5 Rn:5 Rt:5`,
      x.fpPair,
      (i) => fmtPair(nm, fpReg(i), 2 + (i >>> 30), 0, i),
      { ok },
    ),
  );
}

// ---- exclusives, ordered, compare-and-swap ----

const SUFFIX = ['b', 'h', '', ''];
/** Rt's name for a size field: X for 64-bit, W otherwise. */
const szReg = (i: number, r: number): string => (i >>> 30 === 3 ? xn(r) : wn(r));

rows.push(
  insn(
    'STXR/STLXR',
    'size:2 001000 0 0 0 Rs:5 o0 Rt2:5 Rn:5 Rt:5',
    x.stxr,
    (i) => `st${(i >>> 15) & 1 ? 'l' : ''}xr${SUFFIX[i >>> 30]!}\t${wn(rs(i))}, ${szReg(i, rt(i))}, [${xsp(rn(i))}]`,
  ),
  insn(
    'LDXR/LDAXR',
    'size:2 001000 0 1 0 Rs:5 o0 Rt2:5 Rn:5 Rt:5',
    x.ldxr,
    (i) => `ld${(i >>> 15) & 1 ? 'a' : ''}xr${SUFFIX[i >>> 30]!}\t${szReg(i, rt(i))}, [${xsp(rn(i))}]`,
  ),
  insn(
    'STXP/STLXP',
    '1 sz 001000 0 0 1 Rs:5 o0 Rt2:5 Rn:5 Rt:5',
    x.stxp,
    (i) => `st${(i >>> 15) & 1 ? 'l' : ''}xp\t${wn(rs(i))}, ${szReg(i, rt(i))}, ${szReg(i, rt2(i))}, [${xsp(rn(i))}]`,
  ),
  insn(
    'LDXP/LDAXP',
    '1 sz 001000 0 1 1 Rs:5 o0 Rt2:5 Rn:5 Rt:5',
    x.ldxp,
    (i) => `ld${(i >>> 15) & 1 ? 'a' : ''}xp\t${szReg(i, rt(i))}, ${szReg(i, rt2(i))}, [${xsp(rn(i))}]`,
  ),
  insn(
    'STLLR/STLR',
    'size:2 001000 1 0 0 Rs:5 o0 Rt2:5 Rn:5 Rt:5',
    x.stlr,
    (i) => `st${(i >>> 15) & 1 ? 'l' : 'll'}r${SUFFIX[i >>> 30]!}\t${szReg(i, rt(i))}, [${xsp(rn(i))}]`,
  ),
  insn(
    'LDLAR/LDAR',
    'size:2 001000 1 1 0 Rs:5 o0 Rt2:5 Rn:5 Rt:5',
    x.ldar,
    (i) => `ld${(i >>> 15) & 1 ? 'a' : 'la'}r${SUFFIX[i >>> 30]!}\t${szReg(i, rt(i))}, [${xsp(rn(i))}]`,
  ),
  insn('CAS', 'size:2 001000 1 L 1 Rs:5 o0 11111 Rn:5 Rt:5', x.cas, (i) => {
    const ord = `${(i >>> 22) & 1 ? 'a' : ''}${(i >>> 15) & 1 ? 'l' : ''}`;
    return `cas${ord}${SUFFIX[i >>> 30]!}\t${szReg(i, rs(i))}, ${szReg(i, rt(i))}, [${xsp(rn(i))}]`;
  }),
  insn(
    'CASP',
    '0 sz 001000 0 L 1 Rs:5 o0 11111 Rn:5 Rt:5',
    x.casp,
    (i) => {
      const ord = `${(i >>> 22) & 1 ? 'a' : ''}${(i >>> 15) & 1 ? 'l' : ''}`;
      const r = (n: number): string => ((i & 0x40000000) !== 0 ? xn(n) : wn(n));
      return `casp${ord}\t${r(rs(i))}, ${r(rs(i) + 1)}, ${r(rt(i))}, ${r(rt(i) + 1)}, [${xsp(rn(i))}]`;
    },
    { ok: (i) => (i & 0x10001) === 0 },
  ),
);

// ---- LSE atomic memory operations ----

const LD_OPS = ['add', 'clr', 'eor', 'set', 'smax', 'smin', 'umax', 'umin'];

function fmtAtomic(i: number): string {
  const size = i >>> 30;
  const a = (i >>> 23) & 1;
  const r = (i >>> 22) & 1;
  const op = (i >>> 12) & 15;
  const ord = `${a ? 'a' : ''}${r ? 'l' : ''}`;
  const t = rt(i);
  if (op === 8) return `swp${ord}${SUFFIX[size]!}\t${szReg(i, rs(i))}, ${szReg(i, t)}, [${xsp(rn(i))}]`;
  if (t === 31 && a === 0) return `st${LD_OPS[op]!}${ord}${SUFFIX[size]!}\t${szReg(i, rs(i))}, [${xsp(rn(i))}]`;
  return `ld${LD_OPS[op]!}${ord}${SUFFIX[size]!}\t${szReg(i, rs(i))}, ${szReg(i, t)}, [${xsp(rn(i))}]`;
}

rows.push(
  insn('LD<op> (atomic)', 'size:2 111 0 00 A R 1 Rs:5 0 opc:3 00 Rn:5 Rt:5', x.ldop, fmtAtomic),
  insn('SWP', 'size:2 111 0 00 A R 1 Rs:5 1 000 00 Rn:5 Rt:5', x.ldop, fmtAtomic),
);

// ---- Advanced SIMD structures ----

const ARR = ['8b', '16b', '4h', '8h', '2s', '4s', '1d', '2d'];
const vlist = (t: number, count: number, suffix: string): string => {
  const regs: string[] = [];
  for (let k = 0; k < count; k++) regs.push(`v${(t + k) & 31}.${suffix}`);
  return `{ ${regs.join(', ')} }`;
};
/** `[Xn]`, or its post-index form: `, #imm` when Rm is 31, `, Xm` otherwise. */
function structAddr(i: number, bytes: number): string {
  const base = `[${xsp(rn(i))}]`;
  if ((i & (1 << 23)) === 0) return base;
  const m = rs(i);
  return m === 31 ? `${base}, #${bytes}` : `${base}, ${xn(m)}`;
}

function fmtMulti(i: number): string {
  const q = (i >>> 30) & 1;
  const spec = x.MULTI[(i >>> 12) & 15]!;
  const rpt = spec >>> 4;
  const selem = spec & 15;
  const size = (i >>> 10) & 3;
  const regs = rpt * selem;
  const m = `${(i >>> 22) & 1 ? 'ld' : 'st'}${selem}`;
  return `${m}\t${vlist(rt(i), regs, ARR[size * 2 + q]!)}, ${structAddr(i, regs * (q ? 16 : 8))}`;
}
const multiOk = (i: number): boolean => {
  const spec = x.MULTI[(i >>> 12) & 15]!;
  if (spec === 0) return false;
  // 1D arrangements exist only for LD1/ST1.
  return !(((i >>> 10) & 3) === 3 && ((i >>> 30) & 1) === 0 && (spec & 15) !== 1);
};

/** Decoded single-structure fields, or undefined when the encoding is unallocated. */
function singleInfo(i: number): { selem: number; scale: number; index: number; replicate: boolean } | undefined {
  const q = (i >>> 30) & 1;
  const l = (i >>> 22) & 1;
  const opcode = (i >>> 13) & 7;
  const s = (i >>> 12) & 1;
  const size = (i >>> 10) & 3;
  const selem = (((opcode & 1) << 1) | ((i >>> 21) & 1)) + 1;
  switch (opcode >>> 1) {
    case 0:
      return { selem, scale: 0, index: (q << 3) | (s << 2) | size, replicate: false };
    case 1:
      if (size & 1) return undefined;
      return { selem, scale: 1, index: (q << 2) | (s << 1) | (size >>> 1), replicate: false };
    case 2:
      if (size === 0) return { selem, scale: 2, index: (q << 1) | s, replicate: false };
      if (size === 1 && s === 0) return { selem, scale: 3, index: q, replicate: false };
      return undefined;
    default:
      if (l === 0 || s === 1) return undefined;
      return { selem, scale: size, index: 0, replicate: true };
  }
}

function fmtSingle(i: number): string {
  const f = singleInfo(i)!;
  const q = (i >>> 30) & 1;
  const bytes = f.selem << f.scale;
  const m = `${(i >>> 22) & 1 ? 'ld' : 'st'}${f.selem}`;
  if (f.replicate) return `${m}r\t${vlist(rt(i), f.selem, ARR[f.scale * 2 + q]!)}, ${structAddr(i, bytes)}`;
  return `${m}\t${vlist(rt(i), f.selem, 'bhsd'[f.scale]!)}[${f.index}], ${structAddr(i, bytes)}`;
}
const singleOk = (i: number): boolean => singleInfo(i) !== undefined;

rows.push(
  insn('LD/ST multiple structures', '0 Q 0011000 L 000000 opcode:4 size:2 Rn:5 Rt:5', x.ldstMulti, fmtMulti, {
    ok: multiOk,
  }),
  insn(
    'LD/ST multiple structures (post-index)',
    '0 Q 0011001 L 0 Rm:5 opcode:4 size:2 Rn:5 Rt:5',
    x.ldstMulti,
    fmtMulti,
    { ok: multiOk },
  ),
  insn('LD/ST single structure', '0 Q 0011010 L R 00000 opcode:3 S size:2 Rn:5 Rt:5', x.ldstSingle, fmtSingle, {
    ok: singleOk,
  }),
  insn(
    'LD/ST single structure (post-index)',
    '0 Q 0011011 L R Rm:5 opcode:3 S size:2 Rn:5 Rt:5',
    x.ldstSingle,
    fmtSingle,
    { ok: singleOk },
  ),
);

export const ldst = group('Loads and stores', rows);
