import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classify } from '../src/lib/classify.ts';

test('responses fail from status 400 on', () => {
  assert.equal(classify('load', 200), undefined);
  assert.equal(classify('load', 0), undefined); // an opaque (no-cors) response
  assert.equal(classify('load', 399), undefined);
  assert.deepEqual(classify('load', 404), ['http_error', 'application', 'http.error']);
  assert.deepEqual(classify('load', 503), ['http_error', 'application', 'http.error']);
});

test('aborts and timeouts are the application giving up', () => {
  assert.deepEqual(classify('AbortError', 0), ['abort', 'application', 'abandoned']);
  assert.deepEqual(classify('abort', 0), ['abort', 'application', 'abandoned']);
  assert.deepEqual(classify('TimeoutError', 0), ['timeout', 'application', 'abandoned']);
  assert.deepEqual(classify('timeout', 0), ['timeout', 'application', 'unknown']);
});

test('anything else is a network error of unknown phase', () => {
  assert.deepEqual(classify('TypeError', 0), ['network_error', 'unknown', 'unknown']);
  assert.deepEqual(classify('error', 0), ['network_error', 'unknown', 'unknown']);
  assert.deepEqual(classify(undefined, 0), ['network_error', 'unknown', 'unknown']);
});
