import { MAX_CRUMB, MAX_MESSAGE, MAX_NAME, MAX_SHORT, MAX_STACK, MAX_URL } from './limits';
import { truncate } from './truncate';

/**
 * Protocol bounds of the string fields that may be longer than *short* (64), by field name.
 * Fields whose values are short in practice are cut at 64, within their bound: directives
 * and report ids (bound 200) and CSP samples (bound 256; browsers send 40 characters).
 */
const BOUNDS: Record<string, number> = {
  message: MAX_MESSAGE,
  stack: MAX_STACK,
  error_type: MAX_NAME,
  original_policy: 4096,
  target: MAX_CRUMB,
};

/** Fields holding a URL: `page_url`, `url`, `file`, `referrer`, `blocked_uri`, `source_file`. */
const URL_FIELD = /url|file|ref|uri/;

/**
 * Cuts every string in an event (nested causes and breadcrumbs too) to its protocol bound,
 * chosen by field name, so one table keeps every source within the schema. Breadcrumb
 * messages and attribution values are cut to 512 where they are made.
 *
 * With `scale` < 1 the long bounds shrink in proportion (never below 64, so ids and names
 * stay whole): lib/batch.ts uses it to fit an event too large for a request body.
 */
export function clip<T>(value: T, scale = 1, key = ''): T {
  if (typeof value === 'string') {
    return truncate(value, Math.max(MAX_SHORT, (BOUNDS[key] || (URL_FIELD.test(key) ? MAX_URL : MAX_SHORT)) * scale)) as T;
  }
  if (value && typeof value === 'object') {
    // Arrays hold objects (causes, breadcrumbs), so an index never needs a bound of its own.
    const out: any = Array.isArray(value) ? [] : {};
    for (const k in value) out[k] = clip(value[k], scale, k);
    return out;
  }
  return value;
}
