// The A64 encoding table machinery (DESIGN.md §5): every instruction is a bitstring row with its
// execute function and its disassembler. The same rows drive the decoder, the disassembler used in
// traces, and the random-instruction generator of the differential tests.
//
// Pattern syntax, most significant bit first, 32 bits in all, tokens separated by spaces:
//   `0`/`1`   fixed bits (a run such as `100010` is several fixed bits)
//   `x`       a bit the decoder ignores (a run such as `xxxxx` is several)
//   `name`    a one-bit field;  `name:N` an N-bit field
// A row may add `ok(insn)`: a guard for encodings that the pattern matches but the architecture
// leaves unallocated (for example a reserved `opc`), so the decoder treats them as undefined.

import type { Cpu } from '../cpu.js';

export type Exec = (cpu: Cpu, insn: number) => void;
export type Fmt = (insn: number, pc: bigint) => string;

export interface Field {
  readonly name: string;
  readonly lsb: number;
  readonly width: number;
}

export interface InsnRow {
  readonly name: string;
  readonly group: string;
  readonly pattern: string;
  readonly mask: number;
  readonly value: number;
  readonly fields: readonly Field[];
  readonly exec: Exec;
  readonly fmt: Fmt;
  readonly ok: ((insn: number) => boolean) | undefined;
  /** Set on rows the random differential test must not generate (system state, exceptions). */
  readonly noRandom: boolean;
}

export interface RowOptions {
  ok?: (insn: number) => boolean;
  noRandom?: boolean;
}

export interface Group {
  readonly name: string;
  readonly rows: readonly InsnRow[];
}

export function parsePattern(pattern: string): { mask: number; value: number; fields: Field[] } {
  let bit = 32;
  let mask = 0;
  let value = 0;
  const fields: Field[] = [];
  for (const tok of pattern.trim().split(/\s+/)) {
    if (/^[01x]+$/.test(tok)) {
      for (const ch of tok) {
        bit--;
        if (ch !== 'x') {
          mask |= 1 << bit;
          if (ch === '1') value |= 1 << bit;
        }
      }
      continue;
    }
    const m = /^([A-Za-z_][A-Za-z0-9_]*)(?::(\d+))?$/.exec(tok);
    if (!m) throw new Error(`bad token '${tok}' in pattern '${pattern}'`);
    const width = m[2] ? Number(m[2]) : 1;
    bit -= width;
    fields.push({ name: m[1]!, lsb: bit, width });
  }
  if (bit !== 0) throw new Error(`pattern '${pattern}' has ${32 - bit} bits, not 32`);
  return { mask: mask >>> 0, value: value >>> 0, fields };
}

export function insn(name: string, pattern: string, exec: Exec, fmt: Fmt, opts: RowOptions = {}): InsnRow {
  const { mask, value, fields } = parsePattern(pattern);
  return { name, group: '', pattern, mask, value, fields, exec, fmt, ok: opts.ok, noRandom: opts.noRandom ?? false };
}

export function group(name: string, rows: InsnRow[]): Group {
  return { name, rows: rows.map((r) => ({ ...r, group: name })) };
}

/** Value of a named field of a row in an instruction word (used by tests and generators). */
export function field(row: InsnRow, insnWord: number, name: string): number {
  const f = row.fields.find((x) => x.name === name);
  if (!f) throw new Error(`${row.name} has no field ${name}`);
  return (insnWord >>> f.lsb) & ((1 << f.width) - 1 || -1);
}
