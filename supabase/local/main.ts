// `node supabase/local/main.ts`: the offline local Supabase for `npm run dev`, like `supabase start`.
// Prints the URLs and (public, development) keys like `supabase status`, and stops cleanly on
// Ctrl-C or SIGTERM. Settings (all optional):
//   SUPABASE_API_PORT (54321)  SUPABASE_DB_PORT (54322)  SUPABASE_DATA_DIR (.tidings/db)
//   DATABASE_URL               use this Postgres instead of starting one
//   DB_WEBHOOK_URL             default http://127.0.0.1:${PORT:-8787}/webhooks/db (the Worker)
//   DB_WEBHOOK_SECRET          default: DB_WEBHOOK_SECRET from .dev.vars, else .dev.vars.example
//   SUPABASE_CORS_ORIGINS      more browser origins the API answers (comma-separated) besides the
//                              Worker's: http://127.0.0.1:${PORT:-8787}, http://localhost:${PORT:-8787}
//                              and http://${HOST}:${PORT}, as scripts/dev.mjs starts it

import { devOrigins } from './cors.ts';
import { localWebhookUrl, readDevVar } from './dev-vars.ts';
import { startLocalSupabase } from './index.ts';

const root = new URL('../../', import.meta.url);
const verbose = process.env.SUPABASE_LOG === 'debug';

const webhookUrl = localWebhookUrl(process.env);
const webhookSecret = process.env.DB_WEBHOOK_SECRET ?? readDevVar('DB_WEBHOOK_SECRET');
let allowedOrigins: string[];
try {
  allowedOrigins = devOrigins(process.env);
} catch (error) {
  console.error(`[supabase] SUPABASE_CORS_ORIGINS: ${(error as Error).message}`);
  process.exit(1);
}

const supabase = await startLocalSupabase({
  dataDir: process.env.SUPABASE_DATA_DIR ?? new URL('.tidings/db', root).pathname,
  dbPort: Number(process.env.SUPABASE_DB_PORT ?? 54322),
  apiPort: Number(process.env.SUPABASE_API_PORT ?? 54321),
  ...(process.env.DATABASE_URL ? { databaseUrl: process.env.DATABASE_URL } : {}),
  webhookUrl,
  ...(webhookSecret ? { webhookSecret } : {}),
  allowedOrigins,
  log: (line) => {
    // Client errors (RLS refusals, bad input) reach the caller already; print only what needs a human.
    if (verbose || (/\b(FATAL|PANIC)\b|pg_net worker|api:/.test(line) && !line.includes('due to administrator command')))
      console.error(`[supabase] ${line}`);
  },
}).catch((error: unknown) => {
  console.error(`[supabase] ${(error as Error).message}`);
  process.exit(1);
});

for (const file of supabase.migrations.applied) console.log(`[supabase] applied migration ${file}`);
if (supabase.migrations.seeded) console.log('[supabase] seeded supabase/seed.sql (admin@, ada@, grace@tidings.local / password123)');
console.log(`Local Supabase started (public development keys, like \`supabase start\`):

         API URL: ${supabase.apiUrl}
            JWKS: ${supabase.apiUrl}/auth/v1/.well-known/jwks.json
          DB URL: ${supabase.databaseUrl}
         DB data: ${supabase.postgresDataDir ?? '(DATABASE_URL: not managed here)'}
     Webhook URL: ${webhookSecret ? webhookUrl : '(not set: no DB_WEBHOOK_SECRET in the environment or .dev.vars)'}
    CORS origins: ${supabase.allowedOrigins().join(', ')}
      JWT secret: ${supabase.jwtSecret}
        anon key: ${supabase.anonKey}
service_role key: ${supabase.serviceRoleKey}
`);

let stopping = false;
async function shutdown(): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log('[supabase] stopping…');
  await supabase.stop();
  console.log('[supabase] stopped');
  process.exit(0);
}
process.on('SIGINT', () => void shutdown());
process.on('SIGTERM', () => void shutdown());
