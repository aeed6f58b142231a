import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { descendantsOf, freePort, isAlive, waitForOutput } from '../support/node/processes.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

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
        // Its own web build, so a developer's `npm run dev` in this checkout keeps what it serves.
        WEB_OUTDIR: join(supabaseDir, 'web'),
      },
    });
    let output = '';
    dev.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const [, url] = await waitForOutput(dev, /Tidings is running at (\S+)/, 90_000);
    expect(url).toBe(`http://127.0.0.1:${port}`);

    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    const page = await fetch(`${url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>Tidings</title>');
    // Built for development into WEB_OUTDIR (source maps), and served from there.
    const app = await (await fetch(`${url}/assets/app.js`)).text();
    expect(app).toBe(readFileSync(join(supabaseDir, 'web', 'assets', 'app.js'), 'utf8'));
    expect(app).toContain('sourceMappingURL');
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

  /** Runs `npm run dev` to its end (it must end by itself), returning its exit code and everything it printed. */
  async function devUntilExit(env: Record<string, string>): Promise<{ code: number | null; output: string; started: number[] }> {
    const child = spawn(process.execPath, ['scripts/dev.mjs'], { cwd: root, env: { ...process.env, ...env } });
    let output = '';
    const started = new Set<number>();
    const watch = setInterval(() => {
      for (const pid of descendantsOf(child.pid!)) started.add(pid);
    }, 100);
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    clearInterval(watch);
    return { code, output, started: [...started] };
  }

  function listenOn(port: number): Promise<Server> {
    return new Promise((resolve) => {
      const server = createServer().listen(port, '127.0.0.1', () => resolve(server));
    });
  }

  it.each([
    ['PORT', 'the Worker'],
    ['SUPABASE_API_PORT', "the local Supabase's API"],
    ['SUPABASE_DB_PORT', "the local Supabase's Postgres"],
  ])('stops before starting anything when %s is taken, naming the port and how to pick another', async (setting, what) => {
    const ports: Record<string, string> = {
      PORT: String(await freePort()),
      SUPABASE_API_PORT: String(await freePort()),
      SUPABASE_DB_PORT: String(await freePort()),
    };
    const squatter = await listenOn(Number(ports[setting]));
    try {
      const { code, output, started } = await devUntilExit(ports);
      expect(code).toBe(1);
      expect(output).toContain(`port ${ports[setting]} (${what}) is in use`);
      expect(output).toContain(`"${setting}=${Number(ports[setting]) + 10} npm run dev"`);
      expect(started).toEqual([]);
    } finally {
      squatter.close();
    }
  });

  it('stops at once with one sentence naming the cause and the fix when the local Supabase cannot start', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'tidings-dev-broken-'));
    try {
      // A file where the data folder should be.
      const notAFolder = join(parent, 'db');
      await writeFile(notAFolder, 'not a folder');
      const { code, output, started } = await devUntilExit({
        PORT: String(await freePort()),
        SUPABASE_API_PORT: String(await freePort()),
        SUPABASE_DB_PORT: String(await freePort()),
        SUPABASE_DATA_DIR: notAFolder,
      });
      expect(code).toBe(1);
      expect(output).toContain(
        `[supabase] The data folder ${notAFolder} cannot be created (EEXIST): choose another with SUPABASE_DATA_DIR.`,
      );
      expect(output).toMatch(/\[dev\] supabase exited \(code 1\); stopping the rest/);
      expect(output).not.toMatch(/^\s+at /m); // no stack trace
      expect(output).not.toContain('Tidings is running');
      expect(started.filter(isAlive)).toEqual([]);
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  }, 60_000);

  it('stops everything when `npm run dev` is sent SIGTERM, which npm and its shell do not pass on', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'tidings-dev-term-'));
    await chmod(parent, 0o755);
    const npm = spawn('npm', ['run', 'dev'], {
      cwd: root,
      env: {
        ...process.env,
        PORT: String(await freePort()),
        SUPABASE_API_PORT: String(await freePort()),
        SUPABASE_DB_PORT: String(await freePort()),
        SUPABASE_DATA_DIR: join(parent, 'db'),
        WEB_OUTDIR: join(parent, 'web'),
      },
    });
    let started: number[] = [];
    try {
      const [, url] = await waitForOutput(npm, /Tidings is running at (\S+)/, 90_000);
      started = descendantsOf(npm.pid!);
      expect(started.length).toBeGreaterThan(2);
      npm.kill('SIGTERM');
      await expect.poll(() => started.filter(isAlive), { timeout: 20_000 }).toEqual([]);
      await expect(fetch(`${url}/healthz`)).rejects.toMatchObject({ message: 'fetch failed', cause: { code: 'ECONNREFUSED' } });
    } finally {
      for (const pid of started.filter(isAlive)) process.kill(pid, 'SIGKILL');
      await rm(parent, { recursive: true, force: true });
    }
  }, 120_000);
});
