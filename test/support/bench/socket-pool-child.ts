// One client process of a SocketPool (./socket-pool.ts): opens raw WebSockets on its parent's
// command, subscribes them to a channel with the Pusher protocol (or not, for the baseline), and
// reports when every socket has received round N of an event, with each receipt's time.
// Receipt times come from stats.now(), comparable with the parent's clock.
// The sockets offer permessage-deflate, as browsers and pusher-js in a browser do; whether it was
// accepted is up to the server (wrangler.toml's no_web_socket_compression declines it) and is
// reported per socket (`ws.extensions`). BENCH_DEFLATE=0 makes them not offer it, for a comparison.
import WebSocket from 'ws';
import { now } from './stats.ts';

type Command = { cmd: 'open'; url: string; count: number; channel: string | null; concurrency: number } | { cmd: 'close' };

const sockets: WebSocket[] = [];
const OFFER_DEFLATE = process.env.BENCH_DEFLATE !== '0';
const receipts = new Map<number, number[]>();
const ROUND = /round\\?":(\d+)/;

function send(message: unknown): void {
  process.send!(message);
}

function onFrame(text: string, at: number): void {
  const match = ROUND.exec(text);
  if (!match) return;
  const round = Number(match[1]);
  const times = receipts.get(round) ?? [];
  receipts.set(round, times);
  times.push(at);
  if (times.length === sockets.length) {
    send({ cmd: 'round', round, times });
    receipts.delete(round);
  }
}

let opened = 0;

/**
 * Opens one socket; with a channel, resolves once the server confirmed the subscription. A `{n}`
 * in the channel's name becomes a number of this socket's own (a channel per socket).
 */
function openOne(url: string, template: string | null): Promise<WebSocket> {
  const channel = template?.replace('{n}', `${process.pid}-${opened++}`) ?? null;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: OFFER_DEFLATE });
    ws.once('error', reject);
    if (channel === null) ws.once('open', () => resolve(ws));
    let ready = channel === null;
    ws.on('message', (raw: Buffer) => {
      const at = now();
      const text = raw.toString();
      if (ready) return onFrame(text, at);
      if (text.includes('pusher:connection_established')) {
        ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel } }));
      } else if (text.includes('pusher_internal:subscription_succeeded')) {
        ready = true;
        resolve(ws);
      } else if (text.includes('pusher:error')) {
        reject(new Error(text));
      }
    });
  });
}

async function open(command: Extract<Command, { cmd: 'open' }>): Promise<void> {
  const started = now();
  const already = sockets.length;
  let next = 0;
  let failed = 0;
  let firstError = '';
  const opener = async () => {
    while (next < command.count) {
      next++;
      try {
        sockets.push(await openOne(command.url, command.channel));
      } catch (error) {
        failed++;
        firstError ||= String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(command.concurrency, command.count) }, opener));
  // The WebSocket extensions the server accepted, by negotiated value ('' = none).
  const extensions: Record<string, number> = {};
  for (const ws of sockets.slice(already)) extensions[ws.extensions] = (extensions[ws.extensions] ?? 0) + 1;
  send({ cmd: 'opened', ms: now() - started, opened: sockets.length - already, failed, error: firstError, extensions });
}

async function closeAll(): Promise<void> {
  await Promise.all(
    sockets.map(
      (ws) =>
        new Promise<void>((resolve) => {
          if (ws.readyState === WebSocket.CLOSED) return resolve();
          const timer = setTimeout(() => {
            ws.terminate();
            resolve();
          }, 2000);
          ws.once('close', () => {
            clearTimeout(timer);
            resolve();
          });
          ws.close();
        }),
    ),
  );
  send({ cmd: 'closed' });
}

process.on('message', (command: Command) => {
  if (command.cmd === 'open') void open(command);
  else if (command.cmd === 'close') void closeAll().then(() => process.disconnect());
});
