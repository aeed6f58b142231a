// Realtime benchmarks, run by `npm run bench` (loopback only, bounded counts, nothing asserted):
//   1. trigger → receive: the pusher SDK triggers sequential events on a channel with one pusher-js
//      subscriber; p50/p95/p99 of (receipt − just before trigger()) after a warm-up, over repeats.
//   2. fan-out: one event to 1,000 and to 5,000 subscribed sockets (client processes of their own);
//      first/median/last receipt per event, and when the server acknowledged the trigger (every
//      frame handed to the sockets), over 20 events.
// The Worker runs in workerd without wrangler's dev proxy (the headline numbers); the proxy's
// overhead is measured once under `wrangler dev`. The baseline, a minimal Node `ws` server doing
// the same with no protocol, runs in the same run; Tidings' medians are printed as ratios to it.
import WebSocket from 'ws';
import { connectedPusher, serverSdk, socketUrl, subscribed } from '../support/bench/pusher.ts';
import { printTable, writeResults } from '../support/bench/report.ts';
import { type BenchServer, startBaseline, startWorkerd, startWranglerDev } from '../support/bench/servers.ts';
import { SocketPool } from '../support/bench/socket-pool.ts';
import { latencySummary, now, ratio, round, type Spread, spreads } from '../support/bench/stats.ts';

const LATENCY_EVENTS = Number(process.env.BENCH_LATENCY_EVENTS ?? 1000);
const LATENCY_REPEATS = 3;
const WARM_UP = 100;
const FANOUT_SIZES = (process.env.BENCH_FANOUT_SOCKETS ?? '1000,5000').split(',').map(Number);
const FANOUT_EVENTS = 20;
const CLIENT_PROCESSES = 2;

/** How a server is triggered and how its single latency subscriber is reached. */
interface Driver {
  /** Sends event `i` (data {"round": i}) to channel `channel`; resolves when the server answered. */
  trigger: (channel: string, i: number) => Promise<void>;
  /** A subscriber on `channel` calling back with each event's round. */
  subscriber: (channel: string, onEvent: (i: number) => void) => Promise<() => void>;
  /** The channel fan-out sockets subscribe to; null: none, the baseline has no protocol. */
  fanOutChannel: string | null;
}

function tidings(server: BenchServer): Driver {
  const sdk = serverSdk(server.port);
  return {
    trigger: async (channel, i) => {
      await sdk.trigger(channel, 'tick', { round: i });
    },
    subscriber: async (name, onEvent) => {
      const client = await connectedPusher(server.port);
      const channel = await subscribed(client, name);
      channel.bind('tick', (data: { round: number }) => onEvent(data.round));
      return () => client.disconnect();
    },
    fanOutChannel: 'bench-fanout',
  };
}

function baseline(server: BenchServer): Driver {
  const url = `http://127.0.0.1:${server.port}/trigger`;
  return {
    trigger: async (_channel, i) => {
      await (await fetch(url, { method: 'POST', body: JSON.stringify({ round: i }) })).arrayBuffer();
    },
    subscriber: async (_channel, onEvent) => {
      const ws = new WebSocket(`ws://127.0.0.1:${server.port}/`, { perMessageDeflate: false });
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
      ws.on('message', (raw: Buffer) => onEvent((JSON.parse(raw.toString()) as { round: number }).round));
      return () => ws.close();
    },
    fanOutChannel: null,
  };
}

/** `repeats` runs of `events` sequential trigger → receive round trips after a warm-up. */
async function latency(driver: Driver, events: number, repeats: number) {
  let waiting: { i: number; resolve: (at: number) => void } | null = null;
  const stop = await driver.subscriber('bench-latency', (i) => {
    if (waiting?.i === i) waiting.resolve(now());
  });
  const runs = [];
  try {
    for (let repeat = 0; repeat < repeats; repeat++) {
      const samples: number[] = [];
      for (let i = 0; i < WARM_UP + events; i++) {
        const received = new Promise<number>((resolve) => (waiting = { i: repeat * 1e6 + i, resolve }));
        const start = now();
        await driver.trigger('bench-latency', repeat * 1e6 + i);
        const at = await received;
        if (i >= WARM_UP) samples.push(at - start);
      }
      runs.push(latencySummary(samples));
    }
  } finally {
    stop();
  }
  return runs;
}

/** One event at a time to `sockets` subscribers in client processes; per event first/median/last receipt and the trigger's acknowledgement. */
async function fanOut(server: BenchServer, driver: Driver, sockets: number) {
  const pool = SocketPool.start(CLIENT_PROCESSES);
  try {
    const url = driver.fanOutChannel === null ? `ws://127.0.0.1:${server.port}/` : socketUrl(server.port);
    const opened = await pool.open(url, sockets, driver.fanOutChannel);
    if (opened.opened !== sockets) throw new Error(`only ${opened.opened} of ${sockets} sockets opened: ${opened.error}`);
    const events: Array<{ ack: number; first: number; median: number; last: number }> = [];
    for (let i = -2; i < FANOUT_EVENTS; i++) {
      // two warm-up events
      const r = i + 2;
      const start = now();
      await driver.trigger('bench-fanout', r);
      const ack = now() - start;
      const times = (await pool.receipts(r)).map((at) => at - start).sort((a, b) => a - b);
      if (i >= 0) events.push({ ack, first: times[0]!, median: times[Math.floor(times.length / 2)]!, last: times.at(-1)! });
    }
    return { sockets, events: events.length, connect_ms: round(opened.ms), ...spreads(events) };
  } finally {
    await pool.close();
  }
}

type FanOut = Awaited<ReturnType<typeof fanOut>>;
const results: {
  latency: Record<string, Record<'p50' | 'p95' | 'p99' | 'max', Spread> & { events: number; repeats: number }>;
  fanout: Record<string, FanOut[]>;
} = { latency: {}, fanout: {} };

async function measure(
  start: () => Promise<BenchServer>,
  make: (server: BenchServer) => Driver,
  options: { events: number; repeats: number; fanOut: boolean },
) {
  const server = await start();
  try {
    console.log(`\n${server.name} on 127.0.0.1:${server.port}`);
    const driver = make(server);
    const runs = await latency(driver, options.events, options.repeats);
    const figures = spreads(runs.map(({ p50, p95, p99, max }) => ({ p50, p95, p99, max })));
    results.latency[server.name] = { events: options.events, repeats: options.repeats, ...figures };
    console.log('  trigger → receive (ms, min/median/max over repeats):', JSON.stringify(figures));
    if (!options.fanOut) return;
    results.fanout[server.name] = [];
    for (const sockets of FANOUT_SIZES) {
      const figures = await fanOut(server, driver, sockets);
      results.fanout[server.name]!.push(figures);
      console.log(`  fan-out to ${sockets}:`, JSON.stringify(figures));
    }
  } finally {
    await server.stop();
  }
}

await measure(startBaseline, baseline, { events: LATENCY_EVENTS, repeats: LATENCY_REPEATS, fanOut: true });
await measure(() => startWorkerd(), tidings, { events: LATENCY_EVENTS, repeats: LATENCY_REPEATS, fanOut: true });
await measure(() => startWranglerDev(), tidings, { events: 300, repeats: 1, fanOut: false });

const [base, ours, proxied] = Object.keys(results.latency);
const lat = (name: string) => results.latency[name]!;
printTable(
  'Trigger → receive, ms (min / median / max over repeats of sequential events after 100 warm-up)',
  Object.keys(results.latency).map((name) => ({
    server: name,
    events: `${lat(name).repeats} × ${lat(name).events}`,
    p50: lat(name).p50,
    p95: lat(name).p95,
    p99: lat(name).p99,
    max: lat(name).max,
    'p50 × baseline': ratio(lat(name).p50, lat(base!).p50),
    'p99 × baseline': ratio(lat(name).p99, lat(base!).p99),
  })),
);
console.log(
  `wrangler dev's proxy adds ${round(lat(proxied!).p50.median - lat(ours!).p50.median)} ms at p50 and ${round(lat(proxied!).p99.median - lat(ours!).p99.median)} ms at p99 per event (measured once; every headline number runs without it).`,
);

const rows = [];
for (const [name, list] of Object.entries(results.fanout)) {
  for (const figures of list) {
    const floor = results.fanout[base!]!.find((other) => other.sockets === figures.sockets)!;
    rows.push({
      server: name,
      sockets: figures.sockets,
      events: figures.events,
      'connect+subscribe ms': figures.connect_ms,
      'ack (all sent)': figures.ack,
      first: figures.first,
      median: figures.median,
      last: figures.last,
      'last × baseline': ratio(figures.last as Spread, floor.last as Spread),
    });
  }
}
printTable(
  `Fan-out of one event, ms from trigger (min / median / max over ${FANOUT_EVENTS} events; clients in ${CLIENT_PROCESSES} processes)`,
  rows,
);
writeResults('realtime', results);
