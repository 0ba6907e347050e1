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
 * The wrappers change nothing the page can see: the original is called first with the same
 * `this` and arguments, its result (the same Response, the same rejection reason) is passed
 * on, and no body is ever read. Everything the beacon does with the arguments happens later,
 * inside `guarded`, so odd arguments cannot make the wrapper throw. An abort with a reason
 * of the page's own (`controller.abort(new Error())`) counts as a network error.
 */
export function watchNetwork(client: Client): void {
  const report = guarded((api: 'fetch' | 'xhr', method: unknown, url: unknown, start: number, outcome: string, status: number) => {
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
  });

  wrap(window, 'fetch', (original) =>
    function (this: unknown, input: any, init: any) {
      const start = Date.now();
      // A Request carries method and URL; init overrides the method. An abort rejects with
      // an AbortError, AbortSignal.timeout() with a TimeoutError (lib/classify.ts).
      const done = (outcome: string, status: number): unknown => report('fetch', init?.method || input?.method, input?.url || input, start, outcome, status);
      return original.apply(this, arguments).then(
        (response: Response) => (done('load', response.status), response),
        (error: any) => {
          done(error?.name, 0);
          throw error;
        },
      );
    },
  );

  // open() names the request and starts its clock (send() follows at once in practice);
  // one set of listeners per XHR object.
  const xhrs = new WeakMap<XMLHttpRequest, [method: unknown, url: unknown, start: number]>();
  const onEnd = (event: Event): void => {
    const xhr = event.target as XMLHttpRequest;
    const x = xhrs.get(xhr)!;
    report('xhr', x[0], x[1], x[2], event.type, xhr.status);
  };
  wrap(XMLHttpRequest.prototype, 'open', (original) =>
    function (this: XMLHttpRequest, method: unknown, url: unknown) {
      if (!xhrs.has(this)) for (const type of ['load', 'error', 'abort', 'timeout']) this.addEventListener(type, onEnd);
      xhrs.set(this, [method, url, Date.now()]);
      return original.apply(this, arguments);
    },
  );
}
