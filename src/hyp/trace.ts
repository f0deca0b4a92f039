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
  | {
      kind: 'object';
      t: number;
      what: ObjectEventKind;
      /** `type#oid`, the object's name everywhere else in the trace. */
      obj: string;
      type: string;
      oid: number;
      /** A human label when the object has one (a vCPU's `root`, `vm3/vcpu0`), else ''. */
      label: string;
    }
  | { kind: 'virq'; t: number; what: 'assert' | 'clear' | 'ack' | 'eoi'; vic: string; virq: number; source: string }
  | { kind: 'sched'; t: number; cpu: number; from: string | null; to: string | null; reason: string }
  | { kind: 'fault'; t: number; cpu: number; vcpu: string; syndrome: string; pc: string }
  | { kind: 'message'; t: number; cpu: number; vcpu: string; text: string };

/** Object lifecycle events (hypervisor-abi.md §4.2): created (INIT), activated, activation failed, destroyed. */
export type ObjectEventKind = 'create' | 'activate' | 'activate-failed' | 'destroy';

export interface TraceSink {
  event(e: TraceEvent): void;
}

/**
 * Gunyah's trace classes (trace_update_class_flags, hypervisor-abi.md §2.10): bit n of the class
 * flags enables class n. ERROR and DEBUG come first (the core enumeration); the log and trace
 * buffer modules append theirs — in which order depends on the build's module order, which the
 * public sources do not pin down, so this numbering (log module first, as the modules sort by
 * name) is our choice [infer].
 */
export const TRACE_CLASS = {
  ERROR: 0,
  DEBUG: 1,
  LOG_BUFFER: 2,
  LOG_TRACE_BUFFER: 3,
  TRACE_BUFFER: 4,
  TRACE_LOG_BUFFER: 5,
} as const;

const classBit = (c: number): bigint => 1n << BigInt(c);

/**
 * The bits trace_update_class_flags may change. Gunyah starts from `~0U` — a 32-bit all-ones, so
 * bits 63:32 are never public — and removes the two classes that route log messages (LOG_BUFFER,
 * LOG_TRACE_BUFFER), which only the hypervisor itself may change.
 */
export const TRACE_PUBLIC_CLASS_FLAGS =
  0xffff_ffffn & ~(classBit(TRACE_CLASS.LOG_BUFFER) | classBit(TRACE_CLASS.LOG_TRACE_BUFFER));

/**
 * The class flags at boot: ERROR and TRACE_BUFFER (trace init of a debug build) and LOG_BUFFER
 * (log init turns its own buffer on).
 */
export const TRACE_DEFAULT_CLASS_FLAGS =
  classBit(TRACE_CLASS.ERROR) | classBit(TRACE_CLASS.TRACE_BUFFER) | classBit(TRACE_CLASS.LOG_BUFFER);

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

  /** An object lifecycle event (the caller checks `on` first, so tracing off builds nothing). */
  object(what: ObjectEventKind, type: string, oid: number, label: string): void {
    if (!this.sink) return;
    this.sink.event({ kind: 'object', t: this.now(), what, obj: `${type}#${oid}`, type, oid, label });
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
        lines.push(`${t}  object ${e.obj}${e.label ? ` (${e.label})` : ''} ${e.what}`);
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
        out.push({
          name: `${e.what} ${e.obj}`,
          ph: 'i',
          s: 'g',
          ts,
          pid: 1,
          tid: tid('objects'),
          args: { type: e.type, oid: e.oid, ...(e.label ? { label: e.label } : {}) },
        });
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
