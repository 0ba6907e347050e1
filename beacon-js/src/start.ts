import { createApi } from './api';
import { watchBreadcrumbs } from './breadcrumbs';
import { createClient } from './client';
import { watchCsp } from './csp';
import { watchErrors } from './errors';
import { readConfig } from './lib/config';
import { onHidden } from './lib/onHidden';
import { setKeepParams } from './lib/redact';
import { watchNetwork } from './network';
import { watchPageviews } from './pageviews';
import { watchReports } from './reports';
import { watchResources } from './resources';
import type { LoaderStub, Options } from './types';
import { watchVitals } from './vitals';

/**
 * Boots the beacon from its own `<script>` tag: takes `window.vigil` over from the loader's
 * stub (or publishes it), starts at once when the tag names a project and key, else at the
 * page's `vigil('init', {…})`, then replays the calls the stub queued. Loaded twice, the
 * second copy does nothing. It never throws into the page.
 */
export function start(script: HTMLOrSVGScriptElement | null): void {
  try {
    const stub = window.vigil as LoaderStub | undefined;
    if (stub?.version) return;
    const src = (script as HTMLScriptElement | null)?.src || '';
    const api = createApi((options: Options) => {
      const config = readConfig(options, src, location.href);
      if (!config) return null;
      setKeepParams(config.keepParams);
      const client = createClient(config, src);
      // Breadcrumbs first, so the first errors already carry them; page views before the
      // client's hide handler (below), so a view not yet sent goes with the hide's flush.
      // The transport inside the client took the native fetch before network.ts wraps it.
      // A source that cannot start (an API this browser lacks) leaves the others running.
      const early = stub?.e;
      for (const watch of [watchBreadcrumbs, watchErrors, watchResources, watchNetwork, watchPageviews, watchVitals, watchCsp, watchReports]) {
        try {
          watch(client, early);
        } catch {
          // skip this source
        }
      }
      onHidden(client.hide);
      return client;
    });
    window.vigil = api;
    if (script) api('init', script.dataset);
    for (const args of stub?.q || []) api(...(args as [string]));
  } catch {
    // A beacon that cannot start must not break the page.
  }
}
