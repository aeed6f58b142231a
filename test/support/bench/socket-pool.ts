import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const childScript = fileURLToPath(new URL('./socket-pool-child.ts', import.meta.url));

type ChildMessage =
  | { cmd: 'opened'; ms: number; opened: number; failed: number; error: string; extensions: Record<string, number> }
  | { cmd: 'round'; round: number; times: number[] }
  | { cmd: 'closed' };

/**
 * WebSocket clients spread over child processes, so reading thousands of frames does not share
 * one event loop with the benchmark that triggers and times them. BENCH_CPU_PROF=1 writes a
 * `--cpu-prof` profile of each client process to bench-results/profiles/.
 */
export class SocketPool {
  private readonly children: ChildProcess[];
  private readonly rounds = new Map<number, number[][]>();
  private readonly waiters = new Set<() => void>();
  private sizes: number[] = [];

  private constructor(children: ChildProcess[]) {
    this.children = children;
    for (const child of children) {
      child.on('message', (message: ChildMessage) => {
        if (message.cmd !== 'round') return;
        const parts = this.rounds.get(message.round) ?? [];
        parts.push(message.times);
        this.rounds.set(message.round, parts);
        for (const wake of this.waiters) wake();
      });
    }
  }

  /** Starts `processes` client processes. */
  static start(processes: number): SocketPool {
    const profile = process.env.BENCH_CPU_PROF
      ? ['--cpu-prof', `--cpu-prof-dir=${fileURLToPath(new URL('../../../bench-results/profiles', import.meta.url))}`]
      : [];
    return new SocketPool(
      Array.from({ length: processes }, () =>
        fork(childScript, { execArgv: ['--experimental-strip-types', ...profile], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
      ),
    );
  }

  /** Client process ids (their memory is not the server's). */
  pids(): number[] {
    return this.children.map((child) => child.pid!);
  }

  /**
   * Opens `total` sockets to `url`, split evenly over the processes, each process keeping
   * `concurrency` handshakes in flight; with a channel, each subscribes to it (Pusher protocol; a
   * `{n}` in its name gives each socket a channel of its own).
   * Sockets add to those already open (a fan-out reaches them all). Resolves with the wall time
   * until every socket was ready, and the opened sockets by negotiated WebSocket extensions
   * ('' = none, as production answers; 'permessage-deflate' = every frame compressed).
   */
  async open(
    url: string,
    total: number,
    channel: string | null,
    concurrency = 100,
  ): Promise<{ ms: number; opened: number; failed: number; error: string; extensions: Record<string, number> }> {
    const n = this.children.length;
    const sizes = this.children.map((_, i) => Math.floor(total / n) + (i < total % n ? 1 : 0));
    const started = performance.now();
    const results = (await Promise.all(
      this.children.map((child, i) => this.request(child, { cmd: 'open', url, count: sizes[i], channel, concurrency }, 'opened')),
    )) as Array<Extract<ChildMessage, { cmd: 'opened' }>>;
    this.sizes = this.children.map((_, i) => (this.sizes[i] ?? 0) + results[i]!.opened);
    const extensions: Record<string, number> = {};
    for (const result of results)
      for (const [name, count] of Object.entries(result.extensions)) extensions[name] = (extensions[name] ?? 0) + count;
    return {
      ms: performance.now() - started,
      opened: results.reduce((sum, r) => sum + r.opened, 0),
      failed: results.reduce((sum, r) => sum + r.failed, 0),
      error: results.map((r) => r.error).find(Boolean) ?? '',
      extensions,
    };
  }

  /** Sockets open in all processes. */
  size(): number {
    return this.sizes.reduce((sum, size) => sum + size, 0);
  }

  /** Receipt times (stats.now() clock) of round `round` on every socket; throws if not all arrive in time. */
  async receipts(round: number, timeoutMs = 30_000): Promise<number[]> {
    const expected = this.sizes.filter((size) => size > 0).length;
    const deadline = Date.now() + timeoutMs;
    while ((this.rounds.get(round)?.length ?? 0) < expected) {
      if (Date.now() > deadline)
        throw new Error(
          `round ${round}: only ${this.rounds.get(round)?.length ?? 0} of ${expected} client processes got every frame within ${timeoutMs} ms`,
        );
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.waiters.delete(wake);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(wake, 100);
        this.waiters.add(wake);
      });
    }
    const times = this.rounds.get(round)!.flat();
    this.rounds.delete(round);
    return times;
  }

  /** Closes every socket and ends the client processes. */
  async close(): Promise<void> {
    await Promise.all(
      this.children.map(async (child) => {
        if (child.exitCode !== null || !child.connected) return;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.send({ cmd: 'close' });
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }),
    );
  }

  private request(child: ChildProcess, command: object, answer: ChildMessage['cmd']): Promise<ChildMessage> {
    return new Promise((resolve, reject) => {
      const onMessage = (message: ChildMessage) => {
        if (message.cmd !== answer) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(message);
      };
      const onExit = (code: number | null) => reject(new Error(`a client process exited with ${code}`));
      child.on('message', onMessage);
      child.once('exit', onExit);
      child.send(command);
    });
  }
}
