/** After this many exceptions of its own, the beacon switches itself off for the page. */
export const MAX_FAULTS = 10;

let busy = false;
let faults = 0;

/**
 * Wraps an entry point into the beacon (an event listener, a timer, an observer, a
 * `window.vigil` call, the hook inside a wrapped page function).
 *
 * Whatever it throws is swallowed: the beacon never throws into the page. While one entry
 * point runs, another that fires synchronously inside it is skipped, so an error raised in
 * the beacon's own code (or a console call it makes) is never captured and cannot loop.
 * A beacon that keeps failing is a beacon bug: after MAX_FAULTS every entry point is a
 * no-op, and wrapped page functions (fetch, XHR, console, history) just call through.
 */
export function guarded<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R | undefined {
  return (...args) => {
    if (busy || faults >= MAX_FAULTS) return undefined;
    busy = true;
    try {
      return fn(...args);
    } catch {
      faults++;
      return undefined;
    } finally {
      busy = false;
    }
  };
}
