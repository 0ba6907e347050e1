import type { BeaconEvent } from '../types';

/** Problem events (errors, failed loads and requests, reports) per type and page… */
export const MAX_PER_PAGE = 100;
/** …and per type and minute. */
export const MAX_PER_MINUTE = 30;

/** Distinct events remembered for duplicate detection; beyond this, new ones are not remembered. */
export const MAX_SEEN = 500;

/**
 * Flood control for one page: a page stuck in a loop must not send thousands of copies.
 * Returns a check that says why an event is dropped (`duplicate`, `rate_limit`) or
 * undefined to keep it. An event identical to an earlier one of the page is a duplicate
 * (the same fields but ids, times, page URL, duration and breadcrumbs): for errors the
 * same type, message and first stack frame, and the same cause chain. The first MAX_SEEN
 * distinct events are remembered, so memory stays bounded on a page whose errors all differ.
 * Vitals are never limited (their repeats are updates of one metric); page views are never
 * duplicates and only limited per minute, not per page (a long-lived single-page app).
 */
export function createFlood(): (event: BeaconEvent) => string | undefined {
  const seen = new Set<string>();
  // Per type: events this page, and events this clock minute (key: type and minute number).
  const counts: Record<string, number> = {};
  const count = (key: string): number => (counts[key] = (counts[key] || 0) + 1);
  return (event) => {
    const type = event.type;
    if (type === 'vital') return undefined;
    if (type !== 'pageview') {
      // The event without what differs between repeats; an error's stack only by its first
      // frame (the first line with a :position; one line, so linear in the stack's length).
      const key = JSON.stringify({ ...event, event_id: 0, ts: 0, page_url: 0, duration: 0, breadcrumbs: 0, stack: /^.*:\d+.*$/m.exec((event as any).stack)?.[0] });
      if (seen.has(key)) return 'duplicate';
      if (seen.size < MAX_SEEN) seen.add(key);
    }
    // Only events within the minute's budget count against the page's.
    return count(type + ((Date.now() / 60000) | 0)) > MAX_PER_MINUTE || (type !== 'pageview' && count(type) > MAX_PER_PAGE) ? 'rate_limit' : undefined;
  };
}
