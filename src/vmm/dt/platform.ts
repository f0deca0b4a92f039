// The device tree a VM boots with on the virtual platform (issue 5; DESIGN.md §3): QEMU virt's
// layout as Gunyah presents it — RAM, Cortex-A57 CPUs brought up with PSCI over HVC, the GICv3
// (distributor at 0x0800_0000, one redistributor frame per vCPU from 0x080A_0000, as Gunyah's
// vGIC places them, hypervisor-abi.md §9.1), the generic timer's four PPIs, the PL011 at
// 0x0900_0000 on SPI 33 with its 24 MHz clock, and /chosen. The RM adds /hypervisor to it.
// Property layouts follow the Devicetree Specification and Linux's bindings for these devices.

import { Fdt } from '../../machine/fdt/tree.js';
import { encodeCells, encodeReg, encodeU32, encodeU64 } from '../../machine/fdt/props.js';

export const PLATFORM = {
  gicd: { base: 0x0800_0000n, size: 0x1_0000n },
  gicr: { base: 0x080a_0000n, stride: 0x2_0000n },
  uart: { base: 0x0900_0000n, size: 0x1000n, spi: 33 },
} as const;

/** GIC interrupt specifier types and flags (arm,gic-v3 binding). */
const GIC_SPI = 0;
const GIC_PPI = 1;
const IRQ_LEVEL_HIGH = 4;
/** Generic timer PPIs (INTIDs 29, 30, 27, 26): secure phys, non-secure phys, virt, hyp. */
const TIMER_PPIS = [13, 14, 11, 10];
const UART_CLOCK_HZ = 24_000_000;
const PHANDLE_GIC = 1;
const PHANDLE_CLOCK = 2;

export interface PlatformDtOptions {
  /** RAM ranges (IPA, size). */
  memory: readonly { base: bigint; size: bigint }[];
  /** Number of vCPUs (MPIDR Aff0 = 0..n-1). */
  cpus: number;
  /** Kernel command line (/chosen bootargs). */
  bootargs?: string;
  /** Initrd placement (/chosen linux,initrd-start/-end; end exclusive, as Linux reads it). */
  initrd?: { start: bigint; end: bigint };
  /** Whether the PL011 is present (default yes). */
  uart?: boolean;
}

/** The platform tree for one VM. */
export function platformDt(o: PlatformDtOptions): Fdt {
  const f = new Fdt();
  const root = f.root;
  root.setCells('#address-cells', [2]);
  root.setCells('#size-cells', [2]);
  root.setStrings('compatible', ['linux,dummy-virt']);
  root.setString('model', 'gunyah-ts virtual platform');
  root.setCells('interrupt-parent', [PHANDLE_GIC]);

  for (const m of o.memory) {
    const n = f.addNode(`/memory@${m.base.toString(16)}`);
    n.setString('device_type', 'memory');
    n.setProperty('reg', encodeReg([{ address: m.base, size: m.size }], 2, 2));
  }

  const cpus = f.addNode('/cpus');
  cpus.setCells('#address-cells', [1]);
  cpus.setCells('#size-cells', [0]);
  for (let i = 0; i < o.cpus; i++) {
    const c = f.addNode(`/cpus/cpu@${i.toString(16)}`);
    c.setString('device_type', 'cpu');
    c.setStrings('compatible', ['arm,cortex-a57']);
    c.setCells('reg', [i]);
    c.setString('enable-method', 'psci');
  }

  const psci = f.addNode('/psci');
  psci.setStrings('compatible', ['arm,psci-1.0', 'arm,psci-0.2', 'arm,psci']);
  psci.setString('method', 'hvc');

  const gic = f.addNode(`/intc@${PLATFORM.gicd.base.toString(16)}`);
  gic.setStrings('compatible', ['arm,gic-v3']);
  gic.setCells('#interrupt-cells', [3]);
  gic.setFlag('interrupt-controller');
  gic.setProperty(
    'reg',
    encodeReg(
      [
        { address: PLATFORM.gicd.base, size: PLATFORM.gicd.size },
        { address: PLATFORM.gicr.base, size: PLATFORM.gicr.stride * BigInt(o.cpus) },
      ],
      2,
      2,
    ),
  );
  gic.setCells('phandle', [PHANDLE_GIC]);

  const timer = f.addNode('/timer');
  timer.setStrings('compatible', ['arm,armv8-timer', 'arm,armv7-timer']);
  timer.setProperty('interrupts', encodeCells(TIMER_PPIS.flatMap((p) => [GIC_PPI, p, IRQ_LEVEL_HIGH])));
  timer.setFlag('always-on');

  if (o.uart !== false) {
    const clk = f.addNode('/apb-pclk');
    clk.setStrings('compatible', ['fixed-clock']);
    clk.setCells('#clock-cells', [0]);
    clk.setProperty('clock-frequency', encodeU32(UART_CLOCK_HZ));
    clk.setString('clock-output-names', 'clk24mhz');
    clk.setCells('phandle', [PHANDLE_CLOCK]);
    const uartPath = `/pl011@${PLATFORM.uart.base.toString(16)}`;
    const u = f.addNode(uartPath);
    u.setStrings('compatible', ['arm,pl011', 'arm,primecell']);
    u.setProperty('reg', encodeReg([{ address: PLATFORM.uart.base, size: PLATFORM.uart.size }], 2, 2));
    u.setProperty('interrupts', encodeCells([GIC_SPI, PLATFORM.uart.spi - 32, IRQ_LEVEL_HIGH]));
    u.setStrings('clock-names', ['uartclk', 'apb_pclk']);
    u.setCells('clocks', [PHANDLE_CLOCK, PHANDLE_CLOCK]);
    f.addNode('/chosen').setString('stdout-path', uartPath);
  }
  const chosen = f.ensureNode('/chosen');
  if (o.bootargs !== undefined) chosen.setString('bootargs', o.bootargs);
  if (o.initrd) {
    chosen.setProperty('linux,initrd-start', encodeU64(o.initrd.start));
    chosen.setProperty('linux,initrd-end', encodeU64(o.initrd.end));
  }
  return f;
}
