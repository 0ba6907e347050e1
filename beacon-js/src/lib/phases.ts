import type { Phases } from '../types';
import type { Nav } from './nav';
import { ms } from './ms';

/**
 * A page view's navigation timing phases (docs/protocol.md, event "pageview"): DNS lookup,
 * TCP connect (TLS included), TLS handshake (only over https), and time to first byte,
 * DOM interactive and load event end counted from the navigation start. TTFB's attribution
 * (lib/attribution.ts) reuses DNS and connect.
 */
export const phases = (n: Nav): Phases => ({
  dns: ms(n.domainLookupEnd - n.domainLookupStart),
  connect: ms(n.connectEnd - n.connectStart),
  tls: n.secureConnectionStart ? ms(n.connectEnd - n.secureConnectionStart) : undefined,
  ttfb: ms(n.responseStart),
  dom_interactive: ms(n.domInteractive),
  load: ms(n.loadEventEnd),
});
