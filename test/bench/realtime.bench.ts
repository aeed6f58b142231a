// Realtime server benchmarks, run by `npm run bench` (Node 24 runs this .ts file natively).
// Measures, on loopback only and with bounded counts:
//   1. trigger -> receive latency: the pusher SDK triggers N sequential events (after a warm-up),
//      one pusher-js subscriber receives them; p50/p99 of (receipt - just before trigger()).
//   2. fan-out: one event to 1,000 subscribed sockets; first/median/last receipt after trigger().
// against the Worker under `wrangler dev` (through wrangler's proxy) and under workerd through
// Miniflare directly (no proxy), so the proxy's overhead shows. Numbers are printed as a table and
// written to bench-results/realtime-<time>.json. Nothing is asserted.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { convertV4MiniflareOptions, Miniflare } from 'miniflare';
import PusherServer from 'pusher';
import Pusher from 'pusher-js';
import WebSocket from 'ws';
import { readDevVars } from '../support/dev-vars.ts';
import { freePort } from '../support/processes.ts';
import { startWorker } from '../support/worker.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const LATENCY_EVENTS = Number(process.env.BENCH_LATENCY_EVENTS ?? 1000);
const WARM_UP_EVENTS = 100;
const FANOUT_SOCKETS = Number(process.env.BENCH_FANOUT_SOCKETS ?? 1000);
const FANOUT_ROUNDS = 5;
const vars = readDevVars();
const app = { id: vars.PUSHER_APP_ID!, key: vars.PUSHER_APP_KEY!, secret: vars.PUSHER_APP_SECRET! };

interface Target {
  name: string;
  port: number;
  stop: () => Promise<void>;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const round = (ms: number) => Math.round(ms * 100) / 100;

function sdkFor(port: number): PusherServer {
  return new PusherServer({ appId: app.id, key: app.key, secret: app.secret, host: '127.0.0.1', port: String(port), useTLS: false });
}

async function wranglerDev(): Promise<Target> {
  const worker = await startWorker({ vars: { LOG_LEVEL: 'error' } });
  return { name: 'wrangler dev (proxy)', port: worker.port, stop: worker.stop };
}

/** The same bundle `wrangler deploy` uploads, served by workerd through Miniflare: no dev proxy. */
async function directWorkerd(): Promise<Target> {
  const outdir = mkdtempSync(join(tmpdir(), 'tidings-bench-'));
  execFileSync(process.execPath, [`${root}node_modules/wrangler/bin/wrangler.js`, 'deploy', '--dry-run', '--outdir', outdir], {
    cwd: root,
    stdio: 'ignore',
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
  });
  const port = await freePort();
  // Miniflare 5 takes a new options shape; it converts the classic (v4) one.
  const mf = new Miniflare(convertV4MiniflareOptions({
    host: '127.0.0.1',
    port,
    modules: true,
    scriptPath: join(outdir, 'index.js'),
    modulesRoot: outdir,
    compatibilityDate: '2026-11-02',
    compatibilityFlags: ['nodejs_compat'],
    durableObjects: { REALTIME: { className: 'RealtimeServer', useSQLite: true } },
    bindings: { ...vars, LOG_LEVEL: 'error' },
  }));
  await mf.ready;
  return { name: 'workerd via Miniflare (no proxy)', port, stop: () => mf.dispose() };
}

async function connectedPusher(port: number): Promise<Pusher> {
  const client = new Pusher(app.key, { cluster: 'mt1', wsHost: '127.0.0.1', wsPort: port, forceTLS: false, enabledTransports: ['ws'], disableStats: true });
  await new Promise<void>((resolve) => client.connection.bind('connected', () => resolve()));
  return client;
}

async function measureLatency(port: number) {
  const sdk = sdkFor(port);
  const client = await connectedPusher(port);
  const channel = client.subscribe('bench-latency');
  await new Promise<void>((resolve) => channel.bind('pusher:subscription_succeeded', () => resolve()));
  const samples: number[] = [];
  for (let i = 0; i < WARM_UP_EVENTS + LATENCY_EVENTS; i++) {
    const received = new Promise<number>((resolve) => {
      const handler = (data: { i: number }) => {
        if (data.i !== i) return;
        channel.unbind('tick', handler);
        resolve(performance.now());
      };
      channel.bind('tick', handler);
    });
    const start = performance.now();
    await sdk.trigger('bench-latency', 'tick', { i });
    const at = await received;
    if (i >= WARM_UP_EVENTS) samples.push(at - start);
  }
  client.disconnect();
  samples.sort((a, b) => a - b);
  return {
    events: samples.length,
    p50_ms: round(percentile(samples, 50)),
    p99_ms: round(percentile(samples, 99)),
    mean_ms: round(samples.reduce((a, b) => a + b, 0) / samples.length),
    max_ms: round(samples.at(-1)!),
  };
}

/** Opens a raw protocol socket subscribed to a channel; `onEvent` gets the receipt time of each 'fan' event. */
function subscriber(port: number, channel: string, onEvent: (round: number, at: number) => void): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/app/${app.key}?protocol=7&client=js&version=8.6.0`);
    ws.on('error', reject);
    ws.on('message', (raw) => {
      const at = performance.now();
      const text = raw.toString();
      if (text.includes('"event":"fan"')) {
        onEvent(JSON.parse(JSON.parse(text).data).round, at);
      } else if (text.includes('pusher:connection_established')) {
        ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel } }));
      } else if (text.includes('pusher_internal:subscription_succeeded')) {
        resolve(ws);
      }
    });
  });
}

async function measureFanOut(port: number) {
  const sdk = sdkFor(port);
  const receipts = new Map<number, number[]>();
  const sockets: WebSocket[] = [];
  const connectStart = performance.now();
  for (let i = 0; i < FANOUT_SOCKETS; i += 100) {
    const batch = Array.from({ length: Math.min(100, FANOUT_SOCKETS - i) }, () =>
      subscriber(port, 'bench-fanout', (r, at) => receipts.get(r)?.push(at)),
    );
    sockets.push(...(await Promise.all(batch)));
  }
  const connectMs = performance.now() - connectStart;
  const rounds: Array<{ first: number; median: number; last: number }> = [];
  for (let r = 0; r <= FANOUT_ROUNDS; r++) {
    const times: number[] = [];
    receipts.set(r, times);
    const start = performance.now();
    await sdk.trigger('bench-fanout', 'fan', { round: r });
    const deadline = Date.now() + 30_000;
    while (times.length < FANOUT_SOCKETS && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    if (times.length < FANOUT_SOCKETS) throw new Error(`round ${r}: only ${times.length} of ${FANOUT_SOCKETS} sockets received the event`);
    const sorted = times.map((t) => t - start).sort((a, b) => a - b);
    if (r > 0) rounds.push({ first: sorted[0]!, median: percentile(sorted, 50), last: sorted.at(-1)! }); // round 0 warms up
  }
  await Promise.all(sockets.map((ws) => new Promise<void>((resolve) => {
    ws.once('close', () => resolve());
    ws.close();
    setTimeout(resolve, 2000);
  })));
  const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  return {
    sockets: FANOUT_SOCKETS,
    rounds: rounds.length,
    connect_all_ms: round(connectMs),
    first_ms: round(median(rounds.map((x) => x.first))),
    median_ms: round(median(rounds.map((x) => x.median))),
    last_ms: round(median(rounds.map((x) => x.last))),
    worst_last_ms: round(Math.max(...rounds.map((x) => x.last))),
  };
}

const results: Array<{ target: string; latency: Awaited<ReturnType<typeof measureLatency>>; fanout: Awaited<ReturnType<typeof measureFanOut>> }> = [];
for (const start of [wranglerDev, directWorkerd]) {
  const target = await start();
  try {
    console.log(`\n${target.name} on 127.0.0.1:${target.port}`);
    const latency = await measureLatency(target.port);
    console.log('  latency', latency);
    const fanout = await measureFanOut(target.port);
    console.log('  fan-out', fanout);
    results.push({ target: target.name, latency, fanout });
  } finally {
    await target.stop();
  }
}

console.log('\nRealtime server (trigger via pusher SDK HTTP API; times in ms)');
console.table(results.map((r) => ({
  target: r.target,
  [`latency p50 (n=${r.latency.events})`]: r.latency.p50_ms,
  'latency p99': r.latency.p99_ms,
  [`fan-out ${r.fanout.sockets}: first`]: r.fanout.first_ms,
  'fan-out median': r.fanout.median_ms,
  'fan-out last': r.fanout.last_ms,
})));
if (results.length === 2) {
  console.log(`wrangler dev proxy overhead: latency p50 +${round(results[0]!.latency.p50_ms - results[1]!.latency.p50_ms)} ms, fan-out last +${round(results[0]!.fanout.last_ms - results[1]!.fanout.last_ms)} ms`);
}
mkdirSync(`${root}bench-results`, { recursive: true });
const file = `${root}bench-results/realtime-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
writeFileSync(file, JSON.stringify({ node: process.version, cpus: (await import('node:os')).cpus().length, results }, null, 2));
console.log(`written to ${file}`);
