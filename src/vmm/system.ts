// The whole system as Gunyah runs on its QEMU platform (issue 5; DESIGN.md §3): the hypervisor
// boots the root VM, whose vCPU runs the resource manager; the RM builds the primary VM (the HLOS,
// VMID 3) over the HLOS memory with the UART passed through, patches the device tree the platform
// left for it, and powers it on at the HLOS entry. This module plays the platform's part — the
// boot loader that places the primary's image and device tree in memory, and the physical PL011 —
// and runs the lot deterministically on virtual time.

import { Hypervisor } from '../hyp/hypervisor.js';
import type { TraceSink } from '../hyp/trace.js';
import { HYPERCALL_BY_NUM } from '../hyp/abi/hypercalls.js';
import { HypSystem, type NativeProgram, type SystemStop } from '../hyp/system.js';
import { HLOS_DT_BASE, HLOS_ENTRY, HLOS_VM_BASE, HLOS_VM_SIZE } from '../hyp/boot/rootvm.js';
import { Pl011 } from '../machine/pl011.js';
import { ResourceManager } from '../rm/rm.js';
import type { Segment } from './loader/elf.js';
import { PLATFORM } from './dt/platform.js';

const MiB = 1024 * 1024;
/** Physical RAM from 0x4000_0000: the HLOS memory, the RM's region and the rest (both layouts). */
const RAM_BASE = 0x4000_0000;
const RAM_SIZE = 2048 * MiB;

/** Where the primary VM's memory, entry and device tree are (IPA = PA). */
export interface HlosMap {
  readonly base: bigint;
  readonly size: bigint;
  readonly entry: bigint;
  readonly dtBase: bigint;
}

/** The primary VM's memory map on Gunyah's QEMU platform (RM spec §4.2, hypervisor-abi §11.3). */
export const HLOS: HlosMap = {
  base: BigInt(HLOS_VM_BASE),
  size: BigInt(HLOS_VM_SIZE),
  entry: BigInt(HLOS_ENTRY),
  dtBase: BigInt(HLOS_DT_BASE),
};

/**
 * The memory of a native primary (the built-in host VMM), which carves its guests' RAM out of its
 * own memory as Linux does: 0x4000_0000 up to 0xBFE0_0000, nearly 2 GiB, instead of the platform's
 * 1 GiB, so that a guest can have 1 GiB. No guest code sees the primary's map, so it need not be the
 * platform's. The RM region (its usual 0xA_0000 bytes) moves from 0x8048_0000, which this memory
 * covers, to the last 2 MiB of RAM. RAM is 2 GiB (the CPU handles offsets past 2^31 since its
 * block builder stopped shifting them; Node 20 arrays reach 4 GiB, so it could grow). RAM costs the
 * host only where it is touched: one lazily allocated, zero-filled array whose untouched pages the
 * OS never commits.
 */
export const HOST_HLOS: HlosMap = {
  base: BigInt(HLOS_VM_BASE),
  size: 0x7fe0_0000n,
  entry: BigInt(HLOS_ENTRY),
  dtBase: BigInt(HLOS_DT_BASE),
};
const HOST_RM_REGION = { base: Number(HOST_HLOS.base + HOST_HLOS.size), size: 0xa_0000 };

/** A problem with what the user asked to boot (the CLI's exit code 2). */
export class SystemConfigError extends Error {}

export interface SystemOptions {
  /** Physical CPUs (default 1). */
  cpus?: number;
  /** Every byte the PL011 transmits. */
  onConsole: (byte: number) => void;
  /**
   * Where trace events go (hypercalls, objects, vIRQs, scheduling, faults, and each RM RPC message
   * as a 'message' event on the RM's track); none when absent.
   */
  trace?: TraceSink;
  /**
   * The primary VM: its image as segments at physical addresses (inside the HLOS memory), and the
   * device tree the platform leaves at hlos_dt_base for the RM to patch. With `program`, a native
   * program (the built-in host VMM, or a test's) runs the primary's vCPU instead of the image.
   */
  primary: { segments?: readonly Segment[]; dt?: Uint8Array; program?: NativeProgram };
  /**
   * The primary's memory: 'platform' (HLOS, Gunyah's QEMU layout, what an image expects) or 'host'
   * (HOST_HLOS, room for large guests). Default: 'host' for a native program, else 'platform'.
   */
  layout?: 'platform' | 'host';
}

export class GunyahSystem {
  readonly hv: Hypervisor;
  readonly sys: HypSystem;
  readonly rm: ResourceManager;
  readonly uart: Pl011;
  /** The primary's memory map (HLOS or HOST_HLOS). */
  readonly hlos: HlosMap;

  constructor(o: SystemOptions) {
    const host = (o.layout ?? (o.primary.program !== undefined ? 'host' : 'platform')) === 'host';
    this.hlos = host ? HOST_HLOS : HLOS;
    this.hv = new Hypervisor({
      memory: { base: RAM_BASE, size: RAM_SIZE, rmRegion: host ? HOST_RM_REGION : undefined },
    });
    const root = this.hv.createRootVm({ hlosSize: Number(this.hlos.size) });
    this.sys = new HypSystem(this.hv, o.cpus ?? 1);
    this.uart = new Pl011(o.onConsole, (level) => this.hv.platformIrq(PLATFORM.uart.spi, level));
    this.sys.mapDevice(Number(PLATFORM.uart.base), Number(PLATFORM.uart.size), this.uart);
    if (o.trace) this.hv.tracer.sink = o.trace;
    const tracer = this.hv.tracer;
    this.rm = new ResourceManager({
      primaryVcpus: o.cpus ?? 1,
      onRpc: o.trace
        ? (vmid, dir, text) =>
            tracer.emit({
              kind: 'message',
              t: this.hv.now(),
              cpu: 0,
              vcpu: 'rm',
              text: `${dir === 'in' ? `VM ${vmid} → RM` : `RM → VM ${vmid}`}: ${text}`,
            })
        : undefined,
    });
    this.sys.addNative(root.thread, this.rm);
    const p = o.primary;
    const hlos = this.hlos;
    const dt = p.dt ?? new Uint8Array(0);
    const dtRoom = hlos.entry - hlos.dtBase;
    if (BigInt(dt.length) > dtRoom) {
      throw new SystemConfigError(
        `the device tree (${dt.length} bytes) does not fit below the entry (${dtRoom} bytes)`,
      );
    }
    for (const s of p.segments ?? []) {
      const end = BigInt(s.paddr) + BigInt(s.memsz);
      if (BigInt(s.paddr) < hlos.base || end > hlos.base + hlos.size) {
        throw new SystemConfigError(
          `a segment at 0x${s.paddr.toString(16)}–0x${end.toString(16)} is outside the primary's memory ` +
            `(0x${hlos.base.toString(16)}–0x${(hlos.base + hlos.size).toString(16)})`,
        );
      }
      if (BigInt(s.paddr) < hlos.dtBase + BigInt(dt.length) && end > hlos.dtBase) {
        throw new SystemConfigError(
          `a segment at 0x${s.paddr.toString(16)} overlaps the device tree at 0x${hlos.dtBase.toString(16)}`,
        );
      }
      const bytes = new Uint8Array(s.memsz);
      bytes.set(s.data);
      this.hv.mem.phys.preload(s.paddr, bytes);
    }
    if (dt.length > 0) this.hv.mem.phys.preload(Number(hlos.dtBase), dt);
    // The first vCPU the RM powers on is the primary's; the VMs it creates later run their code.
    let first = p.program !== undefined;
    this.sys.spawn = () => {
      if (!first) return 'emulate';
      first = false;
      return p.program!;
    };
  }

  /** Run until virtual time `untilNs` (absolute), the platform powers off or resets, or all idle. */
  run(untilNs: number): SystemStop {
    return this.sys.run(untilNs);
  }

  /** Hypercalls made so far, by name (only those made at least once). */
  get hypercallCounts(): Map<string, number> {
    const out = new Map<string, number>();
    this.hv.dispatcher.counts.forEach((n, num) => {
      const row = HYPERCALL_BY_NUM.get(num);
      if (n > 0 && row) out.set(row.name, n);
    });
    return out;
  }

  /** Virtual time reached (the slowest CPU's clock). */
  get nowNs(): number {
    return this.hv.now();
  }
}
