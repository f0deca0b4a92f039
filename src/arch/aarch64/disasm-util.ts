// Formatting helpers for the disassembler: register names and immediates spelled the way
// llvm-objdump prints them, so disassembly can be compared with it (DESIGN.md §6).

export const xn = (r: number): string => (r === 31 ? 'xzr' : `x${r}`);
export const wn = (r: number): string => (r === 31 ? 'wzr' : `w${r}`);
export const xsp = (r: number): string => (r === 31 ? 'sp' : `x${r}`);
export const wsp = (r: number): string => (r === 31 ? 'wsp' : `w${r}`);
/** General register by size: sf=1 → x, sf=0 → w; `sp` selects the SP-capable names. */
export const gpr = (sf: number, r: number, sp = false): string => (sp ? (sf ? xsp(r) : wsp(r)) : sf ? xn(r) : wn(r));

/** Decimal immediate, `#N`. */
export const imm = (v: number | bigint): string => `#${v}`;
/** Hex immediate as LLVM prints it: `#0x1f`, but plain `#0` for zero. */
export const hex = (v: number | bigint): string => {
  const b = BigInt(v);
  if (b === 0n) return '#0';
  return b < 0n ? `#-0x${(-b).toString(16)}` : `#0x${b.toString(16)}`;
};

/** A PC-relative offset as `llvm-mc --disassemble` prints it: `#off`, decimal, signed. */
export const rel = (off: number): string => `#${off}`;
