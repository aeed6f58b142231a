import { readFileSync } from 'node:fs';

const root = new URL('../../', import.meta.url);

/**
 * The settings in a .dev.vars-style file (`NAME=value` lines, optional double quotes, later lines
 * win as in wrangler), or undefined when there is no such file.
 */
export function parseDevVarsFile(file: URL): Record<string, string> | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const vars: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^\s*([A-Z0-9_]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (match) vars[match[1]!] = match[2]!.replace(/^"(.*)"$/, '$1');
  }
  return vars;
}

/**
 * A setting from .dev.vars (the developer's), else .dev.vars.example (the public development
 * values), so the database signs webhooks with the same DB_WEBHOOK_SECRET the Worker checks.
 */
export function readDevVar(name: string): string | undefined {
  for (const file of ['.dev.vars', '.dev.vars.example']) {
    const vars = parseDevVarsFile(new URL(file, root));
    if (vars && name in vars) return vars[name];
  }
  return undefined;
}

/** The settings `npm run dev` takes to move the local stack (scripts/dev.mjs passes them on). */
type LocalPorts = {
  DATABASE_URL?: string | undefined;
  SUPABASE_DB_PORT?: string | undefined;
  DB_WEBHOOK_URL?: string | undefined;
  PORT?: string | undefined;
};

/** The local Supabase's Postgres: DATABASE_URL, else the one started on SUPABASE_DB_PORT (54322). */
export function localDatabaseUrl(env: LocalPorts): string {
  return env.DATABASE_URL ?? `postgresql://postgres:postgres@127.0.0.1:${env.SUPABASE_DB_PORT || 54322}/postgres`;
}

/** Where the database sends its webhooks: DB_WEBHOOK_URL, else the Worker on PORT (8787). */
export function localWebhookUrl(env: LocalPorts): string {
  return env.DB_WEBHOOK_URL ?? `http://127.0.0.1:${env.PORT || 8787}/webhooks/db`;
}
