// The RM console (RM spec §2.5): a character channel between a VM (the guest side, target 0 = "my
// own console") and its owner (target = the VM's VMID). Each side opens and closes its end; a
// write from an open side reaches the other side as NOTIFY_VM_CONSOLE_CHARS {u16 from; u16 n;
// bytes[n]} — from = the guest's VMID for guest → owner, 0 for owner → guest — and is dropped
// (still OK) while the other side is closed. Only VMs whose rm-rpc vdevice is marked console-dev
// have a console.

import { MsgId, RmError } from './rpc/index.js';
import type { Reply } from './vm-mgmt.js';

/** One VM's console ends. */
export interface ConsoleState {
  guestOpen: boolean;
  ownerOpen: boolean;
}

export interface ConsoleHost {
  /** The console of VM `vmid`, or undefined if it has none (or does not exist). */
  consoleOf(vmid: number): ConsoleState | undefined;
  /** The owner VMID of VM `vmid`. */
  ownerOf(vmid: number): number | undefined;
  notify(vmid: number, msgId: number, payload: Uint8Array): void;
}

type Side = { vmid: number; console: ConsoleState; guest: boolean };

/**
 * Resolve `target` for `caller`: 0 = the caller's own console (its guest side), else the console of
 * VM `target`, which only its owner may address (the owner side). Unknown VM or no console →
 * ARGUMENT_INVALID; a non-owner naming another VM → DENIED.
 */
function side(host: ConsoleHost, caller: number, target: number): Side | number {
  const vmid = target === 0 ? caller : target;
  const console = host.consoleOf(vmid);
  if (console === undefined) return RmError.ARGUMENT_INVALID;
  if (target !== 0 && host.ownerOf(vmid) !== caller) return RmError.DENIED;
  return { vmid, console, guest: target === 0 };
}

/** VM_CONSOLE_OPEN / CLOSE / FLUSH: `{u16 target; u16 res}`, exactly 4 bytes. */
export function consoleControl(
  host: ConsoleHost,
  what: 'open' | 'close' | 'flush',
  caller: number,
  p: Uint8Array,
): Reply {
  if (p.length !== 4) return { error: RmError.MSG_INVALID };
  const s = side(host, caller, new DataView(p.buffer, p.byteOffset, 4).getUint16(0, true));
  if (typeof s === 'number') return { error: s };
  if (what !== 'flush') {
    const open = what === 'open';
    if (s.guest) s.console.guestOpen = open;
    else s.console.ownerOpen = open;
  }
  // Writes are delivered at once: there is nothing to flush.
  return { error: RmError.OK };
}

/** VM_CONSOLE_WRITE: `{u16 target; u16 n; bytes[n]}`, exactly 4 + n bytes. */
export function consoleWrite(host: ConsoleHost, caller: number, p: Uint8Array): Reply {
  if (p.length < 4) return { error: RmError.MSG_INVALID };
  const dv = new DataView(p.buffer, p.byteOffset, p.length);
  const n = dv.getUint16(2, true);
  if (p.length !== 4 + n) return { error: RmError.MSG_INVALID };
  const s = side(host, caller, dv.getUint16(0, true));
  if (typeof s === 'number') return { error: s };
  const mine = s.guest ? s.console.guestOpen : s.console.ownerOpen;
  if (!mine) return { error: RmError.DENIED };
  const theirs = s.guest ? s.console.ownerOpen : s.console.guestOpen;
  if (!theirs) return { error: RmError.OK };
  const to = s.guest ? host.ownerOf(s.vmid)! : s.vmid;
  const out = new Uint8Array(4 + n);
  const ov = new DataView(out.buffer);
  ov.setUint16(0, s.guest ? s.vmid : 0, true);
  ov.setUint16(2, n, true);
  out.set(p.subarray(4), 4);
  host.notify(to, MsgId.NOTIFY_VM_CONSOLE_CHARS, out);
  return { error: RmError.OK };
}
