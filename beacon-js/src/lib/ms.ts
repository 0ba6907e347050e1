import { MAX_MS } from './limits';

/**
 * A duration for the wire: whole milliseconds within the schema's 0 … 1 day. Timing
 * differences can come out negative (an unset mark is 0) or NaN (a missing one); both
 * give 0, because the collector refuses a negative or non-numeric duration.
 */
export const ms = (value: number): number => (value > 0 ? Math.min(Math.round(value), MAX_MS) : 0);
