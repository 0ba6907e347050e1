import type { Failure } from '../types';

const APP = 'application';

/**
 * Classifies how a request ended, in the beacon's terms and the Network Error Logging
 * vocabulary (W3C NEL, "phase" and "type"; docs/protocol.md, event "network").
 *
 * `outcome` is `load` for a response (fetch resolved, XHR `load`), an XHR event type
 * (`error`, `abort`, `timeout`) or the name of fetch's rejection (`AbortError`,
 * `TimeoutError`, `TypeError`). Returns undefined when nothing failed. A page cannot tell
 * a DNS failure from a refused connection, so network errors are phase `unknown`.
 * AbortSignal.timeout() rejects fetch with a TimeoutError: the page gave up waiting
 * (`abandoned`); an XHR `timeout` says nothing more (`unknown`).
 */
export const classify = (outcome: string, status: number): Failure | undefined =>
  outcome === 'load'
    ? status >= 400
      ? ['http_error', APP, 'http.error']
      : undefined
    : outcome === 'abort' || outcome === 'AbortError'
      ? ['abort', APP, 'abandoned']
      : /^timeout/i.test(outcome)
        ? ['timeout', APP, outcome === 'timeout' ? 'unknown' : 'abandoned']
        : ['network_error', 'unknown', 'unknown'];
