// Virtual power-management groups (hypervisor-abi.md §2.9, §9.3): the VCPUs of a VM that PSCI
// treats as one system. A VCPU attached to a group gets PSCI; the group's state is what
// vpm_group_get_state reports. Index i of the group is the VCPU's physical CPU slot (< 8).

import { Err } from '../abi/errors.js';
import { HypObject, type ObjectEvents } from '../core/object.js';
import { VirqSource } from '../virq.js';
import { PLATFORM_MAX_CORES, type Thread } from './thread.js';

export const VPM_FLAG_NO_AGGREGATION = 1n;

export const enum VpmState {
  NO_STATE = 0,
  RUNNING = 1,
  CPUS_SUSPENDED = 2,
  SYSTEM_SUSPENDED = 3,
}

export class VpmGroup extends HypObject {
  readonly type = 'vpm_group' as const;
  noAggregation = false;
  /** Attached VCPUs by index. */
  readonly vcpus: (Thread | null)[] = new Array<Thread | null>(PLATFORM_MAX_CORES).fill(null);
  /**
   * The group's VIRQ (vpm_group_bind_virq, §2.9): an edge-only system-suspend source (§7). PSCI
   * SYSTEM_SUSPEND is not built for QEMU (§9.3), so nothing asserts it yet; binding follows the
   * shared-VIRQ rules and deactivation unbinds it.
   */
  readonly source: VirqSource;

  constructor(events: ObjectEvents | null) {
    super(events);
    this.source = new VirqSource((reasserted) => reasserted, String(this));
  }

  protected override doDeactivate(): void {
    this.source.unbind();
  }

  configure(flags: bigint): number {
    this.noAggregation = (flags & VPM_FLAG_NO_AGGREGATION) !== 0n;
    return Err.OK;
  }

  /** Record the attachment (vpm_group_attach_vcpu); the index is claimed when the VCPU activates. */
  attach(t: Thread, index: number): number {
    if (index >= PLATFORM_MAX_CORES) return Err.ARGUMENT_INVALID;
    t.vpm?.put();
    this.get();
    t.vpm = this;
    t.vpmIndex = index;
    return Err.OK;
  }

  /** At VCPU activation: the index must be free (DENIED otherwise). */
  claim(t: Thread): number {
    const i = t.vpmIndex;
    if (this.vcpus[i] !== null && this.vcpus[i] !== t) return Err.DENIED;
    this.vcpus[i] = t;
    return Err.OK;
  }

  release(t: Thread): void {
    if (this.vcpus[t.vpmIndex] === t) this.vcpus[t.vpmIndex] = null;
  }

  /** RUNNING while any attached VCPU is powered on and not suspended, else CPUS_SUSPENDED. */
  powerState(): VpmState {
    const attached = this.vcpus.filter((v): v is Thread => v !== null);
    if (attached.length === 0) return VpmState.NO_STATE;
    return attached.some((v) => !v.poweredOff && !v.suspended) ? VpmState.RUNNING : VpmState.CPUS_SUSPENDED;
  }
}
