import { describe, expect, it } from 'vitest';
import { seedUsers } from '../../support/seed-users.ts';
import { call, es256Token, userClaims } from '../../support/workerd/auth.ts';

async function post(
  body: unknown,
): Promise<{ status: number; body: { error?: string; issues?: Array<{ path: string; message: string }> } }> {
  const response = await call('/api/announcements', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${await es256Token(userClaims(seedUsers.ada.id))}` },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as never };
}

// Posting and listing need the database: the integration and browser tests cover them.
describe('POST /api/announcements validation', () => {
  it.each([
    ['an empty title', { title: '  ', body: 'x' }, 'title', 'title must not be empty'],
    ['a 201-character title', { title: 't'.repeat(201), body: 'x' }, 'title', 'title must be at most 200 characters'],
    ['a missing body', { title: 'Hi' }, 'body', 'body must be text'],
    ['a 2,001-character body', { title: 'Hi', body: 'b'.repeat(2001) }, 'body', 'body must be at most 2000 characters'],
    [
      'a NUL in the title',
      { title: 'a\u0000b', body: 'x' },
      'title',
      'title must not contain the NUL character (\\u0000), which the database cannot store',
    ],
  ])('answers 400 naming the field for %s', async (_, body, path, message) => {
    const result = await post(body);
    expect(result.status).toBe(400);
    expect(result.body.issues).toContainEqual(expect.objectContaining({ path, message }));
  });

  it('answers 400 naming the parameter for a malformed after cursor', async () => {
    const response = await call('/api/announcements?after=yesterday', {
      headers: { Authorization: `Bearer ${await es256Token(userClaims(seedUsers.ada.id))}` },
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toMatch(/after/);
  });

  it.each([
    ['limit=0', 'limit must be from 1 to 50'],
    ['limit=51', 'limit must be from 1 to 50'],
    ['limit=many', 'limit must be a number'],
  ])('says what is wrong with ?%s', async (query, message) => {
    const response = await call(`/api/announcements?${query}`, {
      headers: { Authorization: `Bearer ${await es256Token(userClaims(seedUsers.ada.id))}` },
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toBe(`Invalid query: limit: ${message}`);
  });
});
