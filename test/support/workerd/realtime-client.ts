import { exports } from 'cloudflare:workers';

/** A frame as the test sees it: `data` decoded when the server sent a JSON string. */
export interface Frame {
  event: string;
  channel?: string;
  /** Decoded JSON when the server sent a JSON string; check its shape with expect(). */
  data?: unknown;
  user_id?: string;
}

/**
 * A raw Pusher-protocol client inside workerd, for exact frames: connects through the Worker's
 * `/app/{key}` route and queues every frame and the close event.
 */
export class RawClient {
  readonly ws: WebSocket;
  readonly frames: Frame[] = [];
  readonly rawFrames: string[] = [];
  closed: { code: number; reason: string } | null = null;
  private waiters: Array<() => void> = [];

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.addEventListener('message', (event) => {
      const text = String(event.data);
      this.rawFrames.push(text);
      const frame = JSON.parse(text) as Frame;
      if (typeof frame.data === 'string') {
        try {
          frame.data = JSON.parse(frame.data);
        } catch {
          // Plain string data stays as it is.
        }
      }
      this.frames.push(frame);
      this.wake();
    });
    ws.addEventListener('close', (event) => {
      this.closed = { code: event.code, reason: event.reason };
      this.wake();
    });
  }

  /** Opens a socket to `/app/{key}` (protocol 7 unless `query` says otherwise). */
  static async connect(key: string, query = 'protocol=7&client=js&version=8.6.0'): Promise<RawClient> {
    const response = await exports.default.fetch(`http://tidings.test/app/${key}?${query}`, { headers: { Upgrade: 'websocket' } });
    if (!response.webSocket) throw new Error(`No WebSocket: HTTP ${response.status} ${await response.text()}`);
    response.webSocket.accept();
    return new RawClient(response.webSocket);
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter();
  }

  private async until<T>(check: () => T | undefined, what: string, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = check();
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}; frames: ${JSON.stringify(this.frames)} closed: ${JSON.stringify(this.closed)}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  /** Waits for (and removes) the first frame matching `event` (and channel). */
  next(event: string, channel?: string, timeoutMs = 5000): Promise<Frame> {
    return this.until(() => {
      const index = this.frames.findIndex((frame) => frame.event === event && (channel === undefined || frame.channel === channel));
      return index === -1 ? undefined : this.frames.splice(index, 1)[0];
    }, `${event}${channel ? ` on ${channel}` : ''}`, timeoutMs);
  }

  /** Waits for the socket to be closed by the server. */
  waitClosed(timeoutMs = 5000): Promise<{ code: number; reason: string }> {
    return this.until(() => this.closed ?? undefined, 'close', timeoutMs);
  }

  /** The socket id from the handshake. */
  async socketId(): Promise<string> {
    const frame = this.frames.find((f) => f.event === 'pusher:connection_established') ?? (await this.next('pusher:connection_established'));
    if (!this.frames.includes(frame)) this.frames.unshift(frame);
    const socketId = (frame.data as { socket_id?: unknown } | undefined)?.socket_id;
    if (typeof socketId !== 'string') throw new Error(`connection_established without a socket_id: ${JSON.stringify(frame.data)}`);
    return socketId;
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /**
   * Whether no `event` frame came before the `marker` frame (waiting for the marker). Frames on one
   * socket arrive in the order the server sent them, and the object handles one message at a time,
   * so once a marker sent after the action is here, whatever the action sent to this socket is too.
   */
  async noneBefore(event: string, marker: string, channel?: string, timeoutMs = 5000): Promise<boolean> {
    const isMarker = (frame: Frame) => frame.event === marker && (channel === undefined || frame.channel === channel);
    await this.until(() => this.frames.find(isMarker), `${marker}${channel ? ` on ${channel}` : ''}`, timeoutMs);
    return !this.frames.slice(0, this.frames.findIndex(isMarker)).some((frame) => frame.event === event);
  }

  close(): void {
    try {
      this.ws.close(1000, 'test done');
    } catch {
      // Closed already.
    }
  }
}
