import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createHash } from 'node:crypto';
import { hashUser } from '../src/lib/hash.ts';

test('the user id is sent as SHA-256 of key:id', async () => {
  assert.equal(await hashUser('PUB', 'user-42'), createHash('sha256').update('PUB:user-42').digest('hex'));
  assert.notEqual(await hashUser('OTHER', 'user-42'), await hashUser('PUB', 'user-42'));
});

test('without crypto.subtle (an insecure context) there is no hash: the promise rejects', async () => {
  // crypto.subtle is a getter on the prototype; an own property hides it for this test.
  Object.defineProperty(globalThis.crypto, 'subtle', { value: undefined, configurable: true });
  try {
    await assert.rejects(hashUser('PUB', 'user-42'));
  } finally {
    delete globalThis.crypto.subtle;
    assert.ok(globalThis.crypto.subtle);
  }
});
