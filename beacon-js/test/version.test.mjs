import assert from 'node:assert/strict';
import { test } from 'node:test';
import pkg from '../package.json' with { type: 'json' };
import { SDK, VERSION } from '../src/version.ts';

test('the beacon reports the version package.json declares', () => {
  assert.equal(VERSION, pkg.version);
  assert.equal(SDK, `vigil.js/${pkg.version}`);
});
