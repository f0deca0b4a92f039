// Shared setup of the RM tests (not a test file): the VM-config device tree a VMM hands the RM
// (RM spec §4.3, §9.2), a system of the hypervisor, the RM and a native VMM on the primary VM, the
// primary's end of its RM link, and the VMM's steps to make a VM and run its vCPU. The tests keep
// their expected values typed in; what is here only builds the world they look at.

import assert from 'node:assert/strict';
import { Hypervisor } from '../../src/hyp/hypervisor.js';
import { HypSystem } from '../../src/hyp/system.js';
import { ResourceManager, PRIMARY_LINK_RX_VIRQ, PRIMARY_LINK_TX_VIRQ } from '../../src/rm/rm.js';
import { SECONDARY_LINK_RX_VIRQ, SECONDARY_LINK_TX_VIRQ } from '../../src/rm/rm.js';
import { RmClientTransport } from '../../src/vmm/rm-client/transport.js';
import { RmClient, describeFailure, type RmResult } from '../../src/vmm/rm-client/client.js';
import { generatorProgram, type Pause, type ProgramBody } from '../../src/vmm/rm-client/program.js';
import type { RmIrq, RmVcpu } from '../../src/rm/port.js';
import { Fdt, writeFdt } from '../../src/machine/fdt/index.js';
import type { FdtNode } from '../../src/machine/fdt/tree.js';
import { encodeCells } from '../../src/machine/fdt/props.js';

// ------------------------------------------------------------------ memory layout

/** A guest's image parcel: a 2 MiB slot of the primary's RAM (IPA = PA there). */
export const GUEST_PA = 0x4800_0000n;
export const GUEST_SIZE = 0x20_0000n;
/** Where the parcel lands in the guest's own IPA space (crosvm's base, §9.2). */
export const GUEST_BASE = 0x8000_0000n;
/** The VM-config DT inside the parcel. */
export const DT_OFFSET = 0x1_0000n;
export const DT_SIZE = 0x4000n;
/** Parcel slot k of the primary's RAM. */
export const slotPa = (k: number): bigint => GUEST_PA + BigInt(k) * GUEST_SIZE;
/** The primary's link buffers (scratch) in its RAM. */
export const PRIMARY_SCRATCH = { rx: 0x4000_1000n, tx: 0x4000_1100n };

// ------------------------------------------------------------------ the VM-config DT (§4.3, §9.2)

/** A vdevice node's properties, in order: `true` is a flag, a number list cells. */
export type VdevProps = Record<string, string | string[] | number[] | true>;

export interface GuestDtOptions {
  /** A /memory node with reg = <GUEST_BASE GUEST_SIZE> (default true). */
  memory?: boolean;
  /** /cpus with #size-cells and cpu@0 with reg (default true); false: only #address-cells and device_type. */
  cpuReg?: boolean;
  /** The input DT already has a /hypervisor node (§4.1 precondition). */
  hypervisor?: boolean;
  /** /gunyah-vm-config image-name, vm-uri, vm-guid, vm-attrs (§4.3), each only if given. */
  imageName?: string;
  uri?: string;
  guid?: string;
  attrs?: string[];
  /** /gunyah-vm-config/memory base-address (default GUEST_BASE). */
  baseAddress?: bigint;
  /** /gunyah-vm-config/vcpus affinity (default 'proxy'; null: no vcpus node). */
  affinity?: string | null;
  /** The rm-rpc vdevice's generate = "/hypervisor/qcom,resource-mgr" (default true). */
  rmRpcGenerate?: boolean;
  /** The rm-rpc vdevice is the console (console-dev; default false). */
  consoleDev?: boolean;
  /** More vdevice nodes after rm-rpc, by name. */
  vdevices?: Record<string, VdevProps>;
  /** Anything else, added last. */
  extra?: (f: Fdt) => void;
}

/** The VM-config DT a VMM supplies (§4.3, §9.2): memory, a CPU, PSCI, the rm-rpc vdevice and more. */
export function guestDt(o: GuestDtOptions = {}): Uint8Array {
  const f = new Fdt();
  f.root.setCells('#address-cells', [2]);
  f.root.setCells('#size-cells', [2]);
  if (o.memory ?? true) {
    const mem = f.addNode('/memory');
    mem.setString('device_type', 'memory');
    mem.setProperty('reg', encodeCells([0, Number(GUEST_BASE), 0, Number(GUEST_SIZE)]));
  }
  const full = o.cpuReg ?? true;
  f.addNode('/cpus').setCells('#address-cells', [1]);
  if (full) f.lookup('/cpus')!.setCells('#size-cells', [0]);
  const cpu = f.addNode('/cpus/cpu@0');
  cpu.setString('device_type', 'cpu');
  if (full) cpu.setCells('reg', [0]);
  f.addNode('/psci').setStrings('compatible', ['arm,psci-1.0']);
  if (o.hypervisor) f.addNode('/hypervisor').setStrings('compatible', ['simple-bus']);
  const cfg = f.addNode('/gunyah-vm-config');
  cfg.setString('vm-type', 'aarch64-guest');
  if (o.imageName !== undefined) cfg.setString('image-name', o.imageName);
  if (o.uri !== undefined) cfg.setString('vm-uri', o.uri);
  if (o.guid !== undefined) cfg.setString('vm-guid', o.guid);
  if (o.attrs !== undefined) cfg.setStrings('vm-attrs', o.attrs);
  const base = o.baseAddress ?? GUEST_BASE;
  f.addNode('/gunyah-vm-config/memory').setCells('base-address', [Number(base >> 32n), Number(base & 0xffff_ffffn)]);
  const affinity = o.affinity === undefined ? 'proxy' : o.affinity;
  if (affinity !== null) f.addNode('/gunyah-vm-config/vcpus').setString('affinity', affinity);
  f.addNode('/gunyah-vm-config/vdevices').setString('generate', '/hypervisor');
  const rpc = f.addNode('/gunyah-vm-config/vdevices/rm-rpc');
  rpc.setString('vdevice-type', 'rm-rpc');
  if (o.rmRpcGenerate ?? true) rpc.setString('generate', '/hypervisor/qcom,resource-mgr');
  if (o.consoleDev) rpc.setFlag('console-dev');
  for (const [name, props] of Object.entries(o.vdevices ?? {})) {
    const n = f.addNode(`/gunyah-vm-config/vdevices/${name}`);
    for (const [k, v] of Object.entries(props)) {
      if (v === true) n.setFlag(k);
      else if (typeof v === 'string') n.setString(k, v);
      else if (typeof v[0] === 'string') n.setStrings(k, v as string[]);
      else n.setCells(k, v as number[]);
    }
  }
  o.extra?.(f);
  return writeFdt(f);
}

/** A vdevice node's caps (`reg`, a u64 each) and INTIDs (`interrupts`, SPI specifiers) (§4.1). */
export function endsOf(node: FdtNode): { caps: bigint[]; virqs: number[] } {
  const reg = node.getProperty('reg')!;
  const dv = new DataView(reg.buffer, reg.byteOffset, reg.byteLength);
  const caps = [...Array(reg.length / 8).keys()].map((k) => dv.getBigUint64(8 * k, false));
  const cells = node.getCells('interrupts') ?? [];
  const virqs = [...Array(cells.length / 3).keys()].map((k) => cells[3 * k + 1]! + 32);
  return { caps, virqs };
}

// ------------------------------------------------------------------ the system

export interface System {
  hv: Hypervisor;
  root: ReturnType<Hypervisor['createRootVm']>;
  sys: HypSystem;
  rm: ResourceManager;
  /** The RM's native runner (its vCPU builds VMs directly in some tests). */
  rmRunner: ReturnType<HypSystem['addNative']>;
}

/** A fresh system: a hypervisor with 2 GiB of RAM at 0x4000_0000, its root VM, and the RM on it. */
export function newSystem(): System {
  const hv = new Hypervisor({ memory: { base: 0x4000_0000, size: 2048 * 1024 * 1024 } });
  const root = hv.createRootVm();
  const sys = new HypSystem(hv, 1);
  const rm = new ResourceManager();
  const rmRunner = sys.addNative(root.thread, rm);
  return { hv, root, sys, rm, rmRunner };
}

/** A guest vCPU's native program, or 'emulate' for real code. */
export type GuestSpawn = ((v: RmVcpu) => ProgramBody) | 'emulate';

/**
 * A fresh system whose primary VM runs `vmm` as its native VMM. The `n`th secondary vCPU powered
 * on after it (from 0) runs `guest(n)` ('emulate', also without `guest`: real code).
 */
export function primarySystem(vmm: (v: RmVcpu, s: System) => ProgramBody, guest?: (n: number) => GuestSpawn): System {
  const s = newSystem();
  let spawned = 0;
  s.sys.spawn = () => {
    const n = spawned++;
    if (n === 0) return generatorProgram((v) => vmm(v, s));
    const g = guest?.(n - 1) ?? 'emulate';
    return g === 'emulate' ? 'emulate' : generatorProgram(g);
  };
  return s;
}

/** Run `s` until every vCPU is idle (within `limit` steps), with the RM not failed. */
export function runToIdle(s: System, limit: number): void {
  assert.equal(s.sys.run(limit), 'idle');
  assert.equal(s.rm.failure, null);
}

// ------------------------------------------------------------------ the RM link

export interface Link {
  irq: RmIrq;
  t: RmClientTransport;
  c: RmClient;
}

/**
 * A VM's end of its RM link (§9.2): the GIC on, the link's two VIRQs enabled, a client over caps
 * 0 (tx) and 1 (rx). Defaults: the primary's VIRQs and scratch; `via` is the vCPU the transport
 * calls through (a wrapper of `v`).
 */
export function rmLink(
  v: RmVcpu,
  o: { secondary?: boolean; scratch?: { rx: bigint; tx: bigint }; via?: RmVcpu } = {},
): Link {
  const irq = v.irq!;
  irq.init();
  for (const n of o.secondary
    ? [SECONDARY_LINK_TX_VIRQ, SECONDARY_LINK_RX_VIRQ]
    : [PRIMARY_LINK_TX_VIRQ, PRIMARY_LINK_RX_VIRQ])
    irq.enable(n);
  const t = new RmClientTransport(o.via ?? v, { txCap: 0n, rxCap: 1n, scratch: o.scratch ?? PRIMARY_SCRATCH });
  return { irq, t, c: new RmClient(t, irq) };
}

/** The value of an RmClient result (pushing `what` to `steps`), or an error naming the step. */
export function must<T>(what: string, r: RmResult<T>, steps?: string[]): T {
  if (!r.ok) throw new Error(`${what}: ${describeFailure(r)}`);
  steps?.push(what);
  return r.value;
}

// ------------------------------------------------------------------ making and running a VM

export interface VmImage {
  /** The VM-config DT, written at DT_OFFSET. */
  dt: Uint8Array;
  /** Code written at the start of the parcel. */
  code?: Uint8Array;
  /** The parcel's address in the primary's RAM (default GUEST_PA). */
  pa?: bigint;
  /** Where the DT is in the parcel (default DT_OFFSET). */
  dtOffset?: bigint;
  /** VM_ALLOCATE's VMID (default 0: a dynamic one). */
  vmid?: number;
  /** VM_CONFIG_IMAGE's auth type (default 0) and image size (default 0x1000). */
  authType?: number;
  imageSize?: bigint;
  /** Run VM_INIT (default true). */
  init?: boolean;
  /** Where the steps taken are recorded ('allocate', 'lend', 'config image', 'init'). */
  steps?: string[];
}

/** ALLOCATE; write the image and DT into the parcel; LEND it to the VM (RWX); CONFIG_IMAGE; INIT. */
export function* createVm(
  v: RmVcpu,
  c: RmClient,
  o: VmImage,
): Generator<'wait', { vmid: number; handle: number }, void> {
  const vmid = must('allocate', yield* c.vmAllocate(o.vmid ?? 0), o.steps);
  const pa = o.pa ?? GUEST_PA;
  const mem = v.memory!;
  if (o.code) assert.equal(mem.write(pa, o.code), 0);
  const dtOffset = o.dtOffset ?? DT_OFFSET;
  assert.equal(mem.write(pa + dtOffset, o.dt), 0);
  const handle = must(
    'lend',
    yield* c.memLend({
      memType: 0,
      flags: 0,
      label: 0,
      acl: [{ vmid, rights: 7 }],
      sgl: [{ ipa: pa, size: GUEST_SIZE }],
      attrs: [],
    }),
    o.steps,
  );
  must(
    'config image',
    yield* c.vmConfigImage({
      vmid,
      authType: o.authType ?? 0,
      memparcel: handle,
      imageOffset: 0n,
      imageSize: o.imageSize ?? 0x1000n,
      dtOffset,
      dtSize: DT_SIZE,
    }),
    o.steps,
  );
  if (o.init ?? true) must('init', yield* c.vmInit(vmid), o.steps);
  return { vmid, handle };
}

/** One vcpu_run of the vCPU `cap` (hypervisor-abi §8.4): the state it stopped in. */
export const vcpuRun = (v: RmVcpu, cap: bigint): number => Number(v.call('vcpu_run', cap, 0n, 0n, 0n, 0n).x[1]!);

/** The PL011 the guests' runtime prints on (guests/rt/rt.c). */
const UART_DR = 0x0900_0000n;
const UART_FR = 0x0900_0018n;
const UART_FR_EMPTY = 0x90n; // TXFE | RXFE
/** vcpu_run states (hypervisor-abi.md §8.4). */
const RUN_READY = 0;
const RUN_EXPECTS_WAKEUP = 1;
const RUN_POWERED_OFF = 2;
const RUN_VMMIO_READ = 4;
const RUN_VMMIO_WRITE = 5;

/**
 * Run the vCPU `cap` with vcpu_run until it powers off (at most `limit` runs), emulating the PL011
 * from its VMMIO exits: what it prints is appended to `con.out`. While it waits (READY,
 * EXPECTS_WAKEUP) the others run. `between()` runs before each vcpu_run (the VMM's own calls).
 * Returns whether it powered off.
 */
export function* runWithUart(
  v: RmVcpu,
  cap: bigint,
  con: { out: string },
  between?: () => Generator<'wait', void, void>,
  limit = 1_000_000,
): Generator<Pause, boolean, void> {
  let resume = 0n;
  for (let i = 0; i < limit; i++) {
    if (between) yield* between();
    const r = v.call('vcpu_run', cap, resume, 0n, 0n, 0n);
    assert.equal(r.e, 0, 'vcpu_run');
    resume = 0n;
    const [state, ipa, size, value] = [Number(r.x[1]), r.x[2]!, r.x[3]!, r.x[4]!];
    switch (state) {
      case RUN_VMMIO_WRITE:
        if (ipa === UART_DR) con.out += String.fromCharCode(Number(value & 0xffn));
        break;
      case RUN_VMMIO_READ:
        assert.ok(size >= 1n && size <= 8n, 'access size');
        resume = ipa === UART_FR ? UART_FR_EMPTY : 0n;
        break;
      case RUN_POWERED_OFF:
        return true;
      case RUN_EXPECTS_WAKEUP: // in WFI for its RM link: let the RM answer
      case RUN_READY:
        yield 'yield';
        break;
      default:
        throw new Error(`vcpu_run state ${state} (data ${ipa} ${size} ${value}); output so far:\n${con.out}`);
    }
  }
  return false;
}

/**
 * Have the RM's own vCPU build secondary VM `vmid` directly (its vCPU not proxy-scheduled), give it
 * one page of RAM — PA 0x9000_0000 at its IPA 0x1000, RWX: its RM link's buffers — and power its
 * vCPU on, to run on any CPU.
 */
export function buildGuest(s: System, vmid: number): void {
  const v = s.rmRunner.vcpu;
  const vm = s.rm.buildSecondary(v, vmid, { proxy: false });
  const me = v.call('partition_create_memextent', s.root.caps.partition, s.root.caps.cspace, 0n).x[1]!;
  assert.equal(v.call('memextent_configure', me, 0x9000_0000n, 0x1000n, 7n, 0n).e, 0);
  assert.equal(v.call('object_activate', me, 0n).e, 0);
  assert.equal(v.call('addrspace_map', vm.addrspace, me, 0x1000n, 7n | (7n << 4n) | (15n << 16n), 0n, 0n, 0n).e, 0);
  assert.equal(v.call('vcpu_set_affinity', vm.vcpus[0]!, 0n, 0xffff_ffff_ffff_ffffn).e, 0);
  assert.equal(v.call('vcpu_poweron', vm.vcpus[0]!, 0n, 0n, 0n).e, 0);
}
