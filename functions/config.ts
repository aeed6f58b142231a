/**
 * The Worker's configuration, read from its bindings and validated with zod, so a misconfigured
 * deployment fails on its first request with a sentence that says what to set, instead of failing
 * later in a way that hides the cause.
 */
import { z } from 'zod';

/** Thrown when a binding is missing or malformed; the message names it and says how to set it. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

const DRIVERS = ['realtime', 'pusher', 'log', 'null'] as const;
export type BroadcastDriver = (typeof DRIVERS)[number];

/** A development login the web client offers (only when APP_ENV is `development`). */
export interface DevUser {
  email: string;
  password: string;
  role: 'admin' | 'user';
}

export interface Config {
  appEnv: 'development' | 'production' | 'test';
  broadcastDriver: BroadcastDriver;
  pusher: {
    appId: string;
    key: string;
    secret: string;
    /** Empty when talking to hosted Pusher by cluster. */
    host: string;
    port: number | undefined;
    useTLS: boolean;
    cluster: string;
    /** Base64 of 32 bytes; without it `private-encrypted-` channels are refused. */
    encryptionMasterKeyBase64: string | undefined;
  };
  supabase: { url: string; anonKey: string; serviceRoleKey: string; jwtSecret: string | undefined };
  webhookSecret: string;
  corsOrigins: string[];
  redelivery: { graceSeconds: number; batch: number };
  devUsers: DevUser[];
}

type Source = Record<string, unknown>;

/** The sentence for a setting that is not set: how to set a secret, or where a plain var goes. */
export function notSetMessage(name: string, secret: boolean): string {
  return secret
    ? `${name} is not set: run "wrangler secret put ${name}" or add it to .dev.vars`
    : `${name} is not set: add it to [vars] in wrangler.toml or to .dev.vars`;
}

function missing(name: string, secret: boolean): ConfigError {
  return new ConfigError(notSetMessage(name, secret));
}

function text(source: Source, name: string, options: { secret?: boolean; optional?: boolean } = {}): string {
  const value = source[name];
  if (typeof value === 'string' && value.trim() !== '') return value.trim();
  if (options.optional) return '';
  throw missing(name, options.secret ?? false);
}

function parsed<T>(name: string, schema: z.ZodType<T>, value: unknown, hint: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new ConfigError(`${name} is invalid (${JSON.stringify(value)}): ${hint}`);
  return result.data;
}

const devUsersSchema = z.array(z.object({ email: z.string(), password: z.string(), role: z.enum(['admin', 'user']) }));

function readConfig(env: Source): Config {
  const appEnv = parsed('APP_ENV', z.enum(['development', 'production', 'test']), text(env, 'APP_ENV', { optional: true }) || 'production', 'use development, production or test');
  const broadcastDriver = parsed('BROADCAST_DRIVER', z.enum(DRIVERS), text(env, 'BROADCAST_DRIVER', { optional: true }) || 'realtime', `use one of ${DRIVERS.join(', ')}`);
  const host = text(env, 'PUSHER_HOST', { optional: true });
  const port = text(env, 'PUSHER_PORT', { optional: true });
  const scheme = parsed('PUSHER_SCHEME', z.enum(['http', 'https']), text(env, 'PUSHER_SCHEME', { optional: true }) || 'https', 'use http or https');
  const masterKey = text(env, 'PUSHER_ENCRYPTION_MASTER_KEY_BASE64', { optional: true });
  if (masterKey && !/^[A-Za-z0-9+/]{43}=$/.test(masterKey)) {
    throw new ConfigError('PUSHER_ENCRYPTION_MASTER_KEY_BASE64 must be 32 random bytes in base64 (e.g. `openssl rand -base64 32`)');
  }
  const supabaseUrl = parsed('SUPABASE_URL', z.url({ protocol: /^https?$/ }), text(env, 'SUPABASE_URL'), 'use the project URL, e.g. https://abc.supabase.co');
  const config: Config = {
    appEnv,
    broadcastDriver,
    pusher: {
      appId: text(env, 'PUSHER_APP_ID'),
      key: text(env, 'PUSHER_APP_KEY'),
      secret: text(env, 'PUSHER_APP_SECRET', { secret: true }),
      host,
      port: port ? parsed('PUSHER_PORT', z.coerce.number().int().min(1).max(65535), port, 'use a TCP port number') : undefined,
      useTLS: scheme === 'https',
      cluster: text(env, 'PUSHER_APP_CLUSTER', { optional: true }) || 'mt1',
      encryptionMasterKeyBase64: masterKey || undefined,
    },
    supabase: {
      url: supabaseUrl.replace(/\/+$/, ''),
      anonKey: text(env, 'SUPABASE_ANON_KEY'),
      serviceRoleKey: text(env, 'SUPABASE_SERVICE_ROLE_KEY', { secret: true }),
      jwtSecret: text(env, 'SUPABASE_JWT_SECRET', { optional: true }) || undefined,
    },
    webhookSecret: text(env, 'DB_WEBHOOK_SECRET', { secret: true }),
    corsOrigins: text(env, 'CORS_ORIGINS', { optional: true }).split(',').map((origin) => origin.trim()).filter(Boolean),
    redelivery: {
      graceSeconds: parsed('REDELIVERY_GRACE_SECONDS', z.coerce.number().int().min(0), text(env, 'REDELIVERY_GRACE_SECONDS', { optional: true }) || '30', 'use a whole number of seconds'),
      batch: parsed('REDELIVERY_BATCH', z.coerce.number().int().min(1).max(1000), text(env, 'REDELIVERY_BATCH', { optional: true }) || '200', 'use a whole number from 1 to 1000'),
    },
    devUsers: [],
  };
  if (appEnv === 'development') {
    const devUsers = text(env, 'DEV_USERS', { optional: true });
    if (devUsers) {
      let json: unknown;
      try {
        json = JSON.parse(devUsers);
      } catch {
        throw new ConfigError('DEV_USERS is not JSON: use [{"email":"...","password":"...","role":"admin"}]');
      }
      config.devUsers = parsed('DEV_USERS', devUsersSchema, json, 'use [{"email":"...","password":"...","role":"admin"}]');
    }
  }
  return config;
}

const cache = new WeakMap<object, Config>();

/**
 * The validated configuration for these bindings (parsed once per bindings object).
 * @throws ConfigError naming the first missing or malformed setting.
 */
export function loadConfig(env: Env): Config {
  let config = cache.get(env);
  if (!config) {
    config = readConfig(env as unknown as Source);
    cache.set(env, config);
  }
  return config;
}
