import { MAX_POSITION } from './limits';

/**
 * A line or column for the wire (schema `Position`, 0 … 2³¹−1). Browsers' are unsigned
 * 32-bit, and a synthetic event may carry anything: a larger one is cut to the bound, a
 * missing one becomes NaN, sent as null ("unknown").
 */
export const position = (value: unknown): number => Math.min(value as number, MAX_POSITION);
