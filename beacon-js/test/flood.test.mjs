import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import { createFlood, MAX_PER_MINUTE, MAX_PER_PAGE, MAX_SEEN } from '../src/lib/flood.ts';

const error = (message, stack = `Error: ${message}\n    at f (https://x.example/a.js:1:2)\n    at g (https://x.example/a.js:3:4)`) => ({
  type: 'error',
  event_id: Math.random().toString(36),
  ts: Date.now(),
  error_type: 'Error',
  message,
  stack,
});

test('an identical error is a duplicate: same type, message and first frame', () => {
  const flood = createFlood();
  assert.equal(flood(error('a')), undefined);
  assert.equal(flood(error('a')), 'duplicate');
  // a different caller further down the stack is still the same error
  assert.equal(flood(error('a', 'Error: a\n    at f (https://x.example/a.js:1:2)\n    at h (https://x.example/a.js:9:9)')), 'duplicate');
  assert.equal(flood(error('a', 'Error: a\n    at f (https://x.example/a.js:5:2)')), undefined);
  assert.equal(flood(error('b')), undefined);
  assert.equal(flood({ ...error('a'), error_type: 'TypeError' }), undefined);
});

test('at most 30 a minute and 100 a page, per type', () => {
  mock.timers.enable({ apis: ['Date'], now: 1764072000000 });
  try {
    const flood = createFlood();
    const results = [];
    for (let minute = 0; minute < 5; minute++) {
      for (let i = 0; i < 40; i++) results.push(flood(error(`m${minute}-${i}`)));
      mock.timers.tick(60000);
    }
    assert.equal(results.filter((r) => r === undefined).length, MAX_PER_PAGE);
    assert.deepEqual(results.slice(0, 40).filter((r) => r === 'rate_limit').length, 40 - MAX_PER_MINUTE);
    // another type has its own budget
    assert.equal(flood({ type: 'network', url: 'https://x.example/', status: 500 }), undefined);
  } finally {
    mock.timers.reset();
  }
});

test('vitals are never limited; page views never duplicates', () => {
  const flood = createFlood();
  for (let i = 0; i < 200; i++) assert.equal(flood({ type: 'vital', name: 'CLS', metric_id: 'v5-1' }), undefined);
  assert.equal(flood({ type: 'pageview', navigation: 'route_change' }), undefined);
  assert.equal(flood({ type: 'pageview', navigation: 'route_change' }), undefined);
});

test('page views are limited per minute only, never per page', () => {
  mock.timers.enable({ apis: ['Date'], now: 1764072000000 });
  try {
    const flood = createFlood();
    const results = [];
    for (let minute = 0; minute < 5; minute++) {
      for (let i = 0; i < 40; i++) results.push(flood({ type: 'pageview', navigation: 'route_change' }));
      mock.timers.tick(60000);
    }
    assert.equal(results.filter((r) => r === undefined).length, 5 * MAX_PER_MINUTE);
    // and they do not count against errors
    assert.equal(flood(error('after many views')), undefined);
  } finally {
    mock.timers.reset();
  }
});

test('memory stays bounded and the cost linear when every error differs', () => {
  const flood = createFlood();
  // a first stack line of 16,000 characters: the first-frame pattern must stay linear
  const stack = `Error: ${'x'.repeat(16000)}\n    at f (https://x.example/a.js:1:2)`;
  const start = performance.now();
  for (let i = 0; i < 50; i++) flood(error(`long ${i}`, stack));
  assert.ok(performance.now() - start < 100, `${performance.now() - start} ms`);
  // beyond MAX_SEEN distinct errors, new ones are not remembered (so not caught as duplicates)
  for (let i = 0; i < MAX_SEEN + 10; i++) flood(error(`e${i}`));
  const late = error(`late one`);
  flood(late);
  assert.notEqual(flood({ ...late }), 'duplicate');
  assert.equal(flood(error('e0')), 'duplicate');
});
