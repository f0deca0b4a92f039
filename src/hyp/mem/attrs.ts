// Memory attribute encodings of hypervisor-abi.md §10.2: page-table access (pgtable_access),
// memextent_attrs (configure/derive), memextent_mapping_attrs (map), memextent_access_attrs
// (update_access), addrspace_map_flags, the stage-2 memory types and which of them each extent
// memory type allows. Shared ABI constants: the resource manager builds these words too.

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 4096;
/** IPA size on the QEMU platform (PLATFORM_VM_ADDRESS_SPACE_BITS, §10.5). */
export const IPA_BITS = 36;
export const IPA_PAGES = 2 ** (IPA_BITS - PAGE_SHIFT);
/** Width of the vbase field of a sparse mapping record (GPT_VBASE_BITS, §10.4). */
export const SPARSE_VBASE_BITS = 48;
/** Mappings (BASIC) or per-addrspace slots (SPARSE) per extent (MEMEXTENT_MAX_MAPS, §10.3). */
export const MEMEXTENT_MAX_MAPS = 4;
/** Threads attachable to one addrspace (PLATFORM_MAX_CORES, §10.5). */
export const ADDRSPACE_MAX_THREADS = 8;
/** VMMIO ranges per addrspace (§10.6). */
export const ADDRSPACE_MAX_VMMIO_RANGES = 128;
export const VMID_MIN = 1;
export const VMID_MAX = 255;
/** The root VM's VMID (§10.5, §11.1). */
export const ROOT_VM_VMID = 255;

/** pgtable_access (3 bits). */
export const PGTABLE_ACCESS = { NONE: 0, X: 1, W: 2, R: 4, RX: 5, RW: 6, RWX: 7 } as const;

/** Whether `access` grants nothing beyond `allowed`. */
export function accessWithin(allowed: number, access: number): boolean {
  return (access & ~allowed) === 0;
}

export const MEMEXTENT_MEMTYPE = { ANY: 0, DEVICE: 1, UNCACHED: 2, CACHED: 3 } as const;
export const MEMEXTENT_TYPE = { BASIC: 0, SPARSE: 1 } as const;

/** Stage-2 memory types (pgtable_vm_memtype, 8-bit field of memextent_mapping_attrs). */
export const VM_MEMTYPE = {
  DEVICE_nGnRnE: 0,
  DEVICE_nGnRE: 1,
  DEVICE_nGRE: 2,
  DEVICE_GRE: 3,
  NORMAL_NC: 5,
  NORMAL_ONC_IWT: 6,
  NORMAL_ONC_IWB: 7,
  NORMAL_OWT_INC: 9,
  NORMAL_WT: 10,
  NORMAL_OWT_IWB: 11,
  NORMAL_OWB_INC: 13,
  NORMAL_OWB_IWT: 14,
  NORMAL_WB: 15,
} as const;

// memextent_attrs: bits 2:0 access, 9:8 memtype, 17:16 type, 31 append; the rest res0.
const ME_ATTRS_USED = 0x7 | (0x3 << 8) | (0x3 << 16) | (1 << 31);

export interface ExtentAttrs {
  access: number;
  memtype: number;
  kind: number;
}

/**
 * Decode memextent_attrs; null when invalid (ARGUMENT_INVALID): res0 bits or append set, access
 * NONE, memtype CACHED (no S2FWB in this build), or type other than BASIC/SPARSE.
 */
export function decodeExtentAttrs(attrs: number): ExtentAttrs | null {
  if ((attrs & ~ME_ATTRS_USED) >>> 0 !== 0 || (attrs & (1 << 31)) !== 0) return null;
  const access = attrs & 7;
  const memtype = (attrs >>> 8) & 3;
  const kind = (attrs >>> 16) & 3;
  if (kind > MEMEXTENT_TYPE.SPARSE) return null;
  if (memtype === MEMEXTENT_MEMTYPE.CACHED) return null;
  if (access === PGTABLE_ACCESS.NONE) return null;
  return { access, memtype, kind };
}

export function encodeExtentAttrs(access: number, memtype: number, kind: number): number {
  return (access & 7) | ((memtype & 3) << 8) | ((kind & 3) << 16);
}

// memextent_mapping_attrs: bits 2:0 user access, 6:4 kernel access, 23:16 memtype; the rest res0.
export const MAPPING_ATTRS_RES0 = ~(0x7 | (0x7 << 4) | (0xff << 16)) >>> 0;
// memextent_access_attrs: bits 2:0 user, 6:4 kernel; the rest res0.
export const ACCESS_ATTRS_RES0 = ~(0x7 | (0x7 << 4)) >>> 0;

export function mappingAttrs(user: number, kernel: number, memtype: number): number {
  return ((user & 7) | ((kernel & 7) << 4) | ((memtype & 0xff) << 16)) >>> 0;
}
export const userAccess = (attrs: number): number => attrs & 7;
export const kernelAccess = (attrs: number): number => (attrs >>> 4) & 7;
export const mappingMemtype = (attrs: number): number => (attrs >>> 16) & 0xff;

/** The mapping attributes with both accesses reduced to `allowed`. */
export function maskMappingAccess(attrs: number, allowed: number): number {
  return mappingAttrs(userAccess(attrs) & allowed, kernelAccess(attrs) & allowed, mappingMemtype(attrs));
}

/** Whether a stage-2 memory type may map an extent of memory type `extentMemtype` (§10.2). */
export function memtypeAllowed(extentMemtype: number, vmMemtype: number): boolean {
  const any = extentMemtype === MEMEXTENT_MEMTYPE.ANY;
  switch (vmMemtype) {
    case VM_MEMTYPE.DEVICE_nGnRnE:
    case VM_MEMTYPE.DEVICE_nGnRE:
    case VM_MEMTYPE.DEVICE_nGRE:
    case VM_MEMTYPE.DEVICE_GRE:
      return any || extentMemtype === MEMEXTENT_MEMTYPE.DEVICE || extentMemtype === MEMEXTENT_MEMTYPE.UNCACHED;
    case VM_MEMTYPE.NORMAL_NC:
      return any || extentMemtype === MEMEXTENT_MEMTYPE.UNCACHED;
    case VM_MEMTYPE.NORMAL_ONC_IWT:
    case VM_MEMTYPE.NORMAL_ONC_IWB:
    case VM_MEMTYPE.NORMAL_OWT_INC:
    case VM_MEMTYPE.NORMAL_WT:
    case VM_MEMTYPE.NORMAL_OWT_IWB:
    case VM_MEMTYPE.NORMAL_OWB_INC:
    case VM_MEMTYPE.NORMAL_OWB_IWT:
    case VM_MEMTYPE.NORMAL_WB:
      return any;
    default:
      return false; // not a stage-2 memory type
  }
}

/** memextent_check_map_attrs: both accesses within the extent's, memory type allowed (§10.2). */
export function mappingAttrsValid(extentAccess: number, extentMemtype: number, attrs: number): boolean {
  return (
    accessWithin(extentAccess, userAccess(attrs)) &&
    accessWithin(extentAccess, kernelAccess(attrs)) &&
    memtypeAllowed(extentMemtype, mappingMemtype(attrs))
  );
}

// addrspace_map_flags: bit 0 partial, bit 31 no_sync, bits 30:1 res0.
export const MAP_FLAG_PARTIAL = 1;
export const MAP_FLAG_NO_SYNC = 0x8000_0000;
export const MAP_FLAGS_RES0 = 0x7fff_fffe;

// memextent_modify flags: bits 7:0 op, bit 31 no_sync, bits 30:8 res0.
export const MODIFY_OP = {
  UNMAP_ALL: 0,
  ZERO_RANGE: 1,
  CACHE_CLEAN_RANGE: 2,
  CACHE_FLUSH_RANGE: 3,
  SYNC_ALL: 255,
} as const;
export const MODIFY_FLAGS_RES0 = 0x7fff_ff00;

// memextent_donate options: bits 7:0 type, bit 31 no_sync, bits 30:8 res0.
export const DONATE_TYPE = { TO_CHILD: 0, TO_PARENT: 1, TO_SIBLING: 2 } as const;
export const DONATE_OPTIONS_RES0 = 0x7fff_ff00;

/** addrspace_configure_vmmio operations (§10.6). */
export const VMMIO_OP = { ADD: 0, REMOVE: 1 } as const;
