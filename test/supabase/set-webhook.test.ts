import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestSupabase, type TestSupabase } from '../support/node/local-supabase.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The environment without DB_WEBHOOK_SECRET, so the script falls back to the development one. */
function withoutWebhookSecret(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { DB_WEBHOOK_SECRET: _secret, ...rest } = env;
  return rest;
}

/** The environment without what would name the database or the Worker for the script. */
function withoutLocalSettings(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { DATABASE_URL: _database, DB_WEBHOOK_URL: _url, PORT: _port, SUPABASE_DB_PORT: _dbPort, ...rest } = withoutWebhookSecret(env);
  return rest;
}

describe('npm run db:webhook', () => {
  let supabase: TestSupabase | undefined;
  afterAll(async () => {
    await supabase?.destroy();
  });

  it('finds the local stack on the ports npm run dev was moved to (SUPABASE_DB_PORT, PORT)', async () => {
    supabase = await startTestSupabase();
    const env = { ...withoutLocalSettings(process.env), SUPABASE_DB_PORT: String(supabase.dbPort), PORT: '8797' };
    const run = (args: string[]) =>
      spawnSync(process.execPath, ['supabase/local/set-webhook.ts', ...args], { cwd: root, encoding: 'utf8', env });
    const set = run([]);
    expect(set.stderr).toBe('');
    expect(set.stdout).toContain(`Webhook URL set to http://127.0.0.1:8797/webhooks/db; secret set`);
    expect(set.stdout).toContain(`of 127.0.0.1:${supabase.dbPort}.`);
    expect(run(['--show']).stdout).toContain('webhook URL:    http://127.0.0.1:8797/webhooks/db');
  });

  it('answers a mistyped option with what is wrong and how to call it, not a stack trace', () => {
    // Fails before connecting, so no database is needed.
    const result = spawnSync(process.execPath, ['supabase/local/set-webhook.ts', '--ur', 'http://127.0.0.1:8787/webhooks/db'], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("Unknown option '--ur'");
    expect(result.stderr).toContain('usage: npm run db:webhook');
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });

  it('refuses to give a database elsewhere the public development secret, before connecting', () => {
    const result = spawnSync(
      process.execPath,
      ['supabase/local/set-webhook.ts', '--url', 'https://tidings.example.workers.dev/webhooks/db'],
      {
        cwd: root,
        encoding: 'utf8',
        env: { ...withoutWebhookSecret(process.env), DATABASE_URL: 'postgresql://postgres:pw@db.abcdefgh.supabase.co:5432/postgres' },
      },
    );
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('Refusing to give db.abcdefgh.supabase.co the public development DB_WEBHOOK_SECRET');
  });
});
