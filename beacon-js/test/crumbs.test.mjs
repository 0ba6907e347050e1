import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addCrumb } from '../src/lib/crumbs.ts';

test('the last 30 breadcrumbs, oldest first, redacted and cut to 512', () => {
  const list = [];
  for (let i = 0; i < 35; i++) addCrumb(list, 'click', `button#b${i}`);
  addCrumb(list, 'console', `mail jane@example.com ${'x'.repeat(600)}`, 'warning');
  assert.equal(list.length, 30);
  assert.equal(list[0].message, 'button#b6');
  const last = list[29];
  assert.equal(last.category, 'console');
  assert.equal(last.level, 'warning');
  assert.equal(last.message.length, 512);
  assert.ok(last.message.startsWith('mail [email] xxx'));
  assert.equal(list[0].level, 'info');
  addCrumb(list, 'navigation', 'https://x.example/next');
  assert.equal(list.length, 30);
  assert.equal(list[28], last);
});
