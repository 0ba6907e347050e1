import { randomId } from './ids';

/**
 * Where the beacon keeps what outlives the page: localStorage, read and written as named
 * properties (`store()[key]`), else a plain object in memory where localStorage is denied
 * (a sandboxed frame, blocked third-party storage; sessionStorage is denied there too).
 * A write that fails (storage full) moves everything to memory for the rest of the page.
 *
 * Nothing here waits for consent: with `requireConsent` nothing reaches storage before
 * `vigil('consent', true)` because nothing is admitted, queued or sent before it
 * (client.ts), so the session, the outbox and the tab id are not touched.
 */
let backend: Record<string, string> | undefined;

function store(): Record<string, string> {
  if (!backend) {
    try {
      (backend = localStorage).length;
    } catch {
      backend = {};
    }
  }
  return backend!;
}

export const getItem = (key: string): string | undefined => store()[key];

export function setItem(key: string, value: string): void {
  try {
    store()[key] = value;
  } catch {
    backend = { ...backend, [key]: value };
  }
}

export const removeItem = (key: string): unknown => delete store()[key];

/** Every stored key, other tabs' included. */
export const keys = (): string[] => Object.keys(store());

/** Where this tab's id is kept: sessionStorage lives as long as the tab, reloads included. */
export const TAB_KEY = 'vigil.tab';

/** This tab's id: random, kept in sessionStorage; where that is denied, a new one each time. */
export function tabId(): string {
  try {
    return (sessionStorage[TAB_KEY] ||= randomId());
  } catch {
    return randomId();
  }
}

/**
 * Deletes everything the beacon stored (consent withdrawn): the keys starting with `vigil.`
 * (the session, the outboxes) and the tab id.
 */
export function forget(): void {
  for (const key of keys()) if (key.startsWith('vigil.')) removeItem(key);
  try {
    delete sessionStorage[TAB_KEY];
  } catch {
    // nothing was stored there
  }
}
