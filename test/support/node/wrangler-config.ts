import { fileURLToPath } from 'node:url';
import { unstable_readConfig } from 'wrangler';

const root = fileURLToPath(new URL('../../..', import.meta.url));

/** What a runtime started without wrangler needs from wrangler.toml: the bundle carries none of it. */
export interface WranglerRuntimeConfig {
  compatibilityDate: string;
  compatibilityFlags: string[];
  /** `[vars]`, as strings. */
  vars: Record<string, string>;
}

/** wrangler.toml's compatibility date and flags and `[vars]`, read by wrangler's own parser. */
export function wranglerRuntimeConfig(): WranglerRuntimeConfig {
  const config = unstable_readConfig({ config: `${root}wrangler.toml` });
  if (!config.compatibility_date) throw new Error('wrangler.toml has no compatibility_date');
  return {
    compatibilityDate: config.compatibility_date,
    compatibilityFlags: config.compatibility_flags ?? [],
    vars: Object.fromEntries(
      Object.entries(config.vars ?? {}).map(([name, value]) => [name, typeof value === 'string' ? value : JSON.stringify(value)]),
    ),
  };
}
