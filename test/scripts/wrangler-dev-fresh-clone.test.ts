import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { copyCheckout } from '../support/node/checkout.ts';
import { descendantsOf, freePort, isAlive, waitForOutput } from '../support/node/processes.ts';
import { seedUsers } from '../support/seed-users.ts';

// A newcomer who runs `npx wrangler dev` (not `npm run dev`) on a fresh clone, which has no
// .dev.vars: the Worker must still have its development settings, and wrangler must not say the
// checked-in types are out of date. Only the ports are chosen, so it runs beside anything else.
// Then they edit the Worker (a route, a model declaration) and expect wrangler dev to pick it up.
describe('plain wrangler dev on a fresh clone', () => {
  let folder: string | undefined;
  let wrangler: ChildProcess | undefined;
  afterAll(async () => {
    if (wrangler?.pid && isAlive(wrangler.pid)) process.kill(-wrangler.pid, 'SIGKILL');
    if (folder) await rm(folder, { recursive: true, force: true });
  });

  it('creates .dev.vars from .dev.vars.example, serves the Worker with those settings, says nothing of stale types, and reloads the Worker when functions/ changes', async () => {
    folder = await mkdtemp(join(tmpdir(), 'tidings-wrangler-dev-'));
    const checkout = join(folder, 'tidings');
    await copyCheckout(checkout);
    const port = await freePort();
    wrangler = spawn(
      process.execPath,
      [
        'node_modules/wrangler/bin/wrangler.js',
        'dev',
        '--ip',
        '127.0.0.1',
        '--port',
        String(port),
        '--inspector-port',
        String(await freePort()),
        '--show-interactive-dev-session=false',
      ],
      {
        cwd: checkout,
        detached: true,
        env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', NO_COLOR: '1' },
      },
    );
    let output = '';
    wrangler.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    wrangler.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitForOutput(wrangler, /Ready on http:\/\/127\.0\.0\.1:\d+/, 90_000);

    expect(readFileSync(join(checkout, '.dev.vars'), 'utf8')).toBe(readFileSync(join(checkout, '.dev.vars.example'), 'utf8'));
    const config = await fetch(`http://127.0.0.1:${port}/api/config`);
    expect(config.status).toBe(200);
    // APP_ENV=development and DEV_USERS come from .dev.vars only (wrangler.toml says production).
    const body = (await config.json()) as { devUsers?: Array<{ email: string }> };
    expect(body.devUsers?.map((user) => user.email)).toEqual(Object.values(seedUsers).map((user) => user.email));
    expect(output).toContain('Using secrets defined in .dev.vars');
    expect(output).not.toContain('types might be out of date');

    // A change under functions/ reaches the running Worker without a restart: with a [build]
    // command, wrangler dev reloads only after a rebuild, which only watch_dir's folders start.
    const healthz = async () => (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as { service: string };
    expect(await healthz()).toEqual({ status: 'ok', service: 'tidings' });
    const index = join(checkout, 'functions/index.ts');
    const source = await readFile(index, 'utf8');
    expect(source).toContain("service: 'tidings'");
    await writeFile(index, source.replace("service: 'tidings'", "service: 'tidings, edited'"));
    await expect.poll(healthz, { timeout: 60_000, interval: 250 }).toMatchObject({ service: 'tidings, edited' });

    const started = descendantsOf(wrangler.pid!);
    const exited = new Promise((resolve) => wrangler!.once('exit', resolve));
    process.kill(-wrangler.pid!, 'SIGINT');
    await exited;
    await expect.poll(() => started.filter(isAlive)).toEqual([]);
  }, 150_000);
});
