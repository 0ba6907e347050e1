import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { backoff, MAX_RETRY_MS } from '../src/lib/backoff.ts';

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

test('never more than 5 minutes', () => {
  Math.random = () => 0.9;
  assert.equal(backoff(30), MAX_RETRY_MS);
});

test('Retry-After in seconds is a floor', () => {
  Math.random = () => 0;
  assert.equal(backoff(0, '5'), 5000);
  assert.equal(backoff(4, '5'), 16000);
  assert.equal(backoff(0, '0'), 1000);
  assert.equal(backoff(0, 'Wed, 21 Oct 2015 07:28:00 GMT'), 1000);
  assert.equal(backoff(0, null), 1000);
});
