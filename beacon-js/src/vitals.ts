import { onCLS, onFCP, onINP, onLCP, onTTFB, type MetricType } from 'web-vitals';
import { attribute } from './lib/attribution';
import { newEvent } from './lib/event';
import { guarded } from './lib/guard';
import { MAX_MS } from './lib/limits';
import type { Client } from './types';

/**
 * Reports the Core Web Vitals (LCP, INP, CLS, FCP, TTFB) with web-vitals' default reporting:
 * a metric is reported when final, or when the page is hidden while it can still grow.
 * Every report of one metric carries web-vitals' id as `metric_id`, so the server keeps the
 * last. The standard build keeps the beacon within budget; lib/attribution.ts adds the why.
 */
export function watchVitals(client: Client): void {
  const report = guarded((m: MetricType) => {
    client.capture(
      newEvent('vital', {
        name: m.name,
        value: Math.min(m.value, MAX_MS),
        rating: m.rating,
        metric_id: m.id,
        delta: m.delta,
        navigation_type: m.navigationType,
        attribution: attribute(m),
      }),
    );
  });
  onCLS(report);
  onFCP(report);
  onINP(report);
  onLCP(report);
  onTTFB(report);
}
