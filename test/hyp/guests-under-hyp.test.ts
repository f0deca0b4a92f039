// The guest programs of guests/ under the hypervisor (hypervisor-abi.md §8.4, §9.1–9.3, §10.6):
// a VM built by hypercalls with its RAM at IPA 0x4000_0000 (QEMU virt's layout), its vGIC at the
// fixed legacy addresses, PSCI through a vpm_group, and its PL011 emulated by a native host vCPU
// that proxy-schedules the guest with vcpu_run and answers its VMMIO exits. Each guest must print
// the same PASS/FAIL/EXIT lines as on the bare board, which is an independent run loop and device
// model (and itself checked against QEMU in test/scenarios).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseElf } from '../../src/vmm/loader/elf.js';
import { Err } from '../../src/hyp/abi/errors.js';
import type { Thread } from '../../src/hyp/vm/thread.js';
import type { NativeVcpu } from '../../src/hyp/vm/native.js';
import { VCPU_RUN_STATE } from '../../src/hyp/vm/vcpu-run.js';
import { checkLines, guestPath, runGuest } from '../scenarios/guest-run.js';
import { GUEST_PA, ONES, VCPU_OPTION_PROXY, buildVm, ok } from './vm-env.js';

const RAM_IPA = 0x4000_0000;
const UART = 0x0900_0000n;
const UART_FR = 0x18n;
const WAKEUP_VIRQ = 32n;

function runUnderHyp(name: string, limitNs = 200_000_000) {
  const env = buildVm({ vcpus: 1, vpm: true, vcpuOptions: VCPU_OPTION_PROXY, ipa: BigInt(RAM_IPA), size: 0x20_0000 });
  const { hv, v, sys, root, mk, C, as, threads } = env;
  // Load the ELF into the VM's memory (IPA RAM_IPA is PA GUEST_PA).
  const image = parseElf(readFileSync(guestPath(name)));
  const ram = hv.mem.phys.bytes;
  for (const seg of image.segments) {
    const at = GUEST_PA - hv.mem.phys.base + (seg.paddr - RAM_IPA);
    ram.fill(0, at, at + seg.memsz);
    ram.set(seg.data, at);
  }
  ok(v.call('addrspace_configure_vmmio', as, UART, 0x1000n, 0n, 0n), 'VMMIO range for the PL011');

  // The host: a native vCPU of the root VM (its cspace and addrspace, §4.5) with its own VIC, on
  // which the guest's run-wakeup VIRQ arrives.
  const hostVic = mk('vic');
  ok(v.call('vic_configure', hostVic, 1n, 32n, 2n, 0n), 'host vic_configure');
  ok(v.call('object_activate', hostVic, 0n), 'host vic');
  const host = mk('thread');
  ok(v.call('vcpu_set_affinity', host, 0n, ONES), 'host affinity');
  ok(v.call('vcpu_set_priority', host, 40n), 'host priority above its guest');
  ok(v.call('cspace_attach_thread', C, host, 0n), 'host cspace');
  ok(v.call('addrspace_attach_thread', root.caps.addrspace, host, 0n), 'host addrspace');
  ok(v.call('vic_attach_vcpu', hostVic, host, 0n, 0n), 'host vic attach');
  ok(v.call('object_activate', host, 0n), 'host activate');
  ok(v.call('vcpu_poweron', host, 0n, 0n, 0n), 'host poweron');
  ok(v.call('vcpu_bind_virq', threads[0]!, hostVic, WAKEUP_VIRQ, 1n, 0n), 'bind run-wakeup');
  ok(v.call('vcpu_poweron', threads[0]!, BigInt(image.entry), 0n, 0n), 'guest poweron');

  let out = '';
  let resume = 0n;
  let end: string | null = null;
  const exits = { read: 0, write: 0, wakeups: 0 };
  const hostThread = root.cspace.lookup<Thread>(host, 'thread', 0, false) as Thread;
  let started = false;
  const program = {
    step(h: NativeVcpu): 'yield' | 'wait' | 'off' {
      if (!started) {
        h.irq!.init();
        h.irq!.enable(Number(WAKEUP_VIRQ), true);
        started = true;
      }
      for (let id = h.irq!.ack(); id !== 1023; id = h.irq!.ack()) {
        exits.wakeups++;
        h.irq!.eoi(id);
      }
      for (;;) {
        const r = h.call('vcpu_run', threads[0]!, resume, 0n, 0n, 0n);
        resume = 0n;
        if (r.e !== Err.OK) {
          end = `vcpu_run error ${r.e}`;
          return 'off';
        }
        const [state, ipa, size, value] = [Number(r.x[1]!), r.x[2]!, r.x[3]!, r.x[4]!];
        switch (state) {
          case VCPU_RUN_STATE.READY:
            return 'yield';
          case VCPU_RUN_STATE.EXPECTS_WAKEUP:
            return 'wait';
          case VCPU_RUN_STATE.ADDRSPACE_VMMIO_WRITE:
            exits.write++;
            if (ipa === UART && size <= 4n) out += String.fromCharCode(Number(value & 0xffn));
            continue;
          case VCPU_RUN_STATE.ADDRSPACE_VMMIO_READ:
            exits.read++;
            resume = ipa === UART + UART_FR ? 0n : 0n; // FR: transmit FIFO never full
            continue;
          case VCPU_RUN_STATE.POWERED_OFF:
            end = 'powered off';
            return 'off';
          default:
            end = `state 0x${state.toString(16)}`;
            return 'off';
        }
      }
    },
  };
  sys.addNative(hostThread, program);
  const stop = sys.run(limitNs);
  return { out, end, stop, exits };
}

/**
 * Checks whose outcome differs by design: Gunyah's vGIC redistributor starts awake (§9.1), while
 * the bare board's GIC, like QEMU's, starts with GICR_WAKER.ProcessorSleep set.
 */
const EXPECTED_DIFFERENCES: Record<string, string[]> = {
  'irq.elf': ['gicr waker: the redistributor is asleep at reset'],
};

for (const name of ['hello.elf', 'exceptions.elf', 'timer.elf', 'irq.elf']) {
  test(`guests under the hypervisor: ${name} prints the same PASS/FAIL/EXIT lines as on the bare board (VMMIO UART via vcpu_run)`, () => {
    const bare = runGuest(name);
    const hyp = runUnderHyp(name);
    assert.equal(hyp.end, 'powered off', `the guest ends in PSCI SYSTEM_OFF (stop ${hyp.stop}); output:\n${hyp.out}`);
    const want = checkLines(bare.text);
    const got = checkLines(hyp.out);
    assert.ok(want.pass.length > 0, 'the bare-board run passes checks');
    const differ = EXPECTED_DIFFERENCES[name] ?? [];
    const expected = (l: string) => differ.some((d) => l.startsWith(d));
    assert.deepEqual(
      got.fail.map((l) => differ.find((d) => l.startsWith(d)) ?? l),
      differ,
      'no FAIL lines but the documented differences',
    );
    assert.deepEqual(
      got.pass,
      want.pass.filter((l) => !expected(l)),
    );
    // A guest's exit code is its number of failed checks.
    const exitCode = (t: string) =>
      Number(
        t
          .split('\n')
          .find((l) => l.startsWith('EXIT '))
          ?.slice(5),
      );
    assert.equal(exitCode(hyp.out), exitCode(bare.text) + differ.length);
    assert.ok(hyp.exits.write > 0 && hyp.exits.read > 0, 'the UART was reached through VMMIO exits');
  });
}
