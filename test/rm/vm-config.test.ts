// The VM-config device tree (RM spec §4.3, §9.2): a DTS written as a VMM writes it, compiled by dtc
// (the oracle) and parsed by the RM; and each malformed input gives a ConfigError with the RM error
// VM_INIT must answer.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { oracleMissing } from '../helpers/oracle.js';
import { Fdt, readFdt } from '../../src/machine/fdt/index.js';
import { ConfigError, parseVmConfig } from '../../src/rm/dt/vm-config.js';
import { RmError } from '../../src/rm/rpc/index.js';

const DTC = spawnSync('dtc', ['--version']).status === 0;
const skip = DTC ? false : oracleMissing('dtc', 'apt-get install device-tree-compiler');

const DTS = `/dts-v1/;
/ {
  #address-cells = <2>;
  #size-cells = <2>;
  interrupt-parent = <&gic>;
  memory { device_type = "memory"; reg = <0 0x80000000 0 0x10000000>; };
  cpus {
    #address-cells = <1>; #size-cells = <0>;
    cpu@0 { device_type = "cpu"; compatible = "arm,armv8"; reg = <0>; enable-method = "psci"; };
    cpu@1 { device_type = "cpu"; compatible = "arm,armv8"; reg = <1>; enable-method = "psci"; };
  };
  psci { compatible = "arm,psci-1.0"; method = "hvc"; };
  gic: intc@3fff0000 { compatible = "arm,gic-v3"; interrupt-controller; #interrupt-cells = <3>; };
  gunyah-vm-config {
    vm-type = "aarch64-guest";
    os-type = "linux";
    image-name = "guest-a";
    vm-attrs = "no-reset", "context-dump";
    memory { #address-cells = <2>; #size-cells = <2>; base-address = <0 0x80000000>; is-direct; };
    vcpus { affinity = "proxy"; sched-priority = <20>; };
    vdevices {
      generate = "/hypervisor";
      rm-rpc { vdevice-type = "rm-rpc"; generate = "/hypervisor/qcom,resource-mgr"; console-dev; message-size = <0xf0>; queue-depth = <8>; };
      bell-1 { vdevice-type = "doorbell"; generate = "/hypervisor/bell-1"; label = <1>; peer-default; interrupts = <0 1 1>; };
      off { vdevice-type = "doorbell"; status = "disabled"; };
    };
  };
};
`;

test(
  'RM §4.3: a VM-config tree as a VMM writes it (compiled by dtc) parses into identity, attributes, memory base, vCPU policy, vdevices, CPUs and PSCI',
  { skip },
  () => {
    const r = spawnSync('dtc', ['-q', '-I', 'dts', '-O', 'dtb'], { input: DTS });
    assert.equal(r.status, 0, String(r.stderr));
    const cfg = parseVmConfig(readFdt(new Uint8Array(r.stdout)));
    assert.equal(cfg.path, '/gunyah-vm-config');
    assert.equal(cfg.imageName, 'guest-a');
    assert.equal(cfg.osType, 'linux');
    assert.deepEqual([...cfg.attrs].sort(), ['context-dump', 'no-reset']);
    assert.deepEqual(cfg.memory, { baseAddress: 0x8000_0000n, sizeMin: undefined, sizeMax: undefined, isDirect: true });
    assert.deepEqual(cfg.vcpus, { affinity: 'proxy', schedPriority: 20 });
    assert.deepEqual(
      cfg.vdevices.map((d) => [d.name, d.type, d.generate, d.consoleDev, d.label ?? null]),
      [
        ['rm-rpc', 'rm-rpc', '/hypervisor/qcom,resource-mgr', true, null],
        ['bell-1', 'doorbell', '/hypervisor/bell-1', false, 1],
      ],
      'the disabled vdevice is skipped',
    );
    assert.deepEqual(cfg.vdevices[0]!.messageSize, 240);
    assert.deepEqual(cfg.vdevices[1]!.interrupts, [0, 1, 1]);
    assert.equal(cfg.vdevices[1]!.peer, 'default', 'peer-default as a flag');
    assert.deepEqual(cfg.cpus, ['/cpus/cpu@0', '/cpus/cpu@1']);
    assert.equal(cfg.hasPsci, true);
  },
);

test('RM §4.3/§3: crash-fatal implies no-shutdown and no-reset; the legacy /qcom,vm-config node is read too', () => {
  const fdt = new Fdt();
  fdt.addNode('/qcom,vm-config').setStrings('vm-attrs', ['crash-fatal']);
  const cfg = parseVmConfig(fdt);
  assert.equal(cfg.path, '/qcom,vm-config');
  assert.deepEqual([...cfg.attrs].sort(), ['crash-fatal', 'no-reset', 'no-shutdown']);
  assert.equal(cfg.vcpus.affinity, 'proxy', 'default');
  assert.equal(cfg.hasPsci, false);
});

test('RM §4.3: malformed configs are ConfigErrors naming the property, with the RM error VM_INIT answers', () => {
  const bad = (build: (f: Fdt) => void, rm: number, re: RegExp) => {
    const f = new Fdt();
    build(f);
    assert.throws(
      () => parseVmConfig(f),
      (e: unknown) => e instanceof ConfigError && e.rmError === rm && re.test(e.message),
    );
  };
  bad(() => {}, RmError.MEM_INVALID, /no \/gunyah-vm-config/);
  bad((f) => f.addNode('/gunyah-vm-config').setString('vm-type', 'x86'), RmError.ARGUMENT_INVALID, /vm-type "x86"/);
  bad(
    (f) => f.addNode('/gunyah-vm-config').setStrings('vm-attrs', ['turbo']),
    RmError.ARGUMENT_INVALID,
    /unknown attribute "turbo"/,
  );
  bad(
    (f) => {
      f.addNode('/gunyah-vm-config');
      f.addNode('/gunyah-vm-config/memory').setCells('base-address', [0, 0x8000_0800]);
    },
    RmError.ARGUMENT_INVALID,
    /not 4 KiB aligned/,
  );
  bad(
    (f) => {
      f.addNode('/gunyah-vm-config');
      f.addNode('/gunyah-vm-config/vcpus').setString('affinity', 'everywhere');
    },
    RmError.ARGUMENT_INVALID,
    /affinity "everywhere"/,
  );
  bad(
    (f) => {
      f.addNode('/gunyah-vm-config');
      f.ensureNode('/gunyah-vm-config/vdevices/x');
    },
    RmError.ARGUMENT_INVALID,
    /vdevices\/x: no vdevice-type/,
  );
  bad(
    (f) => {
      f.addNode('/gunyah-vm-config');
      f.addNode('/gunyah-vm-config/memory').setCells('base-address', [1, 2, 3]);
    },
    RmError.ARGUMENT_INVALID,
    /base-address: expected one or two cells/,
  );
});

test('RM §4.3: shm / shm-doorbell / message-queue props — base, allocate-base, optional, dma_base, peer-default, is-sender / is-receiver; a vdevice without generate sits under the vdevices path by its name; a message-queue needs exactly one direction', () => {
  const f = new Fdt();
  f.addNode('/gunyah-vm-config');
  f.addNode('/gunyah-vm-config/vdevices').setString('generate', '/hypervisor');
  const shm = f.addNode('/gunyah-vm-config/vdevices/ring');
  shm.setString('vdevice-type', 'shm');
  shm.setCells('label', [5]);
  shm.setCells('base', [0, 0xa000_0000]);
  shm.setCells('dma_base', [1, 0]);
  shm.setFlag('peer-default');
  shm.setFlag('optional');
  const db = f.addNode('/gunyah-vm-config/vdevices/bells');
  db.setString('vdevice-type', 'shm-doorbell');
  db.setString('generate', '/soc/bells');
  db.setFlag('allocate-base');
  const mq = f.addNode('/gunyah-vm-config/vdevices/up');
  mq.setString('vdevice-type', 'message-queue');
  mq.setFlag('is-sender');
  const [r, b, m] = parseVmConfig(f).vdevices;
  assert.deepEqual(
    [r!.generate, r!.label, r!.base, r!.dmaBase, r!.optional, r!.allocateBase, r!.peer],
    ['/hypervisor/ring', 5, 0xa000_0000n, 0x1_0000_0000n, true, false, 'default'],
  );
  assert.deepEqual([b!.generate, b!.base, b!.allocateBase, b!.optional], ['/soc/bells', undefined, true, false]);
  assert.deepEqual([m!.isSender, m!.isReceiver], [true, false]);
  // [infer] the same for every type: a message-queue without generate sits at /hypervisor/up (its
  // node then gets @<cap>), not at "/hypervisor@<cap>" beside /hypervisor.
  assert.equal(m!.generate, '/hypervisor/up');
  for (const flags of [[], ['is-sender', 'is-receiver']]) {
    const g = new Fdt();
    g.addNode('/gunyah-vm-config');
    const q = g.ensureNode('/gunyah-vm-config/vdevices/q');
    q.setString('vdevice-type', 'message-queue');
    for (const x of flags) q.setFlag(x);
    assert.throws(
      () => parseVmConfig(g),
      (e: unknown) =>
        e instanceof ConfigError && e.rmError === RmError.ARGUMENT_INVALID && /exactly one/.test(e.message),
    );
  }
  const h = new Fdt();
  h.addNode('/gunyah-vm-config');
  const s = h.ensureNode('/gunyah-vm-config/vdevices/s');
  s.setString('vdevice-type', 'shm');
  s.setCells('base', [0xa000_0800]);
  assert.throws(
    () => parseVmConfig(h),
    (e: unknown) => e instanceof ConfigError && /base 0xa0000800 is not 4 KiB aligned/.test(e.message),
  );
});

test('RM §4.1/§4.3: peer = "vm-name:<image-name>" (or peer-default with that value) names another VM by its image name; other peer-ids and the flag keep the owner; an empty name is a config error [infer]', () => {
  const f = new Fdt();
  f.addNode('/gunyah-vm-config').setString('image-name', 'alice');
  f.addNode('/gunyah-vm-config/vdevices');
  f.addNode('/gunyah-vm-config/vdevices/a')
    .setString('vdevice-type', 'message-queue-pair')
    .setString('peer', 'vm-name:bob');
  f.addNode('/gunyah-vm-config/vdevices/b')
    .setString('vdevice-type', 'doorbell')
    .setString('peer-default', 'vm-name:carol');
  f.addNode('/gunyah-vm-config/vdevices/c').setString('vdevice-type', 'doorbell').setFlag('peer-default');
  f.addNode('/gunyah-vm-config/vdevices/d').setString('vdevice-type', 'doorbell').setString('peer', 'vm-uri:x');
  const cfg = parseVmConfig(f);
  assert.equal(cfg.imageName, 'alice');
  assert.deepEqual(
    cfg.vdevices.map((d) => [d.peer, d.peerVm]),
    [
      ['vm-name:bob', 'bob'],
      ['vm-name:carol', 'carol'],
      ['default', undefined],
      ['vm-uri:x', undefined],
    ],
  );
  const g = new Fdt();
  g.addNode('/gunyah-vm-config');
  g.ensureNode('/gunyah-vm-config/vdevices/e').setString('vdevice-type', 'doorbell').setString('peer', 'vm-name:');
  assert.throws(
    () => parseVmConfig(g),
    (e: unknown) => e instanceof ConfigError && e.rmError === RmError.ARGUMENT_INVALID && /names no VM/.test(e.message),
  );
});
