// Test environment for the IPC and VIC tests (no tests here): a root VM driven by a NativeVcpu,
// more native vCPUs with their own cspaces, a simple GuestAccess over a Uint8Array (with regions
// that fault as stage 1, as stage-2 permission, or as unmapped), and a guest's view of a VIC's
// virtual GIC through its distributor registers and ICC_* system registers.

import assert from 'node:assert/strict';
import { Hypervisor } from '../../src/hyp/hypervisor.js';
import { NativeVcpu, type CallResult } from '../../src/hyp/vm/native.js';
import { Err, errorName } from '../../src/hyp/abi/errors.js';
import type { GuestAccess } from '../../src/hyp/vm/guest-access.js';
import type { Thread } from '../../src/hyp/vm/thread.js';
import type { Cspace } from '../../src/hyp/core/cspace.js';
import type { HypObject } from '../../src/hyp/core/object.js';
import type { Vic } from '../../src/hyp/vm/vic.js';
import type { Gicv3 } from '../../src/machine/gicv3/index.js';
import { ICC } from '../../src/machine/gicv3/regs.js';
import type { Cpu } from '../../src/arch/aarch64/cpu.js';
import { makeCpu } from '../helpers/cpu.js';
import { equipVcpu, type EquipOptions, type VcpuKit } from './vcpu-kit.js';

const TWO64 = 1n << 64n;

/**
 * A vCPU's memory by VA: `size` bytes at `base`. Addresses outside are unmapped at stage 2
 * (ADDR_INVALID); `s1Fault` ranges fault at stage 1 (ARGUMENT_INVALID); `readOnly` ranges deny
 * writes at stage 2 (DENIED); a range that wraps past 2^64 is ADDR_OVERFLOW.
 */
export class TestMemory implements GuestAccess {
  readonly bytes: Uint8Array;
  readonly s1Fault: [bigint, bigint][] = [];
  readonly readOnly: [bigint, bigint][] = [];
  reads = 0;
  writes = 0;

  constructor(
    readonly base: bigint,
    size: number,
  ) {
    this.bytes = new Uint8Array(size);
  }

  private check(va: bigint, len: number, write: boolean): number {
    const end = va + BigInt(len);
    if (end > TWO64) return Err.ADDR_OVERFLOW;
    const hits = (r: [bigint, bigint][]) => r.some(([lo, hi]) => va < hi && end > lo);
    if (hits(this.s1Fault)) return Err.ARGUMENT_INVALID;
    if (va < this.base || end > this.base + BigInt(this.bytes.length)) return Err.ADDR_INVALID;
    if (write && hits(this.readOnly)) return Err.DENIED;
    return Err.OK;
  }

  read(va: bigint, len: number): Uint8Array | number {
    this.reads++;
    const e = this.check(va, len, false);
    if (e !== Err.OK) return e;
    const off = Number(va - this.base);
    return this.bytes.slice(off, off + len);
  }

  write(va: bigint, data: Uint8Array): number {
    this.writes++;
    const e = this.check(va, data.length, true);
    if (e !== Err.OK) return e;
    this.bytes.set(data, Number(va - this.base));
    return Err.OK;
  }

  readInto(va: bigint, dst: Uint8Array, at: number, len: number): number {
    const r = this.read(va, len);
    if (typeof r === 'number') return r;
    dst.set(r, at);
    return Err.OK;
  }

  writeFrom(va: bigint, src: Uint8Array, at: number, len: number): number {
    return this.write(va, src.slice(at, at + len));
  }

  /** Put bytes at a VA (the guest writing its own memory). */
  put(va: bigint, data: ArrayLike<number>): void {
    this.bytes.set(data, Number(va - this.base));
  }

  get(va: bigint, len: number): number[] {
    const off = Number(va - this.base);
    return [...this.bytes.subarray(off, off + len)];
  }
}

export const MEM_BASE = 0x8000_0000n;
export const MEM_SIZE = 0x4000;

export interface Env {
  hv: Hypervisor;
  v: NativeVcpu;
  mem: TestMemory;
  P: bigint;
  C: bigint;
  /** The root vCPU's own (master) cap, an ACTIVE thread. */
  T: bigint;
  /** A hypercall by name from the root vCPU. */
  call(name: string, ...args: bigint[]): CallResult;
  /** A hypercall that must succeed; returns x. */
  ok(name: string, ...args: bigint[]): bigint[];
  /** partition_create_<type> into the root cspace; returns the master cap. */
  create(type: string): bigint;
  /** The object a root-cspace cap names (inspection only). */
  obj<T extends HypObject>(cap: bigint): T;
  /** A configured, activated VIC (root cap). */
  vic(maxVcpus?: number, maxVirqs?: number): bigint;
  /** An activated doorbell (root cap). */
  doorbell(): bigint;
  /** A configured (depth, size), activated message queue (root cap). */
  msgqueue(depth: number, size: number): bigint;
  /** A copy of root cap `cap` in the root cspace with rights `mask`. */
  copy(cap: bigint, mask: number): bigint;
  /** Give the INIT thread `t` (root cap) a fresh addrspace and VIC, or the given ones (§4.5). */
  equip(t: bigint, opts?: EquipOptions): VcpuKit;
  /**
   * A second native vCPU with its own cspace, addrspace and VIC (§4.5), and its own memory: the
   * TestMemory replaces the addrspace's stage-2 view so tests can place faults.
   */
  vcpu(): Peer;
}

export interface Peer {
  v: NativeVcpu;
  mem: TestMemory;
  /** Root-cspace cap to the peer's cspace. */
  cs: bigint;
  /** Root-cspace caps to the peer's addrspace and to its VIC (it is vCPU 0 there). */
  as: bigint;
  vic: bigint;
  /** Copy root cap `cap` into the peer's cspace with rights `mask`; returns the peer's cap ID. */
  give(cap: bigint, mask: number): bigint;
  call(name: string, ...args: bigint[]): CallResult;
}

export function createInfo(depth: number, size: number, upper = 0n): bigint {
  return (upper << 32n) | BigInt((size << 16) | depth);
}

export function env(): Env {
  const hv = new Hypervisor();
  const vm = hv.createRootVm();
  const v = new NativeVcpu(hv, vm.thread);
  const mem = new TestMemory(MEM_BASE, MEM_SIZE);
  vm.thread.access = mem;
  const P = vm.caps.partition;
  const C = vm.caps.cspace;
  const call = (name: string, ...args: bigint[]) => v.call(name, ...args);
  const ok = (name: string, ...args: bigint[]) => {
    const r = v.call(name, ...args);
    assert.equal(r.e, Err.OK, `${name}: ${errorName(r.e)}`);
    return r.x;
  };
  const create = (type: string) => ok(`partition_create_${type}`, P, C, 0n)[1]!;
  const objIn = <T extends HypObject>(cs: Cspace, cap: bigint): T => {
    for (const [id, c] of cs.entries()) if (id === cap && c.obj !== null) return c.obj as T;
    throw new Error(`no object at cap ${cap}`);
  };
  const obj = <T extends HypObject>(cap: bigint): T => objIn<T>(vm.cspace, cap);
  const e: Env = {
    hv,
    v,
    mem,
    P,
    C,
    T: vm.caps.vcpu,
    call,
    ok,
    create,
    obj,
    vic(maxVcpus = 1, maxVirqs = 64) {
      const cap = create('vic');
      ok('vic_configure', cap, BigInt(maxVcpus), BigInt(maxVirqs), 0n, 0n);
      ok('object_activate', cap, 0n);
      return cap;
    },
    doorbell() {
      const cap = create('doorbell');
      ok('object_activate', cap, 0n);
      return cap;
    },
    msgqueue(depth, size) {
      const cap = create('msgqueue');
      ok('msgqueue_configure', cap, createInfo(depth, size), 0n);
      ok('object_activate', cap, 0n);
      return cap;
    },
    copy(cap, mask) {
      return ok('cspace_copy_cap_from', C, cap, C, BigInt(mask), 0n)[1]!;
    },
    equip(t, opts) {
      return equipVcpu(v, P, C, t, opts);
    },
    vcpu() {
      const cs = create('cspace');
      ok('cspace_configure', cs, 64n, 0n);
      ok('object_activate', cs, 0n);
      const tcap = create('thread');
      ok('cspace_attach_thread', cs, tcap, 0n);
      const kit = equipVcpu(v, P, C, tcap);
      ok('object_activate', tcap, 0n);
      const thread = obj<Thread>(tcap);
      const pmem = new TestMemory(MEM_BASE, MEM_SIZE);
      thread.access = pmem;
      const pv = new NativeVcpu(hv, thread);
      return {
        v: pv,
        mem: pmem,
        cs,
        as: kit.addrspace,
        vic: kit.vic!,
        give: (cap, mask) => ok('cspace_copy_cap_from', C, cap, cs, BigInt(mask), 0n)[1]!,
        call: (name, ...args) => pv.call(name, ...args),
      };
    },
  };
  return e;
}

// GICD offsets (IHI 0069 chapter 12).
const GICD_CTLR = 0x0000;
const GICD_IGROUPR = 0x0080;
const GICD_ISENABLER = 0x0100;
const GICD_ISPENDR = 0x0200;
const GICD_ISACTIVER = 0x0300;
const GICD_ICACTIVER = 0x0380;
const GICD_IPRIORITYR = 0x0400;
const GICD_ICFGR = 0x0c00;
const GICD_IROUTER = 0x6000;

const dummyCpu: Cpu = makeCpu(1 << 12).cpu;

/**
 * A guest driving a VIC's virtual GIC as Linux does: Group 1, affinity routing, EOImode 0 unless
 * asked. Reads pending/active state through GICD_ISPENDR/ISACTIVER as the guest would.
 */
export class GuestGic {
  constructor(readonly gic: Gicv3) {
    this.dw(GICD_CTLR, 2); // EnableGrp1
    for (let c = 0; c < gic.cpus; c++) {
      this.sw(c, ICC.PMR_EL1, 0xffn);
      this.sw(c, ICC.IGRPEN1_EL1, 1n);
    }
  }

  static of(e: Env, vicCap: bigint): GuestGic {
    const g = e.obj<Vic>(vicCap).gic;
    assert.ok(g, 'VIC has a GIC once active');
    return new GuestGic(g);
  }

  dr(off: number): number {
    return Number(this.gic.distributor.read(off, 4));
  }

  dw(off: number, v: number): void {
    this.gic.distributor.write(off, 4, BigInt(v >>> 0));
  }

  sr(c: number, key: number): bigint {
    const v = this.gic.cpuInterface(c).read(dummyCpu, key);
    assert.notEqual(v, null);
    return v!;
  }

  sw(c: number, key: number, v: bigint): void {
    assert.ok(this.gic.cpuInterface(c).write(dummyCpu, key, v));
  }

  /** Enable SPI `id` as Group 1, priority 0xA0, routed to CPU `cpu`, level or edge. */
  enable(id: number, edge = false, cpu = 0): void {
    const w = id >>> 5;
    const bit = 1 << (id & 31);
    this.dw(GICD_IGROUPR + 4 * w, this.dr(GICD_IGROUPR + 4 * w) | bit);
    this.gic.distributor.write(GICD_IPRIORITYR + id, 1, 0xa0n);
    this.gic.distributor.write(GICD_IROUTER + 8 * id, 8, BigInt(cpu));
    this.configure(id, edge);
    this.dw(GICD_ISENABLER + 4 * w, bit);
  }

  /** GICD_ICFGR: edge (Int_config[1] = 1) or level. */
  configure(id: number, edge: boolean): void {
    const off = GICD_ICFGR + 4 * (id >>> 4);
    const shift = 2 * (id & 15) + 1;
    const v = this.dr(off);
    this.dw(off, edge ? v | (1 << shift) : v & ~(1 << shift));
  }

  pending(id: number): boolean {
    return ((this.dr(GICD_ISPENDR + 4 * (id >>> 5)) >>> (id & 31)) & 1) === 1;
  }

  active(id: number): boolean {
    return ((this.dr(GICD_ISACTIVER + 4 * (id >>> 5)) >>> (id & 31)) & 1) === 1;
  }

  /** The CPU's IRQ output. */
  irq(c = 0): boolean {
    return this.gic.outputLevels(c).irq;
  }

  /** ICC_IAR1_EL1: the acknowledged INTID or 1023. */
  ack(c = 0): number {
    return Number(this.sr(c, ICC.IAR1_EL1));
  }

  /** ICC_EOIR1_EL1. */
  eoi(id: number, c = 0): void {
    this.sw(c, ICC.EOIR1_EL1, BigInt(id));
  }

  /** ICC_CTLR_EL1.EOImode = 1: EOI only drops priority, ICC_DIR_EL1 deactivates. */
  splitEoi(c = 0): void {
    this.sw(c, ICC.CTLR_EL1, 2n);
  }

  dir(id: number, c = 0): void {
    this.sw(c, ICC.DIR_EL1, BigInt(id));
  }

  /** GICD_ICACTIVER: deactivate from the distributor. */
  clearActive(id: number): void {
    this.dw(GICD_ICACTIVER + 4 * (id >>> 5), 1 << (id & 31));
  }

  /** Acknowledge and end the interrupt in one go (a handler that does nothing in between). */
  handle(c = 0): number {
    const id = this.ack(c);
    if (id !== 1023) this.eoi(id, c);
    return id;
  }
}
