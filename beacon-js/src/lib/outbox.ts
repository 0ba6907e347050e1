import type { Drop } from '../types';
import { parse } from './parse';
import { getItem, keys, removeItem, setItem } from './storage';

/** Bodies kept at most… */
export const MAX_OUTBOX_BODIES = 50;
/** …and characters in all (localStorage holds about 5 M characters per origin, shared with the site). */
export const MAX_OUTBOX_CHARS = 300000;
/** Another tab's outbox untouched this long is taken over: that tab is closed, or idle. */
export const STALE_MS = 60000;

/**
 * An outbox: the bodies the collector has not yet accepted, oldest first, and the
 * transport's retry state (lib/transport.ts). Stored as JSON with `t`, when it was written
 * (ms since the epoch).
 */
export interface Outbox {
  q: string[];
  /** Nothing is sent before this time (backoff, Retry-After; ms since the epoch). */
  r: number;
  /** Sends that failed in a row. */
  a: number;
  /** Which collector URL is in use (an index into Config.bases, modulo its length). */
  i: number;
}

/**
 * Each tab has an outbox of its own, in storage under `<prefix>.<tab id>` (lib/storage.ts),
 * so that tabs never overwrite each other's and a reload in the same tab finds it again.
 * Reads this tab's, `key`, and merges in (and deletes) every other outbox of the prefix
 * untouched for STALE_MS: a closed tab's, or the one-key form `<prefix>` of earlier
 * versions, so none is left behind.
 */
export function loadOutbox(prefix: string, key: string): Outbox {
  const box: Outbox = { q: [], r: 0, a: 0, i: 0 };
  for (const k of keys()) {
    // `<prefix>` and `<prefix>.*`, not the keys of project 12 when this is project 1.
    const o = (k + '.').startsWith(prefix + '.') && parse(getItem(k));
    if (o && (k === key || !(Date.now() - o.t < STALE_MS))) {
      // The retry state of the last one read counts (a stale tab's may be the later).
      Object.assign(box, o, { q: box.q.concat(o.q || []) });
      if (k !== key) removeItem(k);
    }
  }
  return box;
}

/** Stores the outbox under `key`, with the time. */
export const saveOutbox = (key: string, box: Outbox): void => setItem(key, JSON.stringify({ ...box, t: Date.now() }));

/** Drops the oldest bodies beyond the bounds, counting their events as `queue_full`. */
export function trim(q: string[], drop: Drop, maxBodies = MAX_OUTBOX_BODIES, maxChars = MAX_OUTBOX_CHARS): void {
  let chars = q.join('').length;
  while (q.length > maxBodies || chars > maxChars) {
    const old = q.shift()!;
    chars -= old.length;
    drop('queue_full', eventCount(old));
  }
}

/** How many events a stored body carries. */
export const eventCount = (body: string): number => parse(body)?.events?.length || 0;
