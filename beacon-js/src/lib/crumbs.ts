import type { Breadcrumb } from '../types';
import { MAX_CRUMB, MAX_CRUMBS } from './limits';
import { redactText } from './redact';
import { truncate } from './truncate';

/**
 * The last MAX_CRUMBS breadcrumbs of the page, oldest first. Messages are redacted and
 * masked like any text the beacon sends (lib/redact.ts) and cut to 512 characters.
 */
export function createCrumbs() {
  const crumbs: Breadcrumb[] = [];
  return {
    add(category: Breadcrumb['category'], message: string, level: Breadcrumb['level'] = 'info'): void {
      if (crumbs.push({ ts: Date.now(), category, message: truncate(redactText(message), MAX_CRUMB), level }) > MAX_CRUMBS) crumbs.shift();
    },
    /** A copy for an error event to carry; undefined while there are none. */
    list: (): Breadcrumb[] | undefined => (crumbs.length ? crumbs.slice() : undefined),
  };
}
