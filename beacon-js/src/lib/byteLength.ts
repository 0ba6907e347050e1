export const encoder = new TextEncoder();

/**
 * The UTF-8 size of `value` in bytes, as the browser encodes a request body (a lone
 * surrogate becomes U+FFFD, 3 bytes, in both).
 */
export const byteLength = (value: string): number => encoder.encode(value).length;
