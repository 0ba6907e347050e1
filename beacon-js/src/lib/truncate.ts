/**
 * Cuts `value` to at most `max` characters.
 *
 * A JS string's length counts UTF-16 code units, which is never fewer than the code points
 * the collector counts, so the result always fits the bound. A cut that would split a
 * surrogate pair drops its first half too, so the result stays valid UTF-16 (and JSON).
 */
export function truncate(value: string, max: number): string {
  if (value.length <= max) return value;
  let end = Math.max(0, max);
  const last = value.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return value.slice(0, end);
}
