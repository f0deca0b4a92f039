// Placeholder: handlers are added by this module's author.
import type { Handler } from '../dispatch.js';

export const IPC_HANDLERS: ReadonlyMap<string, Handler> = new Map<string, Handler>();
