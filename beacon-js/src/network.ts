import { classify } from './lib/classify';
import { newEvent } from './lib/event';
import { guarded } from './lib/guard';
import { ms } from './lib/ms';
import { redactUrl } from './lib/redact';
import { wrap } from './lib/wrap';
import type { Client } from './types';

/**
 * Captures failed requests of the page: `fetch` and `XMLHttpRequest`, wrapped. A failure is
 * a network error, a timeout, an abort or an HTTP status ≥ 400 (lib/classify.ts); it becomes
 * a `network` event and a breadcrumb. Requests to the collector are never reported (the
 * beacon itself sends with the fetch it found before this wrapper, lib/transport.ts).
 *
 * The wrappers change little the page can see: the original is called first with the same
 * `this` and arguments, and what it returns is returned (fetch: a promise that settles as the
 * original does, so an unhandled rejection is still the page's), and no body is ever read.
 * Everything the beacon does with the arguments happens later, inside `guarded`, so odd
 * arguments cannot make the wrapper throw. An abort counts as one whatever its reason
 * (`controller.abort(new Error())` too).
 */
/** A request as the page made it: method, URL, start time. */
type Call = [method: unknown, url: unknown, start: number];

export function watchNetwork(client: Client): void {
  // Called inside a guard. `response` is the Response or the XHR, none for a rejection.
  const report = (api: 'fetch' | 'xhr', [method, url, start]: Call, outcome: string, response?: { status: number }): void => {
    const status = response?.status || 0;
    const failure = classify(outcome, status);
    let u = String(url);
    try {
      u = new URL(u, location.href).href;
    } catch {
      // left as given
    }
    if (!failure || client.own(u)) return;
    const m = String(method || 'GET').toUpperCase();
    u = redactUrl(u);
    client.crumb(api, `${m} ${u} ${status || failure[0]}`, 'error');
    client.capture(
      newEvent('network', { api, method: m, url: u, status, duration: ms(Date.now() - start), failure: failure[0], nel_phase: failure[1], nel_type: failure[2] }),
    );
  };

  wrap(window, 'fetch', (original) =>
    function (this: unknown, input: any, init: any) {
      const start = Date.now();
      const p = original.apply(this, arguments);
      // A Request carries method, URL and signal; init overrides them. An abort rejects with
      // the signal's reason: an AbortError, the page's own reason (still an abort), or
      // AbortSignal.timeout()'s TimeoutError (lib/classify.ts).
      const done = guarded((response?: Response, e?: any) =>
        report('fetch', [init?.method || input?.method, input?.url || input, start], response ? 'load' : (init?.signal || input?.signal)?.aborted && e?.name !== 'TimeoutError' ? 'abort' : e?.name, response),
      );
      // A promise of its own, settled as the page's: a rejection the page leaves unhandled
      // still raises the page's unhandledrejection.
      return p?.then ? p.then((r: Response) => (done(r), r), (e: unknown) => { done(undefined, e); throw e; }) : p;
    },
  );

  // open() names the request and starts its clock (send() follows at once in practice);
  // one set of listeners per XHR object, added after the page's call went through.
  const xhrs = new WeakMap<XMLHttpRequest, Call>();
  const onEnd = guarded((event: Event): void => {
    const xhr = event.target as XMLHttpRequest;
    report('xhr', xhrs.get(xhr)!, event.type, xhr);
  });
  wrap(XMLHttpRequest.prototype, 'open', (original) =>
    function (this: XMLHttpRequest, method: unknown, url: unknown) {
      const result = original.apply(this, arguments);
      if (!xhrs.has(this)) for (const type of ['load', 'error', 'abort', 'timeout']) this.addEventListener(type, onEnd);
      xhrs.set(this, [method, url, Date.now()]);
      return result;
    },
  );
}
