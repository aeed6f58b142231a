import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

describe('functions/broadcasting/events.ts', () => {
  it('bundles for the browser, so web/ can import the same event definitions', async () => {
    const result = await build({
      entryPoints: [fileURLToPath(new URL('../../functions/broadcasting/events.ts', import.meta.url))],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.filter((path) => /^(node:|cloudflare:)/.test(path) || path.includes('functions/') && !path.endsWith('events.ts'))).toEqual([]);
    expect(result.outputFiles[0]!.text).toContain('email.received');
  });

  it('stays small in the browser bundle (zod/mini, not the whole of zod)', async () => {
    const result = await build({
      entryPoints: [fileURLToPath(new URL('../../functions/broadcasting/events.ts', import.meta.url))],
      bundle: true, minify: true, platform: 'browser', format: 'esm', write: false, logLevel: 'silent',
    });
    // About 17 KB with zod/mini; `import { z } from 'zod'` would make it about 450 KB.
    expect(result.outputFiles[0]!.contents.byteLength).toBeLessThan(40_000);
  });
});
