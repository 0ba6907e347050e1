import { guarded } from './guard';

export interface Queue<T> {
  /** Adds an item; a full queue flushes at once. */
  push(item: T): void;
  /** Hands every queued item to `onFlush` now, if there are any. */
  flush(): void;
}

export interface QueueOptions {
  /** Flush as soon as this many items wait. */
  maxItems?: number;
  /** Flush this long after the first item arrives in an empty queue. */
  delayMs?: number;
}

/**
 * Collects items and hands them over in groups: when `maxItems` wait, `delayMs` after the
 * queue stopped being empty, or when `flush()` is called (the page being hidden).
 */
export function createQueue<T>(onFlush: (items: T[]) => void, { maxItems = 20, delayMs = 5000 }: QueueOptions = {}): Queue<T> {
  let items: T[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;

  const flush = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (!items.length) return;
    const taken = items;
    items = [];
    onFlush(taken);
  };

  const push = (item: T): void => {
    items.push(item);
    if (items.length >= maxItems) flush();
    // The timer is an entry point of its own, so it gets a guard; see guard.ts.
    else if (timer === undefined) timer = setTimeout(guarded(flush), delayMs);
  };

  return { push, flush };
}
