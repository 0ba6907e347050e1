import type { ErrorEvent, Mechanism } from '../types';
import { randomId } from './ids';
import { MAX_MESSAGE, MAX_NAME, MAX_POSITION, MAX_STACK, MAX_URL } from './limits';
import { truncate } from './truncate';

/** What the browser says about an uncaught error: a DOM `ErrorEvent`'s fields. */
export interface ErrorDetails {
  message?: string;
  filename?: string;
  lineno?: number;
  colno?: number;
}

interface ErrorLike {
  name?: unknown;
  message?: unknown;
  stack?: unknown;
  constructor?: { name?: unknown };
}

/**
 * Builds an `error` event from whatever was thrown or rejected, every string cut to its
 * protocol bound. `value` may be anything: an Error, a string, an object, undefined.
 */
export function createErrorEvent(
  value: unknown,
  mechanism: Mechanism,
  where: ErrorDetails = {},
  now: number = Date.now(),
  pageUrl: string = location.href,
): ErrorEvent {
  let errorType = 'Error';
  let message: string;
  let stack: string | undefined;
  if (isErrorLike(value)) {
    errorType = typeName(value);
    message = String(value.message);
    if (typeof value.stack === 'string' && value.stack) stack = value.stack;
  } else {
    // A rejection with a non-Error reason has no type of its own to report.
    if (mechanism === 'onunhandledrejection') errorType = 'UnhandledRejection';
    // An uncaught error without an Error object (a cross-origin "Script error.") falls back
    // to what the browser printed.
    message = value == null && where.message ? String(where.message) : describe(value);
  }
  const event: ErrorEvent = {
    type: 'error',
    event_id: randomId(),
    ts: now,
    page_url: truncate(pageUrl, MAX_URL),
    error_type: truncate(errorType, MAX_NAME),
    message: truncate(message, MAX_MESSAGE),
    mechanism,
  };
  if (stack) event.stack = truncate(stack, MAX_STACK);
  if (where.filename) event.file = truncate(String(where.filename), MAX_URL);
  if (isPosition(where.lineno)) event.line = where.lineno;
  if (isPosition(where.colno)) event.column = where.colno;
  return event;
}

function isErrorLike(value: unknown): value is ErrorLike {
  // `instanceof Error` misses errors from other frames; duck-type those.
  return (
    value instanceof Error ||
    (typeof value === 'object' && value !== null && typeof (value as ErrorLike).message === 'string' && typeof (value as ErrorLike).stack === 'string')
  );
}

/** The constructor's name (`TypeError`, a custom subclass), else `name`, else `Error`. */
function typeName(error: ErrorLike): string {
  const ctor = error.constructor && error.constructor.name;
  if (typeof ctor === 'string' && ctor && ctor !== 'Object') return ctor;
  return typeof error.name === 'string' && error.name ? error.name : 'Error';
}

/** A readable message for a thrown or rejected value that is not an Error. */
function describe(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null) {
    try {
      const json = JSON.stringify(value);
      if (json !== undefined) return json;
    } catch {
      // Cyclic or BigInt-holding objects cannot be JSON; fall back to String().
    }
  }
  try {
    return String(value);
  } catch {
    return '';
  }
}

function isPosition(value: unknown): value is number {
  return typeof value === 'number' && value > 0 && value <= MAX_POSITION && Math.floor(value) === value;
}
