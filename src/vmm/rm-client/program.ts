// Native programs written as generators: the program yields 'wait' when it has nothing to do
// until an interrupt (an RPC reply, a notification) and 'yield' to let others run; the adapter
// turns that into the running system's step protocol (each step resumes the generator once).

import type { RmVcpu } from '../../rm/port.js';

export type Pause = 'wait' | 'yield';
export type ProgramBody = Generator<Pause, void, void>;

/** A NativeProgram-shaped object driving `body(v)`; 'off' when the generator returns. */
export function generatorProgram(body: (v: RmVcpu) => ProgramBody): { step(v: RmVcpu): 'wait' | 'yield' | 'off' } {
  let it: ProgramBody | null = null;
  let finished = false;
  return {
    step(v: RmVcpu) {
      if (finished) return 'off';
      it ??= body(v);
      const r = it.next();
      if (r.done) {
        finished = true;
        return 'off';
      }
      return r.value;
    },
  };
}
