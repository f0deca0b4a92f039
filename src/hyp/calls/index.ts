// Every hypercall handler of this build, by name (rows of abi/hypercalls.ts without a handler
// answer UNIMPLEMENTED).

import type { Handler } from '../dispatch.js';
import { OBJECT_HANDLERS } from './objects.js';

export const HANDLERS: ReadonlyMap<string, Handler> = new Map<string, Handler>([...OBJECT_HANDLERS]);
