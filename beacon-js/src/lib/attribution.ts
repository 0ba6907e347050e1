import type { MetricType } from 'web-vitals';
import type { Attribution } from '../types';
import { MAX_CRUMB } from './limits';
import { ms } from './ms';
import { nav, type Nav } from './nav';
import { timing } from './phases';
import { redactUrl } from './redact';
import { selector } from './selector';
import { truncate } from './truncate';

/** Timing fields of the entries web-vitals reports, read loosely: lib.dom lacks some of them. */
export interface Entry {
  name: string;
  interactionId?: number;
  startTime: number;
  duration: number;
  processingStart: number;
  processingEnd: number;
  target?: Node | null;
  element?: Element | null;
  url?: string;
  value: number;
  sources?: { node?: Node | null }[];
  requestStart?: number;
  responseEnd?: number;
}

/**
 * What caused a metric's value, worked out from `metric.entries` and Navigation / Resource
 * Timing with the standard web-vitals build, instead of its attribution build (~2.6 KB
 * more, a third of the beacon's budget). Keys are docs/protocol.md's "Attribution keys";
 * the phases of LCP, INP, FCP and TTFB add up to the value as in web-vitals' attribution.
 * Returns undefined when the metric has no entries (e.g. a bfcache restore).
 */
export function attribute(
  m: MetricType,
  events: Map<number, Entry>,
  n: Nav | undefined = nav(),
  resource = (url: string) => performance.getEntriesByName(url)[0],
): Attribution | undefined {
  const entries = m.entries as unknown as Entry[];
  if (!entries.length) return undefined;
  // Times relative to the activation of a prerendered page, as web-vitals measures them.
  const t0 = n?.activationStart || 0;
  const ttfb = ms(n?.responseStart! - t0);
  const last = entries[entries.length - 1]!;
  switch (m.name) {
    case 'TTFB': {
      // The navigation entry itself: redirects, service worker and cache, then the phases.
      const t = last as unknown as Nav;
      const { dns, connect } = timing(t);
      return { waiting: ms(t.domainLookupStart - t0), dns, connect, request: ms(t.responseStart - t.connectEnd) };
    }
    case 'FCP':
      return { ttfb, render_delay: ms(m.value - ttfb) };
    case 'LCP': {
      // The image's request: after TTFB, cut to the LCP time; a text LCP has none.
      const r = last.url && (resource(last.url) as unknown as Entry | undefined);
      const start = Math.max(ttfb, r ? (r.requestStart || r.startTime) - t0 : 0);
      const end = Math.min(m.value, Math.max(start, r ? r.responseEnd! - t0 : 0));
      return {
        target: selector(last.element),
        url: last.url ? truncate(redactUrl(last.url), MAX_CRUMB) : undefined,
        ttfb,
        load_delay: ms(start - ttfb),
        load_duration: ms(end - start),
        render_delay: ms(m.value - end),
      };
    }
    case 'INP': {
      // web-vitals keeps the interaction's events of the longest duration and the same start:
      // often pointerdown only, while the handler ran in click. Input delay of the first;
      // processing from its handlers to the end of the handlers that ended last (`x`, by
      // interaction in `events`, vitals.ts; named as `event`); presentation from there to
      // the next paint.
      const e = entries[0]!;
      const x = events.get(e.interactionId!) || e;
      return {
        target: selector(x.target),
        event: x.name,
        input_delay: ms(e.processingStart - e.startTime),
        processing: ms(x.processingEnd - e.processingStart),
        presentation: ms(e.startTime + e.duration - x.processingEnd),
      };
    }
    default: {
      // CLS: the largest layout shift and the first element it moved.
      const e = entries.reduce((a, b) => (b.value > a.value ? b : a));
      return { target: selector(e.sources?.find((s) => s.node)?.node), largest_shift_value: e.value, largest_shift_time: ms(e.startTime) };
    }
  }
}

