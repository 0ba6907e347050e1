import assert from 'node:assert/strict';
import { afterEach, beforeEach, mock, test } from 'node:test';

// Storage as the beacon reads it: named properties (lib/storage.ts). One localStorage for
// the site; a sessionStorage per tab.
const local = (globalThis.localStorage = {});
const tabs = { A: { 'vigil.tab': 'A' }, B: { 'vigil.tab': 'B' } };
globalThis.sessionStorage = tabs.A;
const { createTransport } = await import('../src/lib/transport.ts');

const CONFIG = { bases: ['https://a.example', 'https://b.example'], project: '1', key: 'K', sampleRate: 1, errorSampleRate: 1, requireConsent: false, keepParams: [] };
const body = (id, pad = 0) => JSON.stringify({ v: 1, batch_id: id, sent_at: 1, events: [{ event_id: id, pad: 'x'.repeat(pad) }] });
const stored = (tab = 'A') => JSON.parse(local[`vigil.outbox.1.${tab}`] || '{"q": []}');
const settle = () => new Promise((resolve) => setImmediate(resolve));

/** A page load: a transport over the shared storage, with a fake fetch and sendBeacon. */
function page(tab = 'A', { beaconOk = true } = {}) {
  globalThis.sessionStorage = tabs[tab];
  const posts = [];
  const beacons = [];
  const dropped = {};
  let allowed = true;
  const post = (url, init) =>
    new Promise((resolve, reject) => posts.push({ url, init, answer: (status, retryAfter) => resolve({ status, headers: { get: () => retryAfter ?? null } }), fail: () => reject(new TypeError('Failed to fetch')) }));
  const beacon = (url, data) => (beaconOk ? (beacons.push({ url, data }), true) : false);
  const transport = createTransport(CONFIG, (reason, n = 1) => (dropped[reason] = (dropped[reason] || 0) + n), () => allowed, post, beacon);
  return { transport, posts, beacons, dropped, refuse: () => (allowed = false) };
}

beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1764072000000 }));
afterEach(() => {
  mock.timers.reset();
  for (const k of Object.keys(local)) delete local[k];
});

test('bodies are stored before they are sent and removed once answered', async () => {
  const { transport, posts } = page();
  transport.add(body('a'));
  transport.add(body('b'));
  assert.deepEqual(stored().q, [body('a'), body('b')]);
  transport.pump();
  assert.equal(posts.length, 2);
  assert.equal(posts[0].url, 'https://a.example/api/1/events?key=K');
  assert.deepEqual({ ...posts[0].init, signal: undefined }, { method: 'POST', body: body('a'), keepalive: true, credentials: 'omit', signal: undefined });
  assert.ok(posts[0].init.signal instanceof AbortSignal); // a send that gets no answer times out
  posts[0].answer(202);
  posts[1].answer(202);
  await settle();
  assert.deepEqual(stored().q, []);
});

test('400, 403 and 413 are never retried: dropped and counted; anything else stays and moves on', async () => {
  for (const status of [400, 403, 413]) {
    const { transport, posts, dropped } = page();
    transport.add(body(`r${status}`));
    transport.pump();
    posts[0].answer(status);
    await settle();
    assert.deepEqual(stored().q, []);
    assert.deepEqual(dropped, { rejected: 1 });
  }
  for (const [status, next] of [[404, 1], [401, 1], [500, 1], [503, 1], [429, 0], [0, 1]]) {
    for (const k of Object.keys(local)) delete local[k];
    const { transport, posts } = page();
    transport.add(body('kept'));
    transport.pump();
    if (status) posts[0].answer(status);
    else posts[0].fail();
    await settle();
    assert.deepEqual(stored().q, [body('kept')], `status ${status}`);
    assert.equal(stored().i, next, `status ${status}: the next collector (not on 429)`);
    assert.equal(stored().a, 1);
    mock.timers.tick(1500); // the first retry, after 1–1.5 s
    assert.equal(posts.length, 2, `status ${status}`);
    assert.equal(posts[1].url.startsWith(next ? 'https://b.example/' : 'https://a.example/'), true);
  }
});

test('Retry-After holds across page loads and hide(); then one body goes at a time', async () => {
  const first = page();
  first.transport.add(body('a'));
  first.transport.pump();
  first.posts[0].answer(503, '60');
  await settle();
  const { r, a } = stored();
  assert.equal(r, Date.now() + 60000);
  assert.equal(a, 1);

  // the next page load: nothing before Retry-After, hidden or not
  const next = page();
  next.transport.add(body('b'));
  next.transport.pump();
  next.transport.hide();
  mock.timers.tick(59000);
  assert.deepEqual([next.posts.length, next.beacons.length], [0, 0]);
  mock.timers.tick(1000);
  assert.equal(next.posts.length, 1); // a probe
  next.posts[0].answer(202);
  await settle();
  assert.equal(next.posts.length, 2); // answered: the rest goes
  assert.equal(stored().a, 0);
});

test('hiding hands bodies to sendBeacon within the 64 KiB budget and leaves them in the outbox', async () => {
  const { transport, posts, beacons } = page();
  const big = [body('1', 30000), body('2', 30000), body('3', 30000)];
  for (const b of big) transport.add(b);
  transport.hide();
  assert.deepEqual(
    beacons.map((b) => b.data),
    big.slice(0, 2),
  );
  // the third does not fit the budget sendBeacon and keepalive share: a plain fetch
  assert.equal(posts.length, 1);
  assert.equal(posts[0].init.body, big[2]);
  assert.equal(posts[0].init.keepalive, false);
  assert.deepEqual(stored().q, big); // sendBeacon tells nothing: the next page load sends them again
  transport.hide(); // pagehide after visibilitychange: nothing twice
  assert.equal(beacons.length, 2);

  // the page lives on: after the beacons' time, a normal send, and the answer removes them
  mock.timers.tick(10000);
  assert.equal(posts.length, 3);
  for (const p of posts) p.answer(202);
  await settle();
  assert.deepEqual(stored().q, []);
});

test('a refused sendBeacon leaves the body to fetch', () => {
  const { transport, posts, beacons } = page('A', { beaconOk: false });
  transport.add(body('a'));
  transport.hide();
  assert.equal(beacons.length, 0);
  assert.equal(posts.length, 1);
  assert.equal(posts[0].init.keepalive, true);
});

test("tabs keep their own outboxes; a closed tab's is taken over by the next page load", async () => {
  // (each page reads its tab's id when it first uses the outbox)
  page('A').transport.add(body('from A'));
  page('B').transport.add(body('from B'));
  assert.deepEqual(stored('A').q, [body('from A')]);
  assert.deepEqual(stored('B').q, [body('from B')]);

  // tab B closes; a minute later tab A loads a page
  mock.timers.tick(61000);
  const again = page('A');
  again.transport.pump();
  assert.deepEqual(
    again.posts.map((p) => p.init.body).sort(),
    [body('from A'), body('from B')].sort(),
  );
  assert.equal(local['vigil.outbox.1.B'], undefined);
});

test('with consent withdrawn, answers write nothing and nothing is sent', async () => {
  const { transport, posts, refuse } = page();
  transport.add(body('a'));
  transport.pump();
  refuse();
  transport.clear();
  delete local['vigil.outbox.1.A'];
  posts[0].answer(202);
  await settle();
  transport.pump();
  transport.hide();
  assert.equal(local['vigil.outbox.1.A'], undefined);
  assert.equal(posts.length, 1);
});
