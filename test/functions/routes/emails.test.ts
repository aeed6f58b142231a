import { describe, expect, it } from 'vitest';
import { seedUsers } from '../../support/seed-users.ts';
import { authEnv, call, es256Token, hs256Token, userClaims } from '../../support/workerd/auth.ts';

const ada = seedUsers.ada.id;
const grace = seedUsers.grace.id;

async function bearer(): Promise<Record<string, string>> {
  return { Authorization: `Bearer ${await es256Token(userClaims(ada))}` };
}

async function send(
  body: unknown,
  raw = false,
): Promise<{ status: number; body: { error?: string; issues?: Array<{ path: string; message: string }> } }> {
  const response = await call('/api/emails', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(await bearer()) },
    body: raw ? (body as string) : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as never };
}

describe('POST /api/emails validation', () => {
  const valid = { recipient_ids: [grace], subject: 'Hello', body: 'Welcome aboard.' };

  it.each([
    ['no recipients', { ...valid, recipient_ids: [] }, 'recipient_ids', 'name at least one recipient'],
    [
      '101 recipients',
      { ...valid, recipient_ids: Array.from({ length: 101 }, () => crypto.randomUUID()) },
      'recipient_ids',
      'at most 100 recipients per request',
    ],
    ['a recipient id that is not a UUID', { ...valid, recipient_ids: ['bob'] }, 'recipient_ids.0', 'each recipient id must be a UUID'],
    ['a recipient twice', { ...valid, recipient_ids: [grace, grace] }, 'recipient_ids', 'each recipient may appear only once'],
    ['recipients that are not an array', { ...valid, recipient_ids: grace }, 'recipient_ids', 'recipient_ids must be an array of user ids'],
    ['an empty subject', { ...valid, subject: '   ' }, 'subject', 'subject must not be empty'],
    ['a 201-character subject', { ...valid, subject: 's'.repeat(201) }, 'subject', 'subject must be at most 200 characters'],
    ['a missing subject', { recipient_ids: [grace], body: 'x' }, 'subject', 'subject must be text'],
    ['a 20,001-character body', { ...valid, body: 'b'.repeat(20_001) }, 'body', 'body must be at most 20000 characters'],
    // Postgres text cannot store U+0000: the insert would fail with 22P05 and answer 500.
    [
      'a NUL character in the subject',
      { ...valid, subject: 'Hi\u0000there' },
      'subject',
      'subject must not contain the NUL character (\\u0000), which the database cannot store',
    ],
    [
      'a NUL character in the body',
      { ...valid, body: 'x\u0000' },
      'body',
      'body must not contain the NUL character (\\u0000), which the database cannot store',
    ],
  ])('answers 400 naming the field for %s', async (_case, body, path, message) => {
    const result = await send(body);
    expect(result.status).toBe(400);
    expect(result.body.error).toBe(`Invalid request body: ${path}: ${message}`);
    expect(result.body.issues![0]).toEqual({ path, message });
  });

  it('answers 400 for a body that is not JSON', async () => {
    const result = await send('{"subject":', true);
    expect(result.status).toBe(400);
  });

  it('answers 415 naming the media type for a JSON body sent as a form', async () => {
    const response = await call('/api/emails', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...(await bearer()) },
      body: JSON.stringify(valid),
    });
    expect(response.status).toBe(415);
    expect(await response.json()).toEqual({
      error: `Send the request body as JSON with "Content-Type: application/json", not 'application/x-www-form-urlencoded'`,
    });
  });

  it('answers 413 for a body over 128 KB', async () => {
    const result = await send({ ...valid, body: 'b'.repeat(200_000) });
    expect(result).toEqual({ status: 413, body: { error: 'The request body is over 128 KB' } });
  });

  it('checks the caller’s role in the database only after the body is valid: 503 when it cannot be reached', async () => {
    // HS256, because the JWKS lives at SUPABASE_URL too, which is unreachable here.
    const response = await call(
      '/api/emails',
      {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          Authorization: `Bearer ${await hs256Token(userClaims(ada, { iss: 'http://127.0.0.1:9/auth/v1' }))}`,
        },
        body: JSON.stringify(valid),
      },
      authEnv({ SUPABASE_URL: 'http://127.0.0.1:9' }),
    );
    expect(response.status).toBe(503);
    expect(((await response.json()) as { error: string }).error).toMatch(/^The database cannot be reached/);
  });
});

describe('GET /api/emails validation', () => {
  it.each([
    ['after=yesterday', 'after'],
    ['before=2026-11-28', 'before'],
    ['after=0000-01-01T00:00:00Z', 'after'],
    ['after=2026-11-28T02:01:15%2B23:00', 'after'],
    // Valid local times that fall outside years 0001-9999 in UTC.
    ['after=0001-01-01T00:00:00%2B14:00', 'after'],
    ['before=9999-12-31T23:59:59-14:00', 'before'],
    ['before=2026-11-28T02:01:15-15:30', 'before'],
    ['before=2026-11-28T02:01:15.123Z&before_id=42', 'before_id'],
    ['before_id=7b0d1c1e-5a55-4a8e-9a53-1d6b2f0c9e01', 'before_id'],
  ])('answers 400 naming the parameter for ?%s', async (query, field) => {
    const response = await call(`/api/emails?${query}`, { headers: await bearer() });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: string };
    expect(body.error).toMatch(new RegExp(`^Invalid query: ${field}: `));
  });

  it.each([
    ['limit=0', 'limit must be from 1 to 100'],
    ['limit=101', 'limit must be from 1 to 100'],
    ['limit=2.5', 'limit must be a whole number'],
    ['limit=ten', 'limit must be a number'],
  ])('says what is wrong with ?%s', async (query, message) => {
    const response = await call(`/api/emails?${query}`, { headers: await bearer() });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toBe(`Invalid query: limit: ${message}`);
  });
});

describe('PATCH /api/emails/:id/read validation', () => {
  it('answers 400 for an id that is not a UUID', async () => {
    const response = await call('/api/emails/42/read', { method: 'PATCH', headers: await bearer() });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'Invalid path parameter: id: the email id must be a UUID' });
  });
});
