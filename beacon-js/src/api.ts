import { createErrorEvent } from './lib/errorEvent';
import { guarded } from './lib/guard';
import type { Client, Options, VigilApi } from './types';
import { VERSION } from './version';

/**
 * `window.vigil`: a function taking a command name and its arguments,
 * `vigil('captureError', err)`, as the loader's stub queues them, and the same commands as
 * methods, `vigil.captureError(err)`. `init` starts the beacon (`boot`) once; other calls
 * before it, and unknown commands, do nothing (the loader's queue keeps the page's order,
 * `init` first). Nothing here throws into the page.
 */
export function createApi(boot: (options: Options) => Client | null): VigilApi {
  let client: Client | null = null;
  const api = guarded((name: string, a?: any, b?: any) => {
    if (name === 'init') client ||= boot(a || {});
    else if (client) {
      const i = COMMANDS.indexOf(name);
      // setUser, setTag, consent, flush: the client's own.
      if (i > 2) return (client as any)[name](a, b);
      // captureError (1), captureMessage (2): the event's id.
      if (i > 0) {
        const event = i > 1 ? { ...createErrorEvent(String(a), 'message'), level: String(b || 'info') } : createErrorEvent(a, 'manual');
        client.capture(event);
        return event.event_id;
      }
    }
  }) as VigilApi;
  for (const name of COMMANDS) (api as any)[name] = (...args: unknown[]) => api(name, ...args);
  api.version = VERSION;
  return api;
}

/** The commands, in this order: `init`, the two that capture, the client's own methods. */
const COMMANDS = ['init', 'captureError', 'captureMessage', 'setUser', 'setTag', 'consent', 'flush'];
