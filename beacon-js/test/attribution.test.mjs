import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attribute } from '../src/lib/attribution.ts';

/** A navigation entry: DNS 10–30, connect 30–70 (TLS from 50), request 70, first byte 200. */
const NAV = {
  domainLookupStart: 10,
  domainLookupEnd: 30,
  connectStart: 30,
  secureConnectionStart: 50,
  connectEnd: 70,
  requestStart: 70,
  responseStart: 200,
  domInteractive: 400,
  loadEventEnd: 900,
  activationStart: 0,
};
const el = (tagName, id = '', classes = []) => ({ nodeType: 1, tagName, id, classList: classes });
const metric = (name, value, entries) => ({ name, value, rating: 'good', delta: value, id: 'v5-1', entries, navigationType: 'navigate' });
const noResource = () => undefined;

test('TTFB: waiting, DNS, connect and request add up to the value', () => {
  const a = attribute(metric('TTFB', 200, [NAV]), NAV, noResource);
  assert.deepEqual(a, { waiting: 10, dns: 20, connect: 40, request: 130 });
});

test('FCP: time to first byte and the render delay after it', () => {
  assert.deepEqual(attribute(metric('FCP', 450, [{ startTime: 450 }]), NAV, noResource), { ttfb: 200, render_delay: 250 });
});

test('LCP of an image: the four phases add up to the value', () => {
  const entry = { startTime: 1000, element: el('IMG', 'hero', ['wide']), url: 'https://cdn.example/hero.jpg?sig=abc' };
  const resource = { startTime: 240, requestStart: 300, responseEnd: 700 };
  const a = attribute(metric('LCP', 1000, [entry]), NAV, (url) => (url === entry.url ? resource : undefined));
  assert.deepEqual(a, { target: 'img#hero.wide', url: 'https://cdn.example/hero.jpg?sig=[redacted]', ttfb: 200, load_delay: 100, load_duration: 400, render_delay: 300 });
  assert.equal(a.ttfb + a.load_delay + a.load_duration + a.render_delay, 1000);
});

test('LCP of text: no resource, all render delay', () => {
  const a = attribute(metric('LCP', 800, [{ startTime: 800, element: el('H1'), url: '' }]), NAV, noResource);
  assert.deepEqual(JSON.parse(JSON.stringify(a)), { target: 'h1', ttfb: 200, load_delay: 0, load_duration: 0, render_delay: 600 });
});

test('INP: input delay, processing and presentation of the interaction', () => {
  const entries = [
    { name: 'pointerdown', startTime: 1000, duration: 240, processingStart: 1030, processingEnd: 1130, target: null },
    { name: 'click', startTime: 1000, duration: 240, processingStart: 1040, processingEnd: 1140, target: el('BUTTON', 'buy') },
  ];
  const a = attribute(metric('INP', 240, entries), NAV, noResource);
  assert.deepEqual(a, { target: 'button#buy', event: 'pointerdown', input_delay: 30, processing: 100, presentation: 110 });
  assert.equal(a.input_delay + a.processing + a.presentation, 240);
});

test('CLS: the largest shift and the element it moved', () => {
  const entries = [
    { startTime: 500, value: 0.05, sources: [{ node: el('DIV', 'ad') }] },
    { startTime: 900.4, value: 0.2, sources: [{ node: null }, { node: { nodeType: 3, parentElement: el('P', '', ['lead']) } }] },
  ];
  assert.deepEqual(attribute(metric('CLS', 0.25, entries), NAV, noResource), { target: 'p.lead', largest_shift_value: 0.2, largest_shift_time: 900 });
});

test('no entries, no attribution (a bfcache restore, a CLS of 0)', () => {
  assert.equal(attribute(metric('CLS', 0, []), NAV, noResource), undefined);
});

test('a prerendered page counts from its activation', () => {
  const nav = { ...NAV, activationStart: 150 };
  assert.deepEqual(attribute(metric('FCP', 300, [{ startTime: 450 }]), nav, noResource), { ttfb: 50, render_delay: 250 });
});
