// The bare board (`gunyah run --bare`): QEMU `virt`'s memory map (as `-M virt,gic-version=3`) with
// one CPU at EL1, RAM at 0x4000_0000, a GICv3 at 0x0800_0000/0x080A_0000, a PL011 at 0x0900_0000
// (SPI 1) and a firmware stub answering PSCI over HVC/SMC. Timer outputs are PPIs 27 (virtual) and
// 30 (physical). It runs
// a guest until PSCI SYSTEM_OFF/RESET, a fault the guest cannot handle, a deadlock (waiting for an
// interrupt that can never come), or an instruction limit. Time is virtual: WFI skips ahead to
// the next timer event, so runs are deterministic.

import { Cpu, Stop, type El2 } from '../arch/aarch64/cpu.js';
import { Bus } from './bus.js';
import { Pl011 } from './pl011.js';
import { FirmwareStub, type PowerEvent } from './firmware.js';
import { VIRT } from './virt.js';
import { Gicv3, GICD_SIZE } from './gicv3/index.js';

export interface BareBoardOptions {
  /** RAM size in MiB (default 128, as QEMU's default for `virt`). */
  ramMiB?: number;
  /** Receives UART output bytes. */
  onUartTx?: (byte: number) => void;
}

export interface LoadSegment {
  paddr: number;
  data: Uint8Array;
  memsz: number;
}

export type StopKind = 'system-off' | 'system-reset' | 'fault' | 'deadlock' | 'limit';

export interface RunResult {
  stop: StopKind;
  /** Guest instructions retired (plus WFI time skipped, which is not counted here). */
  instructions: number;
  /** Virtual time in nanoseconds (1 instruction = 1 ns; WFI skips count). */
  virtualNs: number;
  /** For `fault` and `deadlock`: one line saying what happened. */
  message?: string;
}

export class BoardError extends Error {}

export class BareBoard {
  readonly bus: Bus;
  readonly cpu: Cpu;
  readonly uart: Pl011;
  readonly gic: Gicv3;
  private power: PowerEvent | null = null;
  private retired = 0;
  private readonly firmware: El2;
  private readonly uartBytes: number[] = [];

  constructor(opts: BareBoardOptions = {}) {
    const mib = opts.ramMiB ?? 128;
    if (!Number.isInteger(mib) || mib < 1 || mib > 8192) throw new BoardError(`RAM size ${mib} MiB is outside 1..8192`);
    this.bus = new Bus(VIRT.RAM_BASE, mib * 1024 * 1024);
    this.gic = new Gicv3({ cpus: 1 });
    this.bus.map(VIRT.GICD, GICD_SIZE, this.gic.distributor);
    this.bus.map(VIRT.GICR, this.gic.redistributorRegionSize, this.gic.redistributors);
    const tx = opts.onUartTx ?? ((b: number) => this.uartBytes.push(b));
    this.uart = new Pl011(tx, (level) => this.gic.setSpiLevel(32 + VIRT.UART0_SPI, level));
    this.bus.map(VIRT.UART0, 0x1000, this.uart);
    const cpu = new Cpu(this.bus);
    this.cpu = cpu;
    cpu.sys.mpidr = 0x8000_0000n;
    cpu.sysregHook = this.gic.cpuInterface(0);
    this.gic.connect(0, (irq, fiq) => {
      cpu.setIrq(irq);
      cpu.setFiq(fiq);
    });
    cpu.onTimer = (which, level) =>
      this.gic.setPpiLevel(0, which === 'virt' ? VIRT.PPI_VTIMER : VIRT.PPI_PTIMER, level);
    this.firmware = new FirmwareStub((e) => (this.power = e));
    this.cpu.el2 = this.firmware;
  }

  /** Copy segments into RAM and set the entry point (EL1h, DAIF masked, MMU off, x0 = 0). */
  load(segments: readonly LoadSegment[], entry: number): void {
    for (const s of segments) {
      if (!this.bus.inRam(s.paddr, s.memsz)) {
        const end = s.paddr + s.memsz;
        throw new BoardError(
          `segment at 0x${s.paddr.toString(16)}..0x${end.toString(16)} is outside RAM ` +
            `(0x${VIRT.RAM_BASE.toString(16)}..0x${(VIRT.RAM_BASE + this.bus.ram.byteLength).toString(16)})`,
        );
      }
    }
    for (const s of segments) {
      const o = s.paddr - VIRT.RAM_BASE;
      this.bus.ram.fill(0, o, o + s.memsz);
      this.bus.ram.set(s.data, o);
    }
    if (!this.bus.inRam(entry, 4)) throw new BoardError(`entry point 0x${entry.toString(16)} is outside RAM`);
    this.cpu.reset(entry);
    this.gic.reset();
    this.power = null;
  }

  /** UART output collected so far (when no onUartTx was given). */
  uartText(): string {
    return Buffer.from(this.uartBytes).toString('latin1');
  }

  /** Run until the guest stops or `maxInstructions` more instructions have retired. */
  run(maxInstructions = Number.MAX_SAFE_INTEGER): RunResult {
    const cpu = this.cpu;
    const start = cpu.icount;
    const limit = Math.min(Number.MAX_SAFE_INTEGER, start + maxInstructions);
    // A slice bounds how long the CPU runs before the board looks at the world again.
    const SLICE = 1 << 22;
    for (;;) {
      const before = cpu.icount;
      const stop = cpu.run(Math.min(limit, cpu.icount + SLICE));
      this.retired += cpu.icount - before;
      if (stop === Stop.Halt) {
        if (cpu.haltReason === 'exception-loop') return this.result('fault', start, cpu.faultMessage);
        return this.result(this.power ?? 'system-off', start);
      }
      if (stop === Stop.Wfi) {
        const next = cpu.nextTimerEvent();
        if (next === Infinity) {
          return this.result(
            'deadlock',
            start,
            `the CPU is waiting for an interrupt (WFI at ${hex(cpu.pc - 4)}) and no timer or device can raise one`,
          );
        }
        // Skip idle time: virtual time jumps to the timer deadline.
        if (next > cpu.icount) cpu.icount = next;
        cpu.updateTimers();
        continue;
      }
      if (cpu.icount >= limit) return this.result('limit', start, `instruction limit reached (${maxInstructions})`);
    }
  }

  private result(stop: StopKind, start: number, message?: string): RunResult {
    const r: RunResult = { stop, instructions: this.retired, virtualNs: this.cpu.icount - start };
    if (message !== undefined) r.message = message;
    return r;
  }
}

function hex(n: number): string {
  return `0x${BigInt.asUintN(64, BigInt(n)).toString(16)}`;
}
