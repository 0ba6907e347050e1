import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createErrorEvent } from '../src/lib/errorEvent.ts';

const PAGE = 'https://shop.example/cart';
const NOW = 1764071999870;

test('an Error gives its constructor name, message and raw stack', () => {
  const error = new TypeError('boom 42');
  const event = createErrorEvent(error, 'onerror', { filename: 'https://shop.example/app.js', lineno: 1, colno: 2045 }, NOW, PAGE);
  const { event_id, ...rest } = event;
  assert.match(event_id, /^[0-9a-f]{32}$/);
  assert.deepEqual(rest, {
    type: 'error',
    ts: NOW,
    page_url: PAGE,
    error_type: 'TypeError',
    message: 'boom 42',
    stack: error.stack,
    file: 'https://shop.example/app.js',
    line: 1,
    column: 2045,
    mechanism: 'onerror',
  });
});

test('a subclass reports its own name', () => {
  class PaymentError extends Error {}
  assert.equal(createErrorEvent(new PaymentError('declined'), 'manual', {}, NOW, PAGE).error_type, 'PaymentError');
});

test('a rejection with a non-Error reason is an UnhandledRejection', () => {
  const event = createErrorEvent({ code: 7 }, 'onunhandledrejection', {}, NOW, PAGE);
  assert.equal(event.error_type, 'UnhandledRejection');
  assert.equal(event.message, '{"code":7}');
  assert.equal(event.stack, undefined);
  assert.equal(event.mechanism, 'onunhandledrejection');
  assert.equal(createErrorEvent(undefined, 'onunhandledrejection', {}, NOW, PAGE).message, 'undefined');
});

test('a thrown non-Error is an Error with the value as message', () => {
  const event = createErrorEvent('plain string', 'onerror', { message: 'Uncaught plain string' }, NOW, PAGE);
  assert.equal(event.error_type, 'Error');
  assert.equal(event.message, 'plain string');
});

test('an error event without an error object keeps the browser message', () => {
  const event = createErrorEvent(null, 'onerror', { message: 'Script error.', filename: '', lineno: 0, colno: 0 }, NOW, PAGE);
  assert.equal(event.message, 'Script error.');
  assert.equal(event.error_type, 'Error');
  assert.equal('file' in event, false);
  assert.equal('line' in event, false);
  assert.equal('column' in event, false);
});

test('values that cannot be stringified still give an event', () => {
  const cyclic = {};
  cyclic.self = cyclic;
  assert.equal(createErrorEvent(cyclic, 'onunhandledrejection', {}, NOW, PAGE).message, '[object Object]');
  assert.equal(createErrorEvent(Object.create(null), 'manual', {}, NOW, PAGE).message, '{}');
});

test('every string is cut to its protocol bound', () => {
  const error = new Error('m'.repeat(10000));
  error.stack = 's'.repeat(20000);
  const event = createErrorEvent(error, 'manual', { filename: 'f'.repeat(3000) }, NOW, `${PAGE}?${'q'.repeat(3000)}`);
  assert.equal(event.message.length, 8192);
  assert.equal(event.stack.length, 16384);
  assert.equal(event.file.length, 2048);
  assert.equal(event.page_url.length, 2048);
  class N extends Error {}
  Object.defineProperty(N, 'name', { value: 'X'.repeat(500) });
  assert.equal(createErrorEvent(new N('x'), 'manual', {}, NOW, PAGE).error_type.length, 200);
});
