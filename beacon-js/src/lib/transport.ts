import type { Send } from '../types';

/**
 * Returns a sender for `url` that POSTs a body as `text/plain` (a CORS "simple" request,
 * so no preflight): `navigator.sendBeacon` first, since it survives the page unloading;
 * `fetch` with `keepalive` if sendBeacon is missing or refuses (over its quota); a plain
 * `fetch` if that fails too.
 *
 * Both are captured now, at start, so instrumentation that later wraps fetch never sees
 * the beacon's own requests. Failures are swallowed: a lost batch must not hurt the page.
 */
export function createTransport(url: string): Send {
  const nav = typeof navigator !== 'undefined' ? navigator : undefined;
  const beacon = nav && typeof nav.sendBeacon === 'function' ? nav.sendBeacon.bind(nav) : undefined;
  const nativeFetch = typeof fetch === 'function' ? fetch.bind(globalThis) : undefined;

  return (body: string): void => {
    try {
      // A string body goes out as text/plain;charset=UTF-8.
      if (beacon && beacon(url, body)) return;
    } catch {
      // Some browsers throw instead of returning false; try fetch.
    }
    if (!nativeFetch) return;
    const post = (keepalive: boolean): Promise<unknown> =>
      nativeFetch(url, {
        method: 'POST',
        body,
        keepalive,
        credentials: 'omit',
        headers: { 'Content-Type': 'text/plain;charset=UTF-8' },
      });
    try {
      // keepalive fetch shares sendBeacon's 64 KiB in-flight quota, so when a flush sends
      // several full batches it rejects too; a plain fetch then carries the batch while the
      // page stays open. The last catch ends the chain: no rejection ever reaches the page.
      post(true)
        .catch(() => post(false))
        .catch(() => undefined);
    } catch {
      // fetch can throw synchronously (e.g. a malformed URL); nothing more to try.
    }
  };
}
