// Connections, run by `npm run bench` (loopback only, bounded, nothing asserted):
//   4. connect + subscribe rate: BENCH_CONNECT_SOCKETS sockets (5,000) opened from client
//      processes of their own until each has its `subscription_succeeded`, with 1 and 8 connection
//      shards (REALTIME_SHARDS), every socket in one channel and each in a channel of its own
//      (BENCH_CONNECT_OWN_SOCKETS, 3,000: a channel object holds 3 descriptors for its SQLite
//      files in local workerd, so 5,000 would pass the open-files limit); sockets per second, and
//      workerd's CPU per connection (from /proc).
//   5. idle sockets: open 10,000 sockets, each subscribed to a channel (Pusher protocol), and leave
//      them idle; report the server's resident memory per socket (VmRSS of workerd from /proc,
//      after minus before), its JavaScript heap per socket (used heap after forced garbage
//      collections, read through workerd's inspector: what a Durable Object's 128 MB limit is
//      about, which RSS cannot show) and the connect+subscribe rate.
// Against the Worker's deploy bundle in bare workerd and, in the same run, the baseline (a minimal
// Node `ws` server: connect only, no protocol) and, for idle sockets, the workerd floor (one
// minimal Durable Object). A fresh server per repeat; BENCH_PARTS=connect,idle (both by default)
// picks the parts. Clients offer permessage-deflate as browsers do (BENCH_DEFLATE=0: not); the
// tables say what was accepted. workerd holds two file descriptors per WebSocket; where one server
// process's open-files limit cannot hold SOCKETS of them, the sockets are spread over more server
// processes (the table says how many), and memory is the sum over all of them.
import { usedHeapBytes } from '../support/bench/heap.ts';
import { socketUrl } from '../support/bench/pusher.ts';
import { printTable, writeResults } from '../support/bench/report.ts';
import {
  type BenchServer,
  cpuMs,
  fileDescriptors,
  rssMb,
  startBaseline,
  startWorkerd,
  startWorkerdFloor,
} from '../support/bench/servers.ts';
import { SocketPool } from '../support/bench/socket-pool.ts';
import { ratio, round, spreads } from '../support/bench/stats.ts';

/** Which parts run: BENCH_PARTS=connect,idle (both by default). */
const PARTS = new Set((process.env.BENCH_PARTS ?? 'connect,idle').split(','));
const SOCKETS = Number(process.env.BENCH_IDLE_SOCKETS ?? 10_000);
const CONNECT_SOCKETS = Number(process.env.BENCH_CONNECT_SOCKETS ?? 5000);
const CONNECT_OWN_SOCKETS = Number(process.env.BENCH_CONNECT_OWN_SOCKETS ?? 3000);
const CONNECT_SHARDS = (process.env.BENCH_CONNECT_SHARDS ?? '1,8').split(',').map(Number);
const CLIENT_PROCESSES = 4;
/** Handshakes each client process keeps in flight. */
const CONCURRENCY = 50;
const REPEATS = 2;
/** File descriptors a server process holds per open WebSocket (measured: workerd dups each accepted socket). */
const FDS_PER_SOCKET = { baseline: 1, workerd: 2 };

/** `total` split as evenly as possible into `parts`. */
function shares(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
}

async function idle(start: () => Promise<BenchServer>, protocol: boolean) {
  const runs = [];
  /** JavaScript heap readings, for servers started with an inspector. */
  const heaps: Array<{ before_mb: number; after_mb: number; kb_per_socket: number }> = [];
  let name = '';
  const channel = protocol ? 'bench-idle' : null;
  const urlOf = (server: BenchServer) => (protocol ? socketUrl(server.port) : `ws://127.0.0.1:${server.port}/`);
  for (let repeat = 0; repeat < REPEATS; repeat++) {
    const servers = [await start()];
    name = servers[0]!.name;
    const pool = SocketPool.start(CLIENT_PROCESSES);
    try {
      // One socket per server first, so the object (or server) exists before the "before" reading.
      await pool.open(urlOf(servers[0]!), 1, channel);
      const fds = fileDescriptors(servers[0]!.pids());
      const perProcess = Math.floor((fds.limit - fds.open - 200) / FDS_PER_SOCKET[name === 'baseline (Node ws)' ? 'baseline' : 'workerd']);
      // Where one process's open-files limit cannot hold every socket, run more server processes
      // (as more instances would in production) and spread the sockets over them.
      while (servers.length * perProcess < SOCKETS) {
        const server = await start();
        servers.push(server);
        await pool.open(urlOf(server), 1, channel);
      }
      // Each server may list every workerd this process started; count each process once.
      const pids = () => [...new Set(servers.flatMap((server) => server.pids()))];
      // JavaScript heap in MB, summed over the server processes (null where a server has no inspector).
      const heapMb = async () => {
        if (!servers.every((server) => server.inspector)) return null;
        let bytes = 0;
        for (const server of servers) bytes += await usedHeapBytes(server.inspector!);
        return bytes / 2 ** 20;
      };
      await new Promise((resolve) => setTimeout(resolve, 500));
      // Heap first, then RSS, both times: the heap reading collects garbage, so both RSS readings
      // follow a collection and neither gets credit the other lacks.
      const heapBefore = await heapMb();
      const before = rssMb(pids());
      const fdsBefore = fileDescriptors(pids()).open;
      let ms = 0;
      const perServer = shares(SOCKETS, servers.length);
      for (const [i, server] of servers.entries()) {
        const opened = await pool.open(urlOf(server), perServer[i]!, channel, 50);
        if (opened.opened !== perServer[i]) throw new Error(`only ${opened.opened} of ${perServer[i]} sockets opened: ${opened.error}`);
        ms += opened.ms;
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const heapAfter = await heapMb();
      const after = rssMb(pids());
      runs.push({
        sockets: SOCKETS,
        server_processes: servers.length,
        connect_per_second: (SOCKETS / ms) * 1000,
        all_ready_ms: ms,
        rss_before_mb: before,
        rss_after_mb: after,
        kb_per_socket: ((after - before) * 1024) / SOCKETS,
        fds_per_socket: (fileDescriptors(pids()).open - fdsBefore) / SOCKETS,
        fd_limit: fds.limit,
      });
      if (heapBefore !== null && heapAfter !== null)
        heaps.push({ before_mb: heapBefore, after_mb: heapAfter, kb_per_socket: ((heapAfter - heapBefore) * 1024) / SOCKETS });
      console.log(`${name}, run ${repeat + 1}:`, JSON.stringify({ ...runs.at(-1), js_heap: heaps.at(-1) }));
    } finally {
      await pool.close();
      for (const server of servers) await server.stop();
    }
  }
  return {
    server: name,
    requested: SOCKETS,
    client_processes: CLIENT_PROCESSES,
    repeats: REPEATS,
    ...spreads(runs),
    js_heap: heaps.length > 0 ? spreads(heaps) : undefined,
  };
}

/** `(sockets / s)` to open `sockets` sockets and have each subscribed (channel: one for all, `{n}`: one each), fresh server per repeat. */
async function connectRate(start: () => Promise<BenchServer>, channel: string | null, sockets = CONNECT_SOCKETS) {
  const runs = [];
  let name = '';
  let extensions = '';
  for (let repeat = 0; repeat < REPEATS; repeat++) {
    const server = await start();
    name = server.name;
    const pool = SocketPool.start(CLIENT_PROCESSES);
    try {
      const url = channel === null ? `ws://127.0.0.1:${server.port}/` : socketUrl(server.port);
      // One socket first, so the shard and channel objects (or the server) are warm.
      await pool.open(url, 1, channel === null ? null : channel.replace('{n}', 'warm-up'));
      const cpuStart = cpuMs(server.pids());
      const opened = await pool.open(url, sockets, channel, CONCURRENCY);
      if (opened.opened !== sockets) throw new Error(`only ${opened.opened} of ${sockets} sockets opened: ${opened.error}`);
      const cpu = cpuMs(server.pids()) - cpuStart;
      extensions = Object.entries(opened.extensions)
        .map(([ext, count]) => `${ext || 'none'} × ${count}`)
        .join(', ');
      runs.push({ per_second: (sockets / opened.ms) * 1000, all_ready_ms: opened.ms, cpu_ms_per_connection: cpu / sockets });
      console.log(`${name}, ${channel ?? 'no protocol'}, run ${repeat + 1}:`, JSON.stringify({ ...runs.at(-1), extensions }));
    } finally {
      await pool.close();
      await server.stop();
    }
  }
  return {
    server: name,
    channel: channel === null ? 'none (connect only)' : channel.includes('{n}') ? 'one per socket' : 'one for all',
    sockets,
    extensions,
    ...spreads(runs),
  };
}

const rates: Array<Awaited<ReturnType<typeof connectRate>>> = [];
if (PARTS.has('connect')) {
  rates.push(await connectRate(startBaseline, null));
  for (const shards of CONNECT_SHARDS) {
    rates.push(await connectRate(() => startWorkerd({ shards }), 'bench-connect'));
    rates.push(await connectRate(() => startWorkerd({ shards }), 'bench-user-{n}', CONNECT_OWN_SOCKETS));
  }
  printTable(
    `Connect + subscribe: sockets opened until each has its subscription_succeeded (min / median / max over ${REPEATS} runs, a fresh server each; clients in ${CLIENT_PROCESSES} processes × ${CONCURRENCY} handshakes in flight). CPU: the server process's CPU time (/proc) ÷ sockets`,
    rates.map((r) => ({
      server: r.server,
      channels: r.channel,
      sockets: r.sockets,
      extensions: r.extensions,
      'sockets/s': r.per_second,
      'all ready ms': r.all_ready_ms,
      'server CPU ms/connection': r.cpu_ms_per_connection,
      'rate × baseline': ratio(r.per_second, rates[0]!.per_second),
    })),
  );
  console.log(`(baseline CPU per connection: ${round(rates[0]!.cpu_ms_per_connection.median)} ms)`);
}

let idleRuns: Record<string, Awaited<ReturnType<typeof idle>>> | undefined;
if (PARTS.has('idle')) {
  const base = await idle(startBaseline, false);
  const floor = await idle(() => startWorkerdFloor({ inspector: true }), false);
  const ours = await idle(() => startWorkerd({ inspector: true }), true);
  idleRuns = { baseline: base, floor, tidings: ours };
  printTable(
    `${SOCKETS} idle sockets (min / median / max over ${REPEATS} runs, a fresh server each; clients in ${CLIENT_PROCESSES} processes). JS heap: used JavaScript heap after forced garbage collection (workerd's inspector), summed over the server processes`,
    [base, floor, ours].map((r) => ({
      server: r.server,
      sockets: r.sockets.median,
      'server processes': r.server_processes.median,
      'fds/socket': r.fds_per_socket.median,
      'connect(+subscribe)/s': r.connect_per_second,
      'all ready ms': r.all_ready_ms,
      'server RSS before MB': r.rss_before_mb,
      'after MB': r.rss_after_mb,
      'KB per socket': r.kb_per_socket,
      'KB/socket × baseline': ratio(r.kb_per_socket, base.kb_per_socket),
      'JS heap before MB': r.js_heap?.before_mb,
      'JS heap after MB': r.js_heap?.after_mb,
      'JS heap KB/socket': r.js_heap?.kb_per_socket,
      'rate × baseline': ratio(r.connect_per_second, base.connect_per_second),
    })),
  );
}
writeResults('connections', {
  connect_rate: { client_processes: CLIENT_PROCESSES, concurrency: CONCURRENCY, runs: rates },
  idle: idleRuns,
});
