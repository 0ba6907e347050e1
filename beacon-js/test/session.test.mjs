import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { IDLE_MS, MAX_SESSION_MS, nextSession } from '../src/lib/session.ts';

const T = 1764072000000;
const random = Math.random;
afterEach(() => {
  Math.random = random;
});

test('no stored session starts one, sampled by both rates', () => {
  Math.random = () => 0.4;
  const s = nextSession(null, T, 0.5, 0.3);
  assert.match(s.id, /^[0-9a-f]{32}$/);
  assert.deepEqual({ ...s, id: 0 }, { id: 0, start: T, last: T, sampled: true, error_sampled: false });
});

test('an active session continues and keeps its decisions', () => {
  const first = nextSession(null, T, 1, 1);
  const next = nextSession(JSON.stringify({ ...first, sampled: false }), T + IDLE_MS - 1, 1, 1);
  assert.deepEqual(next, { ...first, sampled: false, last: T + IDLE_MS - 1 });
});

test('30 minutes idle or 4 hours in all start a new session', () => {
  const first = nextSession(null, T, 1, 1);
  assert.notEqual(nextSession(JSON.stringify(first), T + IDLE_MS, 1, 1).id, first.id);
  // active all along, but too old
  const old = { ...first, last: T + MAX_SESSION_MS - 1000 };
  assert.notEqual(nextSession(JSON.stringify(old), T + MAX_SESSION_MS, 1, 1).id, first.id);
  assert.equal(nextSession(JSON.stringify(old), T + MAX_SESSION_MS - 1, 1, 1).id, first.id);
});

test('rate 0 never samples, rate 1 always does; garbage starts over', () => {
  Math.random = () => 0;
  assert.equal(nextSession(null, T, 0, 0).sampled, false);
  Math.random = () => 0.9999;
  assert.equal(nextSession(null, T, 1, 1).error_sampled, true);
  assert.equal(nextSession('{oops', T, 1, 1).start, T);
  assert.equal(nextSession('{"start":1}', T, 1, 1).start, T);
});

test('a stored id of any other form starts a new session', () => {
  for (const id of ['x'.repeat(100), 'not-hex-not-hex-not-hex-not-hex-', 12345, true, '']) {
    const s = nextSession(JSON.stringify({ id, start: T, last: T, sampled: true, error_sampled: true }), T + 1, 1, 1);
    assert.match(s.id, /^[0-9a-f]{32}$/);
  }
});
