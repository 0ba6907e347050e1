// Builds the beacon's two scripts and enforces their size budgets: the build fails when a
// gzipped script is over its budget (issue 3, "Budgets"). Both sizes are printed.
//   dist/vigil.js   the full beacon, served by the collector as /beacon.js
//   dist/loader.js  the loader snippet, served as /loader.js or pasted inline
//
// esbuild bundles (TypeScript, web-vitals) and terser minifies: terser's compressor saves
// about 3 % more than esbuild's minifier, which matters under an 8 KB budget.
// The syntax level is ES2022, the level web-vitals itself ships (class fields, `?.`, `??`):
// lowering it would only add helpers, not reach browsers that web-vitals cannot measure.
import { build } from 'esbuild';
import { mkdirSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { minify } from 'terser';

const SCRIPTS = [
  { entry: 'src/index.ts', outfile: 'dist/vigil.js', budget: 8192 },
  { entry: 'src/loader.ts', outfile: 'dist/loader.js', budget: 1024 },
];

mkdirSync('dist', { recursive: true });
let over = false;
for (const { entry, outfile, budget } of SCRIPTS) {
  // esbuild's syntax pass first gives terser a head start (about 0.5 % smaller than either alone).
  const bundled = await build({ entryPoints: [entry], bundle: true, format: 'iife', target: 'es2022', minifySyntax: true, write: false, legalComments: 'none', logLevel: 'warning' });
  const { code } = await minify(bundled.outputFiles[0].text, {
    ecma: 2020,
    toplevel: true,
    compress: { passes: 3, pure_getters: true, unsafe_arrows: true },
    format: { comments: false },
  });
  writeFileSync(outfile, code);
  const raw = Buffer.byteLength(code);
  const gzipped = gzipSync(code, { level: 9 }).length;
  console.log(`${outfile}: ${raw} bytes, ${gzipped} bytes gzipped (budget ${budget})`);
  if (gzipped > budget) {
    console.error(`${outfile} is over its size budget: ${gzipped} > ${budget} bytes gzipped`);
    over = true;
  }
}
if (over) process.exit(1);
