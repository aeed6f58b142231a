// The local settings file: `wrangler dev` reads secrets from .dev.vars, which git ignores, so a fresh
// clone has none. This copies the committed .dev.vars.example (public development values) to
// .dev.vars when there is none, and never touches one that exists.
// `npm run dev` calls it before starting wrangler; wrangler.toml's [build] runs this file before
// every build, and under `wrangler dev` (WRANGLER_COMMAND=dev) it copies then, before wrangler reads
// .dev.vars: so a plain `npx wrangler dev` on a fresh clone has its settings too. A deploy never
// creates it.
import { constants } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Creates .dev.vars from .dev.vars.example unless it exists; true when it did. */
export async function ensureDevVars() {
  try {
    await copyFile(`${root}.dev.vars.example`, `${root}.dev.vars`, constants.COPYFILE_EXCL);
  } catch (error) {
    if (error.code === 'EEXIST') return false;
    throw error;
  }
  return true;
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.env.WRANGLER_COMMAND === 'dev' && (await ensureDevVars())) {
  console.log('dev-vars: created .dev.vars from .dev.vars.example (public development values)');
}
