import { toBodies } from './lib/batch';
import { clip } from './lib/clip';
import { addCrumb } from './lib/crumbs';
import { createFlood } from './lib/flood';
import { hashUser } from './lib/hash';
import { MAX_KEY, MAX_NAME, MAX_TAGS } from './lib/limits';
import { createQueue } from './lib/queue';
import { touchSession } from './lib/session';
import { forget } from './lib/storage';
import { createTransport, eventsPath } from './lib/transport';
import { truncate } from './lib/truncate';
import type { BeaconEvent, Breadcrumb, Client, Config, Dropped, Session } from './types';
import { SDK } from './version';

/** Events held in memory while consent is pending. */
const MAX_HELD = 100;

/**
 * The beacon's running state: every captured event passes consent, sampling and flood
 * control, waits in the queue, and leaves in batches (lib/batch.ts) through the outbox
 * (lib/outbox.ts) and the transport (lib/transport.ts).
 *
 * Consent (`requireConsent`): until `consent(true)` (or `'true'`) nothing is stored or sent;
 * events wait in memory (at most MAX_HELD) and go once consent is given. Any other value
 * (`false`, `'false'`, …) refuses: what waits is discarded, and so is whatever comes after.
 * The queue is emptied and the outbox, the session and the tab id are deleted from storage,
 * also when consent was given before (withdrawn) or on an earlier page.
 */
export function createClient(config: Config, src: string): Client {
  // true: go; undefined: consent pending; false: refused.
  let consented: boolean | undefined = !config.requireConsent || undefined;
  let held: BeaconEvent[] = [];
  let dropped: Dropped = {};
  let user: string | undefined;
  // setUser calls so far: a hash that arrives after a later call is dropped.
  let users = 0;
  let hiding = false;
  // The session of the last event admitted (every queued event was).
  let session: Session;
  // No prototype: a tag named `constructor` is a tag like any other.
  const tags: Record<string, string> = Object.create(null);
  const drop = (reason: string, n = 1): void => {
    dropped[reason] = (dropped[reason] || 0) + n;
  };
  const crumbs: Breadcrumb[] = [];
  const flood = createFlood();
  const transport = createTransport(config, drop, () => !!consented);

  const queue = createQueue<BeaconEvent>((events) => {
    // Consent withdrawn: what was queued is discarded.
    if (!consented) return;
    const bodies = toBodies(events, {
      release: config.release,
      environment: config.environment,
      session_id: session.id,
      user_id: user,
      tags,
      dropped,
      sdk: SDK,
    });
    dropped = {};
    bodies.forEach(transport.add);
    if (!hiding) transport.pump();
  });

  const admit = (event: BeaconEvent): void => {
    const s = (session = touchSession(config));
    // An unsampled session sends nothing but errors, which have their own rate.
    if (event.type === 'error' ? s.error_sampled : s.sampled) {
      const reason = flood(event);
      if (reason) drop(reason);
      else queue.push(clip(event));
    }
  };

  // What earlier page loads left in the outbox goes now (once consent is given, if needed).
  transport.pump();

  return {
    capture(event) {
      // A copy: later crumbs do not change what an event already carries.
      if (event.type === 'error') event.breadcrumbs = crumbs.slice();
      if (consented) admit(event);
      else if (consented === undefined && held.push(event) > MAX_HELD) {
        held.shift();
        drop('queue_full');
      }
    },
    crumb: (category, message, level) => addCrumb(crumbs, category, message, level),
    // The collectors' events URLs (whatever the query) and the beacon's own script; the
    // site's other URLs are the site's.
    own: (url) => config.bases.map((base) => base + eventsPath(config)).concat(src || []).some((prefix) => url.startsWith(prefix)),
    flush() {
      queue.flush();
      transport.pump();
    },
    hide() {
      hiding = true;
      queue.flush();
      hiding = false;
      transport.hide();
    },
    setUser(id) {
      // Only the hash is sent, from when it is ready; none where crypto.subtle is missing.
      const mine = ++users;
      user = undefined;
      if (id != null && id !== '') hashUser(config.key, id as string).then((hash) => mine === users && (user = hash), () => {});
    },
    setTag(key, value) {
      const k = truncate(String(key), MAX_KEY);
      if (value == null) delete tags[k];
      else if (k && (k in tags || Object.keys(tags).length < MAX_TAGS)) tags[k] = truncate(String(value), MAX_NAME);
    },
    consent(granted) {
      consented = String(granted) === 'true';
      const waiting = held;
      held = [];
      if (consented) {
        waiting.forEach(admit);
        transport.pump();
      } else {
        // Refused or withdrawn: empty the queue (its callback discards now) and forget what
        // this page or an earlier one stored.
        queue.flush();
        transport.clear();
        forget();
      }
    },
  };
}
