import type { Config, Session } from '../types';
import { randomId } from './ids';
import { parse } from './parse';
import { getItem, setItem } from './storage';

/** Storage key of the session, shared by every tab of the site (localStorage). */
export const SESSION_KEY = 'vigil.session';
/** A session ends after 30 min without events… */
export const IDLE_MS = 30 * 60 * 1000;
/** …and after 4 h in any case, so one long-open tab does not make one endless session. */
export const MAX_SESSION_MS = 4 * 60 * 60 * 1000;

/**
 * The session after an event at `now`: the stored one, touched, while it is neither idle
 * nor too old; else a new one with fresh sampling decisions. Both decisions are drawn once
 * per session and kept with it, so a session is sampled in or out as a whole.
 */
export function nextSession(stored: string | null | undefined, now: number, sampleRate: number, errorSampleRate: number): Session {
  let s: Session = parse(stored);
  // An id of the form randomId() makes (the collector would refuse one over 64 characters).
  if (!/^[\da-f]{32}$/.test(s?.id as string) || !(now - s.last < IDLE_MS) || !(now - s.start < MAX_SESSION_MS)) {
    s = { id: randomId(), start: now, sampled: Math.random() < sampleRate, error_sampled: Math.random() < errorSampleRate } as Session;
  }
  s.last = now;
  return s;
}

/** Reads, advances and stores the session (see lib/storage.ts for where it is kept). */
export function touchSession(config: Config): Session {
  const s = nextSession(getItem(SESSION_KEY), Date.now(), config.sampleRate, config.errorSampleRate);
  setItem(SESSION_KEY, JSON.stringify(s));
  return s;
}
