// The resource manager's start (hypervisor-abi.md §11.1–11.2, RM spec §9.1): the root vCPU enters
// with X0 = the boot environment's IPA; the RM reads rt_env_data, the RM header and the CBOR map
// from its own memory and learns its capabilities and the platform from them. Every key is read by
// name and type (cap IDs are never assumed), and a missing or mistyped key is a clear error.

import {
  BootEnvError,
  QCBOR_ENV_CONFIG_SIZE,
  decodeBootEnv,
  envPairs,
  envUint,
  envUintArray,
} from '../hyp/boot/env.js';
import type { RmVcpu } from './port.js';

/** What the RM knows after reading its boot environment. */
export interface RmBootInfo {
  envIpa: bigint;
  /** Root caps (in the root cspace). */
  caps: {
    cspace: bigint;
    partition: bigint;
    vcpu: bigint;
    vic: bigint;
    addrspace: bigint;
    rmMemextent: bigint;
    deviceMemextent: bigint;
    uartMemextent: bigint;
  };
  /** hwirq cap by physical INTID (all-ones: none). */
  hwirqs: bigint[];
  /** RAM the root partition owned at boot: [base, size] pairs. */
  freeRanges: [bigint, bigint][];
  rmRegion: { base: bigint; size: bigint };
  heap: { base: bigint; size: bigint };
  gicdBase: bigint;
  gicrBase: bigint;
  gicrStride: bigint;
  timerFreq: bigint;
  bootCore: bigint;
  usableCores: bigint;
  hlos: { base: bigint; size: bigint; entry: bigint; dtBase: bigint; ramfsBase: bigint };
  device: { base: bigint; size: bigint };
  uartAddress: bigint;
}

export class RmBootError extends Error {}

/** Read and decode the boot environment at `vcpu.bootX0`. */
export function readBootInfo(vcpu: RmVcpu): RmBootInfo {
  const mem = vcpu.memory;
  if (mem === null) throw new RmBootError('the RM vCPU has no memory view (no addrspace)');
  const envIpa = vcpu.bootX0;
  const bytes = mem.read(envIpa, QCBOR_ENV_CONFIG_SIZE);
  if (typeof bytes === 'number') {
    throw new RmBootError(`cannot read the boot environment at 0x${envIpa.toString(16)} (error ${bytes})`);
  }
  let env;
  try {
    env = decodeBootEnv(bytes);
  } catch (e) {
    if (e instanceof BootEnvError) throw new RmBootError(`bad boot environment: ${e.message}`);
    throw e;
  }
  // From here on, a missing or mistyped key names itself.
  const c = env.config;
  const field = <T>(read: () => T): T => {
    try {
      return read();
    } catch (e) {
      if (e instanceof BootEnvError) throw new RmBootError(`boot environment: ${e.message}`);
      throw e;
    }
  };
  const u = (k: string): bigint => field(() => envUint(c, k));
  return {
    envIpa,
    caps: {
      cspace: u('cspace_capid'),
      partition: u('partition_capid'),
      vcpu: u('vcpu_capid'),
      vic: u('vic'),
      addrspace: u('addrspace_capid'),
      rmMemextent: u('me_capid'),
      deviceMemextent: u('device_me_capid'),
      uartMemextent: u('uart_me_capid'),
    },
    hwirqs: field(() => envUintArray(c, 'vic_hwirq')),
    freeRanges: field(() => envPairs(c, 'free_ranges')),
    rmRegion: { base: u('me_ipa_base'), size: u('me_size') },
    heap: { base: env.appHeapIpa, size: env.appHeapSize },
    gicdBase: u('gicd_base'),
    gicrBase: env.gicrBase,
    gicrStride: u('gicr_stride'),
    timerFreq: env.timerFreq,
    bootCore: u('boot_core'),
    usableCores: u('usable_cores'),
    hlos: {
      base: u('hlos_vm_base'),
      size: u('hlos_vm_size'),
      entry: u('entry_hlos'),
      dtBase: u('hlos_dt_base'),
      ramfsBase: u('hlos_ramfs_base'),
    },
    device: { base: u('device_me_base'), size: u('device_me_size') },
    uartAddress: u('uart_address'),
  };
}
