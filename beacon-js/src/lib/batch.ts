import type { Batch, BatchContext, BeaconEvent } from '../types';
import { byteLength } from './byteLength';
import { clip } from './clip';
import { randomId } from './ids';
import { MAX_BATCH_EVENTS, MAX_BODY_BYTES } from './limits';

/**
 * Packs events, in order, into request bodies: each a batch of at most `maxEvents` events
 * whose UTF-8 JSON is at most `maxBytes`. An event too large for a body of its own has its
 * longest strings shortened until it fits, or is dropped if even that fails. The context's
 * `dropped` counts go with the first batch only, so no count is reported twice.
 */
export function toBodies(
  events: BeaconEvent[],
  context: BatchContext,
  maxEvents: number = MAX_BATCH_EVENTS,
  maxBytes: number = MAX_BODY_BYTES,
): string[] {
  const bodies: string[] = [];
  let i = 0;
  while (i < events.length) {
    const batch: Batch = { v: 1, batch_id: randomId(), sent_at: Date.now(), events: [], ...context };
    context = { ...context, dropped: undefined };
    // JSON.stringify joins array items with ",", so a batch's size is at most its empty
    // form's size plus each event's size and one byte for a comma.
    let size = byteLength(JSON.stringify(batch));
    for (; i < events.length && batch.events.length < maxEvents; i++) {
      let event: BeaconEvent | null = events[i]!;
      let eventSize = byteLength(JSON.stringify(event)) + 1;
      if (size + eventSize > maxBytes) {
        if (batch.events.length) break; // it goes first into the next batch
        event = shrink(event, maxBytes - size - 1);
        if (!event) continue;
        eventSize = byteLength(JSON.stringify(event)) + 1;
      }
      batch.events.push(event);
      size += eventSize;
    }
    if (batch.events.length) bodies.push(JSON.stringify(batch));
  }
  return bodies;
}

/**
 * An event cut down to fit `maxBytes`: its long strings (message, stack, URLs, causes,
 * breadcrumbs) shortened in proportion, a few rounds at most (lib/clip.ts); null if it
 * still does not fit.
 */
export function shrink<E extends BeaconEvent>(event: E, maxBytes: number): E | null {
  for (let scale = 0.5; scale > 0.01; scale /= 2) {
    const small = clip(event, scale);
    if (byteLength(JSON.stringify(small)) <= maxBytes) return small;
  }
  return null;
}
