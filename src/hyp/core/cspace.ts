// Capability spaces (hypervisor-abi.md §4.3, §3.1). A cspace is a two-level table of cap slots;
// a cap names an object with a rights mask and is VALID or REVOKED. Cap IDs use the debug-build
// encoding `(table << 8) | slot` (dense small integers, lowest free slot first), with
// CAP_SLOTS_PER_TABLE slots per table: the real table size is inferred (~62) — our choice, fixed
// here and tested. A lookup with the required rights is the only way to reach an object, and its
// errors come in the spec's order.

import { Err } from '../abi/errors.js';
import { CSPACE_RIGHT, ALL_RIGHTS, type ObjectTypeName } from '../abi/rights.js';
import { HypObject, ObjState, type ObjectEvents } from './object.js';

export const CAP_SLOTS_PER_TABLE = 62;
/** Implementation limit for cspace_configure(max_caps): 238 tables of 62 slots. */
export const CSPACE_MAX_CAPS = 238 * CAP_SLOTS_PER_TABLE;
export const CAP_INVALID = 0xffff_ffff_ffff_ffffn;

export const enum CapState {
  NULL = 0,
  VALID = 1,
  REVOKED = 2,
}

export class Cap {
  constructor(
    public obj: HypObject | null,
    public rights: number,
    public readonly master: boolean,
    public state: CapState,
    public readonly cspace: Cspace,
    public readonly slot: number,
  ) {}
}

/** The result of a lookup: the object, or an error code (a number), without allocating. */
export type Lookup<T extends HypObject> = T | number;

export class Cspace extends HypObject {
  readonly type = 'cspace' as const;
  maxCaps = 0;
  /** Slots, indexed by table * CAP_SLOTS_PER_TABLE + slot. */
  private slots: (Cap | null)[] = [];
  private used = 0;

  constructor(events: ObjectEvents | null) {
    super(events);
  }

  protected override doActivate(): number {
    if (this.maxCaps === 0) return Err.OBJECT_CONFIG;
    this.slots = new Array<Cap | null>(this.maxCaps).fill(null);
    return Err.OK;
  }

  protected override doDeactivate(): void {
    // Deleting the cspace deletes every cap in it (dropping the references they hold).
    for (const c of this.slots) if (c) this.release(c);
    this.slots = [];
  }

  configure(maxCaps: number): number {
    if (maxCaps > CSPACE_MAX_CAPS) return Err.ARGUMENT_INVALID;
    this.maxCaps = maxCaps;
    return Err.OK;
  }

  static idOf(index: number): bigint {
    return BigInt(((index / CAP_SLOTS_PER_TABLE) << 8) | (index % CAP_SLOTS_PER_TABLE));
  }

  /** Cap ID → slot index, or -1 when the ID is malformed (ARGUMENT_INVALID). */
  static indexOf(id: bigint): number {
    if (id > 0xffffn) return -1;
    const v = Number(id);
    const slot = v & 0xff;
    if (slot >= CAP_SLOTS_PER_TABLE) return -1;
    return (v >>> 8) * CAP_SLOTS_PER_TABLE + slot;
  }

  /** Number of caps in use (for leak checks). */
  get capCount(): number {
    return this.used;
  }

  /** Allocate the lowest free slot; CSPACE_FULL when there is none. Returns the index or an error (negative). */
  private allocSlot(): number {
    if (this.used >= this.maxCaps) return -Err.CSPACE_FULL;
    const i = this.slots.indexOf(null);
    return i < 0 ? -Err.CSPACE_FULL : i;
  }

  /** Place a cap to `obj`; returns its ID (as a bigint) or an error code (a number). */
  createCap(obj: HypObject, rights: number, master: boolean, after?: Cap): bigint | number {
    const i = this.allocSlot();
    if (i < 0) return -i;
    return this.fill(i, obj, rights, master, after);
  }

  private fill(i: number, obj: HypObject, rights: number, master: boolean, after?: Cap): bigint {
    const cap = new Cap(obj, rights >>> 0, master, CapState.VALID, this, i);
    this.slots[i] = cap;
    this.used++;
    const at = after ? obj.caps.indexOf(after) : -1;
    if (at >= 0) obj.caps.splice(at + 1, 0, cap);
    else obj.caps.push(cap);
    obj.get();
    return Cspace.idOf(i);
  }

  /** A master cap with all rights of the object's type (partition_create_*). */
  createMasterCap(obj: HypObject): bigint | number {
    return this.createCap(obj, ALL_RIGHTS[obj.type], true);
  }

  /** The cap in a slot, or an error: ARGUMENT_INVALID (malformed ID), CSPACE_CAP_NULL. */
  private slotOf(id: bigint): Cap | number {
    const i = Cspace.indexOf(id);
    if (i < 0) return Err.ARGUMENT_INVALID;
    if (i >= this.slots.length) return Err.CSPACE_CAP_NULL;
    const c = this.slots[i];
    if (!c) return Err.CSPACE_CAP_NULL;
    return c;
  }

  /**
   * Look up a cap (§3.1): decode → NULL → REVOKED → wrong type → insufficient rights →
   * not ACTIVE (when `activeOnly`) → object being destroyed.
   */
  lookup<T extends HypObject>(
    id: bigint,
    type: ObjectTypeName | 'any',
    rights: number,
    activeOnly: boolean,
  ): Lookup<T> {
    const c = this.slotOf(id);
    if (typeof c === 'number') return c;
    if (c.state === CapState.REVOKED) return Err.CSPACE_CAP_REVOKED;
    const obj = c.obj!;
    if (type !== 'any' && obj.type !== type) return Err.CSPACE_WRONG_OBJECT_TYPE;
    if ((c.rights & rights) >>> 0 !== rights >>> 0) return Err.CSPACE_INSUFFICIENT_RIGHTS;
    if (activeOnly && obj.state !== ObjState.ACTIVE) return Err.OBJECT_STATE;
    if (obj.refs === 0 || obj.state === ObjState.DESTROYING) return Err.CSPACE_CAP_NULL;
    return obj as T;
  }

  /** cspace_delete_cap_from: VALID or REVOKED caps; NULL → CSPACE_CAP_NULL. */
  deleteCap(id: bigint): number {
    const c = this.slotOf(id);
    if (typeof c === 'number') return c;
    this.release(c);
    return Err.OK;
  }

  private release(c: Cap): void {
    this.slots[c.slot] = null;
    this.used--;
    const obj = c.obj;
    if (obj) {
      const at = obj.caps.indexOf(c);
      if (at >= 0) obj.caps.splice(at, 1);
      c.obj = null;
      if (c.state === CapState.VALID) obj.put();
    }
    c.state = CapState.NULL;
  }

  /**
   * cspace_copy_cap_from into `dest`: the destination slot is allocated before the source cap is
   * looked up (so CSPACE_FULL wins), no right is needed on the source; new rights = src & mask.
   */
  static copyCap(src: Cspace, srcId: bigint, dest: Cspace, mask: number): bigint | number {
    const i = dest.allocSlot();
    if (i < 0) return -i;
    const c = src.slotOf(srcId);
    if (typeof c === 'number') return c;
    if (c.state === CapState.REVOKED) return Err.CSPACE_CAP_REVOKED;
    const rights = (c.rights & mask) >>> 0;
    if (rights === 0) return Err.CSPACE_INSUFFICIENT_RIGHTS;
    return dest.fill(i, c.obj!, rights, false, c);
  }

  /** cspace_revoke_caps_from: every non-master cap of the object becomes REVOKED. */
  revokeCaps(masterId: bigint): number {
    const c = this.slotOf(masterId);
    if (typeof c === 'number') return c;
    if (c.state === CapState.REVOKED) return Err.CSPACE_CAP_REVOKED;
    if (!c.master) return Err.CSPACE_INSUFFICIENT_RIGHTS;
    const obj = c.obj!;
    for (const other of [...obj.caps]) {
      if (other === c) continue;
      other.state = CapState.REVOKED;
      other.obj = null;
      obj.caps.splice(obj.caps.indexOf(other), 1);
      obj.put();
    }
    return Err.OK;
  }

  /** Every cap in use, for inspection and leak checks: [id, cap]. */
  *entries(): IterableIterator<[bigint, Cap]> {
    for (let i = 0; i < this.slots.length; i++) {
      const c = this.slots[i];
      if (c) yield [Cspace.idOf(i), c];
    }
  }

  static readonly RIGHT = CSPACE_RIGHT;
}
