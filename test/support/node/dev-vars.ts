import { parseDevVarsFile } from '../../../supabase/local/dev-vars.ts';

/**
 * The documented development settings from .dev.vars.example, so tests run with exactly the
 * values a newcomer gets (and do not depend on a developer's own .dev.vars).
 */
export function readDevVars(path = new URL('../../../.dev.vars.example', import.meta.url)): Record<string, string> {
  const vars = parseDevVarsFile(path);
  if (!vars) throw new Error(`${path.pathname} is missing: the tests read the development settings from it`);
  return vars;
}
