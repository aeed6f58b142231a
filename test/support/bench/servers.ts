// The servers the benchmarks measure: the Worker's deploy bundle in bare workerd (the headline
// numbers: our Worker is the entry, as on Cloudflare, so wrangler.toml's flags apply, among them
// no_web_socket_compression), the Worker under `wrangler dev` (once, for the dev proxy's overhead;
// there Miniflare's entry worker answers the WebSocket handshake and accepts permessage-deflate),
// and the baseline, a minimal Node `ws` server in its own process.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startBareWorkerd } from '../node/bare-workerd.ts';
import { descendantsOf } from '../node/processes.ts';
import { startWorker } from '../node/worker.ts';

/** A server under test, on 127.0.0.1. */
export interface BenchServer {
  name: string;
  port: number;
  /** The processes whose memory and CPU count as the server's (workerd, or the baseline's Node). */
  pids: () => number[];
  stop: () => Promise<void>;
}

/** Workerd processes started by this process (wrangler dev runs workerd as a descendant). */
function workerdPids(parent: number): number[] {
  return descendantsOf(parent).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'workerd';
    } catch {
      return false;
    }
  });
}

/**
 * The deploy bundle (`wrangler deploy --dry-run`) in bare workerd (../node/bare-workerd.ts), reached on
 * workerd's own port: no dev proxy and no entry worker in front, as in production. `shards` sets
 * REALTIME_SHARDS; `vars` override the development settings; `tailPort` adds the tail worker that
 * counts invocations (for RPC counts; it costs a little per invocation, so not for timings);
 * `compatibilityFlags` replaces wrangler.toml's (to measure what a flag changes).
 */
export async function startWorkerd(
  options: { vars?: Record<string, string>; port?: number; shards?: number; tailPort?: number; compatibilityFlags?: string[] } = {},
): Promise<BenchServer> {
  const shards = options.shards ?? 1;
  const workerd = await startBareWorkerd({
    ...(options.compatibilityFlags === undefined ? {} : { compatibilityFlags: options.compatibilityFlags }),
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(options.tailPort === undefined ? {} : { tailPort: options.tailPort }),
    vars: {
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'error',
      REALTIME_MAX_CONNECTIONS: '20000',
      // Every bench client comes from one loopback address.
      REALTIME_MAX_CONNECTIONS_PER_ADDRESS: '100000',
      REALTIME_NEW_CONNECTIONS_PER_ADDRESS_PER_SECOND: '100000',
      REALTIME_SHARDS: String(shards),
      ...options.vars,
    },
  });
  return {
    name: `Tidings, workerd, ${shards} shard${shards === 1 ? '' : 's'}${options.compatibilityFlags === undefined ? '' : ` (flags: ${options.compatibilityFlags.join(', ')})`}`,
    port: workerd.port,
    pids: () => [workerd.pid],
    stop: workerd.stop,
  };
}

/** The Worker under `wrangler dev`, reached through wrangler's development proxy. */
export async function startWranglerDev(options: { vars?: Record<string, string> } = {}): Promise<BenchServer> {
  const worker = await startWorker({ vars: { LOG_LEVEL: 'error', ...options.vars } });
  return { name: 'wrangler dev (proxy)', port: worker.port, pids: () => workerdPids(worker.pid), stop: worker.stop };
}

/** The floor: a minimal Node `ws` server (./baseline-server.ts) in its own process. */
export async function startBaseline(): Promise<BenchServer> {
  const child = spawn(process.execPath, ['--experimental-strip-types', fileURLToPath(new URL('./baseline-server.ts', import.meta.url))], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the baseline server exited with ${code}`)));
    child.stdout!.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
  });
  return {
    name: 'baseline (Node ws)',
    port,
    pids: () => [child.pid!],
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Open file descriptors of processes and the smallest of their open-files limits. */
export function fileDescriptors(pids: number[]): { open: number; limit: number } {
  let open = 0;
  let limit = Number.POSITIVE_INFINITY;
  for (const pid of pids) {
    try {
      open += readdirSync(`/proc/${pid}/fd`).length;
      limit = Math.min(limit, Number(/Max open files\s+(\d+)/.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'))?.[1] ?? Infinity));
    } catch {
      // Gone.
    }
  }
  return { open, limit };
}

/** Processes started by this one whose command name is `name` (e.g. postgres). */
export function childProcessesNamed(name: string): number[] {
  return descendantsOf(process.pid).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === name;
    } catch {
      return false;
    }
  });
}

/**
 * CPU time processes have used so far, in ms: the sum over their threads of the time on a CPU from
 * /proc/<pid>/task/<tid>/schedstat (nanoseconds), or user + system time from /proc/<pid>/stat
 * (clock ticks of 10 ms) where schedstat is missing. Exited threads drop out of the schedstat sum,
 * so take it over intervals in which the server's threads live on (workerd's do).
 */
export function cpuMs(pids: number[]): number {
  let ms = 0;
  for (const pid of pids) {
    try {
      let ns = 0;
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        try {
          ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
        } catch {
          // The thread ended.
        }
      }
      ms += ns / 1e6;
    } catch {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        ms += (Number(fields[11]) + Number(fields[12])) * 10;
      } catch {
        // Gone.
      }
    }
  }
  return ms;
}

/** Resident memory (VmRSS) of processes from /proc, in MB. */
export function rssMb(pids: number[]): number {
  let kb = 0;
  for (const pid of pids) {
    try {
      kb += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      // Gone.
    }
  }
  return kb / 1024;
}
