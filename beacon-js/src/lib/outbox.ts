import type { Drop } from '../types';
import { parse } from './parse';

/** Bodies kept at most… */
export const MAX_OUTBOX_BODIES = 50;
/** …and characters in all (localStorage holds about 5 M characters per origin, shared with the site). */
export const MAX_OUTBOX_CHARS = 300000;

export interface Outbox {
  /** Bodies waiting, oldest first. */
  list(): string[];
  /** Adds a body; a full outbox drops its oldest bodies, counting their events as `queue_full`. */
  add(body: string): void;
  remove(body: string): void;
  /**
   * Whether the last send got an answer from the collector (kept across page loads), or
   * undefined before the first answer ever; sets it when given.
   */
  healthy(ok?: boolean): boolean | undefined;
}

/**
 * The bodies the collector has not yet accepted, in storage under `key` so they outlive
 * the page: every body is written here before it is sent, and removed once the collector
 * answered for good (lib/transport.ts). Stored as `{"q": [bodies…], "ok": bool}` and read
 * back at every step, so what another tab of the site added or removed is seen too.
 */
export function createOutbox(
  key: string,
  drop: Drop,
  get: (key: string) => string | null,
  set: (key: string, value: string) => void,
  maxBodies = MAX_OUTBOX_BODIES,
  maxChars = MAX_OUTBOX_CHARS,
): Outbox {
  const read = (): { q: string[]; ok?: boolean } => {
    const s = parse(get(key));
    return s && Array.isArray(s.q) ? s : { q: [] };
  };
  // Reads, changes and writes back the stored outbox; `change` returns what to answer.
  const update = <R>(change: (s: { q: string[]; ok?: boolean }) => R): R => {
    const s = read();
    const result = change(s);
    set(key, JSON.stringify(s));
    return result;
  };
  return {
    list: () => read().q,
    add: (body) =>
      update((s) => {
        let chars = s.q.push(body) && s.q.join('').length;
        while (s.q.length > maxBodies || chars > maxChars) {
          const old = s.q.shift()!;
          chars -= old.length;
          drop('queue_full', eventCount(old));
        }
      }),
    remove: (body) => update((s) => s.q.indexOf(body) >= 0 && s.q.splice(s.q.indexOf(body), 1)),
    healthy: (ok) => (ok === undefined ? read().ok : update((s) => (s.ok = ok))),
  };
}

/** How many events a stored body carries. */
export const eventCount = (body: string): number => parse(body)?.events.length || 0;
