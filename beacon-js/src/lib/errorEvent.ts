import type { Cause, ErrorEvent, Mechanism } from '../types';
import { newEvent } from './event';
import { MAX_CAUSES } from './limits';
import { position } from './position';
import { redactText, redactUrl } from './redact';

/** What the browser says about an uncaught error: a DOM `ErrorEvent`'s fields. */
export interface ErrorDetails {
  message?: string;
  filename?: string;
  lineno?: number;
  colno?: number;
}

/**
 * Builds an `error` event from whatever was thrown or rejected. `value` may be anything:
 * an Error, a string, an object, undefined. The message, stack and file are redacted
 * (lib/redact.ts); lib/clip.ts cuts them to their bounds when the event is captured.
 * An Error's `cause` chain is followed up to MAX_CAUSES links, outermost first.
 */
export function createErrorEvent(value: unknown, mechanism: Mechanism, where: ErrorDetails = {}, ts?: number): ErrorEvent {
  const causes: Cause[] = [];
  for (let c: any = value; (c = errorLike(c) ? c.cause : null) != null && causes.length < MAX_CAUSES; ) causes.push(describe(c, 'Error'));
  return newEvent(
    'error',
    {
      ...describe(value, mechanism === 'onunhandledrejection' ? 'UnhandledRejection' : mechanism === 'message' ? 'Message' : 'Error', where.message),
      file: where.filename && redactUrl(where.filename),
      line: position(where.lineno),
      column: position(where.colno),
      mechanism,
      // A script from another origin served without CORS: the browser reports only
      // "Script error." and no error object.
      cross_origin: value == null && where.message === 'Script error.',
      causes,
      debug_ids: debugIds(String((value as any)?.stack)),
    },
    ts,
  );
}

/**
 * `error_type`, `message` and `stack` of a thrown value. An Error gives its constructor's
 * name (`TypeError`, a subclass), else its `name`; its message; and its raw stack, which the
 * server parses. Anything else is of type `fallback` (`UnhandledRejection` for a
 * rejection's reason) with the value as message, as JSON for an object; an uncaught error
 * without an Error object falls back to what the browser printed (`printed`).
 */
function describe(value: any, fallback: string, printed?: string): Cause {
  let text: string;
  try {
    if (errorLike(value)) {
      const ctor = value.constructor?.name;
      return { error_type: String((ctor !== 'Object' && ctor) || value.name || 'Error'), message: redactText(String(value.message)), stack: value.stack && redactText(String(value.stack)) };
    }
    text = value == null && printed ? printed : typeof value === 'string' ? value : (typeof value === 'object' && JSON.stringify(value)) || String(value);
  } catch {
    // A cyclic object is not JSON, String() of an object without prototype throws, and a
    // page's getters may throw: the page's value, not a beacon fault.
    text = '[object]';
  }
  return { error_type: fallback, message: redactText(text) };
}

/**
 * The debug ids of the scripts in a stack, by URL, where a Sentry tool put them (`sentry-cli
 * sourcemaps inject`, the bundler plugins): `_sentryDebugIds` keys each script's id by a stack
 * captured in that script, whose first URL is the script's. The server finds maps by them.
 * Within the protocol's bounds, so a page's odd values never cost the batch: at most 64, a URL of
 * at most 2048 characters, an id of at most 64.
 */
const debugIds = (stack: string, ids = (globalThis as any)._sentryDebugIds, out?: any, n = 0): Record<string, string> | undefined => {
  for (const key in ids)
    for (const url of key.match(/\w+:\/\/[^\s()]{1,2000}?(?=:\d+:\d+)/) || [])
      if (stack.includes(url) && n++ < 64) (out ||= {})[redactUrl(url).slice(0, 2048)] = String(ids[key]).slice(0, 64);
  return out;
};

/** An Error, or one from another frame (`instanceof` misses those): duck-typed. */
const errorLike = (value: any): boolean => value instanceof Error || (!!value && typeof value.message === 'string' && typeof value.stack === 'string');
