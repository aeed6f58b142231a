import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort, onFreePort, waitForOutput } from './processes.ts';

const root = fileURLToPath(new URL('../../..', import.meta.url));

/** A Worker running under `wrangler dev` (workerd) for a Node-side test. */
export interface RunningWorker {
  /** e.g. http://127.0.0.1:40123 */
  url: string;
  port: number;
  /** The wrangler process; workerd runs in its process group. */
  pid: number;
  /** Everything the Worker printed so far (its logs). */
  output: () => string;
  /** Stops wrangler and workerd (the whole process group). */
  stop: () => Promise<void>;
}

/**
 * Starts the Worker under `wrangler dev` on a free loopback port, with the development settings
 * from .dev.vars.example overridden by `vars`, and waits until GET /healthz answers.
 * Each call gets its own persistence folder, so Durable Object state never leaks between tests.
 * `port` restarts a Worker where a stopped one was (so a database webhook URL stays valid).
 * The Cron Trigger runs on demand with `GET /__scheduled?cron=*+*+*+*+*` (`--test-scheduled`).
 */
export function startWorker(options: WorkerOptions = {}): Promise<RunningWorker> {
  return options.port === undefined ? onFreePort((port) => startWorkerOn(port, options)) : startWorkerOn(options.port, options);
}

interface WorkerOptions {
  vars?: Record<string, string>;
  port?: number;
  timeoutMs?: number;
}

async function startWorkerOn(port: number, options: WorkerOptions): Promise<RunningWorker> {
  const inspectorPort = await freePort();
  const persistTo = `${root}.wrangler/test-state/${port}-${Date.now()}`;
  const args = [
    `${root}node_modules/wrangler/bin/wrangler.js`,
    'dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--inspector-port',
    String(inspectorPort),
    '--persist-to',
    persistTo,
    '--env-file',
    `${root}.dev.vars.example`,
    '--show-interactive-dev-session=false',
    '--log-level',
    'info',
    '--test-scheduled',
  ];
  // TEST_REALTIME_SHARDS: the realtime suite's second run, over several connection shards (vitest.config.ts).
  const shards = process.env.TEST_REALTIME_SHARDS ? { REALTIME_SHARDS: process.env.TEST_REALTIME_SHARDS } : {};
  // Every test client comes from one loopback address: the per-address limits are the tests' own
  // to set, not a ceiling on how many clients a test opens.
  const loopback = { REALTIME_MAX_CONNECTIONS_PER_ADDRESS: '100000', REALTIME_NEW_CONNECTIONS_PER_ADDRESS_PER_SECOND: '100000' };
  for (const [name, value] of Object.entries({ ...loopback, ...shards, ...options.vars })) args.push('--var', `${name}:${value}`);
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: root,
    detached: true,
    // wrangler.toml's [build] would rebuild web/dist under the Workers other tests run: serve the one `npm test` built.
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', NO_COLOR: '1', TIDINGS_WEB_BUILD: 'skip' },
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      /* gone */
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, 5000);
    await exited;
    clearTimeout(timer);
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  };
  try {
    // wrangler says when it serves; one request then shows the Worker answers.
    await waitForOutput(child, new RegExp(`Ready on ${url.replaceAll('.', '\\.')}`), options.timeoutMs ?? 60_000);
    const health = await fetch(`${url}/healthz`);
    if (!health.ok) throw new Error(`GET /healthz answered ${health.status}`);
  } catch (error) {
    await stop();
    throw new Error(`wrangler dev did not serve ${url}: ${(error as Error).message}\n${output}`);
  }
  return { url, port, pid: child.pid!, output: () => output, stop };
}
