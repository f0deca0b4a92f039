// The root VM as the hypervisor builds it at boot (hypervisor-abi.md §11.1–11.2): its caps and
// their order, the root VIC, the root vCPU's first register state, and the boot environment
// (rt_env_data + rm_env_data_hdr + one CBOR map) in the RM region — read back byte by byte, with
// an independent CBOR decoder (cborg), and by real AArch64 code running as the root vCPU.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decode as cborgDecode } from 'cborg';
import { Hypervisor, type HypervisorOptions } from '../../src/hyp/hypervisor.js';
import { NativeVcpu } from '../../src/hyp/vm/native.js';
import { HypSystem } from '../../src/hyp/system.js';
import { Err } from '../../src/hyp/abi/errors.js';
import { ALL_RIGHTS } from '../../src/hyp/abi/rights.js';
import { Cspace } from '../../src/hyp/core/cspace.js';
import { ObjState } from '../../src/hyp/core/object.js';
import { VCPU_OPTION } from '../../src/hyp/vm/thread.js';
import { vicOfVcpu } from '../../src/hyp/vm/vic.js';
import { decodeBootEnv, envPairs, envUint, envUintArray, BootEnvError } from '../../src/hyp/boot/env.js';

const ONES = 0xffff_ffff_ffff_ffffn;
const MiB = 1024 * 1024;
/** RAM that holds the QEMU platform's RM region 0x8048_0000 + 0xA_0000 (§11.1 item 6). */
const QEMU_LIKE: HypervisorOptions = { memory: { base: 0x8000_0000, size: 16 * MiB } };

function boot(opts: HypervisorOptions = QEMU_LIKE) {
  const hv = new Hypervisor(opts);
  const vm = hv.createRootVm();
  const v = new NativeVcpu(hv, vm.thread);
  const ram = hv.mem.phys;
  const at = (pa: number, len: number): Uint8Array => ram.bytes.subarray(pa - ram.base, pa - ram.base + len);
  return { hv, vm, v, at };
}

test('§11.2: root caps in order — cspace 0, partition 1, vcpu 2, VIC 3, hwirqs by INTID, then addrspace and the memory extents; all master caps with every right', () => {
  const { vm } = boot();
  const entries = [...vm.cspace.entries()];
  assert.deepEqual(
    entries.map(([id]) => id),
    entries.map((_, i) => Cspace.idOf(i)),
    'dense from slot 0',
  );
  const types = entries.map(([, c]) => c.obj!.type);
  const hw = vm.caps.hwirq.filter((c) => c !== ONES).length;
  assert.deepEqual(types.slice(0, 4), ['cspace', 'partition', 'thread', 'vic']);
  assert.deepEqual(types.slice(4, 4 + hw), new Array<string>(hw).fill('hwirq'));
  assert.deepEqual(types.slice(4 + hw), ['addrspace', 'memextent', 'memextent', 'memextent']);
  assert.deepEqual([vm.caps.cspace, vm.caps.partition, vm.caps.vcpu, vm.caps.vic], [0n, 1n, 2n, 3n]);
  assert.deepEqual(
    [vm.caps.addrspace, vm.caps.rmMemextent, vm.caps.deviceMemextent, vm.caps.uartMemextent],
    [4 + hw, 5 + hw, 6 + hw, 7 + hw].map((i) => Cspace.idOf(i)),
  );
  for (const [, c] of entries) {
    assert.ok(c.master, `${String(c.obj)} master`);
    assert.equal(c.rights >>> 0, ALL_RIGHTS[c.obj!.type] >>> 0, `${String(c.obj)} rights`);
    assert.equal(c.obj!.state, ObjState.ACTIVE, `${String(c.obj)} ACTIVE`);
  }
});

test('§11.1 item 4: one hwirq per SPI 32..287 and per PPI the hypervisor does not use; SGIs and the PMU/maintenance/timer PPIs (23, 25, 26, 27, 30) get none', () => {
  const { vm } = boot();
  assert.equal(vm.caps.hwirq.length, 288, 'vic_hwirq covers INTIDs 0..287 (QEMU virt: 256 SPIs)');
  const expectNone = new Set([...Array.from({ length: 16 }, (_, i) => i), 23, 25, 26, 27, 30]);
  for (let intid = 0; intid < 288; intid++) {
    const cap = vm.caps.hwirq[intid]!;
    if (expectNone.has(intid)) {
      assert.equal(cap, ONES, `INTID ${intid}: CAP_INVALID`);
      assert.equal(vm.hwirqs.get(intid), undefined);
    } else {
      const h = vm.cspace.lookup(cap, 'hwirq', 0x2, true);
      assert.equal(h, vm.hwirqs.get(intid), `INTID ${intid}: its own hwirq`);
      assert.equal(vm.hwirqs.get(intid)!.irq, intid);
    }
  }
  assert.equal(vm.hwirqs.size, 288 - expectNone.size);
});

test('§11.1 item 5: the root VIC has 1 vCPU and 64 bindable SPIs (32..95), no fixed addresses, and the root vCPU at index 0', () => {
  const { vm, v, hv } = boot();
  assert.equal(vm.vic.maxVcpus, 1);
  assert.equal(vm.vic.maxVirqs, 64);
  assert.equal(vm.vic.allowFixedAddrs, false, 'vic_configure option bit 1 (disable_default_addr)');
  assert.deepEqual(vicOfVcpu(vm.thread), { vic: vm.vic, index: 0 });
  assert.equal(vm.vic.vcpuAt(0), vm.thread, 'index 0 claimed by the active root vCPU');
  const C = vm.caps.cspace;
  const P = vm.caps.partition;
  const db = v.call('partition_create_doorbell', P, C, 0n).x[1]!;
  assert.equal(v.call('object_activate', db, 0n).e, Err.OK);
  assert.equal(v.call('doorbell_bind_virq', db, vm.caps.vic, 96n, 0n).e, Err.ARGUMENT_INVALID, 'SPI 96: beyond 64');
  assert.equal(v.call('doorbell_bind_virq', db, vm.caps.vic, 95n, 0n).e, Err.OK, 'SPI 95: the last one');
  const t = v.call('partition_create_thread', P, C, 0n).x[1]!;
  assert.equal(v.call('vic_attach_vcpu', vm.caps.vic, t, 1n, 0n).e, Err.ARGUMENT_INVALID, 'max_vcpus 1');
  assert.equal(v.call('vic_attach_vcpu', vm.caps.vic, t, 0n, 0n).e, Err.OK);
  assert.equal(v.call('cspace_attach_thread', C, t, 0n).e, Err.OK);
  assert.equal(v.call('addrspace_attach_thread', vm.caps.addrspace, t, 0n).e, Err.OK, 'a root VM vCPU (§4.5)');
  assert.equal(v.call('object_activate', t, 0n).e, Err.BUSY, 'index 0 is the root vCPU’s');
  assert.equal(hv.liveOf('vic').length, 1);
});

test('§11.1 items 3 and 8: the root vCPU is priority 32, on the boot CPU, critical, powered on at the entry with X0 = env_ipa', () => {
  const { vm } = boot();
  const t = vm.thread;
  assert.equal(t.priority, 32);
  assert.equal(t.affinity, 0);
  assert.notEqual(t.options & VCPU_OPTION.critical, 0n);
  assert.equal(t.poweredOff, false);
  assert.equal(t.pc, BigInt(vm.env.entry));
  assert.equal(t.regs[0], BigInt(vm.env.ipa));
  assert.equal(vm.env.ipa, 0x8048_0000, 'nothing loaded: the env opens the RM region');
  assert.equal(vm.env.entry, 0x8048_0000);
});

test('§11.2: rt_env_data (88 bytes) and rm_env_data_hdr (16 bytes) sit at env_ipa, little-endian, as laid out', () => {
  const { vm, at } = boot();
  const env = at(vm.env.ipa, 0x4000);
  const dv = new DataView(env.buffer, env.byteOffset, env.byteLength);
  assert.equal(Buffer.from(env.subarray(0, 4)).toString('latin1'), 'RVME', 'signature 0x454D5652');
  assert.equal(dv.getUint16(4, true), 1, 'version');
  const u64 = (o: number) => dv.getBigUint64(o, true);
  assert.equal(u64(8), 0x8048_0000n, 'runtime_ipa');
  assert.equal(u64(16), 0x8048_0000n, 'app_ipa');
  assert.equal(u64(24), 0x8048_4000n, 'app_heap_ipa: right after the 0x4000-byte env');
  assert.equal(u64(32), 0x8052_0000n - 0x8048_4000n, 'app_heap_size: the rest of the region');
  assert.equal(u64(40), vm.caps.vcpu, 'vcpu_capid');
  assert.equal(u64(48), 62_500_000n, 'timer_freq');
  assert.equal(u64(56), 0x0800_0000n, 'gicd_base');
  assert.equal(u64(64), 0x080a_0000n, 'gicr_base');
  assert.equal(u64(72), 88n, 'rm_config_offset');
  assert.equal(u64(80), 0x4000n - 88n, 'rm_config_size');
  assert.equal(Buffer.from(env.subarray(88, 92)).toString('latin1'), 'DEMR', 'header signature 0x524D4544');
  assert.equal(dv.getUint16(92, true), 1, 'header version');
  assert.equal(dv.getUint32(96, true), 16, 'data_payload_offset');
  const size = dv.getUint32(100, true);
  assert.ok(size > 0 && 104 + size <= 0x4000, `payload size ${size}`);
  assert.ok(
    env.subarray(104 + size).every((b) => b === 0),
    'the rest of the 0x4000-byte buffer is zero',
  );
});

test('§11.2: the CBOR payload is one map with every key of the table, with the platform’s values (read by cborg)', () => {
  const { vm, at, hv } = boot();
  const env = at(vm.env.ipa, 0x4000);
  const size = new DataView(env.buffer, env.byteOffset).getUint32(100, true);
  const raw = cborgDecode(env.subarray(104, 104 + size), { useMaps: true }) as Map<string, unknown>;
  const big = (x: unknown): unknown => (typeof x === 'number' ? BigInt(x) : Array.isArray(x) ? x.map(big) : x);
  const m = new Map([...raw].map(([k, x]) => [k, big(x)]));
  const rm = hv.mem.rmRegion;
  const expected = new Map<string, unknown>([
    ['cspace_capid', vm.caps.cspace],
    ['partition_capid', vm.caps.partition],
    ['vcpu_capid', vm.caps.vcpu],
    ['free_ranges', [[0x8000_0000n, BigInt(16 * MiB)]]],
    ['gicd_base', 0x0800_0000n],
    ['gicr_stride', 0x2_0000n],
    ['gicr_ranges', [[0x080a_0000n, 8n]]],
    ['vic', vm.caps.vic],
    ['vic_hwirq', vm.caps.hwirq],
    ['addrspace_capid', vm.caps.addrspace],
    ['me_capid', vm.caps.rmMemextent],
    ['me_ipa_base', 0x8048_0000n],
    ['me_size', 0xa_0000n],
    ['ipa_offset', 0n],
    ['device_me_capid', vm.caps.deviceMemextent],
    ['device_me_base', 0n],
    ['device_me_size', 0x4000_0000n],
    ['uart_address', 0x0900_0000n],
    ['uart_me_capid', vm.caps.uartMemextent],
    ['boot_core', 0n],
    ['usable_cores', 0xffn],
    ['hlos_vm_base', 0x4000_0000n],
    ['hlos_vm_size', 0x4000_0000n],
    ['entry_hlos', 0x4100_0000n],
    ['hlos_dt_base', 0x40f0_0000n],
    ['hlos_ramfs_base', 0x4080_0000n],
    ['watchdog_supported', 0n],
    ['sve_supported', false],
  ]);
  assert.deepEqual([...m.keys()].sort(), [...expected.keys()].sort(), 'exactly the §11.2 keys');
  for (const [k, x] of expected) assert.deepEqual(m.get(k), x, k);
  assert.deepEqual([rm.base, rm.size], [0x8048_0000, 0xa_0000]);
  // Key order as Gunyah emits it: the three caps first, then free_ranges, then the vGIC's keys.
  assert.deepEqual([...m.keys()].slice(0, 9), [
    'cspace_capid',
    'partition_capid',
    'vcpu_capid',
    'free_ranges',
    'gicd_base',
    'gicr_stride',
    'gicr_ranges',
    'vic',
    'vic_hwirq',
  ]);
});

test('§11.2 [?] free_ranges: the walk precedes the RM extent, so every RAM range of the root partition — the RM region included — is listed', () => {
  const { vm, at } = boot({ memory: { base: 0x4000_0000, size: 8 * MiB } });
  const env = decodeBootEnv(at(vm.env.ipa, 0x4000));
  assert.deepEqual(envPairs(env.config, 'free_ranges'), [[0x4000_0000n, BigInt(8 * MiB)]]);
  const me = envUint(env.config, 'me_ipa_base');
  assert.ok(me >= 0x4000_0000n && me < 0x4000_0000n + BigInt(8 * MiB), 'the RM region lies inside it');
});

test('§11.2: our decoder reads the env back (rt fields, header, map) and the RM-side helpers reject wrong types', () => {
  const { vm, at } = boot();
  const env = decodeBootEnv(at(vm.env.ipa, 0x4000));
  assert.equal(env.vcpuCapid, vm.caps.vcpu);
  assert.equal(env.appHeapIpa, BigInt(vm.env.heapIpa));
  assert.equal(env.appHeapSize, BigInt(vm.env.heapSize));
  assert.equal(env.payloadOffset, 16);
  assert.deepEqual(envUintArray(env.config, 'vic_hwirq'), vm.caps.hwirq);
  assert.equal(envUint(env.config, 'vic'), vm.caps.vic);
  assert.throws(() => envUint(env.config, 'sve_supported'), BootEnvError);
  assert.throws(() => envUint(env.config, 'no_such_key'), BootEnvError);
  assert.throws(() => envPairs(env.config, 'vic_hwirq'), BootEnvError);
  const copy = at(vm.env.ipa, 0x4000).slice();
  copy[0] ^= 1;
  assert.throws(() => decodeBootEnv(copy), /rt_env_data signature/);
  const copy2 = at(vm.env.ipa, 0x4000).slice();
  copy2[88] ^= 1;
  assert.throws(() => decodeBootEnv(copy2), /rm_env_data_hdr signature/);
  const copy3 = at(vm.env.ipa, 0x4000).slice();
  new DataView(copy3.buffer).setUint32(100, 0x4000, true);
  assert.throws(() => decodeBootEnv(copy3), /outside the RM config area/);
});

test('§11.1 items 6–8: with RM images loaded, env_ipa is the next page after them, the heap follows the env, and the entry is the given one', () => {
  const images = { runtimeIpa: 0x8048_0000, appIpa: 0x8049_0000, end: 0x8049_2345 };
  const { vm, at } = boot({ ...QEMU_LIKE, rootVm: { images, entry: 0x8048_0124 } });
  assert.equal(vm.env.ipa, 0x8049_3000);
  assert.equal(vm.thread.regs[0], 0x8049_3000n);
  assert.equal(vm.thread.pc, 0x8048_0124n);
  const env = decodeBootEnv(at(vm.env.ipa, 0x4000));
  assert.equal(env.runtimeIpa, 0x8048_0000n);
  assert.equal(env.appIpa, 0x8049_0000n);
  assert.equal(env.appHeapIpa, 0x8049_7000n);
  assert.equal(env.appHeapSize, 0x8052_0000n - 0x8049_7000n);
  assert.throws(
    () => new Hypervisor({ ...QEMU_LIKE, rootVm: { images: { ...images, end: 0x8051_e000 } } }).createRootVm(),
    /does not fit the RM region/,
  );
});

test('§11.1: without a device window (RAM below 0x4000_0000) the env still has every key; the device and UART caps are CAP_INVALID', () => {
  const { vm, at } = boot({ memory: { base: 0, size: 4 * MiB } });
  const env = decodeBootEnv(at(vm.env.ipa, 0x4000));
  assert.equal(envUint(env.config, 'device_me_capid'), ONES);
  assert.equal(envUint(env.config, 'uart_me_capid'), ONES);
  assert.equal(vm.caps.deviceMemextent, undefined);
});

test('§11.1: building the root VM does not allocate lazily-allocated RAM; the env appears when RAM is first used', () => {
  const hv = new Hypervisor(QEMU_LIKE);
  const vm = hv.createRootVm();
  assert.equal((hv.mem.phys as unknown as { store: Uint8Array | null }).store, null);
  const b = hv.mem.phys.bytes;
  assert.equal(
    Buffer.from(b.subarray(vm.env.ipa - 0x8000_0000, vm.env.ipa - 0x8000_0000 + 4)).toString('latin1'),
    'RVME',
  );
});

// The root vCPU running real code at its entry (MMU off, the RM region identity-mapped); x19 holds
// the results pointer because the hypercall ABI rewrites x0..x7:
//   ldr w1,[x0]; ldr x2,[x0,#40]; adr x19,.+0xf8 (= entry + 0x100); str w1,[x19]; str x2,[x19,#8]
//   str x0,[x19,#16]; mrs x4,CurrentEL; str x4,[x19,#24]; mov x0,#8; mov x1,#0 (res0)
//   hvc #0x6057 (prng_get_entropy)
//   str x0,[x19,#32]; str x1,[x19,#40]; str x2,[x19,#48]; wfi; b .-4
const ROOT_CODE = [
  0xb9400001, 0xf9401402, 0x100007d3, 0xb9000261, 0xf9000662, 0xf9000a60, 0xd5384244, 0xf9000e64, 0xd2800100,
  0xd2800001, 0xd40c0ae2, 0xf9001260, 0xf9001661, 0xf9001a62, 0xd503207f, 0x17ffffff,
];

test('§11.1 item 8: the root vCPU starts at the entry at EL1 with X0 = env_ipa, reads the env, and makes hypercalls', () => {
  const images = { runtimeIpa: 0x8048_0000, appIpa: 0x8048_0000, end: 0x8048_1000 };
  const hv = new Hypervisor({ ...QEMU_LIKE, rootVm: { images } });
  const vm = hv.createRootVm();
  const ram = hv.mem.phys.bytes;
  const dv = new DataView(ram.buffer, ram.byteOffset);
  const code = 0x8048_0000 - 0x8000_0000;
  ROOT_CODE.forEach((w, k) => dv.setUint32(code + 4 * k, w, true));
  const sys = new HypSystem(hv, 1);
  sys.addEmulated(vm.thread);
  assert.equal(sys.run(1_000_000), 'idle');
  const out = code + 0x100;
  assert.equal(dv.getUint32(out, true), 0x454d_5652, 'the env signature at X0');
  assert.equal(dv.getBigUint64(out + 8, true), vm.caps.vcpu, 'vcpu_capid');
  assert.equal(dv.getBigUint64(out + 16, true), 0x8048_1000n, 'X0 = env_ipa');
  assert.equal(dv.getBigUint64(out + 24, true), 1n << 2n, 'CurrentEL = EL1');
  assert.equal(dv.getBigUint64(out + 32, true), 0n, 'prng_get_entropy OK');
  // The same first word a native caller gets from a hypervisor with the same (default) seed.
  const other = new Hypervisor(QEMU_LIKE);
  const ovm = other.createRootVm();
  const r = new NativeVcpu(other, ovm.thread).call('prng_get_entropy', 8n, 0n);
  assert.equal(dv.getBigUint64(out + 40, true), r.x[1]);
  assert.equal(dv.getBigUint64(out + 48, true), r.x[2]);
});

test('§11.1 item 5: the root vGIC answers at the physical GIC addresses through vdevice frames (GICD_IIDR, GICR0 TYPER)', () => {
  const images = { runtimeIpa: 0x8048_0000, appIpa: 0x8048_0000, end: 0x8048_1000 };
  const hv = new Hypervisor({ ...QEMU_LIKE, rootVm: { images } });
  const vm = hv.createRootVm();
  const ram = hv.mem.phys.bytes;
  const dv = new DataView(ram.buffer, ram.byteOffset);
  const code = 0x8048_0000 - 0x8000_0000;
  // movz x1,#0x0800,lsl #16; ldr w2,[x1,#8]; movz x3,#0x8048,lsl #16; movk x3,#0x200; str x2,[x3]
  // movz x1,#0x080a,lsl #16; ldr x2,[x1,#8]; str x2,[x3,#8]; wfi; b .-4
  [
    0xd2a10001, 0xb9400822, 0xd2b00903, 0xf2804003, 0xf9000062, 0xd2a10141, 0xf9400422, 0xf9000462, 0xd503207f,
    0x17ffffff,
  ].forEach((w, k) => dv.setUint32(code + 4 * k, w, true));
  const sys = new HypSystem(hv, 1);
  sys.addEmulated(vm.thread);
  assert.equal(sys.run(1_000_000), 'idle');
  assert.equal(dv.getUint32(code + 0x200, true), 0x4700_0070, 'GICD_IIDR: Qualcomm, product G');
  const typer = dv.getBigUint64(code + 0x208, true);
  assert.equal(typer >> 32n, 0n, 'GICR0 affinity 0.0.0.0');
  assert.equal((typer >> 4n) & 1n, 1n, 'GICR_TYPER.Last (the only redistributor)');
  assert.equal((typer >> 8n) & 0xffffn, 0n, 'Processor_Number 0');
});
