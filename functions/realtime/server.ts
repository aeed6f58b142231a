import { DurableObject } from 'cloudflare:workers';

/**
 * The realtime server: a Pusher Channels (protocol 7) server on a Durable Object with the
 * WebSocket Hibernation API. One object serves one app.
 */
export class RealtimeServer extends DurableObject<Env> {
  override async fetch(_request: Request): Promise<Response> {
    return Response.json(
      { error: 'The realtime server does not accept connections yet.' },
      { status: 503 },
    );
  }
}
