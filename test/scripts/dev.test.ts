import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { descendantsOf, freePort, isAlive } from '../support/node/processes.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

function waitForOutput(child: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms; output:\n${output}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = pattern.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[0]);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
  });
}

describe('npm run dev', () => {
  let dev: ChildProcess | undefined;
  let supabaseDir: string | undefined;
  afterAll(async () => {
    if (dev?.pid && isAlive(dev.pid)) dev.kill('SIGKILL');
    if (supabaseDir) await rm(supabaseDir, { recursive: true, force: true });
  });

  it('serves the Worker, the web client and the local Supabase, runs the Cron Trigger, and stops everything on Ctrl-C', async () => {
    const port = await freePort();
    // The local Supabase on free ports with its own data, so parallel runs do not collide.
    const [supabaseApiPort, supabaseDbPort] = [await freePort(), await freePort()];
    supabaseDir = await mkdtemp(join(tmpdir(), 'tidings-dev-'));
    await chmod(supabaseDir, 0o755); // Postgres runs as `postgres` when we are root
    dev = spawn(process.execPath, ['scripts/dev.mjs'], {
      cwd: root,
      env: {
        ...process.env,
        PORT: String(port),
        SUPABASE_API_PORT: String(supabaseApiPort),
        SUPABASE_DB_PORT: String(supabaseDbPort),
        SUPABASE_DATA_DIR: join(supabaseDir, 'db'),
        CRON_INTERVAL_SECONDS: '1',
      },
    });
    let output = '';
    dev.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const line = await waitForOutput(dev, /Tidings is running at (\S+)/, 90_000);
    const url = line.replace('Tidings is running at ', '');
    expect(url).toBe(`http://127.0.0.1:${port}`);

    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    const page = await fetch(`${url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>Tidings</title>');
    const jwks = await fetch(`http://127.0.0.1:${supabaseApiPort}/auth/v1/.well-known/jwks.json`);
    expect(jwks.status).toBe(200);
    // wrangler dev never fires Cron Triggers; the supervisor runs the redelivery handler itself.
    await expect.poll(() => output, { timeout: 15_000 }).toMatch(/the Cron Trigger \(redelivery\) runs every 1 s/);

    const started = descendantsOf(dev.pid!);
    expect(started.length).toBeGreaterThan(0);

    const exitCode = new Promise<number | null>((resolve) => dev!.on('exit', (code) => resolve(code)));
    dev.kill('SIGINT');
    expect(await exitCode).toBe(0);
    expect(started.filter(isAlive)).toEqual([]);
    // Nothing listens on the Worker's or the local Supabase's port any more.
    const refused = { message: 'fetch failed', cause: { code: 'ECONNREFUSED' } };
    await expect(fetch(`${url}/healthz`)).rejects.toMatchObject(refused);
    await expect(fetch(`http://127.0.0.1:${supabaseApiPort}/auth/v1/.well-known/jwks.json`)).rejects.toMatchObject(refused);
  }, 120_000);
});
