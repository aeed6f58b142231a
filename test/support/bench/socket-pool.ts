import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const childScript = fileURLToPath(new URL('./socket-pool-child.ts', import.meta.url));

type ChildMessage =
  | { cmd: 'opened'; ms: number; opened: number; failed: number; error: string }
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
   * `concurrency` handshakes in flight; with a channel, each subscribes to it (Pusher protocol).
   * Resolves with the wall time until every socket was ready.
   */
  async open(
    url: string,
    total: number,
    channel: string | null,
    concurrency = 100,
  ): Promise<{ ms: number; opened: number; failed: number; error: string }> {
    const n = this.children.length;
    const sizes = this.children.map((_, i) => Math.floor(total / n) + (i < total % n ? 1 : 0));
    const started = performance.now();
    const results = await Promise.all(
      this.children.map((child, i) => this.request(child, { cmd: 'open', url, count: sizes[i], channel, concurrency }, 'opened')),
    );
    this.sizes = sizes;
    const opened = results.reduce((sum, r) => sum + (r as { opened: number }).opened, 0);
    const failed = results.reduce((sum, r) => sum + (r as { failed: number }).failed, 0);
    const error = results.map((r) => (r as { error: string }).error).find(Boolean) ?? '';
    return { ms: performance.now() - started, opened, failed, error };
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
