// Insert → webhook latency of the local Supabase's pg_net worker alone (a Node receiver stands in for the
// Worker), and burst throughput (one statement; one-row statements): the first hop of the pipeline
// bench, on its own. Not run by `npm run bench`.
//   node test/bench/webhook-latency.ts [inserts=500] [burst=1000]
// Each single-row insert commits on a plain pg connection; latency is from commit returning to the
// receiver (a Node HTTP server, as the Worker would be) getting the POST.
import pg from 'pg';
import { percentile } from '../support/bench/stats.ts';
import { startTestSupabase } from '../support/node/local-supabase.ts';
import { startWebhookReceiver } from '../support/node/webhook-receiver.ts';
import { seedUsers } from '../support/seed-users.ts';

const inserts = Number(process.argv[2] ?? 500);
const burst = Number(process.argv[3] ?? 1000);
const receiver = await startWebhookReceiver();
const supabase = await startTestSupabase({ webhookUrl: receiver.url, webhookSecret: 'bench-secret' });
const db = new pg.Client({ connectionString: supabase.databaseUrl });
await db.connect();

try {
  const latencies: number[] = [];
  for (let i = 0; i < inserts; i++) {
    const before = receiver.received.length;
    await db.query('insert into emails (sender_id, recipient_id, subject, body) values ($1, $2, $3, $4)', [
      seedUsers.admin.id,
      seedUsers.ada.id,
      `Latency ${i}`,
      'x',
    ]);
    const committed = performance.now();
    while (receiver.received.length === before) await new Promise((resolve) => setImmediate(resolve));
    latencies.push(performance.now() - committed);
  }
  console.log(
    `insert → webhook, ${inserts} sequential inserts: p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms`,
  );

  // One statement: one webhook per 100 rows.
  receiver.received.length = 0;
  let started = performance.now();
  await db.query(
    `insert into emails (sender_id, recipient_id, subject, body) select $1, $2, 'Burst ' || n, 'x' from generate_series(1, $3::int) n`,
    [seedUsers.admin.id, seedUsers.grace.id, burst],
  );
  const webhooks = Math.ceil(burst / 100);
  await receiver.waitFor(webhooks, 120_000);
  let seconds = (performance.now() - started) / 1000;
  console.log(`burst of ${burst} rows in one statement: all ${webhooks} webhooks in ${(seconds * 1000).toFixed(0)} ms`);

  // One-row statements from 10 connections: one webhook each.
  receiver.received.length = 0;
  const connections = await Promise.all(
    Array.from({ length: 10 }, async () => {
      const connection = new pg.Client({ connectionString: supabase.databaseUrl });
      await connection.connect();
      return connection;
    }),
  );
  started = performance.now();
  await Promise.all(
    connections.map(async (connection, k) => {
      for (let n = k; n < burst; n += connections.length) {
        await connection.query('insert into emails (sender_id, recipient_id, subject, body) values ($1, $2, $3, $4)', [
          seedUsers.admin.id,
          seedUsers.grace.id,
          `Row ${n}`,
          'x',
        ]);
      }
    }),
  );
  await receiver.waitFor(burst, 120_000);
  seconds = (performance.now() - started) / 1000;
  await Promise.all(connections.map((connection) => connection.end()));
  console.log(
    `burst of ${burst} one-row inserts from ${connections.length} connections: all ${burst} webhooks in ${(seconds * 1000).toFixed(0)} ms (${Math.round(burst / seconds)}/s)`,
  );
} finally {
  await db.end();
  await supabase.destroy();
  await receiver.close();
}
