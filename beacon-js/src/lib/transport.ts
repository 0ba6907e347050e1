import type { Config, Drop } from '../types';
import { backoff } from './backoff';
import { byteLength } from './byteLength';
import { guarded } from './guard';
import { KEEPALIVE_BYTES } from './limits';
import { eventCount, type Outbox } from './outbox';

export interface Transport {
  /** Sends what the outbox holds, unless waiting for a retry. */
  pump(): void;
  /** The page may be going away: hand the outbox over in a way that outlives it. */
  hide(): void;
}

/**
 * Delivers the outbox's bodies to the collector (docs/protocol.md, "Answers").
 *
 * - 2xx: delivered. 400, 403, 413: a retry would get the same answer, so the body is
 *   removed and its events counted as `rejected` in the next batch's `dropped`.
 * - 429, 5xx, network error: the body stays; retry after exponential backoff with jitter
 *   or `Retry-After` (lib/backoff.ts); on 5xx and network errors move to the next collector
 *   URL. While retrying, one body goes at a time, as a probe.
 * - Bodies go as text/plain (no CORS preflight), without credentials, with `keepalive`
 *   while the bytes in flight stay within the browsers' 64 KiB keepalive budget.
 * - When the page is hidden or left: if the last send got an answer (or, before any send,
 *   the page load's probe did) and the browser is online, sendBeacon, and what it accepted
 *   leaves the outbox (no duplicate on the next load); otherwise the bodies stay in the
 *   outbox for the next page load and a keepalive fetch is tried anyway, removing them if
 *   the page lives to see it succeed.
 *
 * `post` and `beacon` are the native fetch and sendBeacon as found at start, before any
 * instrumentation (network.ts, the page's own) wraps them: no wrapper sees the beacon's
 * requests and the beacon never reports itself.
 */
export function createTransport(
  config: Config,
  box: Outbox,
  drop: Drop,
  allowed: () => boolean,
  post: typeof fetch = fetch.bind(window),
  beacon: (url: string, body: string) => boolean = navigator.sendBeacon.bind(navigator),
): Transport {
  const inflight = new Set<string>();
  let index = 0;
  let attempt = 0;
  let bytes = 0;
  let probed = 0;
  let timer: ReturnType<typeof setTimeout> | 0 = 0;
  const path = `/api/${encodeURIComponent(config.project)}/events?key=${encodeURIComponent(config.key)}`;
  const url = (): string => config.bases[index] + path;

  const pump = (): void => {
    clearTimeout(timer as number);
    timer = 0;
    if (allowed()) {
      // Unless the last send was answered, ask once per page load whether the collector is
      // there (any answer will do: no-cors, nothing read), so that leaving the page soon
      // after knows whether sendBeacon may carry what is queued.
      if (!box.healthy() && !probed++) post(url(), { mode: 'no-cors' }).then(() => box.healthy(true), () => box.healthy(false));
      for (const body of box.list()) {
        if (!inflight.has(body)) {
          send(body);
          if (attempt) return;
        }
      }
    }
  };

  const send = (body: string): void => {
    const size = byteLength(body);
    const keepalive = bytes + size <= KEEPALIVE_BYTES;
    const done = guarded((status: number, retryAfter?: string | null): void => {
      inflight.delete(body);
      if (keepalive) bytes -= size;
      box.healthy(!!status && status < 500 && status !== 429);
      if ((status >= 200 && status < 300) || status === 400 || status === 403 || status === 413) {
        box.remove(body);
        attempt = 0;
        if (status > 299) drop('rejected', eventCount(body));
        pump();
      } else if (!timer) {
        if (!status || status > 499) index = (index + 1) % config.bases.length;
        timer = setTimeout(guarded(pump), backoff(attempt++, retryAfter));
      }
    });
    inflight.add(body);
    if (keepalive) bytes += size;
    post(url(), { method: 'POST', body, keepalive, credentials: 'omit' }).then(
      (r) => done(r.status, r.headers.get('Retry-After')),
      () => done(0),
    );
  };

  return {
    pump: () => timer || pump(),
    hide() {
      if (allowed() && !attempt && box.healthy() && navigator.onLine !== false)
        for (const body of box.list()) if (!inflight.has(body) && beacon(url(), body)) box.remove(body);
      // What sendBeacon did not take: a keepalive fetch now, even while backing off.
      pump();
    },
  };
}
