// The running system (DESIGN.md §3; hypervisor-abi.md §8, §10, §12): a VM built by the root
// through hypercalls only — memory extent, address space, VIC, vCPU — running real AArch64 code
// on an emulated physical CPU under the FPRR scheduler.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Hypervisor } from '../../src/hyp/hypervisor.js';
import { NativeVcpu } from '../../src/hyp/vm/native.js';
import { HypSystem } from '../../src/hyp/system.js';
import { Err } from '../../src/hyp/abi/errors.js';
import type { Thread } from '../../src/hyp/vm/thread.js';
import { buildVm as build, ok as okv } from './vm-env.js';

const ONES = 0xffff_ffff_ffff_ffffn;
const GUEST_PA = 0x4100_0000;
const GUEST_IPA = 0x8000_0000n;
const RWX = 7n;
const MAP_ATTRS = 7n | (7n << 4n) | (15n << 16n); // user RWX, kernel RWX, NORMAL_WB

// movz x1,#1000; loop: add x19,x19,#3; subs x1,x1,#1; b.ne loop; hvc #0x6000 (x0-x7 are
// results, so the sum lives in x19); movz x5,#0x8000,lsl #16; str x19,[x5,#0x800];
// str x0,[x5,#0x808]; wfi; b .-4
const GUEST = [
  0xd2807d01, 0x91000e73, 0xf1000421, 0x54ffffc1, 0xd40c0002, 0xd2b00005, 0xf90400b3, 0xf90404a0, 0xd503207f,
  0x17ffffff,
];

function buildVm(vcpus: number) {
  const hv = new Hypervisor();
  const root = hv.createRootVm();
  const v = new NativeVcpu(hv, root.thread);
  const { partition: P, cspace: C } = root.caps;
  const ok = (r: { e: number; x: bigint[] }, what: string): bigint => {
    assert.equal(r.e, Err.OK, what);
    return r.x[1]!;
  };
  const mk = (type: string): bigint => ok(v.call(`partition_create_${type}`, P, C, 0n), `create ${type}`);
  const me = mk('memextent');
  ok(v.call('memextent_configure', me, BigInt(GUEST_PA), 0x10_0000n, RWX, 0n), 'memextent_configure');
  ok(v.call('object_activate', me, 0n), 'activate memextent');
  const as = mk('addrspace');
  ok(v.call('addrspace_configure', as, 10n, 0n), 'addrspace_configure');
  ok(v.call('object_activate', as, 0n), 'activate addrspace');
  ok(v.call('addrspace_map', as, me, GUEST_IPA, MAP_ATTRS, 0n, 0n, 0n), 'addrspace_map');
  const vic = mk('vic');
  ok(v.call('vic_configure', vic, BigInt(vcpus), 32n, 3n, 0n), 'vic_configure');
  ok(v.call('object_activate', vic, 0n), 'activate vic');
  const threads: bigint[] = [];
  for (let i = 0; i < vcpus; i++) {
    const t = mk('thread');
    ok(v.call('vcpu_set_affinity', t, 0n, ONES), 'affinity');
    ok(v.call('cspace_attach_thread', C, t, 0n), 'cspace_attach_thread');
    ok(v.call('addrspace_attach_thread', as, t, 0n), 'addrspace_attach_thread');
    ok(v.call('vic_attach_vcpu', vic, t, BigInt(i), 0n), 'vic_attach_vcpu');
    ok(v.call('object_activate', t, 0n), 'activate thread');
    threads.push(t);
  }
  const ram = hv.mem.phys.bytes;
  const dv = new DataView(ram.buffer, ram.byteOffset);
  GUEST.forEach((w, k) => dv.setUint32(GUEST_PA - hv.mem.phys.base + 4 * k, w, true));
  const sys = new HypSystem(hv, 1);
  const objs = threads.map((t) => root.cspace.lookup<Thread>(t, 'thread', 0, false) as Thread);
  objs.forEach((t) => sys.addEmulated(t));
  return { hv, v, sys, threads, objs, dv, as, P, C };
}

test('system: a vCPU powered on by the root runs its code through stage 2, makes a hypercall, and waits in WFI', () => {
  const { v, sys, threads, dv, hv } = buildVm(1);
  assert.equal(v.call('vcpu_poweron', threads[0]!, GUEST_IPA, 0n, 0n).e, Err.OK);
  assert.equal(sys.run(10_000_000), 'idle');
  const base = GUEST_PA - hv.mem.phys.base;
  assert.equal(dv.getBigUint64(base + 0x800, true), 3000n, 'the loop ran 1000 times');
  assert.equal(dv.getBigUint64(base + 0x808, true), 0x5100000000008001n, 'hypervisor_identify from the guest');
});

test('system: two vCPUs of one VM share a physical CPU under the scheduler and both finish', () => {
  const { v, sys, threads, objs } = buildVm(2);
  for (const t of threads) assert.equal(v.call('vcpu_poweron', t, GUEST_IPA, 0n, 0n).e, Err.OK);
  assert.equal(sys.run(10_000_000), 'idle');
  for (const t of objs) assert.equal(sys.vcpuOf(t)!.waiting, true);
});

test('system: an access to an unmapped IPA is a synchronous external abort in the guest (§9.6), with FAR_EL1 = the VA', () => {
  const { v, sys, threads, objs, dv, hv } = buildVm(1);
  // Patch the guest to store to IPA 0x9000_0000 (not mapped): movz x5, #0x9000, lsl #16.
  dv.setUint32(GUEST_PA - hv.mem.phys.base + 20, 0xd2b20005, true);
  // A vector table at IPA 0x8000_1000 whose current-EL synchronous entry just waits: wfi; b .-4
  dv.setUint32(GUEST_PA - hv.mem.phys.base + 0x1200, 0xd503207f, true);
  dv.setUint32(GUEST_PA - hv.mem.phys.base + 0x1204, 0x17ffffff, true);
  v.call('vcpu_poweron', threads[0]!, GUEST_IPA, 0n, 0n);
  const cpu = sys.vcpuOf(objs[0]!)!.cpu;
  cpu.sys.vbarEl1 = GUEST_IPA + 0x1000n;
  assert.equal(sys.run(10_000_000), 'idle');
  assert.equal(cpu.pc, Number(GUEST_IPA) + 0x1204, 'waiting in the vector');
  assert.equal(cpu.sys.esrEl1 >>> 26, 0x25, 'data abort taken at EL1');
  assert.equal(cpu.sys.esrEl1 & 0x3f, 0x10, 'synchronous external abort');
  assert.equal(cpu.sys.farEl1, 0x9000_0800n);
  assert.equal(cpu.sys.elrEl1, GUEST_IPA + 24n, 'ELR = the faulting store');
});

test('system: the same VM runs the same way twice (instruction counts and virtual time)', () => {
  const a = buildVm(2);
  const b = buildVm(2);
  for (const x of [a, b]) for (const t of x.threads) x.v.call('vcpu_poweron', t, GUEST_IPA, 0n, 0n);
  a.sys.run(10_000_000);
  b.sys.run(10_000_000);
  assert.deepEqual([...a.sys.time], [...b.sys.time]);
  assert.deepEqual(
    a.objs.map((t) => a.sys.vcpuOf(t)!.cpu.icount),
    b.objs.map((t) => b.sys.vcpuOf(t)!.cpu.icount),
  );
});

test('system §10.4/§9.6: a stage-2 read-only page stays read-only after a read fills the TLB; the store is an external abort', () => {
  const { v, sys, threads, objs, dv, hv, as, P, C } = buildVm(1);
  // A second extent, mapped read-only (user R, kernel R) at IPA 0x8010_0000.
  const r = v.call('partition_create_memextent', P, C, 0n);
  assert.equal(r.e, Err.OK);
  const me = r.x[1]!;
  assert.equal(v.call('memextent_configure', me, BigInt(GUEST_PA + 0x10_0000), 0x1000n, RWX, 0n).e, Err.OK);
  assert.equal(v.call('object_activate', me, 0n).e, Err.OK);
  const RO_ATTRS = 4n | (4n << 4n) | (15n << 16n);
  assert.equal(v.call('addrspace_map', as, me, 0x8010_0000n, RO_ATTRS, 0n, 0n, 0n).e, Err.OK);
  const base = GUEST_PA - hv.mem.phys.base;
  // movz x5,#0x8010,lsl #16; ldr x6,[x5]; str x6,[x5]; wfi; b .-4
  [0xd2b00205, 0xf94000a6, 0xf90000a6, 0xd503207f, 0x17ffffff].forEach((w, k) => dv.setUint32(base + 4 * k, w, true));
  dv.setUint32(base + 0x1200, 0xd503207f, true);
  dv.setUint32(base + 0x1204, 0x17ffffff, true);
  assert.equal(v.call('vcpu_poweron', threads[0]!, GUEST_IPA, 0n, 0n).e, Err.OK);
  const cpu = sys.vcpuOf(objs[0]!)!.cpu;
  cpu.sys.vbarEl1 = GUEST_IPA + 0x1000n;
  assert.equal(sys.run(10_000_000), 'idle');
  assert.equal(cpu.sys.esrEl1 >>> 26, 0x25, 'data abort taken at EL1');
  assert.equal(cpu.sys.esrEl1 & 0x3f, 0x10, 'synchronous external abort');
  assert.equal((cpu.sys.esrEl1 >>> 6) & 1, 1, 'WnR: the store');
  assert.equal(cpu.sys.elrEl1, GUEST_IPA + 8n, 'ELR = the store, after the load succeeded');
});

test("system §5.2: hypercalls that copy guest buffers translate the VA through the vCPU's stage 1, then stage 2; a stage-1 fault is ARGUMENT_INVALID", () => {
  const env = build({ vcpus: 1 });
  const t = env.objs[0]!;
  const cpu = env.sys.vcpuOf(t)!.cpu;
  const mq = okv(env.v.call('partition_create_msgqueue', env.P, env.C, 0n), 'create msgqueue');
  okv(env.v.call('msgqueue_configure', mq, 4n | (240n << 16n), 0n), 'configure');
  okv(env.v.call('object_activate', mq, 0n), 'activate');
  // Stage 1: 39-bit VAs (T0SZ 25, start at level 1); L1 entry 1 maps VA 0x4000_0000 (1 GiB block)
  // to IPA 0x8000_0000. The L1 table is at IPA 0x8000_2000.
  const dv = env.dv;
  dv.setBigUint64(env.base + 0x2008, 0x8000_0000n | (1n << 10n) | 1n, true);
  cpu.sys.ttbr0El1 = GUEST_IPA + 0x2000n;
  cpu.sys.tcrEl1 = 25n | (1n << 23n);
  cpu.sys.mairEl1 = 0xffn;
  const message = [...Array(100).keys()].map((k) => (k * 3 + 1) & 0xff);
  message.forEach((b, k) => dv.setUint8(env.base + 0x3000 + k, b));
  const x = new BigUint64Array(31);
  const call = (num: number, args: bigint[]): bigint => {
    x.fill(0n);
    args.forEach((a, k) => (x[k] = a));
    env.hv.hvc(t, x, 0x6000 + num);
    return x[0]!;
  };
  const SEND = 0x1b;
  const RECEIVE = 0x1c;
  // MMU off: VA = IPA.
  assert.equal(
    call(SEND, [mq, 100n, 0x4000_3000n, 1n]),
    BigInt(Err.ADDR_INVALID),
    'MMU off: VA 0x4000_3000 is an unmapped IPA',
  );
  assert.equal(call(SEND, [mq, 100n, 0x8000_3000n, 1n]), 0n, 'MMU off: the IPA itself');
  cpu.sys.sctlrEl1 |= 1n;
  assert.equal(call(SEND, [mq, 100n, 0x4000_3000n, 1n]), 0n, 'MMU on: VA 0x4000_3000 → IPA 0x8000_3000');
  assert.equal(call(SEND, [mq, 100n, 0x1000n, 1n]), BigInt(Err.ARGUMENT_INVALID), 'a stage-1 translation fault');
  assert.equal(call(SEND, [mq, 100n, 0x8000_3000n, 1n]), BigInt(Err.ARGUMENT_INVALID), 'the IPA is not a VA any more');
  assert.equal(call(RECEIVE, [mq, 0x4000_4000n, 240n]), 0n, 'receive to a VA');
  assert.equal(call(RECEIVE, [mq, 0x4000_4100n, 240n]), 0n, 'receive the second copy');
  for (const at of [0x4000, 0x4100]) {
    assert.deepEqual(
      [...new Uint8Array(env.hv.mem.phys.bytes.buffer, env.hv.mem.phys.bytes.byteOffset + env.base + at, 100)],
      message,
    );
  }
});
