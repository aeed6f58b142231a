/**
 * The Hono environment of every route: the Worker's bindings, typed once by `wrangler types`
 * (see worker-configuration.d.ts, regenerated with `npm run types`).
 */
export type AppEnv = { Bindings: Env };
