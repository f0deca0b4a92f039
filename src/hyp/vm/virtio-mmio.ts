// Virtio-MMIO devices (hypervisor-abi.md §2.11, §4.1, §4.5, §7, §10.6): a virtio-mmio transport
// whose register page is a 4 KiB memory extent shared by a *frontend* (the guest's virtio driver,
// which maps the page read-only) and a *backend* (the device model in another VM, which drives the
// device through virtio_mmio_backend_* hypercalls and may map the page writable).
//
// The register page is ordinary memory, and it *is* the device state for everything the driver
// reads: the hypervisor keeps the page contents in RAM up to date (our choice — reads are not
// emulated, so a frontend's loads are plain memory reads at full speed). The frontend's stores
// take a stage-2 permission fault, which vcpu-el2.ts hands to `frontendWrite` here (§10.6); the
// registers the driver writes are kept in hypervisor-private "banked" state and reflected into the
// page where the transport says the driver reads them back (DeviceFeatures after
// DeviceFeaturesSel, QueueNumMax/QueueReady after QueueSel...). Status and InterruptStatus live
// only in the page, so a backend that maps it writable may also change them directly, as on
// Gunyah.
//
// Layout: the virtio 1.x MMIO transport, version 2 (virtio spec §4.2.2): MagicValue 0x000,
// Version 0x004, DeviceID 0x008, VendorID 0x00C, DeviceFeatures 0x010, DeviceFeaturesSel 0x014,
// DriverFeatures 0x020, DriverFeaturesSel 0x024, QueueSel 0x030, QueueNumMax 0x034, QueueNum
// 0x038, QueueReady 0x044, QueueNotify 0x050, InterruptStatus 0x060, InterruptACK 0x064, Status
// 0x070, QueueDesc 0x080/0x084, QueueDriver 0x090/0x094, QueueDevice 0x0A0/0x0A4,
// ConfigGeneration 0x0FC, device configuration from 0x100.
//
// Who writes what (Gunyah's virtio_mmio module, which our model follows):
// * The identification registers (MagicValue, Version, DeviceID, VendorID), ConfigGeneration and
//   — except for virtio-input — the device configuration are the *backend's* to write, through its
//   own writable mapping of the page; the hypervisor never writes them (nor zeroes the page at
//   activation). A backend therefore fills them in before it lets the frontend probe.
// * Frontend stores: only 4-byte stores at 4-byte-aligned offsets, and 1-byte stores inside the
//   device configuration (0x100..0xFFF), are accepted; the register writes listed in `frontendWrite`
//   are emulated, every other store (MagicValue, InterruptStatus, a halfword...) is refused, and a
//   refused store is a synchronous external abort in the frontend (§9.6).
//
// VIRQs (§7), named as in Gunyah by the side that *raises* them:
// * the backend source (bound by virtio_mmio_backend_bind_virq, normally to the frontend VM's VIC)
//   is asserted by virtio_mmio_backend_assert_virq; its level holds while InterruptStatus ≠ 0;
// * the frontend source (bound by virtio_mmio_frontend_bind_virq, normally to the backend VM's VIC)
//   is asserted by the frontend's QueueNotify, by a reset request (Status ← 0) and by Status
//   gaining DRIVER_OK or FAILED; its level holds while a notification reason is pending, i.e. until
//   the backend collects it with virtio_mmio_backend_get_notification.
// Both are level assertions; a reassertion since the guest acknowledged the VIRQ keeps it pending
// at the re-evaluation, as for every source of this build (virq.ts).

import { Err } from '../abi/errors.js';
import { HypObject, ObjState, type ObjectEvents } from '../core/object.js';
import type { Partition } from '../core/partition.js';
import { MEMEXTENT_TYPE, PAGE_SIZE, PGTABLE_ACCESS } from '../mem/attrs.js';
import type { HypMemory } from '../mem/memory.js';
import type { MemExtent } from '../mem/memextent.js';
import { VirqSource } from '../virq.js';
import { VIRTIO_DEVICE_TYPE_INPUT, VirtioInputData, virtioInputConfigWrite } from './virtio-input.js';

/** Register offsets of the virtio-mmio (version 2) transport in the register page. */
export const VIRTIO_MMIO_REG = {
  MAGIC_VALUE: 0x000,
  VERSION: 0x004,
  DEVICE_ID: 0x008,
  VENDOR_ID: 0x00c,
  DEVICE_FEATURES: 0x010,
  DEVICE_FEATURES_SEL: 0x014,
  DRIVER_FEATURES: 0x020,
  DRIVER_FEATURES_SEL: 0x024,
  QUEUE_SEL: 0x030,
  QUEUE_NUM_MAX: 0x034,
  QUEUE_NUM: 0x038,
  QUEUE_READY: 0x044,
  QUEUE_NOTIFY: 0x050,
  INTERRUPT_STATUS: 0x060,
  INTERRUPT_ACK: 0x064,
  STATUS: 0x070,
  QUEUE_DESC_LOW: 0x080,
  QUEUE_DESC_HIGH: 0x084,
  QUEUE_DRIVER_LOW: 0x090,
  QUEUE_DRIVER_HIGH: 0x094,
  QUEUE_DEVICE_LOW: 0x0a0,
  QUEUE_DEVICE_HIGH: 0x0a4,
  CONFIG_GENERATION: 0x0fc,
  CONFIG: 0x100,
} as const;

/** What MagicValue and Version read on a virtio-mmio v2 device (the backend writes them). */
export const VIRTIO_MMIO_MAGIC = 0x7472_6976; // "virt"
export const VIRTIO_MMIO_VERSION = 2;

/** vqs_num limit of virtio_mmio_configure (VIRTIO_MMIO_MAX_VQS). */
export const VIRTIO_MMIO_MAX_VQS = 16;
/** DeviceFeatures / DriverFeatures banks (feature bits 0..63). */
export const VIRTIO_MMIO_FEAT_WORDS = 2;
/** virtio_option_flags bit 6: the device_type argument is valid. Bits 5:0 and 63:7 are ignored. */
export const VIRTIO_OPTION_VALID_DEVICE_TYPE = 1n << 6n;
/** virtio_device_type: INVALID (no hypervisor-emulated device configuration); INPUT is 18. */
export const VIRTIO_DEVICE_TYPE_INVALID = 0;

/** Feature bits the hypervisor enforces in DeviceFeatures word 1 (set_dev_features, §2.11). */
export const VIRTIO_F_VERSION_1 = 32;
export const VIRTIO_F_ACCESS_PLATFORM = 33;
export const VIRTIO_F_NOTIFICATION_DATA = 38;

/** Device Status bits the hypervisor looks at (virtio spec §2.1). */
export const VIRTIO_STATUS = { DRIVER_OK: 0x04, DEVICE_NEEDS_RESET: 0x40, FAILED: 0x80 } as const;

/** virtio_mmio_notify_reason bits (get_notification's `reason`, §2.11); bit 2 is reserved. */
export const VIRTIO_NOTIFY_REASON = {
  NEW_BUFFER: 1 << 0,
  RESET_RQST: 1 << 1,
  DRIVER_OK: 1 << 3,
  FAILED: 1 << 4,
} as const;

/** The driver-written registers of one virtqueue, kept by the hypervisor (Gunyah's banked registers). */
export class VirtioQueueRegs {
  /** Set by the backend (set_queue_num_max); shown in QueueNumMax when the driver selects the queue. */
  numMax = 0;
  num = 0;
  ready = 0;
  descLow = 0;
  descHigh = 0;
  drvLow = 0;
  drvHigh = 0;
  devLow = 0;
  devHigh = 0;
}

/** Register-page extent → its virtio device (Gunyah's per-memextent vdevice pointer). */
const vdevices = new WeakMap<object, VirtioMmio>();

/**
 * The virtio-mmio device whose register page is the memory extent `owner` (a memdb page owner),
 * or undefined: the stage-2 permission-fault path (§10.6). Does not allocate.
 */
export function virtioMmioOfExtent(owner: object | null): VirtioMmio | undefined {
  return owner === null ? undefined : vdevices.get(owner);
}

export class VirtioMmio extends HypObject {
  readonly type = 'virtio_mmio' as const;
  /** The register-page extent (a reference is held from configure until destruction). */
  me: MemExtent | null = null;
  vqsNum = 0;
  deviceType = VIRTIO_DEVICE_TYPE_INVALID;
  /** Raised by the backend (backend_assert_virq), delivered to the frontend. */
  readonly backendSource: VirqSource;
  /** Raised by the frontend's register writes, delivered to the backend. */
  readonly frontendSource: VirqSource;
  /** Pending notification reasons (VIRTIO_NOTIFY_REASON bits), cleared by get_notification. */
  reason = 0;
  /** Queues notified since the last get_notification: bits 0–31 and 32–63 of the 64-bit bitmap. */
  vqsBitmapLo = 0;
  vqsBitmapHi = 0;
  drvFeatSel = 0;
  queueSel = 0;
  /** DeviceFeatures words, set by the backend; shown in the page when the driver writes DeviceFeaturesSel. */
  readonly devFeat = new Uint32Array(VIRTIO_MMIO_FEAT_WORDS);
  /** DriverFeatures words, written by the driver, read by the backend (get_drv_features). */
  readonly drvFeat = new Uint32Array(VIRTIO_MMIO_FEAT_WORDS);
  /** One entry per virtqueue, allocated at activation. */
  queues: VirtioQueueRegs[] = [];
  /** virtio-input's configuration data (device type 18), allocated at activation. */
  input: VirtioInputData | null = null;
  /** The register page in RAM while ACTIVE (a view made once, so register accesses never allocate). */
  private page: DataView | null = null;
  private pageBytes: Uint8Array | null = null;

  constructor(
    events: ObjectEvents | null,
    readonly mem: HypMemory,
    /** The partition the device was created from (the owner it attaches the page for, §4.5). */
    readonly partition: Partition,
  ) {
    super(events);
    this.backendSource = new VirqSource(
      (reasserted) => reasserted || this.reg(VIRTIO_MMIO_REG.INTERRUPT_STATUS) !== 0,
      `${String(this)} backend`,
    );
    this.frontendSource = new VirqSource((reasserted) => reasserted || this.reason !== 0, `${String(this)} frontend`);
  }

  // ---------------------------------------------------------------------------------------------
  // Configuration and lifecycle (§2.11, §4.5)
  // ---------------------------------------------------------------------------------------------

  /**
   * virtio_mmio_configure, INIT only (checked by the caller): the extent must be one BASIC page and
   * vqs_num ≤ 16 (else ARGUMENT_INVALID); with flags.valid_device_type the type must be one the
   * hypervisor emulates — only virtio-input (18) in this build — else ARGUMENT_INVALID. Without the
   * flag the type is INVALID whatever x4 holds. Configuring again replaces the extent.
   */
  configure(me: MemExtent, vqsNum: number, flags: bigint, deviceType: number): number {
    if (me.kind !== MEMEXTENT_TYPE.BASIC || me.pages !== 1 || vqsNum > VIRTIO_MMIO_MAX_VQS) {
      return Err.ARGUMENT_INVALID;
    }
    if ((flags & VIRTIO_OPTION_VALID_DEVICE_TYPE) !== 0n) {
      if (deviceType !== VIRTIO_DEVICE_TYPE_INPUT) return Err.ARGUMENT_INVALID;
      this.deviceType = deviceType;
    } else {
      this.deviceType = VIRTIO_DEVICE_TYPE_INVALID;
    }
    me.get();
    const old = this.me;
    this.me = me;
    old?.put();
    this.vqsNum = vqsNum;
    return Err.OK;
  }

  /**
   * Activation, in Gunyah's order: no extent → OBJECT_CONFIG; the extent already carries a vdevice
   * → BUSY; then the extent is attached to the hypervisor: it must come from the same partition
   * and allow RW (else DENIED), and have no derived children nor another hypervisor attachment
   * such as an info area (BUSY). [infer] The model keeps the registers in RAM: an extent whose
   * page is not RAM (a device window) has nowhere to hold them — ADDR_INVALID.
   * While attached the extent cannot be derived from (memextent.ts checks `attachedTo`).
   */
  protected override doActivate(): number {
    const me = this.me;
    if (me === null) return Err.OBJECT_CONFIG;
    if (vdevices.has(me)) return Err.BUSY;
    if (me.partition !== this.partition) return Err.DENIED;
    if ((me.access & PGTABLE_ACCESS.RW) !== PGTABLE_ACCESS.RW) return Err.DENIED;
    if (me.children.size > 0 || me.attachedTo !== null) return Err.BUSY;
    const pa = me.base * PAGE_SIZE;
    const phys = this.mem.phys;
    if (!phys.contains(pa, PAGE_SIZE)) return Err.ADDR_INVALID;
    this.queues = Array.from({ length: this.vqsNum }, () => new VirtioQueueRegs());
    if (this.deviceType === VIRTIO_DEVICE_TYPE_INPUT) this.input = new VirtioInputData();
    const bytes = phys.bytes;
    this.pageBytes = bytes.subarray(pa - phys.base, pa - phys.base + PAGE_SIZE);
    this.page = new DataView(bytes.buffer, bytes.byteOffset + pa - phys.base, PAGE_SIZE);
    me.attachedTo = this;
    vdevices.set(me, this);
    return Err.OK;
  }

  /** Destruction of an ACTIVE device: both VIRQs unbound, the page's vdevice and attachment gone. */
  protected override doDeactivate(): void {
    this.backendSource.unbind();
    this.frontendSource.unbind();
    const me = this.me;
    if (me !== null) {
      if (vdevices.get(me) === this) vdevices.delete(me);
      if (me.attachedTo === this) me.attachedTo = null;
    }
    this.page = null;
    this.pageBytes = null;
  }

  protected override released(): void {
    const me = this.me;
    this.me = null;
    me?.put();
  }

  get active(): boolean {
    return this.state === ObjState.ACTIVE;
  }

  // ---------------------------------------------------------------------------------------------
  // The register page
  // ---------------------------------------------------------------------------------------------

  /** A 32-bit register of the page (0 when the device has no page). */
  reg(off: number): number {
    return this.page === null ? 0 : this.page.getUint32(off, true);
  }

  setReg(off: number, v: number): void {
    this.page?.setUint32(off, v >>> 0, true);
  }

  /** The page's bytes (device configuration writes); empty when the device has no page. */
  get bytes(): Uint8Array {
    return this.pageBytes ?? EMPTY;
  }

  /**
   * A frontend store of `size` bytes of `value` at byte `off` of the page (a stage-2 permission
   * fault, §10.6). True if emulated; false refuses it (the vCPU takes an external abort, §9.6).
   * Does not allocate.
   */
  frontendWrite(off: number, size: number, value: number): boolean {
    if (this.page === null) return false;
    if ((off & (size - 1)) !== 0) return false;
    if (size === 1) {
      if (off < VIRTIO_MMIO_REG.CONFIG) return false;
    } else if (size !== 4) {
      return false;
    }
    const val = value >>> 0;
    const R = VIRTIO_MMIO_REG;
    switch (off) {
      case R.DEVICE_FEATURES_SEL:
        // The selector itself is not kept: the chosen word appears in DeviceFeatures.
        if (val >= VIRTIO_MMIO_FEAT_WORDS) return false;
        this.setReg(R.DEVICE_FEATURES, this.devFeat[val]!);
        return true;
      case R.DRIVER_FEATURES:
        this.drvFeat[this.drvFeatSel] = val;
        return true;
      case R.DRIVER_FEATURES_SEL:
        if (val >= VIRTIO_MMIO_FEAT_WORDS) return false;
        this.drvFeatSel = val;
        return true;
      case R.QUEUE_SEL: {
        if (val >= this.vqsNum) return false;
        this.queueSel = val;
        const q = this.queues[val]!;
        this.setReg(R.QUEUE_NUM_MAX, q.numMax);
        this.setReg(R.QUEUE_READY, q.ready);
        return true;
      }
      case R.QUEUE_NOTIFY:
        this.notify(val);
        return true;
      case R.INTERRUPT_ACK:
        this.setReg(R.INTERRUPT_STATUS, this.reg(R.INTERRUPT_STATUS) & ~val);
        return true;
      case R.STATUS:
        this.writeStatus(val);
        return true;
      case R.QUEUE_NUM:
      case R.QUEUE_READY:
      case R.QUEUE_DESC_LOW:
      case R.QUEUE_DESC_HIGH:
      case R.QUEUE_DRIVER_LOW:
      case R.QUEUE_DRIVER_HIGH:
      case R.QUEUE_DEVICE_LOW:
      case R.QUEUE_DEVICE_HIGH:
        return this.writeQueueReg(off, val);
      default:
        return this.configWrite(off, size, val);
    }
  }

  /**
   * A write to the selected queue's registers. [infer] With no virtqueues (vqs_num 0) there is no
   * queue to write (Gunyah would index an empty array): refused.
   */
  private writeQueueReg(off: number, val: number): boolean {
    const q = this.queues[this.queueSel];
    if (q === undefined) return false;
    const R = VIRTIO_MMIO_REG;
    switch (off) {
      case R.QUEUE_NUM:
        q.num = val;
        break;
      case R.QUEUE_READY:
        // The page shows QueueReady of the selected queue at once.
        this.setReg(R.QUEUE_READY, val);
        q.ready = val;
        break;
      case R.QUEUE_DESC_LOW:
        q.descLow = val;
        break;
      case R.QUEUE_DESC_HIGH:
        q.descHigh = val;
        break;
      case R.QUEUE_DRIVER_LOW:
        q.drvLow = val;
        break;
      case R.QUEUE_DRIVER_HIGH:
        q.drvHigh = val;
        break;
      case R.QUEUE_DEVICE_LOW:
        q.devLow = val;
        break;
      default:
        q.devHigh = val;
    }
    return true;
  }

  /**
   * QueueNotify: the queue's bit joins the bitmap, the reason gains new_buffer, and the backend is
   * interrupted. [infer] A value ≥ 64 names no bit of the 64-bit bitmap (Gunyah's shift would be
   * undefined): only the reason is raised. (NOTIFICATION_DATA is never offered, so the value is
   * a queue index.)
   */
  private notify(val: number): void {
    if (val < 32) this.vqsBitmapLo = (this.vqsBitmapLo | (1 << val)) >>> 0;
    else if (val < 64) this.vqsBitmapHi = (this.vqsBitmapHi | (1 << (val - 32))) >>> 0;
    this.reason |= VIRTIO_NOTIFY_REASON.NEW_BUFFER;
    this.frontendSource.assert(false);
  }

  /**
   * Status. A nonzero value is stored as written; gaining DRIVER_OK raises driver_ok, else gaining
   * FAILED raises failed (one reason per write, DRIVER_OK first), and either interrupts the
   * backend. Writing 0 requests a reset — unless Status already reads 0 (a driver's first reset of
   * a fresh device asks nothing): DEVICE_NEEDS_RESET is set in Status until the backend's
   * acknowledge_reset clears it, every queue's QueueReady is cleared, reset_rqst is raised and
   * the backend interrupted. The driver polls Status until it reads 0.
   * [?] Gunyah's snapshot reports the reset write as emulated only when the backend's VIRQ is
   * edge-configured (it returns virq_assert's "was edge" result as success), so a level-configured
   * or unbound backend VIRQ would make the driver's reset store fault. We implement the evident
   * intent: the reset write always completes.
   */
  private writeStatus(val: number): void {
    const R = VIRTIO_MMIO_REG;
    const S = VIRTIO_STATUS;
    if (val !== 0) {
      const old = this.reg(R.STATUS);
      this.setReg(R.STATUS, val);
      let raise = 0;
      if ((old & S.DRIVER_OK) === 0 && (val & S.DRIVER_OK) !== 0) raise = VIRTIO_NOTIFY_REASON.DRIVER_OK;
      else if ((old & S.FAILED) === 0 && (val & S.FAILED) !== 0) raise = VIRTIO_NOTIFY_REASON.FAILED;
      if (raise !== 0) {
        this.reason |= raise;
        this.frontendSource.assert(false);
      }
      return;
    }
    const status = this.reg(R.STATUS);
    if (status === 0) return;
    this.setReg(R.STATUS, status | S.DEVICE_NEEDS_RESET);
    this.reason |= VIRTIO_NOTIFY_REASON.RESET_RQST;
    for (const q of this.queues) q.ready = 0;
    this.setReg(R.QUEUE_READY, 0);
    this.frontendSource.assert(false);
  }

  /**
   * A store in the device configuration, by device type: virtio-input emulates its select/subsel
   * registers (virtio-input.ts); a device without a hypervisor-emulated type (INVALID) lets the
   * driver write any configuration byte, kept in the page for the backend. Offsets below 0x100
   * that are not a writable register (MagicValue, DeviceFeatures, InterruptStatus,
   * ConfigGeneration, reserved words...) are refused.
   */
  private configWrite(off: number, size: number, val: number): boolean {
    if (this.deviceType === VIRTIO_DEVICE_TYPE_INPUT) return virtioInputConfigWrite(this, off, size, val);
    if (off < VIRTIO_MMIO_REG.CONFIG) return false;
    const b = this.pageBytes!;
    let v = val;
    for (let i = 0; i < size; i++) {
      b[off + i] = v & 0xff;
      v >>>= 8;
    }
    return true;
  }

  // ---------------------------------------------------------------------------------------------
  // Backend operations (the virtio_mmio_backend_* hypercalls, §2.11)
  // ---------------------------------------------------------------------------------------------

  /**
   * backend_assert_virq: DENIED while a reset is pending (Status has DEVICE_NEEDS_RESET); else
   * InterruptStatus |= bits and the frontend's VIRQ is asserted (level: it holds until the driver
   * clears InterruptStatus through InterruptACK and deactivates the VIRQ).
   */
  assertVirq(interruptStatus: number): number {
    if ((this.reg(VIRTIO_MMIO_REG.STATUS) & VIRTIO_STATUS.DEVICE_NEEDS_RESET) !== 0) return Err.DENIED;
    this.setReg(VIRTIO_MMIO_REG.INTERRUPT_STATUS, this.reg(VIRTIO_MMIO_REG.INTERRUPT_STATUS) | interruptStatus);
    this.backendSource.assert(false);
    return Err.OK;
  }

  /**
   * backend_set_dev_features(sel, feat): sel < 2 (else ARGUMENT_INVALID). Word 1 must keep
   * VERSION_1 (bit 32) and ACCESS_PLATFORM (bit 33) set and NOTIFICATION_DATA (bit 38) clear
   * (else DENIED): the hypervisor's transport needs a modern driver, DMA through the platform's
   * translation, and plain queue indices in QueueNotify. The page's DeviceFeatures shows the new
   * word only once the driver next writes DeviceFeaturesSel.
   */
  setDevFeatures(sel: number, feat: number): number {
    if (sel >= VIRTIO_MMIO_FEAT_WORDS) return Err.ARGUMENT_INVALID;
    if (sel === 1) {
      const need = (1 << (VIRTIO_F_VERSION_1 - 32)) | (1 << (VIRTIO_F_ACCESS_PLATFORM - 32));
      const forbid = 1 << (VIRTIO_F_NOTIFICATION_DATA - 32);
      if ((feat & need) !== need || (feat & forbid) !== 0) return Err.DENIED;
    }
    this.devFeat[sel] = feat;
    return Err.OK;
  }

  /** backend_set_queue_num_max(sel, max): sel < vqs_num (else ARGUMENT_INVALID); shown at the next QueueSel. */
  setQueueNumMax(sel: number, max: number): number {
    const q = this.queues[sel];
    if (sel >= this.vqsNum || q === undefined) return Err.ARGUMENT_INVALID;
    q.numMax = max >>> 0;
    return Err.OK;
  }

  /** get_notification: the bitmap and reasons since the last call (both cleared). */
  takeNotification(out: BigUint64Array): void {
    out[1] = (BigInt(this.vqsBitmapHi) << 32n) | BigInt(this.vqsBitmapLo);
    out[2] = BigInt(this.reason);
    this.vqsBitmapLo = 0;
    this.vqsBitmapHi = 0;
    this.reason = 0;
  }

  /** acknowledge_reset: Status ← 0 (the reset is done; the driver's Status poll sees it). */
  acknowledgeReset(): void {
    this.setReg(VIRTIO_MMIO_REG.STATUS, 0);
  }

  /** update_status: Status |= val (e.g. DEVICE_NEEDS_RESET when the device fails). */
  updateStatus(val: number): void {
    this.setReg(VIRTIO_MMIO_REG.STATUS, this.reg(VIRTIO_MMIO_REG.STATUS) | val);
  }
}

const EMPTY = new Uint8Array(0);
