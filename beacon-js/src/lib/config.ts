import type { Config } from '../types';
import { MAX_NAME, MAX_SHORT } from './limits';
import { truncate } from './truncate';

/**
 * Reads the beacon's settings from its own `<script>` tag:
 *
 *   <script async src="https://vigil.example/beacon.js" data-project="1" data-key="…"
 *           data-release="shop@1.4.2" data-environment="production"></script>
 *
 * The collector is where the script came from: the origin and path of `src` without its
 * last segment (`/beacon.js`). `data-endpoint` overrides that base URL. Returns null when
 * the project or key is missing, or no base URL can be found: the beacon then stays off.
 */
export function readConfig(script: HTMLOrSVGScriptElement | null, pageUrl: string): Config | null {
  if (!script) return null;
  const data = script.dataset;
  const project = data.project;
  const key = data.key;
  if (!project || !key) return null;
  const base = data.endpoint ? baseUrl(data.endpoint, pageUrl, false) : baseUrl('src' in script ? script.src : '', pageUrl, true);
  if (!base) return null;
  const config: Config = { base, project, key };
  if (data.release) config.release = truncate(data.release, MAX_NAME);
  if (data.environment) config.environment = truncate(data.environment, MAX_SHORT);
  return config;
}

/**
 * The collector's base URL, without a trailing slash, from a URL resolved against the page:
 * the script's `src` without its file name (`https://vigil.example/beacon.js` →
 * `https://vigil.example`), or an endpoint as given (`/vigil/` → `https://shop.example/vigil`).
 */
export function baseUrl(value: string, pageUrl: string, dropFileName: boolean): string | null {
  if (!value) return null;
  let url: URL;
  try {
    url = new URL(value, pageUrl);
  } catch {
    return null;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
  const path = dropFileName ? url.pathname.replace(/[^/]*$/, '') : url.pathname;
  return url.origin + path.replace(/\/+$/, '');
}
