import { guarded } from './guard';
import { wrap } from './wrap';

type Listener = (from: string, to: string) => void;

const listeners: Listener[] = [];
let last = '';

/**
 * Calls `listener(from, to)` whenever the page's URL changes without a page load: the
 * History API (`pushState`, `replaceState`, wrapped once) and back/forward and fragment
 * navigations within the page (`popstate`). Breadcrumbs and route-change page views share it.
 */
export function onUrlChange(listener: Listener): void {
  if (!listeners.length) {
    last = location.href;
    const changed = guarded(() => {
      const from = last;
      last = location.href;
      if (last !== from) for (const l of listeners) l(from, last);
    });
    for (const name of ['pushState', 'replaceState'] as const) {
      wrap(history, name, (original) =>
        function (this: History) {
          // The page's call first and as given; the beacon only looks afterwards.
          const result = original.apply(this, arguments);
          changed();
          return result;
        },
      );
    }
    // Fragment navigations fire popstate too.
    addEventListener('popstate', changed);
  }
  listeners.push(listener);
}
