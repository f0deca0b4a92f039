// A small system for running guest ELFs under the hypervisor (hypervisor-abi.md §8.4, §10.6, §12):
// the root VM builds each guest VM through hypercalls only — its own cspace, memory extent and
// address space (RAM at IPA 0x4000_0000, as on QEMU virt), VIC (answering at the fixed GIC
// addresses), vpm_group and proxy-scheduled vCPUs — and a native host vCPU of the root VM (its
// cspace and addrspace) with its own VIC plays the VMM: it runs every guest vCPU with vcpu_run,
// emulates each VM's PL011 on VMMIO exits, and sleeps until a guest's run-wakeup VIRQ arrives when
// all are waiting. Loading images into guest memory is done directly here (it is the RM's job in
// later layers).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Hypervisor } from '../../src/hyp/hypervisor.js';
import { NativeVcpu } from '../../src/hyp/vm/native.js';
import { HypSystem, type SystemStop } from '../../src/hyp/system.js';
import { Err } from '../../src/hyp/abi/errors.js';
import type { Thread } from '../../src/hyp/vm/thread.js';
import { VCPU_RUN_STATE } from '../../src/hyp/vm/vcpu-run.js';
import { parseElf } from '../../src/vmm/loader/elf.js';
import { guestPath } from '../scenarios/guest-run.js';

export const RAM_IPA = 0x4000_0000;
/** Where the boot context goes (RAM base + 4 KiB, below the images at +512 KiB). */
export const CTX_IPA = RAM_IPA + 0x1000;
const UART = 0x0900_0000n;
const ONES = 0xffff_ffff_ffff_ffffn;
const RWX = 7n;
const MAP_ATTRS = 7n | (7n << 4n) | (15n << 16n);
const VCPU_OPTION_PROXY = 1n << 9n;
/** The host's VIC: run-wakeup VIRQs of guest vCPUs start here. */
const WAKEUP_VIRQ_BASE = 32;

export interface GuestVm {
  name: string;
  cspace: bigint;
  addrspace: bigint;
  vic: bigint;
  vpm: bigint;
  vcpus: bigint[];
  threads: Thread[];
  ramPa: number;
  ramSize: number;
  /** Console output (PL011 writes). */
  out: string;
  /** vCPU states as the host last saw them. */
  state: ('run' | 'wait' | 'off')[];
  /** How the VM ended, when it did. */
  end: string | null;
}

export function ok(r: { e: number; x: bigint[] }, what: string): bigint {
  assert.equal(r.e, Err.OK, what);
  return r.x[1]!;
}

export class GuestSystem {
  readonly hv = new Hypervisor({ memory: { base: 0x4000_0000, size: 256 * 1024 * 1024 } });
  readonly root = this.hv.createRootVm();
  readonly v = new NativeVcpu(this.hv, this.root.thread);
  readonly sys: HypSystem;
  readonly vms: GuestVm[] = [];
  readonly exits = { vmmioRead: 0, vmmioWrite: 0, wakeups: 0, runs: 0 };
  private nextPa = 0x4800_0000;
  private nextVmid = 10n;
  private hostVic = 0n;
  private readonly byWakeup = new Map<number, { vm: GuestVm; k: number }>();

  constructor(pcpus = 1) {
    this.sys = new HypSystem(this.hv, pcpus);
    const { v } = this;
    this.hostVic = this.mk('vic');
    ok(v.call('vic_configure', this.hostVic, 1n, 64n, 2n, 0n), 'host vic_configure');
    ok(v.call('object_activate', this.hostVic, 0n), 'host vic');
  }

  mk(type: string): bigint {
    return ok(
      this.v.call(`partition_create_${type}`, this.root.caps.partition, this.root.caps.cspace, 0n),
      `create ${type}`,
    );
  }

  /** Copy root cap `cap` into the VM's cspace with `rights`; returns its ID there. */
  give(vm: GuestVm, cap: bigint, rights: bigint): bigint {
    return ok(
      this.v.call('cspace_copy_cap_from', this.root.caps.cspace, cap, vm.cspace, rights, 0n),
      'cspace_copy_cap_from',
    );
  }

  /** Build a VM with `vcpus` proxy-scheduled vCPUs and `elf` loaded; vCPU 0 starts at its entry. */
  addVm(name: string, elf: string, opts: { vcpus?: number; ramSize?: number } = {}): GuestVm {
    const { v } = this;
    const nv = opts.vcpus ?? 1;
    const ramSize = opts.ramSize ?? 0x20_0000;
    const ramPa = this.nextPa;
    this.nextPa += ramSize;
    const cspace = this.mk('cspace');
    ok(v.call('cspace_configure', cspace, 64n, 0n), 'cspace_configure');
    ok(v.call('object_activate', cspace, 0n), 'activate cspace');
    const me = this.mk('memextent');
    ok(v.call('memextent_configure', me, BigInt(ramPa), BigInt(ramSize), RWX, 0n), 'memextent_configure');
    ok(v.call('object_activate', me, 0n), 'activate memextent');
    const addrspace = this.mk('addrspace');
    ok(v.call('addrspace_configure', addrspace, this.nextVmid++, 0n), 'addrspace_configure');
    ok(v.call('object_activate', addrspace, 0n), 'activate addrspace');
    ok(v.call('addrspace_map', addrspace, me, BigInt(RAM_IPA), MAP_ATTRS, 0n, 0n, 0n), 'addrspace_map');
    ok(v.call('addrspace_configure_vmmio', addrspace, UART, 0x1000n, 0n, 0n), 'VMMIO range for the PL011');
    const vic = this.mk('vic');
    ok(v.call('vic_configure', vic, BigInt(nv), 64n, 0n, 0n), 'vic_configure');
    ok(v.call('object_activate', vic, 0n), 'activate vic');
    const vpm = this.mk('vpm_group');
    ok(v.call('vpm_group_configure', vpm, 0n, 0n), 'vpm_group_configure');
    ok(v.call('object_activate', vpm, 0n), 'activate vpm_group');
    const vm: GuestVm = {
      name,
      cspace,
      addrspace,
      vic,
      vpm,
      vcpus: [],
      threads: [],
      ramPa,
      ramSize,
      out: '',
      state: [],
      end: null,
    };
    for (let i = 0; i < nv; i++) {
      const t = this.mk('thread');
      ok(v.call('vcpu_configure', t, VCPU_OPTION_PROXY, 0n), 'vcpu_configure');
      ok(v.call('vcpu_set_affinity', t, 0n, ONES), 'affinity');
      ok(v.call('cspace_attach_thread', cspace, t, 0n), 'cspace_attach_thread');
      ok(v.call('addrspace_attach_thread', addrspace, t, 0n), 'addrspace_attach_thread');
      ok(v.call('vic_attach_vcpu', vic, t, BigInt(i), 0n), 'vic_attach_vcpu');
      ok(v.call('vpm_group_attach_vcpu', vpm, t, BigInt(i), 0n), 'vpm_group_attach_vcpu');
      ok(v.call('object_activate', t, 0n), 'activate thread');
      const virq = WAKEUP_VIRQ_BASE + this.byWakeup.size;
      ok(v.call('vcpu_bind_virq', t, this.hostVic, BigInt(virq), 1n, 0n), 'bind run-wakeup');
      this.byWakeup.set(virq, { vm, k: i });
      vm.vcpus.push(t);
      const obj = this.root.cspace.lookup<Thread>(t, 'thread', 0, false) as Thread;
      vm.threads.push(obj);
      vm.state.push('off');
      this.sys.addEmulated(obj);
    }
    const image = parseElf(readFileSync(guestPath(elf)));
    for (const seg of image.segments) {
      const at = this.ramOffset(vm, seg.paddr);
      this.hv.mem.phys.bytes.fill(0, at, at + seg.memsz);
      this.hv.mem.phys.bytes.set(seg.data, at);
    }
    this.vms.push(vm);
    (vm as GuestVm & { entry: number }).entry = image.entry;
    return vm;
  }

  private ramOffset(vm: GuestVm, ipa: number): number {
    return vm.ramPa - this.hv.mem.phys.base + (ipa - RAM_IPA);
  }

  /** Write u64 words at IPA `ipa` of the VM. */
  poke64(vm: GuestVm, ipa: number, words: readonly bigint[]): void {
    const b = this.hv.mem.phys.bytes;
    const dv = new DataView(b.buffer, b.byteOffset);
    words.forEach((w, k) => dv.setBigUint64(this.ramOffset(vm, ipa) + 8 * k, w, true));
  }

  /** Power on vCPU 0 of every VM at its entry with x0 = CTX_IPA, start the host, and run. */
  run(limitNs: number): SystemStop {
    const { v } = this;
    for (const vm of this.vms) {
      const entry = (vm as GuestVm & { entry: number }).entry;
      ok(v.call('vcpu_poweron', vm.vcpus[0]!, BigInt(entry), BigInt(CTX_IPA), 0n), `${vm.name} poweron`);
      vm.state[0] = 'run';
    }
    const host = this.mk('thread');
    ok(v.call('vcpu_set_affinity', host, 0n, ONES), 'host affinity');
    ok(v.call('vcpu_set_priority', host, 40n), 'host priority above its guests');
    // The host is a vCPU of the root VM: the root's cspace and addrspace (§4.5), its own VIC.
    ok(v.call('cspace_attach_thread', this.root.caps.cspace, host, 0n), 'host cspace');
    ok(v.call('addrspace_attach_thread', this.root.caps.addrspace, host, 0n), 'host addrspace');
    ok(v.call('vic_attach_vcpu', this.hostVic, host, 0n, 0n), 'host vic attach');
    ok(v.call('object_activate', host, 0n), 'host activate');
    ok(v.call('vcpu_poweron', host, 0n, 0n, 0n), 'host poweron');
    let started = false;
    this.sys.addNative(this.root.cspace.lookup<Thread>(host, 'thread', 0, false) as Thread, {
      step: (h: NativeVcpu) => {
        const irq = h.irq!;
        if (!started) {
          irq.init();
          for (const virq of this.byWakeup.keys()) irq.enable(virq, true);
          started = true;
        }
        return this.hostStep(h);
      },
    });
    return this.sys.run(limitNs);
  }

  private readonly resume = new Map<bigint, bigint>();

  private hostStep(h: NativeVcpu): 'yield' | 'wait' | 'off' {
    const irq = h.irq!;
    for (let id = irq.ack(); id !== 1023; id = irq.ack()) {
      this.exits.wakeups++;
      const w = this.byWakeup.get(id);
      if (w && w.vm.end === null) w.vm.state[w.k] = 'run';
      irq.eoi(id);
    }
    let anyRun = false;
    for (const vm of this.vms) {
      for (let k = 0; k < vm.vcpus.length; k++) {
        if (vm.state[k] !== 'run' || vm.end !== null) continue;
        anyRun = true;
        this.runVcpu(h, vm, k);
      }
    }
    if (this.vms.every((vm) => vm.end !== null)) return 'off';
    return anyRun ? 'yield' : 'wait';
  }

  /** vcpu_run one vCPU until it stops for something other than a VMMIO access. */
  private runVcpu(h: NativeVcpu, vm: GuestVm, k: number): void {
    const cap = vm.vcpus[k]!;
    for (;;) {
      this.exits.runs++;
      const r = h.call('vcpu_run', cap, this.resume.get(cap) ?? 0n, 0n, 0n, 0n);
      this.resume.set(cap, 0n);
      if (r.e !== Err.OK) {
        vm.end = `vcpu_run error ${r.e}`;
        return;
      }
      const [state, ipa, size, value] = [Number(r.x[1]!), r.x[2]!, r.x[3]!, r.x[4]!];
      switch (state) {
        case VCPU_RUN_STATE.READY:
          return;
        case VCPU_RUN_STATE.EXPECTS_WAKEUP:
          vm.state[k] = 'wait';
          return;
        case VCPU_RUN_STATE.ADDRSPACE_VMMIO_WRITE:
          this.exits.vmmioWrite++;
          if (ipa === UART && size <= 4n) vm.out += String.fromCharCode(Number(value & 0xffn));
          continue;
        case VCPU_RUN_STATE.ADDRSPACE_VMMIO_READ:
          // Every PL011 register reads 0 here: FR.TXFF clear, so transmits never wait.
          this.exits.vmmioRead++;
          continue;
        case VCPU_RUN_STATE.POWERED_OFF:
          vm.state[k] = 'off';
          // The VM is over when its boot vCPU is off (PSCI SYSTEM_OFF kills the others).
          if (k === 0) vm.end = r.x[2]! & 1n ? 'exited' : 'powered off';
          return;
        default:
          vm.end = `state 0x${state.toString(16)}`;
          return;
      }
    }
  }
}
