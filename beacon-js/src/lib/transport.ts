import type { Config, Drop } from '../types';
import { backoff, MAX_WAIT_MS } from './backoff';
import { byteLength } from './byteLength';
import { guarded } from './guard';
import { KEEPALIVE_BYTES, SEND_TIMEOUT_MS } from './limits';
import { eventCount, loadOutbox, saveOutbox, trim, type Outbox } from './outbox';
import { tabId } from './storage';

export interface Transport {
  /** Writes a body to the outbox (the next pump sends it). */
  add(body: string): void;
  /** Sends what the outbox holds, unless waiting for a retry. */
  pump(): void;
  /** The page may be going away: hand the outbox over in a way that outlives it. */
  hide(): void;
  /** Forgets the outbox in memory (consent withdrawn; the client deletes the stored one). */
  clear(): void;
}

/** The path of the events URL under a collector base: `/api/{project}/events`. */
export const eventsPath = (config: Config): string => `/api/${encodeURIComponent(config.project)}/events`;

/**
 * Delivers the outbox's bodies (lib/outbox.ts) to the collector (docs/protocol.md,
 * "Answers"). Every body is written to the outbox before it is sent and stays there until
 * the collector answered for good, so a page that goes away loses nothing: the next page
 * load of the tab (or of the site, lib/outbox.ts) sends it. The outbox is read from storage
 * once, at first use (after consent), then kept in memory and written through.
 *
 * - 2xx: delivered. 400, 403, 413: a retry would get the same answer, so the body is
 *   removed and its events counted as `rejected` in the next batch's `dropped`.
 * - Anything else (429, 5xx, 404…, a network error, no answer within SEND_TIMEOUT_MS): the
 *   body stays; retry after exponential backoff with jitter, never sooner than
 *   `Retry-After` (lib/backoff.ts). Except on 429, the next collector URL takes over. The
 *   retry time, the failures in a row and the URL in use are stored with the outbox, so they
 *   hold across page loads. While retrying, one body goes at a time, as a probe.
 * - Bodies go as text/plain (no CORS preflight), without credentials, with `keepalive`
 *   while the bytes in flight (every send's, sendBeacon's included) stay within the
 *   browsers' 64 KiB keepalive budget.
 * - When the page is hidden or left, unless retrying: sendBeacon, within the same budget.
 *   What it took stays in the outbox (sendBeacon never tells whether it arrived): the next
 *   page load sends it again, with the same ids for the server to drop, or this page does
 *   if it lives on and sends again (SEND_TIMEOUT_MS later at the earliest). What it did
 *   not take goes by fetch.
 *
 * `post` and `beacon` are the native fetch and sendBeacon as found at start, before any
 * instrumentation (network.ts, the page's own) wraps them: no wrapper sees the beacon's
 * requests and the beacon never reports itself.
 */
export function createTransport(
  config: Config,
  drop: Drop,
  allowed: () => boolean,
  post: typeof fetch = fetch.bind(window),
  beacon: (url: string, body: string) => boolean = navigator.sendBeacon.bind(navigator),
): Transport {
  const prefix = 'vigil.outbox.' + config.project;
  let key = '';
  let box: Outbox | undefined;
  // Bodies in flight: by fetch until answered; by sendBeacon for SEND_TIMEOUT_MS, then
  // this page may send them again (on the next pump).
  const inflight = new Set<string>();
  let bytes = 0;
  let timer: ReturnType<typeof setTimeout> | 0 = 0;
  const path = eventsPath(config) + '?key=' + encodeURIComponent(config.key);
  const url = (): string => config.bases[state().i % config.bases.length] + path;
  // Called after state(), so the outbox is loaded.
  const save = (): void => saveOutbox(key, box!);

  const state = (): Outbox => {
    if (!box) {
      box = loadOutbox(prefix, (key = prefix + '.' + tabId()));
      add();
    }
    return box;
  };

  const add = (body?: string): void => {
    const q = state().q;
    if (body) q.push(body);
    trim(q, drop);
    save();
  };

  const pump = (): void => {
    clearTimeout(timer as number);
    timer = 0;
    if (allowed()) {
      const s = state();
      const wait = s.r - Date.now();
      if (wait > 0) timer = setTimeout(guarded(pump), Math.min(wait, MAX_WAIT_MS));
      else
        for (const body of s.q) {
          // While retrying, one body at a time.
          if (s.a && inflight.size) return;
          if (!inflight.has(body)) send(body);
        }
    }
  };

  const send = (body: string): void => {
    const size = byteLength(body);
    const keepalive = bytes + size <= KEEPALIVE_BYTES;
    // `status` is the answer's, or the rejection's reason (a network error, the timeout):
    // no status at all, so a failure.
    const done = guarded((status: number, retryAfter?: string | null): void => {
      inflight.delete(body);
      bytes -= size;
      // Consent withdrawn meanwhile: the outbox is gone and stays gone.
      if (allowed()) {
        const s = state();
        if (/^(2..|40[03]|413)$/.test(status as any)) {
          s.r = s.a = 0;
          s.q = s.q.filter((b) => b !== body);
          if (status > 299) drop('rejected', eventCount(body));
        } else if (!(s.r > Date.now())) {
          // The first failure of a round (others in flight fail alike) moves on and waits.
          if (status !== 429) s.i++;
          s.r = Date.now() + backoff(s.a++, retryAfter);
        }
        save();
        pump();
      }
    });
    inflight.add(body);
    bytes += size;
    post(url(), { method: 'POST', body, keepalive, credentials: 'omit', signal: AbortSignal.timeout?.(SEND_TIMEOUT_MS) }).then(
      (r) => done(r.status, r.headers.get('Retry-After')),
      done,
    );
  };

  return {
    add,
    pump,
    hide() {
      if (allowed() && !state().a)
        for (const body of state().q) {
          const size = byteLength(body);
          if (!inflight.has(body) && bytes + size <= KEEPALIVE_BYTES && beacon(url(), body)) {
            inflight.add(body);
            bytes += size;
            setTimeout(
              guarded(() => {
                inflight.delete(body);
                bytes -= size;
                pump();
              }),
              SEND_TIMEOUT_MS,
            );
          }
        }
      pump();
    },
    clear() {
      box = undefined;
    },
  };
}
