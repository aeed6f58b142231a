/** Request validation at the edge: zod schemas, and one shape for every validation failure. */
import { zValidator } from '@hono/zod-validator';
import type { Context, ValidationTargets } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { z } from 'zod';

/** A 400 whose `error` names the first bad field, with every problem in `issues`. */
export function validationError(
  error: { issues: ReadonlyArray<{ path: PropertyKey[]; message: string }> },
  what = 'request',
): HTTPException {
  const issues = error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
  const first = issues[0];
  const message = first ? `Invalid ${what}: ${first.path ? `${first.path}: ` : ''}${first.message}` : `Invalid ${what}`;
  return new HTTPException(400, { message, res: Response.json({ error: message, issues }, { status: 400 }) });
}

/**
 * `text` parsed as JSON and checked by `schema`: a 400 saying the body is not JSON, or one naming
 * the first bad field. For a body read as text first (a signature covers its exact bytes).
 */
export function parseJsonText<T extends z.ZodType>(text: string, schema: T, what: string): z.output<T> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new HTTPException(400, { message: `The ${what} is not JSON` });
  }
  const result = schema.safeParse(json);
  if (!result.success) throw validationError(result.error, what);
  return result.data;
}

/**
 * A body sent as a form or as JSON (pusher-js posts a form; Laravel Echo with a custom authorizer
 * and @ably/laravel-echo post JSON), checked by `schema`; `unreadable` is the 400's sentence when
 * it is neither.
 */
export async function readFormOrJson<T extends z.ZodType>(c: Context, schema: T, unreadable: string): Promise<z.output<T>> {
  const type = c.req.header('Content-Type') ?? '';
  let body: unknown;
  try {
    body = type.includes('application/json') ? await c.req.json() : Object.fromEntries((await c.req.formData()).entries());
  } catch {
    throw new HTTPException(400, { message: unreadable });
  }
  const result = schema.safeParse(body);
  if (!result.success) throw validationError(result.error, 'request body');
  return result.data;
}

/** How an error names where the bad value was. */
const TARGET_NAMES: Partial<Record<keyof ValidationTargets, string>> = {
  json: 'request body',
  query: 'query',
  param: 'path parameter',
  form: 'form',
};

/** Hono reads a JSON body only under a JSON media type (anything else validates as `{}`). */
const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

/**
 * `zValidator` whose failures go through the app's one error path as a 400 naming the bad field.
 * A `json` body sent under another Content-Type is a 415 saying so, not a list of missing fields.
 */
export const validate = <T extends z.ZodType, Target extends keyof ValidationTargets>(target: Target, schema: T) =>
  zValidator(target, schema, (result, c) => {
    const mediaType = (c.req.header('Content-Type') ?? '').split(';')[0]!.trim();
    if (target === 'json' && !JSON_MEDIA_TYPE.test(mediaType)) {
      throw new HTTPException(415, {
        message: `Send the request body as JSON with "Content-Type: application/json", not '${mediaType.slice(0, 100) || 'no Content-Type'}'`,
      });
    }
    if (!result.success) throw validationError(result.error, TARGET_NAMES[target] ?? target);
  });

/** Postgres `text` cannot hold U+0000: without this check such text fails in the insert, as a 500. */
export const hasNoNul = (value: string) => !value.includes('\u0000');
export const nulMessage = (field: string) => `${field} must not contain the NUL character (\\u0000), which the database cannot store`;

/** A page size query parameter (`limit`) from 1 to `max`, `fallback` when absent; each refusal says which rule it broke. */
export const pageLimit = (max: number, fallback: number) =>
  z.coerce
    .number({ error: 'limit must be a number' })
    .int({ error: 'limit must be a whole number' })
    .min(1, { error: `limit must be from 1 to ${max}` })
    .max(max, { error: `limit must be from 1 to ${max}` })
    .default(fallback);

/** The instants a cursor may name: years 0001 to 9999 in UTC, which Postgres and `toISOString()` both write as given. */
const FIRST_INSTANT = Date.parse('0001-01-01T00:00:00Z');
const LAST_INSTANT = Date.parse('9999-12-31T23:59:59.999Z');

/** An ISO 8601 `created_at` bound as the API takes one (`after`, `before`), within what Postgres accepts. */
export const cursor = z.iso
  .datetime({ offset: true, error: 'use an ISO 8601 timestamp such as 2026-11-28T02:01:15.123Z' })
  // The format allows year 0000 and offsets up to ±99:59; Postgres refuses both (a 500 before).
  .refine((value) => !value.startsWith('0000'), { error: 'the year must be 0001 or later' })
  // An offset can still carry a valid local time out of range: 0001-01-01T00:00:00+14:00 is in
  // year 0 in UTC, 9999-12-31T23:59:59-14:00 in year 10000 (+010000-… from toISOString()).
  .refine(
    (value) => {
      const instant = Date.parse(value);
      return Number.isNaN(instant) || (instant >= FIRST_INSTANT && instant <= LAST_INSTANT);
    },
    { error: 'the time must be from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z in UTC' },
  )
  .refine(
    (value) => {
      const offset = /([+-])(\d{2}):?(\d{2})$/.exec(value);
      return !offset || Number(offset[2]) * 60 + Number(offset[3]) <= 14 * 60;
    },
    { error: 'the UTC offset must be between -14:00 and +14:00' },
  );
