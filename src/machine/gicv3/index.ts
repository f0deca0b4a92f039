// The GICv3 interrupt controller model: see gic.ts for what it models and how it is wired.

export {
  Gicv3,
  affinityFromMpidr,
  type Gicv3Options,
  type Gicv3State,
  type GicOutput,
  type SpiObserver,
} from './gic.js';
export { GICD_SIZE, GICR_STRIDE, INTID_SPURIOUS } from './regs.js';
