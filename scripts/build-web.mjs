// Builds the static web client into web/dist (served by the Worker as static assets).
// Usage: node scripts/build-web.mjs [--watch]

import { watch as watchFiles } from 'node:fs';
import { cp, mkdir, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build, context } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
// WEB_OUTDIR: build elsewhere (the build's own test does, beside a running `npm run dev`).
const outdir = process.env.WEB_OUTDIR ?? `${root}web/dist`;
const watch = process.argv.includes('--watch');

/** Copies the HTML and CSS as they are; esbuild bundles the TypeScript. */
async function copyStatic() {
  await mkdir(outdir, { recursive: true });
  for (const file of ['index.html', 'styles.css']) {
    await cp(`${root}web/${file}`, `${outdir}/${file}`);
  }
}

const options = {
  entryPoints: { app: `${root}web/src/main.ts` },
  outdir: `${outdir}/assets`,
  bundle: true,
  format: 'esm',
  target: 'es2022',
  // Source maps only while developing: a production build ships none.
  sourcemap: watch,
  minify: !watch,
  logLevel: 'warning',
  plugins: [{ name: 'copy-static', setup: (b) => b.onEnd(copyStatic) }],
};

if (watch) {
  const ctx = await context(options);
  await ctx.watch();
  // esbuild watches only what it bundles: copy the HTML and CSS again whenever they change.
  for (const file of ['index.html', 'styles.css']) {
    watchFiles(`${root}web/${file}`, () => copyStatic().catch((error) => console.error(`web: could not copy ${file}: ${error.message}`)));
  }
  console.log('web: watching web/ and rebuilding into web/dist');
} else {
  // A fresh folder, so no source map of an earlier development build is deployed.
  await rm(outdir, { recursive: true, force: true });
  await build(options);
  console.log('web: built web/dist');
}
