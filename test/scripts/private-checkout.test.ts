import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@supabase/supabase-js';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { EmailReceived, userChannel } from '../../functions/broadcast/events.ts';
import { ANON_KEY } from '../../supabase/local/keys.ts';
import { copyCheckout } from '../support/node/checkout.ts';
import { readDevVars } from '../support/node/dev-vars.ts';
import { descendantsOf, freePort, isAlive, waitForOutput } from '../support/node/processes.ts';
import { connected, nextEvent, subscribed, userPusher } from '../support/node/realtime-clients.ts';
import { seedUsers } from '../support/seed-users.ts';

// As root (most containers and cloud VMs), Postgres must run as another user, which cannot enter a
// folder only root may enter; `npm run dev` must work from one anyway. As any other user the same
// run checks that a private folder is no obstacle either.
describe(`npm run dev in a checkout only ${userInfo().username} can enter`, () => {
  let parent: string | undefined;
  let dev: ChildProcess | undefined;
  let dataDir: string | undefined;
  afterAll(async () => {
    // After a failure: the supervisor starts each part in a process group of its own, so stop every
    // descendant, not only npm's group.
    if (dev?.pid) for (const pid of [dev.pid, ...descendantsOf(dev.pid)].filter(isAlive)) process.kill(pid, 'SIGKILL');
    if (parent) await rm(parent, { recursive: true, force: true });
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('reaches /healthz and delivers a row inserted with a plain Postgres client to pusher-js', async () => {
    parent = await mkdtemp(join(tmpdir(), 'tidings-private-'));
    await chmod(parent, 0o700);
    const checkout = join(parent, 'tidings');
    await copyCheckout(checkout);

    const [port, apiPort, dbPort] = [await freePort(), await freePort(), await freePort()];
    dev = spawn('npm', ['run', 'dev'], {
      cwd: checkout,
      detached: true, // its own process group, so the test can stop npm and everything under it
      env: {
        ...process.env,
        PORT: String(port),
        SUPABASE_API_PORT: String(apiPort),
        SUPABASE_DB_PORT: String(dbPort),
        CRON_INTERVAL_SECONDS: '0',
      },
    });
    const [[, postgresData], [, url]] = await Promise.all([
      waitForOutput(dev, /DB data: (\S+)/, 120_000),
      waitForOutput(dev, /Tidings is running at (\S+)/, 120_000),
    ]);
    dataDir = postgresData!;
    if (userInfo().uid === 0) expect(dataDir.startsWith(parent)).toBe(false); // `postgres` could not have reached it
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    // A fresh clone has no built web client: wrangler.toml's [build] made it before `wrangler dev` served it.
    expect(await (await fetch(`${url}/`)).text()).toContain('<title>Tidings</title>');
    expect(existsSync(join(checkout, '.tidings', 'web-dev', 'assets', 'app.js'))).toBe(true);
    // `npm test` and `wrangler deploy` build web/dist meanwhile: the page being served keeps every
    // script it imports.
    execFileSync(process.execPath, ['scripts/build-web.mjs'], { cwd: checkout });
    const app = await (await fetch(`${url}/assets/app.js`)).text();
    const chunks = [...app.matchAll(/\.\/chunks\/[\w-]+\.js/g)].map((match) => match[0].slice(2));
    expect(chunks.length).toBeGreaterThan(0);
    for (const chunk of chunks) expect((await fetch(`${url}/assets/${chunk}`)).status, chunk).toBe(200);

    // docs/local-supabase.md's first step: a row inserted with psql before any browser is open is
    // delivered (published to nobody) at once, not left for the cron.
    const db = new pg.Client({ connectionString: `postgresql://postgres:postgres@127.0.0.1:${dbPort}/postgres` });
    await db.connect();
    const first = await db.query<{ id: string }>(
      `insert into public.emails (sender_id, recipient_id, subject, body) values ($1, $2, 'Before any browser', 'Hello') returning id`,
      [seedUsers.admin.id, seedUsers.ada.id],
    );
    const firstEntry = async () =>
      (
        await db.query<{ attempts: number; delivered: boolean }>(
          `select attempts, delivered_at is not null as delivered from tidings.outbox where row_id = $1`,
          [first.rows[0]!.id],
        )
      ).rows;
    await expect.poll(firstEntry, { timeout: 10_000 }).toEqual([{ attempts: 1, delivered: true }]);

    const auth = createClient(`http://127.0.0.1:${apiPort}`, ANON_KEY, {
      auth: { persistSession: false, autoRefreshToken: false },
    });
    const { data, error } = await auth.auth.signInWithPassword({ email: seedUsers.ada.email, password: seedUsers.ada.password });
    expect(error).toBeNull();
    const ada = userPusher({ url: url!, port }, data.session!.access_token, readDevVars().PUSHER_APP_KEY!);
    try {
      await connected(ada);
      await subscribed(ada, userChannel(seedUsers.ada.id));
      const arrival = nextEvent(ada, userChannel(seedUsers.ada.id), EmailReceived.name);
      await db.query(
        `insert into public.emails (sender_id, recipient_id, subject, body) values ($1, $2, 'From a private checkout', 'Hello')`,
        [seedUsers.admin.id, seedUsers.ada.id],
      );
      expect(EmailReceived.schema.parse(await arrival)).toMatchObject({
        subject: 'From a private checkout',
        sender_id: seedUsers.admin.id,
      });
    } finally {
      ada.disconnect();
      await db.end();
    }

    // Ctrl-C in a terminal signals the whole foreground process group: npm and everything under it.
    const started = descendantsOf(dev.pid!);
    const stopped = waitForOutput(dev, /\[dev\] stopped/, 15_000);
    process.kill(-dev.pid!, 'SIGINT');
    await stopped;
    await expect.poll(() => started.filter(isAlive)).toEqual([]);
  }, 240_000);
});
