/**
 * Cuts `value` to at most `max` characters.
 *
 * A JS string's length counts UTF-16 code units, which is never fewer than the code points
 * the collector counts, so the result always fits the bound. A cut that would split a
 * surrogate pair drops its first half too, so the result stays valid UTF-16 (and JSON).
 */
export const truncate = (value: string, max: number): string =>
  value.length > max ? value.slice(0, /[\ud800-\udbff]/.test(value[max - 1]!) ? max - 1 : max) : value;
