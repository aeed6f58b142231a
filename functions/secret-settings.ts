/**
 * The settings whose values are secret: set with `wrangler secret put` in production (or in
 * .dev.vars locally), never in wrangler.toml's [vars], never in a log line or a response.
 * No imports and no platform types, so Node-side scripts and tests can read it too.
 */
export const SECRET_SETTINGS = [
  'PUSHER_APP_SECRET',
  'SUPABASE_SERVICE_ROLE_KEY',
  'SUPABASE_JWT_SECRET',
  'DB_WEBHOOK_SECRET',
  'PUSHER_ENCRYPTION_MASTER_KEY_BASE64',
  'ABLY_KEY',
  // Holds each extra app's secret.
  'REALTIME_APPS',
] as const;

export type SecretSetting = (typeof SECRET_SETTINGS)[number];
