import { z } from 'zod';
import { ConfigError, parseSettings, setting } from '../config.ts';
import { oncePer } from '../platform/once-per.ts';
import { MAX_SHARDS } from './frames.ts';

/** Cloudflare's limit of WebSocket connections per Durable Object (see docs/capacity.md). */
export const WEBSOCKETS_PER_OBJECT = 32_768;

/** One realtime app: its credentials, switches and limits. */
export interface RealtimeApp {
  id: string;
  key: string;
  secret: string;
  enabled: boolean;
  clientEvents: boolean;
  userAuthentication: boolean;
  /** Tell subscribers (`pusher_internal:subscription_count`) and the webhook how many sockets a channel has. */
  subscriptionCount: boolean;
  webhookUrl: string | null;
  maxConnections: number;
  maxPresenceMembers: number;
  /** Seconds of silence before the server pings (also sent to clients in the handshake). */
  activityTimeout: number;
  /** Seconds `channel_vacated`/`member_removed` webhooks wait, so a quick reconnect does not flap. */
  webhookLeaveDelay: number;
  /** Connections from one client address (CF-Connecting-IP, an IPv6 one by its /64; see admission.ts). */
  maxConnectionsPerAddress: number;
  /** New connections from one client address per second; over it: close 4100 (back off, retry). */
  newConnectionsPerAddressPerSecond: number;
  /** Channels one connection may be subscribed to at once (Pusher: 100). */
  maxChannelsPerConnection: number;
  /** Subscribe requests one connection may make per second (a reconnect resubscribes all at once). */
  subscribesPerSecond: number;
  /** Connection shards: Durable Objects the app's sockets are spread over (REALTIME_SHARDS by default). */
  shards: number;
}

const appSchema = z.object({
  id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'an id of 1-64 letters, digits, "_" or "-"'),
  key: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'a key of 1-128 letters, digits, "_" or "-"'),
  secret: z.string().min(8, 'a secret of at least 8 characters'),
  enabled: z.boolean().default(true),
  clientEvents: z.boolean().default(false),
  userAuthentication: z.boolean().default(false),
  subscriptionCount: z.boolean().default(false),
  webhookUrl: z
    .url({ protocol: /^https?$/ })
    .nullable()
    .default(null),
  maxConnections: z.number().int().min(1).max(100_000).default(10_000),
  maxPresenceMembers: z.number().int().min(1).max(1000).default(100),
  maxConnectionsPerAddress: z.number().int().min(1).max(1_000_000).default(200),
  newConnectionsPerAddressPerSecond: z.number().int().min(1).max(1_000_000).default(20),
  maxChannelsPerConnection: z.number().int().min(1).max(10_000).default(100),
  subscribesPerSecond: z.number().int().min(1).max(10_000).default(100),
  activityTimeout: z.number().int().min(1).max(120).default(30),
  webhookLeaveDelay: z.number().min(0).max(60).default(3),
  /** Unset: REALTIME_SHARDS, or 1. */
  shards: z.number().int().min(1).max(MAX_SHARDS).optional(),
});

/** The bindings the realtime server reads (any may be unset: the schemas say what is required). */
export type RealtimeSettings = Partial<Env>;

/** Every configured app, found by id or by key. */
export interface RealtimeApps {
  all: RealtimeApp[];
  byId(id: string): RealtimeApp | undefined;
  byKey(key: string): RealtimeApp | undefined;
}

const INVALID_NUMBER = 'fix it in wrangler.toml [vars] or .dev.vars';
const APPS_EXAMPLE = 'set it to a JSON array like [{"id":"2","key":"k","secret":"..."}]';

function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || 'value'}: ${issue.message}`).join('; ');
}

type AppSettings = z.output<typeof appSchema>;

/** REALTIME_SHARDS: the shard count of every app that does not set its own. */
const shardsBinding = z.object({
  REALTIME_SHARDS: setting.integer('REALTIME_SHARDS', { min: 1, max: MAX_SHARDS }, 1, `use a whole number from 1 to ${MAX_SHARDS}`),
} satisfies Partial<Record<keyof Env, z.ZodType>>);

/** The bindings of the default app: the names Laravel users know (PUSHER_APP_ID/KEY/SECRET) plus REALTIME_* settings. */
const defaultAppBindings = z.object({
  PUSHER_APP_ID: setting.text('PUSHER_APP_ID'),
  PUSHER_APP_KEY: setting.text('PUSHER_APP_KEY'),
  PUSHER_APP_SECRET: setting.text('PUSHER_APP_SECRET', { secret: true }),
  REALTIME_ENABLED: setting.flag('REALTIME_ENABLED'),
  REALTIME_CLIENT_EVENTS: setting.flag('REALTIME_CLIENT_EVENTS'),
  REALTIME_USER_AUTHENTICATION: setting.flag('REALTIME_USER_AUTHENTICATION'),
  REALTIME_SUBSCRIPTION_COUNT: setting.flag('REALTIME_SUBSCRIPTION_COUNT'),
  REALTIME_WEBHOOK_URL: setting.optional(),
  REALTIME_MAX_CONNECTIONS: setting.optionalInteger('REALTIME_MAX_CONNECTIONS', { min: 0 }, INVALID_NUMBER),
  REALTIME_MAX_PRESENCE_MEMBERS: setting.optionalInteger('REALTIME_MAX_PRESENCE_MEMBERS', { min: 0 }, INVALID_NUMBER),
  REALTIME_MAX_CONNECTIONS_PER_ADDRESS: setting.optionalInteger('REALTIME_MAX_CONNECTIONS_PER_ADDRESS', { min: 0 }, INVALID_NUMBER),
  REALTIME_NEW_CONNECTIONS_PER_ADDRESS_PER_SECOND: setting.optionalInteger(
    'REALTIME_NEW_CONNECTIONS_PER_ADDRESS_PER_SECOND',
    { min: 0 },
    INVALID_NUMBER,
  ),
  REALTIME_MAX_CHANNELS_PER_CONNECTION: setting.optionalInteger('REALTIME_MAX_CHANNELS_PER_CONNECTION', { min: 0 }, INVALID_NUMBER),
  REALTIME_SUBSCRIBES_PER_SECOND: setting.optionalInteger('REALTIME_SUBSCRIBES_PER_SECOND', { min: 0 }, INVALID_NUMBER),
  REALTIME_ACTIVITY_TIMEOUT: setting.optionalInteger('REALTIME_ACTIVITY_TIMEOUT', { min: 0 }, INVALID_NUMBER),
  REALTIME_WEBHOOK_LEAVE_DELAY: setting.optionalNumber('REALTIME_WEBHOOK_LEAVE_DELAY', INVALID_NUMBER),
  // Every name is declared in Env (worker-configuration.d.ts, from wrangler.toml and .dev.vars.example).
} satisfies Partial<Record<keyof Env, z.ZodType>>);

/** The default app from {@link defaultAppBindings}, checked by {@link appSchema}; null when PUSHER_APP_* are all unset. */
function defaultApp(env: RealtimeSettings): AppSettings | null {
  const credentials = [env.PUSHER_APP_ID, env.PUSHER_APP_KEY, env.PUSHER_APP_SECRET];
  if (credentials.every((value) => value === undefined || value === '')) return null;
  const settings = parseSettings(defaultAppBindings, env);
  const parsed = appSchema.safeParse({
    id: settings.PUSHER_APP_ID,
    key: settings.PUSHER_APP_KEY,
    secret: settings.PUSHER_APP_SECRET,
    enabled: settings.REALTIME_ENABLED,
    clientEvents: settings.REALTIME_CLIENT_EVENTS,
    userAuthentication: settings.REALTIME_USER_AUTHENTICATION,
    subscriptionCount: settings.REALTIME_SUBSCRIPTION_COUNT,
    webhookUrl: settings.REALTIME_WEBHOOK_URL || undefined,
    maxConnections: settings.REALTIME_MAX_CONNECTIONS,
    maxPresenceMembers: settings.REALTIME_MAX_PRESENCE_MEMBERS,
    maxConnectionsPerAddress: settings.REALTIME_MAX_CONNECTIONS_PER_ADDRESS,
    newConnectionsPerAddressPerSecond: settings.REALTIME_NEW_CONNECTIONS_PER_ADDRESS_PER_SECOND,
    maxChannelsPerConnection: settings.REALTIME_MAX_CHANNELS_PER_CONNECTION,
    subscribesPerSecond: settings.REALTIME_SUBSCRIBES_PER_SECOND,
    activityTimeout: settings.REALTIME_ACTIVITY_TIMEOUT,
    webhookLeaveDelay: settings.REALTIME_WEBHOOK_LEAVE_DELAY,
  });
  if (!parsed.success) {
    throw new ConfigError(
      `The realtime app from PUSHER_APP_ID/PUSHER_APP_KEY/PUSHER_APP_SECRET and REALTIME_* is invalid (${describeIssues(parsed.error)}): fix it in wrangler.toml [vars] or .dev.vars`,
    );
  }
  return parsed.data;
}

/** REALTIME_APPS: more apps, a JSON array of {id, key, secret, ...the fields of RealtimeApp}. */
const extraAppsBinding = z.preprocess(
  (value) => (value === '' ? undefined : value),
  z
    .union([z.string(), z.array(z.unknown())])
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined) return [];
      try {
        return typeof raw === 'string' ? (JSON.parse(raw) as unknown) : raw;
      } catch {
        ctx.addIssue({ code: 'custom', message: `REALTIME_APPS is not valid JSON: ${APPS_EXAMPLE}` });
        return z.NEVER;
      }
    })
    .transform((json, ctx) => {
      const parsed = z.array(appSchema).safeParse(json);
      if (parsed.success) return parsed.data;
      ctx.addIssue({ code: 'custom', message: `REALTIME_APPS is invalid (${describeIssues(parsed.error)}): ${APPS_EXAMPLE}` });
      return z.NEVER;
    }),
);

/**
 * Reads the realtime apps from the bindings (memoised per bindings object).
 * Throws a ConfigError (../config.ts) naming the setting to fix when something is missing or invalid.
 */
export const loadApps = oncePer((env: RealtimeSettings): RealtimeApps => {
  const first = defaultApp(env);
  const { REALTIME_SHARDS } = parseSettings(shardsBinding, env);
  const all: RealtimeApp[] = [...(first ? [first] : []), ...parseSettings(extraAppsBinding, env.REALTIME_APPS)].map((app) => ({
    ...app,
    shards: app.shards ?? REALTIME_SHARDS,
  }));
  if (all.length === 0) {
    throw new ConfigError('No realtime app is configured: set PUSHER_APP_ID, PUSHER_APP_KEY and PUSHER_APP_SECRET (see .dev.vars.example)');
  }
  for (const app of all) {
    if (app.maxConnections > app.shards * WEBSOCKETS_PER_OBJECT) {
      throw new ConfigError(
        `App '${app.id}' allows ${app.maxConnections} connections, more than ${app.shards} shard(s) can hold (${WEBSOCKETS_PER_OBJECT} WebSockets per Durable Object): raise REALTIME_SHARDS or lower REALTIME_MAX_CONNECTIONS`,
      );
    }
  }
  for (const [index, app] of all.entries()) {
    const clash = all.findIndex((other) => other.id === app.id || other.key === app.key);
    if (clash !== index)
      throw new ConfigError(`Two realtime apps share the id '${app.id}' or key '${app.key}': give each app its own in REALTIME_APPS`);
  }
  const apps: RealtimeApps = {
    all,
    byId: (id) => all.find((app) => app.id === id),
    byKey: (key) => all.find((app) => app.key === key),
  };
  return apps;
});
