import assert from 'node:assert/strict';
import { test } from 'node:test';
import { byteLength } from '../src/lib/byteLength.ts';

test('counts UTF-8 bytes as the encoder does', () => {
  for (const value of ['', 'ascii', 'é', '€', '\u{1F600}', 'a\u{1F600}b€é', 'lone \ud800 high', 'lone \udc00 low', '\ud800']) {
    assert.equal(byteLength(value), Buffer.byteLength(value, 'utf8'), JSON.stringify(value));
  }
});
