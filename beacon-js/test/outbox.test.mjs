import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';

// localStorage as the beacon reads it: named properties (lib/storage.ts). Set before first use.
const storage = (globalThis.localStorage = {});
const { eventCount, loadOutbox, MAX_OUTBOX_BODIES, MAX_OUTBOX_CHARS, saveOutbox, STALE_MS, trim } = await import('../src/lib/outbox.ts');

afterEach(() => {
  for (const k of Object.keys(storage)) delete storage[k];
});

const body = (id, events = 1, pad = '') => JSON.stringify({ v: 1, batch_id: id, sent_at: 1, events: Array.from({ length: events }, (_, i) => ({ event_id: `${id}-${i}`, pad })) });
const stored = (q, t = Date.now(), extra = {}) => JSON.stringify({ q, t, ...extra });

test('a tab reads its own outbox back with its retry state', () => {
  storage['vigil.outbox.1.tabA'] = stored([body('a'), body('b')], Date.now(), { r: 123, a: 2, i: 1 });
  const box = loadOutbox('vigil.outbox.1', 'vigil.outbox.1.tabA');
  assert.deepEqual(box.q, [body('a'), body('b')]);
  assert.deepEqual([box.r, box.a, box.i], [123, 2, 1]);
  assert.ok(storage['vigil.outbox.1.tabA']); // not deleted
});

test("another tab's outbox is left alone while it is in use, and taken over once untouched", () => {
  storage['vigil.outbox.1.live'] = stored([body('live')]);
  storage['vigil.outbox.1.closed'] = stored([body('closed')], Date.now() - STALE_MS - 1);
  storage['vigil.outbox.1'] = JSON.stringify({ q: [body('old-format')], ok: true }); // earlier versions: one key, no time
  storage['vigil.outbox.12.other-project'] = stored([body('p12')], 0);
  storage['vigil.session'] = '{}';
  const box = loadOutbox('vigil.outbox.1', 'vigil.outbox.1.mine');
  assert.deepEqual(box.q.sort(), [body('closed'), body('old-format')].sort());
  assert.deepEqual(Object.keys(storage).sort(), ['vigil.outbox.1.live', 'vigil.outbox.12.other-project', 'vigil.session']);
});

test('unreadable outboxes read as empty', () => {
  storage['vigil.outbox.1.me'] = '{not json';
  storage['vigil.outbox.1.x'] = '{"r": 5}';
  storage['vigil.outbox.1.y'] = 'null';
  assert.deepEqual(loadOutbox('vigil.outbox.1', 'vigil.outbox.1.me').q, []);
  assert.equal(eventCount('nope'), 0);
  assert.equal(eventCount(body('x', 3)), 3);
});

test('saving stores the time of writing', () => {
  const before = Date.now();
  saveOutbox('vigil.outbox.1.me', { q: [body('a')], r: 0, a: 0, i: 0 });
  const saved = JSON.parse(storage['vigil.outbox.1.me']);
  assert.deepEqual(saved.q, [body('a')]);
  assert.ok(saved.t >= before);
});

test('a full outbox drops its oldest bodies and counts their events', () => {
  const dropped = {};
  const drop = (reason, n = 1) => (dropped[reason] = (dropped[reason] || 0) + n);
  const q = Array.from({ length: MAX_OUTBOX_BODIES + 3 }, (_, i) => body(`b${i}`, 2));
  trim(q, drop);
  assert.equal(q.length, MAX_OUTBOX_BODIES);
  assert.equal(q[0], body('b3', 2));
  assert.deepEqual(dropped, { queue_full: 6 });

  const big = (id) => body(id, 1, 'x'.repeat(59000));
  const q2 = Array.from({ length: 6 }, (_, i) => big(`b${i}`));
  trim(q2, drop);
  assert.ok(q2.join('').length <= MAX_OUTBOX_CHARS);
  assert.deepEqual(q2, [big('b1'), big('b2'), big('b3'), big('b4'), big('b5')]);
  assert.equal(dropped.queue_full, 7);
});
