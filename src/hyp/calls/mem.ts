// Placeholder: handlers are added by this module's author.
import type { Handler } from '../dispatch.js';

export const MEM_HANDLERS: ReadonlyMap<string, Handler> = new Map<string, Handler>();
