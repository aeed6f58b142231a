import { readFileSync } from 'node:fs';

const root = new URL('../../', import.meta.url);

/**
 * A setting from .dev.vars (the developer's), else .dev.vars.example (the public development
 * values), so the database signs webhooks with the same DB_WEBHOOK_SECRET the Worker checks.
 */
export function readDevVar(name: string): string | undefined {
  for (const file of ['.dev.vars', '.dev.vars.example']) {
    let text: string;
    try {
      text = readFileSync(new URL(file, root), 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      const match = /^\s*([A-Z0-9_]+)\s*=\s*(.*?)\s*$/.exec(line);
      if (match?.[1] === name) return match[2]!.replace(/^"(.*)"$/, '$1');
    }
  }
  return undefined;
}
