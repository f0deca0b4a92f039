// How the hypervisor reads and writes a vCPU's memory by virtual address (msgqueue_send/receive,
// virtio_input_set_data...): translated as that vCPU (stage 1 if its MMU is on, then its
// address space's stage 2), with the errors of hypervisor-abi.md §5.2.

export interface GuestAccess {
  /**
   * Copy `len` bytes from virtual address `va` (read permission). Returns the bytes, or an
   * error: ARGUMENT_INVALID (stage-1 fault), DENIED (stage-2 permission), ADDR_INVALID (other
   * stage-2 fault), ADDR_OVERFLOW (va + len wraps).
   */
  read(va: bigint, len: number): Uint8Array | number;
  /** Copy `data` to virtual address `va` (write permission); 0 or an error as for `read`. */
  write(va: bigint, data: Uint8Array): number;
}
