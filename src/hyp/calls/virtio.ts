// Handlers for virtio-mmio and virtio-input (hypervisor-abi.md §2.11): creation, configuration,
// the backend's and frontend's VIRQ bindings, and the backend's view of the transport. Cap
// arguments are looked up as the table rows declare (ACTIVE, with the call's right), in argument
// order — except virtio_mmio_configure, which (as Gunyah's handler) looks up the memory extent
// first, then the device as "any object" with the activate right, checks its type, then its
// INIT state.

import { Err } from '../abi/errors.js';
import { RIGHT_ACTIVATE } from '../abi/rights.js';
import { ObjState } from '../core/object.js';
import type { Partition } from '../core/partition.js';
import type { CallCtx, Handler } from '../dispatch.js';
import type { MemExtent } from '../mem/memextent.js';
import type { VirqSource } from '../virq.js';
import type { Vic } from '../vm/vic.js';
import { virtioInputConfigure, virtioInputSetData } from '../vm/virtio-input.js';
import { VirtioMmio } from '../vm/virtio-mmio.js';
import { creator } from './objects.js';

function configure(c: CallCtx): number {
  const me = c.cap<MemExtent>(1);
  if (typeof me === 'number') return me;
  const cs = c.thread.cspace;
  if (cs === null) return Err.CSPACE_CAP_NULL;
  const obj = cs.lookup(c.a[0]!, 'any', RIGHT_ACTIVATE, false);
  if (typeof obj === 'number') return obj;
  if (!(obj instanceof VirtioMmio)) return Err.CSPACE_WRONG_OBJECT_TYPE;
  if (obj.state !== ObjState.INIT) return Err.OBJECT_STATE;
  return obj.configure(me, Number(c.a[2]!), c.a[3]!, Number(c.a[4]!));
}

/** backend/frontend bind: the device (with that side's bind right), then the VIC. */
function bind(side: (v: VirtioMmio) => VirqSource): Handler {
  return (c) => {
    const vio = c.cap<VirtioMmio>(0);
    if (typeof vio === 'number') return vio;
    const vic = c.cap<Vic>(1);
    if (typeof vic === 'number') return vic;
    return side(vio).bind(vic, Number(c.a[2]!));
  };
}

/** Unbinding is OK whether or not the source was bound. */
function unbind(side: (v: VirtioMmio) => VirqSource): Handler {
  return (c) => {
    const vio = c.cap<VirtioMmio>(0);
    if (typeof vio === 'number') return vio;
    side(vio).unbind();
    return Err.OK;
  };
}

/** A backend call on the device named by input 0: look it up, then run `fn`. */
function backend(fn: (vio: VirtioMmio, c: CallCtx) => number): Handler {
  return (c) => {
    const vio = c.cap<VirtioMmio>(0);
    if (typeof vio === 'number') return vio;
    return fn(vio, c);
  };
}

const assertVirq = backend((vio, c) => vio.assertVirq(Number(c.a[1]!)));
const setDevFeatures = backend((vio, c) => vio.setDevFeatures(Number(c.a[1]!), Number(c.a[2]!)));
const setQueueNumMax = backend((vio, c) => vio.setQueueNumMax(Number(c.a[1]!), Number(c.a[2]!)));

/** get_drv_features(sel): sel < 2 else ARGUMENT_INVALID (feat then 0). */
const getDrvFeatures = backend((vio, c) => {
  const sel = Number(c.a[1]!);
  if (sel >= vio.drvFeat.length) return Err.ARGUMENT_INVALID;
  c.out[1] = BigInt(vio.drvFeat[sel]!);
  return Err.OK;
});

/**
 * get_queue_info(sel): sel < vqs_num else ARGUMENT_INVALID (all outputs then 0); QueueNum,
 * QueueReady and the three 64-bit ring addresses as the driver wrote them.
 */
const getQueueInfo = backend((vio, c) => {
  const sel = Number(c.a[1]!);
  const q = vio.queues[sel];
  if (sel >= vio.vqsNum || q === undefined) return Err.ARGUMENT_INVALID;
  c.out[1] = BigInt(q.num);
  c.out[2] = BigInt(q.ready);
  c.out[3] = (BigInt(q.descHigh) << 32n) | BigInt(q.descLow);
  c.out[4] = (BigInt(q.drvHigh) << 32n) | BigInt(q.drvLow);
  c.out[5] = (BigInt(q.devHigh) << 32n) | BigInt(q.devLow);
  return Err.OK;
});

/**
 * get_notification: the queues notified and the reasons raised since the last call, both
 * cleared. The backend's VIRQ level drops at its next re-evaluation (its EOI), no reason being
 * pending any more.
 */
const getNotification = backend((vio, c) => {
  vio.takeNotification(c.out);
  return Err.OK;
});

const acknowledgeReset = backend((vio) => {
  vio.acknowledgeReset();
  return Err.OK;
});

const updateStatus = backend((vio, c) => {
  vio.updateStatus(Number(c.a[1]!));
  return Err.OK;
});

const inputConfigure = backend((vio, c) =>
  virtioInputConfigure(vio, c.a[1]!, Number(c.a[2]!), Number(c.a[3]!), Number(c.a[4]!)),
);

const inputSetData = backend((vio, c) =>
  virtioInputSetData(vio, c.thread.access, Number(c.a[1]!), Number(c.a[2]!), Number(c.a[3]!), c.a[4]!),
);

const backendSide = (v: VirtioMmio): VirqSource => v.backendSource;
const frontendSide = (v: VirtioMmio): VirqSource => v.frontendSource;

export const VIRTIO_HANDLERS: ReadonlyMap<string, Handler> = new Map<string, Handler>([
  ['partition_create_virtio_mmio', creator((c) => new VirtioMmio(c.hv, c.hv.mem, c.cap<Partition>(0) as Partition))],
  ['virtio_mmio_configure', configure],
  ['virtio_mmio_backend_bind_virq', bind(backendSide)],
  ['virtio_mmio_backend_unbind_virq', unbind(backendSide)],
  ['virtio_mmio_frontend_bind_virq', bind(frontendSide)],
  ['virtio_mmio_frontend_unbind_virq', unbind(frontendSide)],
  ['virtio_mmio_backend_assert_virq', assertVirq],
  ['virtio_mmio_backend_set_dev_features', setDevFeatures],
  ['virtio_mmio_backend_set_queue_num_max', setQueueNumMax],
  ['virtio_mmio_backend_get_drv_features', getDrvFeatures],
  ['virtio_mmio_backend_get_queue_info', getQueueInfo],
  ['virtio_mmio_backend_get_notification', getNotification],
  ['virtio_mmio_backend_acknowledge_reset', acknowledgeReset],
  ['virtio_mmio_backend_update_status', updateStatus],
  ['virtio_input_configure', inputConfigure],
  ['virtio_input_set_data', inputSetData],
]);
