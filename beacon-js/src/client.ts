import { toBodies } from './lib/batch';
import { clip } from './lib/clip';
import { createCrumbs } from './lib/crumbs';
import { createFlood } from './lib/flood';
import { hashUser } from './lib/hash';
import { MAX_KEY, MAX_NAME, MAX_TAGS } from './lib/limits';
import { createOutbox } from './lib/outbox';
import { createQueue } from './lib/queue';
import { touchSession } from './lib/session';
import { getItem, setItem } from './lib/storage';
import { createTransport } from './lib/transport';
import { truncate } from './lib/truncate';
import type { BeaconEvent, Client, Config, Dropped } from './types';
import { SDK } from './version';

/** Events held in memory while consent is pending. */
const MAX_HELD = 100;

/**
 * The beacon's running state: every captured event passes consent, sampling and flood
 * control, waits in the queue, and leaves in batches (lib/batch.ts) through the outbox
 * (lib/outbox.ts) and the transport (lib/transport.ts).
 *
 * Consent (`requireConsent`): until `consent(true)` nothing is stored or sent; events wait
 * in memory (at most MAX_HELD) and go once consent is given; `consent(false)` discards them
 * and whatever comes after.
 */
export function createClient(config: Config, own: string[]): Client {
  // true: go; undefined: consent pending; false: refused.
  let consented: boolean | undefined = !config.requireConsent || undefined;
  let held: BeaconEvent[] = [];
  let dropped: Dropped = {};
  let user: string | undefined;
  let hiding = false;
  const tags: Record<string, string> = {};
  const drop = (reason: string, n = 1): void => {
    dropped[reason] = (dropped[reason] || 0) + n;
  };
  const crumbs = createCrumbs();
  const flood = createFlood();
  const box = createOutbox('vigil.outbox.' + config.project, drop, getItem, setItem);
  const transport = createTransport(config, box, drop, () => !!consented);

  const queue = createQueue<BeaconEvent>((events) => {
    const bodies = toBodies(events, {
      release: config.release,
      environment: config.environment,
      session_id: touchSession(config).id,
      user_id: user,
      tags: { ...tags },
      dropped,
      sdk: SDK,
    });
    dropped = {};
    bodies.forEach(box.add);
    if (!hiding) transport.pump();
  });

  const admit = (event: BeaconEvent): void => {
    const s = touchSession(config);
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
      if (event.type === 'error') event.breadcrumbs = crumbs.list();
      if (consented) admit(event);
      else if (consented === undefined && held.push(event) > MAX_HELD) {
        held.shift();
        drop('queue_full');
      }
    },
    crumb: crumbs.add,
    own: (url) => own.some((prefix) => url.startsWith(prefix)),
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
      // Only the hash is sent, from when it is ready.
      user = undefined;
      if (id != null && id !== '') hashUser(config.key, String(id)).then((hash) => (user = hash.slice(0, 64)));
    },
    setTag(key, value) {
      const k = truncate(String(key), MAX_KEY);
      if (value == null) delete tags[k];
      else if (k && (k in tags || Object.keys(tags).length < MAX_TAGS)) tags[k] = truncate(String(value), MAX_NAME);
    },
    consent(granted) {
      consented = !!granted;
      const waiting = held;
      held = [];
      if (consented) {
        waiting.forEach(admit);
        transport.pump();
      }
    },
  };
}
