import type { Batch, BatchContext, BeaconEvent } from '../types';
import { byteLength } from './byteLength';
import { randomId } from './ids';
import { MAX_BATCH_EVENTS, MAX_BODY_BYTES } from './limits';
import { truncate } from './truncate';

/**
 * Packs events, in order, into request bodies: each a batch of at most `maxEvents` events
 * whose UTF-8 JSON is at most `maxBytes`. An event too large for a body of its own has its
 * longest strings shortened until it fits, or is dropped if even that fails.
 */
export function toBodies(
  events: BeaconEvent[],
  context: BatchContext,
  maxEvents: number = MAX_BATCH_EVENTS,
  maxBytes: number = MAX_BODY_BYTES,
  now: () => number = Date.now,
): string[] {
  const bodies: string[] = [];
  let i = 0;
  while (i < events.length) {
    const batch: Batch = { v: 1, batch_id: randomId(), sent_at: now(), events: [], ...context };
    // JSON.stringify joins array items with ",", so a batch's size is its empty form's size
    // plus each event's size plus one byte between events.
    let size = byteLength(JSON.stringify(batch));
    for (; i < events.length && batch.events.length < maxEvents; i++) {
      let event: BeaconEvent | null = events[i]!;
      const comma = batch.events.length ? 1 : 0;
      let eventSize = byteLength(JSON.stringify(event));
      if (size + comma + eventSize > maxBytes) {
        if (batch.events.length) break; // it goes first into the next batch
        event = shrink(event, maxBytes - size);
        if (!event) continue;
        eventSize = byteLength(JSON.stringify(event));
      }
      batch.events.push(event);
      size += comma + eventSize;
    }
    if (batch.events.length) bodies.push(JSON.stringify(batch));
  }
  return bodies;
}

/** Strings shorter than this are never shortened: ids, types, timestamps stay whole. */
const KEEP = 256;

/**
 * Shortens an event's long strings (message, stack, URLs) in proportion to how far it is
 * over `maxBytes`, a few rounds at most; null if it still does not fit.
 */
export function shrink<E extends BeaconEvent>(event: E, maxBytes: number): E | null {
  let current = event;
  for (let round = 0; round < 8; round++) {
    const size = byteLength(JSON.stringify(current));
    if (size <= maxBytes) return current;
    const ratio = (maxBytes / size) * 0.9;
    const next: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(current)) {
      next[key] = typeof value === 'string' && value.length > KEEP ? truncate(value, Math.max(KEEP, Math.floor(value.length * ratio))) : value;
    }
    current = next as unknown as E;
  }
  return byteLength(JSON.stringify(current)) <= maxBytes ? current : null;
}
