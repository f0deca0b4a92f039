// IRQ lending (RM spec §2.7): a VM lends a hardware interrupt bound to it to another VM. The RM
// tracks each lend by a handle (a 32-bit base chosen at start + the HW IRQ number) through OFFERED
// → ACCEPTED → (release) OFFERED → (reclaim) gone, and moves the hwirq's binding with hypercalls:
//
// - LEND: the IRQ must be a bound hardware IRQ of the caller (IRQ_INVALID) not already lent
//   (IRQ_INUSE). [infer] The owner's binding is dropped at once (hwirq_unbind_virq): while lent the
//   owner no longer takes it.
// - ACCEPT (borrower): hwirq_bind_virq to the borrower's VIC at the VIRQ it asks for, or at the HW
//   IRQ number when it passes 0xFFFFFFFF.
// - RELEASE (borrower): unbind from the borrower; back to OFFERED.
// - RECLAIM (owner, from OFFERED): bind back to the owner at its original VIRQ; the handle is gone.
// - NOTIFY: LENT (owner → NOTIFY_VM_IRQ_LENT {u16 owner; u16 pad; u32 handle; u32 label} to the
//   borrower), RELEASED / ACCEPTED (borrower → {u32 handle} to the owner).
// Error codes and their order are the spec's.

import { MsgId, RmError } from './rpc/index.js';
import type { Reply } from './vm-mgmt.js';

const RM_CHOOSES = 0xffff_ffff;
const FLAG_LENT = 1;
const FLAG_RELEASED = 2;
const FLAG_ACCEPTED = 4;

/** A hardware IRQ bound to a VM: which hwirq cap (root cspace), to which VM and VIRQ. */
export interface HwIrqBinding {
  hwIrq: number;
  hwirqCap: bigint;
  vmid: number;
  virq: number;
}

interface Lend {
  handle: number;
  owner: number;
  ownerVirq: number;
  borrower: number;
  label: number;
  binding: HwIrqBinding;
  accepted: boolean;
}

export interface IrqHost {
  /** The VIC cap (root cspace) of VM `vmid`, if the RM built it. */
  vicOf(vmid: number): bigint | undefined;
  /** hwirq_bind_virq / hwirq_unbind_virq; returns the hypervisor error. */
  bind(hwirqCap: bigint, vic: bigint, virq: number): number;
  unbind(hwirqCap: bigint): number;
  notify(vmid: number, msgId: number, payload: Uint8Array): void;
}

const u32 = (v: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  return b;
};

export class IrqLending {
  /** Hardware IRQs bound to VMs, by HW IRQ number. */
  readonly bindings = new Map<number, HwIrqBinding>();
  private readonly lends = new Map<number, Lend>();

  constructor(
    private readonly host: IrqHost,
    /** The handle base (random at start, §2.7). */
    readonly handleBase: number,
  ) {}

  /** Record that `hwIrq` is bound to `vmid` at `virq` (the RM did it with hwirq_bind_virq). */
  noteBinding(b: HwIrqBinding): void {
    this.bindings.set(b.hwIrq, b);
  }

  /** VM_IRQ_LEND: 12 bytes `{u16 borrower; u16 pad; u32 virq; u32 label}` → `{u32 handle}`. */
  lend(caller: number, p: Uint8Array): Reply {
    if (p.length !== 12) return { error: RmError.MSG_INVALID };
    const dv = new DataView(p.buffer, p.byteOffset, 12);
    const borrower = dv.getUint16(0, true);
    const virq = dv.getUint32(4, true);
    const label = dv.getUint32(8, true);
    const b = [...this.bindings.values()].find((x) => x.vmid === caller && x.virq === virq);
    if (b === undefined) {
      // Lent already (its binding is held by the lend), or not a bound HW IRQ of the caller.
      const lent = [...this.lends.values()].some((l) => l.owner === caller && l.ownerVirq === virq);
      return { error: lent ? RmError.IRQ_INUSE : RmError.IRQ_INVALID };
    }
    const handle = (this.handleBase + b.hwIrq) >>> 0;
    // The borrower VMID is not validated at LEND (§2.7).
    if (this.host.unbind(b.hwirqCap) !== 0) return { error: RmError.IRQ_INVALID };
    this.bindings.delete(b.hwIrq);
    this.lends.set(handle, { handle, owner: caller, ownerVirq: virq, borrower, label, binding: b, accepted: false });
    return { error: RmError.OK, data: u32(handle) };
  }

  /** VM_IRQ_ACCEPT: 8 bytes `{u32 handle; u32 virq}` → `{u32 virq}` (borrower only). */
  accept(caller: number, p: Uint8Array): Reply {
    if (p.length !== 8) return { error: RmError.MSG_INVALID };
    const dv = new DataView(p.buffer, p.byteOffset, 8);
    const l = this.lends.get(dv.getUint32(0, true));
    if (l === undefined || l.borrower !== caller) return { error: RmError.HANDLE_INVALID };
    if (l.accepted) return { error: RmError.IN_USE };
    const want = dv.getUint32(4, true);
    const virq = want === RM_CHOOSES ? l.binding.hwIrq : want;
    const vic = this.host.vicOf(caller);
    if (vic === undefined || this.host.bind(l.binding.hwirqCap, vic, virq) !== 0) return { error: RmError.IRQ_INVALID };
    l.accepted = true;
    l.binding = { ...l.binding, vmid: caller, virq };
    return { error: RmError.OK, data: u32(virq) };
  }

  /** VM_IRQ_RELEASE: `{u32 handle}` (borrower, ACCEPTED). */
  release(caller: number, p: Uint8Array): Reply {
    if (p.length !== 4) return { error: RmError.MSG_INVALID };
    const l = this.lends.get(new DataView(p.buffer, p.byteOffset, 4).getUint32(0, true));
    if (l === undefined || l.borrower !== caller) return { error: RmError.HANDLE_INVALID };
    if (!l.accepted) return { error: RmError.IN_USE };
    this.host.unbind(l.binding.hwirqCap);
    l.accepted = false;
    return { error: RmError.OK };
  }

  /** VM_IRQ_RECLAIM: `{u32 handle}` (owner, OFFERED): the IRQ goes back to the owner. */
  reclaim(caller: number, p: Uint8Array): Reply {
    if (p.length !== 4) return { error: RmError.MSG_INVALID };
    const l = this.lends.get(new DataView(p.buffer, p.byteOffset, 4).getUint32(0, true));
    if (l === undefined || l.owner !== caller) return { error: RmError.HANDLE_INVALID };
    if (l.accepted) return { error: RmError.IN_USE };
    const vic = this.host.vicOf(l.owner);
    if (vic !== undefined) this.host.bind(l.binding.hwirqCap, vic, l.ownerVirq);
    this.lends.delete(l.handle);
    this.bindings.set(l.binding.hwIrq, { ...l.binding, vmid: l.owner, virq: l.ownerVirq });
    return { error: RmError.OK };
  }

  /** VM_IRQ_NOTIFY: `{u32 handle; u32 flags}` (+ an optional VMID list for LENT). */
  notify(caller: number, p: Uint8Array): Reply {
    if (p.length < 8) return { error: RmError.MSG_INVALID };
    const dv = new DataView(p.buffer, p.byteOffset, p.length);
    const handle = dv.getUint32(0, true);
    const flags = dv.getUint32(4, true);
    const l = this.lends.get(handle);
    if (flags !== FLAG_LENT && p.length !== 8) return { error: RmError.MSG_INVALID };
    switch (flags) {
      case FLAG_LENT: {
        if (l === undefined || l.owner !== caller) return { error: RmError.HANDLE_INVALID };
        // Optional list `{u16 n; u16 pad; n × {u16 vmid; u16 pad}}`: at most the borrower.
        if (p.length > 8) {
          if (p.length < 12) return { error: RmError.ARGUMENT_INVALID };
          const n = dv.getUint16(8, true);
          if (n > 1 || p.length !== 12 + 4 * n) return { error: RmError.ARGUMENT_INVALID };
          if (n === 1 && dv.getUint16(12, true) !== l.borrower) return { error: RmError.ARGUMENT_INVALID };
        }
        if (l.accepted) return { error: RmError.IRQ_INUSE };
        const out = new Uint8Array(12);
        const ov = new DataView(out.buffer);
        ov.setUint16(0, l.owner, true);
        ov.setUint32(4, l.handle, true);
        ov.setUint32(8, l.label, true);
        this.host.notify(l.borrower, MsgId.NOTIFY_VM_IRQ_LENT, out);
        return { error: RmError.OK };
      }
      case FLAG_RELEASED:
        if (l === undefined || l.borrower !== caller) return { error: RmError.HANDLE_INVALID };
        if (l.accepted) return { error: RmError.IRQ_INUSE };
        this.host.notify(l.owner, MsgId.NOTIFY_VM_IRQ_RELEASED, u32(l.handle));
        return { error: RmError.OK };
      case FLAG_ACCEPTED:
        if (l === undefined || l.borrower !== caller) return { error: RmError.HANDLE_INVALID };
        if (!l.accepted) return { error: RmError.IRQ_RELEASED };
        this.host.notify(l.owner, MsgId.NOTIFY_VM_IRQ_ACCEPTED, u32(l.handle));
        return { error: RmError.OK };
      default:
        return { error: RmError.ARGUMENT_INVALID };
    }
  }
}
