// Handlers for the calls that need no capability (hypervisor-abi.md §2.10): prng_get_entropy and
// trace_update_class_flags.

import { Err } from '../abi/errors.js';
import type { CallCtx, Handler } from '../dispatch.js';
import { TRACE_PUBLIC_CLASS_FLAGS } from '../trace.js';
import { PLATFORM_TIMER_FREQ } from '../boot/env.js';

/**
 * prng_get_entropy's rate-limit window: 33 ms in counter ticks (33 000 000 ns × 62.5 MHz / 1e9 =
 * 2 062 500 ticks).
 */
export const PRNG_WINDOW_TICKS = (33_000_000 * PLATFORM_TIMER_FREQ) / 1_000_000_000;
/** Reads counted in a window (bits 1:0 of the window start): the 4th read makes it 3. */
const PRNG_MAX_COUNT = 3;

/** Virtual ns → counter ticks (62.5 MHz: one tick per 16 ns). */
function ticksOf(ns: number): number {
  return Math.floor((ns * PLATFORM_TIMER_FREQ) / 1_000_000_000);
}

/**
 * prng_get_entropy(num_bytes): 1..16 bytes (else ARGUMENT_SIZE), a multiple of 4 (else
 * ARGUMENT_ALIGNMENT), returned as num_bytes/4 words in x1..; on any error every data word is 0
 * (the dispatcher clears the outputs before the call, and nothing is written before an error).
 *
 * Rate limit, as Gunyah keeps it per thread: a window starts at a read made 33 ms or more after the
 * current window's start, and the reads in it are counted in the low two bits of the stored start
 * (which is therefore rounded down to 4 ticks). The read that starts a window stores count 0; each
 * later read in the window adds one; a read finding count 3 is BUSY and changes nothing. So four
 * reads pass in a window and the fifth is BUSY — except in the first 33 ms of virtual time, where a
 * thread that never read before finds the zero-initialised state "inside" the window that starts at
 * tick 0 with count 0 already, and gets three reads. Both are Gunyah's behaviour, kept.
 */
function prngGetEntropy(c: CallCtx): number {
  const n = Number(c.a[0]!);
  if (n === 0 || n > 16) return Err.ARGUMENT_SIZE;
  if (n % 4 !== 0) return Err.ARGUMENT_ALIGNMENT;
  const prng = c.hv.prng;
  const now = ticksOf(c.hv.now());
  const st = prng.lastRead.get(c.thread) ?? 0;
  const count = st % 4;
  const start = st - count;
  if (now - start < PRNG_WINDOW_TICKS) {
    if (count === PRNG_MAX_COUNT) return Err.BUSY;
    prng.lastRead.set(c.thread, start + count + 1);
  } else {
    prng.lastRead.set(c.thread, now - (now % 4));
  }
  for (let k = 0; k < n / 4; k++) c.out[1 + k] = BigInt(prng.random32());
  return Err.OK;
}

/**
 * trace_update_class_flags(set, clear): only the public class bits change (trace.ts); clear is
 * applied before set, so a bit in both ends up set. Returns the resulting flags. Never DENIED:
 * the QEMU platform does not disable debug.
 */
function traceUpdateClassFlags(c: CallCtx): number {
  const set = c.a[0]! & TRACE_PUBLIC_CLASS_FLAGS;
  const clear = c.a[1]! & TRACE_PUBLIC_CLASS_FLAGS;
  const hv = c.hv;
  hv.traceClassFlags = (hv.traceClassFlags & ~clear) | set;
  c.out[1] = hv.traceClassFlags;
  return Err.OK;
}

export const MISC_HANDLERS: ReadonlyMap<string, Handler> = new Map<string, Handler>([
  ['prng_get_entropy', prngGetEntropy],
  ['trace_update_class_flags', traceUpdateClassFlags],
]);
