import { guarded } from './guard';
import { wrap } from './wrap';

type Listener = (from: string, to: string) => void;

/**
 * Calls `listener(from, to)` whenever the page's URL changes without a page load: the
 * History API (`pushState`, `replaceState`, wrapped once per listener) and back/forward and
 * fragment navigations within the page (`popstate`). Breadcrumbs and route-change page views
 * each have one.
 */
export function onUrlChange(listener: Listener): void {
  let last = location.href;
  const changed = guarded(() => {
    // from, then to (arguments are read left to right)
    if (last !== location.href) listener(last, (last = location.href));
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
