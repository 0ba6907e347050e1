import { createErrorEvent } from './lib/errorEvent';
import { guarded } from './lib/guard';
import type { BeaconEvent } from './types';

/**
 * Captures uncaught errors (`error` on window) and unhandled promise rejections.
 *
 * Listeners, not `window.onerror =`, so handlers the page set before or after keep running.
 * The `error` listener is in the bubbling phase: resource load failures (an `<img>` or
 * `<script>` that fails) do not bubble, and any `error` event aimed at an element is
 * skipped here; those belong to a later resource source.
 */
export function watchErrors(report: (event: BeaconEvent) => void): void {
  addEventListener(
    'error',
    guarded((event: Event) => {
      const target = event.target as Node | null;
      if (target && target.nodeType) return;
      const e = event as globalThis.ErrorEvent;
      report(createErrorEvent(e.error, 'onerror', e));
    }),
  );
  addEventListener(
    'unhandledrejection',
    guarded((event: PromiseRejectionEvent) => {
      report(createErrorEvent(event.reason, 'onunhandledrejection'));
    }),
  );
}
