import { exposeApi } from './api';
import { createClient } from './client';
import { watchErrors } from './errors';
import { readConfig } from './lib/config';
import { onHidden } from './lib/onHidden';
import { createTransport } from './lib/transport';

/**
 * Boots the beacon from its own `<script>` tag. Without a project and key, or when the
 * beacon already runs on this page, it does nothing; it never throws into the page.
 */
export function start(script: HTMLOrSVGScriptElement | null): void {
  try {
    if (window.vigil) return;
    const config = readConfig(script, location.href);
    if (!config) return;
    // The transport keeps the native fetch/sendBeacon as they are now, before any later
    // instrumentation wraps them, so the beacon never observes its own requests.
    const send = createTransport(`${config.base}/api/${encodeURIComponent(config.project)}/events?key=${encodeURIComponent(config.key)}`);
    const client = createClient(config, send);
    watchErrors(client.capture);
    onHidden(client.flush);
    exposeApi(client);
  } catch {
    // A beacon that cannot start must not break the page.
  }
}
