import assert from 'node:assert/strict';
import { test } from 'node:test';
import { baseUrl, readConfig } from '../src/lib/config.ts';

const PAGE = 'https://shop.example/cart?x=1';

/** Stands in for the `<script>` element: readConfig only reads `dataset` and `src`. */
function script(src, dataset) {
  return { src, dataset };
}

test('the collector is the script origin and path without the file name', () => {
  assert.equal(baseUrl('http://127.0.0.1:8470/beacon.js', PAGE, true), 'http://127.0.0.1:8470');
  assert.equal(baseUrl('https://vigil.example/monitor/beacon.js?v=2', PAGE, true), 'https://vigil.example/monitor');
  assert.equal(baseUrl('/beacon.js', PAGE, true), 'https://shop.example');
});

test('an endpoint is taken as given, without a trailing slash', () => {
  assert.equal(baseUrl('https://vigil.example/prefix/', PAGE, false), 'https://vigil.example/prefix');
  assert.equal(baseUrl('/vigil', PAGE, false), 'https://shop.example/vigil');
});

test('only http and https URLs are accepted', () => {
  assert.equal(baseUrl('javascript:alert(1)', PAGE, true), null);
  assert.equal(baseUrl('', PAGE, true), null);
});

test('the tag gives project, key, release and environment', () => {
  const config = readConfig(
    script('https://vigil.example/beacon.js', { project: '1', key: 'PUB', release: 'shop@1.4.2', environment: 'production' }),
    PAGE,
  );
  assert.deepEqual(config, { base: 'https://vigil.example', project: '1', key: 'PUB', release: 'shop@1.4.2', environment: 'production' });
});

test('data-endpoint overrides the script origin', () => {
  const config = readConfig(script('https://cdn.example/js/vigil.js', { project: '2', key: 'k', endpoint: 'https://vigil.example' }), PAGE);
  assert.deepEqual(config, { base: 'https://vigil.example', project: '2', key: 'k' });
});

test('release and environment are cut to their bounds', () => {
  const config = readConfig(script('https://v.example/beacon.js', { project: '1', key: 'k', release: 'r'.repeat(300), environment: 'e'.repeat(100) }), PAGE);
  assert.equal(config.release.length, 200);
  assert.equal(config.environment.length, 64);
});

test('without a project, a key or a script the beacon stays off', () => {
  assert.equal(readConfig(null, PAGE), null);
  assert.equal(readConfig(script('https://v.example/beacon.js', { key: 'k' }), PAGE), null);
  assert.equal(readConfig(script('https://v.example/beacon.js', { project: '1' }), PAGE), null);
  assert.equal(readConfig(script('https://v.example/beacon.js', { project: '1', key: '' }), PAGE), null);
});
