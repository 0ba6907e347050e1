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
  // A rejection has a reason and no position; an element's failed load (resources.ts) has a
  // target with a nodeType, window's own errors do not.
  const report = (e: any, ts?: number): unknown =>
    e.target?.nodeType || client.capture(createErrorEvent(e.type === 'error' ? e.error : e.reason, e.type === 'error' ? 'onerror' : 'onunhandledrejection', e, ts));
  for (const [event, ts] of early) report(event, ts);
  addEventListener('error', guarded(report));
  addEventListener('unhandledrejection', guarded(report));
}
