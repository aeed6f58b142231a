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
