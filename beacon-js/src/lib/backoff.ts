/** First retry after about 1 s… */
export const FIRST_RETRY_MS = 1000;
/** …doubling up to 5 min. */
export const MAX_RETRY_MS = 5 * 60 * 1000;

/**
 * How long to wait before retry number `attempt` (0 for the first): exponential backoff
 * from 1 s to 5 min with up to 50 % random jitter, so many pages that lost the collector
 * at the same moment do not come back at the same moment. A `Retry-After` in seconds
 * (the collector's 503, a proxy's 429) is a floor: the beacon never retries sooner.
 */
export function backoff(attempt: number, retryAfter?: string | null): number {
  const wait = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** attempt * (1 + Math.random() / 2));
  const seconds = retryAfter ? Number(retryAfter) : NaN;
  return seconds >= 0 ? Math.max(wait, seconds * 1000) : wait;
}
