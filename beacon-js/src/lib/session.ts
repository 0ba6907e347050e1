import { randomId } from './ids';

const KEY = 'vigil.sid';

/**
 * The browsing session's id: kept in sessionStorage so it lives as long as the tab. Where
 * storage is denied (privacy settings, sandboxed frames) the id lasts for this page load.
 */
export function getSessionId(): string {
  try {
    const stored = sessionStorage.getItem(KEY);
    if (stored && /^[0-9a-f]{32}$/.test(stored)) return stored;
  } catch {
    // sessionStorage can throw on access; fall through to a fresh id.
  }
  const id = randomId();
  try {
    sessionStorage.setItem(KEY, id);
  } catch {
    // Denied or full: this page load keeps the id in memory only.
  }
  return id;
}
