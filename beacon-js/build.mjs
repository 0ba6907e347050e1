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
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { minify } from 'terser';

const SCRIPTS = [
  { entry: 'src/index.ts', outfile: 'dist/vigil.js', budget: 8192 },
  { entry: 'src/loader.ts', outfile: 'dist/loader.js', budget: 1024 },
];

// Property names of the beacon's own internal objects (the client, the transport) that the
// build shortens, as a minifier does with variables. Only names that nothing else uses: not
// the DOM's, not the page-facing API's (`vigil.flush` etc. are looked up by name), not
// web-vitals' (checked below, so an upgrade cannot break them silently).
const MANGLE = /^(crumb|own|pump|hide|bases)$/;
const vitals = readFileSync('node_modules/web-vitals/dist/web-vitals.js', 'utf8');
for (const name of MANGLE.source.slice(2, -2).split('|')) {
  if (new RegExp(`\\.${name}\\b|\\b${name}:`).test(vitals)) throw new Error(`web-vitals uses the property ${name}: take it out of MANGLE`);
}

mkdirSync('dist', { recursive: true });
let over = false;
for (const { entry, outfile, budget } of SCRIPTS) {
  // esbuild's syntax pass first gives terser a head start (about 0.5 % smaller than either alone).
  const bundled = await build({ entryPoints: [entry], bundle: true, format: 'iife', target: 'es2022', minifySyntax: true, mangleProps: MANGLE, write: false, legalComments: 'none', logLevel: 'warning' });
  const { code } = await minify(bundled.outputFiles[0].text, {
    ecma: 2020,
    toplevel: true,
    compress: { passes: 3, pure_getters: true, unsafe_arrows: true, hoist_funs: true },
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
