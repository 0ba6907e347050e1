import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createOutbox, eventCount, MAX_OUTBOX_BODIES, MAX_OUTBOX_CHARS } from '../src/lib/outbox.ts';

/** An outbox over a plain object standing in for localStorage, and the drops it counted. */
function outbox() {
  const storage = {};
  const dropped = {};
  const box = createOutbox(
    'vigil.outbox.1',
    (reason, n = 1) => (dropped[reason] = (dropped[reason] || 0) + n),
    (k) => storage[k] ?? null,
    (k, v) => (storage[k] = v),
  );
  return { box, storage, dropped };
}

const body = (id, events = 1, pad = '') => JSON.stringify({ v: 1, batch_id: id, sent_at: 1, events: Array.from({ length: events }, (_, i) => ({ event_id: `${id}-${i}`, pad })) });

test('bodies are stored, listed oldest first and removed', () => {
  const { box, storage } = outbox();
  assert.deepEqual(box.list(), []);
  box.add(body('a'));
  box.add(body('b'));
  assert.deepEqual(box.list(), [body('a'), body('b')]);
  assert.deepEqual(JSON.parse(storage['vigil.outbox.1']).q, [body('a'), body('b')]);
  box.remove(body('a'));
  box.remove(body('zzz'));
  assert.deepEqual(box.list(), [body('b')]);
});

test('a full outbox drops its oldest bodies and counts their events', () => {
  const { box, dropped } = outbox();
  for (let i = 0; i < MAX_OUTBOX_BODIES + 3; i++) box.add(body(`b${i}`, 2));
  assert.equal(box.list().length, MAX_OUTBOX_BODIES);
  assert.equal(box.list()[0], body('b3', 2));
  assert.deepEqual(dropped, { queue_full: 6 });
});

test('the outbox is bounded in characters too', () => {
  const { box, dropped } = outbox();
  const big = (id) => body(id, 1, 'x'.repeat(59000));
  for (let i = 0; i < 6; i++) box.add(big(`b${i}`));
  assert.ok(box.list().join('').length <= MAX_OUTBOX_CHARS);
  assert.deepEqual(box.list(), [big('b1'), big('b2'), big('b3'), big('b4'), big('b5')]);
  assert.deepEqual(dropped, { queue_full: 1 });
});

test('health is kept with the bodies', () => {
  const { box, storage } = outbox();
  assert.equal(box.healthy(), undefined); // never answered yet
  box.healthy(false);
  assert.equal(box.healthy(), false);
  box.healthy(true);
  assert.equal(box.healthy(), true);
  assert.equal(JSON.parse(storage['vigil.outbox.1']).ok, true);
});

test('unreadable storage reads as empty', () => {
  const { box, storage } = outbox();
  storage['vigil.outbox.1'] = '{not json';
  assert.deepEqual(box.list(), []);
  storage['vigil.outbox.1'] = '{"q": 5}';
  assert.deepEqual(box.list(), []);
  assert.equal(eventCount('nope'), 0);
  assert.equal(eventCount(body('x', 3)), 3);
});
