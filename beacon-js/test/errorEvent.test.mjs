import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clip } from '../src/lib/clip.ts';
import { createErrorEvent } from '../src/lib/errorEvent.ts';

const PAGE = 'https://shop.example/cart';
const NOW = 1764071999870;
globalThis.location = { href: PAGE };

/** The event as sent: JSON leaves out fields that are undefined. */
const wire = (event) => JSON.parse(JSON.stringify(event));

test('an Error gives its constructor name, message and raw stack', () => {
  const error = new TypeError('boom 42');
  const { event_id, ...rest } = wire(createErrorEvent(error, 'onerror', { filename: 'https://shop.example/app.js', lineno: 1, colno: 2045 }, NOW));
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
    cross_origin: false,
    causes: [],
  });
});

test('a subclass reports its own name', () => {
  class PaymentError extends Error {}
  assert.equal(createErrorEvent(new PaymentError('declined'), 'manual').error_type, 'PaymentError');
});

test('the cause chain is followed, outermost first, at most 5 links', () => {
  const root = new RangeError('root');
  const mid = new Error('mid', { cause: root });
  const top = new TypeError('top', { cause: mid });
  const { causes } = wire(createErrorEvent(top, 'manual'));
  assert.deepEqual(
    causes.map((c) => [c.error_type, c.message]),
    [
      ['Error', 'mid'],
      ['RangeError', 'root'],
    ],
  );
  assert.equal(causes[0].stack, mid.stack);
  // a non-Error cause is described like a thrown value
  assert.deepEqual(wire(createErrorEvent(new Error('x', { cause: 'because' }), 'manual')).causes, [{ error_type: 'Error', message: 'because' }]);
  // a cycle ends at the bound
  const a = new Error('a');
  const b = new Error('b', { cause: a });
  a.cause = b;
  assert.equal(createErrorEvent(a, 'manual').causes.length, 5);
  assert.deepEqual(createErrorEvent(new Error('plain'), 'manual').causes, []);
});

test('a rejection with a non-Error reason is an UnhandledRejection', () => {
  const event = wire(createErrorEvent({ code: 7 }, 'onunhandledrejection'));
  assert.equal(event.error_type, 'UnhandledRejection');
  assert.equal(event.message, '{"code":7}');
  assert.equal(event.stack, undefined);
  assert.equal(event.mechanism, 'onunhandledrejection');
  assert.equal(createErrorEvent(undefined, 'onunhandledrejection').message, 'undefined');
});

test('positions beyond the protocol bound are capped; missing ones are sent as null', () => {
  const event = wire(createErrorEvent(new Error('x'), 'onerror', { lineno: 2 ** 32 - 1, colno: 7 }));
  assert.deepEqual([event.line, event.column], [2 ** 31 - 1, 7]);
  const manual = wire(createErrorEvent(new Error('x'), 'manual'));
  assert.deepEqual([manual.line, manual.column], [null, null]);
});

test('a thrown non-Error is an Error with the value as message', () => {
  const event = createErrorEvent('plain string', 'onerror', { message: 'Uncaught plain string' });
  assert.equal(event.error_type, 'Error');
  assert.equal(event.message, 'plain string');
});

test('"Script error." without an error object is flagged cross-origin', () => {
  const event = wire(createErrorEvent(null, 'onerror', { message: 'Script error.', filename: '', lineno: 0, colno: 0 }));
  assert.equal(event.message, 'Script error.');
  assert.equal(event.error_type, 'Error');
  assert.equal(event.cross_origin, true);
  // no file and position 0: unknown
  assert.deepEqual([event.file, event.line, event.column], ['', 0, 0]);
  assert.equal(wire(createErrorEvent(new Error('Script error.'), 'onerror', { message: 'Script error.' })).cross_origin, false);
});

test('values that cannot be stringified still give an event', () => {
  const cyclic = {};
  cyclic.self = cyclic;
  assert.equal(createErrorEvent(cyclic, 'onunhandledrejection').message, '[object]');
  assert.equal(createErrorEvent(Object.create(null), 'manual').message, '{}');
  assert.equal(createErrorEvent(10n, 'manual').message, '10');
});

test('message, stack and file are redacted; line and column survive', () => {
  const error = new Error('mail bob@example.com about order 1234567890 at https://shop.example/p?id=5#x');
  error.stack = 'Error: x\n    at f (https://shop.example/app.js?v=123456789:1:2045)';
  const event = createErrorEvent(error, 'manual', { filename: 'https://shop.example/app.js?v=1' });
  assert.equal(event.message, 'mail [email] about order [number] at https://shop.example/p?id=[redacted]');
  assert.equal(event.stack, 'Error: x\n    at f (https://shop.example/app.js?v=[redacted]:1:2045)');
  assert.equal(event.file, 'https://shop.example/app.js?v=[redacted]');
});

test('clip cuts every string to its protocol bound', () => {
  const error = new Error('m'.repeat(10000));
  error.stack = 's'.repeat(20000);
  const event = clip(createErrorEvent(error, 'manual', { filename: 'https://f.example/' + 'f'.repeat(3000) }));
  assert.equal(event.message.length, 8192);
  assert.equal(event.stack.length, 16384);
  assert.equal(event.file.length, 2048);
  class N extends Error {}
  Object.defineProperty(N, 'name', { value: 'X'.repeat(500) });
  assert.equal(clip(createErrorEvent(new N('x'), 'manual')).error_type.length, 200);
});

test("the debug ids a Sentry tool injected are sent for the scripts of the stack, by URL", () => {
  const error = new TypeError('boom');
  error.stack = 'TypeError: boom\n    at t (https://cdn.example/app.js?v=7:1:80)\n    at https://cdn.example/vendor.js:2:10';
  // sentry-cli's snippet keys each script's id by a stack captured in it: Chrome's and Firefox's shapes.
  globalThis._sentryDebugIds = {
    'Error\n    at https://cdn.example/app.js?v=7:1:20\n    at https://cdn.example/app.js?v=7:1:99': 'a1b2c3d4-0000-4000-8000-000000000001',
    '@https://cdn.example/vendor.js:1:5\n': 'a1b2c3d4-0000-4000-8000-000000000002',
    'Error\n    at https://cdn.example/other.js:1:1': 'a1b2c3d4-0000-4000-8000-000000000003',
  };
  try {
    assert.deepEqual(wire(createErrorEvent(error, 'manual')).debug_ids, {
      'https://cdn.example/app.js?v=[redacted]': 'a1b2c3d4-0000-4000-8000-000000000001',
      'https://cdn.example/vendor.js': 'a1b2c3d4-0000-4000-8000-000000000002',
    });
    assert.equal(wire(createErrorEvent('no stack', 'manual')).debug_ids, undefined);
  } finally {
    delete globalThis._sentryDebugIds;
  }
  assert.equal(wire(createErrorEvent(error, 'manual')).debug_ids, undefined);
});

test('debug ids stay within the protocol bounds whatever the page left', () => {
  const urls = Array.from({ length: 70 }, (_, i) => `https://cdn.example/chunk-${i}.js`);
  const error = new Error('boom');
  error.stack = 'Error: boom\n' + urls.map((u) => `    at f (${u}:1:5)`).join('\n');
  globalThis._sentryDebugIds = Object.fromEntries(urls.map((u, i) => [`Error\n    at ${u}:1:1`, i === 0 ? 'x'.repeat(500) : `id-${i}`]));
  try {
    const ids = wire(createErrorEvent(error, 'manual')).debug_ids;
    assert.equal(Object.keys(ids).length, 64);
    assert.equal(ids['https://cdn.example/chunk-0.js'], 'x'.repeat(64));
  } finally {
    delete globalThis._sentryDebugIds;
  }
});
