/**
 * The loader snippet (dist/loader.js, ≤ 1 KB gzipped): pasted inline or loaded as an
 * external script (the CSP-safe form), it
 *
 * - defines a stub `window.vigil` that queues calls in `vigil.q`, with the API's methods
 *   (`vigil.captureError(err)` queues `['captureError', err]`), the first 100;
 * - records `error` and `unhandledrejection` events in `vigil.e` with their time, the first
 *   100, while the stub is still `window.vigil` (the full beacon replays both: start.ts,
 *   errors.ts);
 * - injects the full beacon asynchronously: `data-src`, else its own `src` with `loader.js`
 *   replaced by `beacon.js`, passing on its `data-*` attributes (the beacon's settings).
 *
 * No imports: this file stands alone.
 */
(() => {
  /** Calls and events kept at most, each. */
  const MAX = 100;
  const w = window as unknown as { vigil?: unknown };
  const script = document.currentScript as HTMLScriptElement | null;
  if (w.vigil || !script) return;
  const q: unknown[][] = [];
  const e: [Event, number][] = [];
  // Both bounded: a beacon that never arrives must not hold on to the page's errors forever.
  const stub: any = function () {
    if (q.length < MAX) q.push([].slice.call(arguments));
  };
  stub.q = q;
  stub.e = e;
  for (const name of ['init', 'setUser', 'setTag', 'captureError', 'captureMessage', 'consent', 'flush']) {
    stub[name] = (...args: unknown[]) => stub(name, ...args);
  }
  w.vigil = stub;
  const record = (event: Event): void => {
    if (w.vigil === stub && e.length < MAX) e.push([event, Date.now()]);
  };
  addEventListener('error', record);
  addEventListener('unhandledrejection', record);
  const beacon = document.createElement('script');
  beacon.async = true;
  beacon.src = script.getAttribute('data-src') || script.src.replace(/loader\.js(?=[?#]|$)/, 'beacon.js');
  for (const a of [].slice.call(script.attributes) as Attr[]) if (/^data-/.test(a.name)) beacon.setAttribute(a.name, a.value);
  (document.head || document.documentElement).appendChild(beacon);
})();
