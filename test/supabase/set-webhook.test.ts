import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The environment without DB_WEBHOOK_SECRET, so the script falls back to the development one. */
function withoutWebhookSecret(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { DB_WEBHOOK_SECRET: _secret, ...rest } = env;
  return rest;
}

describe('npm run db:webhook', () => {
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
