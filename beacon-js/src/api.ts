import { createErrorEvent } from './lib/errorEvent';
import { guarded } from './lib/guard';
import type { Client, VigilApi } from './types';
import { VERSION } from './version';

/** Publishes `window.vigil`, the page's way to report errors itself and to flush. */
export function exposeApi(client: Client): void {
  const api: VigilApi = {
    version: VERSION,
    captureError: guarded((error: unknown) => {
      const event = createErrorEvent(error, 'manual');
      client.capture(event);
      return event.event_id;
    }),
    flush: client.flush,
  };
  window.vigil = api;
}
