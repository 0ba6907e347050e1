import assert from 'node:assert/strict';
import { test } from 'node:test';

// A localStorage that fills up on demand, read and written as named properties like the
// real one; a sessionStorage for the tab. Set before the module's first use.
let full = false;
const items = { 'site.own': 'kept' };
globalThis.localStorage = new Proxy(items, {
  set(target, key, value) {
    if (full) throw new DOMException('quota', 'QuotaExceededError');
    target[key] = String(value);
    return true;
  },
});
globalThis.sessionStorage = {};
const { forget, getItem, keys, removeItem, setItem, tabId, TAB_KEY } = await import('../src/lib/storage.ts');

test('items are stored in localStorage, listed and removed', () => {
  setItem('vigil.session', '{"id":"x"}');
  assert.equal(items['vigil.session'], '{"id":"x"}');
  assert.equal(getItem('vigil.session'), '{"id":"x"}');
  assert.ok(keys().includes('vigil.session'));
  removeItem('vigil.session');
  assert.equal(getItem('vigil.session'), undefined);
});

test("the tab's id is made once and kept in sessionStorage", () => {
  const id = tabId();
  assert.match(id, /^[0-9a-f]{32}$/);
  assert.equal(tabId(), id);
  assert.equal(sessionStorage[TAB_KEY], id);
});

test("forgetting deletes the beacon's keys and the tab id, nothing of the site's", () => {
  setItem('vigil.session', '{}');
  setItem('vigil.outbox.1.a', '{}');
  setItem('vigil.outbox.2.b', '{}');
  tabId();
  forget();
  assert.deepEqual(keys(), ['site.own']);
  assert.equal(sessionStorage[TAB_KEY], undefined);
});

test('a full storage moves everything to memory for the rest of the page', () => {
  setItem('vigil.a', '1');
  full = true;
  setItem('vigil.b', '2');
  assert.equal(getItem('vigil.b'), '2');
  assert.equal(getItem('vigil.a'), '1');
  assert.equal(getItem('site.own'), 'kept');
  assert.equal(items['vigil.b'], undefined);
});
