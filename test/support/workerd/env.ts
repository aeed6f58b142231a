import { env } from 'cloudflare:workers';

/** The test bindings with some settings overridden (a fresh object, so config is parsed anew). */
export function envWith(overrides: Partial<Record<keyof Env, string>>): Env {
  return { ...env, ...overrides } as Env;
}
