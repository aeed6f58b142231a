/** Sets `config` from the bindings (parsed once per bindings object, then cached). */
import { createMiddleware } from 'hono/factory';
import { loadConfig } from '../config.ts';
import type { AppEnv } from '../env.ts';

/** Validates the bindings; a ConfigError answers 500 with the fix (see errors.ts). */
export const withConfig = createMiddleware<AppEnv>(async (c, next) => {
  c.set('config', loadConfig(c.env));
  await next();
});
