let busy = false;

/**
 * Wraps an entry point into the beacon (an event listener, a timer, a `window.vigil` call).
 *
 * Whatever it throws is swallowed: the beacon never throws into the page. While one entry
 * point runs, another that fires synchronously inside it is skipped, so an error raised in
 * the beacon's own code can never be captured as a page error and loop. Code called from
 * an entry point calls plain functions, not guarded ones.
 */
export function guarded<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R | undefined {
  return (...args) => {
    if (busy) return undefined;
    busy = true;
    try {
      return fn(...args);
    } catch {
      return undefined;
    } finally {
      busy = false;
    }
  };
}
