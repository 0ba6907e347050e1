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
const NO_EVENTS = new Map();

test('TTFB: waiting, DNS, connect and request add up to the value', () => {
  const a = attribute(metric('TTFB', 200, [NAV]), NO_EVENTS, NAV, noResource);
  assert.deepEqual(a, { waiting: 10, dns: 20, connect: 40, request: 130 });
});

test('FCP: time to first byte and the render delay after it', () => {
  assert.deepEqual(attribute(metric('FCP', 450, [{ startTime: 450 }]), NO_EVENTS, NAV, noResource), { ttfb: 200, render_delay: 250 });
});

test('LCP of an image: the four phases add up to the value', () => {
  const entry = { startTime: 1000, element: el('IMG', 'hero', ['wide']), url: 'https://cdn.example/hero.jpg?sig=abc' };
  const resource = { startTime: 240, requestStart: 300, responseEnd: 700 };
  const a = attribute(metric('LCP', 1000, [entry]), NO_EVENTS, NAV, (url) => (url === entry.url ? resource : undefined));
  assert.deepEqual(a, { target: 'img#hero.wide', url: 'https://cdn.example/hero.jpg?sig=[redacted]', ttfb: 200, load_delay: 100, load_duration: 400, render_delay: 300 });
  assert.equal(a.ttfb + a.load_delay + a.load_duration + a.render_delay, 1000);
});

test('LCP of text: no resource, all render delay', () => {
  const a = attribute(metric('LCP', 800, [{ startTime: 800, element: el('H1'), url: '' }]), NO_EVENTS, NAV, noResource);
  assert.deepEqual(JSON.parse(JSON.stringify(a)), { target: 'h1', ttfb: 200, load_delay: 0, load_duration: 0, render_delay: 600 });
});

test('INP: input delay of the first event, processing up to the end of the handlers that ran last, then presentation', () => {
  // web-vitals keeps pointerdown only (the longest duration, the earliest start); the
  // click whose handler ran 100 ms is in the beacon's own record of the interaction.
  const pointerdown = { name: 'pointerdown', interactionId: 7, startTime: 1000, duration: 240, processingStart: 1030, processingEnd: 1031, target: el('BUTTON', 'buy') };
  const click = { name: 'click', interactionId: 7, startTime: 1001, duration: 239, processingStart: 1040, processingEnd: 1140, target: el('BUTTON', 'buy') };
  const a = attribute(metric('INP', 240, [pointerdown]), new Map([[7, click]]), NAV, noResource);
  assert.deepEqual(a, { target: 'button#buy', event: 'click', input_delay: 30, processing: 110, presentation: 100 });
  assert.equal(a.input_delay + a.processing + a.presentation, 240);
  // nothing recorded for the interaction (a browser without the observer): its first event alone
  const one = attribute(metric('INP', 160, [{ name: 'keydown', interactionId: 9, startTime: 10, duration: 160, processingStart: 12, processingEnd: 162, target: el('INPUT') }]), new Map([[7, click]]), NAV, noResource);
  assert.deepEqual(one, { target: 'input', event: 'keydown', input_delay: 2, processing: 150, presentation: 8 });
});

test('CLS: the largest shift and the element it moved', () => {
  const entries = [
    { startTime: 500, value: 0.05, sources: [{ node: el('DIV', 'ad') }] },
    { startTime: 900.4, value: 0.2, sources: [{ node: null }, { node: { nodeType: 3, parentElement: el('P', '', ['lead']) } }] },
  ];
  assert.deepEqual(attribute(metric('CLS', 0.25, entries), NO_EVENTS, NAV, noResource), { target: 'p.lead', largest_shift_value: 0.2, largest_shift_time: 900 });
});

test('no entries, no attribution (a bfcache restore, a CLS of 0)', () => {
  assert.equal(attribute(metric('CLS', 0, []), NO_EVENTS, NAV, noResource), undefined);
});

test('a prerendered page counts from its activation', () => {
  const nav = { ...NAV, activationStart: 150 };
  assert.deepEqual(attribute(metric('FCP', 300, [{ startTime: 450 }]), NO_EVENTS, nav, noResource), { ttfb: 50, render_delay: 250 });
});
