import { z } from 'zod';
import { notSetMessage } from '../config.ts';

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
}

const appSchema = z.object({
  id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'an id of 1-64 letters, digits, "_" or "-"'),
  key: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'a key of 1-128 letters, digits, "_" or "-"'),
  secret: z.string().min(8, 'a secret of at least 8 characters'),
  enabled: z.boolean().default(true),
  clientEvents: z.boolean().default(false),
  userAuthentication: z.boolean().default(false),
  subscriptionCount: z.boolean().default(false),
  webhookUrl: z.url({ protocol: /^https?$/ }).nullable().default(null),
  maxConnections: z.number().int().min(1).max(100_000).default(10_000),
  maxPresenceMembers: z.number().int().min(1).max(1000).default(100),
  activityTimeout: z.number().int().min(1).max(120).default(30),
  webhookLeaveDelay: z.number().min(0).max(60).default(3),
});

/** Thrown when the bindings do not describe a usable app; the message says what to set. */
export class RealtimeConfigError extends Error {
  override name = 'RealtimeConfigError';
}

/** Every configured app, found by id or by key. */
export interface RealtimeApps {
  all: RealtimeApp[];
  byId(id: string): RealtimeApp | undefined;
  byKey(key: string): RealtimeApp | undefined;
}

type Bindings = Record<string, unknown>;

function flag(env: Bindings, name: string): boolean | undefined {
  const value = env[name];
  if (value === undefined || value === '') return undefined;
  if (value === true || value === 'true' || value === '1') return true;
  if (value === false || value === 'false' || value === '0') return false;
  throw new RealtimeConfigError(`${name} must be "true" or "false", got '${String(value)}': fix it in wrangler.toml [vars] or .dev.vars`);
}

function integer(env: Bindings, name: string): number | undefined {
  const value = env[name];
  if (value === undefined || value === '') return undefined;
  const number = Number(value);
  if (!Number.isFinite(number)) {
    throw new RealtimeConfigError(`${name} must be a number, got '${String(value)}': fix it in wrangler.toml [vars] or .dev.vars`);
  }
  return number;
}

function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || 'value'}: ${issue.message}`).join('; ');
}

/** The default app, from the names Laravel users know (PUSHER_APP_ID/KEY/SECRET) plus REALTIME_* settings. */
function defaultApp(env: Bindings): RealtimeApp | null {
  const names = ['PUSHER_APP_ID', 'PUSHER_APP_KEY', 'PUSHER_APP_SECRET'] as const;
  const present = names.filter((name) => typeof env[name] === 'string' && env[name] !== '');
  if (present.length === 0) return null;
  const missing = names.find((name) => !present.includes(name));
  if (missing) {
    throw new RealtimeConfigError(notSetMessage(missing, missing === 'PUSHER_APP_SECRET'));
  }
  const parsed = appSchema.safeParse({
    id: env.PUSHER_APP_ID,
    key: env.PUSHER_APP_KEY,
    secret: env.PUSHER_APP_SECRET,
    enabled: flag(env, 'REALTIME_ENABLED'),
    clientEvents: flag(env, 'REALTIME_CLIENT_EVENTS'),
    userAuthentication: flag(env, 'REALTIME_USER_AUTHENTICATION'),
    subscriptionCount: flag(env, 'REALTIME_SUBSCRIPTION_COUNT'),
    webhookUrl: (env.REALTIME_WEBHOOK_URL as string | undefined) || undefined,
    maxConnections: integer(env, 'REALTIME_MAX_CONNECTIONS'),
    maxPresenceMembers: integer(env, 'REALTIME_MAX_PRESENCE_MEMBERS'),
    activityTimeout: integer(env, 'REALTIME_ACTIVITY_TIMEOUT'),
    webhookLeaveDelay: integer(env, 'REALTIME_WEBHOOK_LEAVE_DELAY'),
  });
  if (!parsed.success) {
    throw new RealtimeConfigError(
      `The realtime app from PUSHER_APP_ID/PUSHER_APP_KEY/PUSHER_APP_SECRET and REALTIME_* is invalid (${describeIssues(parsed.error)}): fix it in wrangler.toml [vars] or .dev.vars`,
    );
  }
  return parsed.data;
}

/** Extra apps from REALTIME_APPS, a JSON array of {id, key, secret, ...the fields of RealtimeApp}. */
function extraApps(env: Bindings): RealtimeApp[] {
  const raw = env.REALTIME_APPS;
  if (raw === undefined || raw === '') return [];
  let json: unknown = raw;
  if (typeof raw === 'string') {
    try {
      json = JSON.parse(raw);
    } catch {
      throw new RealtimeConfigError('REALTIME_APPS is not valid JSON: set it to a JSON array like [{"id":"2","key":"k","secret":"..."}]');
    }
  }
  const parsed = z.array(appSchema).safeParse(json);
  if (!parsed.success) {
    throw new RealtimeConfigError(`REALTIME_APPS is invalid (${describeIssues(parsed.error)}): set it to a JSON array like [{"id":"2","key":"k","secret":"..."}]`);
  }
  return parsed.data;
}

const cache = new WeakMap<object, RealtimeApps>();

/**
 * Reads the realtime apps from the bindings (memoised per bindings object).
 * Throws a RealtimeConfigError naming the setting to fix when something is missing or invalid.
 */
export function loadApps(env: object): RealtimeApps {
  const cached = cache.get(env);
  if (cached) return cached;
  const bindings = env as Bindings;
  const first = defaultApp(bindings);
  const all = [...(first ? [first] : []), ...extraApps(bindings)];
  if (all.length === 0) {
    throw new RealtimeConfigError('No realtime app is configured: set PUSHER_APP_ID, PUSHER_APP_KEY and PUSHER_APP_SECRET (see .dev.vars.example)');
  }
  for (const [index, app] of all.entries()) {
    const clash = all.findIndex((other) => other.id === app.id || other.key === app.key);
    if (clash !== index) throw new RealtimeConfigError(`Two realtime apps share the id '${app.id}' or key '${app.key}': give each app its own in REALTIME_APPS`);
  }
  const apps: RealtimeApps = {
    all,
    byId: (id) => all.find((app) => app.id === id),
    byKey: (key) => all.find((app) => app.key === key),
  };
  cache.set(env, apps);
  return apps;
}
