// First-class hypervisor objects (hypervisor-abi.md §4.1–4.2): a type, a lifecycle state
// (INIT → ACTIVE, or FAILED for good), and a reference count. Every VALID cap is one reference,
// internal links (a thread's cspace, a derived extent's parent...) hold others; when the count
// reaches zero the object is destroyed: deactivated if it was ACTIVE, then dropped.

import { Err } from '../abi/errors.js';
import type { ObjectTypeName } from '../abi/rights.js';
import type { Cap } from './cspace.js';
import type { Tracer } from '../trace.js';

export const enum ObjState {
  NONE = 0,
  INIT = 1,
  ACTIVE = 2,
  FAILED = 3,
  DESTROYING = 4,
}

export const OBJ_STATE_NAMES = ['none', 'init', 'active', 'failed', 'destroying'] as const;

/** Observer of object lifecycle events (the hypervisor's trace). */
export interface ObjectEvents {
  objectEvent(obj: HypObject, what: 'create' | 'activate' | 'activate-failed' | 'destroy'): void;
  /** Where objects report their own events (vIRQs...); absent in tests without a hypervisor. */
  readonly tracer?: Tracer;
}

let nextObjectId = 1;

/** Reset the global object numbering (a new hypervisor instance starts from 1, for deterministic traces). */
export function resetObjectIds(): void {
  nextObjectId = 1;
}

export abstract class HypObject {
  abstract readonly type: ObjectTypeName;
  state: ObjState = ObjState.INIT;
  /** References: valid caps plus internal links. */
  refs = 0;
  /** Caps naming this object, the master cap first (copies are linked after their source). */
  readonly caps: Cap[] = [];
  /** A small number naming the object in traces and messages. */
  readonly oid = nextObjectId++;

  constructor(protected readonly events: ObjectEvents | null) {}

  /** Type-specific activation checks and setup; an error leaves the object FAILED. */
  protected doActivate(): number {
    return Err.OK;
  }

  /** Undo activation side effects when an ACTIVE object is destroyed (unbind VIRQs, free queues...). */
  protected doDeactivate(): void {}

  /** object_activate: only from INIT; success → ACTIVE, any failure → FAILED (terminal). */
  activate(): number {
    if (this.state !== ObjState.INIT) return Err.OBJECT_STATE;
    const e = this.doActivate();
    this.state = e === Err.OK ? ObjState.ACTIVE : ObjState.FAILED;
    this.events?.objectEvent(this, e === Err.OK ? 'activate' : 'activate-failed');
    return e;
  }

  get(): void {
    this.refs++;
  }

  put(): void {
    if (--this.refs === 0) this.destroy();
  }

  private destroy(): void {
    const wasActive = this.state === ObjState.ACTIVE;
    this.state = ObjState.DESTROYING;
    if (wasActive) this.doDeactivate();
    this.events?.objectEvent(this, 'destroy');
    this.released();
  }

  /** Drop internal references this object holds to others (after deactivation). */
  protected released(): void {}

  /** A short name for traces: `msgqueue#7`. */
  toString(): string {
    return `${this.type}#${this.oid}`;
  }
}
