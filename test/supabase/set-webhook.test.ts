import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

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
});
