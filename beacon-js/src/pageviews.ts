import { newEvent } from './lib/event';
import { guarded } from './lib/guard';
import { onUrlChange } from './lib/history';
import { nav } from './lib/nav';
import { phases } from './lib/phases';
import { redactUrl } from './lib/redact';
import type { Client } from './types';

/**
 * One page view per page load, sent once the load event has finished so that its
 * navigation timing is complete (`loadEventEnd` > 0), and one per route change of a
 * single-page app whose path or query changed (a new fragment alone is not a new page),
 * with the previous URL as referrer.
 */
export function watchPageviews(client: Client): void {
  // A task after the load event: its handlers have returned, so loadEventEnd is set (also
  // when the beacon itself was started by a load handler, with readyState already complete).
  const loaded = guarded((): void => {
    const n = nav();
    client.capture(newEvent('pageview', { navigation: n?.type || 'navigate', referrer: redactUrl(document.referrer), ...(n && phases(n)) }));
  });
  if (document.readyState === 'complete') setTimeout(loaded);
  else addEventListener('load', () => setTimeout(loaded));

  onUrlChange((from, to) => {
    if (from.split('#')[0] !== to.split('#')[0]) client.capture(newEvent('pageview', { navigation: 'route_change', referrer: redactUrl(from) }));
  });
}
