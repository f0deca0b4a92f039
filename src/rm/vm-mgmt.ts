// VM management requests (RM spec §1.7, §2.2, §3): VMIDs, the VM table with owners and peers, the
// VM state machine, and the messages that only need those: VM_ALLOCATE, VM_DEALLOCATE,
// VM_GET_STATE, VM_GET_VMID, VM_GET_OWNER, VM_GET_PEERS, VM_HOST_GET_TYPE. Each handler checks in
// the spec's order and answers with one reply; a request that fails changes nothing. Payloads are
// read and written with the typed codecs of msgs/ (their decode errors are the RM's answers).

import { RmError } from './rpc/index.js';
import {
  HOST_TYPE_GUNYAH_AARCH64,
  vmAllocateMsg,
  vmDeallocateMsg,
  vmGetOwnerMsg,
  vmGetPeersMsg,
  vmGetStateMsg,
  vmGetVmidMsg,
  vmHostGetTypeMsg,
  type Codec,
  type Empty,
} from './msgs/index.js';

/** VM states (§3). */
export const VmState = {
  NONE: 0,
  INIT: 1,
  READY: 2,
  RUNNING: 3,
  PAUSED: 4,
  LOAD: 5,
  AUTH: 6,
  INIT_FAILED: 8,
  EXITED: 9,
  RESETTING: 10,
  RESET: 11,
} as const;
export type VmState = (typeof VmState)[keyof typeof VmState];

/** Legal transitions (§3 table): to → allowed from. */
const ALLOWED_FROM: Readonly<Record<number, readonly number[]>> = {
  [VmState.LOAD]: [VmState.NONE],
  [VmState.AUTH]: [VmState.LOAD, VmState.RESET],
  [VmState.INIT]: [VmState.LOAD, VmState.AUTH, VmState.RESET],
  [VmState.READY]: [VmState.INIT],
  [VmState.RUNNING]: [VmState.READY, VmState.PAUSED],
  [VmState.PAUSED]: [VmState.RUNNING],
  [VmState.INIT_FAILED]: [VmState.INIT, VmState.READY, VmState.LOAD, VmState.AUTH, VmState.RESET],
  [VmState.EXITED]: [VmState.RUNNING, VmState.PAUSED],
  [VmState.RESETTING]: [VmState.EXITED, VmState.READY, VmState.INIT_FAILED],
  [VmState.RESET]: [VmState.RESETTING],
  [VmState.NONE]: [VmState.RESET],
};

export function transitionAllowed(from: number, to: number): boolean {
  return ALLOWED_FROM[to]?.includes(from) ?? false;
}

/** VMIDs (§1.7). */
export const VMID_HYP = 0;
export const VMID_HLOS = 3;
export const VMID_RM = 0xff;
/** The QEMU platform's secondary VMIDs: bitmap 0xFFFFFFF0 = 4..31. */
export const SECONDARY_VMIDS = { first: 4, last: 31 } as const;
/** Dynamic VMIDs, handed out lowest first by VM_ALLOCATE(0). */
export const DYNAMIC_VMIDS = { first: 0x80, last: 0xbe } as const;
/** VM_HOST_GET_TYPE's answer: AArch64 (0x64), Gunyah + RM (1), version 1 (§2.2). */
export const HOST_TYPE = HOST_TYPE_GUNYAH_AARCH64;

/** One VM as the RM tracks it. */
export interface VmRecord {
  vmid: number;
  /** The VMID that allocated it (the RM itself for the primary). */
  owner: number;
  state: VmState;
  osState: number;
  appStatus: number;
  /** VMIDs that may query it and get its status notifications (the owner always). */
  peers: Set<number>;
}

/** A reply: the RM error and, on success, the data after it. */
export interface Reply {
  error: number;
  data?: Uint8Array;
}

const ok = (data?: Uint8Array): Reply => (data ? { error: RmError.OK, data } : { error: RmError.OK });
const err = (error: number): Reply => ({ error });

/** The empty request of each question about the caller, and the codec of its u32 answer. */
const ABOUT_CALLER: Readonly<Record<'vmid' | 'owner' | 'host-type', { request: Codec<Empty>; reply: Codec<number> }>> =
  {
    vmid: vmGetVmidMsg,
    owner: vmGetOwnerMsg,
    'host-type': vmHostGetTypeMsg,
  };

/** The VM table and the VMID allocator. */
export class VmTable {
  readonly vms = new Map<number, VmRecord>();
  /** Called on every state change (the RM sends NOTIFY_VM_STATUS to the VM's running peers). */
  onStatus: ((vm: VmRecord) => void) | null = null;

  /**
   * Register a VM in `state` (ALLOCATE's LOAD, or the primary the RM builds). Its owner, when it is
   * a VM, becomes its peer and it the owner's (peers are symmetric [infer]: each may query the
   * other, and each gets the other's VM_STATUS).
   */
  adopt(vmid: number, owner: number, state: VmState): VmRecord {
    const vm: VmRecord = { vmid, owner, state, osState: 0, appStatus: 0, peers: new Set() };
    this.vms.set(vmid, vm);
    const o = this.vms.get(owner);
    if (o !== undefined) {
      vm.peers.add(owner);
      o.peers.add(vmid);
    }
    return vm;
  }

  /** Forget a VM (DEALLOCATE): it leaves every peer list. */
  private remove(vm: VmRecord): void {
    this.vms.delete(vm.vmid);
    for (const p of vm.peers) this.vms.get(p)?.peers.delete(vm.vmid);
  }

  /** Change state along a legal transition; false (and nothing changes) otherwise. */
  setState(vm: VmRecord, to: VmState): boolean {
    if (!transitionAllowed(vm.state, to)) return false;
    vm.state = to;
    this.onStatus?.(vm);
    return true;
  }

  /** vm_status | os_state << 8 | app_status << 16 (VM_GET_STATE, §2.2). */
  static status(vm: VmRecord): number {
    return (vm.state | (vm.osState << 8) | (vm.appStatus << 16)) >>> 0;
  }

  /** Whether `caller` may query `vm` (self, owner or peer). */
  private mayQuery(caller: number, vm: VmRecord): boolean {
    return caller === vm.vmid || caller === vm.owner || vm.peers.has(caller);
  }

  /**
   * VM_ALLOCATE (§2.2): only the primary may; exactly 4 bytes. vmid 0 → the lowest free dynamic
   * VMID, returned as u32; otherwise a free secondary VMID, with no payload in the reply.
   * [infer, §9.2] Allocation sends no VM_STATUS: the VM comes into being in LOAD.
   */
  allocate(caller: number, p: Uint8Array): Reply {
    if (caller !== VMID_HLOS) return err(RmError.DENIED);
    const d = vmAllocateMsg.request.decode(p);
    if (!d.ok) return err(d.error);
    const want = d.value.vmid;
    if (want === 0) {
      for (let id = DYNAMIC_VMIDS.first; id <= DYNAMIC_VMIDS.last; id++) {
        if (!this.vms.has(id)) {
          this.adopt(id, caller, VmState.LOAD);
          return ok(vmAllocateMsg.reply.encode({ vmid: id }));
        }
      }
      return err(RmError.NORESOURCE);
    }
    if (want < SECONDARY_VMIDS.first || want > SECONDARY_VMIDS.last || this.vms.has(want)) {
      return err(RmError.NORESOURCE);
    }
    this.adopt(want, caller, VmState.LOAD);
    return ok();
  }

  /**
   * VM_DEALLOCATE (§2.2, §9.3): exactly 4 bytes; an unknown (or already freed) VMID is
   * VMID_INVALID (the real RM stops answering there); only the owner (DENIED); in LOAD or RESET
   * (VM_STATE). Frees the VMID.
   */
  deallocate(caller: number, p: Uint8Array): Reply {
    const d = vmDeallocateMsg.request.decode(p);
    if (!d.ok) return err(d.error);
    const vm = this.vms.get(d.value.vmid);
    if (vm === undefined) return err(RmError.VMID_INVALID);
    if (vm.owner !== caller) return err(RmError.DENIED);
    if (vm.state !== VmState.LOAD && vm.state !== VmState.RESET) return err(RmError.VM_STATE);
    this.remove(vm);
    return ok();
  }

  /** VM_GET_STATE (§2.2): vmid 0 = self; unknown → NORESOURCE; self/owner/peers only (DENIED). */
  getState(caller: number, p: Uint8Array): Reply {
    const d = vmGetStateMsg.request.decode(p);
    if (!d.ok) return err(d.error);
    const want = d.value.vmid;
    const vm = this.vms.get(want === 0 ? caller : want);
    if (vm === undefined) return err(RmError.NORESOURCE);
    if (!this.mayQuery(caller, vm)) return err(RmError.DENIED);
    return ok(vmGetStateMsg.reply.encode({ vmState: vm.state, osState: vm.osState, appStatus: vm.appStatus }));
  }

  /** VM_GET_VMID / VM_GET_OWNER / VM_GET_PEERS / VM_HOST_GET_TYPE: empty requests about the caller. */
  aboutCaller(what: 'vmid' | 'owner' | 'peers' | 'host-type', caller: number, p: Uint8Array): Reply {
    if (what === 'peers') {
      const d = vmGetPeersMsg.request.decode(p);
      if (!d.ok) return err(d.error);
      const vm = this.vms.get(caller);
      const peers = vm ? [...vm.peers].filter((id) => id !== caller).sort((a, b) => a - b) : [];
      return ok(vmGetPeersMsg.reply.encode(peers));
    }
    const msg = ABOUT_CALLER[what];
    const d = msg.request.decode(p);
    if (!d.ok) return err(d.error);
    switch (what) {
      case 'vmid':
        return ok(msg.reply.encode(caller));
      case 'owner':
        return ok(msg.reply.encode(this.vms.get(caller)?.owner ?? VMID_RM));
      case 'host-type':
        return ok(msg.reply.encode(HOST_TYPE));
    }
  }
}
