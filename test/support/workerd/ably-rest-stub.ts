import { env } from 'cloudflare:workers';
import { ablyStubVars as ablyWorkerVars } from '../ably-key.ts';
import type { AcceptedAblyRequest } from '../node/ably-rest-stub.ts';

export type { AcceptedAblyRequest } from '../node/ably-rest-stub.ts';

/** Settings that point the `ably` broadcaster at the Node-side Ably REST stand-in. */
export const ablyStubVars = ablyWorkerVars(env.ABLY_REST_STUB_PORT);

function stubUrl(path: string): string {
  return `http://127.0.0.1:${env.ABLY_REST_STUB_PORT}${path}`;
}

/** Every request the stand-in (support/node/ably-rest-stub.ts) answered with a 2xx so far, from all tests. */
export async function acceptedByAblyStub(): Promise<AcceptedAblyRequest[]> {
  return (await fetch(stubUrl('/__accepted'))).json();
}

/** A realtime connection as the stand-in knows it: REST publishes may name its key. */
export async function openAblyConnection(
  clientId: string | null,
): Promise<{ connectionId: string; connectionKey: string; clientId: string | null }> {
  const response = await fetch(stubUrl('/__connections'), { method: 'POST', body: JSON.stringify({ clientId }) });
  return response.json();
}
