// Runs the unit tests: esbuild bundles each test/*.test.mjs with the TypeScript it imports
// into dist/test/, then node's test runner runs the bundles.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

const files = readdirSync('test').filter((name) => name.endsWith('.test.mjs'));
await build({
  entryPoints: files.map((name) => `test/${name}`),
  outdir: 'dist/test',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  logLevel: 'warning',
});
const run = spawnSync(process.execPath, ['--test', ...files.map((name) => `dist/test/${name}`)], { stdio: 'inherit' });
process.exit(run.status ?? 1);
