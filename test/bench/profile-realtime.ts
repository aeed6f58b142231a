// Where workerd's CPU goes during the realtime benchmarks' two target scenarios, with `perf`
// (not run by `npm run bench`; Linux, perf installed, perf_event_paranoid ≤ 2 for your own
// processes). Runs the deploy bundle in bare workerd with one shard, then samples workerd's threads
// while it serves
//   fanout:  BENCH_PROFILE_EVENTS (100) events to 1,000 subscribed sockets (clients in 2 processes);
//   latency: 10× as many sequential trigger → receive events to one subscriber,
// and buckets the samples by what the symbol belongs to: the kernel, V8 (our JavaScript, the
// runtime's builtins and garbage collection), workerd's C++ runtime (KJ I/O, HTTP, WebSocket,
// JS glue), SQLite, zlib (WebSocket compression), the allocator and libc.
//
//   node --experimental-strip-types test/bench/profile-realtime.ts [fanout|latency]
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { protocolSubscriber, serverSdk, socketUrl } from '../support/bench/pusher.ts';
import { printTable } from '../support/bench/report.ts';
import { startWorkerd } from '../support/bench/servers.ts';
import { SocketPool } from '../support/bench/socket-pool.ts';

const scenario = process.argv[2] ?? 'fanout';
const EVENTS = Number(process.env.BENCH_PROFILE_EVENTS ?? 100);

/** What a sampled symbol belongs to. */
function bucket(dso: string, symbol: string): string {
  if (dso.includes('kernel')) {
    if (/task_switch|schedule|spin_unlock_irqrestore|wake_up|futex|pick_next|enqueue|dequeue|update_curr|switch_to/.test(symbol))
      return 'kernel: scheduler (thread wake-ups, context switches)';
    if (/tcp|inet|ip_|ipv4|sock|skb|net_|netif|__dev|loopback|nf_|napi|__napi|release_sock|lock_sock/.test(symbol))
      return 'kernel: TCP/loopback';
    return 'kernel: other (syscalls, epoll, fd lookups)';
  }
  if (/kj_hyper|tokio|hyper::|\$rust\$|mio::|^<std::|^<core::|^core::|^std::|^<alloc::|cxxbridge/.test(symbol))
    return "workerd's Rust HTTP/WebSocket I/O (kj_hyper, tokio)";
  if (/deflate|inflate|zlib|crc32|adler32/i.test(symbol)) return 'zlib (compression)';
  if (/^sqlite3|sqlite3[A-Z_]/.test(symbol)) return 'SQLite';
  if (
    /^(v8::|Builtins_|Builtin:|cppgc::|heap::|v8_inspector)|\bv8::internal|^Lazy|^Interpreted|^Function:|^Script:/.test(symbol) ||
    dso.includes('JIT') ||
    dso.startsWith('perf-') ||
    symbol.startsWith('0x')
  ) {
    return 'V8 (JavaScript, builtins, GC)';
  }
  if (
    /^(kj::|workerd::|capnp::|jsg::|edgeworker::|\(anonymous namespace\)::|kj_|capnp_)/.test(symbol) ||
    symbol.includes('kj::') ||
    symbol.includes('workerd::')
  ) {
    return "workerd's C++ runtime (KJ I/O, HTTP, WebSocket, JS glue)";
  }
  if (/malloc|free|tcmalloc|operator new|operator delete|je_|mi_/.test(symbol)) return 'allocator';
  if (dso.includes('libc') || dso.includes('libstdc++') || dso.includes('libm')) return 'libc / libstdc++';
  return `other (${dso})`;
}

const server = await startWorkerd({ shards: 1 });
const pid = server.pids()[0]!;
const dir = mkdtempSync(join(tmpdir(), 'tidings-perf-'));
const data = join(dir, 'perf.data');
const sdk = serverSdk(server.port);
let pool: SocketPool | null = null;
let closeSubscriber = () => {};
try {
  let run: () => Promise<void>;
  if (scenario === 'fanout') {
    pool = SocketPool.start(2);
    const opened = await pool.open(socketUrl(server.port), 1000, 'bench-fanout');
    console.log(`1,000 sockets (extensions: ${JSON.stringify(opened.extensions)})`);
    let round = 0;
    const event = async () => {
      const r = round++;
      await sdk.trigger('bench-fanout', 'tick', { round: r });
      await pool!.receipts(r);
    };
    for (let i = 0; i < 5; i++) await event();
    run = async () => {
      for (let i = 0; i < EVENTS; i++) await event();
    };
  } else {
    let waiting: { i: number; resolve: () => void } | null = null;
    const subscriber = await protocolSubscriber(server.port, 'bench-latency', (text) => {
      const i = Number(/round\\?":(\d+)/.exec(text)?.[1]);
      if (waiting?.i === i) waiting.resolve();
    });
    closeSubscriber = subscriber.close;
    let round = 0;
    const event = async () => {
      const r = round++;
      const received = new Promise<void>((resolve) => (waiting = { i: r, resolve }));
      await sdk.trigger('bench-latency', 'tick', { round: r });
      await received;
    };
    for (let i = 0; i < 100; i++) await event();
    run = async () => {
      for (let i = 0; i < EVENTS * 10; i++) await event();
    };
  }
  const perf = spawn('perf', ['record', '-F', '1999', '-g', '-p', String(pid), '-o', data], { stdio: 'ignore' });
  await new Promise((resolve) => setTimeout(resolve, 500));
  await run();
  perf.kill('SIGINT');
  await new Promise((resolve) => perf.once('exit', resolve));
  const report = execFileSync(
    'perf',
    ['report', '-i', data, '--no-children', '--sort', 'dso,sym', '--stdio', '-g', 'none', '--percent-limit', '0'],
    { encoding: 'utf8', maxBuffer: 64 * 2 ** 20, stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const buckets = new Map<string, number>();
  const top: Array<{ percent: number; dso: string; symbol: string }> = [];
  for (const line of report.split('\n')) {
    const match = /^\s+([\d.]+)%\s+(\S+)\s+\[[.k]\]\s+(.*)$/.exec(line);
    if (!match) continue;
    const [, percent, dso, symbol] = match;
    buckets.set(bucket(dso!, symbol!), (buckets.get(bucket(dso!, symbol!)) ?? 0) + Number(percent));
    top.push({ percent: Number(percent), dso: dso!, symbol: symbol!.slice(0, 110) });
  }
  printTable(
    `workerd CPU samples by component, ${scenario} (1 shard; perf record -F 1999 -g; % of workerd's samples)`,
    [...buckets].sort((a, b) => b[1] - a[1]).map(([component, percent]) => ({ component, '%': Math.round(percent * 10) / 10 })),
  );
  const threads = execFileSync(
    'perf',
    ['report', '-i', data, '--no-children', '--sort', 'pid,comm', '--stdio', '-g', 'none', '--percent-limit', '1'],
    { encoding: 'utf8', maxBuffer: 16 * 2 ** 20, stdio: ['ignore', 'pipe', 'ignore'] },
  );
  printTable(
    'Threads (≥ 1% of samples)',
    threads.split('\n').flatMap((line) => {
      const match = /^\s+([\d.]+)%\s+(.*)$/.exec(line);
      return match ? [{ '%': Number(match[1]), thread: match[2]!.trim() }] : [];
    }),
  );
  printTable(
    'Top 25 symbols',
    top.slice(0, 25).map((entry) => ({ '%': entry.percent, dso: entry.dso, symbol: entry.symbol })),
  );
} finally {
  closeSubscriber();
  await pool?.close();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
