import { guarded } from './lib/guard';
import { onUrlChange } from './lib/history';
import { redactUrl } from './lib/redact';
import { selector } from './lib/selector';
import { wrap } from './lib/wrap';
import type { Client } from './types';

/** What a click is about: the link or button around the clicked node (an icon in a button), else the node itself. */
const CONTROL = 'a,button,[role=button]';

/**
 * Records what the page did before an error (network.ts adds failed requests):
 *
 * - clicks, as a selector only (`button#buy.primary`), never text or values;
 * - navigations within the page (History API, back/forward, fragment changes);
 * - `console.error` and `console.warn`: console is wrapped; the original is called first and
 *   prints the same arguments, then the beacon records them. Inside the beacon's own code the hook is skipped (lib/guard.ts),
 *   so the beacon never records itself.
 */
export function watchBreadcrumbs(client: Client): void {
  addEventListener(
    'click',
    guarded((event: Event) => {
      const node = event.target as Element | null;
      const name = selector(node?.closest?.(CONTROL) || node);
      if (name) client.crumb('click', name);
    }),
    true,
  );

  onUrlChange((_, to) => client.crumb('navigation', redactUrl(to)));

  const consoleCrumb = guarded((level: 'error' | 'warning', args: ArrayLike<unknown>) => {
    client.crumb('console', Array.from(args, text).join(' '), level);
  });
  for (const [name, level] of [
    ['error', 'error'],
    ['warn', 'warning'],
  ] as const) {
    wrap(console, name, (original) =>
      function (this: Console) {
        const result = original.apply(this, arguments);
        consoleCrumb(level, arguments);
        return result;
      },
    );
  }
}

/** A console argument as text, cheaply (an Error gives `Type: message`); String() may throw. */
function text(value: unknown): string {
  try {
    return String(value);
  } catch {
    return '?';
  }
}
