import assert from 'node:assert/strict';
import { test } from 'node:test';
import { baseUrl, readConfig } from '../src/lib/config.ts';

const PAGE = 'https://shop.example/cart?x=1';
const SRC = 'https://vigil.example/beacon.js';

const DEFAULTS = { sampleRate: 1, errorSampleRate: 1, requireConsent: false, keepParams: [], release: undefined, environment: undefined };

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
  assert.equal(baseUrl('http://[', PAGE, true), null);
});

test('the tag gives project, key, release and environment; the rest has defaults', () => {
  const config = readConfig({ project: '1', key: 'PUB', release: 'shop@1.4.2', environment: 'production' }, SRC, PAGE);
  assert.deepEqual(config, { ...DEFAULTS, bases: ['https://vigil.example'], project: '1', key: 'PUB', release: 'shop@1.4.2', environment: 'production' });
});

test('data-endpoint overrides the script origin and may list several collectors', () => {
  assert.deepEqual(readConfig({ project: '2', key: 'k', endpoint: 'https://vigil.example' }, 'https://cdn.example/js/vigil.js', PAGE).bases, ['https://vigil.example']);
  assert.deepEqual(readConfig({ project: '2', key: 'k', endpoint: 'https://a.example/, https://b.example/v ,' }, SRC, PAGE).bases, [
    'https://a.example',
    'https://b.example/v',
  ]);
  // init() may pass an array
  assert.deepEqual(readConfig({ project: '2', key: 'k', endpoint: ['https://a.example', 'https://b.example'] }, '', PAGE).bases, ['https://a.example', 'https://b.example']);
});

test('sampling rates are read as numbers (above 1 samples everything), anything else means 1', () => {
  const rates = (sampleRate, errorSampleRate) => {
    const c = readConfig({ project: '1', key: 'k', sampleRate, errorSampleRate }, SRC, PAGE);
    return [c.sampleRate, c.errorSampleRate];
  };
  assert.deepEqual(rates('0.25', '0'), [0.25, 0]);
  assert.deepEqual(rates(0.5, 2), [0.5, 2]);
  assert.deepEqual(rates('', 'x'), [1, 1]);
  assert.deepEqual(rates(undefined, -1), [1, 1]);
});

test('require-consent is on unless absent or false: a misspelt gate stays shut', () => {
  const consent = (requireConsent) => readConfig({ project: '1', key: 'k', requireConsent }, SRC, PAGE).requireConsent;
  assert.deepEqual([consent(''), consent('true'), consent(true), consent('yes'), consent('1'), consent(1), consent('FALSE')], [true, true, true, true, true, true, true]);
  assert.deepEqual([consent(undefined), consent(null), consent('false'), consent(false)], [false, false, false, false]);
});

test('keep-params is a comma list', () => {
  assert.deepEqual(readConfig({ project: '1', key: 'k', keepParams: 'page, sort,' }, SRC, PAGE).keepParams, ['page', 'sort']);
  assert.deepEqual(readConfig({ project: '1', key: 'k' }, SRC, PAGE).keepParams, []);
});

test('release and environment are cut to their bounds', () => {
  const config = readConfig({ project: '1', key: 'k', release: 'r'.repeat(300), environment: 'e'.repeat(100) }, SRC, PAGE);
  assert.equal(config.release.length, 200);
  assert.equal(config.environment.length, 64);
});

test('without a project, a key or a collector the beacon stays off', () => {
  assert.equal(readConfig({ key: 'k' }, SRC, PAGE), null);
  assert.equal(readConfig({ project: '1' }, SRC, PAGE), null);
  assert.equal(readConfig({ project: '1', key: '' }, SRC, PAGE), null);
  assert.equal(readConfig({ project: '1', key: 'k' }, '', PAGE), null);
});
