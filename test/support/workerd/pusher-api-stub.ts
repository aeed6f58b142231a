import { env } from 'cloudflare:workers';

/** A request the stub accepted, as GET /__accepted lists it. */
export interface AcceptedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body: string;
}

/** Settings that point the `pusher` broadcaster (and the SDK) at the Node-side Pusher HTTP API stub. */
export const pusherStubVars = {
  BROADCAST_DRIVER: 'pusher',
  PUSHER_HOST: '127.0.0.1',
  PUSHER_PORT: env.PUSHER_API_STUB_PORT,
  PUSHER_SCHEME: 'http',
};

/** Every request the stub (support/node/pusher-api-stub.ts) accepted so far, from all tests. */
export async function acceptedByPusherStub(): Promise<AcceptedRequest[]> {
  return (await fetch(`http://127.0.0.1:${env.PUSHER_API_STUB_PORT}/__accepted`)).json();
}
