import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { publicUserTokenJwk } from '../../../supabase/local/keys.ts';

/**
 * The local Supabase's JWKS (`/auth/v1/.well-known/jwks.json`, the same key set `npm run supabase`
 * publishes) without its database, so the Worker's JWT verification inside workerd fetches real keys
 * over HTTP. Tests sign with the matching private key through test/support/tokens.ts. Only the
 * JWKS: no PostgREST, no sign-in. Test-only path: `GET /__jwks-requests` (how often the key set was
 * fetched).
 */
export async function startSupabaseAuthStub(): Promise<{ port: number; close: () => Promise<void> }> {
  let jwksRequests = 0;
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    response.setHeader('content-type', 'application/json');
    if (path === '/auth/v1/.well-known/jwks.json') {
      jwksRequests++;
      response.writeHead(200).end(JSON.stringify({ keys: [publicUserTokenJwk()] }));
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
