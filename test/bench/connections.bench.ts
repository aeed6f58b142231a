// Idle connections, run by `npm run bench` (loopback only, bounded, nothing asserted):
//   4. open 10,000 sockets from client processes of their own, each subscribed to a channel
//      (Pusher protocol), and leave them idle; report the server's resident memory per socket
//      (VmRSS of workerd from /proc, after minus before) and the connect+subscribe rate.
// Against the Worker in workerd without wrangler's dev proxy and, in the same run, the baseline
// (a minimal Node `ws` server: connect only, no protocol). A fresh server per repeat.
// workerd holds two file descriptors per WebSocket; where the server's open-files limit cannot
// hold SOCKETS of them, as many as fit (with a margin) are opened and the table says so.
import { socketUrl } from './support/pusher.ts';
import { printTable, writeResults } from './support/report.ts';
import { fileDescriptors, rssMb, startBaseline, startWorkerd, type BenchServer } from './support/servers.ts';
import { SocketPool } from './support/socket-pool.ts';
import { ratio, spreads } from './support/stats.ts';

const SOCKETS = Number(process.env.BENCH_IDLE_SOCKETS ?? 10_000);
const CLIENT_PROCESSES = 4;
const REPEATS = 2;
/** File descriptors a server process holds per open WebSocket (measured: workerd dups each accepted socket). */
const FDS_PER_SOCKET = { baseline: 1, workerd: 2 };

async function idle(start: () => Promise<BenchServer>, protocol: boolean) {
  const runs = [];
  let name = '';
  for (let repeat = 0; repeat < REPEATS; repeat++) {
    const server = await start();
    name = server.name;
    const pool = SocketPool.start(CLIENT_PROCESSES);
    try {
      const url = protocol ? socketUrl(server.port) : `ws://127.0.0.1:${server.port}/`;
      // One socket first, so the object (or server) exists before the "before" reading.
      await pool.open(url, 1, protocol ? 'bench-idle' : null);
      await new Promise((resolve) => setTimeout(resolve, 500));
      const before = rssMb(server.pids());
      const fds = fileDescriptors(server.pids());
      const fit = Math.floor((fds.limit - fds.open - 200) / FDS_PER_SOCKET[server.name === 'baseline (Node ws)' ? 'baseline' : 'workerd']);
      const sockets = Math.min(SOCKETS, fit);
      const opened = await pool.open(url, sockets, protocol ? 'bench-idle' : null, 50);
      if (opened.opened !== sockets) throw new Error(`only ${opened.opened} of ${sockets} sockets opened: ${opened.error}`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const after = rssMb(server.pids());
      const fdsAfter = fileDescriptors(server.pids());
      runs.push({
        sockets,
        connect_per_second: (sockets / opened.ms) * 1000,
        all_ready_ms: opened.ms,
        rss_before_mb: before,
        rss_after_mb: after,
        kb_per_socket: ((after - before) * 1024) / sockets,
        fds_per_socket: (fdsAfter.open - fds.open) / sockets,
        fd_limit: fds.limit,
      });
      console.log(`${server.name}, run ${repeat + 1}:`, JSON.stringify(runs.at(-1)));
    } finally {
      await pool.close();
      await server.stop();
    }
  }
  return { server: name, requested: SOCKETS, client_processes: CLIENT_PROCESSES, repeats: REPEATS, ...spreads(runs) };
}

const base = await idle(startBaseline, false);
const ours = await idle(() => startWorkerd(), true);
printTable(`${SOCKETS} idle sockets (min / median / max over ${REPEATS} runs, a fresh server each; clients in ${CLIENT_PROCESSES} processes)`, [base, ours].map((r) => ({
  server: r.server,
  sockets: r.sockets.median,
  'fds/socket': r.fds_per_socket.median,
  'connect(+subscribe)/s': r.connect_per_second,
  'all ready ms': r.all_ready_ms,
  'server RSS before MB': r.rss_before_mb,
  'after MB': r.rss_after_mb,
  'KB per socket': r.kb_per_socket,
  'KB/socket × baseline': ratio(r.kb_per_socket, base.kb_per_socket),
  'rate × baseline': ratio(r.connect_per_second, base.connect_per_second),
})));
writeResults('connections', { baseline: base, tidings: ours });
