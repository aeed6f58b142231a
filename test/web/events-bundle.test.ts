import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

/** Bundles functions/broadcast/events.ts for the browser, minified, as scripts/build-web.mjs does. */
async function bundleEvents() {
  const result = await build({
    entryPoints: [fileURLToPath(new URL('../../functions/broadcast/events.ts', import.meta.url))],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    minify: true,
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const [output] = Object.values(result.metafile.outputs);
  return {
    inputs: Object.keys(result.metafile.inputs),
    /** The modules that kept code in the bundle after tree-shaking. */
    shipped: Object.entries(output!.inputs)
      .filter(([, input]) => input.bytesInOutput > 0)
      .map(([path]) => path),
    code: result.outputFiles[0]!.text,
  };
}

describe('functions/broadcast/events.ts', () => {
  it('bundles for the browser, so web/ can import the same event definitions', async () => {
    const { inputs, code } = await bundleEvents();
    expect(
      inputs.filter(
        (path) => /^(node:|cloudflare:)/.test(path) || (path.includes('functions/') && !/broadcast\/(events|pusher-rules)\.ts$/.test(path)),
      ),
    ).toEqual([]);
    expect(code).toContain('email.received');
  });

  it('stays small in the browser: zod/mini and zod core only, never the whole of zod', async () => {
    const { shipped, code } = await bundleEvents();
    // About 17 KB with zod/mini; `import { z } from 'zod'` (the classic API) would pull in
    // zod/v4/classic and make it about 450 KB.
    expect(shipped.filter((path) => path.includes('node_modules/zod/') && !/zod\/v4\/(mini|core)\//.test(path))).toEqual([]);
    expect(code.length).toBeLessThan(40_000);
  });
});
