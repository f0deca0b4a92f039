// The one error type of the flattened-device-tree code (src/machine/fdt/). The reader reports every
// malformation of a DTB as an FdtError naming what is wrong and where (a byte offset into the blob),
// so a guest-supplied blob can never raise a host exception; the tree API and the writer use it too
// for misuse (a property of the wrong size, a name the format cannot hold).

export class FdtError extends Error {
  constructor(
    message: string,
    /** Byte offset into the blob of the problem (reader), or -1 when there is no blob. */
    readonly offset = -1,
  ) {
    super(offset >= 0 ? `FDT at byte 0x${offset.toString(16)}: ${message}` : `FDT: ${message}`);
    this.name = 'FdtError';
  }
}
