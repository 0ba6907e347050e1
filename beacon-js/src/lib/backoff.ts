/** First retry after about 1 s… */
export const FIRST_RETRY_MS = 1000;
/** …doubling up to 5 min (then up to 7.5 min with the jitter). */
export const MAX_RETRY_MS = 5 * 60 * 1000;
/** The longest wait of all: a Retry-After beyond a day counts as a day (setTimeout overflows at 24.8 days). */
export const MAX_WAIT_MS = 86400000;

/**
 * How long to wait before retry number `attempt` (0 for the first): exponential backoff
 * from 1 s to 5 min, then up to 50 % random jitter on top, so many pages that lost the
 * collector at the same moment do not come back at the same moment. A `Retry-After` in
 * seconds (the collector's 503, a proxy's 429) is a floor, up to a day: the beacon never
 * retries sooner.
 */
export function backoff(attempt: number, retryAfter?: string | null): number {
  const wait = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** attempt) * (1 + Math.random() / 2);
  return Math.max(wait, Math.min(+(retryAfter || 0) * 1000, MAX_WAIT_MS) || 0);
}
