import { onCLS, onFCP, onINP, onLCP, onTTFB, type MetricType } from 'web-vitals';
import { attribute, type Entry } from './lib/attribution';
import { observe } from './lib/observe';
import { newEvent } from './lib/event';
import { guarded } from './lib/guard';
import { MAX_MS } from './lib/limits';
import type { Client } from './types';

/**
 * Reports the Core Web Vitals (LCP, INP, CLS, FCP, TTFB) with web-vitals' default reporting:
 * a metric is reported when final, or when the page is hidden while it can still grow.
 * Every report of one metric carries web-vitals' id as `metric_id`, so the server keeps the
 * last. The standard build keeps the beacon within budget; lib/attribution.ts adds the why.
 * web-vitals' rating and delta are not sent: the server rates each value against the same
 * published thresholds, and keeps a metric's last value rather than adding up deltas.
 */
export function watchVitals(client: Client): void {
  // By interaction, the event whose handlers ran last (lib/attribution.ts, INP): web-vitals
  // keeps only the events of the longest duration and earliest start (pointerdown), not the
  // click whose handler took the time. An interaction's events are dispatched, and reported
  // here, in order, so the last one seen is kept. At most 100 entries, then it starts over.
  const events = new Map<number, Entry>();
  const report = guarded((m: MetricType) => {
    client.capture(
      newEvent('vital', {
        name: m.name,
        value: Math.min(m.value, MAX_MS),
        metric_id: m.id,
        navigation_type: m.navigationType,
        attribution: attribute(m, events),
      }),
    );
  });
  onCLS(report);
  onFCP(report);
  onINP(report);
  onLCP(report);
  onTTFB(report);
  observe(
    'event',
    (entries: Entry[]) => {
      for (const e of entries) events.size > 99 ? events.clear() : events.set(e.interactionId!, e);
    },
    { durationThreshold: 40 },
  );
}
