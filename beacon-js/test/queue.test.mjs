import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createQueue } from '../src/lib/queue.ts';

test('a full queue flushes at once, in order', () => {
  const flushed = [];
  const queue = createQueue((items) => flushed.push(items), 3, 60000);
  for (let i = 0; i < 7; i++) queue.push(i);
  assert.deepEqual(flushed, [
    [0, 1, 2],
    [3, 4, 5],
  ]);
  queue.flush();
  assert.deepEqual(flushed[2], [6]);
});

test('a waiting item leaves after the delay', async () => {
  const flushed = [];
  const queue = createQueue((items) => flushed.push(items), 20, 20);
  queue.push('a');
  queue.push('b');
  assert.deepEqual(flushed, []);
  await sleep(80);
  assert.deepEqual(flushed, [['a', 'b']]);
});

test('an explicit flush cancels the timer; an empty queue flushes nothing', async () => {
  const flushed = [];
  const queue = createQueue((items) => flushed.push(items), 20, 20);
  queue.flush();
  queue.push('a');
  queue.flush();
  await sleep(60);
  assert.deepEqual(flushed, [['a']]);
});
