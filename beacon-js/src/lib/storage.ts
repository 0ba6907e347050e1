/**
 * localStorage, else sessionStorage (localStorage denied, e.g. some sandboxed frames),
 * else memory, also where a write fails (storage full).
 *
 * Nothing here waits for consent: with `requireConsent` nothing reaches storage before
 * `vigil('consent', true)` because nothing is admitted, queued or sent before it
 * (client.ts), so the session and the outbox are not touched.
 */

const memory: Record<string, string> = {};
let backend: Storage | null | undefined;

/** The storage the page may use: reading a denied one throws (a read tells; never a test write). */
function store(): Storage | null {
  if (backend === undefined) {
    try {
      (backend = localStorage).length;
    } catch {
      try {
        (backend = sessionStorage).length;
      } catch {
        backend = null;
      }
    }
  }
  return backend;
}

export function getItem(key: string): string | null {
  try {
    return key in memory ? memory[key]! : store()!.getItem(key);
  } catch {
    return null;
  }
}

export function setItem(key: string, value: string): void {
  try {
    store()!.setItem(key, value);
    delete memory[key];
  } catch {
    memory[key] = value;
  }
}
