import type { Phases, Timing } from '../types';
import type { Nav } from './nav';
import { ms } from './ms';

/**
 * A request's phases from its Navigation or Resource Timing entry (docs/protocol.md, events
 * "pageview" and "slow_request"): DNS lookup, TCP connect (TLS included), TLS handshake
 * (only over https), and time to first byte counted from the request's start (a
 * navigation starts at 0). TTFB's attribution (lib/attribution.ts) reuses DNS and connect.
 */
export const timing = (n: PerformanceResourceTiming): Timing => ({
  dns: ms(n.domainLookupEnd - n.domainLookupStart),
  connect: ms(n.connectEnd - n.connectStart),
  tls: n.secureConnectionStart ? ms(n.connectEnd - n.secureConnectionStart) : undefined,
  ttfb: ms(n.responseStart - n.startTime),
});

/** A page view's phases: the navigation's timing, then DOM interactive and load event end counted from its start. */
export const phases = (n: Nav): Phases => ({ ...timing(n), dom_interactive: ms(n.domInteractive), load: ms(n.loadEventEnd) });
