// The servers the benchmarks measure: the Worker in workerd without wrangler's dev proxy (the
// headline numbers), the Worker under `wrangler dev` (once, for the proxy's overhead), and the
// baseline, a minimal Node `ws` server in its own process.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { convertV4MiniflareOptions, Miniflare } from 'miniflare';
import { readDevVars } from '../node/dev-vars.ts';
import { descendantsOf, freePort } from '../node/processes.ts';
import { startWorker } from '../node/worker.ts';
import { wranglerRuntimeConfig } from '../node/wrangler-config.ts';

const root = fileURLToPath(new URL('../../..', import.meta.url));

/** A server under test, on 127.0.0.1. */
export interface BenchServer {
  name: string;
  port: number;
  /** The processes whose memory counts as the server's (workerd, or the baseline's Node). */
  pids: () => number[];
  stop: () => Promise<void>;
}

let bundleDir: string | undefined;

/** The bundle `wrangler deploy` would upload (`--dry-run`), built once per process. */
function deployBundle(): string {
  if (bundleDir) return bundleDir;
  const outdir = mkdtempSync(join(tmpdir(), 'tidings-bench-'));
  // wrangler wants the static assets folder to exist.
  if (!existsSync(`${root}web/dist`)) execFileSync(process.execPath, [`${root}scripts/build-web.mjs`], { cwd: root, stdio: 'ignore' });
  execFileSync(process.execPath, [`${root}node_modules/wrangler/bin/wrangler.js`, 'deploy', '--dry-run', '--outdir', outdir], {
    cwd: root,
    stdio: 'ignore',
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
  });
  bundleDir = outdir;
  return outdir;
}

/** Workerd processes started by this process (Miniflare runs workerd as a child). */
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
 * The deploy bundle served by workerd through Miniflare and reached on workerd's own port: no dev
 * proxy, as production has none. `vars` override the development settings.
 */
export async function startWorkerd(options: { vars?: Record<string, string>; port?: number } = {}): Promise<BenchServer> {
  const outdir = deployBundle();
  const wrangler = wranglerRuntimeConfig();
  const port = options.port ?? (await freePort());
  // Miniflare 5 takes a new options shape; it converts the classic (v4) one.
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      host: '127.0.0.1',
      port,
      modules: true,
      scriptPath: join(outdir, 'index.js'),
      modulesRoot: outdir,
      compatibilityDate: wrangler.compatibilityDate,
      compatibilityFlags: wrangler.compatibilityFlags,
      durableObjects: { REALTIME: { className: 'RealtimeServer', useSQLite: true } },
      bindings: {
        ...wrangler.vars,
        ...readDevVars(),
        PUSHER_PORT: String(port),
        LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'error',
        REALTIME_MAX_CONNECTIONS: '20000',
        ...options.vars,
      },
    }),
  );
  await mf.ready;
  return { name: 'workerd (Miniflare, no proxy)', port, pids: () => workerdPids(process.pid), stop: () => mf.dispose() };
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

/** CPU time (user + system) processes have used so far, in ms, from /proc (clock ticks of 10 ms). */
export function cpuMs(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // Gone.
    }
  }
  return ticks * 10;
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
