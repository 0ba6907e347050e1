import { createErrorEvent } from './lib/errorEvent';
import { guarded } from './lib/guard';
import type { Client } from './types';

/**
 * Captures uncaught errors (`error` on window) and unhandled promise rejections, after
 * replaying those the loader (loader.ts) saw before the beacon arrived.
 *
 * Listeners, not `window.onerror =`, so handlers the page set before or after keep running.
 * The `error` listener is in the bubbling phase and skips events aimed at an element:
 * failed loads of images and scripts belong to resources.ts.
 */
export function watchErrors(client: Client, early: [Event, number][] = []): void {
  const report = (event: Event, ts?: number): void => {
    if (event.type === 'error') {
      // an element's failed load (resources.ts); window's own errors have no nodeType
      if ((event.target as Node).nodeType) return;
      const e = event as globalThis.ErrorEvent;
      client.capture(createErrorEvent(e.error, 'onerror', e, ts));
    } else {
      client.capture(createErrorEvent((event as PromiseRejectionEvent).reason, 'onunhandledrejection', {}, ts));
    }
  };
  for (const [event, ts] of early) report(event, ts);
  addEventListener('error', guarded(report));
  addEventListener('unhandledrejection', guarded(report));
}
