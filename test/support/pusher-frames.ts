// What a raw Pusher-protocol socket received, for tests that check exact frames and close codes.
// The socket itself is the runtime's: `ws` in Node (support/node/realtime-clients.ts, RawSocket),
// the WebSocket of a fetch through the Worker inside workerd (support/workerd/realtime-client.ts,
// RawClient); each feeds this log. No imports, so both runtimes can load it.

/** A frame as the test sees it: `data` decoded when the server sent a JSON string. */
export interface Frame {
  event: string;
  channel?: string;
  /** Decoded JSON when the server sent a JSON string; check its shape with expect(). */
  data?: unknown;
  user_id?: string;
}

/** Every frame a socket received (decoded and as sent) and how it closed, with waits on them. */
export class FrameLog {
  /** Frames not taken by {@link next} yet, in arrival order. */
  readonly frames: Frame[] = [];
  /** Every text frame exactly as sent (`<binary>` for a binary one). */
  readonly raw: string[] = [];
  closed: { code: number; reason: string } | null = null;
  /** Pending waits, each re-checked whenever a frame, a close or an error arrives. */
  private readonly waiters = new Set<() => void>();

  /** Records a frame the socket received. */
  protected received(text: string): void {
    this.raw.push(text);
    try {
      const frame = JSON.parse(text) as Frame;
      if (typeof frame.data === 'string') {
        try {
          frame.data = JSON.parse(frame.data);
        } catch {
          // Plain string data stays as it is.
        }
      }
      this.frames.push(frame);
    } catch {
      this.frames.push({ event: '<not json>', data: text });
    }
    this.wake();
  }

  /** Records that the socket closed. */
  protected closedWith(code: number, reason: string): void {
    this.closed = { code, reason };
    this.wake();
  }

  /** Wakes the waits, e.g. on a socket error, so they fail fast rather than at their timeout. */
  protected wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  /** Resolves with what `check` finds, checking now and on every frame, close or error; rejects after `timeoutMs`. */
  private until<T>(check: () => T | undefined, what: string, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const settle = (outcome: () => void) => {
        this.waiters.delete(attempt);
        clearTimeout(timer);
        outcome();
      };
      const attempt = () => {
        const found = check();
        if (found !== undefined) settle(() => resolve(found));
      };
      const timer = setTimeout(
        () =>
          settle(() =>
            reject(new Error(`Timed out waiting for ${what}; frames: ${JSON.stringify(this.raw)} closed: ${JSON.stringify(this.closed)}`)),
          ),
        timeoutMs,
      );
      this.waiters.add(attempt);
      attempt();
    });
  }

  /** Waits for (and removes) the first frame matching `event` (and channel). */
  next(event: string, channel?: string, timeoutMs = 5000): Promise<Frame> {
    return this.until(
      () => {
        const index = this.frames.findIndex((frame) => frame.event === event && (channel === undefined || frame.channel === channel));
        return index === -1 ? undefined : this.frames.splice(index, 1)[0];
      },
      `${event}${channel ? ` on ${channel}` : ''}`,
      timeoutMs,
    );
  }

  /** Waits for the socket to be closed by the server. */
  waitClosed(timeoutMs = 5000): Promise<{ code: number; reason: string }> {
    return this.until(() => this.closed ?? undefined, 'close', timeoutMs);
  }

  /** The socket id from the handshake (the frame stays in {@link frames}). */
  async socketId(): Promise<string> {
    const frame =
      this.frames.find((f) => f.event === 'pusher:connection_established') ?? (await this.next('pusher:connection_established'));
    if (!this.frames.includes(frame)) this.frames.unshift(frame);
    const socketId = (frame.data as { socket_id?: unknown } | undefined)?.socket_id;
    if (typeof socketId !== 'string') throw new Error(`connection_established without a socket_id: ${JSON.stringify(frame.data)}`);
    return socketId;
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
}
