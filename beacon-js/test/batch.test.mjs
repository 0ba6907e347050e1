import assert from 'node:assert/strict';
import { test } from 'node:test';
import { shrink, toBodies } from '../src/lib/batch.ts';

const CONTEXT = { release: 'shop@1.4.2', environment: 'production', session_id: 'a'.repeat(32), sdk: 'vigil.js/0.1.0' };

function event(i, message = `boom ${i}`, stack) {
  const e = { type: 'error', event_id: String(i).padStart(32, '0'), ts: 1764071999870, page_url: 'https://shop.example/cart', error_type: 'TypeError', message, mechanism: 'onerror' };
  if (stack !== undefined) e.stack = stack;
  return e;
}

function parse(bodies) {
  for (const body of bodies) assert.ok(Buffer.byteLength(body) <= 60000, `body of ${Buffer.byteLength(body)} bytes`);
  return bodies.map((body) => JSON.parse(body));
}

test('a batch carries the protocol fields and the context', () => {
  const before = Date.now();
  const [batch] = parse(toBodies([event(0)], CONTEXT));
  assert.deepEqual(Object.keys(batch), ['v', 'batch_id', 'sent_at', 'events', 'release', 'environment', 'session_id', 'sdk']);
  assert.equal(batch.v, 1);
  assert.match(batch.batch_id, /^[0-9a-f]{32}$/);
  assert.ok(batch.sent_at >= before && batch.sent_at <= Date.now());
  assert.deepEqual(batch.events, [event(0)]);
  assert.equal(batch.sdk, 'vigil.js/0.1.0');
});

test('absent context fields are left out', () => {
  const [batch] = parse(toBodies([event(0)], { sdk: 'vigil.js/0.1.0' }));
  assert.deepEqual(Object.keys(batch), ['v', 'batch_id', 'sent_at', 'events', 'sdk']);
});

test('no events, no bodies', () => {
  assert.deepEqual(toBodies([], CONTEXT), []);
});

test('at most 100 events per batch, order kept, each batch its own id', () => {
  const events = Array.from({ length: 250 }, (_, i) => event(i));
  const batches = parse(toBodies(events, CONTEXT));
  assert.deepEqual(
    batches.map((b) => b.events.length),
    [100, 100, 50],
  );
  assert.deepEqual(
    batches.flatMap((b) => b.events),
    events,
  );
  assert.equal(new Set(batches.map((b) => b.batch_id)).size, 3);
});

test('large events are split to keep every body within 60000 bytes', () => {
  const events = Array.from({ length: 10 }, (_, i) => event(i, 'm'.repeat(8192), 's'.repeat(16384)));
  const batches = parse(toBodies(events, CONTEXT));
  assert.deepEqual(
    batches.map((b) => b.events.length),
    [2, 2, 2, 2, 2],
  );
  assert.deepEqual(
    batches.flatMap((b) => b.events),
    events,
  );
});

test('a body fills up to the byte limit, counting a comma for every event', () => {
  const single = Buffer.byteLength(toBodies([event(0, '')], CONTEXT)[0]);
  const one = Buffer.byteLength(JSON.stringify(event(0, '')));
  const limit = single + 2 + one; // room for exactly two events (and one byte counted for the first one's comma)
  const batches = parse(toBodies([event(0, ''), event(1, ''), event(2, '')], CONTEXT, 100, limit));
  assert.deepEqual(
    batches.map((b) => b.events.length),
    [2, 1],
  );
  assert.ok(batches.every((b) => Buffer.byteLength(JSON.stringify(b)) <= limit));
  assert.deepEqual(
    parse(toBodies([event(0, ''), event(1, '')], CONTEXT, 100, limit - 1)).map((b) => b.events.length),
    [1, 1],
  );
});

test('an event too large for any body is shortened to fit', () => {
  // Control characters take 6 bytes each in JSON, so this event is far over 60000 bytes.
  const huge = event(1, '\u0001'.repeat(8192), '\u0002'.repeat(16384));
  const batches = parse(toBodies([event(0), huge, event(2)], CONTEXT));
  const events = batches.flatMap((b) => b.events);
  assert.deepEqual(
    events.map((e) => e.event_id),
    [event(0), huge, event(2)].map((e) => e.event_id),
  );
  const shortened = events[1];
  assert.ok(shortened.message.length < 8192 && shortened.message.length > 1000);
  assert.ok(huge.message.startsWith(shortened.message));
  assert.ok(huge.stack.startsWith(shortened.stack));
  assert.equal(shortened.error_type, 'TypeError');
});

test('dropped counts go with the first batch only', () => {
  const events = Array.from({ length: 150 }, (_, i) => event(i));
  const batches = parse(toBodies(events, { ...CONTEXT, dropped: { duplicate: 3, rate_limit: 1 } }));
  assert.deepEqual(
    batches.map((b) => b.dropped),
    [{ duplicate: 3, rate_limit: 1 }, undefined],
  );
});

test('an oversized event loses its breadcrumbs and causes in proportion, never its ids', () => {
  const crumbs = Array.from({ length: 30 }, (_, i) => ({ ts: 1, category: 'console', message: '\u0003'.repeat(512), level: 'error' }));
  const causes = Array.from({ length: 5 }, () => ({ error_type: 'Error', message: 'c'.repeat(8192), stack: 's'.repeat(16384) }));
  const big = { ...event(7, 'm'.repeat(8192), 's'.repeat(16384)), breadcrumbs: crumbs, causes };
  const [batch] = parse(toBodies([big], CONTEXT));
  const [e] = batch.events;
  assert.equal(e.event_id, big.event_id);
  assert.equal(e.page_url, big.page_url);
  assert.equal(e.breadcrumbs.length, 30);
  assert.equal(e.causes.length, 5);
});

test('an event that cannot be made to fit is dropped', () => {
  assert.equal(shrink(event(0), 10), null);
  assert.deepEqual(parse(toBodies([event(0)], CONTEXT, 100, 200)), []);
});
