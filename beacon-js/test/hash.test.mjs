import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createHash } from 'node:crypto';
import { hash64, hashUser } from '../src/lib/hash.ts';

test('the user id is sent as SHA-256 of key:id', async () => {
  assert.equal(await hashUser('PUB', 'user-42'), createHash('sha256').update('PUB:user-42').digest('hex'));
});

test('without crypto.subtle a 64-bit non-cryptographic hash stands in', async () => {
  // crypto.subtle is a getter on the prototype; an own property hides it for this test.
  Object.defineProperty(globalThis.crypto, 'subtle', { value: undefined, configurable: true });
  try {
    const h = await hashUser('PUB', 'user-42');
    assert.match(h, /^[0-9a-f]{2,16}$/);
    assert.equal(h, hash64(new TextEncoder().encode('PUB:user-42')));
    assert.notEqual(h, await hashUser('PUB', 'user-43'));
    assert.notEqual(h, await hashUser('OTHER', 'user-42'));
  } finally {
    delete globalThis.crypto.subtle;
    assert.ok(globalThis.crypto.subtle);
  }
});
