// The outbox's catch-up after an outage, run by `npm run bench` (loopback only, bounded, nothing
// asserted): 10,000 emails are inserted while the database cannot reach the Worker (every webhook
// fails, pg_net never retries), then the redelivery cron drains the backlog. Once with the Free-plan
// settings (REDELIVERY_BATCH=200, REDELIVERY_ROUNDS=1: about 23 subrequests a run, under the Free
// plan's 50) and once with the Paid-plan ones (1000 x 10). Runs are triggered back to back
// (/__scheduled of wrangler dev); the table gives each setting's runs, the time the runs took, entries
// per second while running, and the time to drain at the production cadence (one run a minute,
// the shortest Cron Trigger interval). A pusher-js subscriber counts what arrived: missing and
// duplicate events.
import pg from 'pg';
import { connectedPusher, subscribed } from '../support/bench/pusher.ts';
import { printTable, writeResults } from '../support/bench/report.ts';
import { now, round } from '../support/bench/stats.ts';
import { signIn } from '../support/bench/supabase.ts';
import { startStack } from '../support/node/stack.ts';
import { seedUsers } from '../support/seed-users.ts';

const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 10_000);
/** The shortest Cron Trigger interval on Cloudflare. */
const CRON_INTERVAL_SECONDS = 60;
const PLANS = [
  { plan: 'Free', REDELIVERY_BATCH: '200', REDELIVERY_ROUNDS: '1' },
  { plan: 'Paid', REDELIVERY_BATCH: '1000', REDELIVERY_ROUNDS: '10' },
];

const results: Record<string, unknown> = {};
for (const { plan, ...settings } of PLANS) {
  const stack = await startStack({ workerVars: { ...settings, REDELIVERY_GRACE_SECONDS: '0', LOG_LEVEL: 'error' } });
  const db = new pg.Client({ connectionString: stack.supabase.databaseUrl });
  await db.connect();
  try {
    const token = await signIn(stack.supabase, seedUsers.grace);
    const client = await connectedPusher(stack.worker.port, {
      endpoint: `${stack.worker.url}/broadcasting/auth`,
      headers: { Authorization: `Bearer ${token}` },
    });
    const channel = await subscribed(client, `private-user.${seedUsers.grace.id}`);
    const received = new Map<string, number>();
    channel.bind('email.received', (data: { id: string }) => received.set(data.id, (received.get(data.id) ?? 0) + 1));

    // The outage: the database cannot reach the Worker.
    const { rows: setting } = await db.query(`select value from private.settings where name = 'webhook_url'`);
    await db.query(`update private.settings set value = 'http://127.0.0.1:9/webhooks/db' where name = 'webhook_url'`);
    await db.query(
      `insert into emails (sender_id, recipient_id, subject, body)
       select $1, $2, 'Backlog ' || n, 'Written while the Worker was unreachable' from generate_series(1, $3::int) as n`,
      [seedUsers.admin.id, seedUsers.grace.id, BACKLOG],
    );
    await stack.supabase.webhooksIdle();
    await db.query(`update private.settings set value = $1 where name = 'webhook_url'`, [setting[0].value]);
    const pending = async () =>
      (await db.query<{ n: number }>('select count(*)::int as n from tidings.outbox where delivered_at is null and failed_at is null'))
        .rows[0]!.n;
    const runsSoFar = async () => (await db.query<{ n: number }>('select count(*)::int as n from tidings.cron_runs')).rows[0]!.n;

    const start = now();
    let runs = 0;
    while ((await pending()) > 0) {
      const before = await runsSoFar();
      const response = await fetch(`${stack.worker.url}/__scheduled?cron=*+*+*+*+*`);
      if (!response.ok) throw new Error(`the cron trigger answered ${response.status}`);
      // The run finishes after the trigger's answer: it records itself in tidings.cron_runs.
      while ((await runsSoFar()) === before) await new Promise((resolve) => setTimeout(resolve, 20));
      runs++;
    }
    const drainedMs = now() - start;
    const deadline = Date.now() + 30_000;
    while (received.size < BACKLOG && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    const { rows } = await db.query<{ ms: number; published: number }>(
      `select extract(epoch from finished_at - started_at) * 1000 as ms, published from tidings.cron_runs order by id`,
    );
    const runMs = rows.reduce((sum, row) => sum + Number(row.ms), 0);
    const duplicates = [...received.values()].filter((count) => count > 1).length;
    results[plan] = {
      ...settings,
      backlog: BACKLOG,
      runs,
      runs_ms: round(runMs),
      per_run_ms: round(runMs / runs),
      entries_per_second_running: round((BACKLOG / runMs) * 1000),
      back_to_back_ms: round(drainedMs),
      at_one_run_a_minute_s: (runs - 1) * CRON_INTERVAL_SECONDS + round(runMs / runs / 1000),
      missing: BACKLOG - received.size,
      duplicates,
    };
    console.log(`${plan}:`, JSON.stringify(results[plan]));
    client.disconnect();
  } finally {
    await db.end();
    await stack.stop();
  }
}

printTable(`Draining a ${BACKLOG}-entry outbox backlog after an outage (cron runs back to back under wrangler dev)`, [
  ...PLANS.map(({ plan }) => {
    const r = results[plan] as Record<string, number>;
    return {
      plan,
      'batch x rounds': `${r.REDELIVERY_BATCH} x ${r.REDELIVERY_ROUNDS}`,
      runs: r.runs,
      'ms per run': r.per_run_ms,
      'entries/s while running': r.entries_per_second_running,
      'drained, runs back to back, s': round(r.back_to_back_ms! / 1000),
      'drained at 1 run/min, s': r.at_one_run_a_minute_s,
      missing: r.missing,
      duplicates: r.duplicates,
    };
  }),
]);
writeResults('drain', results);
