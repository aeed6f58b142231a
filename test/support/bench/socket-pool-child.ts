// One client process of a SocketPool (./socket-pool.ts): opens raw WebSockets on its parent's
// command, subscribes them to a channel with the Pusher protocol (or not, for the baseline), and
// reports when every socket has received round N of an event, with each receipt's time.
// Receipt times come from stats.now(), comparable with the parent's clock.
// The sockets do not offer permessage-deflate: production declines it (wrangler.toml's
// no_web_socket_compression), but locally Miniflare's entry worker answers the handshake and would
// accept it. BENCH_DEFLATE=1 makes them offer it, as browsers do, to measure what it costs.
import WebSocket from 'ws';
import { now } from './stats.ts';

type Command = { cmd: 'open'; url: string; count: number; channel: string | null; concurrency: number } | { cmd: 'close' };

const sockets: WebSocket[] = [];
const receipts = new Map<number, number[]>();
const ROUND = /round\\?":(\d+)/;

function send(message: unknown): void {
  process.send!(message);
}

function onFrame(text: string, at: number): void {
  const match = ROUND.exec(text);
  if (!match) return;
  const round = Number(match[1]);
  let times = receipts.get(round);
  if (!times) receipts.set(round, (times = []));
  times.push(at);
  if (times.length === sockets.length) {
    send({ cmd: 'round', round, times });
    receipts.delete(round);
  }
}

/** Opens one socket; with a channel, resolves once the server confirmed the subscription. */
function openOne(url: string, channel: string | null): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: process.env.BENCH_DEFLATE === '1' });
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
  send({ cmd: 'opened', ms: now() - started, opened: sockets.length - already, failed, error: firstError });
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
