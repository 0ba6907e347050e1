import { encoder } from './byteLength';
import { hex } from './ids';

/**
 * The user id as the page may send it (`setUser`): SHA-256 of `key:id` as hex, so the id
 * itself never leaves the page and hashes differ between projects. crypto.subtle exists
 * only in secure contexts (https, localhost); elsewhere a small non-cryptographic 64-bit
 * hash stands in.
 */
export const hashUser = async (key: string, id: string): Promise<string> => {
  const bytes = encoder.encode(key + ':' + id);
  return crypto.subtle ? hex(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))) : hash64(bytes);
};

/** 32-bit FNV-1a and djb2-xor side by side over UTF-8 bytes: up to 16 hex characters. Not cryptographic. */
export function hash64(bytes: Uint8Array): string {
  let a = 0x811c9dc5;
  let b = 5381;
  for (const c of bytes) {
    a = Math.imul(a ^ c, 16777619);
    b = Math.imul(b, 33) ^ c;
  }
  return (a >>> 0).toString(16) + (b >>> 0).toString(16);
}
