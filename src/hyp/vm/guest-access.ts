// How the hypervisor reads and writes a vCPU's memory by virtual address (msgqueue_send/receive,
// virtio_input_set_data...): translated as that vCPU (stage 1 if its MMU is on, then its
// address space's stage 2), with the errors of hypervisor-abi.md §5.2.
//
// Errors: ARGUMENT_INVALID (stage-1 fault), DENIED (stage-2 permission), ADDR_INVALID (other
// stage-2 fault, or memory that is not RAM), ADDR_OVERFLOW (va + len wraps). Every page is checked
// before any byte moves, so a failed copy changes nothing.

export interface GuestAccess {
  /** Copy `len` bytes from virtual address `va` into `dst[at..]` (read permission); 0 or an error. */
  readInto(va: bigint, dst: Uint8Array, at: number, len: number): number;
  /** Copy `src[at..at + len)` to virtual address `va` (write permission); 0 or an error. */
  writeFrom(va: bigint, src: Uint8Array, at: number, len: number): number;
  /** `readInto` a new buffer: the bytes, or an error. */
  read(va: bigint, len: number): Uint8Array | number;
  /** `writeFrom` the whole of `data`. */
  write(va: bigint, data: Uint8Array): number;
}
