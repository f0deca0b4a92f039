// The RM RPC wire format (resource-manager-protocol.md §1, §2.1, §2.4): constants and the message-ID
// table, the packet header, fragmentation, the RM's and Linux's reassembly, reply conventions and
// the common list encoding. Pure functions and small state machines over Uint8Array; no I/O.

export * from './constants.js';
export * from './messages.js';
export * from './header.js';
export * from './fragment.js';
export * from './reassembly-rm.js';
export * from './reassembly-linux.js';
export * from './reply.js';
export * from './list.js';
