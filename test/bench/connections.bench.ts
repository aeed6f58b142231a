// Idle connections, run by `npm run bench` (loopback only, bounded, nothing asserted):
//   4. open 10,000 sockets from client processes of their own, each subscribed to a channel
//      (Pusher protocol), and leave them idle; report the server's resident memory per socket
//      (VmRSS of workerd from /proc, after minus before) and the connect+subscribe rate.
// Against the Worker in workerd without wrangler's dev proxy and, in the same run, the baseline
// (a minimal Node `ws` server: connect only, no protocol). A fresh server per repeat.
// workerd holds two file descriptors per WebSocket; where one server process's open-files limit
// cannot hold SOCKETS of them, the sockets are spread over more server processes (the table says
// how many), and memory is the sum over all of them.
import { socketUrl } from '../support/bench/pusher.ts';
import { printTable, writeResults } from '../support/bench/report.ts';
import { type BenchServer, fileDescriptors, rssMb, startBaseline, startWorkerd } from '../support/bench/servers.ts';
import { SocketPool } from '../support/bench/socket-pool.ts';
import { ratio, spreads } from '../support/bench/stats.ts';

const SOCKETS = Number(process.env.BENCH_IDLE_SOCKETS ?? 10_000);
const CLIENT_PROCESSES = 4;
const REPEATS = 2;
/** File descriptors a server process holds per open WebSocket (measured: workerd dups each accepted socket). */
const FDS_PER_SOCKET = { baseline: 1, workerd: 2 };

/** `total` split as evenly as possible into `parts`. */
function shares(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
}

async function idle(start: () => Promise<BenchServer>, protocol: boolean) {
  const runs = [];
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
      await new Promise((resolve) => setTimeout(resolve, 500));
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
      console.log(`${name}, run ${repeat + 1}:`, JSON.stringify(runs.at(-1)));
    } finally {
      await pool.close();
      for (const server of servers) await server.stop();
    }
  }
  return { server: name, requested: SOCKETS, client_processes: CLIENT_PROCESSES, repeats: REPEATS, ...spreads(runs) };
}

const base = await idle(startBaseline, false);
const ours = await idle(() => startWorkerd(), true);
printTable(
  `${SOCKETS} idle sockets (min / median / max over ${REPEATS} runs, a fresh server each; clients in ${CLIENT_PROCESSES} processes)`,
  [base, ours].map((r) => ({
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
    'rate × baseline': ratio(r.connect_per_second, base.connect_per_second),
  })),
);
writeResults('connections', { baseline: base, tidings: ours });
