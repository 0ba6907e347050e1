import { guarded } from './guard';

export interface Queue<T> {
  /** Adds an item; a full queue flushes at once. */
  push(item: T): void;
  /** Hands every queued item to `onFlush` now, if there are any. */
  flush(): void;
}

/**
 * Collects items and hands them over in groups: when `maxItems` wait, `delayMs` after the
 * queue stopped being empty, or when `flush()` is called (the page being hidden).
 */
export function createQueue<T>(onFlush: (items: T[]) => void, maxItems = 20, delayMs = 5000): Queue<T> {
  let items: T[] = [];
  let timer: ReturnType<typeof setTimeout> | 0 = 0;

  const flush = (): void => {
    clearTimeout(timer as number);
    timer = 0;
    const taken = items;
    items = [];
    if (taken.length) onFlush(taken);
  };

  return {
    push(item) {
      if (items.push(item) >= maxItems) flush();
      // The timer is an entry point of its own, so it gets a guard; see guard.ts.
      else timer ||= setTimeout(guarded(flush), delayMs);
    },
    flush,
  };
}
