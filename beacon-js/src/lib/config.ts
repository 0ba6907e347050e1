import type { Config, Options } from '../types';
import { MAX_NAME, MAX_SHORT } from './limits';
import { truncate } from './truncate';

/**
 * Turns the page's settings into a Config. They come from the beacon's own `<script>` tag
 * (its `dataset`: `data-project`, `data-key`, `data-endpoint`, `data-release`,
 * `data-environment`, `data-sample-rate`, `data-error-sample-rate`,
 * `data-require-consent`, `data-keep-params`) or from `vigil('init', {…})`, with the same
 * names in camelCase.
 *
 * The collector is where the script came from (`src` without its file name) unless
 * `endpoint` lists base URLs, comma-separated, the primary first. Returns null when the
 * project or key is missing or no base URL is usable: the beacon then stays off.
 */
export function readConfig(o: Options, src: string, pageUrl: string): Config | null {
  const { project, key, release, environment, requireConsent: consent } = o;
  const bases = (o.endpoint ? list(o.endpoint).map((e) => baseUrl(e, pageUrl, false)) : [baseUrl(src, pageUrl, true)]).filter(Boolean) as string[];
  return project && key && bases.length
    ? {
        bases,
        project: String(project),
        key: String(key),
        release: release ? truncate(String(release), MAX_NAME) : undefined,
        environment: environment ? truncate(String(environment), MAX_SHORT) : undefined,
        sampleRate: rate(o.sampleRate),
        errorSampleRate: rate(o.errorSampleRate),
        // On unless absent, `false` or "false": a gate that is meant to be on must not fail
        // open on a spelling ("yes", "1", "on"); `data-require-consent` alone is "".
        requireConsent: consent != null && consent !== false && consent !== 'false',
        keepParams: list(o.keepParams),
      }
    : null;
}

/** A comma-separated string (or an array, whose String() is one) as its items, without spaces. */
const list = (value: unknown): string[] => String(value || '').match(/[^\s,]+/g) || [];

/** A sampling rate (compared with Math.random(), so above 1 is 1); missing or unreadable means 1 (everything). */
const rate = (value: unknown): number => {
  const n = value === '' ? 1 : Number(value ?? 1);
  return n >= 0 ? n : 1;
};

/**
 * The collector's base URL, without a trailing slash, from an http(s) URL resolved against
 * the page: the script's `src` without its file name (`https://vigil.example/beacon.js` →
 * `https://vigil.example`), or an endpoint as given (`/vigil/` → `https://shop.example/vigil`).
 */
export function baseUrl(value: string, pageUrl: string, dropFileName: boolean): string | null {
  try {
    const url = new URL(value, pageUrl);
    return value && /^https?:$/.test(url.protocol) ? (url.origin + url.pathname).replace(dropFileName ? /\/[^/]*$/ : /\/+$/, '') : null;
  } catch {
    return null;
  }
}
