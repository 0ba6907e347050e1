import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mask, redactText, redactUrl } from '../src/lib/redact.ts';

test('query values are redacted and the fragment dropped', () => {
  assert.equal(redactUrl('https://shop.example/search?q=shoes&page=2#top'), 'https://shop.example/search?q=[redacted]&page=[redacted]');
  assert.equal(redactUrl('https://shop.example/a?flag&x='), 'https://shop.example/a?flag&x=[redacted]');
  assert.equal(redactUrl('https://shop.example/a#only'), 'https://shop.example/a');
  assert.equal(redactUrl('/relative?a=1'), '/relative?a=[redacted]');
  assert.equal(redactUrl(''), '');
});

test('allow-listed parameters keep their values', () => {
  assert.equal(redactUrl('https://shop.example/s?page=2&q=x&sort=asc', ['page', 'sort']), 'https://shop.example/s?page=2&q=[redacted]&sort=asc');
});

test('emails and runs of 9+ digits are masked', () => {
  assert.equal(mask('write to Jane.Doe+x@mail.example.co.uk now'), 'write to [email] now');
  assert.equal(mask('card 4111111111111111, id 12345678'), 'card [number], id 12345678');
  assert.equal(mask('pkg@1.2.3 and fn@https://x'), 'pkg@1.2.3 and fn@https://x');
  assert.equal(redactUrl('https://shop.example/u/jane@mail.example/orders/1234567890'), 'https://shop.example/u/[email]/orders/[number]');
});

test('a stack keeps its line and column numbers, whatever their length', () => {
  const stack = 'TypeError: x\n    at total (https://shop.example/app.js?v=abc:1:123456789)\n    at https://shop.example/b.js:22:3';
  assert.equal(redactText(stack), 'TypeError: x\n    at total (https://shop.example/app.js?v=[redacted]:1:123456789)\n    at https://shop.example/b.js:22:3');
  // Firefox and Safari frames: name@url:line:column
  assert.equal(redactText('f@https://shop.example/a.js?t=9:10:20'), 'f@https://shop.example/a.js?t=[redacted]:10:20');
});

test('URLs inside messages are redacted', () => {
  assert.equal(redactText('GET https://api.example/x?token=s3cr3t#frag failed'), 'GET https://api.example/x?token=[redacted] failed');
  assert.equal(redactText('see "https://a.example/?e=a@b.example"'), 'see "https://a.example/?e=[redacted]"');
});

test('query strings without a scheme are redacted too; plain words are left alone', () => {
  assert.equal(redactText('offline ?n=1'), 'offline ?n=[redacted]');
  assert.equal(redactText('GET /api/cart?user=alice failed'), 'GET /api/cart?user=[redacted] failed');
  assert.equal(redactText("what? Cannot read properties of undefined (reading 'x') in a?.b"), "what? Cannot read properties of undefined (reading 'x') in a?.b");
  assert.equal(redactText('issue #123 at :12:34'), 'issue #123 at :12:34');
});

test('redaction stays fast on long text without separators', () => {
  for (const text of ['a'.repeat(32768), '1a'.repeat(16384), 'x@'.repeat(16384), 'https://'.repeat(4096)]) {
    const start = performance.now();
    redactText(text);
    assert.ok(performance.now() - start < 200, `${text.slice(0, 8)}…: ${performance.now() - start} ms`);
  }
});

test('a digit run after a colon is masked unless it is a stack position', () => {
  // JSON of a rejected object, a tel: link
  assert.equal(redactText('{"card":4111111111111111}'), '{"card":[number]}');
  assert.equal(redactText('call tel:5551234567 now'), 'call tel:[number] now');
  assert.equal(mask('id:123456789012'), 'id:[number]');
  // positions: a :line:column pair, or a :line after a script
  assert.equal(mask('at f (x:1:123456789)'), 'at f (x:1:123456789)');
  assert.equal(mask('app.js:123456789'), 'app.js:123456789');
  assert.equal(mask('chunk.mjs:123456789:4'), 'chunk.mjs:123456789:4');
});

test('credentials in URLs are dropped', () => {
  assert.equal(redactUrl('https://admin:hunter2@10.0.0.5/x?y=1'), 'https://10.0.0.5/x?y=[redacted]');
  assert.equal(redactUrl('ftp://user@files.example/a'), 'ftp://files.example/a');
  assert.equal(redactText('GET https://admin:hunter2@10.0.0.5/status failed'), 'GET https://10.0.0.5/status failed');
  assert.equal(redactUrl('https://shop.example/a/b'), 'https://shop.example/a/b');
});

test('URL-encoded emails are masked', () => {
  assert.equal(redactUrl('https://shop.example/u/jane%40mail.example/orders'), 'https://shop.example/u/[email]/orders');
  assert.equal(mask('JANE.DOE%40Mail.Example.com'), '[email]');
});

test('redaction stays fast on worst-case inputs', () => {
  const cases = [
    'a'.repeat(30000) + '@', // a long word with an @ (the email pattern)
    'x@' + 'a'.repeat(30000),
    'https://x/' + ':1'.repeat(15000) + 'x', // stack positions that never end the word
    '?' + ':1'.repeat(15000) + 'x',
    ':' + '1'.repeat(30000) + 'x',
    '%40'.repeat(10000),
    '//' + 'a'.repeat(30000),
    '?' + '&a'.repeat(15000),
  ];
  for (const text of cases) {
    const start = performance.now();
    redactText(text);
    redactUrl(text);
    assert.ok(performance.now() - start < 50, `${text.slice(0, 8)}…: ${performance.now() - start} ms`);
  }
});
