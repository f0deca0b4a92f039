// Gunyah error codes (hypervisor-abi.md §3): the numeric values guests see in x0.
// Shared ABI constants: the hypervisor, the resource manager and guests' tooling import these.

export const Err = {
  OK: 0,
  UNIMPLEMENTED: -1,
  RETRY: -2,
  ARGUMENT_INVALID: 1,
  ARGUMENT_SIZE: 2,
  ARGUMENT_ALIGNMENT: 3,
  NOMEM: 10,
  NORESOURCES: 11,
  ADDR_OVERFLOW: 20,
  ADDR_UNDERFLOW: 21,
  ADDR_INVALID: 22,
  DENIED: 30,
  BUSY: 31,
  IDLE: 32,
  OBJECT_STATE: 33,
  OBJECT_CONFIG: 34,
  OBJECT_CONFIGURED: 35,
  FAILURE: 36,
  VIRQ_BOUND: 40,
  VIRQ_NOT_BOUND: 41,
  CSPACE_CAP_NULL: 50,
  CSPACE_CAP_REVOKED: 51,
  CSPACE_WRONG_OBJECT_TYPE: 52,
  CSPACE_INSUFFICIENT_RIGHTS: 53,
  CSPACE_FULL: 54,
  MSGQUEUE_EMPTY: 60,
  MSGQUEUE_FULL: 61,
  STRING_TRUNCATED: 90,
  STRING_REACHED_END: 91,
  STRING_INVALID_FORMAT: 92,
  STRING_MISSING_PLACEHOLDER: 93,
  STRING_MISSING_ARGUMENT: 94,
  ALLOCATOR_RANGE_OVERLAPPING: 100,
  ALLOCATOR_MEM_INUSE: 101,
  MEMDB_EMPTY: 110,
  MEMDB_NOT_OWNER: 111,
  MEMEXTENT_MAPPINGS_FULL: 120,
  MEMEXTENT_TYPE: 121,
  EXISTING_MAPPING: 200,
} as const;

export type ErrorCode = (typeof Err)[keyof typeof Err];

const NAMES = new Map<number, string>(Object.entries(Err).map(([k, v]) => [v, k]));

/** The error's name as Gunyah spells it (without the ERROR_ prefix), or `error N`. */
export function errorName(e: number): string {
  return NAMES.get(e) ?? `error ${e}`;
}
