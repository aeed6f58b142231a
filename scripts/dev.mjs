// `npm run dev`: the whole stack on this machine, offline, with no accounts.
// Starts the local Supabase (supabase/local/main.ts: Postgres on 54322, API on 54321) and the Worker
// under `wrangler dev` (workerd; wrangler.toml's [build] builds the web client into .tidings/web-dev,
// or WEB_OUTDIR, and rebuilds it on change), prints the URL once it answers, and on Ctrl-C (SIGINT)
// or SIGTERM, or when the process that started it ends, stops every process it started.
// PORT (default 8787) and HOST (default 127.0.0.1) choose where the Worker listens;
// SUPABASE_API_PORT, SUPABASE_DB_PORT, SUPABASE_DATA_DIR and DATABASE_URL the local Supabase's.
// A port already taken stops it before anything starts, with the setting that moves it.
// wrangler dev never fires Cron Triggers by itself, so this runs the Worker's scheduled handler
// (redelivery) every CRON_INTERVAL_SECONDS (default 60, like the deployed `* * * * *`; 0 = never).
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { ensureDevVars } from './dev-vars.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const host = process.env.HOST ?? '127.0.0.1';
const port = Number(process.env.PORT ?? 8787);
const url = `http://${host}:${port}`;
const cronIntervalSeconds = Number(process.env.CRON_INTERVAL_SECONDS ?? 60);
const supabaseApiPort = Number(process.env.SUPABASE_API_PORT ?? 54321);
const supabaseDbPort = Number(process.env.SUPABASE_DB_PORT ?? 54322);
const supabaseUrl = `http://127.0.0.1:${supabaseApiPort}`;
// The web client is built into, and served from, a folder of its own: `npm test`, `npm run build`
// and `wrangler deploy` build web/dist, which a running dev server would not notice (it served 404
// for their new chunks), and a rebuild here must not change what the tests serve either.
const webDir = process.env.WEB_OUTDIR ?? `${root}.tidings/web-dev`;
const children = [];
/** Node runs our .ts files itself; the flag is needed before 22.18 and harmless after. */
const STRIP_TYPES = '--experimental-strip-types';
let stopping = false;

/** wrangler waits on network look-ups at start unless told it is offline; its [build] builds into webDir. */
const offlineEnv = { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', WEB_OUTDIR: webDir };

function log(message) {
  console.log(`[dev] ${message}`);
}

/** Starts a child in its own process group, so stopping it also stops whatever it spawned. */
function start(name, command, args) {
  const child = spawn(command, args, { cwd: root, env: offlineEnv, stdio: 'inherit', detached: true });
  children.push({ name, child });
  child.on('exit', (code, signal) => {
    if (!stopping) {
      log(`${name} exited (${signal ?? `code ${code}`}); stopping the rest`);
      void stop(code === 0 ? 1 : (code ?? 1));
    }
  });
  return child;
}

function exited(child) {
  return child.exitCode !== null || child.signalCode !== null;
}

async function stop(exitCode = 0) {
  if (stopping) return;
  stopping = true;
  log('stopping…');
  for (const { child } of children) {
    if (!exited(child)) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
    }
  }
  const deadline = Date.now() + 5000;
  while (children.some(({ child }) => !exited(child)) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  for (const { child } of children) {
    // The group may outlive its leader (workerd under wrangler); make sure nothing is left.
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  log('stopped');
  process.exit(exitCode);
}

async function waitUntilHealthy(healthUrl = `${url}/healthz`, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !stopping) {
    try {
      const response = await fetch(healthUrl);
      if (response.ok) return true;
    } catch {
      /* not up yet */
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return false;
}

function portIsFree(portToCheck, hostToCheck) {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', (error) => resolve(error.code !== 'EADDRINUSE'));
    probe.listen(portToCheck, hostToCheck, () => probe.close(() => resolve(true)));
  });
}

/** Stops before starting anything when a port the stack needs is taken, naming it and the setting that moves it. */
async function refuseBusyPorts() {
  const needed = [
    { port, host, what: 'the Worker', setting: 'PORT' },
    { port: supabaseApiPort, host: '127.0.0.1', what: "the local Supabase's API", setting: 'SUPABASE_API_PORT' },
    // DATABASE_URL: an existing Postgres, none started here.
    ...(process.env.DATABASE_URL
      ? []
      : [{ port: supabaseDbPort, host: '127.0.0.1', what: "the local Supabase's Postgres", setting: 'SUPABASE_DB_PORT' }]),
  ];
  for (const need of needed) {
    if (!(await portIsFree(need.port, need.host))) {
      log(
        `port ${need.port} (${need.what}) is in use: stop what listens there (another "npm run dev"?), ` +
          `or pick another port, e.g. "${need.setting}=${need.port + 10} npm run dev".`,
      );
      process.exit(1);
    }
  }
}

process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
// A SIGTERM to `npm run dev` ends npm and its shell, which do not pass it on (an editor's stop
// button, a process manager); once whoever started this process is gone, stop too.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) void stop(0);
}, 500).unref();

await refuseBusyPorts();
if (await ensureDevVars()) log('created .dev.vars from .dev.vars.example (public development values)');
// The database first: the Worker talks to it, and it sends its webhooks to the Worker.
start('supabase', process.execPath, [STRIP_TYPES, `${root}supabase/local/main.ts`]);
if (!(await waitUntilHealthy(`${supabaseUrl}/auth/v1/.well-known/jwks.json`))) {
  if (!stopping) {
    log(`the local Supabase did not answer ${supabaseUrl} within 60 s`);
    await stop(1);
  }
  await new Promise(() => {}); // stop() ends the process
}
start('worker', process.execPath, [
  `${root}node_modules/wrangler/bin/wrangler.js`,
  'dev',
  '--ip',
  host,
  '--port',
  String(port),
  '--show-interactive-dev-session=false',
  '--test-scheduled',
  '--assets',
  webDir,
  // wrangler.toml's SUPABASE_URL names the default port.
  ...(supabaseUrl === 'http://127.0.0.1:54321' ? [] : ['--var', `SUPABASE_URL:${supabaseUrl}`]),
]);

/** Fires the scheduled handler as the deployed cron would, through wrangler's --test-scheduled route. */
function runCronTriggerPeriodically() {
  let announced = false;
  const timer = setInterval(async () => {
    try {
      const response = await fetch(`${url}/__scheduled?cron=${encodeURIComponent('* * * * *')}`);
      if (!response.ok) log(`the Cron Trigger answered ${response.status}`);
      else if (!announced) {
        announced = true;
        log(`the Cron Trigger (redelivery) runs every ${cronIntervalSeconds} s`);
      }
    } catch (error) {
      if (!stopping) log(`the Cron Trigger could not run: ${error.message}`);
    }
  }, cronIntervalSeconds * 1000);
  timer.unref();
}

if (await waitUntilHealthy()) {
  log(`Tidings is running at ${url} (Ctrl-C to stop)`);
  if (cronIntervalSeconds > 0) runCronTriggerPeriodically();
} else if (!stopping) {
  log(`the Worker did not answer ${url}/healthz within 60 s`);
  await stop(1);
}
