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
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
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
const OWN = ['crumb', 'own', 'pump', 'hide', 'bases'];
const vitals = readFileSync('node_modules/web-vitals/dist/web-vitals.js', 'utf8');
for (const name of OWN) {
  if (new RegExp(`\\.${name}\\b|\\b${name}:`).test(vitals)) throw new Error(`web-vitals uses the property ${name}: take it out of OWN`);
}
// Property names that only web-vitals' own objects carry (its options, its metrics, its
// visibility watcher), never a browser's: shortened the same way everywhere in the bundle,
// web-vitals and the beacon's reads of its metrics alike. In the beacon's own code, a call of
// one (`.entries(`) would be a browser method (Map, Object, Headers): the build refuses it.
const VITALS_OWN = ['reportAllChanges', 'firstHiddenTime', 'onHidden', 'navigationType', 'entries'];
const MANGLE = new RegExp(`^(${[...OWN, ...VITALS_OWN].join('|')})$`);
if (/\.entries\s*\(/.test(vitals)) throw new Error('web-vitals calls .entries() (a Map or Object method): take entries out of VITALS_OWN');
for (const file of readdirSync('src', { recursive: true }).filter((f) => f.endsWith('.ts'))) {
  const called = VITALS_OWN.find((name) => new RegExp(`\\.${name}\\s*\\(`).test(readFileSync(`src/${file}`, 'utf8')));
  if (called) throw new Error(`src/${file} calls .${called}(), a browser method the build would rename: take it out of VITALS_OWN`);
}

// The beacon sends neither a vital's rating nor its delta (the server rates the value against
// the same thresholds and keeps a metric's last value), so web-vitals' computing of them is cut.
// The build fails when web-vitals no longer has that code, rather than ship it silently.
const VITALS_CUTS = ['t.delta=o,t.rating=((e,t)=>e>t[1]?"poor":e>t[0]?"needs-improvement":"good")(t.value,n),', 'rating:"good",delta:0,'];
const cutVitals = {
  name: 'cut-vitals',
  setup(b) {
    b.onLoad({ filter: /web-vitals[\\/]dist[\\/]web-vitals\.js$/ }, () => {
      let text = vitals;
      for (const cut of VITALS_CUTS) {
        if (!text.includes(cut)) throw new Error(`web-vitals changed: ${cut} is not in it, update VITALS_CUTS`);
        text = text.replace(cut, '');
      }
      return { contents: text, loader: 'js' };
    });
  },
};

mkdirSync('dist', { recursive: true });
let over = false;
for (const { entry, outfile, budget } of SCRIPTS) {
  // esbuild's syntax pass first gives terser a head start (about 0.5 % smaller than either alone).
  const bundled = await build({ entryPoints: [entry], bundle: true, format: 'iife', target: 'es2022', minifySyntax: true, mangleProps: MANGLE, write: false, legalComments: 'none', logLevel: 'warning', plugins: [cutVitals] });
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
