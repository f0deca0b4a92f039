// Handlers for doorbells, message queues and the VIC object (hypervisor-abi.md §2.3, §2.4, §2.5,
// §5, §6, §9.1). Cap arguments are looked up as the table rows declare (c.cap), in argument order,
// before any other check — except vic_configure, whose options check comes between the lookup and
// the INIT check, as in Gunyah.

import { Err } from '../abi/errors.js';
import { RIGHT_ACTIVATE } from '../abi/rights.js';
import { ObjState } from '../core/object.js';
import type { CallCtx, Handler } from '../dispatch.js';
import { Doorbell } from '../ipc/doorbell.js';
import { MSGQUEUE_SEND_PUSH, Msgqueue } from '../ipc/msgqueue.js';
import type { VirqSource } from '../virq.js';
import type { Thread } from '../vm/thread.js';
import { Vic, vicAttachVcpu } from '../vm/vic.js';
import { creator } from './objects.js';

// ---------------------------------------------------------------------------- doorbells (§6)

function doorbellBindVirq(c: CallCtx): number {
  const db = c.cap<Doorbell>(0);
  if (typeof db === 'number') return db;
  const vic = c.cap<Vic>(1);
  if (typeof vic === 'number') return vic;
  return db.source.bind(vic, Number(c.a[2]!));
}

function doorbellUnbindVirq(c: CallCtx): number {
  const db = c.cap<Doorbell>(0);
  if (typeof db === 'number') return db;
  db.source.unbind();
  return Err.OK;
}

function doorbellSend(c: CallCtx): number {
  const db = c.cap<Doorbell>(0);
  if (typeof db === 'number') return db;
  c.out[1] = db.send(c.a[1]!);
  return Err.OK;
}

function doorbellReceive(c: CallCtx): number {
  const db = c.cap<Doorbell>(0);
  if (typeof db === 'number') return db;
  const clear = c.a[1]!;
  if (clear === 0n) return Err.ARGUMENT_INVALID;
  c.out[1] = db.receive(clear);
  return Err.OK;
}

function doorbellReset(c: CallCtx): number {
  const db = c.cap<Doorbell>(0);
  if (typeof db === 'number') return db;
  db.reset();
  return Err.OK;
}

function doorbellMask(c: CallCtx): number {
  const db = c.cap<Doorbell>(0);
  if (typeof db === 'number') return db;
  db.mask(c.a[1]!, c.a[2]!);
  return Err.OK;
}

// ---------------------------------------------------------------------------- message queues (§5)

function msgqueueConfigure(c: CallCtx): number {
  const mq = c.cap<Msgqueue>(0);
  if (typeof mq === 'number') return mq;
  return mq.configure(c.a[1]!);
}

/** bind_send_virq / bind_receive_virq: the queue (with that side's bind right), then the VIC. */
function msgqueueBind(side: (mq: Msgqueue) => VirqSource): Handler {
  return (c) => {
    const mq = c.cap<Msgqueue>(0);
    if (typeof mq === 'number') return mq;
    const vic = c.cap<Vic>(1);
    if (typeof vic === 'number') return vic;
    return side(mq).bind(vic, Number(c.a[2]!));
  };
}

function msgqueueUnbind(side: (mq: Msgqueue) => VirqSource): Handler {
  return (c) => {
    const mq = c.cap<Msgqueue>(0);
    if (typeof mq === 'number') return mq;
    side(mq).unbind();
    return Err.OK;
  };
}

function msgqueueSend(c: CallCtx): number {
  const mq = c.cap<Msgqueue>(0);
  if (typeof mq === 'number') return mq;
  const push = (Number(c.a[3]!) & MSGQUEUE_SEND_PUSH) !== 0;
  const e = mq.send(c.thread.access, c.a[1]!, c.a[2]!, push);
  c.out[1] = mq.count < mq.queueDepth ? 1n : 0n;
  return e;
}

function msgqueueReceive(c: CallCtx): number {
  const mq = c.cap<Msgqueue>(0);
  if (typeof mq === 'number') return mq;
  const e = mq.receive(c.thread.access, c.a[1]!, c.a[2]!);
  c.out[1] = BigInt(mq.receivedSize);
  c.out[2] = mq.count > 0 ? 1n : 0n;
  return e;
}

function msgqueueFlush(c: CallCtx): number {
  const mq = c.cap<Msgqueue>(0);
  if (typeof mq === 'number') return mq;
  mq.flush();
  return Err.OK;
}

function msgqueueConfigureSend(c: CallCtx): number {
  const mq = c.cap<Msgqueue>(0);
  if (typeof mq === 'number') return mq;
  return mq.configureSend(Number(c.a[1]!), Number(c.a[2]!));
}

function msgqueueConfigureReceive(c: CallCtx): number {
  const mq = c.cap<Msgqueue>(0);
  if (typeof mq === 'number') return mq;
  return mq.configureReceive(Number(c.a[1]!), Number(c.a[2]!));
}

// ---------------------------------------------------------------------------- VIC (§2.5, §9.1)

/**
 * vic_configure: Gunyah looks the cap up as "any object" with the activate right, checks the type,
 * then the options' reserved bits (ARGUMENT_INVALID even on an ACTIVE VIC), then the INIT state.
 */
function vicConfigure(c: CallCtx): number {
  const cs = c.thread.cspace;
  if (cs === null) return Err.CSPACE_CAP_NULL;
  const obj = cs.lookup(c.a[0]!, 'any', RIGHT_ACTIVATE, false);
  if (typeof obj === 'number') return obj;
  if (!(obj instanceof Vic)) return Err.CSPACE_WRONG_OBJECT_TYPE;
  const options = c.a[3]!;
  if (!Vic.optionsValid(options)) return Err.ARGUMENT_INVALID;
  if (obj.state !== ObjState.INIT) return Err.OBJECT_STATE;
  return obj.configure(Number(c.a[1]!), Number(c.a[2]!), options, Number(c.a[4]!));
}

function vicAttachVcpuHandler(c: CallCtx): number {
  const vic = c.cap<Vic>(0);
  if (typeof vic === 'number') return vic;
  const t = c.cap<Thread>(1);
  if (typeof t === 'number') return t;
  return vicAttachVcpu(vic, t, Number(c.a[2]!));
}

/** No MSI sources exist on this platform (no ITS): the bind event has no handler (§2.5). */
function vicBindMsiSource(c: CallCtx): number {
  const vic = c.cap<Vic>(0);
  if (typeof vic === 'number') return vic;
  return Err.CSPACE_WRONG_OBJECT_TYPE;
}

const tx = (mq: Msgqueue): VirqSource => mq.sendSource;
const rx = (mq: Msgqueue): VirqSource => mq.rcvSource;

export const IPC_HANDLERS: ReadonlyMap<string, Handler> = new Map<string, Handler>([
  ['partition_create_doorbell', creator((c) => new Doorbell(c.hv))],
  ['doorbell_bind_virq', doorbellBindVirq],
  ['doorbell_unbind_virq', doorbellUnbindVirq],
  ['doorbell_send', doorbellSend],
  ['doorbell_receive', doorbellReceive],
  ['doorbell_reset', doorbellReset],
  ['doorbell_mask', doorbellMask],
  ['partition_create_msgqueue', creator((c) => new Msgqueue(c.hv))],
  ['msgqueue_configure', msgqueueConfigure],
  ['msgqueue_bind_send_virq', msgqueueBind(tx)],
  ['msgqueue_bind_receive_virq', msgqueueBind(rx)],
  ['msgqueue_unbind_send_virq', msgqueueUnbind(tx)],
  ['msgqueue_unbind_receive_virq', msgqueueUnbind(rx)],
  ['msgqueue_send', msgqueueSend],
  ['msgqueue_receive', msgqueueReceive],
  ['msgqueue_flush', msgqueueFlush],
  ['msgqueue_configure_send', msgqueueConfigureSend],
  ['msgqueue_configure_receive', msgqueueConfigureReceive],
  ['partition_create_vic', creator((c) => new Vic(c.hv))],
  ['vic_configure', vicConfigure],
  ['vic_attach_vcpu', vicAttachVcpuHandler],
  ['vic_bind_msi_source', vicBindMsiSource],
]);
