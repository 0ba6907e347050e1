import { encoder } from './byteLength';
import { hex } from './ids';

/**
 * The user id as the page may send it (`setUser`): SHA-256 of `key:id` as hex, so the id
 * itself never leaves the page and hashes differ between projects. crypto.subtle exists
 * only in secure contexts (https, localhost); elsewhere the promise rejects and no user id
 * is sent.
 */
export const hashUser = async (key: string, id: string): Promise<string> =>
  hex(new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(key + ':' + id))));
