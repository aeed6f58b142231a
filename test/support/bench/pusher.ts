import PusherServer from 'pusher';
import Pusher from 'pusher-js';
import WebSocket from 'ws';
import { readDevVars } from '../node/dev-vars.ts';
import { onLoopback } from '../node/realtime-clients.ts';

const vars = readDevVars();

/** The development app's credentials (.dev.vars.example). */
export const app = { id: vars.PUSHER_APP_ID!, key: vars.PUSHER_APP_KEY!, secret: vars.PUSHER_APP_SECRET! };

/** The official server SDK pointed at a server on 127.0.0.1. */
export function serverSdk(port: number): PusherServer {
  return new PusherServer({ appId: app.id, key: app.key, secret: app.secret, host: '127.0.0.1', port: String(port), useTLS: false });
}

/** The WebSocket URL pusher-js would open. */
export function socketUrl(port: number): string {
  return `ws://127.0.0.1:${port}/app/${app.key}?protocol=7&client=js&version=8.6.0`;
}

/** A connected pusher-js client; `authorization` is passed through (e.g. /broadcasting/auth with a bearer token). */
export async function connectedPusher(
  port: number,
  authorization?: { endpoint: string; headers: Record<string, string> },
): Promise<Pusher> {
  const client = new Pusher(app.key, {
    ...onLoopback(port),
    ...(authorization
      ? { channelAuthorization: { endpoint: authorization.endpoint, transport: 'ajax' as const, headers: authorization.headers } }
      : {}),
  });
  await new Promise<void>((resolve, reject) => {
    client.connection.bind('connected', () => resolve());
    client.connection.bind('failed', () => reject(new Error('pusher-js could not connect')));
  });
  return client;
}

/** Subscribes and waits for pusher:subscription_succeeded (rejects on subscription_error). */
export async function subscribed(client: Pusher, name: string): Promise<ReturnType<Pusher['subscribe']>> {
  const channel = client.subscribe(name);
  await new Promise<void>((resolve, reject) => {
    channel.bind('pusher:subscription_succeeded', () => resolve());
    channel.bind('pusher:subscription_error', (error: unknown) =>
      reject(new Error(`subscribing to ${name} failed: ${JSON.stringify(error)}`)),
    );
  });
  return channel;
}

/** Whether bench clients offer permessage-deflate: yes, as browsers do, unless BENCH_DEFLATE=0. */
export const OFFER_DEFLATE = process.env.BENCH_DEFLATE !== '0';

/**
 * A browser-like subscriber speaking the Pusher protocol over a raw `ws` socket that offers
 * permessage-deflate (pusher-js in Node does not offer it; in a browser it does): connects,
 * subscribes to `channel`, and hands every later frame's text to `onFrame`. `extensions` is what
 * the server accepted ('' = none).
 */
export async function protocolSubscriber(
  port: number,
  channel: string,
  onFrame: (text: string) => void,
): Promise<{ extensions: string; close: () => void }> {
  const ws = new WebSocket(socketUrl(port), { perMessageDeflate: OFFER_DEFLATE });
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.on('message', function handshake(raw: Buffer) {
      const text = raw.toString();
      if (text.includes('pusher:connection_established')) {
        ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel } }));
      } else if (text.includes('pusher_internal:subscription_succeeded')) {
        ws.off('message', handshake);
        resolve();
      } else if (text.includes('pusher:error') || text.includes('pusher:subscription_error')) {
        reject(new Error(text));
      }
    });
  });
  ws.on('message', (raw: Buffer) => onFrame(raw.toString()));
  return { extensions: ws.extensions, close: () => ws.close() };
}
