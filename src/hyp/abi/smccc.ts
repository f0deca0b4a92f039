// SMCCC function IDs and the identification values Gunyah returns (hypervisor-abi.md §9.4, §9.5).

export const SMCCC = {
  OWNER_ARCH: 0,
  OWNER_STANDARD: 4,
  OWNER_STANDARD_HYP: 5,
  OWNER_VENDOR_HYP: 6,
  VERSION: 0x8000_0000,
  ARCH_FEATURES: 0x8000_0001,
  VERSION_1_3: 0x10003,
  STD_HYP_UID: 0x8500_ff01,
  STD_HYP_REVISION: 0x8500_ff03,
  VENDOR_HYP_UID: 0x8600_ff01,
  VENDOR_HYP_REVISION: 0x8600_ff03,
  NOT_SUPPORTED: -1,
} as const;

/** The vendor-hypervisor UID c1d58fcd-a453-5fdb-9265-ce36673d5f14 as the four SMCCC words w0..w3. */
export const GUNYAH_UID: readonly number[] = [0xcd8fd5c1, 0xdb5f53a4, 0x36ce6592, 0x145f3d67];

/** hypervisor_identify x0: API version 1, 64-bit, little-endian, variant 0x51 ("QUALCOMM"). */
export const HYP_API_INFO = 0x5100_0000_0000_8001n;

/**
 * hypervisor_identify x1: partition+cspace, doorbell, msgqueue, vic, vpm, vcpu, memextent,
 * trace_ctrl, virtio_mmio, prng, vcpu_run (bits 0–7, 9–11; no watchdog) and scheduler FPRR (1 in bits 31:28).
 */
export const HYP_API_FLAGS0 = 0x1000_0effn;
export const HYP_API_FLAGS1 = 0n;
export const HYP_API_FLAGS2 = 0n;
