import assert from 'node:assert/strict';
import { test } from 'node:test';
import { truncate } from '../src/lib/truncate.ts';

test('a string within the bound is returned as is', () => {
  assert.equal(truncate('abc', 3), 'abc');
  assert.equal(truncate('', 0), '');
});

test('a longer string is cut to the bound', () => {
  assert.equal(truncate('abcdef', 4), 'abcd');
  assert.equal(truncate('x'.repeat(9000), 8192).length, 8192);
});

test('a cut never splits a surrogate pair', () => {
  const emoji = '\u{1F600}'; // two UTF-16 code units
  assert.equal(truncate(`ab${emoji}`, 3), 'ab');
  assert.equal(truncate(`ab${emoji}`, 4), `ab${emoji}`);
  assert.equal(truncate(`${emoji}${emoji}`, 3), emoji);
});
