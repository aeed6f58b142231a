/**
 * The Worker's configuration: one zod schema over the bindings (`Env`) produces {@link Config}, so a
 * misconfigured deployment fails on its first request with a sentence that says what to set,
 * instead of failing later in a way that hides the cause.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ABLY_DEFAULT_HOST } from './broadcast/ably-rules.ts';
import { oncePer } from './platform/once-per.ts';
import type { SecretSetting } from './secret-settings.ts';

/** Thrown when a binding is missing or malformed; the message names it and says how to set it. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

const DRIVERS = ['realtime', 'pusher', 'ably', 'log', 'null'] as const;
export type BroadcastDriver = (typeof DRIVERS)[number];

/** A development login the web client offers (only when APP_ENV is `development`). */
export interface DevUser {
  email: string;
  password: string;
  role: 'admin' | 'user';
}

/** The sentence for a setting that is not set: how to set a secret, or where a plain var goes. */
export function notSetMessage(name: string, secret: boolean): string {
  return secret
    ? `${name} is not set: run "wrangler secret put ${name}" or add it to .dev.vars`
    : `${name} is not set: add it to [vars] in wrangler.toml or to .dev.vars`;
}

/** The sentence for a setting whose value is unusable: the value (never a secret's) and the fix. */
export function invalidMessage(name: string, value: unknown, hint: string): string {
  return `${name} is invalid (${JSON.stringify(value)}): ${hint}`;
}

/** Bindings are text; an empty or blank value counts as unset. */
const unsetIfBlank = (value: unknown) => (typeof value === 'string' ? value.trim() || undefined : value);

function wholeNumber(name: string, bounds: { min: number; max?: number }, hint: string) {
  return z.union([z.string(), z.number()]).transform((raw, ctx) => {
    const number = Number(raw);
    if (!Number.isInteger(number) || number < bounds.min || (bounds.max !== undefined && number > bounds.max)) {
      // Quote what was set, not what it parsed to ("0", "many"), so the fix is obvious.
      ctx.addIssue({ code: 'custom', message: invalidMessage(name, raw, hint) });
      return z.NEVER;
    }
    return number;
  });
}

/**
 * Builders for one binding each, shared by the Worker's schema and the realtime server's
 * (realtime/apps.ts). Each names its binding in its messages.
 */
export const setting = {
  /** Required text; a secret's message says `wrangler secret put`. */
  text: (name: string, options: { secret?: boolean } = {}) =>
    z.preprocess(unsetIfBlank, z.string({ error: notSetMessage(name, options.secret ?? false) })),
  /** Optional text, `fallback` when unset. */
  optional: (fallback = '') => z.preprocess(unsetIfBlank, z.string().default(fallback)),
  /** One of `values`, `fallback` when unset. */
  oneOf: <const T extends readonly [string, ...string[]]>(
    name: string,
    values: T,
    fallback: T[number],
    hint = `use one of ${values.join(', ')}`,
  ) => z.preprocess(unsetIfBlank, z.enum(values, { error: (issue) => invalidMessage(name, issue.input, hint) }).default(fallback as never)),
  /** A whole number in [min, max], `fallback` when unset. */
  integer: (name: string, bounds: { min: number; max?: number }, fallback: number, hint: string) =>
    z.preprocess(unsetIfBlank, wholeNumber(name, bounds, hint).default(fallback)),
  /** A whole number in [min, max], undefined when unset. */
  optionalInteger: (name: string, bounds: { min: number; max?: number }, hint: string) =>
    z.preprocess(unsetIfBlank, wholeNumber(name, bounds, hint).optional()),
  /** Any number (fractions too), undefined when unset. */
  optionalNumber: (name: string, hint: string) =>
    z.preprocess(unsetIfBlank, z.coerce.number({ error: (issue) => invalidMessage(name, issue.input, hint) }).optional()),
  /** "true"/"1" or "false"/"0"; undefined when unset. */
  flag: (name: string) =>
    z.preprocess(
      unsetIfBlank,
      z
        .enum(['true', 'false', '1', '0'], {
          error: (issue) => `${name} must be "true" or "false", got '${String(issue.input)}': fix it in wrangler.toml [vars] or .dev.vars`,
        })
        .transform((value) => value === 'true' || value === '1')
        .optional(),
    ),
};

const devUserList = z.array(z.object({ email: z.string(), password: z.string(), role: z.enum(['admin', 'user']) }));
const DEV_USERS_HINT = 'use [{"email":"...","password":"...","role":"admin"}]';

/** The DEV_USERS logins; only read in development, so production never depends on them. */
function parseDevUsers(text: string, ctx: z.RefinementCtx): DevUser[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    ctx.addIssue({ code: 'custom', message: `DEV_USERS is not JSON: ${DEV_USERS_HINT}` });
    return [];
  }
  const parsed = devUserList.safeParse(json);
  if (!parsed.success) ctx.addIssue({ code: 'custom', message: invalidMessage('DEV_USERS', json, DEV_USERS_HINT) });
  return parsed.data ?? [];
}

const MASTER_KEY = /^[A-Za-z0-9+/]{43}=$/;
/** An Ably API key as the dashboard shows it: `appId.keyId:keySecret` (https://ably.com/docs/auth#api-key-format). */
const ABLY_KEY = /^([^.:\s]+\.[^.:\s]+):(\S+)$/;

/** Every binding the Worker reads, by its name in `Env`. */
const bindings = z.object({
  APP_ENV: setting.oneOf('APP_ENV', ['development', 'production', 'test'], 'production', 'use development, production or test'),
  BROADCAST_DRIVER: setting.oneOf('BROADCAST_DRIVER', DRIVERS, 'realtime'),
  PUSHER_APP_ID: setting.text('PUSHER_APP_ID'),
  PUSHER_APP_KEY: setting.text('PUSHER_APP_KEY'),
  PUSHER_APP_SECRET: setting.text('PUSHER_APP_SECRET', { secret: true }),
  PUSHER_HOST: setting.optional(),
  PUSHER_PORT: setting.optionalInteger('PUSHER_PORT', { min: 1, max: 65535 }, 'use a TCP port number'),
  PUSHER_SCHEME: setting.oneOf('PUSHER_SCHEME', ['http', 'https'], 'https', 'use http or https'),
  PUSHER_APP_CLUSTER: setting.optional('mt1'),
  PUSHER_ENCRYPTION_MASTER_KEY_BASE64: setting.optional().refine((key) => key === '' || MASTER_KEY.test(key), {
    error: 'PUSHER_ENCRYPTION_MASTER_KEY_BASE64 must be 32 random bytes in base64 (e.g. `openssl rand -base64 32`)',
  }),
  // Secret; required only when BROADCAST_DRIVER is ably (checked below, without quoting it).
  ABLY_KEY: setting.optional(),
  ABLY_HOST: setting.optional(ABLY_DEFAULT_HOST),
  ABLY_PORT: setting.optionalInteger('ABLY_PORT', { min: 1, max: 65535 }, 'use a TCP port number'),
  ABLY_SCHEME: setting.oneOf('ABLY_SCHEME', ['http', 'https'], 'https', 'use http or https'),
  // Laravel's Ably broadcaster issues tokens for 8 hours by default (`token_expiry`, 28800).
  ABLY_TOKEN_EXPIRY: setting.integer(
    'ABLY_TOKEN_EXPIRY',
    { min: 60, max: 86_400 },
    28_800,
    'use a whole number of seconds from 60 to 86400',
  ),
  SUPABASE_URL: setting.text('SUPABASE_URL').pipe(
    z.url({
      protocol: /^https?$/,
      error: (issue) => invalidMessage('SUPABASE_URL', issue.input, 'use the project URL, e.g. https://abc.supabase.co'),
    }),
  ),
  SUPABASE_ANON_KEY: setting.text('SUPABASE_ANON_KEY'),
  SUPABASE_SERVICE_ROLE_KEY: setting.text('SUPABASE_SERVICE_ROLE_KEY', { secret: true }),
  SUPABASE_JWT_SECRET: setting.optional(),
  DB_WEBHOOK_SECRET: setting.text('DB_WEBHOOK_SECRET', { secret: true }),
  CORS_ORIGINS: setting.optional(),
  REDELIVERY_GRACE_SECONDS: setting.integer('REDELIVERY_GRACE_SECONDS', { min: 0 }, 30, 'use a whole number of seconds'),
  REDELIVERY_BATCH: setting.integer('REDELIVERY_BATCH', { min: 1, max: 1000 }, 200, 'use a whole number from 1 to 1000'),
  REDELIVERY_ROUNDS: setting.integer('REDELIVERY_ROUNDS', { min: 1, max: 100 }, 1, 'use a whole number from 1 to 100'),
  OUTBOX_MAX_ATTEMPTS: setting.integer('OUTBOX_MAX_ATTEMPTS', { min: 1, max: 1000 }, 10, 'use a whole number from 1 to 1000'),
  OUTBOX_RETENTION_HOURS: setting.integer(
    'OUTBOX_RETENTION_HOURS',
    { min: 1, max: 8760 },
    168,
    'use a whole number of hours from 1 to 8760',
  ),
  DEV_USERS: setting.optional(),
} satisfies Partial<Record<keyof Env, z.ZodType>>);

/** The `ably` broadcaster's settings; the key is checked only when BROADCAST_DRIVER is ably. */
function ablySettings(
  env: {
    BROADCAST_DRIVER: BroadcastDriver;
    ABLY_KEY: string;
    ABLY_HOST: string;
    ABLY_PORT?: number;
    ABLY_SCHEME: 'http' | 'https';
    ABLY_TOKEN_EXPIRY: number;
  },
  ctx: z.RefinementCtx,
) {
  const match = ABLY_KEY.exec(env.ABLY_KEY);
  if (env.BROADCAST_DRIVER === 'ably' && !match) {
    ctx.addIssue({
      code: 'custom',
      // Never quote a secret, even a malformed one.
      message: env.ABLY_KEY
        ? 'ABLY_KEY is malformed: use the whole API key from the Ably dashboard, appId.keyId:keySecret'
        : notSetMessage('ABLY_KEY', true),
    });
  }
  const useTLS = env.ABLY_SCHEME === 'https';
  return {
    /** The key's public name (`appId.keyId`, the JWT `kid`) and its secret; undefined unless set. */
    key: match ? { name: match[1]!, secret: match[2]! } : undefined,
    host: env.ABLY_HOST,
    port: env.ABLY_PORT ?? (useTLS ? 443 : 80),
    useTLS,
    /** Lifetime of the tokens /broadcasting/auth signs, in seconds. */
    tokenTtlSeconds: env.ABLY_TOKEN_EXPIRY,
  };
}

/** The Worker's configuration, built from its bindings by {@link configSchema}. */
export const configSchema = bindings.transform((env, ctx) => ({
  appEnv: env.APP_ENV,
  broadcastDriver: env.BROADCAST_DRIVER,
  pusher: {
    appId: env.PUSHER_APP_ID,
    key: env.PUSHER_APP_KEY,
    secret: env.PUSHER_APP_SECRET,
    /** Empty when talking to hosted Pusher by cluster. */
    host: env.PUSHER_HOST,
    port: env.PUSHER_PORT,
    useTLS: env.PUSHER_SCHEME === 'https',
    cluster: env.PUSHER_APP_CLUSTER,
    /** Base64 of 32 bytes; without it `private-encrypted-` channels are refused. */
    encryptionMasterKeyBase64: env.PUSHER_ENCRYPTION_MASTER_KEY_BASE64 || undefined,
  },
  ably: ablySettings(env, ctx),
  supabase: {
    url: env.SUPABASE_URL.replace(/\/+$/, ''),
    anonKey: env.SUPABASE_ANON_KEY,
    serviceRoleKey: env.SUPABASE_SERVICE_ROLE_KEY,
    jwtSecret: env.SUPABASE_JWT_SECRET || undefined,
  },
  webhookSecret: env.DB_WEBHOOK_SECRET,
  corsOrigins: env.CORS_ORIGINS.split(',')
    .map((origin) => origin.trim())
    .filter(Boolean),
  redelivery: { graceSeconds: env.REDELIVERY_GRACE_SECONDS, batch: env.REDELIVERY_BATCH, rounds: env.REDELIVERY_ROUNDS },
  outbox: { maxAttempts: env.OUTBOX_MAX_ATTEMPTS, retentionHours: env.OUTBOX_RETENTION_HOURS },
  // The seeded logins are offered only in development.
  devUsers: env.APP_ENV === 'development' && env.DEV_USERS ? parseDevUsers(env.DEV_USERS, ctx) : [],
}));

export type Config = z.output<typeof configSchema>;

/**
 * The Ably API key (name and secret). The schema refuses the `ably` driver without one, so this
 * throws only for a caller using Ably under another driver, with the same sentence.
 */
export function ablyKey(config: Config): { name: string; secret: string } {
  if (!config.ably.key) throw new ConfigError(notSetMessage('ABLY_KEY', true));
  return config.ably.key;
}

/**
 * SHA-256 of the secrets' public development values in .dev.vars.example (digests, so the Worker
 * carries no copy of them). In production a secret still set to one of them is refused.
 */
const DEVELOPMENT_SECRET_DIGESTS: Partial<Record<SecretSetting, string>> = {
  PUSHER_APP_SECRET: 'd3322fc0e9d53e535cb856f20a49df3d9963278f4325a0aed5d47765a5c2e17e',
  SUPABASE_SERVICE_ROLE_KEY: '70541e07fd4f900b66e289f5be55c85f9bef1def4924a5b0c518c45ea1688c12',
  SUPABASE_JWT_SECRET: 'a064b502e61d27e94b8717290e5e1b32e36720e9fbdf952ec81a84c07128cb37',
  DB_WEBHOOK_SECRET: '206ef0dca461731aeb748921b02f1b572202b22337ee9c690b52795692b89b90',
};

/** The first secret that still has its public development value, in production; null otherwise. */
function developmentSecretInProduction(config: Config): string | null {
  if (config.appEnv !== 'production') return null;
  const values: Record<string, string | undefined> = {
    PUSHER_APP_SECRET: config.pusher.secret,
    SUPABASE_SERVICE_ROLE_KEY: config.supabase.serviceRoleKey,
    SUPABASE_JWT_SECRET: config.supabase.jwtSecret,
    DB_WEBHOOK_SECRET: config.webhookSecret,
  };
  for (const [name, digest] of Object.entries(DEVELOPMENT_SECRET_DIGESTS)) {
    const value = values[name];
    if (value !== undefined && createHash('sha256').update(value).digest('hex') === digest) return name;
  }
  return null;
}

/**
 * Parses `source` with `schema`, or throws a ConfigError with the first problem's sentence.
 * Messages name settings and quote plain values only: secrets are never invalid, only unset.
 */
export function parseSettings<T extends z.ZodType>(schema: T, source: unknown): z.output<T> {
  const result = schema.safeParse(source);
  if (!result.success) throw new ConfigError(result.error.issues[0]!.message);
  return result.data;
}

/**
 * The validated configuration for these bindings (parsed once per bindings object).
 * @throws ConfigError naming the first missing or malformed setting.
 */
export const loadConfig = oncePer((env: Env): Config => {
  const config = parseSettings(configSchema, env);
  const leaked = developmentSecretInProduction(config);
  if (leaked) {
    throw new ConfigError(
      `${leaked} still has its public development value from .dev.vars.example, and APP_ENV is production: run "wrangler secret put ${leaked}" with a value of your own`,
    );
  }
  return config;
});
