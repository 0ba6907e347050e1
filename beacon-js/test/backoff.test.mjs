import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { backoff, MAX_RETRY_MS, MAX_WAIT_MS } from '../src/lib/backoff.ts';

const random = Math.random;
afterEach(() => {
  Math.random = random;
});

test('doubles from 1 s with up to 50 % jitter', () => {
  Math.random = () => 0;
  assert.deepEqual([0, 1, 2, 3].map((a) => backoff(a)), [1000, 2000, 4000, 8000]);
  Math.random = () => 0.999999;
  assert.ok(backoff(0) > 1499 && backoff(0) < 1500);
});

test('at most 5 minutes, then the jitter on top: many pages do not come back at once', () => {
  Math.random = () => 0;
  assert.equal(backoff(30), MAX_RETRY_MS);
  assert.equal(backoff(5000), MAX_RETRY_MS);
  Math.random = () => 0.5;
  assert.equal(backoff(30), MAX_RETRY_MS * 1.25);
});

test('Retry-After in seconds is a floor', () => {
  Math.random = () => 0;
  assert.equal(backoff(0, '5'), 5000);
  assert.equal(backoff(4, '5'), 16000);
  assert.equal(backoff(0, '0'), 1000);
  assert.equal(backoff(0, 'Wed, 21 Oct 2015 07:28:00 GMT'), 1000);
  assert.equal(backoff(0, null), 1000);
  assert.equal(backoff(0, '-5'), 1000);
});

test('a Retry-After beyond a day counts as a day (setTimeout would overflow)', () => {
  Math.random = () => 0;
  assert.equal(backoff(0, '86400'), MAX_WAIT_MS);
  assert.equal(backoff(0, String(30 * 86400)), MAX_WAIT_MS);
  assert.equal(backoff(0, 'Infinity'), MAX_WAIT_MS);
});
