import { createErrorEvent } from './lib/errorEvent';
import { newEvent } from './lib/event';
import { guarded } from './lib/guard';
import { redactText } from './lib/redact';
import type { BeaconEvent, Client, Options, VigilApi } from './types';
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
  const capture = (event: BeaconEvent): string => (client!.capture(event), event.event_id);
  const commands: Record<string, (...args: any[]) => unknown> = {
    init: (options?: Options) => void (client ||= boot(options || {})),
    setUser: (id) => client!.setUser(id),
    setTag: (key, value) => client!.setTag(key, value),
    captureError: (error) => capture(createErrorEvent(error, 'manual')),
    captureMessage: (message, level) =>
      capture(newEvent('error', { error_type: 'Message', message: redactText(String(message)), mechanism: 'message' as const, level: String(level || 'info') })),
    consent: (granted) => client!.consent(granted),
    flush: () => client!.flush(),
  };
  const api = guarded((name: string, ...args: unknown[]) => (name === 'init' || client) && commands[name]?.(...args)) as VigilApi;
  for (const name in commands) (api as any)[name] = (...args: unknown[]) => api(name, ...args);
  api.version = VERSION;
  return api;
}
