// Partitions (hypervisor-abi.md §4.1, §10.1): the owners of objects and of physical memory. Only
// the hypervisor creates them (partition_create_partition is unimplemented); the root partition
// is privileged and owns all RAM not used by the hypervisor at boot.

import { HypObject, type ObjectEvents } from './object.js';

export class Partition extends HypObject {
  readonly type = 'partition' as const;

  constructor(
    events: ObjectEvents | null,
    readonly privileged: boolean,
  ) {
    super(events);
  }
}
