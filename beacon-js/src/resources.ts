import { newEvent } from './lib/event';
import { guarded } from './lib/guard';
import { ms } from './lib/ms';
import { observe } from './lib/observe';
import { redactUrl } from './lib/redact';
import type { Client } from './types';

type Timing = PerformanceResourceTiming & { responseStatus?: number };

/**
 * Resource Timing initiators not reported here: requests of the page's code (network.ts
 * reports those) and `other`, what the browser fetches on its own, like /favicon.ico.
 */
const SKIP = /^(fetch|xmlhttprequest|other)$/;

/**
 * Captures sub-resources that failed to load, two ways:
 *
 * - a capture-phase `error` listener on window: an `<img>`, `<script>`, `<link>`,
 *   `<video>`, `<audio>` or `<source>` whose load failed (element `error` events do not
 *   bubble, but they pass window in the capture phase). Resource Timing adds the status
 *   and duration where it has the entry.
 * - Resource Timing entries with `responseStatus` ≥ 400 that no element reported (a CSS
 *   background image, a font). Each waits 1 s, so the element's own `error` event, which
 *   names the element, wins and the entry is skipped.
 *
 * The collector's and the beacon's own URLs are never reported.
 */
export function watchResources(client: Client): void {
  const reported = new Set<string>();
  const report = (url: string, element: string, rt?: Timing, source?: 'resource_timing'): void =>
    client.capture(newEvent('resource', { url: redactUrl(url), element, source, status: rt?.responseStatus || undefined, duration: rt && ms(rt.duration) }));
  addEventListener(
    'error',
    guarded((event: Event) => {
      const el = event.target as any;
      const url = el?.tagName && (el.currentSrc || el.src || el.href);
      if (typeof url === 'string' && url && !client.own(url)) {
        reported.add(url);
        report(url, el.tagName.toLowerCase(), performance.getEntriesByName(url).pop() as Timing | undefined);
      }
    }),
    true,
  );
  observe('resource', (entries: Timing[]) => {
    for (const rt of entries) {
      if (rt.responseStatus! >= 400 && !SKIP.test(rt.initiatorType) && !client.own(rt.name)) {
        setTimeout(guarded(() => reported.has(rt.name) || report(rt.name, rt.initiatorType, rt, 'resource_timing')), 1000);
      }
    }
  });
}
