// The root VM's boot environment (hypervisor-abi.md §11.1 items 7–8, §11.2): what the hypervisor
// writes into the RM region for the resource manager, which finds it at X0 when its vCPU first
// runs. Layout, little-endian with natural alignment:
//
//   env_ipa + 0    rt_env_data (88 bytes): signature 'RVME', version 1, image/heap addresses,
//                  the root vCPU cap, timer frequency, GIC bases, where the RM part starts
//   env_ipa + 88   rm_env_data_hdr (16 bytes): signature 'DEMR', version 1, payload offset 16
//                  (from this header) and size
//   env_ipa + 104  the payload: one CBOR map (keys in boot/rootvm.ts)
//
// The whole buffer is QCBOR_ENV_CONFIG_SIZE (0x4000) bytes; what the payload leaves is zero.
// Shared ABI-level module: both sides use it (the hypervisor to write, the RM to read), and it
// imports nothing from the hypervisor.

import { CborError, decodeCbor, encodeCbor, type CborValue } from './cbor.js';

/** rt_env_data.signature: "RVME" read as a little-endian u32. */
export const ROOTVM_ENV_DATA_SIGNATURE = 0x454d_5652;
/** rm_env_data_hdr.signature: "DEMR" read as a little-endian u32. */
export const RM_ENV_DATA_SIGNATURE = 0x524d_4544;
/** The version both structures carry (Gunyah defines 0x1000 for rt_env_data but writes 1). */
export const BOOT_ENV_VERSION = 1;
export const RT_ENV_DATA_SIZE = 88;
export const RM_ENV_DATA_HDR_SIZE = 16;
/** The env buffer: rt_env_data + header + CBOR payload + zero padding (QEMU build). */
export const QCBOR_ENV_CONFIG_SIZE = 0x4000;
/** Offset of the CBOR payload from env_ipa. */
export const BOOT_ENV_PAYLOAD_OFFSET = RT_ENV_DATA_SIZE + RM_ENV_DATA_HDR_SIZE;
/** The largest payload that fits the buffer. */
export const BOOT_ENV_PAYLOAD_MAX = QCBOR_ENV_CONFIG_SIZE - BOOT_ENV_PAYLOAD_OFFSET;

/** The generic counter frequency of the QEMU platform (§9.2, rt_env_data.timer_freq): ticks per second. */
export const PLATFORM_TIMER_FREQ = 62_500_000;

/** The rt_env_data fields the hypervisor fills in (the rest are fixed by the layout). */
export interface RtEnvData {
  runtimeIpa: bigint;
  appIpa: bigint;
  appHeapIpa: bigint;
  appHeapSize: bigint;
  vcpuCapid: bigint;
  timerFreq: bigint;
  gicdBase: bigint;
  gicrBase: bigint;
}

/** A decoded boot environment. */
export interface BootEnv extends RtEnvData {
  version: number;
  /** rt_env_data.rm_config_offset: where rm_env_data_hdr starts (88). */
  rmConfigOffset: bigint;
  /** rt_env_data.rm_config_size: the buffer size minus rm_config_offset. */
  rmConfigSize: bigint;
  hdrVersion: number;
  payloadOffset: number;
  payloadSize: number;
  /** The CBOR map, keys in the order they were written. */
  config: ReadonlyMap<string, CborValue>;
}

/** The env buffer does not hold a valid boot environment. */
export class BootEnvError extends Error {
  constructor(message: string) {
    super(`boot environment: ${message}`);
    this.name = 'BootEnvError';
  }
}

/**
 * Build the whole env buffer (QCBOR_ENV_CONFIG_SIZE bytes). Throws BootEnvError if the CBOR
 * payload does not fit (Gunyah panics: "increase the buffer size").
 */
export function encodeBootEnv(rt: RtEnvData, config: ReadonlyMap<string, CborValue>): Uint8Array {
  const payload = encodeCbor(config);
  if (payload.length > BOOT_ENV_PAYLOAD_MAX) {
    throw new BootEnvError(`CBOR payload of ${payload.length} bytes exceeds ${BOOT_ENV_PAYLOAD_MAX}`);
  }
  const out = new Uint8Array(QCBOR_ENV_CONFIG_SIZE);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, ROOTVM_ENV_DATA_SIGNATURE, true);
  dv.setUint16(4, BOOT_ENV_VERSION, true);
  dv.setBigUint64(8, rt.runtimeIpa, true);
  dv.setBigUint64(16, rt.appIpa, true);
  dv.setBigUint64(24, rt.appHeapIpa, true);
  dv.setBigUint64(32, rt.appHeapSize, true);
  dv.setBigUint64(40, rt.vcpuCapid, true);
  dv.setBigUint64(48, rt.timerFreq, true);
  dv.setBigUint64(56, rt.gicdBase, true);
  dv.setBigUint64(64, rt.gicrBase, true);
  dv.setBigUint64(72, BigInt(RT_ENV_DATA_SIZE), true);
  dv.setBigUint64(80, BigInt(QCBOR_ENV_CONFIG_SIZE - RT_ENV_DATA_SIZE), true);
  const h = RT_ENV_DATA_SIZE;
  dv.setUint32(h, RM_ENV_DATA_SIGNATURE, true);
  dv.setUint16(h + 4, BOOT_ENV_VERSION, true);
  dv.setUint32(h + 8, RM_ENV_DATA_HDR_SIZE, true);
  dv.setUint32(h + 12, payload.length, true);
  out.set(payload, BOOT_ENV_PAYLOAD_OFFSET);
  return out;
}

/**
 * Read a boot environment from the bytes at env_ipa (at least up to the end of the payload):
 * checks both signatures and versions and that the payload lies inside the RM config area, then
 * decodes the CBOR map (whose keys must be text strings).
 */
export function decodeBootEnv(bytes: Uint8Array): BootEnv {
  if (bytes.length < BOOT_ENV_PAYLOAD_OFFSET) throw new BootEnvError(`only ${bytes.length} bytes`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const sig = dv.getUint32(0, true);
  if (sig !== ROOTVM_ENV_DATA_SIGNATURE) throw new BootEnvError(`bad rt_env_data signature 0x${sig.toString(16)}`);
  const version = dv.getUint16(4, true);
  if (version !== BOOT_ENV_VERSION) throw new BootEnvError(`unknown rt_env_data version ${version}`);
  const u64 = (off: number): bigint => dv.getBigUint64(off, true);
  const rmConfigOffset = u64(72);
  const rmConfigSize = u64(80);
  if (
    rmConfigOffset < BigInt(RT_ENV_DATA_SIZE) ||
    rmConfigOffset + BigInt(RM_ENV_DATA_HDR_SIZE) > BigInt(bytes.length)
  ) {
    throw new BootEnvError(`rm_config_offset ${rmConfigOffset} outside the buffer`);
  }
  const h = Number(rmConfigOffset);
  const hsig = dv.getUint32(h, true);
  if (hsig !== RM_ENV_DATA_SIGNATURE) throw new BootEnvError(`bad rm_env_data_hdr signature 0x${hsig.toString(16)}`);
  const hdrVersion = dv.getUint16(h + 4, true);
  if (hdrVersion !== BOOT_ENV_VERSION) throw new BootEnvError(`unknown rm_env_data_hdr version ${hdrVersion}`);
  const payloadOffset = dv.getUint32(h + 8, true);
  const payloadSize = dv.getUint32(h + 12, true);
  const start = h + payloadOffset;
  if (
    payloadOffset < RM_ENV_DATA_HDR_SIZE ||
    BigInt(payloadOffset + payloadSize) > rmConfigSize ||
    start + payloadSize > bytes.length
  ) {
    throw new BootEnvError(`payload [${payloadOffset}, +${payloadSize}) outside the RM config area`);
  }
  let map: CborValue;
  try {
    map = decodeCbor(bytes.subarray(start, start + payloadSize));
  } catch (e) {
    throw new BootEnvError(e instanceof CborError ? e.message : String(e));
  }
  if (!(map instanceof Map)) throw new BootEnvError('the payload is not a CBOR map');
  const config = new Map<string, CborValue>();
  for (const [k, v] of map as ReadonlyMap<CborValue, CborValue>) {
    if (typeof k !== 'string') throw new BootEnvError(`a map key is not a text string: ${String(k)}`);
    config.set(k, v);
  }
  return {
    version,
    runtimeIpa: u64(8),
    appIpa: u64(16),
    appHeapIpa: u64(24),
    appHeapSize: u64(32),
    vcpuCapid: u64(40),
    timerFreq: u64(48),
    gicdBase: u64(56),
    gicrBase: u64(64),
    rmConfigOffset,
    rmConfigSize,
    hdrVersion,
    payloadOffset,
    payloadSize,
    config,
  };
}

/** An unsigned-integer entry of the env map (BootEnvError if absent or of another type). */
export function envUint(config: ReadonlyMap<string, CborValue>, key: string): bigint {
  const v = config.get(key);
  if (typeof v !== 'bigint' || v < 0n) throw new BootEnvError(`${key}: expected an unsigned integer`);
  return v;
}

/** An array-of-unsigned-integers entry (vic_hwirq). */
export function envUintArray(config: ReadonlyMap<string, CborValue>, key: string): bigint[] {
  const v = config.get(key);
  if (!Array.isArray(v)) throw new BootEnvError(`${key}: expected an array`);
  return (v as readonly CborValue[]).map((x) => {
    if (typeof x !== 'bigint' || x < 0n) throw new BootEnvError(`${key}: expected unsigned integers`);
    return x;
  });
}

/** An array-of-pairs entry (free_ranges [base, size], gicr_ranges [base, count]). */
export function envPairs(config: ReadonlyMap<string, CborValue>, key: string): [bigint, bigint][] {
  const v = config.get(key);
  if (!Array.isArray(v)) throw new BootEnvError(`${key}: expected an array`);
  return (v as readonly CborValue[]).map((p) => {
    if (!Array.isArray(p) || p.length !== 2) throw new BootEnvError(`${key}: expected [a, b] pairs`);
    const [a, b] = p as readonly CborValue[];
    if (typeof a !== 'bigint' || typeof b !== 'bigint') throw new BootEnvError(`${key}: expected integer pairs`);
    return [a, b];
  });
}
