// The FDT reader, writer and DTS emitter against dtc (Debian's device-tree-compiler), the oracle
// of DESIGN.md §6, on DTS sources written here: the RM's /hypervisor nodes (RM spec §4.1, §4.2), a
// QEMU-virt-like board, and edge cases; plus trees built with the API and random trees.
// Three directions, each byte for byte:
//   dtc(dts) → our reader → our writer            = dtc's blob
//   our writer → dtc -O dts → dtc -O dtb          = our blob
//   our DTS emitter → dtc -O dtb                  = our blob
// If dtc is missing the tests say ORACLE MISSING (and fail under CI), as the ISA oracle tests do.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { oracleMissing } from '../helpers/oracle.js';
import { encodeU64List, Fdt, FdtNode, readFdt, toDts, writeFdt } from '../../src/machine/fdt/index.js';

function findDtc(): string | null {
  const candidates = process.env.DTC ? [process.env.DTC] : ['dtc'];
  for (const c of candidates) {
    const r = spawnSync(c, ['--version'], { stdio: 'ignore', timeout: 20000 });
    if (r.status === 0) return c;
  }
  return null;
}

const DTC = findDtc();
const skip = DTC ? false : oracleMissing('dtc', 'apt-get install device-tree-compiler');

/** Run dtc on `input` (stdin); its stdout, or a failure carrying dtc's stderr. */
function dtc(args: string[], input: Uint8Array | string): Uint8Array {
  // -q: dtc's checks warn about things that are fine here (unit names without reg, …).
  const r = spawnSync(DTC!, ['-q', ...args, '-'], { input, maxBuffer: 1 << 26, timeout: 20000 });
  if (r.error) throw r.error;
  if (r.status !== 0) {
    throw new Error(`dtc ${args.join(' ')} failed (${r.status}): ${r.stderr.toString()}\n--- input ---\n${input}`);
  }
  return new Uint8Array(r.stdout);
}

const dtsToDtb = (src: string, bootCpu = 0): Uint8Array => dtc(['-I', 'dts', '-O', 'dtb', '-b', String(bootCpu)], src);
const dtbToDts = (b: Uint8Array): string => Buffer.from(dtc(['-I', 'dtb', '-O', 'dts'], b)).toString('latin1');
const dtbToDtb = (b: Uint8Array): Uint8Array => dtc(['-I', 'dtb', '-O', 'dtb'], b);

/** Equal bytes; on a difference, the first differing offset and both decompiled trees. */
function sameBytes(ours: Uint8Array, theirs: Uint8Array, what: string): void {
  if (Buffer.from(ours).equals(Buffer.from(theirs))) return;
  let i = 0;
  while (i < ours.length && ours[i] === theirs[i]) i++;
  assert.fail(
    `${what}: blobs differ at byte 0x${i.toString(16)} (ours ${ours.length} bytes, dtc ${theirs.length})\n` +
      `--- ours ---\n${safeDts(ours)}\n--- dtc ---\n${safeDts(theirs)}`,
  );
}

function safeDts(b: Uint8Array): string {
  try {
    return dtbToDts(b);
  } catch (e) {
    return String(e);
  }
}

/** All three directions for one tree given as dtc's blob. */
function checkAllWays(dtcBlob: Uint8Array, what: string): void {
  const tree = readFdt(dtcBlob);
  const ours = writeFdt(tree);
  sameBytes(ours, dtcBlob, `${what}: dtc → reader → writer`);
  sameBytes(dtsToDtb(dtbToDts(ours), tree.bootCpuidPhys), ours, `${what}: writer → dtc dts → dtc dtb`);
  sameBytes(dtsToDtb(toDts(tree), tree.bootCpuidPhys), ours, `${what}: DTS emitter → dtc dtb`);
}

// ---- DTS sources ----

/** RM §4.1: a secondary VM's tree after the RM's overlay (the shapes of each vdevice kind). */
const RM_SECONDARY = `/dts-v1/;
/memreserve/ 0x80000000 0x1000;
/ {
	#address-cells = <2>;
	#size-cells = <2>;
	interrupt-parent = <&gic>;
	compatible = "linux,dummy-virt";

	gic: intc@3ffd0000 {
		compatible = "arm,gic-v3";
		#interrupt-cells = <3>;
		interrupt-controller;
		reg = <0 0x3ffd0000 0 0x10000>, <0 0x3fe70000 0 0x160000>;
	};

	cpus {
		#address-cells = <1>;
		#size-cells = <0>;
		cpu@0 {
			device_type = "cpu";
			compatible = "arm,armv8";
			reg = <0>;
			enable-method = "psci";
			qcom,gunyah-capability = /bits/ 64 <0x1f>;
		};
	};

	memory {
		device_type = "memory";
		reg = <0 0x80000000 0 0x10000000>, <0 0x90200000 0 0x100000>;
	};

	reserved-memory {
		#address-cells = <2>;
		#size-cells = <2>;
		ranges;
		shm: buffer@90200000 {
			reg = <0 0x90200000 0 0x100000>;
			qcom,shared-memory;
			no-map;
			peers = <3 45>;
			qcom,rm-mem-handle = <0x12>;
			qcom,label = <0x7>;
			compatible = "qcom,shared-memory";
		};
		firmware@80000000 {
			reg = <0 0x80000000 0 0x200000>;
			no-map;
			compatible = "qcom,vm-firmware";
		};
	};

	vsoc {
		compatible = "simple-bus";
		#address-cells = <2>;
		#size-cells = <2>;
		ranges;
	};

	chosen {
		bootargs = "console=ttyAMA0 earlycon rdinit=/init";
		kaslr-seed = /bits/ 64 <0x0123456789abcdef>;
		linux,initrd-start = <0x88000000>;
		linux,initrd-end = <0x880fffff>;
	};

	hypervisor {
		#address-cells = <2>;
		#size-cells = <0>;
		compatible = "gunyah-hypervisor", "qcom,gunyah-hypervisor-1.0", "qcom,gunyah-hypervisor", "simple-bus";

		qcom,gunyah-vm {
			compatible = "qcom,gunyah-vm-id-1.0", "qcom,gunyah-vm-id";
			qcom,vmid = <45>;
			qcom,owner-vmid = <3>;
			qcom,vendor = "Qualcomm";
			qcom,image-name = "";
			qcom,vm-guid = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
			qcom,peers = "vm-name:host";
		};

		qcom,resource-manager-rpc@b {
			compatible = "qcom,gunyah-message-queue", "qcom,gunyah-capability", "gunyah-resource-manager",
				"qcom,resource-manager", "qcom,resource-manager-1-0";
			reg = /bits/ 64 <0xa 0xb>;
			interrupts = <0 3 1>, <0 4 1>;
			qcom,free-irq-start = <0>;
			qcom,is-full-duplex;
			qcom,tx-message-size = <240>;
			qcom,rx-message-size = <240>;
			qcom,tx-queue-depth = <8>;
			qcom,rx-queue-depth = <8>;
			qcom,vdevice-handle = <0x1>;
		};

		msgq-pair@21 {
			compatible = "qcom,gunyah-message-queue", "qcom,gunyah-capability";
			reg = /bits/ 64 <0x20 0x21>;
			interrupts = <0 5 1>, <0 6 1>;
			qcom,peer-vmid = <3>;
			qcom,free-irq-start = <0>;
			qcom,is-full-duplex;
			qcom,tx-message-size = <240>;
			qcom,rx-message-size = <240>;
			qcom,tx-queue-depth = <8>;
			qcom,rx-queue-depth = <8>;
			qcom,vdevice-handle = <0x2>;
			peer = "vm-name:host";
			qcom,label = <0x3>;
			label = <0x3>;
		};

		bell: doorbell@30 {
			compatible = "qcom,gunyah-doorbell", "qcom,gunyah-capability";
			reg = /bits/ 64 <0x30>;
			interrupts = <0 7 1>;
			qcom,label = <0x4>;
			label = <0x4>;
		};

		doorbell-source@31 {
			compatible = "qcom,gunyah-doorbell-source", "qcom,gunyah-capability";
			reg = /bits/ 64 <0x31>;
			qcom,label = <0x5>;
			label = <0x5>;
		};

		shm-doorbell {
			compatible = "qcom,gunyah-shm-doorbell";
			memory-region = <&shm>;
			rx-doorbell = <&bell>;
			peer = <3>;
			qcom,label = <0x7>;
			label = <0x7>;
			dma_base = /bits/ 64 <0x0>;
		};

		vrtc {
			vrtc-pclk {
				compatible = "fixed-clock";
				#clock-cells = <0>;
				clock-frequency = <1>;
				phandle = <0x40>;
			};
			vrtc {
				compatible = "arm,pl031", "arm,primecell";
				reg = /bits/ 64 <0x9010000 0x1000>;
				clock-names = "apb_pclk";
				clocks = <0x40>;
			};
		};

		qcom,gh-watchdog {
			compatible = "qcom,gh-watchdog";
			interrupts = <1 9 4>;
		};
	};
};
`;

/** RM §4.2: the primary (HLOS) overlay, with the RPC node named by the tx cap in 16 hex digits. */
const RM_PRIMARY = `/dts-v1/;
/ {
	#address-cells = <2>;
	#size-cells = <2>;
	hypervisor {
		#address-cells = <2>;
		#size-cells = <0>;
		compatible = "gunyah-hypervisor", "qcom,gunyah-hypervisor-1.0", "qcom,gunyah-hypervisor", "simple-bus";
		qcom,gunyah-vm {
			compatible = "qcom,gunyah-vm-id-1.0", "qcom,gunyah-vm-id";
			qcom,vmid = <3>;
			qcom,vendor = "Qualcomm";
		};
		qcom,resource-manager-rpc@0000000000000001 {
			compatible = "gunyah-resource-manager", "qcom,resource-manager-1-0", "qcom,resource-manager";
			reg = <0 1>, <0 2>;
			interrupts = <0 960 1>, <0 961 1>;
			qcom,free-irq-start = <960>;
			qcom,is-full-duplex;
			qcom,tx-message-size = <240>;
			qcom,rx-message-size = <240>;
			qcom,tx-queue-depth = <8>;
			qcom,rx-queue-depth = <8>;
		};
	};
};
`;

/** A QEMU-virt-like board (DESIGN.md §3's guest platform): memory, cpus, psci, gic, timer, uart, chosen. */
const QEMU_VIRT = `/dts-v1/;
/memreserve/ 0x40000000 0x10000;
/memreserve/ 0x48000000 0x200000;
/ {
	interrupt-parent = <&gic>;
	model = "linux,dummy-virt";
	#size-cells = <2>;
	#address-cells = <2>;
	compatible = "linux,dummy-virt";

	psci {
		migrate = <0xc4000005>;
		cpu_on = <0xc4000003>;
		cpu_off = <0x84000002>;
		cpu_suspend = <0xc4000001>;
		method = "hvc";
		compatible = "arm,psci-1.0", "arm,psci-0.2", "arm,psci";
	};

	memory@80000000 {
		reg = <0x00 0x80000000 0x00 0x10000000>;
		device_type = "memory";
	};

	platform-bus@c000000 {
		interrupt-parent = <&gic>;
		ranges = <0x00 0x00 0xc000000 0x2000000>;
		#address-cells = <0x01>;
		#size-cells = <0x01>;
		compatible = "qemu,platform", "simple-bus";
	};

	clk24mhz: apb-pclk {
		phandle = <0x8000>;
		clock-output-names = "clk24mhz";
		clock-frequency = <0x16e3600>;
		#clock-cells = <0x00>;
		compatible = "fixed-clock";
	};

	pl031@9010000 {
		clock-names = "apb_pclk";
		clocks = <&clk24mhz>;
		interrupts = <0x00 0x02 0x04>;
		reg = <0x00 0x9010000 0x00 0x1000>;
		compatible = "arm,pl031", "arm,primecell";
	};

	pl011@9000000 {
		clock-names = "uartclk", "apb_pclk";
		clocks = <&clk24mhz &clk24mhz>;
		interrupts = <0x00 0x01 0x04>;
		reg = <0x00 0x9000000 0x00 0x1000>;
		compatible = "arm,pl011", "arm,primecell";
	};

	virtio_mmio@a000000 {
		dma-coherent;
		interrupts = <0x00 0x10 0x01>;
		reg = <0x00 0xa000000 0x00 0x200>;
		compatible = "virtio,mmio";
	};

	gic: intc@8000000 {
		phandle = <0x8002>;
		reg = <0x00 0x8000000 0x00 0x10000 0x00 0x80a0000 0x00 0xf60000>;
		#redistributor-regions = <0x01>;
		compatible = "arm,gic-v3";
		ranges;
		#size-cells = <0x02>;
		#address-cells = <0x02>;
		interrupt-controller;
		#interrupt-cells = <0x03>;

		its@8080000 {
			phandle = <0x8003>;
			reg = <0x00 0x8080000 0x00 0x20000>;
			#msi-cells = <0x01>;
			msi-controller;
			compatible = "arm,gic-v3-its";
		};
	};

	cpus {
		#size-cells = <0x00>;
		#address-cells = <0x01>;

		cpu-map {
			socket0 {
				cluster0 {
					core0 { cpu = <&cpu0>; };
					core1 { cpu = <&cpu1>; };
				};
			};
		};

		cpu0: cpu@0 {
			reg = <0x00>;
			enable-method = "psci";
			compatible = "arm,cortex-a57";
			device_type = "cpu";
		};

		cpu1: cpu@1 {
			reg = <0x01>;
			enable-method = "psci";
			compatible = "arm,cortex-a57";
			device_type = "cpu";
		};
	};

	timer {
		interrupts = <0x01 0x0d 0x104 0x01 0x0e 0x104 0x01 0x0b 0x104 0x01 0x0a 0x104>;
		always-on;
		compatible = "arm,armv8-timer", "arm,armv7-timer";
	};

	aliases {
		serial0 = "/pl011@9000000";
	};

	chosen {
		linux,initrd-end = <0x00 0x48200000>;
		linux,initrd-start = <0x00 0x48000000>;
		bootargs = "console=ttyAMA0 root=/dev/vda";
		stdout-path = "/pl011@9000000";
		rng-seed = [01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10 11 12 13 14 15 16 17 18 19 1a 1b 1c 1d 1e 1f 20];
	};
};
`;

/** Edge cases of the format: shared string tails, odd value lengths, escapes, names of every length mod 4. */
const EDGES = `/dts-v1/;
/ {
	#size-cells = <1>;
	size-cells = "a", "b";
	cells;
	ells = /bits/ 8 <1 2 3>;
	s = /bits/ 16 <0xffff 1 2>;
	x-#?*,._+ = "esc \\" \\\\ \\t \\n \\a \\b \\v \\f \\r";
	del = "\\x7f";
	multi = "one", "", "three";
	mixed = "str", <1>, [ab cd];
	empty-string = "";
	a { };
	ab { };
	abc { };
	abcd { };
	abcde { x = [00]; };
	deep { d { e { e { p { e { r { leaf = <0xdeadbeef>; }; }; }; }; }; }; };
	unit@0,1 { reg-like = <0 1>; };
};
`;

/** Nothing but a root: the smallest tree dtc makes. */
const EMPTY_ROOT = `/dts-v1/;
/ { };
`;

const SOURCES: [string, string][] = [
  ['RM §4.1 secondary-VM overlay', RM_SECONDARY],
  ['RM §4.2 primary-VM overlay', RM_PRIMARY],
  ['QEMU virt-like board', QEMU_VIRT],
  ['format edge cases', EDGES],
  ['empty root', EMPTY_ROOT],
];

for (const [name, src] of SOURCES) {
  test(
    `DESIGN §6 / DT §5: ${name}: dtc's blob is read and rewritten to the same bytes, and dtc agrees with our writer and DTS`,
    { skip },
    () => {
      checkAllWays(dtsToDtb(src), name);
    },
  );
}

test('DT §5.2: the boot CPU of a blob survives reader and writer (dtc -b 1)', { skip }, () => {
  const b = dtsToDtb(QEMU_VIRT, 1);
  const t = readFdt(b);
  assert.equal(t.bootCpuidPhys, 1);
  assert.equal(t.memReservations.length, 2);
  sameBytes(writeFdt(t), b, 'boot cpu 1');
});

test(
  'DT §5.2: a version 16 blob from dtc -V 16 (no size_dt_struct) reads to the same tree as the v17 one',
  { skip },
  () => {
    const v16 = dtc(['-I', 'dts', '-O', 'dtb', '-V', '16', '-b', '0'], QEMU_VIRT);
    assert.equal(new DataView(v16.buffer, v16.byteOffset).getUint32(0x14), 16);
    const v17 = dtsToDtb(QEMU_VIRT);
    assert.ok(readFdt(v16).equals(readFdt(v17)));
    sameBytes(writeFdt(readFdt(v16)), v17, 'v16 → reader → v17 writer');
  },
);

test("RM §4.1: values read from dtc's blob of the secondary-VM overlay are the ones in the source", { skip }, () => {
  const t = readFdt(dtsToDtb(RM_SECONDARY));
  assert.equal(t.node('/hypervisor/qcom,gunyah-vm').getU32('qcom,vmid'), 45);
  assert.deepEqual(t.reg('/hypervisor/qcom,resource-manager-rpc'), [
    { address: 0xan, size: 0n },
    { address: 0xbn, size: 0n },
  ]);
  assert.deepEqual(t.interrupts('/hypervisor/msgq-pair@21'), [
    [0, 5, 1],
    [0, 6, 1],
  ]);
  assert.equal(t.node('/cpus/cpu@0').getU64('qcom,gunyah-capability'), 0x1fn);
  assert.equal(t.node('/chosen').getU64('kaslr-seed'), 0x0123456789abcdefn);
  // dtc gave the label targets phandles; references resolve to them.
  const shm = t.node('/hypervisor/shm-doorbell');
  assert.equal(t.pathOfPhandle(shm.getU32('memory-region')!), '/reserved-memory/buffer@90200000');
  assert.equal(t.pathOfPhandle(shm.getU32('rx-doorbell')!), '/hypervisor/doorbell@30');
  assert.deepEqual(t.memReservations, [{ address: 0x8000_0000n, size: 0x1000n }]);
});

test('DT §2.4: the QEMU virt-like board resolves interrupt parents and reg through dtc-made phandles', { skip }, () => {
  const t = readFdt(dtsToDtb(QEMU_VIRT));
  assert.equal(t.interruptParent('/pl011@9000000'), '/intc@8000000');
  assert.deepEqual(t.interrupts('/timer'), [
    [1, 13, 0x104],
    [1, 14, 0x104],
    [1, 11, 0x104],
    [1, 10, 0x104],
  ]);
  assert.deepEqual(t.reg('serial0'), [{ address: 0x900_0000n, size: 0x1000n }]);
  assert.deepEqual(t.reg('/cpus/cpu@1'), [{ address: 1n, size: 0n }]);
});

test(
  "RM §4.1: a /hypervisor overlay added with the API to dtc's board compiles back identically through dtc",
  { skip },
  () => {
    const t = readFdt(dtsToDtb(QEMU_VIRT));
    assert.equal(t.lookup('/hypervisor'), undefined, 'RM §4.1: the input must not have /hypervisor');
    const hyp = t.root.addChild('hypervisor');
    hyp.setU32('#address-cells', 2).setU32('#size-cells', 0);
    hyp.setStrings('compatible', [
      'gunyah-hypervisor',
      'qcom,gunyah-hypervisor-1.0',
      'qcom,gunyah-hypervisor',
      'simple-bus',
    ]);
    const vm = hyp.addChild('qcom,gunyah-vm');
    vm.setStrings('compatible', ['qcom,gunyah-vm-id-1.0', 'qcom,gunyah-vm-id']).setU32('qcom,vmid', 45);
    const rpc = hyp.addChild('qcom,resource-manager-rpc@b');
    rpc.setProperty('reg', encodeU64List([0xan, 0xbn]));
    t.setInterrupts(`/hypervisor/${rpc.name}`, [
      [0, 3, 1],
      [0, 4, 1],
    ]);
    rpc.setFlag('qcom,is-full-duplex');
    t.node('/cpus/cpu@0').setU64('qcom,gunyah-capability', 0x1f);
    t.node('/chosen').setU64('kaslr-seed', 0x55aa55aa55aa55aan);
    t.node('/chosen').setString('bootargs', 'console=hvc0');
    const ours = writeFdt(t);
    sameBytes(dtbToDtb(ours), ours, 'dtc -I dtb -O dtb');
    sameBytes(dtsToDtb(dtbToDts(ours)), ours, 'writer → dtc dts → dtc dtb');
    sameBytes(dtsToDtb(toDts(t)), ours, 'DTS emitter → dtc dtb');
  },
);

// ---- random trees ----

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const tailArb = (extra: string): fc.Arbitrary<string> =>
  fc.string({ unit: fc.constantFrom(...(LETTERS + extra).split('')), maxLength: 8 });
// Prefixes keep clear of the names dtc's checks give meaning to (reg, name, phandle, #…-cells).
const propNameArb = tailArb(',._+-#?*').map((s) => `x-${s}`);
const nodeNameArb = fc
  .tuple(tailArb(',._+-'), fc.option(tailArb(',._+-'), { nil: undefined }))
  .map(([a, u]) => (u === undefined ? `n${a}` : `n${a}@${u}`));
const printable = fc.string({ unit: fc.constantFrom(...'abc XYZ09,./"\\\t\n-_'.split('')), maxLength: 12 });
const valueArb = fc.oneof(
  fc.uint8Array({ maxLength: 24 }),
  fc
    .array(printable, { minLength: 1, maxLength: 3 })
    .map((l) => new Uint8Array(Buffer.from(l.map((s) => s + '\0').join(''), 'latin1'))),
  fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 4 }).map((cells) => {
    const b = new Uint8Array(cells.length * 4);
    cells.forEach((c, i) => new DataView(b.buffer).setUint32(i * 4, c));
    return b;
  }),
);

interface Spec {
  name: string;
  props: [string, Uint8Array][];
  kids: Spec[];
}
function nodeArb(depth: number): fc.Arbitrary<Spec> {
  return fc.record({
    name: nodeNameArb,
    props: fc.uniqueArray(fc.tuple(propNameArb, valueArb), { maxLength: 4, selector: ([k]) => k }),
    kids: depth === 0 ? fc.constant([]) : fc.uniqueArray(nodeArb(depth - 1), { maxLength: 3, selector: (n) => n.name }),
  });
}
function build(s: Spec, n: FdtNode): void {
  for (const [k, v] of s.props) n.setProperty(k, v);
  for (const k of s.kids) build(k, n.addChild(k.name));
}
const treeArb = fc
  .record({
    root: nodeArb(3),
    rsv: fc.array(
      fc.record({
        address: fc.bigInt({ min: 1n, max: 2n ** 64n - 1n }),
        // A zero size ends the list (dtc, libfdt): not an entry.
        size: fc.bigInt({ min: 1n, max: 2n ** 64n - 1n }),
      }),
      { maxLength: 2 },
    ),
    cpu: fc.nat(),
  })
  .map(({ root, rsv, cpu }) => {
    const t = new Fdt();
    build(root, t.root);
    t.memReservations = rsv;
    t.bootCpuidPhys = cpu;
    return t;
  });

test(
  'DESIGN §6 / DT §5: random trees: dtc rewrites our blob to the same bytes and compiles our DTS to them',
  { skip },
  () => {
    fc.assert(
      fc.property(treeArb, (t) => {
        const ours = writeFdt(t);
        sameBytes(dtbToDtb(ours), ours, 'dtc -I dtb -O dtb');
        sameBytes(dtsToDtb(toDts(t), t.bootCpuidPhys), ours, 'DTS emitter → dtc dtb');
      }),
      { numRuns: 40 },
    );
  },
);
