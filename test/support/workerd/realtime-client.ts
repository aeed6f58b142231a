import { exports } from 'cloudflare:workers';
import { afterEach } from 'vitest';
import { FrameLog } from '../pusher-frames.ts';

export type { Frame } from '../pusher-frames.ts';

/**
 * A raw Pusher-protocol client inside workerd, for exact frames: connects through the Worker's
 * `/app/{key}` route and logs every frame and the close event (see {@link FrameLog}).
 */
export class RawClient extends FrameLog {
  readonly ws: WebSocket;

  private constructor(ws: WebSocket) {
    super();
    this.ws = ws;
    ws.addEventListener('message', (event) => this.received(String(event.data)));
    ws.addEventListener('close', (event) => this.closedWith(event.code, event.reason));
  }

  /** Opens a socket to `/app/{key}` (protocol 7 unless `query` says otherwise), from `address` (CF-Connecting-IP) if given. */
  static async connect(key: string, query = 'protocol=7&client=js&version=8.6.0', address?: string): Promise<RawClient> {
    const headers: Record<string, string> = { Upgrade: 'websocket', ...(address ? { 'CF-Connecting-IP': address } : {}) };
    const response = await exports.default.fetch(`http://tidings.test/app/${key}?${query}`, { headers });
    if (!response.webSocket) throw new Error(`No WebSocket: HTTP ${response.status} ${await response.text()}`);
    response.webSocket.accept();
    return new RawClient(response.webSocket);
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  close(): void {
    try {
      this.ws.close(1000, 'test done');
    } catch {
      // Closed already.
    }
  }
}

/**
 * A `connect` for one test file whose clients are closed after each test.
 *
 * @example
 * const connect = clientsClosedAfterEach(env.PUSHER_APP_KEY);
 * const client = await connect();
 */
export function clientsClosedAfterEach(key: string, options: { address?: () => string } = {}): (query?: string) => Promise<RawClient> {
  const open: RawClient[] = [];
  afterEach(() => {
    for (const client of open.splice(0)) client.close();
  });
  return async (query) => {
    const client = await RawClient.connect(key, query, options.address?.());
    open.push(client);
    return client;
  };
}
