import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hex, randomId } from '../src/lib/ids.ts';

test('16 random bytes give 32 lowercase hex characters', () => {
  assert.match(randomId(), /^[0-9a-f]{32}$/);
  assert.equal(hex(new Uint8Array([0, 15, 255])), '000fff');
});

test('ids differ', () => {
  assert.equal(new Set(Array.from({ length: 100 }, () => randomId())).size, 100);
});
