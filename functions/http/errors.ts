/**
 * The one error path. Routes and middleware throw; `onError` answers. An HTTPException carries its
 * own status; a domain error gets its status from {@link DOMAIN_ERRORS}, the one table of what each
 * error means over HTTP; anything else is logged and answered with a generic 500 that leaks no
 * stack trace.
 *
 * The body is `{"error": sentence}`, except on a route whose callers are Ably client libraries
 * ({@link ablyErrorBodies}).
 */
import type { Context, ErrorHandler } from 'hono';
import { createMiddleware } from 'hono/factory';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { InvalidTokenError, SigningKeysUnavailableError } from '../auth/jwt.ts';
import { PublishFailed } from '../broadcast/delivery.ts';
import { ConfigError } from '../config.ts';
import { DatabaseUnavailableError } from '../data/client.ts';
import { SenderRemovedError, UnknownRecipientsError } from '../data/emails.ts';
import { ReplayRefusedError } from '../data/outbox.ts';
import type { AppEnv } from '../env.ts';
import { createLogger } from '../log.ts';
import { WebhookRefused } from '../observe/signature.ts';
import { PublishError } from '../realtime/publishing.ts';

interface DomainError {
  type: abstract new (...args: never[]) => Error;
  status: (error: Error) => ContentfulStatusCode;
  /** What the caller reads; the error's own message when absent. */
  message?: (error: Error) => string;
  /** Problems by field, as a validation failure lists them (validation.ts), for a form to show. */
  issues?: (error: Error) => Array<{ path: string; message: string; value?: unknown }>;
  /** More of the body, for a script to read without parsing sentences. */
  fields?: (error: Error) => Record<string, unknown>;
  /** Logged at error level as well: the operator must act (a misconfiguration, a broadcaster down). */
  log?: string;
}

/** Each domain error and what it means over HTTP. */
const DOMAIN_ERRORS: DomainError[] = [
  { type: ConfigError, status: () => 500, message: (error) => `The server is misconfigured: ${error.message}`, log: 'configuration error' },
  { type: InvalidTokenError, status: () => 401 },
  // The token may well be valid: a 401 would sign the user out.
  { type: SigningKeysUnavailableError, status: () => 503 },
  { type: DatabaseUnavailableError, status: () => 503 },
  { type: WebhookRefused, status: () => 401 },
  { type: PublishFailed, status: () => 502, log: 'publish failed' },
  { type: PublishError, status: (error) => (error as PublishError).status },
  // Deleted since the admin's form listed them; `value` lets a client name the person it listed.
  {
    type: UnknownRecipientsError,
    status: () => 422,
    issues: (error) =>
      (error as UnknownRecipientsError).ids.map((id) => ({
        path: 'recipient_ids',
        message: `No user has the id ${id} (any more).`,
        value: id,
      })),
  },
  { type: SenderRemovedError, status: () => 409 },
  // All or none: a mistyped id refuses the whole request, so a script's `curl --fail` stops on it.
  {
    type: ReplayRefusedError,
    status: () => 422,
    issues: (error) => {
      const refused = error as ReplayRefusedError;
      const why: Array<[number[], (id: number) => string]> = [
        [refused.notFound, (id) => `No outbox entry has the id ${id} (mistyped, or delivered and deleted after the retention period).`],
        [refused.pending, (id) => `Outbox entry ${id} is pending, not failed: delivery or the redelivery cron sends it.`],
        [refused.delivered, (id) => `Outbox entry ${id} was delivered: there is nothing to replay.`],
      ];
      return why.flatMap(([ids, message]) => ids.map((id) => ({ path: 'ids', message: message(id), value: id })));
    },
    fields: (error) => {
      const refused = error as ReplayRefusedError;
      return { not_found: refused.notFound, not_failed: [...refused.pending, ...refused.delivered].sort((a, b) => a - b) };
    },
  },
];

/** The status and caller-safe message of a domain error, or null for anything unexpected. */
export function domainErrorResponse(error: unknown): {
  status: ContentfulStatusCode;
  message: string;
  issues?: Array<{ path: string; message: string; value?: unknown }>;
  fields?: Record<string, unknown>;
  log?: string;
} | null {
  if (!(error instanceof Error)) return null;
  const known = DOMAIN_ERRORS.find((entry) => error instanceof entry.type);
  if (!known) return null;
  return {
    status: known.status(error),
    message: known.message?.(error) ?? error.message,
    ...(known.issues ? { issues: known.issues(error) } : {}),
    ...(known.fields ? { fields: known.fields(error) } : {}),
    ...(known.log ? { log: known.log } : {}),
  };
}

/**
 * Middleware for a route whose callers are Ably client libraries (`POST /broadcasting/auth` with the
 * `ably` broadcaster): its errors answer in Ably's shape, `{"error": {"message", "code", "statusCode"}}`,
 * with `code` Ably's generic code for the status (40000, 40100, 40300, 50000: the status × 100).
 * ably-js reads a failed request's `error` with `ErrorInfo.fromValues`, which throws unless it has a
 * text `message` and numeric `code` and `statusCode` (ably-js 1.2.50, the version @ably/laravel-echo
 * 1.0.6 needs: src/common/lib/types/errorinfo.ts, read by src/platform/nodejs/lib/util/http.ts and
 * src/platform/web/lib/transport/xhrrequest.ts). Given `{"error": sentence}` it throws inside its
 * HTTP callback, and Echo's channel waits forever instead of reporting the refusal.
 */
export const ablyErrorBodies = createMiddleware<AppEnv>(async (c, next) => {
  c.set('errorBody', 'ably');
  await next();
});

/** The JSON error answer, in the shape the route's callers read; `more` is the rest of the app's shape (`issues`, fields). */
function errorResponse(c: Context<AppEnv>, status: ContentfulStatusCode, message: string, more: Record<string, unknown> = {}): Response {
  if (c.get('errorBody') === 'ably') return c.json({ error: { message, code: status * 100, statusCode: status } }, status);
  return c.json({ error: message, ...more }, status);
}

/** The app's `onError`. */
export const onError: ErrorHandler<AppEnv> = (error, c: Context<AppEnv>) => {
  if (error instanceof HTTPException) {
    // A prepared response (validation errors with their `issues`) goes out as it is, unless the
    // caller reads Ably's shape: the message names the first bad field there too.
    if (error.res && c.get('errorBody') !== 'ably') return error.getResponse();
    return errorResponse(c, error.status, error.message);
  }
  const log = createLogger(c.env.LOG_LEVEL, { path: c.req.path });
  const known = domainErrorResponse(error);
  if (known) {
    if (known.log) log.error(known.log, { error: known.message });
    return errorResponse(c, known.status, known.message, { ...(known.issues ? { issues: known.issues } : {}), ...known.fields });
  }
  log.error('unhandled error', { error: String(error) });
  return errorResponse(c, 500, 'Internal server error');
};
