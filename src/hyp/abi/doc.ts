// The hypercall reference page (docs/hypercalls.md), generated from the table so it cannot drift.

import { HYPERCALLS, HYPERCALL_NUM, HVC_BASE, SMCCC_HYPERCALL_BASE, type InArg } from './hypercalls.js';
import { ALL_RIGHTS } from './rights.js';

function rightsText(a: Extract<InArg, { kind: 'cap' }>): string {
  const state = a.state === 'active' ? 'ACTIVE' : a.state === 'init' ? 'INIT' : 'any state';
  const r = a.rights >>> 0;
  return `${a.type} cap, rights 0x${r.toString(16)}, ${state}`;
}

function inputText(a: InArg, reg: number): string {
  switch (a.kind) {
    case 'cap':
      return `x${reg} ${a.name} (${rightsText(a)})`;
    case 'res0':
      return `x${reg} reserved, must be 0`;
    case 'res1':
      return `x${reg} reserved, must be all-ones`;
    default:
      return `x${reg} ${a.name} (${a.kind})`;
  }
}

export function hypercallReference(): string {
  const lines: string[] = [
    '# Hypercall reference',
    '',
    '<!-- Generated from src/hyp/abi/hypercalls.ts by `npm run docs`; do not edit by hand. -->',
    '',
    `Native ABI: \`hvc #(0x${HVC_BASE.toString(16)} + N)\`, inputs in x0.., outputs in x0..; unused x0–x7 and x10–x17 are zeroed.`,
    `SMCCC ABI: \`hvc #0\` or \`smc #0\` with function ID 0x${SMCCC_HYPERCALL_BASE.toString(16)} + N in w0, inputs from x1, errors sign-extended.`,
    `Numbers below 0x${HYPERCALL_NUM.toString(16)} without a row are holes: x0 = all-ones, x1–x7 = 0.`,
    '',
    '| N | hvc | Name | Inputs | Outputs | Notes |',
    '|---|---|---|---|---|---|',
  ];
  for (const r of [...HYPERCALLS].sort((a, b) => a.num - b.num)) {
    const ins = r.inputs.map((a, k) => inputText(a, k)).join('<br>') || '—';
    const outs = r.outputs.map((o, k) => `x${k} ${o.name}`).join('<br>');
    const notes = [r.unimplemented ? 'always UNIMPLEMENTED' : '', r.note ?? ''].filter(Boolean).join('; ');
    lines.push(
      `| 0x${r.num.toString(16).padStart(2, '0')} | 0x${(HVC_BASE + r.num).toString(16)} | \`${r.name}\` | ${ins} | ${outs} | ${notes} |`,
    );
  }
  lines.push('', '## Master cap rights by object type', '', '| Type | All rights |', '|---|---|');
  for (const [t, m] of Object.entries(ALL_RIGHTS)) lines.push(`| ${t} | 0x${(m >>> 0).toString(16)} |`);
  return lines.join('\n') + '\n';
}
