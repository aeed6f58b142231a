import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Publishes a signing key the way Supabase Auth does (`/auth/v1/.well-known/jwks.json`), so the
 * Worker's JWT verification fetches real keys over HTTP. Only the JWKS: no PostgREST, no sign-in.
 * Test-only paths: `GET /__signing-key` (the private JWK, for tests inside workerd to sign tokens
 * with) and `GET /__jwks-requests` (how often the key set was fetched).
 */
export async function startSupabaseAuthStub(): Promise<{ port: number; close: () => Promise<void> }> {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  const kid = 'tidings-test-es256';
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  const privateJwk: JWK = { ...(await exportJWK(privateKey)), kid, alg: 'ES256' };
  let jwksRequests = 0;
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    response.setHeader('content-type', 'application/json');
    if (path === '/auth/v1/.well-known/jwks.json') {
      jwksRequests++;
      response.writeHead(200).end(JSON.stringify({ keys: [publicJwk] }));
    } else if (path === '/__signing-key') {
      response.writeHead(200).end(JSON.stringify(privateJwk));
    } else if (path === '/__jwks-requests') {
      response.writeHead(200).end(JSON.stringify({ count: jwksRequests }));
    } else {
      response.writeHead(404).end(JSON.stringify({ error: `not served by the test auth stub: ${path}` }));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
