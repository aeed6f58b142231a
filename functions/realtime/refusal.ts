import { frame } from './frames.ts';

/**
 * Accepts a WebSocket only to refuse it with a Pusher close code (after a `pusher:error` with the
 * same code), because a plain HTTP error would reach pusher-js as a generic failure and it would
 * retry forever; the close code tells it not to (4000-4099) or to back off.
 */
export function refuseWebSocket(code: number, message: string): Response {
  const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
  server.accept();
  server.send(frame.error(message, code));
  // A close reason is limited to 123 bytes.
  server.close(code, message.slice(0, 120));
  return new Response(null, { status: 101, webSocket: client });
}
