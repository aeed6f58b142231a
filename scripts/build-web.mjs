// Builds the static web client into web/dist (served by the Worker as static assets), or WEB_OUTDIR
// (`npm run dev` builds into .tidings/web-dev and serves that).
// wrangler runs it before `wrangler dev` and `wrangler deploy` (wrangler.toml's [build]), and
// `wrangler dev` runs it again whenever web/ changes; `npm run build` runs it by hand.
// Under `wrangler dev` (WRANGLER_COMMAND=dev) the build keeps source maps and readable code;
// otherwise it is minified and ships no source map.
// TIDINGS_WEB_BUILD=skip keeps a web/dist that exists as it is: the test harness sets it, because
// `npm test` builds once and many Workers then serve that one folder while others start.

import { existsSync } from 'node:fs';
import { cp, mkdir, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
// WEB_OUTDIR: build elsewhere (the build's own test does, beside a running `npm run dev`).
const outdir = process.env.WEB_OUTDIR ?? `${root}web/dist`;
const development = process.env.WRANGLER_COMMAND === 'dev';

if (process.env.TIDINGS_WEB_BUILD === 'skip' && existsSync(`${outdir}/index.html`)) process.exit(0);

// A production build starts from an empty folder, so no source map of a development build is deployed.
// A development build overwrites in place: `wrangler dev` keeps serving the folder meanwhile.
if (!development) await rm(outdir, { recursive: true, force: true });
await build({
  entryPoints: { app: `${root}web/src/main.ts` },
  outdir: `${outdir}/assets`,
  bundle: true,
  format: 'esm',
  // Code a page may not need (ably-js, imported only when /api/config names Ably) goes into its own
  // chunk, loaded on demand; everything else is in app.js.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  target: 'es2022',
  sourcemap: development,
  minify: !development,
  logLevel: 'warning',
});
// The HTML and CSS are copied as they are, and _headers (the static assets' headers); esbuild bundles the TypeScript.
await mkdir(outdir, { recursive: true });
for (const file of ['index.html', 'styles.css', '_headers']) await cp(`${root}web/${file}`, `${outdir}/${file}`);
console.log(
  `web: built ${outdir === `${root}web/dist` ? 'web/dist' : outdir}${development ? ' (development: source maps, not minified)' : ''}`,
);
