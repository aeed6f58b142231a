import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';

const supabaseDir = fileURLToPath(new URL('..', import.meta.url));

/** What one call to applyMigrations did. */
export interface MigrationReport {
  applied: string[];
  seeded: boolean;
}

/**
 * Prepares the database the way a Supabase project is prepared, then applies
 * supabase/migrations/*.sql in version order, each in its own transaction, recording it in
 * supabase_migrations.schema_migrations as the Supabase CLI does (so re-running is a no-op), and
 * runs supabase/seed.sql once (recorded in supabase_migrations.seed_files, as the CLI does).
 */
export async function applyMigrations(
  client: pg.Client,
  options: { migrationsDir?: string; seedFile?: string | null } = {},
): Promise<MigrationReport> {
  const migrationsDir = options.migrationsDir ?? `${supabaseDir}migrations`;
  const seedFile = options.seedFile === undefined ? `${supabaseDir}seed.sql` : options.seedFile;
  // Two local stacks on one database must not migrate at the same time.
  await client.query(`select pg_advisory_lock(hashtext('tidings local supabase migrations'))`);
  try {
    await client.query(await readFile(new URL('./platform.sql', import.meta.url), 'utf8'));
    const { rows } = await client.query<{ version: string }>('select version from supabase_migrations.schema_migrations');
    const done = new Set(rows.map((row) => row.version));
    const applied: string[] = [];
    for (const file of (await readdir(migrationsDir)).filter((name) => name.endsWith('.sql')).sort()) {
      const match = /^(\d+)_(.*)\.sql$/.exec(file);
      if (!match) throw new Error(`Migration file name must be <version>_<name>.sql (e.g. 20261128020000_create_emails.sql): '${file}'`);
      const [, version, name] = match as unknown as [string, string, string];
      if (done.has(version)) continue;
      const sql = await readFile(`${migrationsDir}/${file}`, 'utf8');
      await inTransaction(client, async () => {
        try {
          await client.query(sql);
        } catch (error) {
          throw new Error(`Migration ${file} failed: ${(error as Error).message}`, { cause: error });
        }
        await client.query('insert into supabase_migrations.schema_migrations (version, name, statements) values ($1, $2, $3)', [
          version,
          name,
          splitStatements(sql),
        ]);
      });
      applied.push(file);
    }
    let seeded = false;
    if (seedFile) {
      const seedPath = 'supabase/seed.sql';
      const already = await client.query('select 1 from supabase_migrations.seed_files where path = $1', [seedPath]);
      if (already.rowCount === 0) {
        const sql = await readFile(seedFile, 'utf8');
        await inTransaction(client, async () => {
          await client.query(sql);
          await client.query('insert into supabase_migrations.seed_files (path, hash) values ($1, $2)', [
            seedPath,
            createHash('sha256').update(sql).digest('hex'),
          ]);
        });
        seeded = true;
      }
    }
    return { applied, seeded };
  } finally {
    await client.query(`select pg_advisory_unlock(hashtext('tidings local supabase migrations'))`);
  }
}

async function inTransaction(client: pg.Client, work: () => Promise<void>): Promise<void> {
  await client.query('begin');
  try {
    await work();
    await client.query('commit');
  } catch (error) {
    await client.query('rollback');
    throw error;
  }
}

/**
 * Splits a SQL file into statements the way the Supabase CLI stores them (one per array element):
 * on semicolons outside quotes, dollar quotes and comments.
 */
export function splitStatements(sql: string): string[] {
  const statements: string[] = [];
  let start = 0;
  let i = 0;
  while (i < sql.length) {
    const rest = sql.slice(i);
    if (rest.startsWith('--')) {
      const end = sql.indexOf('\n', i);
      i = end === -1 ? sql.length : end + 1;
    } else if (rest.startsWith('/*')) {
      const end = sql.indexOf('*/', i + 2);
      i = end === -1 ? sql.length : end + 2;
    } else if (sql[i] === "'" || sql[i] === '"') {
      const quote = sql[i]!;
      i++;
      while (i < sql.length) {
        if (sql[i] === quote && sql[i + 1] === quote) i += 2;
        else if (sql[i] === quote) break;
        else i++;
      }
      i++;
    } else if (sql[i] === '$') {
      const tag = /^\$[A-Za-z_]*\$/.exec(rest)?.[0];
      if (tag) {
        const end = sql.indexOf(tag, i + tag.length);
        i = end === -1 ? sql.length : end + tag.length;
      } else {
        i++;
      }
    } else if (sql[i] === ';') {
      const statement = sql.slice(start, i).trim();
      if (!onlyComments(statement)) statements.push(statement);
      start = i + 1;
      i++;
    } else {
      i++;
    }
  }
  const last = sql.slice(start).trim();
  if (!onlyComments(last)) statements.push(last);
  return statements;
}

function onlyComments(sql: string): boolean {
  return sql.split('\n').every((line) => line.trim() === '' || line.trim().startsWith('--'));
}
