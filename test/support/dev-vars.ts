import { readFileSync } from 'node:fs';

/**
 * The documented development settings from .dev.vars.example, so tests run with exactly the
 * values a newcomer gets (and do not depend on a developer's own .dev.vars).
 */
export function readDevVars(path = new URL('../../.dev.vars.example', import.meta.url)): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const match = /^\s*([A-Z0-9_]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (match) vars[match[1]!] = match[2]!.replace(/^"(.*)"$/, '$1');
  }
  return vars;
}
