import { createClient } from '@supabase/supabase-js';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSupabase, type TestSupabase } from '../support/node/local-supabase.ts';
import { seedUsers } from '../support/seed-users.ts';

describe('local Supabase /auth/v1', () => {
  let supabase: TestSupabase;
  const client = () => createClient(supabase.apiUrl, supabase.anonKey, { auth: { persistSession: false, autoRefreshToken: false } });

  beforeAll(async () => {
    supabase = await startTestSupabase();
  });
  afterAll(async () => {
    await supabase?.destroy();
  });

  it('signs in with a password and issues an ES256 access token published in the JWKS', async () => {
    const { data, error } = await client().auth.signInWithPassword({ email: seedUsers.grace.email, password: seedUsers.grace.password });
    expect(error).toBeNull();
    expect(data.session).toMatchObject({ token_type: 'bearer', expires_in: 3600 });
    expect(data.user).toMatchObject({
      id: seedUsers.grace.id,
      email: seedUsers.grace.email,
      role: 'authenticated',
      user_metadata: { display_name: seedUsers.grace.name },
    });

    const jwks = createRemoteJWKSet(new URL(`${supabase.apiUrl}/auth/v1/.well-known/jwks.json`));
    const { payload, protectedHeader } = await jwtVerify(data.session!.access_token, jwks, {
      audience: 'authenticated',
      issuer: `${supabase.apiUrl}/auth/v1`,
    });
    expect(protectedHeader.alg).toBe('ES256');
    expect(payload).toMatchObject({ sub: seedUsers.grace.id, role: 'authenticated', email: seedUsers.grace.email, aal: 'aal1' });
    expect(payload.session_id).toEqual(expect.any(String));
    expect(payload.exp! - payload.iat!).toBe(3600);
  });

  it('refuses a wrong password with invalid_credentials', async () => {
    const { data, error } = await client().auth.signInWithPassword({ email: seedUsers.grace.email, password: 'wrong password' });
    expect(data.session).toBeNull();
    expect(error).toMatchObject({ status: 400, code: 'invalid_credentials', message: 'Invalid login credentials' });
  });

  it('returns the current user, rotates refresh tokens, and ends the session on sign-out', async () => {
    const auth = client().auth;
    const { data: signedIn } = await auth.signInWithPassword({ email: seedUsers.ada.email, password: seedUsers.ada.password });
    const firstRefresh = signedIn.session!.refresh_token;

    const user = await auth.getUser();
    expect(user.error).toBeNull();
    expect(user.data.user?.email).toBe(seedUsers.ada.email);

    const refreshed = await auth.refreshSession();
    expect(refreshed.error).toBeNull();
    expect(refreshed.data.session!.refresh_token).not.toBe(firstRefresh);
    const spent = await client().auth.refreshSession({ refresh_token: firstRefresh });
    expect(spent.error?.code).toBe('refresh_token_not_found');

    const accessToken = refreshed.data.session!.access_token;
    expect((await auth.signOut()).error).toBeNull();
    const afterSignOut = await client().auth.getUser(accessToken);
    expect(afterSignOut.data.user).toBeNull();
    // supabase-js turns GoTrue's 403 session_not_found into AuthSessionMissingError.
    expect(afterSignOut.error?.name).toBe('AuthSessionMissingError');
    const raw = await fetch(`${supabase.apiUrl}/auth/v1/user`, {
      headers: { apikey: supabase.anonKey, Authorization: `Bearer ${accessToken}` },
    });
    expect(raw.status).toBe(403);
    expect(await raw.json()).toMatchObject({ code: 'session_not_found' });
  });

  it('publishes the JWKS without an apikey and answers anything else as not supported', async () => {
    const jwks = await fetch(`${supabase.apiUrl}/auth/v1/.well-known/jwks.json`);
    expect(jwks.status).toBe(200);
    const { keys } = await jwks.json();
    expect(keys).toEqual([expect.objectContaining({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' })]);
    expect(keys[0].d).toBeUndefined();

    const signUp = await client().auth.signUp({ email: 'new@tidings.local', password: 'password123' });
    expect(signUp.error?.status).toBe(501);
    expect(signUp.error?.message).toContain('not supported by the local Supabase');
  });

  it("uses Supabase's public development keys, verifiable with the legacy JWT secret", async () => {
    const secret = new TextEncoder().encode(supabase.jwtSecret);
    expect((await jwtVerify(supabase.anonKey, secret)).payload).toMatchObject({ iss: 'supabase-demo', role: 'anon' });
    expect((await jwtVerify(supabase.serviceRoleKey, secret)).payload).toMatchObject({ iss: 'supabase-demo', role: 'service_role' });
  });
});
