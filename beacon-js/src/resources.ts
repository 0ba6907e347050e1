import { newEvent } from './lib/event';
import { guarded } from './lib/guard';
import { ms } from './lib/ms';
import { observe } from './lib/observe';
import { timing } from './lib/phases';
import { redactUrl } from './lib/redact';
import type { BeaconEvent, Client } from './types';

type Timing = PerformanceResourceTiming & { responseStatus?: number };


/** A fetch or XMLHttpRequest that took this long (ms) is reported as slow, with its phases. */
export const SLOW_MS = 1000;

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
 * And the page's own `fetch` and `XMLHttpRequest` calls that took SLOW_MS or more, as
 * `slow_request` events with their phases (lib/phases.ts, with time to first byte counted
 * from the request's start). A cross-origin server that sends no `Timing-Allow-Origin`
 * hides the phases: only the duration is sent then.
 *
 * The collector's and the beacon's own URLs are never reported.
 */
export function watchResources(client: Client): void {
  const reported = new Set<string>();
  // A failed resource (with its element and source) or a slow request (with its initiator and phases).
  const report = (type: BeaconEvent['type'], url: string, rt: Timing | undefined, fields: object): void =>
    client.capture(newEvent(type, { url: redactUrl(url), status: rt?.responseStatus || undefined, duration: rt && ms(rt.duration), ...fields }) as BeaconEvent);
  addEventListener(
    'error',
    guarded((event: Event) => {
      const el = event.target as any;
      const url = el?.tagName && (el.currentSrc || el.src || el.href);
      if (typeof url === 'string' && url && !client.own(url)) {
        reported.add(url);
        report('resource', url, performance.getEntriesByName(url).pop() as Timing | undefined, { element: el.tagName.toLowerCase() });
      }
    }),
    true,
  );
  observe('resource', (entries: Timing[]) => {
    for (const rt of entries) {
      const type = rt.initiatorType;
      if (client.own(rt.name) || type == 'other') continue;
      // The page's own requests (`fetch`, `xmlhttprequest`): the slow ones are reported here,
      // the failed ones by network.ts. `other` is what the browser fetches on its own, like /favicon.ico.
      if (/^(fetch|x)/.test(type)) {
        if (rt.duration >= SLOW_MS) report('slow_request', rt.name, rt, { api: type, ...(rt.requestStart && timing(rt)) });
      } else if (rt.responseStatus! >= 400) {
        setTimeout(guarded(() => reported.has(rt.name) || report('resource', rt.name, rt, { element: type, source: 'resource_timing' })), 1000);
      }
    }
  });
}
