import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createCrumbs } from '../src/lib/crumbs.ts';

test('the last 30 breadcrumbs, oldest first, redacted and cut to 512', () => {
  const crumbs = createCrumbs();
  assert.equal(crumbs.list(), undefined);
  for (let i = 0; i < 35; i++) crumbs.add('click', `button#b${i}`);
  crumbs.add('console', `mail jane@example.com ${'x'.repeat(600)}`, 'warning');
  const list = crumbs.list();
  assert.equal(list.length, 30);
  assert.equal(list[0].message, 'button#b6');
  const last = list[29];
  assert.equal(last.category, 'console');
  assert.equal(last.level, 'warning');
  assert.equal(last.message.length, 512);
  assert.ok(last.message.startsWith('mail [email] xxx'));
  assert.equal(list[0].level, 'info');
  // a copy: later crumbs do not change what an event already carries
  crumbs.add('navigation', 'https://x.example/next');
  assert.equal(list.length, 30);
  assert.equal(list[29], last);
});
