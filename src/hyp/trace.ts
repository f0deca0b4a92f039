// The trace (DESIGN.md §3): a typed, deterministic event stream of what the hypervisor does —
// hypercall entry and exit with decoded arguments and error names, vIRQ assert/acknowledge,
// scheduling decisions, faults with the decoded syndrome, object lifecycle. Timestamps are
// virtual nanoseconds, never wall time, so two runs of the same system give the same trace.
// Exporters: readable text, and Chrome trace-event JSON (opens in Perfetto).
// With no sink attached, producers test one boolean and build nothing.

import { errorName } from './abi/errors.js';
import type { HypercallRow } from './abi/hypercalls.js';

export type TraceEvent =
  | { kind: 'hypercall'; t: number; cpu: number; vcpu: string; name: string; args: string[] }
  | { kind: 'hypercall-ret'; t: number; cpu: number; vcpu: string; name: string; error: string | null; outs: string[] }
  | { kind: 'object'; t: number; what: 'create' | 'activate' | 'activate-failed' | 'destroy'; obj: string }
  | { kind: 'virq'; t: number; what: 'assert' | 'clear' | 'ack' | 'eoi'; vic: string; virq: number; source: string }
  | { kind: 'sched'; t: number; cpu: number; from: string | null; to: string | null; reason: string }
  | { kind: 'fault'; t: number; cpu: number; vcpu: string; syndrome: string; pc: string }
  | { kind: 'message'; t: number; cpu: number; vcpu: string; text: string };

export interface TraceSink {
  event(e: TraceEvent): void;
}

/** A sink that keeps every event (tests, exporters). */
export class TraceBuffer implements TraceSink {
  readonly events: TraceEvent[] = [];
  event(e: TraceEvent): void {
    this.events.push(e);
  }
}

const hex = (v: bigint): string => `0x${v.toString(16)}`;

export class Tracer {
  sink: TraceSink | null = null;
  /** The current virtual time in ns, supplied by whoever drives the system. */
  now: () => number = () => 0;

  get on(): boolean {
    return this.sink !== null;
  }

  hypercall(cpu: number, vcpu: string, row: HypercallRow, a: BigUint64Array): void {
    if (!this.sink) return;
    const args = row.inputs.map((arg, k) => `${arg.name}=${hex(a[k]!)}`);
    this.sink.event({ kind: 'hypercall', t: this.now(), cpu, vcpu, name: row.name, args });
  }

  hypercallRet(cpu: number, vcpu: string, row: HypercallRow, err: number, out: BigUint64Array): void {
    if (!this.sink) return;
    const hasErr = row.outputs[0]?.kind === 'error';
    const outs = row.outputs.flatMap((o, k) => (o.kind === 'error' ? [] : [`${o.name}=${hex(out[k]!)}`]));
    this.sink.event({
      kind: 'hypercall-ret',
      t: this.now(),
      cpu,
      vcpu,
      name: row.name,
      error: hasErr ? errorName(err) : null,
      outs,
    });
  }

  emit(e: TraceEvent): void {
    this.sink?.event(e);
  }
}

/** One line per event, for people. */
export function traceText(events: readonly TraceEvent[]): string {
  const lines: string[] = [];
  for (const e of events) {
    const t = `${(e.t / 1000).toFixed(3).padStart(12)} µs`;
    switch (e.kind) {
      case 'hypercall':
        lines.push(`${t}  cpu${e.cpu} ${e.vcpu}: ${e.name}(${e.args.join(', ')})`);
        break;
      case 'hypercall-ret':
        lines.push(`${t}  cpu${e.cpu} ${e.vcpu}: ${e.name} → ${[e.error ?? '', ...e.outs].filter(Boolean).join(', ')}`);
        break;
      case 'object':
        lines.push(`${t}  object ${e.obj} ${e.what}`);
        break;
      case 'virq':
        lines.push(`${t}  virq ${e.virq} on ${e.vic} ${e.what} (${e.source})`);
        break;
      case 'sched':
        lines.push(`${t}  cpu${e.cpu} schedule ${e.from ?? 'idle'} → ${e.to ?? 'idle'} (${e.reason})`);
        break;
      case 'fault':
        lines.push(`${t}  cpu${e.cpu} ${e.vcpu}: fault at ${e.pc}: ${e.syndrome}`);
        break;
      case 'message':
        lines.push(`${t}  cpu${e.cpu} ${e.vcpu}: ${e.text}`);
        break;
    }
  }
  return lines.join('\n') + (lines.length ? '\n' : '');
}

interface ChromeEvent {
  name: string;
  ph: string;
  ts: number;
  pid: number;
  tid: number;
  s?: string;
  args?: Record<string, unknown>;
}

/**
 * Chrome trace-event JSON (the "JSON Array Format" with metadata): hypercalls as duration events
 * (B/E) on the vCPU's track, everything else as instant events. Timestamps in µs.
 */
export function traceChrome(events: readonly TraceEvent[]): string {
  const tracks = new Map<string, number>();
  const tid = (name: string): number => {
    let id = tracks.get(name);
    if (id === undefined) {
      id = tracks.size + 1;
      tracks.set(name, id);
    }
    return id;
  };
  const out: ChromeEvent[] = [];
  for (const e of events) {
    const ts = e.t / 1000;
    switch (e.kind) {
      case 'hypercall':
        out.push({ name: e.name, ph: 'B', ts, pid: 1, tid: tid(e.vcpu), args: { args: e.args.join(', ') } });
        break;
      case 'hypercall-ret':
        out.push({
          name: e.name,
          ph: 'E',
          ts,
          pid: 1,
          tid: tid(e.vcpu),
          args: { error: e.error, outs: e.outs.join(', ') },
        });
        break;
      case 'object':
        out.push({ name: `${e.what} ${e.obj}`, ph: 'i', s: 'g', ts, pid: 1, tid: tid('objects') });
        break;
      case 'virq':
        out.push({
          name: `virq ${e.virq} ${e.what}`,
          ph: 'i',
          s: 't',
          ts,
          pid: 1,
          tid: tid(`vic ${e.vic}`),
          args: { source: e.source },
        });
        break;
      case 'sched':
        out.push({
          name: `${e.from ?? 'idle'} → ${e.to ?? 'idle'}`,
          ph: 'i',
          s: 't',
          ts,
          pid: 1,
          tid: tid(`cpu${e.cpu}`),
          args: { reason: e.reason },
        });
        break;
      case 'fault':
        out.push({
          name: 'fault',
          ph: 'i',
          s: 't',
          ts,
          pid: 1,
          tid: tid(e.vcpu),
          args: { syndrome: e.syndrome, pc: e.pc },
        });
        break;
      case 'message':
        out.push({ name: e.text, ph: 'i', s: 't', ts, pid: 1, tid: tid(e.vcpu) });
        break;
    }
  }
  const meta: ChromeEvent[] = [...tracks].map(([name, id]) => ({
    name: 'thread_name',
    ph: 'M',
    ts: 0,
    pid: 1,
    tid: id,
    args: { name },
  }));
  return JSON.stringify({ traceEvents: [...meta, ...out], displayTimeUnit: 'ns' });
}
