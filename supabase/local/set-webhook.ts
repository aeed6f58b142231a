// `npm run db:webhook`: stores the model observer's webhook URL and signing secret in a database:
// the local one by default, any other (a real Supabase project) with DATABASE_URL.
//
//   npm run db:webhook                                   local defaults (see below)
//   npm run db:webhook -- --url https://tidings.example.workers.dev/webhooks/db --secret "$DB_WEBHOOK_SECRET"
//   DATABASE_URL='postgresql://postgres:...@db.<ref>.supabase.co:5432/postgres' npm run db:webhook -- --url ... --vault
//   npm run db:webhook -- --show                         what is set (the secret is never printed)
//
// Defaults, as `npm run dev` moves them: DATABASE_URL or the local Postgres on SUPABASE_DB_PORT (54322);
// --url from DB_WEBHOOK_URL or the Worker on PORT (8787); --secret from DB_WEBHOOK_SECRET,
// else .dev.vars / .dev.vars.example. --vault stores both in Supabase Vault (encrypted at rest)
// instead of private.settings; the trigger reads Vault first.
import { parseArgs } from 'node:util';
import pg from 'pg';
import { localDatabaseUrl, localWebhookUrl, parseDevVarsFile, readDevVar } from './dev-vars.ts';
import { setWebhookSettings } from './index.ts';

const USAGE = 'usage: npm run db:webhook [-- --url <http(s) URL>] [--secret <secret>] [--vault] | [-- --show]';

let values: ReturnType<
  typeof parseArgs<{
    options: { url: { type: 'string' }; secret: { type: 'string' }; vault: { type: 'boolean' }; show: { type: 'boolean' } };
  }>
>['values'];
try {
  ({ values } = parseArgs({
    options: { url: { type: 'string' }, secret: { type: 'string' }, vault: { type: 'boolean' }, show: { type: 'boolean' } },
  }));
} catch (error) {
  // parseArgs's own message ("Unknown option '--ur'") is the useful part; its stack trace is not.
  console.error(`${(error as Error).message}\n${USAGE}`);
  process.exit(2);
}
const databaseUrl = localDatabaseUrl(process.env);
const url = values.url ?? localWebhookUrl(process.env);
const secret = values.secret ?? process.env.DB_WEBHOOK_SECRET ?? readDevVar('DB_WEBHOOK_SECRET');
// The development secret is public: a database that is not on this machine must not trust it.
const databaseHost = new URL(databaseUrl).hostname;
const developmentSecret = parseDevVarsFile(new URL('../../.dev.vars.example', import.meta.url))?.DB_WEBHOOK_SECRET;
if (!values.show && secret === developmentSecret && !['127.0.0.1', 'localhost', '::1', '[::1]'].includes(databaseHost)) {
  console.error(
    `Refusing to give ${databaseHost} the public development DB_WEBHOOK_SECRET from .dev.vars.example: pass --secret (or set DB_WEBHOOK_SECRET) with a secret of your own, the same one you give the Worker with "wrangler secret put DB_WEBHOOK_SECRET".`,
  );
  process.exit(2);
}
const client = new pg.Client({ connectionString: databaseUrl });
try {
  await client.connect();
} catch (error) {
  console.error(
    `Cannot connect to ${new URL(databaseUrl).host}: ${(error as Error).message}. Start the local Supabase (npm run dev), and pass the SUPABASE_DB_PORT it runs on, or set DATABASE_URL.`,
  );
  process.exit(1);
}

try {
  if (values.show) {
    const { rows } = await client.query<{ url: string | null; secret: string | null }>(
      `select private.webhook_setting('webhook_url') as url, private.webhook_setting('webhook_secret') as secret`,
    );
    console.log(`webhook URL:    ${rows[0]!.url ?? '(not set)'}`);
    console.log(`webhook secret: ${rows[0]!.secret ? `set (${rows[0]!.secret.length} characters)` : '(not set)'}`);
  } else {
    if (!/^https?:\/\//.test(url)) throw new Error(`--url must be an http(s) URL: '${url}'`);
    if (!secret) throw new Error('No secret: pass --secret, set DB_WEBHOOK_SECRET, or add it to .dev.vars');
    if (values.vault) {
      await client.query(
        `do $$ begin
           if to_regclass('vault.secrets') is null then
             raise exception 'Supabase Vault is not installed in this database (use private.settings: drop --vault)';
           end if;
         end $$`,
      );
      for (const [name, value] of [
        ['tidings_webhook_url', url],
        ['tidings_webhook_secret', secret],
      ] as const) {
        await client.query(
          `select case when exists (select 1 from vault.secrets where name = $2)
                    then (select vault.update_secret(id, $1) from vault.secrets where name = $2)::text
                    else vault.create_secret($1, $2)::text end`,
          [value, name],
        );
      }
    } else {
      await setWebhookSettings(client, url, secret);
    }
    console.log(
      `Webhook URL set to ${url}; secret set (${secret.length} characters) in ${values.vault ? 'Supabase Vault' : 'private.settings'} of ${new URL(databaseUrl).host}.`,
    );
  }
} catch (error) {
  console.error((error as Error).message);
  process.exitCode = 1;
} finally {
  await client.end();
}
