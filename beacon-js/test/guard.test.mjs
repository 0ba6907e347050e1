import assert from 'node:assert/strict';
import { test } from 'node:test';
import { guarded, MAX_FAULTS } from '../src/lib/guard.ts';

// One test only: the fault count is the module's state for the page's life.
test('a guarded entry point never throws, skips re-entry, and switches the beacon off after repeated faults', () => {
  const calls = [];
  const inner = guarded(() => calls.push('inner'));
  const outer = guarded(() => {
    calls.push('outer');
    inner(); // an entry point fired from inside the beacon's own code is skipped
    return 'done';
  });
  assert.equal(outer(), 'done');
  assert.deepEqual(calls, ['outer']);

  const faulty = guarded(() => {
    throw new Error('beacon bug');
  });
  for (let i = 0; i < MAX_FAULTS; i++) assert.equal(faulty(), undefined);
  // off: even healthy entry points do nothing now
  assert.equal(outer(), undefined);
  assert.equal(inner(), undefined);
  assert.deepEqual(calls, ['outer']);
});
