// Numbers of the flattened devicetree format (Devicetree Specification v0.4 ch. 5), shared by the
// reader and the writer. Everything in a DTB is big-endian.

export const FDT_MAGIC = 0xd00d_feed;
/** The version this code writes, and the oldest version a v17 blob stays compatible with. */
export const FDT_VERSION = 17;
export const FDT_LAST_COMP_VERSION = 16;
/** Version 16 is the oldest with the layout read here (relative node names); it lacks size_dt_struct. */
export const FDT_OLDEST_READABLE_VERSION = 16;

/** Header sizes: ten u32 fields for v17, nine for v16. */
export const FDT_V17_HEADER_SIZE = 40;
export const FDT_V16_HEADER_SIZE = 36;

/** Header field offsets. */
export const HDR_MAGIC = 0x00;
export const HDR_TOTALSIZE = 0x04;
export const HDR_OFF_DT_STRUCT = 0x08;
export const HDR_OFF_DT_STRINGS = 0x0c;
export const HDR_OFF_MEM_RSVMAP = 0x10;
export const HDR_VERSION = 0x14;
export const HDR_LAST_COMP_VERSION = 0x18;
export const HDR_BOOT_CPUID_PHYS = 0x1c;
export const HDR_SIZE_DT_STRINGS = 0x20;
export const HDR_SIZE_DT_STRUCT = 0x24;

/** Structure block tokens (§5.4.1). */
export const FDT_BEGIN_NODE = 0x1;
export const FDT_END_NODE = 0x2;
export const FDT_PROP = 0x3;
export const FDT_NOP = 0x4;
export const FDT_END = 0x9;

/** Block alignment (§5.1): the reservation block on 8 bytes, structure tokens on 4. */
export const FDT_RSVMAP_ALIGN = 8;
export const FDT_TOKEN_ALIGN = 4;

export function align(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}
