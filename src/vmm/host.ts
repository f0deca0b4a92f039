// The host VMM (issue 5; DESIGN.md §3): the program the primary VM runs in place of Linux + crosvm.
// It creates guest VMs through the resource manager exactly as Linux's Gunyah VM manager does —
// VM_ALLOCATE, MEM_LEND of the guest's RAM (carved from the primary's own memory), the image and
// device tree written into that memory first, VM_CONFIG_IMAGE, VM_INIT, VM_GET_HYP_RESOURCES,
// VM_START — then proxy-schedules their vCPUs with vcpu_run, emulates each guest's PL011 on the
// VMMIO exits, sleeps while every vCPU waits, and follows VM_EXITED; at the end it tears each guest
// down (VM_RESET, MEM_RECLAIM, VM_DEALLOCATE). It runs as a native program on the primary's vCPU
// and reaches the hypervisor only through hypercalls, and the RM only through RM RPC.

import { Pl011 } from '../machine/pl011.js';
import type { Fdt } from '../machine/fdt/tree.js';
import { writeFdt } from '../machine/fdt/writer.js';
import { encodeCells } from '../machine/fdt/props.js';
import type { RmVcpu } from '../rm/port.js';
import { HypResourceType } from '../rm/msgs/hyp-resources.js';
import { ExitType } from '../rm/msgs/vm-notify.js';
import type { DecodedNotification } from '../rm/msgs/index.js';
import { RmClient, describeFailure, type RmResult } from './rm-client/client.js';
import { RmClientTransport } from './rm-client/transport.js';
import type { Pause } from './rm-client/program.js';
import { PLATFORM, platformDt } from './dt/platform.js';
import { HOST_HLOS } from './system.js';

/** Where every guest's RAM starts in its own IPA space (crosvm on Gunyah; RM spec §9.2). */
export const GUEST_RAM_BASE = 0x8000_0000n;
/** The primary's link to the RM (RM spec §9.1) and the buffers its client stages packets in. */
const RM_LINK = { txCap: 0n, rxCap: 1n, scratch: { rx: 0x4000_1000n, tx: 0x4000_1100n } };
/** The primary's link VIRQs: TX (room again), RX (a message waits). */
const LINK_VIRQS = [960, 961];
/** The part of the primary's memory (IPA = PA) the host hands out as guest RAM. */
const GUEST_POOL = { base: 0x4800_0000n, end: HOST_HLOS.base + HOST_HLOS.size };
/** Bytes the host can hand out for all guests' RAM and donated memory together. */
export const GUEST_POOL_SIZE = GUEST_POOL.end - GUEST_POOL.base;
/** The device tree goes in the last 2 MiB of a guest's RAM (it may grow there when the RM patches it). */
const DT_ROOM = 0x20_0000n;
const PAGE = 0x1000n;
/** The label of the host's UART-interrupt doorbell in each guest's config. */
const UART_IRQ_LABEL = 0x7561;
const isStrings = (v: readonly unknown[]): v is readonly string[] => v.every((x) => typeof x === 'string');
/** MEM_NOTIFY flags value SHARED (RM spec §2.8). */
const MEM_NOTIFY_SHARED = 1;

/** NOTIFY_VM_STATUS vm_status RESET (RM spec §3). */
const VM_STATUS_RESET = 11;
/** Reboots a guest gets before its resets count as a loop (the run then ends with an error). */
const MAX_RESETS = 3;

/** Exit types (RM spec §2.4) that mean "reboot me". */
function isReset(type: number | undefined): boolean {
  return type === ExitType.PLATFORM_RESET || type === ExitType.PSCI_SYSTEM_RESET2;
}

/** vcpu_run states (hypervisor-abi.md §8.4). */
const RUN = {
  READY: 0,
  EXPECTS_WAKEUP: 1,
  POWERED_OFF: 2,
  BLOCKED: 3,
  VMMIO_READ: 4,
  VMMIO_WRITE: 5,
  FAULT: 6,
  PSCI_SYSTEM_RESET: 0x100,
} as const;

/** One guest to create: what the user asked to boot, laid out in guest IPAs. */
export interface GuestSpec {
  /** Its name (the VM config's image-name; console prefix). */
  readonly name: string;
  /** RAM size in bytes (a multiple of 2 MiB, at least 4 MiB). */
  readonly ramSize: bigint;
  readonly cpus: number;
  /** The image to place, in guest IPAs inside RAM, and where the boot vCPU starts. */
  readonly segments: readonly { ipa: bigint; data: Uint8Array; memsz: bigint }[];
  readonly entry: bigint;
  readonly bootargs?: string;
  readonly initrd?: { ipa: bigint; data: Uint8Array };
  /** A device tree to boot with instead of the generated one (the /gunyah-vm-config is added). */
  readonly dt?: Fdt;
  /** Extra VM-config vdevices (children of /gunyah-vm-config/vdevices), by node name. */
  readonly vdevices?: Readonly<
    Record<string, Readonly<Record<string, string | number | bigint | true | readonly string[] | readonly number[]>>>
  >;
  /**
   * Memory donated to the guest before it starts (RM §6.1): the RM accepts each for it at the
   * fixed base of its shm vdevice with the same label (§2.8), and the guest owns it from then on.
   */
  readonly donations?: readonly { label: number; size: bigint }[];
  /** Each byte the guest writes to its PL011. */
  readonly onConsole: (byte: number) => void;
}

/** How a guest ended, as the host saw it. */
export interface GuestOutcome {
  readonly name: string;
  readonly vmid: number;
  /** 'exited' with the RM's exit type (RM spec §2.4), or 'failed' before it ran. */
  readonly kind: 'exited' | 'failed';
  readonly exitType?: number;
  /** A one-line account for the user. */
  readonly message: string;
}

interface RunningVcpu {
  cap: bigint;
  wakeVirq: number;
  off: boolean;
  /** A VMMIO read to answer on the next vcpu_run (resume_data_0). */
  resume: bigint;
}

interface Guest {
  spec: GuestSpec;
  vmid: number;
  handle: number;
  hostBase: bigint;
  uart: Pl011;
  vcpus: RunningVcpu[];
  outcome: GuestOutcome | null;
}

/** The host's log lines (what a user sees as the story of the run). */
export type HostLog = (line: string) => void;

export class HostVmm {
  /** Outcomes, in the order the guests were given. */
  readonly outcomes: GuestOutcome[] = [];
  private nextHostBase = GUEST_POOL.base;
  /** Told of each guest's PL011 when the guest starts (to feed it console input). */
  onGuestUart: ((name: string, uart: Pl011) => void) | null = null;
  /** Resets each guest asked for in a row (its reboots). */
  private readonly resets = new Map<string, number>();
  /** Every VMMIO exit and vcpu_run, counted by kind (for --stats). */
  readonly exits = new Map<string, number>();

  constructor(
    private readonly guests: readonly GuestSpec[],
    private readonly log: HostLog = () => undefined,
  ) {}

  /** The program body for the primary's vCPU (generatorProgram(host.body)). */
  readonly body = (v: RmVcpu): Generator<Pause, void, void> => this.run(v);

  private count(kind: string): void {
    this.exits.set(kind, (this.exits.get(kind) ?? 0) + 1);
  }

  private *run(v: RmVcpu): Generator<Pause, void, void> {
    const irq = v.irq;
    if (irq === null || v.memory === null) throw new Error('the host VMM needs a vCPU with a GIC and memory');
    irq.init();
    for (const n of LINK_VIRQS) irq.enable(n);
    const client = new RmClient(new RmClientTransport(v, RM_LINK), irq);
    // Every guest is configured and initialised before any starts: vdevices between two guests
    // exist once both have passed VM_INIT, and each guest's DT is written at its VM_START.
    const ready: Guest[] = [];
    for (const spec of this.guests) {
      const g = yield* this.prepare(v, client, spec);
      if (g !== null) ready.push(g);
    }
    const started: Guest[] = [];
    for (const g of ready) if (yield* this.start(client, g)) started.push(g);
    yield* this.schedule(v, client, started);
    for (const g of started) if (g.handle >= 0) yield* this.destroy(client, g);
  }

  /**
   * ALLOCATE → write image + DT → LEND → CONFIG_IMAGE → INIT → donations (DONATE + NOTIFY SHARED,
   * accepted by the RM for the READY VM at its shm vdevice's base) → GET_HYP_RESOURCES.
   */
  private *prepare(v: RmVcpu, c: RmClient, spec: GuestSpec, reuse?: bigint): Generator<Pause, Guest | null, void> {
    const fail = (vmid: number, what: string, r: RmResult<unknown>): null => {
      const o: GuestOutcome = { name: spec.name, vmid, kind: 'failed', message: `${what}: ${describeFailure(r)}` };
      this.outcomes.push(o);
      this.log(`host: ${spec.name}: ${o.message}`);
      return null;
    };
    const size = spec.ramSize;
    if (reuse === undefined && this.nextHostBase + size > GUEST_POOL.end) {
      this.outcomes.push({ name: spec.name, vmid: 0, kind: 'failed', message: 'no host memory left for its RAM' });
      return null;
    }
    const a = yield* c.vmAllocate(0);
    if (!a.ok) return fail(0, 'VM_ALLOCATE', a);
    const vmid = a.value;
    const hostBase = reuse ?? this.nextHostBase;
    if (reuse === undefined) this.nextHostBase += size;
    // The guest's memory, written by the host before it lends it (IPA in the guest = offset here).
    const mem = v.memory!;
    const toHost = (ipa: bigint): bigint => hostBase + (ipa - GUEST_RAM_BASE);
    for (const s of spec.segments) mem.write(toHost(s.ipa), s.data);
    if (spec.initrd) mem.write(toHost(spec.initrd.ipa), spec.initrd.data);
    const dt = writeFdt(this.guestDt(spec));
    const dtOffset = size - DT_ROOM;
    if (BigInt(dt.length) > DT_ROOM)
      return fail(vmid, 'device tree', { ok: false, error: { failure: 'transport', detail: 'over 2 MiB' } });
    mem.write(hostBase + dtOffset, dt);
    const lend = yield* c.memLend({
      memType: 0,
      flags: 0,
      label: 0,
      acl: [{ vmid, rights: 7 }],
      sgl: [{ ipa: hostBase, size }],
      attrs: [],
    });
    if (!lend.ok) return fail(vmid, 'MEM_LEND', lend);
    const imageOffset = spec.entry - GUEST_RAM_BASE;
    const imageEnd = spec.segments.reduce((e, s) => (s.ipa + s.memsz > e ? s.ipa + s.memsz : e), spec.entry);
    const cfg = yield* c.vmConfigImage({
      vmid,
      authType: 0,
      memparcel: lend.value,
      imageOffset,
      imageSize: ((imageEnd - spec.entry + PAGE - 1n) / PAGE) * PAGE || PAGE,
      dtOffset,
      dtSize: DT_ROOM,
    });
    if (!cfg.ok) return fail(vmid, 'VM_CONFIG_IMAGE', cfg);
    const init = yield* c.vmInit(vmid);
    if (!init.ok) return fail(vmid, 'VM_INIT', init);
    for (const d of spec.donations ?? []) {
      // Memory the guest will own (RM §6.1: DONATE transfers ownership on accept), taken from the
      // host's pool like RAM.
      if (this.nextHostBase + d.size > GUEST_POOL.end) {
        this.outcomes.push({ name: spec.name, vmid, kind: 'failed', message: 'no host memory left for a donation' });
        return null;
      }
      const at = this.nextHostBase;
      this.nextHostBase += d.size;
      const don = yield* c.memDonate({
        memType: 0,
        flags: 0,
        label: d.label,
        acl: [{ vmid, rights: 7 }],
        sgl: [{ ipa: at, size: d.size }],
        attrs: [],
      });
      if (!don.ok) return fail(vmid, 'MEM_DONATE', don);
      const n = yield* c.memNotify({ handle: don.value, flags: MEM_NOTIFY_SHARED, memInfoTag: 0, vmids: [vmid] });
      if (!n.ok) return fail(vmid, 'MEM_NOTIFY', n);
      this.log(`host: donated ${d.size >> 10n} KiB to ${spec.name} (label ${d.label})`);
    }
    const res = yield* c.vmGetHypResources(vmid);
    if (!res.ok) return fail(vmid, 'VM_GET_HYP_RESOURCES', res);
    const vcpus: RunningVcpu[] = res.value
      .filter((r) => r.type === HypResourceType.VIRTUAL_CPU)
      .map((r) => ({ cap: r.capId, wakeVirq: r.virq, off: false, resume: 0n }));
    for (const vc of vcpus) v.irq!.enable(vc.wakeVirq, true);
    // The PL011's interrupt reaches the guest through a doorbell the RM bound to SPI 33 in its VIC
    // (an irqfd, as crosvm's on Gunyah): rung on each rising edge of the line.
    const bell = res.value.find((r) => r.type === HypResourceType.DOORBELL_SRC && r.label === UART_IRQ_LABEL);
    let line = false;
    const uart = new Pl011(spec.onConsole, (level) => {
      if (level && !line && bell !== undefined) v.call('doorbell_send', bell.capId, 1n, 0n);
      line = level;
    });
    return { spec, vmid, handle: lend.value, hostBase, uart, vcpus, outcome: null };
  }

  /** VM_START: the RM writes the guest's DT and powers its boot vCPU on. */
  private *start(c: RmClient, g: Guest): Generator<Pause, boolean, void> {
    const start = yield* c.vmStart(g.vmid);
    if (!start.ok) {
      const o: GuestOutcome = {
        name: g.spec.name,
        vmid: g.vmid,
        kind: 'failed',
        message: `VM_START: ${describeFailure(start)}`,
      };
      this.outcomes.push(o);
      this.log(`host: ${g.spec.name}: ${o.message}`);
      return false;
    }
    this.log(
      `host: started ${g.spec.name} (VMID 0x${g.vmid.toString(16)}, ${g.spec.cpus} vCPU, ${g.spec.ramSize >> 20n} MiB at 0x${GUEST_RAM_BASE.toString(16)})`,
    );
    this.onGuestUart?.(g.spec.name, g.uart);
    return true;
  }

  /** The guest's device tree: the platform tree (or the user's) plus /gunyah-vm-config (RM §4.3). */
  private guestDt(spec: GuestSpec): Fdt {
    const f =
      spec.dt ??
      platformDt({
        memory: [{ base: GUEST_RAM_BASE, size: spec.ramSize }],
        cpus: spec.cpus,
        bootargs: spec.bootargs,
        initrd: spec.initrd
          ? { start: spec.initrd.ipa, end: spec.initrd.ipa + BigInt(spec.initrd.data.length) }
          : undefined,
      });
    const cfg = f.ensureNode('/gunyah-vm-config');
    cfg.setString('vm-type', 'aarch64-guest');
    cfg.setString('image-name', spec.name);
    f.ensureNode('/gunyah-vm-config/memory').setCells('base-address', [
      Number(GUEST_RAM_BASE >> 32n),
      Number(GUEST_RAM_BASE & 0xffff_ffffn),
    ]);
    f.ensureNode('/gunyah-vm-config/vcpus').setString('affinity', 'proxy');
    const vd = f.ensureNode('/gunyah-vm-config/vdevices');
    vd.setString('generate', '/hypervisor');
    // Every guest gets its link to the RM (and the RM console), as guests on real Gunyah do.
    const rpc = f.ensureNode('/gunyah-vm-config/vdevices/rm-rpc');
    rpc.setString('vdevice-type', 'rm-rpc');
    rpc.setString('generate', '/hypervisor/qcom,resource-mgr');
    rpc.setFlag('console-dev');
    // The PL011's interrupt line: a doorbell the host rings, at the UART's SPI, edge (auto-cleared).
    const irq = f.ensureNode('/gunyah-vm-config/vdevices/uart-irq');
    irq.setString('vdevice-type', 'doorbell');
    irq.setString('generate', '/hypervisor/uart-irq');
    irq.setCells('label', [UART_IRQ_LABEL]);
    irq.setFlag('peer-default');
    irq.setCells('interrupts', [0, PLATFORM.uart.spi - 32, 1]);
    for (const [name, props] of Object.entries(spec.vdevices ?? {})) {
      const n = f.ensureNode(`/gunyah-vm-config/vdevices/${name}`);
      for (const [k, val] of Object.entries(props)) {
        if (val === true) n.setFlag(k);
        else if (typeof val === 'string') n.setString(k, val);
        else if (typeof val === 'bigint') n.setCells(k, [Number(val >> 32n), Number(val & 0xffff_ffffn)]);
        else if (typeof val === 'number') n.setProperty(k, encodeCells([val]));
        else if (isStrings(val)) n.setStrings(k, val);
        else n.setProperty(k, encodeCells(val as readonly number[]));
      }
    }
    return f;
  }

  /**
   * Run every guest's vCPUs until all have stopped: each pass runs each vCPU that is not off until
   * it waits, stops or asks for device emulation; when a whole pass made no progress the host
   * sleeps until an interrupt (a vCPU's run-wakeup VIRQ, or the RM link).
   */
  private *schedule(v: RmVcpu, c: RmClient, guests: Guest[]): Generator<Pause, void, void> {
    const irq = v.irq!;
    const live = (): Guest[] => guests.filter((g) => g.outcome === null);
    while (live().length > 0) {
      let progress = false;
      for (const g of live()) {
        for (const vc of g.vcpus) {
          if (vc.off) continue;
          const r = v.call('vcpu_run', vc.cap, vc.resume, 0n, 0n, 0n);
          vc.resume = 0n;
          this.count('vcpu_run');
          if (r.e !== 0) {
            vc.off = true;
            this.log(`host: ${g.spec.name}: vcpu_run failed (error ${r.e})`);
            continue;
          }
          const state = Number(r.x[1]!);
          if (state === RUN.READY) progress = true;
          else if (state === RUN.VMMIO_READ || state === RUN.VMMIO_WRITE) {
            this.mmio(g, vc, state, r.x[2]!, Number(r.x[3]!), r.x[4]!);
            progress = true;
          } else if (state === RUN.POWERED_OFF && (r.x[2]! & 1n) === 0n) {
            // Powered off but not exited (hypervisor-abi §8.4): a secondary vCPU before the guest's
            // PSCI CPU_ON, or after CPU_OFF. Its run-wakeup VIRQ says when it is powered on again;
            // until then it is asked each pass, as a waiting vCPU is.
          } else if (state === RUN.POWERED_OFF || state === RUN.FAULT || state === RUN.PSCI_SYSTEM_RESET) {
            vc.off = true;
            progress = true;
          }
        }
      }
      // Exits: the RM reports each guest's end with VM_EXITED (after VM_STATUS EXITED).
      for (const n of c.takeNotifications()) this.notice(guests, n);
      for (const g of live()) {
        if (g.vcpus.every((vc) => vc.off)) {
          // Its vCPUs are all stopped: wait for the RM's word on why.
          while (g.outcome === null) for (const n of yield* c.nextNotifications()) this.notice(guests, n);
        }
      }
      // A guest that asked for a reset boots again, as a VMM reboots a VM: torn down, created anew.
      for (let i = 0; i < guests.length; i++) {
        const g = guests[i]!;
        const o = g.outcome;
        if (o === null || o.kind !== 'exited' || !isReset(o.exitType)) continue;
        const n = (this.resets.get(g.spec.name) ?? 0) + 1;
        this.resets.set(g.spec.name, n);
        if (n > MAX_RESETS) {
          this.outcomes.splice(this.outcomes.indexOf(o), 1, {
            ...o,
            message: `${o.message}, ${n} times in a row (a reset loop)`,
          });
          continue;
        }
        this.outcomes.splice(this.outcomes.indexOf(o), 1);
        this.log(`host: rebooting ${g.spec.name}`);
        yield* this.destroy(c, g, guests);
        g.handle = -1;
        const again = yield* this.prepare(v, c, g.spec, g.hostBase);
        if (again !== null && (yield* this.start(c, again))) guests[i] = again;
        progress = true;
      }
      if (progress) {
        yield 'yield';
        continue;
      }
      yield 'wait';
      // Take whatever woke the host (run-wakeups, the link); the next pass re-runs every vCPU. The
      // link's RX VIRQ is level: the queue is drained before the interrupts end, or it would be
      // pending again at once.
      const taken: number[] = [];
      for (let id = irq.ack(); id !== 1023; id = irq.ack()) taken.push(id);
      for (const n of c.takeNotifications()) this.notice(guests, n);
      for (const id of taken) irq.eoi(id);
    }
  }

  private mmio(g: Guest, vc: RunningVcpu, state: number, ipa: bigint, size: number, value: bigint): void {
    const uart = PLATFORM.uart;
    const inUart = ipa >= uart.base && ipa + BigInt(size) <= uart.base + uart.size;
    if (state === RUN.VMMIO_WRITE) {
      this.count('vmmio_write');
      if (inUart) g.uart.write(Number(ipa - uart.base), size, value);
      return;
    }
    this.count('vmmio_read');
    // [infer] Reads of devices the host does not emulate return 0 (writes are ignored).
    vc.resume = inUart ? g.uart.read(Number(ipa - uart.base)) : 0n;
  }

  private notice(guests: Guest[], n: DecodedNotification): void {
    if (n.name !== 'NOTIFY_VM_EXITED') return;
    const g = guests.find((x) => x.vmid === n.value.vmid);
    if (g === undefined || g.outcome !== null) return;
    const type = n.value.exitType;
    const names: Record<number, string> = {
      [ExitType.VM_EXIT]: 'left by VM_EXIT',
      [ExitType.PLATFORM_OFF]: 'powered off (PSCI SYSTEM_OFF)',
      [ExitType.PLATFORM_RESET]: 'asked for a reset (PSCI SYSTEM_RESET)',
      [ExitType.PSCI_SYSTEM_RESET2]: 'asked for a reset (PSCI SYSTEM_RESET2)',
      [ExitType.WATCHDOG_BITE]: 'was bitten by its watchdog',
      [ExitType.SOFTWARE_ERROR]: 'crashed (a vCPU faulted)',
      [ExitType.ASYNC_HW_ERROR]: 'hit an asynchronous hardware error',
      [ExitType.VM_STOP_FORCED]: 'was stopped',
    };
    const message = names[type] ?? `exited (type ${type})`;
    g.outcome = { name: g.spec.name, vmid: g.vmid, kind: 'exited', exitType: type, message };
    this.outcomes.push(g.outcome);
    this.log(`host: ${g.spec.name} ${message}`);
  }

  /** RESET (waiting for its VM_STATUS RESET), RECLAIM the RAM, DEALLOCATE. */
  private *destroy(c: RmClient, g: Guest, others: Guest[] = []): Generator<Pause, void, void> {
    const r = yield* c.vmReset(g.vmid);
    if (!r.ok) {
      this.log(`host: ${g.spec.name}: VM_RESET: ${describeFailure(r)}`);
      return;
    }
    // Until its VM_STATUS RESET; what else arrives meanwhile is still heard (other guests' exits).
    for (let reset = false; !reset;) {
      for (const n of yield* c.nextNotifications()) {
        if (n.name === 'NOTIFY_VM_STATUS' && n.value.vmid === g.vmid && n.value.vmStatus === VM_STATUS_RESET)
          reset = true;
        else this.notice(others, n);
      }
    }
    const rc = yield* c.memReclaim(g.handle);
    if (!rc.ok) this.log(`host: ${g.spec.name}: MEM_RECLAIM: ${describeFailure(rc)}`);
    const d = yield* c.vmDeallocate(g.vmid);
    if (!d.ok) this.log(`host: ${g.spec.name}: VM_DEALLOCATE: ${describeFailure(d)}`);
  }
}
