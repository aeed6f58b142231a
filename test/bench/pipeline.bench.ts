// The whole path, run by `npm run bench` (loopback only, bounded, nothing asserted), against the
// local Supabase and the Worker in workerd without wrangler's dev proxy:
//   3. database insert → browser-side receipt: a plain pg connection inserts into `emails`; a
//      pusher-js client, authorized for `private-user.{recipient}` at /broadcasting/auth with a
//      real user JWT from /auth/v1, receives `email.received`. Sequential p50/p95/p99 (time from
//      before the INSERT to receipt), then bursts of 1,000 rows: in one statement (an import; one
//      webhook per 100 rows) and as 1,000 one-row statements from 10 connections (1,000
//      webhooks): time until all arrived, notifications per second, how many were lost.
//   5. channel auth: POST /broadcasting/auth requests per second and latency, with autocannon.
import autocannon from 'autocannon';
import pg from 'pg';
import { connectedPusher, subscribed } from '../support/bench/pusher.ts';
import { printTable, writeResults } from '../support/bench/report.ts';
import { childProcessesNamed, cpuMs } from '../support/bench/servers.ts';
import { latencySummary, now, spreads } from '../support/bench/stats.ts';
import { signIn, startBenchStack } from '../support/bench/supabase.ts';
import { seedUsers } from '../support/seed-users.ts';

const SEQUENTIAL = Number(process.env.BENCH_INSERTS ?? 500);
const REPEATS = 3;
const WARM_UP = 20;
const BURST = Number(process.env.BENCH_BURST ?? 1000);
/** Connections inserting the one-row statements of a burst concurrently. */
const BURST_CONNECTIONS = 10;
const AUTH_SECONDS = 5;
const AUTH_CONNECTIONS = 10;

const stack = await startBenchStack();
/** CPU used so far by workerd, by Postgres, and by this Node process (local Supabase API, pg_net worker, pusher-js). */
const cpuNow = () => {
  const usage = process.cpuUsage();
  return {
    workerd: cpuMs(stack.worker.pids()),
    postgres: cpuMs(childProcessesNamed('postgres')),
    node: (usage.user + usage.system) / 1000,
  };
};
const { supabase, worker: server } = stack;
const db = new pg.Client({ connectionString: supabase.databaseUrl });
await db.connect();
const results: Record<string, unknown> = {};
try {
  const token = await signIn(supabase, seedUsers.ada);
  const authEndpoint = `http://127.0.0.1:${server.port}/broadcasting/auth`;
  const client = await connectedPusher(server.port, { endpoint: authEndpoint, headers: { Authorization: `Bearer ${token}` } });
  const channel = await subscribed(client, `private-user.${seedUsers.ada.id}`);
  const arrivals = new Map<string, number>();
  let wake: (() => void) | null = null;
  channel.bind('email.received', (data: { subject: string }) => {
    arrivals.set(data.subject, now());
    wake?.();
  });
  const arrived = (subject: string) =>
    new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`'${subject}' did not arrive within 10 s`)), 10_000);
      const check = () => {
        const at = arrivals.get(subject);
        if (at === undefined) return;
        clearTimeout(timer);
        wake = null;
        resolve(at);
      };
      wake = check;
      check();
    });
  const insert = (subject: string) =>
    db.query('insert into emails (sender_id, recipient_id, subject, body) values ($1, $2, $3, $4)', [
      seedUsers.admin.id,
      seedUsers.ada.id,
      subject,
      'bench',
    ]);

  // 3a. Sequential inserts.
  const runs = [];
  for (let repeat = 0; repeat < REPEATS; repeat++) {
    const samples: number[] = [];
    for (let i = 0; i < WARM_UP + SEQUENTIAL; i++) {
      const subject = `Latency ${repeat}.${i}`;
      const start = now();
      await insert(subject);
      const at = await arrived(subject);
      if (i >= WARM_UP) samples.push(at - start);
    }
    const { p50, p95, p99, max } = latencySummary(samples);
    runs.push({ p50, p95, p99, max });
    console.log(`insert → receipt, run ${repeat + 1}:`, JSON.stringify(runs.at(-1)));
  }
  results.insert_to_receipt = { inserts: SEQUENTIAL, repeats: REPEATS, ...spreads(runs) };

  /** Runs `insertAll`, then waits until all BURST rows with `prefix` arrived or nothing new came for 5 s. */
  const measureBurst = async (prefix: string, insertAll: () => Promise<unknown>) => {
    const cpuBefore = cpuNow();
    const start = now();
    await insertAll();
    const committed = now() - start;
    const count = () => [...arrivals.keys()].filter((subject) => subject.startsWith(prefix)).length;
    let last = -1;
    let quietSince = Date.now();
    while (count() < BURST && Date.now() - quietSince < 5000) {
      if (count() !== last) {
        last = count();
        quietSince = Date.now();
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const times = [...arrivals].filter(([subject]) => subject.startsWith(prefix)).map(([, at]) => at - start);
    const allMs = Math.max(...times);
    const cpu = cpuNow();
    return {
      commit_ms: committed,
      all_arrived_ms: allMs,
      per_second: (times.length / allMs) * 1000,
      lost: BURST - times.length,
      cpu_workerd_ms: cpu.workerd - cpuBefore.workerd,
      cpu_postgres_ms: cpu.postgres - cpuBefore.postgres,
      cpu_node_ms: cpu.node - cpuBefore.node,
    };
  };

  // 3b. Bursts: BURST rows in one INSERT statement (an import).
  const bursts = [];
  for (let repeat = 0; repeat < REPEATS; repeat++) {
    const prefix = `Burst ${repeat} `;
    bursts.push(
      await measureBurst(prefix, () =>
        db.query(
          `insert into emails (sender_id, recipient_id, subject, body) select $1, $2, $3 || n, 'bench' from generate_series(1, $4::int) n`,
          [seedUsers.admin.id, seedUsers.ada.id, prefix, BURST],
        ),
      ),
    );
    console.log(`burst ${repeat + 1} (one statement):`, JSON.stringify(bursts.at(-1)));
  }
  results.burst = { rows: BURST, repeats: REPEATS, ...spreads(bursts) };

  // 3c. Bursts: BURST one-row INSERT statements from BURST_CONNECTIONS connections at once.
  const inserters = await Promise.all(
    Array.from({ length: BURST_CONNECTIONS }, async () => {
      const inserter = new pg.Client({ connectionString: supabase.databaseUrl });
      await inserter.connect();
      return inserter;
    }),
  );
  const rowBursts = [];
  try {
    for (let repeat = 0; repeat < REPEATS; repeat++) {
      const prefix = `Row burst ${repeat} `;
      rowBursts.push(
        await measureBurst(prefix, () =>
          Promise.all(
            inserters.map(async (inserter, connection) => {
              for (let n = connection; n < BURST; n += BURST_CONNECTIONS) {
                await inserter.query('insert into emails (sender_id, recipient_id, subject, body) values ($1, $2, $3, $4)', [
                  seedUsers.admin.id,
                  seedUsers.ada.id,
                  `${prefix}${n}`,
                  'bench',
                ]);
              }
            }),
          ),
        ),
      );
      console.log(`burst ${repeat + 1} (one-row statements):`, JSON.stringify(rowBursts.at(-1)));
    }
  } finally {
    await Promise.all(inserters.map((inserter) => inserter.end()));
  }
  results.row_burst = { rows: BURST, connections: BURST_CONNECTIONS, repeats: REPEATS, ...spreads(rowBursts) };
  client.disconnect();

  // 5. Channel auth.
  const authRuns = [];
  for (let repeat = 0; repeat < REPEATS; repeat++) {
    const result = await autocannon({
      url: authEndpoint,
      method: 'POST',
      connections: AUTH_CONNECTIONS,
      duration: AUTH_SECONDS,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: `socket_id=1234.5678&channel_name=private-user.${seedUsers.ada.id}`,
    });
    if (result.non2xx > 0 || result.errors > 0) throw new Error(`channel auth: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
    authRuns.push({ requests_per_second: result.requests.average, p50: result.latency.p50, p99: result.latency.p99 });
    console.log(`channel auth, run ${repeat + 1}:`, JSON.stringify(authRuns.at(-1)));
  }
  results.channel_auth = { seconds: AUTH_SECONDS, connections: AUTH_CONNECTIONS, repeats: REPEATS, ...spreads(authRuns) };
} finally {
  await db.end();
  await stack.stop();
}

type BurstSpreads = ReturnType<
  typeof spreads<'commit_ms' | 'all_arrived_ms' | 'per_second' | 'lost' | 'cpu_workerd_ms' | 'cpu_postgres_ms' | 'cpu_node_ms'>
>;
const seq = results.insert_to_receipt as ReturnType<typeof spreads<'p50' | 'p95' | 'p99' | 'max'>>;
const burst = results.burst as BurstSpreads;
const auth = results.channel_auth as ReturnType<typeof spreads<'requests_per_second' | 'p50' | 'p99'>>;
printTable(
  `Database insert → pusher-js receipt of email.received, ms (min / median / max over ${REPEATS} runs of ${SEQUENTIAL} sequential inserts)`,
  [{ p50: seq.p50, p95: seq.p95, p99: seq.p99, max: seq.max }],
);
const rowBurst = results.row_burst as BurstSpreads;
printTable(`Bursts of ${BURST} rows (min / median / max over ${REPEATS} bursts each); "commit" is until the last INSERT returned`, [
  {
    burst: 'one INSERT statement (10 webhooks)',
    'commit ms': burst.commit_ms,
    'all arrived ms': burst.all_arrived_ms,
    'notifications/s': burst.per_second,
    lost: burst.lost,
  },
  {
    burst: `${BURST} one-row INSERTs, ${BURST_CONNECTIONS} connections (${BURST} webhooks)`,
    'commit ms': rowBurst.commit_ms,
    'all arrived ms': rowBurst.all_arrived_ms,
    'notifications/s': rowBurst.per_second,
    lost: rowBurst.lost,
  },
]);
printTable("Where a burst's time goes: CPU ms used during one burst (min / median / max)", [
  {
    burst: 'one statement',
    workerd: burst.cpu_workerd_ms,
    postgres: burst.cpu_postgres_ms,
    'Node (local Supabase API, pg_net worker, pusher-js, inserts)': burst.cpu_node_ms,
  },
  {
    burst: 'one-row statements',
    workerd: rowBurst.cpu_workerd_ms,
    postgres: rowBurst.cpu_postgres_ms,
    'Node (local Supabase API, pg_net worker, pusher-js, inserts)': rowBurst.cpu_node_ms,
  },
]);
printTable(
  `POST /broadcasting/auth, autocannon ${AUTH_CONNECTIONS} connections × ${AUTH_SECONDS} s (min / median / max over ${REPEATS} runs)`,
  [{ 'requests/s': auth.requests_per_second, 'p50 ms': auth.p50, 'p99 ms': auth.p99 }],
);
writeResults('pipeline', results);
