import type { BaseEvent } from '../types';
import { randomId } from './ids';
import { redactUrl } from './redact';

/**
 * An event of `type` with the fields every event has: a random id (a retry keeps it, so
 * the server can drop duplicates), the time and the page's redacted URL.
 */
export function newEvent<T extends string, F extends object>(type: T, fields: F, ts = Date.now()): BaseEvent & { type: T } & F {
  return { type, event_id: randomId(), ts, page_url: redactUrl(location.href), ...fields };
}
