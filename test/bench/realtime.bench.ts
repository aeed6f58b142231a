// Realtime benchmarks, run by `npm run bench` (loopback only, bounded counts, nothing asserted):
//   1. trigger → receive: the pusher SDK triggers sequential events on a channel with one
//      subscriber; p50/p95/p99 of (receipt − just before trigger()) after a warm-up, over repeats,
//      with 1 and 8 connection shards (REALTIME_SHARDS), and workerd's CPU per event.
//   2. fan-out: one event to 1,000, 5,000 and 10,000 subscribed sockets (client processes of their
//      own) with 1, 4 and 16 shards: first/median/last receipt per event, when the server
//      acknowledged the trigger (every frame handed to the sockets), Durable Object RPCs per event
//      (computed, and counted by a tail worker in a separate short run), and workerd's CPU per event
//      and per shard.
//   3. the two targets, side by side with the baseline and the workerd floor in interleaved rounds
//      (so the machine's load drifts on all alike), for each shard count: fan-out to 1,000
//      browser-like sockets within 1.5× of the baseline (last receipt), trigger → receive p50
//      within 2× of it. The floor, one minimal Durable Object that only sends, splits the gap into
//      workerd's share and ours.
// Every client offers permessage-deflate, as browsers do (BENCH_DEFLATE=0: not), and the tables say
// which extensions the server accepted. The Worker's deploy bundle runs in bare workerd, the entry
// as on Cloudflare (../support/node/bare-workerd.ts); `wrangler dev`, whose entry worker accepts
// compression, is measured once for its proxy's overhead. The baseline, a minimal Node `ws` server
// with no protocol (it declines compression too), runs in the same run; Tidings' medians are
// printed as ratios to it.
import { loadavg } from 'node:os';
import { app, OFFER_DEFLATE, protocolSubscriber, serverSdk, socketUrl } from '../support/bench/pusher.ts';
import { printTable, writeResults } from '../support/bench/report.ts';
import {
  type BenchServer,
  cpuMs,
  fileDescriptors,
  startBaseline,
  startWorkerd,
  startWorkerdFloor,
  startWranglerDev,
} from '../support/bench/servers.ts';
import { SocketPool } from '../support/bench/socket-pool.ts';
import { distribution, latencySummary, now, percentile, ratio, round, type Spread, spreads } from '../support/bench/stats.ts';
import { freePort } from '../support/node/processes.ts';
import { wranglerRuntimeConfig } from '../support/node/wrangler-config.ts';

const list = (value: string) => value.split(',').map(Number);
/** Which parts run: BENCH_PARTS=latency,fanout,compression,proxy,targets (all by default), e.g. `targets` alone for a quick re-check. */
const PARTS = new Set((process.env.BENCH_PARTS ?? 'latency,fanout,compression,proxy,targets').split(','));
const LATENCY_EVENTS = Number(process.env.BENCH_LATENCY_EVENTS ?? 1000);
const LATENCY_REPEATS = 3;
const WARM_UP = 100;
const LATENCY_SHARDS = list(process.env.BENCH_LATENCY_SHARDS ?? '1,8');
const FANOUT_SIZES = list(process.env.BENCH_FANOUT_SOCKETS ?? '1000,5000,10000');
const FANOUT_SHARDS = list(process.env.BENCH_FANOUT_SHARDS ?? '1,4,16');
const FANOUT_EVENTS = Number(process.env.BENCH_FANOUT_EVENTS ?? 20);
/** Fan-outs before the timed ones at each size: a Node server's send loop needs a few to be optimized by V8. */
const FANOUT_WARM_UP = 10;
const CLIENT_PROCESSES = 2;
/** A fan-out size whose remaining sockets would take longer than this to open (at the rate seen so far) is skipped. */
const CONNECT_BUDGET_S = Number(process.env.BENCH_CONNECT_BUDGET_S ?? 150);
/** File descriptors a server process holds per open WebSocket (measured: workerd dups each accepted socket). */
const FDS_PER_SOCKET = { baseline: 1, workerd: 2 };
/** Sockets and events of the run that counts RPCs with a tail worker. */
const RPC_COUNT_SOCKETS = 200;
const RPC_COUNT_EVENTS = 5;
const TARGETS = { fanOut: 1.5, latencyP50: 2 };
/** The targets are measured in interleaved rounds against the baseline (A B, then B A, ...), so drift in the machine's load hits both. */
const TARGET_ROUNDS = Number(process.env.BENCH_TARGET_ROUNDS ?? 7);
const TARGET_FANOUT_EVENTS = 10;
const TARGET_LATENCY_EVENTS = 200;
const TARGET_SOCKETS = 1000;
/**
 * Fan-outs and trigger → receive events each server gets before the rounds, so that neither it nor
 * the client code driving it (undici for the baseline, the pusher SDK for Tidings) is measured
 * before V8 has optimized it; the baseline, measured first, gets more.
 */
const TARGET_WARM_UP = { fanOuts: 20, events: 1000, baselineFanOuts: 50, baselineEvents: 2000 };

/** How a server is triggered and subscribed to. */
interface Driver {
  server: BenchServer;
  /** Shards (REALTIME_SHARDS); null for the baseline. */
  shards: number | null;
  /** Sends event `i` (data {"round": i}) to channel `channel`; resolves when the server answered. */
  trigger: (channel: string, i: number) => Promise<void>;
  /** The WebSocket URL and channel of a subscriber (channel null: the baseline has no protocol). */
  socket: { url: string; channel: string | null };
}

function tidings(server: BenchServer, shards: number): Driver {
  const sdk = serverSdk(server.port);
  return {
    server,
    shards,
    trigger: async (channel, i) => {
      await sdk.trigger(channel, 'tick', { round: i });
    },
    socket: { url: socketUrl(server.port), channel: 'bench-fanout' },
  };
}

function baseline(server: BenchServer): Driver {
  const url = `http://127.0.0.1:${server.port}/trigger`;
  return {
    server,
    shards: null,
    trigger: async (_channel, i) => {
      await (await fetch(url, { method: 'POST', body: JSON.stringify({ round: i }) })).arrayBuffer();
    },
    socket: { url: `ws://127.0.0.1:${server.port}/`, channel: null },
  };
}

const ROUND = /round\\?":(\d+)/;

/** `repeats` runs of `events` sequential trigger → receive round trips after a warm-up; workerd's CPU per event over them. */
async function latency(driver: Driver, events: number, repeats: number) {
  const probe = await latencyProbe(driver);
  const runs = [];
  const acks: number[] = [];
  const all: number[] = [];
  let cpu = 0;
  try {
    for (let repeat = 0; repeat < repeats; repeat++) {
      const samples: number[] = [];
      let cpuStart = 0;
      for (let i = 0; i < WARM_UP + events; i++) {
        if (i === WARM_UP) cpuStart = cpuMs(driver.server.pids());
        const { received, ack } = await probe.sample();
        if (i >= WARM_UP) {
          samples.push(received);
          acks.push(ack);
        }
      }
      cpu += cpuMs(driver.server.pids()) - cpuStart;
      runs.push(latencySummary(samples));
      all.push(...samples);
    }
  } finally {
    probe.close();
  }
  return {
    runs,
    distribution: distribution(all),
    ack: latencySummary(acks),
    cpuMsPerEvent: round(cpu / (events * repeats)),
    extensions: probe.extensions,
  };
}

/**
 * Where a trigger → receive goes, with one shard, each step timed alone (sequential, after the
 * warm-up): the HTTP floor (GET /healthz), a publish signed before the clock starts and sent with
 * the baseline's HTTP client (undici fetch) to a channel nobody is in (the Worker, the signature
 * check and the RPC to the shard, no socket), and the same with a subscriber. Against the pusher
 * SDK's numbers (node-fetch, signing on the clock) from the latency run.
 */
async function decompose(server: BenchServer, events: number) {
  const sdk = serverSdk(server.port);
  const base = `http://127.0.0.1:${server.port}`;
  const signed = (channel: string, i: number) => {
    const body = JSON.stringify({ name: 'tick', channels: [channel], data: JSON.stringify({ round: i }) });
    const path = `/apps/${app.id}/events`;
    return { url: `${base}${path}?${sdk.createSignedQueryString({ method: 'POST', path, body })}`, body };
  };
  const post = async ({ url, body }: { url: string; body: string }) => {
    const response = await fetch(url, { method: 'POST', body, headers: { 'Content-Type': 'application/json' } });
    await response.arrayBuffer();
    if (!response.ok) throw new Error(`publish answered ${response.status}`);
  };
  /** Sequential steps after the warm-up: latency summary and workerd's CPU per step. */
  const run = async (step: (i: number) => Promise<number>) => {
    const samples: number[] = [];
    let cpuStart = 0;
    for (let i = 0; i < WARM_UP + events; i++) {
      if (i === WARM_UP) cpuStart = cpuMs(server.pids());
      const sample = await step(i);
      if (i >= WARM_UP) samples.push(sample);
    }
    return { ...latencySummary(samples), cpu_ms: round((cpuMs(server.pids()) - cpuStart) / events) };
  };
  const healthz = await run(async () => {
    const start = now();
    await (await fetch(`${base}/healthz`)).arrayBuffer();
    return now() - start;
  });
  const emptyAck = await run(async (i) => {
    const request = signed('bench-nobody', i);
    const start = now();
    await post(request);
    return now() - start;
  });
  let waiting: { i: number; resolve: (at: number) => void } | null = null;
  const subscriber = await protocolSubscriber(server.port, 'bench-decompose', (text) => {
    const at = now();
    const i = Number(ROUND.exec(text)?.[1]);
    if (waiting?.i === i) waiting.resolve(at);
  });
  const acks: number[] = [];
  let received: Awaited<ReturnType<typeof run>>;
  try {
    received = await run(async (i) => {
      const request = signed('bench-decompose', i);
      const arrived = new Promise<number>((resolve) => (waiting = { i, resolve }));
      const start = now();
      await post(request);
      if (i >= WARM_UP) acks.push(now() - start);
      return (await arrived) - start;
    });
  } finally {
    subscriber.close();
  }
  return { healthz, empty_channel_ack: emptyAck, presigned_ack: latencySummary(acks), presigned_receive: received };
}

/** The baseline's subscriber: a raw socket (no protocol) offering permessage-deflate like the others. */
async function baselineSubscriber(url: string, onFrame: (text: string) => void) {
  const { default: WebSocket } = await import('ws');
  const ws = new WebSocket(url, { perMessageDeflate: OFFER_DEFLATE });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  ws.on('message', (raw: Buffer) => onFrame(raw.toString()));
  return { extensions: ws.extensions, close: () => ws.close() };
}

interface FanOutRow {
  requested: number;
  sockets: number;
  note: string;
  events?: number;
  extensions?: string;
  connect_per_s?: number;
  ack?: Spread;
  first?: Spread;
  median?: Spread;
  last?: Spread;
  cpu_ms_per_event?: number;
  cpu_ms_per_event_per_shard?: number;
  cpu_us_per_frame?: number;
}

/**
 * Fan-out of one event at a time to growing numbers of subscribers, in client processes: sockets are
 * added up to each size in turn, then FANOUT_WARM_UP and FANOUT_EVENTS timed events go out. Per size:
 * first/median/last receipt and the trigger's acknowledgement (min/median/max over events), and
 * the server's CPU per event over the timed events.
 */
async function fanOutSeries(driver: Driver, sizes: number[]): Promise<FanOutRow[]> {
  const { server } = driver;
  const pool = SocketPool.start(CLIENT_PROCESSES);
  const rows: FanOutRow[] = [];
  const extensions: Record<string, number> = {};
  let round = 0;
  let rate: number | null = null;
  try {
    for (const requested of sizes) {
      // workerd holds two descriptors per socket; one process cannot hold more than its open-files limit allows.
      const fds = fileDescriptors(server.pids());
      const perSocket = driver.shards === null ? FDS_PER_SOCKET.baseline : FDS_PER_SOCKET.workerd;
      const capacity = pool.size() + Math.floor((fds.limit - fds.open - 150) / perSocket);
      const target = Math.min(requested, capacity);
      const note = target < requested ? `capped at ${target}: ${perSocket} fds per socket, open-files limit ${fds.limit}` : '';
      const more = target - pool.size();
      if (more > 0 && rate !== null && more / rate > CONNECT_BUDGET_S) {
        rows.push({
          requested,
          sockets: 0,
          note: `skipped: opening ${more} more sockets would take about ${Math.round(more / rate)} s at ${Math.round(rate)}/s (budget ${CONNECT_BUDGET_S} s)`,
        });
        console.log(`  fan-out to ${requested}: ${rows.at(-1)!.note}`);
        break;
      }
      if (more > 0) {
        const opened = await pool.open(driver.socket.url, more, driver.socket.channel);
        if (opened.opened !== more) throw new Error(`only ${opened.opened} of ${more} sockets opened: ${opened.error}`);
        rate = (more / opened.ms) * 1000;
        for (const [name, count] of Object.entries(opened.extensions)) extensions[name] = (extensions[name] ?? 0) + count;
      }
      const events: Array<{ ack: number; first: number; median: number; last: number }> = [];
      let cpuStart = 0;
      for (let i = -FANOUT_WARM_UP; i < FANOUT_EVENTS; i++) {
        // warm-up events first (JIT, both servers)
        if (i === 0) cpuStart = cpuMs(server.pids());
        const r = round++;
        const start = now();
        await driver.trigger('bench-fanout', r);
        const ack = now() - start;
        const times = (await pool.receipts(r)).map((at) => at - start).sort((a, b) => a - b);
        if (i >= 0) events.push({ ack, first: times[0]!, median: times[Math.floor(times.length / 2)]!, last: times.at(-1)! });
      }
      const cpuPerEvent = (cpuMs(server.pids()) - cpuStart) / FANOUT_EVENTS;
      const row: FanOutRow = {
        requested,
        sockets: pool.size(),
        note,
        events: events.length,
        extensions: describeExtensions(extensions),
        connect_per_s: round2(rate ?? 0),
        ...spreads(events),
        cpu_ms_per_event: round2(cpuPerEvent),
        ...(driver.shards === null ? {} : { cpu_ms_per_event_per_shard: round2(cpuPerEvent / driver.shards) }),
        cpu_us_per_frame: round2((cpuPerEvent * 1000) / pool.size()),
      };
      rows.push(row);
      console.log(`  fan-out to ${row.sockets}:`, JSON.stringify(row));
    }
  } finally {
    await pool.close();
  }
  return rows;
}

function round2(value: number): number {
  return round(value);
}

/** "'' × 1000" style: what the server accepted, by count ('none' = no extension). */
function describeExtensions(extensions: Record<string, number>): string {
  return Object.entries(extensions)
    .map(([name, count]) => `${name || 'none'} × ${count}`)
    .join(', ');
}

/**
 * Durable Object RPCs per event, counted for real: a workerd with a tail worker (which sees every
 * invocation), RPC_COUNT_SOCKETS subscribers, RPC_COUNT_EVENTS events; invocations by object
 * class and method, divided by events. A separate run, as the tail worker costs a little per call.
 */
async function countRpcs(shards: number) {
  const tailPort = await freePort();
  const server = await startWorkerd({ shards, tailPort });
  const tail = `http://127.0.0.1:${tailPort}/`;
  const pool = SocketPool.start(1);
  try {
    const driver = tidings(server, shards);
    await pool.open(driver.socket.url, RPC_COUNT_SOCKETS, driver.socket.channel);
    // Let the connections' invocations drain into the tail worker, then start counting.
    await settle(tail);
    await fetch(tail, { method: 'POST' });
    for (let i = 0; i < RPC_COUNT_EVENTS; i++) {
      await driver.trigger('bench-fanout', i);
      await pool.receipts(i);
    }
    const counts = await settle(tail);
    const perEvent: Record<string, number> = {};
    let rpcs = 0;
    for (const [key, { count }] of Object.entries(counts)) {
      // key: executionModel:entrypoint:method; durableObject calls are the RPCs (and the Worker's own fetch is the trigger).
      const [model, entrypoint, method] = key.split(':');
      const name = model === 'durableObject' ? `${entrypoint}.${method}` : `Worker ${method}`;
      perEvent[name] = round2(count / RPC_COUNT_EVENTS);
      if (model === 'durableObject') rpcs += count;
    }
    return {
      shards,
      sockets: RPC_COUNT_SOCKETS,
      events: RPC_COUNT_EVENTS,
      do_rpcs_per_event: round2(rpcs / RPC_COUNT_EVENTS),
      by_method: perEvent,
    };
  } finally {
    await pool.close();
    await server.stop();
  }
}

/** The tail worker's counts once they stop changing (tail events arrive after each invocation ends). */
async function settle(tail: string): Promise<Record<string, { count: number }>> {
  let last = '';
  for (let i = 0; i < 40; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const text = await (await fetch(tail)).text();
    if (text === last && i >= 3) return JSON.parse(text) as Record<string, { count: number }>;
    last = text;
  }
  return JSON.parse(last) as Record<string, { count: number }>;
}

/** RPCs per event by the route publishing takes: straight to the one shard, or the channel object plus one `deliver` per shard holding subscribers. */
function computedRpcs(shards: number, sockets: number): number {
  return shards === 1 ? 1 : 1 + Math.min(shards, sockets);
}

/** One fan-out event through `driver` to every socket of `pool`: receipt times (ms) from just before the trigger. */
async function fanOutEvent(driver: Driver, pool: SocketPool, round: number) {
  const start = now();
  await driver.trigger('bench-fanout', round);
  const times = (await pool.receipts(round)).map((at) => at - start).sort((a, b) => a - b);
  return { first: times[0]!, median: times[Math.floor(times.length / 2)]!, last: times.at(-1)! };
}

/** One subscriber that takes sequential trigger → receive samples on demand. */
async function latencyProbe(driver: Driver) {
  let waiting: { i: number; resolve: (at: number) => void } | null = null;
  const onFrame = (text: string) => {
    const at = now();
    const i = Number(ROUND.exec(text)?.[1]);
    if (waiting?.i === i) waiting.resolve(at);
  };
  const subscriber = await (driver.socket.channel === null
    ? baselineSubscriber(driver.socket.url, onFrame)
    : protocolSubscriber(driver.server.port, 'bench-latency', onFrame));
  let round = 0;
  /** One trigger → receive round trip: ms until the trigger was answered and until the frame arrived. */
  const sample = async (): Promise<{ ack: number; received: number }> => {
    const i = round++;
    const received = new Promise<number>((resolve) => (waiting = { i, resolve }));
    const start = now();
    await driver.trigger('bench-latency', i);
    const ack = now() - start;
    return { ack, received: (await received) - start };
  };
  return {
    extensions: subscriber.extensions,
    close: subscriber.close,
    sample,
    async samples(count: number): Promise<number[]> {
      const samples: number[] = [];
      for (let k = 0; k < count; k++) samples.push((await sample()).received);
      return samples;
    },
  };
}

const median = (values: number[]) => percentile(values, 50);

/** A server of the targets: its fan-out driver and pool, its latency probe, and what each round measured. */
interface TargetSide {
  fanDriver: Driver;
  latencyDriver: Driver;
  pool: SocketPool;
  probe: Awaited<ReturnType<typeof latencyProbe>>;
  round: number;
  extensions: string;
}

/** TARGET_SOCKETS sockets on `fanDriver`'s server and one latency subscriber on `latencyDriver`'s, warmed up. */
async function targetSide(fanDriver: Driver, latencyDriver: Driver, warmUp: { fanOuts: number; events: number }): Promise<TargetSide> {
  const pool = SocketPool.start(CLIENT_PROCESSES);
  const probe = await latencyProbe(latencyDriver);
  const side: TargetSide = { fanDriver, latencyDriver, pool, probe, round: 0, extensions: '' };
  const opened = await pool.open(fanDriver.socket.url, TARGET_SOCKETS, fanDriver.socket.channel);
  side.extensions = describeExtensions(opened.extensions);
  for (let i = 0; i < warmUp.fanOuts; i++) await fanOutEvent(fanDriver, pool, side.round++);
  await probe.samples(warmUp.events);
  return side;
}

/** The two targets: fan-out last receipts (`fan`) and trigger → receive times (`lat`). */
type TargetKind = 'fan' | 'lat';

/** Samples of one server: every sample and each round's median (ms), and its CPU time (ms) over each kind. */
interface TargetSamples {
  fan: number[];
  lat: number[];
  rounds: Array<Record<TargetKind, number>>;
  fanCpuMs: number;
  latCpuMs: number;
}

function emptySamples(): TargetSamples {
  return { fan: [], lat: [], rounds: [], fanCpuMs: 0, latCpuMs: 0 };
}

/**
 * One round of a side: TARGET_FANOUT_EVENTS fan-outs and TARGET_LATENCY_EVENTS trigger → receive
 * samples, added to `into` with the round's medians and the server's CPU time over each.
 */
async function measureRound(side: TargetSide, into: TargetSamples): Promise<void> {
  const fan: number[] = [];
  const fanPids = side.fanDriver.server.pids();
  const fanCpu = cpuMs(fanPids);
  for (let i = 0; i < TARGET_FANOUT_EVENTS; i++) fan.push((await fanOutEvent(side.fanDriver, side.pool, side.round++)).last);
  into.fanCpuMs += cpuMs(fanPids) - fanCpu;
  const latPids = side.latencyDriver.server.pids();
  const latCpu = cpuMs(latPids);
  const lat = await side.probe.samples(TARGET_LATENCY_EVENTS);
  into.latCpuMs += cpuMs(latPids) - latCpu;
  into.fan.push(...fan);
  into.lat.push(...lat);
  into.rounds.push({ fan: median(fan), lat: median(lat) });
}

/** Server CPU (µs) per delivered frame of the fan-outs, or per trigger → receive event. */
function cpuPerUnit(samples: TargetSamples, kind: TargetKind): number {
  return kind === 'fan'
    ? round2((samples.fanCpuMs * 1000) / (samples.fan.length * TARGET_SOCKETS))
    : round2((samples.latCpuMs * 1000) / samples.lat.length);
}

async function closeSide(side: TargetSide) {
  side.probe.close();
  await side.pool.close();
}

/** Each round's ratio of medians, `of` ÷ `to`. */
function roundRatios(of: TargetSamples, to: TargetSamples, kind: TargetKind): number[] {
  return of.rounds.map((round, r) => round[kind] / to.rounds[r]![kind]);
}

/** min / median / max of per-round ratios, as printed. */
function ratioSpread(ratios: number[]): string {
  return `${round2(Math.min(...ratios))} / ${round2(median(ratios))} / ${round2(Math.max(...ratios))}`;
}

/** What the two targets' table rows say of each kind. */
const TARGET_ROWS: Record<TargetKind, { target: string; limit: number; extensions: (side: TargetSide) => string }> = {
  fan: {
    target: `fan-out to ${TARGET_SOCKETS.toLocaleString('en')} browser-like sockets: last receipt ≤ ${TARGETS.fanOut}× baseline`,
    limit: TARGETS.fanOut,
    extensions: (side) => side.extensions,
  },
  lat: {
    target: `trigger → receive p50 ≤ ${TARGETS.latencyP50}× baseline`,
    limit: TARGETS.latencyP50,
    extensions: (side) => side.probe.extensions || 'none',
  },
};

/** The table row of one target for one Tidings server, from the samples of the three sides. */
function targetRow(
  kind: TargetKind,
  serverName: string,
  sides: Record<'ours' | 'base' | 'floor', { side: TargetSide; samples: TargetSamples }>,
): Record<string, string | number> {
  const { ours, base, floor } = sides;
  const [oursMs, baseMs, floorMs] = [ours, base, floor].map(({ samples }) => round2(median(samples[kind]))) as [number, number, number];
  const ratios = roundRatios(ours.samples, base.samples, kind);
  const spec = TARGET_ROWS[kind];
  return {
    target: spec.target,
    server: serverName,
    'Tidings ms': oursMs,
    'baseline ms': baseMs,
    'workerd floor ms': floorMs,
    'ratio (min / median / max over rounds)': ratioSpread(ratios),
    'floor ÷ baseline': ratioSpread(roundRatios(floor.samples, base.samples, kind)),
    'Tidings ÷ floor': round2(oursMs / floorMs),
    'server CPU µs per frame (fan-out) or per event (p50), Tidings / baseline / floor': [ours, base, floor]
      .map(({ samples }) => cpuPerUnit(samples, kind))
      .join(' / '),
    extensions: `Tidings ${spec.extensions(ours.side)}; baseline ${spec.extensions(base.side)}; floor ${spec.extensions(floor.side)}`,
    verdict: round2(median(ratios)) <= spec.limit ? 'met' : 'missed',
  };
}

/**
 * The two targets for each shard count, measured side by side with the baseline and the workerd
 * floor (../support/bench/workerd-floor.js, one minimal Durable Object doing nothing but send):
 * TARGET_SOCKETS browser-like sockets on each server (the baseline's and the floor's in servers of
 * their own, so their latency subscribers are alone) and one latency subscriber each; then
 * TARGET_ROUNDS rounds, the order of the three servers reversed every other round, of
 * TARGET_FANOUT_EVENTS fan-outs and TARGET_LATENCY_EVENTS trigger → receive events per server.
 * Each round gives a ratio of medians; the verdict is on the median ratio to the baseline. The
 * floor's ratio says how much of the gap any Durable Object server has on this workerd, and
 * Tidings ÷ floor how much is ours.
 */
async function pairedTargets(shardCounts: number[]): Promise<Array<Record<string, string | number>>> {
  const rows: Array<Record<string, string | number>> = [];
  const servers = [await startBaseline(), await startBaseline(), await startWorkerdFloor(), await startWorkerdFloor()];
  const [baseFanServer, baseLatencyServer, floorFanServer, floorLatencyServer] = servers as [
    BenchServer,
    BenchServer,
    BenchServer,
    BenchServer,
  ];
  const sides: TargetSide[] = [];
  try {
    const base = await targetSide(baseline(baseFanServer), baseline(baseLatencyServer), {
      fanOuts: TARGET_WARM_UP.baselineFanOuts,
      events: TARGET_WARM_UP.baselineEvents,
    });
    sides.push(base);
    const floor = await targetSide(baseline(floorFanServer), baseline(floorLatencyServer), TARGET_WARM_UP);
    sides.push(floor);
    for (const shards of shardCounts) {
      const server = await startWorkerd({ shards });
      try {
        console.log(`\ntargets: ${server.name} beside the baseline and the workerd floor`);
        const driver = tidings(server, shards);
        const ours = await targetSide(driver, driver, TARGET_WARM_UP);
        try {
          const samples = new Map<TargetSide, TargetSamples>([base, floor, ours].map((side) => [side, emptySamples()]));
          for (let r = 0; r < TARGET_ROUNDS; r++) {
            for (const side of r % 2 === 0 ? [base, floor, ours] : [ours, floor, base]) await measureRound(side, samples.get(side)!);
            const [b, f, o] = [base, floor, ours].map((side) => samples.get(side)!.rounds[r]!) as [
              Record<TargetKind, number>,
              Record<TargetKind, number>,
              Record<TargetKind, number>,
            ];
            console.log(
              `  round ${r + 1}: fan-out last ${round2(o.fan)} vs ${round2(b.fan)} ms (floor ${round2(f.fan)}), p50 ${round2(o.lat)} vs ${round2(b.lat)} ms (floor ${round2(f.lat)})`,
            );
          }
          const three = {
            ours: { side: ours, samples: samples.get(ours)! },
            base: { side: base, samples: samples.get(base)! },
            floor: { side: floor, samples: samples.get(floor)! },
          };
          rows.push(targetRow('fan', server.name, three), targetRow('lat', server.name, three));
        } finally {
          await closeSide(ours);
        }
      } finally {
        await server.stop();
      }
    }
  } finally {
    for (const side of sides) await closeSide(side);
    for (const server of servers) await server.stop();
  }
  return rows;
}

type Latency = Awaited<ReturnType<typeof latency>>;
const results: {
  config: Record<string, unknown>;
  latency: Record<
    string,
    Record<'p50' | 'p95' | 'p99' | 'max', Spread> & {
      events: number;
      repeats: number;
      cpu_ms_per_event: number;
      extensions: string;
      shards: number | null;
      ack: ReturnType<typeof latencySummary>;
      /** Percentiles 0 to 100 of every sample of every repeat (ms), for the CDF chart. */
      distribution: number[];
    }
  >;
  decomposition?: Awaited<ReturnType<typeof decompose>>;
  fanout: Record<string, { shards: number | null; rows: FanOutRow[] }>;
  rpcs: Array<Awaited<ReturnType<typeof countRpcs>>>;
  compression: Array<FanOutRow & { flags: string }>;
  targets: Array<Record<string, string | number>>;
} = {
  config: {
    load_average_at_start: loadavg().map((value) => round(value)),
    parts: [...PARTS],
    offer_deflate: OFFER_DEFLATE,
    latency_events: LATENCY_EVENTS,
    latency_repeats: LATENCY_REPEATS,
    fanout_events: FANOUT_EVENTS,
    fanout_sizes: FANOUT_SIZES,
    fanout_shards: FANOUT_SHARDS,
    latency_shards: LATENCY_SHARDS,
    client_processes: CLIENT_PROCESSES,
  },
  latency: {},
  fanout: {},
  rpcs: [],
  compression: [],
  targets: [],
};

function recordLatency(driver: Driver, measured: Latency, events: number, repeats: number) {
  const figures = spreads(measured.runs.map(({ p50, p95, p99, max }) => ({ p50, p95, p99, max })));
  results.latency[driver.server.name] = {
    events,
    repeats,
    shards: driver.shards,
    cpu_ms_per_event: measured.cpuMsPerEvent,
    extensions: measured.extensions || 'none',
    ack: measured.ack,
    distribution: measured.distribution,
    ...figures,
  };
  console.log(
    `  trigger → receive (ms, min/median/max over repeats; extensions: ${measured.extensions || 'none'}; server CPU ${measured.cpuMsPerEvent} ms/event; trigger answered p50 ${measured.ack.p50} ms):`,
    JSON.stringify(figures),
  );
}

async function withServer(start: () => Promise<BenchServer>, work: (server: BenchServer) => Promise<void>) {
  const server = await start();
  try {
    console.log(`\n${server.name} on 127.0.0.1:${server.port}`);
    await work(server);
  } finally {
    await server.stop();
  }
}

console.log(
  `Clients ${OFFER_DEFLATE ? 'offer' : 'do not offer'} permessage-deflate (BENCH_DEFLATE=${OFFER_DEFLATE ? '0 to turn off' : '0'}).`,
);

// The baseline: latency and every fan-out size, in one server.
let baselineName = '';
if (PARTS.has('latency') || PARTS.has('fanout')) {
  await withServer(startBaseline, async (server) => {
    baselineName = server.name;
    const driver = baseline(server);
    if (PARTS.has('latency'))
      recordLatency(driver, await latency(driver, LATENCY_EVENTS, LATENCY_REPEATS), LATENCY_EVENTS, LATENCY_REPEATS);
    if (PARTS.has('fanout')) results.fanout[server.name] = { shards: null, rows: await fanOutSeries(driver, FANOUT_SIZES) };
  });
}

// Tidings: latency with each shard count, then fan-out with each (a fresh workerd each).
for (const shards of PARTS.has('latency') ? LATENCY_SHARDS : []) {
  await withServer(
    () => startWorkerd({ shards }),
    async (server) => {
      const driver = tidings(server, shards);
      recordLatency(driver, await latency(driver, LATENCY_EVENTS, LATENCY_REPEATS), LATENCY_EVENTS, LATENCY_REPEATS);
      if (shards === 1) {
        results.decomposition = await decompose(server, LATENCY_EVENTS);
        console.log('  where the time goes:', JSON.stringify(results.decomposition));
      }
    },
  );
}
for (const shards of PARTS.has('fanout') ? FANOUT_SHARDS : []) {
  await withServer(
    () => startWorkerd({ shards }),
    async (server) => {
      results.fanout[server.name] = { shards, rows: await fanOutSeries(tidings(server, shards), FANOUT_SIZES) };
    },
  );
  results.rpcs.push(await countRpcs(shards));
  console.log('  RPCs per event (tail worker):', JSON.stringify(results.rpcs.at(-1)));
}

// What no_web_socket_compression saves: the same bundle with and without the flag, 1,000 sockets offering deflate.
if (PARTS.has('compression')) {
  const { compatibilityFlags } = wranglerRuntimeConfig();
  for (const flags of [compatibilityFlags, compatibilityFlags.filter((flag) => flag !== 'no_web_socket_compression')]) {
    await withServer(
      () => startWorkerd({ compatibilityFlags: flags }),
      async (server) => {
        const [row] = await fanOutSeries(tidings(server, 1), [1000]);
        results.compression.push({ flags: flags.join(', '), ...row! });
      },
    );
  }
}

// wrangler dev once: its proxy's overhead (and its entry worker's compression, in the extensions column).
let proxiedName = '';
if (PARTS.has('proxy')) {
  await withServer(
    () => startWranglerDev(),
    async (server) => {
      proxiedName = server.name;
      const driver = tidings(server, 1);
      recordLatency(driver, await latency(driver, 300, 1), 300, 1);
    },
  );
}

const lat = (name: string) => results.latency[name]!;
const base = results.latency[baselineName];
if (base)
  printTable(
    'Trigger → receive, ms (min / median / max over repeats of sequential events after 100 warm-up)',
    Object.keys(results.latency).map((name) => ({
      server: name,
      events: `${lat(name).repeats} × ${lat(name).events}`,
      extensions: lat(name).extensions,
      p50: lat(name).p50,
      p95: lat(name).p95,
      p99: lat(name).p99,
      max: lat(name).max,
      'p50 × baseline': ratio(lat(name).p50, base.p50),
      'p99 × baseline': ratio(lat(name).p99, base.p99),
      'server CPU ms/event': lat(name).cpu_ms_per_event,
    })),
  );
const oneShard = Object.keys(results.latency).find((name) => lat(name).shards === 1 && name !== proxiedName);
if (oneShard && proxiedName) {
  console.log(
    `wrangler dev's proxy adds ${round(lat(proxiedName).p50.median - lat(oneShard).p50.median)} ms at p50 and ${round(lat(proxiedName).p99.median - lat(oneShard).p99.median)} ms at p99 per event (measured once; every other number runs without it).`,
  );
}

if (results.decomposition && oneShard && base) {
  const d = results.decomposition;
  const sdk = lat(oneShard);
  printTable(`Where a trigger → receive goes, 1 shard (${LATENCY_EVENTS} sequential requests after ${WARM_UP} warm-up; ms)`, [
    {
      step: 'baseline: POST /trigger answered (Node http, undici fetch)',
      p50: base.ack.p50,
      p99: base.ack.p99,
      'server CPU ms': base.cpu_ms_per_event,
    },
    { step: 'baseline: frame received', p50: base.p50.median, p99: base.p99.median },
    {
      step: 'Tidings: GET /healthz answered (HTTP + Worker routing)',
      p50: d.healthz.p50,
      p99: d.healthz.p99,
      'server CPU ms': d.healthz.cpu_ms,
    },
    {
      step: 'Tidings: publish, no subscriber, answered (+ signature check, RPC to the shard)',
      p50: d.empty_channel_ack.p50,
      p99: d.empty_channel_ack.p99,
      'server CPU ms': d.empty_channel_ack.cpu_ms,
    },
    {
      step: 'Tidings: publish signed beforehand (undici), answered',
      p50: d.presigned_ack.p50,
      p99: d.presigned_ack.p99,
      'server CPU ms': d.presigned_receive.cpu_ms,
    },
    { step: 'Tidings: publish signed beforehand (undici), frame received', p50: d.presigned_receive.p50, p99: d.presigned_receive.p99 },
    {
      step: 'Tidings: pusher SDK trigger() answered (node-fetch, signing on the clock)',
      p50: sdk.ack.p50,
      p99: sdk.ack.p99,
      'server CPU ms': sdk.cpu_ms_per_event,
    },
    { step: 'Tidings: pusher SDK trigger(), frame received (the headline)', p50: sdk.p50.median, p99: sdk.p99.median },
  ]);
}

const baseRows = results.fanout[baselineName]?.rows ?? [];
const fanRows = [];
for (const [name, { shards, rows }] of Object.entries(results.fanout)) {
  for (const row of rows) {
    const floor = baseRows.find((other) => other.requested === row.requested);
    const counted = results.rpcs.find((r) => r.shards === shards);
    fanRows.push({
      server: name,
      sockets: row.sockets || row.note,
      extensions: row.extensions,
      'connect/s': row.connect_per_s,
      ack: row.ack,
      first: row.first,
      median: row.median,
      last: row.last,
      'last × baseline': row.last && floor?.last ? ratio(row.last, floor.last) : '',
      'RPCs/event computed': shards === null || !row.sockets ? '' : computedRpcs(shards, row.sockets),
      'RPCs/event counted': counted ? counted.do_rpcs_per_event : '',
      'CPU ms/event': row.cpu_ms_per_event,
      'CPU ms/event/shard': row.cpu_ms_per_event_per_shard,
      'CPU µs/frame': row.cpu_us_per_frame,
      note: row.sockets ? row.note : '',
    });
  }
}
if (fanRows.length > 0)
  printTable(
    `Fan-out of one event, ms from trigger (min / median / max over ${FANOUT_EVENTS} events after ${FANOUT_WARM_UP} warm-up; clients in ${CLIENT_PROCESSES} processes). CPU: the server process's CPU time (/proc) over the timed events ÷ events (÷ shards: every object runs in the one workerd process, so this is an average share, not a per-object measurement)`,
    fanRows,
  );
if (results.rpcs.length > 0)
  printTable(
    'Durable Object RPCs per event, counted by a tail worker (separate run)',
    results.rpcs.map((r) => ({
      shards: r.shards,
      sockets: r.sockets,
      events: r.events,
      'DO RPCs/event': r.do_rpcs_per_event,
      'by method': Object.entries(r.by_method)
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
    })),
  );

if (results.compression.length > 0) {
  printTable(
    `Compression: fan-out to 1,000 sockets offering permessage-deflate, 1 shard, with and without no_web_socket_compression (ms from trigger, min / median / max over ${FANOUT_EVENTS} events)`,
    results.compression.map((row) => ({
      'compatibility flags': row.flags,
      extensions: row.extensions,
      ack: row.ack,
      first: row.first,
      median: row.median,
      last: row.last,
      'CPU µs/frame': row.cpu_us_per_frame,
    })),
  );
}

// The targets: paired, interleaved measurements against the baseline (see pairedTargets).
if (PARTS.has('targets')) results.targets = await pairedTargets([...new Set([...FANOUT_SHARDS, ...LATENCY_SHARDS])].sort((a, b) => a - b));
if (results.targets.length > 0)
  printTable(
    `Targets: ${TARGET_ROUNDS} interleaved rounds against the baseline, each of ${TARGET_FANOUT_EVENTS} fan-outs to ${TARGET_SOCKETS} sockets and ${TARGET_LATENCY_EVENTS} trigger → receive events per server (ratio: median over rounds of the round's Tidings median ÷ baseline median; the verdict is on it)`,
    results.targets,
  );
writeResults('realtime', results);
