import { newEvent } from './lib/event';
import { guarded } from './lib/guard';
import { onUrlChange } from './lib/history';
import { nav, type Nav } from './lib/nav';
import { onHidden } from './lib/onHidden';
import { phases } from './lib/phases';
import { redactUrl } from './lib/redact';
import type { Client } from './types';

/**
 * One page view per page load, sent once the load event has finished so that its
 * navigation timing is complete (`loadEventEnd` > 0), or when the page is hidden or left
 * before that (with the phases reached so far); one per restore from the back/forward cache
 * (`back_forward`, no phases); and one per route change of a single-page app whose
 * redacted URL changed (a new fragment or a new redacted query value alone is not a new
 * page), with the previous URL as referrer.
 */
export function watchPageviews(client: Client): void {
  let sent = false;
  const view = (navigation: string, from = document.referrer, n?: Nav): void =>
    client.capture(newEvent('pageview', { navigation, referrer: redactUrl(from), ...(n && phases(n)) }));
  // A task after the load event: its handlers have returned, so loadEventEnd is set (also
  // when the beacon itself was started by a load handler, with readyState already complete).
  const loaded = (): void => {
    const n = nav();
    if (!sent) view(n?.type || 'navigate', undefined, n);
    sent = true;
  };
  const later = (): unknown => setTimeout(guarded(loaded));
  if (document.readyState === 'complete') later();
  else addEventListener('load', later);
  // Before the client's own hide handler (start.ts), so the view goes with the hide's flush.
  onHidden(loaded);
  addEventListener(
    'pageshow',
    guarded((e: PageTransitionEvent) => e.persisted && view('back_forward')),
  );

  onUrlChange((from, to) => {
    if (redactUrl(from) !== redactUrl(to)) view('route_change', from);
  });
}
