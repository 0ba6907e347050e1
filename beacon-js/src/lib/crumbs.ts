import type { Breadcrumb } from '../types';
import { MAX_CRUMB, MAX_CRUMBS } from './limits';
import { redactText } from './redact';
import { truncate } from './truncate';

/**
 * Adds a breadcrumb to `crumbs`, the page's last MAX_CRUMBS, oldest first. Messages are
 * redacted and masked like any text the beacon sends (lib/redact.ts) and cut to 512
 * characters.
 */
export function addCrumb(crumbs: Breadcrumb[], category: Breadcrumb['category'], message: string, level: Breadcrumb['level'] = 'info'): void {
  if (crumbs.push({ ts: Date.now(), category, message: truncate(redactText(message), MAX_CRUMB), level }) > MAX_CRUMBS) crumbs.shift();
}
