/** Bytes as lowercase hex, two characters each. */
export const hex = (bytes: Uint8Array): string => Array.from(bytes, (b) => (b + 256).toString(16).slice(1)).join('');

/** A random id: 16 random bytes as 32 lowercase hex characters. */
export const randomId = (): string => hex(crypto.getRandomValues(new Uint8Array(16)));
