import { describe, expect, it } from 'vitest';
import { seedUsers } from '../../support/seed-users.ts';
import { authEnv, call, es256Token, formPost, userClaims } from '../../support/workerd/auth.ts';

describe('CORS', () => {
  const origin = 'https://mail.example.com';

  it('answers a preflight from an allowed origin, allowing the auth and socket id headers', async () => {
    const response = await call(
      '/broadcasting/auth',
      {
        method: 'OPTIONS',
        headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization,x-socket-id' },
      },
      authEnv({ CORS_ORIGINS: `https://other.example, ${origin}` }),
    );
    expect(response.status).toBe(204);
    expect(response.headers.get('Access-Control-Allow-Origin')).toBe(origin);
    expect(response.headers.get('Access-Control-Allow-Headers')).toMatch(/Authorization/);
    expect(response.headers.get('Access-Control-Allow-Headers')).toMatch(/X-Socket-ID/);
  });

  it('adds the header to real responses, errors included', async () => {
    const testEnv = authEnv({ CORS_ORIGINS: origin });
    const ada = seedUsers.ada.id;
    const init = formPost(await es256Token(userClaims(ada)), { socket_id: '1.2', channel_name: `private-user.${ada}` });
    const ok = await call(
      '/broadcasting/auth',
      { ...init, headers: { ...(init.headers as Record<string, string>), Origin: origin } },
      testEnv,
    );
    expect(ok.status).toBe(200);
    expect(ok.headers.get('Access-Control-Allow-Origin')).toBe(origin);
    const refused = await call('/broadcasting/auth', { method: 'POST', headers: { Origin: origin } }, testEnv);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('Access-Control-Allow-Origin')).toBe(origin);
  });

  it('allows no other origin, and none at all by default', async () => {
    const preflight = { method: 'OPTIONS', headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'POST' } };
    expect(
      (await call('/broadcasting/auth', preflight, authEnv({ CORS_ORIGINS: origin }))).headers.get('Access-Control-Allow-Origin'),
    ).toBeNull();
    expect(
      (await call('/broadcasting/auth', preflight, authEnv({ CORS_ORIGINS: '' }))).headers.get('Access-Control-Allow-Origin'),
    ).toBeNull();
  });
});
