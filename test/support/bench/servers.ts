// The servers the benchmarks measure: the Worker's deploy bundle in bare workerd (the headline
// numbers: our Worker is the entry, as on Cloudflare, so wrangler.toml's flags apply, among them
// no_web_socket_compression), the Worker under `wrangler dev` (once, for the dev proxy's overhead;
// there Miniflare's entry worker answers the WebSocket handshake and accepts permessage-deflate),
// and the baseline, a minimal Node `ws` server in its own process.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { INSPECTOR_V8_FLAGS, startBareWorkerd, startWorkerdConfig } from '../node/bare-workerd.ts';
import { descendantsOf, freePort } from '../node/processes.ts';
import { startWorker } from '../node/worker.ts';
import { wranglerRuntimeConfig } from '../node/wrangler-config.ts';

/** A server under test, on 127.0.0.1. */
export interface BenchServer {
  name: string;
  port: number;
  /** The processes whose memory and CPU count as the server's (workerd, or the baseline's Node). */
  pids: () => number[];
  /** `127.0.0.1:<port>` of the server's DevTools inspector, if it was started with one (./heap.ts reads JavaScript heaps through it). */
  inspector?: string;
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
 * `compatibilityFlags` replaces wrangler.toml's (to measure what a flag changes); `inspector` opens
 * workerd's DevTools inspector (for JavaScript heap sizes).
 */
export async function startWorkerd(
  options: {
    vars?: Record<string, string>;
    port?: number;
    shards?: number;
    tailPort?: number;
    compatibilityFlags?: string[];
    inspector?: boolean;
  } = {},
): Promise<BenchServer> {
  const shards = options.shards ?? 1;
  const workerd = await startBareWorkerd({
    ...(options.compatibilityFlags === undefined ? {} : { compatibilityFlags: options.compatibilityFlags }),
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(options.tailPort === undefined ? {} : { tailPort: options.tailPort }),
    inspector: options.inspector ?? false,
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
    ...(workerd.inspector ? { inspector: workerd.inspector } : {}),
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

/**
 * The workerd floor (./workerd-floor.js): one Durable Object that sends each `POST /trigger` body to
 * every socket, in bare workerd with wrangler.toml's compatibility date and flags and object storage
 * on disk with SQLite, as Tidings' objects have (in-memory storage made its fan-out slower). Driven
 * like the baseline: what any Durable Object server pays on this workerd before doing any work of
 * its own. Tidings' fan-out measures about the same (0.8× to 1.0× of it over four runs). `inspector`
 * opens workerd's DevTools inspector (for JavaScript heap sizes).
 */
export async function startWorkerdFloor(options: { inspector?: boolean } = {}): Promise<BenchServer> {
  const { compatibilityDate, compatibilityFlags } = wranglerRuntimeConfig();
  const dir = mkdtempSync(join(tmpdir(), 'tidings-floor-'));
  copyFileSync(fileURLToPath(new URL('./workerd-floor.js', import.meta.url)), join(dir, 'floor.js'));
  mkdirSync(join(dir, 'objects'));
  const port = await freePort();
  writeFileSync(
    join(dir, 'config.capnp'),
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "main", worker = .worker), (name = "objects", disk = (path = ${JSON.stringify(join(dir, 'objects'))}, writable = true))],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
${options.inspector ? `  ${INSPECTOR_V8_FLAGS}\n` : ''});
const worker :Workerd.Worker = (
  modules = [(name = "floor.js", esModule = embed "floor.js")],
  compatibilityDate = ${JSON.stringify(compatibilityDate)},
  compatibilityFlags = ${JSON.stringify(compatibilityFlags)},
  bindings = [(name = "ROOM", durableObjectNamespace = "Room")],
  durableObjectNamespaces = [(className = "Room", uniqueKey = "tidings-floor-room", enableSql = true)],
  durableObjectStorage = (localDisk = "objects"),
);
`,
  );
  const workerd = await startWorkerdConfig(dir, port, { inspector: options.inspector ?? false });
  return {
    name: 'workerd floor (one minimal Durable Object)',
    port,
    pids: () => [workerd.pid],
    ...(workerd.inspector ? { inspector: workerd.inspector } : {}),
    stop: workerd.stop,
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
