// Bare workerd: the `workerd` package's binary running `workerd serve config.capnp`, with no
// Miniflare or wrangler in front. This is how Cloudflare runs the Worker: our Worker is the entry,
// so wrangler.toml's compatibility flags (no_web_socket_compression among them) govern every
// WebSocket handshake. Under Miniflare and `wrangler dev` an entry worker of theirs answers the
// handshake with its own flags instead.
//
// startBareWorkerd() serves the bundle `wrangler deploy --dry-run` produces with a generated
// config: wrangler.toml's compatibility date and flags, [vars] and .dev.vars.example as text
// bindings (plus overrides), wrangler.toml's Durable Object namespaces with SQLite, object storage
// in a temporary directory (workerd's in-memory storage has no SQL API), and an outbound network
// that may reach loopback and private addresses.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { unstable_readConfig } from 'wrangler';
import { readDevVars } from './dev-vars.ts';
import { freePort } from './processes.ts';
import { wranglerRuntimeConfig } from './wrangler-config.ts';

const root = fileURLToPath(new URL('../../..', import.meta.url));
/** The workerd binary (the package is CommonJS with `exports.default`, which Node's ESM import wraps once more). */
const workerd = (createRequire(import.meta.url)('workerd') as { default: string }).default;

/** A workerd process serving HTTP on 127.0.0.1. */
export interface RunningWorkerd {
  port: number;
  /** The workerd process (every Worker and Durable Object of the config runs in it). */
  pid: number;
  /** What workerd printed last (its stdout and stderr, the last 64 KB). */
  output: () => string;
  /** `127.0.0.1:<port>` of workerd's DevTools inspector, when started with one (to read its JavaScript heaps). */
  inspector?: string;
  /** Stops workerd and deletes its directory (config and object storage). */
  stop: () => Promise<void>;
}

/**
 * The config line a workerd started with an inspector needs (inside `Workerd.Config`): V8's gc()
 * exposed, which ../bench/heap.ts calls through the inspector before reading a heap. The protocol's
 * own HeapProfiler.collectGarbage only runs once the isolate next serves a request.
 */
export const INSPECTOR_V8_FLAGS = 'v8Flags = ["--expose-gc"],';

let bundleDir: string | undefined;

/** The bundle `wrangler deploy` would upload (`--dry-run --outdir`), built once per process. */
export function deployBundle(): string {
  if (bundleDir && existsSync(bundleDir)) return bundleDir;
  const outdir = mkdtempSync(join(tmpdir(), 'tidings-bundle-'));
  execFileSync(process.execPath, [`${root}node_modules/wrangler/bin/wrangler.js`, 'deploy', '--dry-run', '--outdir', outdir], {
    cwd: root,
    stdio: 'ignore',
    // The web client is not in the bundle: keep the web/dist that running tests serve (built if missing).
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', TIDINGS_WEB_BUILD: 'skip' },
  });
  bundleDir = outdir;
  process.once('exit', () => rmSync(outdir, { recursive: true, force: true }));
  return outdir;
}

/** wrangler.toml's Durable Object bindings: binding name and class. */
export function durableObjectBindings(): Array<{ name: string; className: string }> {
  const config = unstable_readConfig({ config: `${root}wrangler.toml` });
  const bindings: Array<{ name: string; class_name: string; script_name?: string }> = config.durable_objects?.bindings ?? [];
  return bindings.map((binding) => {
    if (binding.script_name)
      throw new Error(`${binding.name}: Durable Objects of another Worker (${binding.script_name}) are not supported here`);
    return { name: binding.name, className: binding.class_name };
  });
}

/** A module's capnp type from its file name; null for files that are not modules (source maps, README). */
function moduleKind(file: string): string | null {
  if (/\.m?js$/.test(file)) return 'esModule';
  if (file.endsWith('.cjs')) return 'commonJsModule';
  if (file.endsWith('.wasm')) return 'wasm';
  if (file.endsWith('.json')) return 'json';
  if (file.endsWith('.txt') || file.endsWith('.html')) return 'text';
  if (file.endsWith('.bin')) return 'data';
  return null;
}

/**
 * Serves the deploy bundle in bare workerd on 127.0.0.1 and waits until it listens. Bindings are
 * wrangler.toml's [vars], then .dev.vars.example, then `vars`. Objects keep their SQLite files in a
 * temporary directory, deleted on stop. `compatibilityFlags` replaces wrangler.toml's (to show what
 * a flag does). `tailPort` adds a tail worker counting invocations, served on that port. `inspector`
 * opens workerd's DevTools inspector on a free loopback port, with gc() exposed ({@link INSPECTOR_V8_FLAGS}).
 */
export async function startBareWorkerd(
  options: { vars?: Record<string, string>; port?: number; compatibilityFlags?: string[]; tailPort?: number; inspector?: boolean } = {},
): Promise<RunningWorkerd> {
  const bundle = deployBundle();
  const wrangler = wranglerRuntimeConfig();
  const dir = mkdtempSync(join(tmpdir(), 'tidings-workerd-'));
  const port = options.port ?? (await freePort());

  const files = readdirSync(bundle).filter((file) => moduleKind(file) !== null);
  // The entry module goes first: wrangler names it after main (functions/index.ts → index.js).
  const main = files.includes('index.js') ? 'index.js' : files.find((file) => moduleKind(file) === 'esModule');
  if (!main) throw new Error(`no entry module in ${bundle}: ${readdirSync(bundle).join(', ')}`);
  mkdirSync(join(dir, 'modules'));
  for (const file of files) copyFileSync(join(bundle, file), join(dir, 'modules', file));
  const modules = [main, ...files.filter((file) => file !== main)].map(
    (file) => `(name = ${JSON.stringify(file)}, ${moduleKind(file)} = embed "modules/${file}")`,
  );

  // Text bindings are embedded from files, so no value needs escaping for capnp.
  const vars = { ...wrangler.vars, ...readDevVars(), ...options.vars };
  mkdirSync(join(dir, 'vars'));
  const bindings = Object.entries(vars).map(([name, value]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`unsupported binding name ${JSON.stringify(name)}`);
    writeFileSync(join(dir, 'vars', name), value);
    return `(name = "${name}", text = embed "vars/${name}")`;
  });
  const objects = durableObjectBindings();
  for (const { name, className } of objects) bindings.push(`(name = "${name}", durableObjectNamespace = "${className}")`);
  const namespaces = [...new Set(objects.map((object) => object.className))].map(
    (className) => `(className = "${className}", uniqueKey = "tidings-${className}", enableSql = true)`,
  );
  mkdirSync(join(dir, 'objects'));

  const tail = options.tailPort !== undefined;
  if (tail) writeFileSync(join(dir, 'tail.js'), TAIL_WORKER);
  writeFileSync(
    join(dir, 'config.capnp'),
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
${tail ? `    (name = "tail", worker = (modules = [(name = "tail.js", esModule = embed "tail.js")], compatibilityDate = ${JSON.stringify(wrangler.compatibilityDate)})),\n` : ''}    # fetch() from the Worker and its objects may reach loopback and private addresses (the local
    # Supabase, webhook receivers), as wrangler dev allows.
    (name = "internet", network = (allow = ["public", "private"])),
    (name = "objects", disk = (path = ${JSON.stringify(join(dir, 'objects'))}, writable = true)),
  ],
  sockets = [
    (name = "http", address = "127.0.0.1:${port}", http = (), service = "main"),
${tail ? `    (name = "tail-http", address = "127.0.0.1:${options.tailPort}", http = (), service = "tail"),\n` : ''}  ],
${options.inspector ? `  ${INSPECTOR_V8_FLAGS}\n` : ''});
const worker :Workerd.Worker = (
  modules = [
    ${modules.join(',\n    ')},
  ],
  compatibilityDate = ${JSON.stringify(wrangler.compatibilityDate)},
  compatibilityFlags = ${JSON.stringify(options.compatibilityFlags ?? wrangler.compatibilityFlags)},
  bindings = [
    ${bindings.join(',\n    ')},
  ],
  durableObjectNamespaces = [
    ${namespaces.join(',\n    ')},
  ],
  durableObjectStorage = (localDisk = "objects"),
  globalOutbound = "internet",
${tail ? '  tails = ["tail"],\n' : ''});
`,
  );
  return startWorkerdConfig(dir, port, { inspector: options.inspector ?? false });
}

/**
 * Runs `workerd serve <dir>/config.capnp` (a config whose socket `http` listens on 127.0.0.1:`port`)
 * and resolves once workerd reports that socket listening (its `--control-fd` message); a workerd
 * that exits first fails with its output. Stopping it deletes `dir`. `inspector` adds
 * `--inspector-addr` on a free loopback port: the Chrome DevTools protocol, one target per Worker
 * (isolate), which the benchmarks use to read JavaScript heap sizes (the config should then hold
 * {@link INSPECTOR_V8_FLAGS}).
 */
export async function startWorkerdConfig(
  dir: string,
  port: number,
  options: { inspector?: boolean; timeoutMs?: number } = {},
): Promise<RunningWorkerd> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const inspector = options.inspector ? `127.0.0.1:${await freePort()}` : undefined;
  const args = ['serve', join(dir, 'config.capnp'), '--experimental', '--control-fd=3'];
  if (inspector) args.push(`--inspector-addr=${inspector}`);
  const child: ChildProcess = spawn(workerd, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-65_536);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`workerd did not listen on 127.0.0.1:${port} within ${timeoutMs} ms:\n${output}`)),
        timeoutMs,
      );
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`workerd exited with ${code ?? signal}:\n${output}`));
      });
      // One JSON line per message, e.g. {"event":"listen","socket":"http","port":40123}.
      createInterface({ input: child.stdio[3] as Readable }).on('line', (line) => {
        const message = JSON.parse(line) as { event?: string; socket?: string };
        if (message.event === 'listen' && message.socket === 'http') {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, pid: child.pid!, output: () => output, stop, ...(inspector ? { inspector } : {}) };
}

/**
 * A tail worker that counts the invocations of the Worker and its Durable Objects by kind
 * (`durableObject:deliver` for an RPC call, `durableObject:fetch`, `stateless:fetch`, ...), with
 * the CPU and wall time workerd reports for them. `GET /` answers the counts so far; `POST /reset`
 * zeroes them. Tail events arrive after the invocation ends, a little later.
 */
export const TAIL_WORKER = `
let counts = {};
export default {
  tail(events) {
    for (const event of events) {
      const info = event.event ?? {};
      const what = info.rpcMethod ?? (info.request ? 'fetch' : info.getWebSocketEvent ? 'websocket:' + info.getWebSocketEvent.webSocketEventType : Object.keys(info)[0] ?? 'unknown');
      const key = (event.executionModel ?? 'unknown') + ':' + (event.entrypoint ?? 'default') + ':' + what;
      const entry = counts[key] ??= { count: 0, cpuTime: 0, wallTime: 0 };
      entry.count++;
      entry.cpuTime += event.cpuTime ?? 0;
      entry.wallTime += event.wallTime ?? 0;
    }
  },
  fetch(request) {
    if (request.method === 'POST') counts = {};
    return Response.json(counts);
  },
};
`;
