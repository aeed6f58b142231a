import { afterEach, describe, expect, it, vi } from 'vitest';
import { signUserAccessToken, verifySupabaseJwt } from '../../supabase/local/jwt.ts';
import { SERVICE_ROLE_KEY } from '../../supabase/local/keys.ts';

describe("the local Supabase's JWT verification", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('verifies the project keys and user tokens, and answers again from what it verified', async () => {
    expect(await verifySupabaseJwt(SERVICE_ROLE_KEY)).toMatchObject({ role: 'service_role' });
    const token = await signUserAccessToken({ sub: 'user-1', role: 'authenticated' }, 60);
    const first = await verifySupabaseJwt(token);
    expect(first).toMatchObject({ sub: 'user-1', role: 'authenticated' });
    expect(await verifySupabaseJwt(token)).toBe(first);
  });

  it('refuses a token it verified before once the token has expired', async () => {
    const token = await signUserAccessToken({ sub: 'user-2', role: 'authenticated' }, 60);
    await verifySupabaseJwt(token);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 61_000);
    await expect(verifySupabaseJwt(token)).rejects.toThrow('JWT expired');
  });

  it('refuses a token whose signature was changed after the genuine one was verified', async () => {
    const token = await signUserAccessToken({ sub: 'user-3', role: 'authenticated' }, 60);
    await verifySupabaseJwt(token);
    const [header, payload] = token.split('.');
    const forged = `${header}.${payload}.${Buffer.alloc(64, 1).toString('base64url')}`;
    await expect(verifySupabaseJwt(forged)).rejects.toThrow('invalid signature');
  });
});
