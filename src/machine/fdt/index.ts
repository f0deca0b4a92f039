// The flattened-device-tree package (DESIGN.md §4: src/machine/fdt/): a tree model with typed
// property helpers, a DTB reader that reports every malformation as an FdtError, a DTB writer
// whose bytes match dtc's, and a DTS emitter. Used by the RM for the VM device trees of RM spec §4.

export { FdtError } from './error.js';
export { Fdt, FdtNode } from './tree.js';
export * from './props.js';
export { readFdt, fdtTotalSize } from './reader.js';
export { writeFdt } from './writer.js';
export { toDts, formatPropertyValue } from './dts.js';
export { FDT_MAGIC, FDT_VERSION, FDT_LAST_COMP_VERSION } from './format.js';
