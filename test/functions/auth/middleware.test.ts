import { describe, expect, it } from 'vitest';
import { seedUsers } from '../../support/seed-users.ts';
import { call } from '../../support/workerd/auth.ts';

const ada = seedUsers.ada.id;

describe('authentication on /api', () => {
  it.each([
    ['GET', '/api/me'],
    ['GET', '/api/emails'],
    ['POST', '/api/emails'],
    ['PATCH', `/api/emails/${ada}/read`],
    ['GET', '/api/users'],
    ['GET', '/api/delivery'],
    ['GET', '/api/announcements'],
    ['POST', '/api/announcements'],
  ])('%s %s answers 401 without a valid token, saying what is wrong', async (method, path) => {
    for (const [headers, error] of [
      [{}, 'Sign in first: send "Authorization: Bearer <Supabase access token>"'],
      [{ Authorization: 'Bearer forged.token.here' }, 'The access token is not a JWT'],
    ] as Array<[Record<string, string>, string]>) {
      const response = await call(path, { method, headers });
      expect(response.status).toBe(401);
      expect(((await response.json()) as { error: string }).error).toBe(error);
    }
  });
});
