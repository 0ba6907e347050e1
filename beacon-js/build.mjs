// Builds dist/vigil.js, the script the collector serves as /beacon.js, and enforces its size
// budget: the build fails when the gzipped script is over BUDGET_GZIP bytes.
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const OUTFILE = 'dist/vigil.js';
const BUDGET_GZIP = 8192;

await build({
  entryPoints: ['src/index.ts'],
  outfile: OUTFILE,
  bundle: true,
  format: 'iife',
  target: 'es2018',
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
});

const raw = readFileSync(OUTFILE);
const gzipped = gzipSync(raw, { level: 9 }).length;
console.log(`${OUTFILE}: ${raw.length} bytes, ${gzipped} bytes gzipped (budget ${BUDGET_GZIP})`);
if (gzipped > BUDGET_GZIP) {
  console.error(`${OUTFILE} is over its size budget: ${gzipped} > ${BUDGET_GZIP} bytes gzipped`);
  process.exit(1);
}
