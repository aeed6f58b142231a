import type { IncomingMessage } from 'node:http';
import pg from 'pg';
import { HttpError, notSupported, parseJson, readBody } from './http.ts';
import type { SupabaseClaims } from './jwt.ts';

// A subset of PostgREST 12's grammar, executed so that Postgres enforces everything: each request
// is one transaction that does `set local role <the JWT's role>` and sets `request.jwt.claims`, so
// row level security and column privileges decide what is read and written. Identifiers come only
// from the catalog; values are always bind parameters.

/** Schemas the API serves (PostgREST's db-schemas). */
const EXPOSED_SCHEMAS = ['public'];
/** The roles a JWT may ask for (those the `authenticator` role is granted). */
const API_ROLES = new Set(['anon', 'authenticated', 'service_role']);
const SINGLE_OBJECT = 'application/vnd.pgrst.object+json';
const RESERVED_PARAMS = new Set(['select', 'order', 'limit', 'offset', 'on_conflict', 'columns']);
/**
 * How deep or=(...) and and=(...) may nest (`or=(a.eq.1,and(b.eq.2,or(...)))` is three levels).
 * PostgREST documents no limit; a filter a client builds needs a few, and each level is a
 * recursion here and a nesting level in Postgres's parser.
 */
export const MAX_LOGIC_DEPTH = 10;

interface Table {
  name: string;
  columns: Map<string, string>;
  primaryKey: string[];
}

interface Relationship {
  constraint: string;
  table: string;
  columns: string[];
  foreignTable: string;
  foreignColumns: string[];
}

/** A function of the exposed schema, as a call matches its arguments. */
interface DatabaseFunction {
  names: string[] | null;
  types: string[];
  defaults: number;
  returns_set: boolean;
}

interface Catalog {
  tables: Map<string, Table>;
  relationships: Relationship[];
}

type SelectItem =
  | { kind: 'star' }
  | { kind: 'column'; name: string; alias?: string }
  | { kind: 'embed'; target: string; alias?: string; hint?: string; items: SelectItem[] };

/** The outcome of one API request. */
export interface RestResult {
  status: number;
  body: string;
  headers: Record<string, string>;
}

function pgrstError(status: number, code: string, message: string, details: string | null = null, hint: string | null = null): HttpError {
  return new HttpError(status, { code, details, hint, message });
}

function quote(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

/** PostgREST's mapping from a Postgres error to an HTTP status. */
function statusForPostgresError(code: string, role: string): number {
  if (code === '42501') return role === 'anon' ? 401 : 403;
  if (code === '23503' || code === '23505') return 409;
  if (code === '23502' || code === '23514' || code === 'P0001') return 400;
  if (code === '42P01' || code === '42883') return 404;
  if (code === '25006') return 405;
  if (/^(08|53|54|55|57|58)/.test(code)) return 503;
  if (/^(09|25|2D|38|39|3B|40|F0|HV|P0|XX|42P17)/.test(code)) return 500;
  if (/^(0L|0P|28)/.test(code)) return 403;
  return 400;
}

/** Serves /rest/v1 from a pool whose connections may `set role` to the API roles. */
export class RestApi {
  private readonly pool: pg.Pool;
  private readonly catalogs = new Map<string, Catalog>();
  private readonly functions = new Map<string, DatabaseFunction[]>();

  constructor(pool: pg.Pool) {
    this.pool = pool;
  }

  /** Handles one request below /rest/v1 (`path` is what follows it). */
  async handle(request: IncomingMessage, path: string, url: URL, claims: SupabaseClaims): Promise<RestResult> {
    const method = request.method ?? 'GET';
    if (path === '' || path === '/') throw notSupported('The OpenAPI description (GET /rest/v1/)');
    if (path.startsWith('/rpc/')) return this.callFunction(request, path, claims);
    let tableName: string;
    try {
      tableName = decodeURIComponent(path.slice(1));
    } catch {
      throw pgrstError(
        400,
        'PGRST100',
        `Malformed percent-encoding in the request path '${path.slice(0, 200)}'`,
        null,
        "Encode a literal '%' as %25.",
      );
    }
    if (tableName.includes('/')) throw pgrstError(404, 'PGRST125', `Invalid path specified in request URL: ${path}`);

    const role = claims.role ?? 'anon';
    if (!API_ROLES.has(role)) throw pgrstError(401, 'PGRST301', `The JWT role "${role}" is not one of anon, authenticated, service_role`);
    const profileHeader = method === 'GET' || method === 'HEAD' ? request.headers['accept-profile'] : request.headers['content-profile'];
    const schema = typeof profileHeader === 'string' && profileHeader !== '' ? profileHeader : EXPOSED_SCHEMAS[0]!;
    if (!EXPOSED_SCHEMAS.includes(schema)) {
      throw pgrstError(
        406,
        'PGRST106',
        `Invalid schema: ${schema}`,
        null,
        `Only the following schemas are exposed: ${EXPOSED_SCHEMAS.join(', ')}`,
      );
    }
    const body = method === 'POST' || method === 'PATCH' || method === 'PUT' ? await readBody(request) : '';
    const catalog = await this.catalog(schema, tableName);
    const table = catalog.tables.get(tableName);
    if (!table) {
      throw pgrstError(404, 'PGRST205', `Could not find the table '${schema}.${tableName}' in the schema cache`);
    }
    const prefer = parsePrefer(request.headers.prefer);
    const single = String(request.headers.accept ?? '').includes(SINGLE_OBJECT);
    const query = new QueryBuilder(schema, catalog);

    let sql: string;
    let successStatus = 200;
    let returnBody = true;
    const select = url.searchParams.get('select') ?? '*';
    const items = parseSelect(select);
    switch (method) {
      case 'GET':
      case 'HEAD': {
        const where = query.filters(table, url.searchParams);
        const order = query.order(table, url.searchParams.get('order'));
        const limit = query.limitOffset(url.searchParams);
        const count = prefer.count ? `, (select count(*) from ${query.source(table)} as _t ${where}) as total` : '';
        // HEAD answers no body: only count the rows, as PostgREST does, instead of building their JSON.
        const body = method === 'HEAD' ? `''` : `coalesce(json_agg(_r), '[]')::text`;
        sql = `select ${body} as body, count(*) as rows${count}
               from (select ${query.columns(table, items, '_t')} from ${query.source(table)} as _t ${where} ${order} ${limit}) as _r`;
        returnBody = method === 'GET';
        break;
      }
      case 'POST': {
        const rows = insertRows(parseJson(body));
        const columns = insertColumns(table, rows, url.searchParams.get('columns'));
        const conflict = query.onConflict(table, prefer.resolution, url.searchParams.get('on_conflict'), columns);
        const param = query.param(JSON.stringify(rows));
        const insert =
          columns.length === 0
            ? `insert into ${query.source(table)} as _t default values returning _t.*`
            : `insert into ${query.source(table)} as _t (${columns.map(quote).join(', ')})
             select ${columns.map(quote).join(', ')} from json_populate_recordset(null::${query.source(table)}, ${param}::json)
             ${conflict} returning _t.*`;
        sql = this.mutation(query, table, items, insert);
        successStatus = 201;
        returnBody = prefer.return === 'representation';
        if (rows.length === 0) return { status: 201, body: returnBody ? '[]' : '', headers: { 'Content-Range': '*/*' } };
        break;
      }
      case 'PATCH': {
        const values = parseJson(body);
        if (values === null || typeof values !== 'object' || Array.isArray(values)) {
          throw pgrstError(400, 'PGRST102', 'A PATCH body must be a JSON object of the columns to change');
        }
        const columns = Object.keys(values);
        for (const column of columns) {
          if (!table.columns.has(column))
            throw pgrstError(400, 'PGRST204', `Could not find the '${column}' column of '${table.name}' in the schema cache`);
        }
        returnBody = prefer.return === 'representation';
        if (columns.length === 0) return { status: returnBody ? 200 : 204, body: returnBody ? '[]' : '', headers: {} };
        const where = query.filters(table, url.searchParams);
        const param = query.param(JSON.stringify(values));
        const update = `update ${query.source(table)} as _t set ${columns.map((c) => `${quote(c)} = _p.${quote(c)}`).join(', ')}
                        from json_populate_record(null::${query.source(table)}, ${param}::json) as _p ${where} returning _t.*`;
        sql = this.mutation(query, table, items, update);
        break;
      }
      case 'DELETE': {
        const where = query.filters(table, url.searchParams);
        sql = this.mutation(query, table, items, `delete from ${query.source(table)} as _t ${where} returning _t.*`);
        returnBody = prefer.return === 'representation';
        break;
      }
      case 'PUT':
        throw notSupported('PUT (single-row upsert)');
      default:
        throw pgrstError(405, 'PGRST117', `Unsupported HTTP method: ${method}`);
    }

    const result = await this.run(role, claims, method, path, async (client, rollback) => {
      const { rows } = await client.query<{ body: string; rows: string; total?: string }>(sql, query.params);
      const row = rows[0]!;
      const count = Number(row.rows);
      if (single && count !== 1) {
        await rollback();
        throw pgrstError(406, 'PGRST116', 'Cannot coerce the result to a single JSON object', `The result contains ${count} rows`);
      }
      return { body: row.body, count, total: row.total === undefined ? undefined : Number(row.total) };
    });

    const headers: Record<string, string> = {};
    if (typeof profileHeader === 'string') headers['Content-Profile'] = schema;
    if (method === 'GET' || method === 'HEAD') {
      const offset = Number(url.searchParams.get('offset') ?? 0);
      const range = result.count === 0 ? '*' : `${offset}-${offset + result.count - 1}`;
      headers['Content-Range'] = `${range}/${result.total ?? '*'}`;
    } else {
      headers['Content-Range'] = `*/${result.count}`;
    }
    if (!returnBody) {
      const status = method === 'POST' ? 201 : method === 'HEAD' ? 200 : 204;
      return { status, body: '', headers };
    }
    if (single) {
      headers['Content-Type'] = `${SINGLE_OBJECT}; charset=utf-8`;
      return { status: successStatus, body: result.body.slice(1, -1).trim(), headers };
    }
    return { status: successStatus, body: result.body, headers };
  }

  /**
   * `POST /rpc/{name}` with a JSON object of named arguments, as PostgREST calls a function: the
   * result as JSON (a scalar as itself, a set of rows as an array). Only POST, and only functions
   * of the exposed schema whose argument names match the body's keys; EXECUTE privileges decide
   * who may call.
   */
  private async callFunction(request: IncomingMessage, path: string, claims: SupabaseClaims): Promise<RestResult> {
    const role = claims.role ?? 'anon';
    if (!API_ROLES.has(role)) throw pgrstError(401, 'PGRST301', `The JWT role "${role}" is not one of anon, authenticated, service_role`);
    if (request.method !== 'POST') throw notSupported(`${request.method} on a function (only POST /rest/v1/rpc/{name})`);
    const schema = EXPOSED_SCHEMAS[0]!;
    const name = path.slice('/rpc/'.length);
    const args = parseJson(await readBody(request)) ?? {};
    if (typeof args !== 'object' || Array.isArray(args))
      throw pgrstError(400, 'PGRST102', 'A function call body must be a JSON object of named arguments');
    const given = Object.keys(args as object);
    const matching = (candidates: DatabaseFunction[]) =>
      candidates.find((fn) => {
        const names = (fn.names ?? []).slice(0, fn.types.length);
        const required = names.slice(0, names.length - fn.defaults);
        return given.every((key) => names.includes(key)) && required.every((key) => given.includes(key));
      });
    // A schema cache, as PostgREST keeps one: the catalog is read again only when nothing matches.
    let match = matching(this.functions.get(name) ?? []);
    if (!match) {
      const { rows } = await this.pool.query<DatabaseFunction>(
        `select p.proargnames as names, array(select format_type(t, null) from unnest(p.proargtypes) as t) as types,
                p.pronargdefaults as defaults, p.proretset as returns_set
         from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = $1 and p.proname = $2`,
        [schema, name],
      );
      this.functions.set(name, rows);
      match = matching(rows);
    }
    if (!match) {
      throw pgrstError(
        404,
        'PGRST202',
        `Could not find the function ${schema}.${name}(${given.join(', ')}) in the schema cache`,
        null,
        'The local Supabase calls functions of the public schema by their argument names.',
      );
    }
    const argumentList = given.map((key) => {
      const type = match.types[(match.names ?? []).indexOf(key)]!;
      const json = `${pg.escapeLiteral(JSON.stringify((args as Record<string, unknown>)[key]))}::jsonb`;
      // PostgREST's conversions: JSON for json/jsonb, an array from a JSON array, text otherwise.
      const value =
        type === 'jsonb' || type === 'json'
          ? `${json}::${type}`
          : type.endsWith('[]')
            ? `array(select jsonb_array_elements_text(${json}))::${type}`
            : `(${json} #>> '{}')::${type}`;
      return `${quote(key)} => ${value}`;
    });
    const call = `${quote(schema)}.${quote(name)}(${argumentList.join(', ')})`;
    const sql = match.returns_set
      ? `select coalesce(json_agg(_r), '[]')::text as body from ${call} as _r`
      : `select to_json(${call})::text as body`;
    // One statement with its arguments as literals: the whole transaction is one round trip.
    const rows = await this.run<Array<{ body: string | null }>>(role, claims, 'POST', path, sql);
    const body = rows[0]?.body ?? 'null';
    return { status: 200, body, headers: { 'Content-Type': 'application/json; charset=utf-8' } };
  }

  private mutation(query: QueryBuilder, table: Table, items: SelectItem[], statement: string): string {
    return `with _m as (${statement})
            select coalesce(json_agg(_r), '[]')::text as body, count(*) as rows
            from (select ${query.columns(table, items, '_t')} from _m as _t) as _r`;
  }

  /**
   * Runs work as the API role, with the JWT's claims visible to auth.uid() and friends. `work` is
   * either one SQL statement, sent with the transaction's setup and commit as one multi-statement
   * query (one round trip; its rows are the answer), or steps on the connection inside the
   * transaction, which may roll it back.
   */
  private async run<T>(
    role: string,
    claims: SupabaseClaims,
    method: string,
    path: string,
    work: string | ((client: pg.PoolClient, rollback: () => Promise<void>) => Promise<T>),
  ): Promise<T> {
    const client = await this.pool.connect();
    let finished = false;
    let released = false;
    const rollback = async () => {
      finished = true;
      await client.query('rollback');
    };
    try {
      // The role name is one of API_ROLES (checked above), never caller text; the other values
      // are escaped as literals.
      const literal = pg.escapeLiteral;
      const setup =
        `begin; set local role ${quote(role)}; ` +
        `select set_config('request.jwt.claims', ${literal(JSON.stringify(claims))}, true), ` +
        `set_config('request.method', ${literal(method)}, true), set_config('request.path', ${literal(path)}, true)`;
      if (typeof work === 'string') {
        const results = (await client.query(`${setup}; ${work}; commit`)) as unknown as pg.QueryResult[];
        finished = true;
        // The statement's result comes just before the commit's, however many the setup has.
        return results.at(-2)!.rows as T;
      }
      // One round trip for the transaction's setup, as every request pays it.
      await client.query(setup);
      const result = await work(client, rollback);
      if (!finished && (method === 'GET' || method === 'HEAD')) {
        // A read's result is final before its commit: answer now and end the transaction behind
        // the answer, saving every read a round trip.
        released = true;
        void client
          .query('commit')
          .catch(() => undefined)
          .finally(() => client.release());
      } else if (!finished) {
        await client.query('commit');
      }
      return result;
    } catch (error) {
      if (!finished) await client.query('rollback').catch(() => undefined);
      if (error instanceof HttpError) throw error;
      const pgError = error as pg.DatabaseError;
      if (typeof pgError.code === 'string') {
        throw new HttpError(statusForPostgresError(pgError.code, role), {
          code: pgError.code,
          details: pgError.detail ?? null,
          hint: pgError.hint ?? null,
          message: pgError.message,
        });
      }
      throw error;
    } finally {
      if (!released) client.release();
    }
  }

  /** The tables, columns and foreign keys of a schema, reloaded when a name is not found. */
  private async catalog(schema: string, wanted: string): Promise<Catalog> {
    const cached = this.catalogs.get(schema);
    if (cached?.tables.has(wanted)) return cached;
    const [tables, keys, relationships] = await Promise.all([
      this.pool.query<{ table: string; columns: { name: string; type: string }[] }>(
        `select c.relname as table, json_agg(json_build_object('name', a.attname, 'type', format_type(a.atttypid, a.atttypmod)) order by a.attnum) as columns
         from pg_class c join pg_namespace n on n.oid = c.relnamespace join pg_attribute a on a.attrelid = c.oid
         where n.nspname = $1 and c.relkind in ('r', 'v', 'm', 'p', 'f') and a.attnum > 0 and not a.attisdropped
         group by c.relname`,
        [schema],
      ),
      this.pool.query<{ table: string; columns: string[] }>(
        `select c.relname as table, array_agg(a.attname::text order by k.ord) as columns
         from pg_index i join pg_class c on c.oid = i.indrelid join pg_namespace n on n.oid = c.relnamespace
         cross join lateral unnest(i.indkey) with ordinality as k(attnum, ord)
         join pg_attribute a on a.attrelid = c.oid and a.attnum = k.attnum
         where i.indisprimary and n.nspname = $1 group by c.relname`,
        [schema],
      ),
      this.pool.query<Relationship>(
        `select con.conname::text as constraint, c.relname::text as table, fc.relname::text as "foreignTable",
           (select array_agg(a.attname::text order by k.ord) from unnest(con.conkey) with ordinality as k(attnum, ord)
              join pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.attnum) as columns,
           (select array_agg(a.attname::text order by k.ord) from unnest(con.confkey) with ordinality as k(attnum, ord)
              join pg_attribute a on a.attrelid = con.confrelid and a.attnum = k.attnum) as "foreignColumns"
         from pg_constraint con
         join pg_class c on c.oid = con.conrelid join pg_namespace n on n.oid = c.relnamespace
         join pg_class fc on fc.oid = con.confrelid join pg_namespace fn on fn.oid = fc.relnamespace
         where con.contype = 'f' and n.nspname = $1 and fn.nspname = $1`,
        [schema],
      ),
    ]);
    const primaryKeys = new Map(keys.rows.map((row) => [row.table, row.columns]));
    const catalog: Catalog = {
      tables: new Map(
        tables.rows.map((row) => [
          row.table,
          {
            name: row.table,
            columns: new Map(row.columns.map((column) => [column.name, column.type])),
            primaryKey: primaryKeys.get(row.table) ?? [],
          },
        ]),
      ),
      relationships: relationships.rows,
    };
    this.catalogs.set(schema, catalog);
    return catalog;
  }
}

/** Builds one statement: identifiers checked against the catalog, values as $n parameters. */
class QueryBuilder {
  readonly params: unknown[] = [];
  private readonly schema: string;
  private readonly catalog: Catalog;
  private aliases = 0;

  constructor(schema: string, catalog: Catalog) {
    this.schema = schema;
    this.catalog = catalog;
  }

  param(value: unknown): string {
    this.params.push(value);
    return `$${this.params.length}`;
  }

  source(table: Table): string {
    return `${quote(this.schema)}.${quote(table.name)}`;
  }

  column(table: Table, name: string): string {
    if (!table.columns.has(name)) throw pgrstError(400, '42703', `column ${table.name}.${name} does not exist`);
    return quote(name);
  }

  columns(table: Table, items: SelectItem[], alias: string): string {
    return items
      .map((item) => {
        if (item.kind === 'star') return `${alias}.*`;
        if (item.kind === 'column') {
          const column = `${alias}.${this.column(table, item.name)}`;
          return item.alias ? `${column} as ${quote(item.alias)}` : column;
        }
        return `${this.embed(table, item, alias)} as ${quote(item.alias ?? item.target)}`;
      })
      .join(', ');
  }

  /** A related row (many-to-one: an object or null) or rows (one-to-many: an array), as JSON. */
  private embed(table: Table, item: Extract<SelectItem, { kind: 'embed' }>, alias: string): string {
    const target = this.catalog.tables.get(item.target);
    if (!target)
      throw pgrstError(400, 'PGRST200', `Could not find a relationship between '${table.name}' and '${item.target}' in the schema cache`);
    const matches = (rel: Relationship) =>
      !item.hint || rel.constraint === item.hint || rel.columns.join(',') === item.hint || rel.foreignColumns.join(',') === item.hint;
    const manyToOne = this.catalog.relationships.filter(
      (rel) => rel.table === table.name && rel.foreignTable === target.name && matches(rel),
    );
    const oneToMany = this.catalog.relationships.filter(
      (rel) => rel.foreignTable === table.name && rel.table === target.name && matches(rel),
    );
    const candidates = [...manyToOne.map((rel) => ({ rel, toOne: true })), ...oneToMany.map((rel) => ({ rel, toOne: false }))];
    if (candidates.length === 0) {
      throw pgrstError(400, 'PGRST200', `Could not find a relationship between '${table.name}' and '${item.target}' in the schema cache`);
    }
    if (candidates.length > 1) {
      throw pgrstError(
        300,
        'PGRST201',
        `Could not embed because more than one relationship was found for '${table.name}' and '${item.target}'`,
        candidates.map(({ rel }) => rel.constraint).join(', '),
        `Try changing '${item.target}' to one of: ${candidates.map(({ rel }) => `'${item.target}!${rel.constraint}'`).join(', ')}`,
      );
    }
    const { rel, toOne } = candidates[0]!;
    const inner = `_e${++this.aliases}`;
    const join = toOne
      ? rel.columns.map((column, i) => `${inner}.${quote(rel.foreignColumns[i]!)} = ${alias}.${quote(column)}`)
      : rel.columns.map((column, i) => `${inner}.${quote(column)} = ${alias}.${quote(rel.foreignColumns[i]!)}`);
    const rows = `select ${this.columns(target, item.items, inner)} from ${this.source(target)} as ${inner} where ${join.join(' and ')}`;
    return toOne ? `(select to_json(_o) from (${rows}) as _o)` : `(select coalesce(json_agg(_o), '[]') from (${rows}) as _o)`;
  }

  filters(table: Table, params: URLSearchParams): string {
    const conditions: string[] = [];
    for (const [key, value] of params) {
      if (RESERVED_PARAMS.has(key)) continue;
      const logic = /^(not\.)?(or|and)$/.exec(key);
      if (logic) {
        if (!value.startsWith('(') || !value.endsWith(')'))
          throw pgrstError(400, 'PGRST100', `failed to parse logic tree (${value}): expected ${key}=(...)`);
        conditions.push(this.logicTree(table, logic[2] as 'or' | 'and', value.slice(1, -1), Boolean(logic[1]), 1));
        continue;
      }
      if (key.includes('.')) throw notSupported(`Filtering on an embedded resource ('${key}')`);
      conditions.push(this.condition(table, key, value));
    }
    return conditions.length ? `where ${conditions.join(' and ')}` : '';
  }

  /** `or=(a.eq.1,and(b.gt.2,c.is.null))`: PostgREST's logic trees, nested up to MAX_LOGIC_DEPTH levels. */
  private logicTree(table: Table, operator: 'or' | 'and', inner: string, negate: boolean, depth: number): string {
    if (depth > MAX_LOGIC_DEPTH) {
      throw pgrstError(
        400,
        'PGRST100',
        `failed to parse logic tree: or/and nested more than ${MAX_LOGIC_DEPTH} levels deep (the local Supabase's limit; PostgREST documents none)`,
        `At nesting level ${depth}: ${operator}(${inner.slice(0, 60)}${inner.length > 60 ? '…' : ''})`,
        'Flatten the filter: or(a,or(b,c)) is or(a,b,c), and an and() inside and() likewise.',
      );
    }
    const parts = splitTopLevel(inner, () =>
      pgrstError(400, 'PGRST100', `failed to parse logic tree (${operator}=(${inner.slice(0, 200)})): unbalanced parentheses or quotes`),
    );
    if (parts.length === 0) throw pgrstError(400, 'PGRST100', `failed to parse logic tree (${operator}=(${inner})): empty`);
    const conditions = parts.map((part) => {
      const nested = /^(not\.)?(or|and)\((.*)\)$/s.exec(part);
      if (nested) return this.logicTree(table, nested[2] as 'or' | 'and', nested[3]!, Boolean(nested[1]), depth + 1);
      const dot = part.indexOf('.');
      if (dot <= 0)
        throw pgrstError(400, 'PGRST100', `failed to parse logic tree (${operator}=(${inner})): '${part}' is not column.operator.value`);
      return this.condition(table, part.slice(0, dot), unquoteOperand(part.slice(dot + 1)));
    });
    const tree = `(${conditions.join(` ${operator} `)})`;
    return negate ? `not ${tree}` : tree;
  }

  private condition(table: Table, key: string, value: string): string {
    const column = `_t.${this.column(table, key)}`;
    let rest = value;
    let negate = false;
    if (rest.startsWith('not.')) {
      negate = true;
      rest = rest.slice(4);
    }
    const dot = rest.indexOf('.');
    const operator = dot === -1 ? rest : rest.slice(0, dot);
    const operand = dot === -1 ? '' : rest.slice(dot + 1);
    let condition: string;
    const comparisons: Record<string, string> = { eq: '=', neq: '<>', gt: '>', gte: '>=', lt: '<', lte: '<=' };
    if (dot !== -1 && comparisons[operator]) {
      condition = `${column} ${comparisons[operator]} ${this.param(operand)}`;
    } else if (dot !== -1 && (operator === 'like' || operator === 'ilike')) {
      condition = `${column}::text ${operator} ${this.param(operand.replaceAll('*', '%'))}`;
    } else if (dot !== -1 && operator === 'in') {
      condition = `${column} = any(${this.param(parseList(operand, value))})`;
    } else if (dot !== -1 && operator === 'is') {
      const literal = { null: 'null', not_null: 'not null', true: 'true', false: 'false', unknown: 'unknown' }[operand.toLowerCase()];
      if (!literal)
        throw pgrstError(400, 'PGRST100', `failed to parse filter (is.${operand}): expected null, not_null, true, false or unknown`);
      condition = `${column} is ${literal}`;
    } else {
      throw pgrstError(
        400,
        'PGRST100',
        `failed to parse filter (${value}): unknown or unsupported operator '${operator}' (supported: eq, neq, gt, gte, lt, lte, like, ilike, in, is, and not.)`,
      );
    }
    return negate ? `not (${condition})` : condition;
  }

  order(table: Table, order: string | null): string {
    if (!order) return '';
    const terms = order.split(',').map((term) => {
      const [name, ...modifiers] = term.trim().split('.');
      let sql = `_t.${this.column(table, name!)}`;
      for (const modifier of modifiers) {
        const keyword = { asc: 'asc', desc: 'desc', nullsfirst: 'nulls first', nullslast: 'nulls last' }[modifier];
        if (!keyword) throw pgrstError(400, 'PGRST100', `failed to parse order (${order}): unexpected '${modifier}'`);
        sql += ` ${keyword}`;
      }
      return sql;
    });
    return `order by ${terms.join(', ')}`;
  }

  limitOffset(params: URLSearchParams): string {
    let sql = '';
    for (const name of ['limit', 'offset'] as const) {
      const value = params.get(name);
      if (value === null) continue;
      if (!/^\d+$/.test(value)) throw pgrstError(400, 'PGRST100', `failed to parse ${name} (${value}): expected a non-negative integer`);
      sql += ` ${name} ${this.param(Number(value))}`;
    }
    return sql;
  }

  onConflict(table: Table, resolution: string | undefined, onConflict: string | null, columns: string[]): string {
    if (!resolution) return '';
    const target = onConflict ? onConflict.split(',').map((c) => c.trim()) : table.primaryKey;
    if (target.length === 0) throw pgrstError(400, 'PGRST100', `Upsert needs on_conflict: '${table.name}' has no primary key`);
    const conflict = `on conflict (${target.map((c) => this.column(table, c)).join(', ')})`;
    if (resolution === 'ignore-duplicates') return `${conflict} do nothing`;
    const updates = columns.filter((c) => !target.includes(c));
    if (updates.length === 0) return `${conflict} do nothing`;
    return `${conflict} do update set ${updates.map((c) => `${quote(c)} = excluded.${quote(c)}`).join(', ')}`;
  }
}

/** Splits on commas outside parentheses and double quotes; throws `unbalanced()` for a stray `(`, `)` or `"`. */
function splitTopLevel(text: string, unbalanced: () => Error): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '\\') i++;
    else if (char === '"') quoted = !quoted;
    else if (!quoted && char === '(') depth++;
    else if (!quoted && char === ')' && --depth < 0) throw unbalanced();
    else if (!quoted && depth === 0 && char === ',') {
      parts.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  if (depth !== 0 || quoted) throw unbalanced();
  parts.push(text.slice(start).trim());
  return parts.filter((part) => part !== '');
}

/** In a logic tree a value may be double-quoted to hold commas or parentheses: `subject.eq."a,b"`. */
function unquoteOperand(rest: string): string {
  const match = /^((?:not\.)?[a-z]+\.)"(.*)"$/s.exec(rest);
  return match ? `${match[1]}${match[2]!.replace(/\\(.)/g, '$1')}` : rest;
}

function parsePrefer(header: string | string[] | undefined): { return?: string; count?: string; resolution?: string } {
  const prefer: { return?: string; count?: string; resolution?: string } = {};
  for (const part of (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',')) {
    const [name, value] = part.trim().split('=');
    if (name === 'return' || name === 'count' || name === 'resolution') prefer[name] = value;
  }
  return prefer;
}

/** `in.(a,"b,c",d)` → ['a', 'b,c', 'd']. */
function parseList(operand: string, raw: string): string[] {
  if (!operand.startsWith('(') || !operand.endsWith(')')) {
    throw pgrstError(400, 'PGRST100', `failed to parse filter (${raw}): expected in.(value,...)`);
  }
  const values: string[] = [];
  const inner = operand.slice(1, -1);
  let i = 0;
  while (i <= inner.length && inner.length > 0) {
    if (inner[i] === '"') {
      let value = '';
      i++;
      while (i < inner.length && inner[i] !== '"') {
        if (inner[i] === '\\') i++;
        value += inner[i] ?? '';
        i++;
      }
      values.push(value);
      i += 2; // the closing quote and the comma
    } else {
      const end = inner.indexOf(',', i);
      values.push(inner.slice(i, end === -1 ? inner.length : end).trim());
      i = end === -1 ? inner.length + 1 : end + 1;
    }
  }
  return values;
}

/** PostgREST's `select` grammar: columns, `alias:column`, `*`, and embedded `[alias:]table[!hint](...)`. */
export function parseSelect(select: string): SelectItem[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < select.length; i++) {
    if (select[i] === '(') depth++;
    else if (select[i] === ')') depth--;
    else if (select[i] === ',' && depth === 0) {
      parts.push(select.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(select.slice(start));
  if (depth !== 0) throw pgrstError(400, 'PGRST100', `failed to parse select parameter (${select}): unbalanced parentheses`);
  return parts
    .map((raw) => raw.trim())
    .filter((part) => part !== '')
    .map((part): SelectItem => {
      if (part === '*') return { kind: 'star' };
      const embed = /^(?:([A-Za-z_][\w]*):)?([A-Za-z_][\w]*)((?:![\w]+)*)\((.*)\)$/s.exec(part);
      if (embed) {
        const hints = (embed[3] ?? '').split('!').filter((h) => h !== '' && h !== 'inner' && h !== 'left');
        return {
          kind: 'embed',
          target: embed[2]!,
          items: parseSelect(embed[4] === '' ? '*' : embed[4]!),
          ...(embed[1] ? { alias: embed[1] } : {}),
          ...(hints[0] ? { hint: hints[0] } : {}),
        };
      }
      const column = /^(?:([A-Za-z_][\w]*):)?([A-Za-z_][\w]*)$/.exec(part);
      if (!column)
        throw pgrstError(
          400,
          'PGRST100',
          `failed to parse select parameter (${select}): '${part}' is not supported by the local Supabase (columns, alias:column, * and embedded resources are)`,
        );
      return { kind: 'column', name: column[2]!, ...(column[1] ? { alias: column[1] } : {}) };
    });
}

function insertRows(body: unknown): Record<string, unknown>[] {
  const rows = Array.isArray(body) ? body : [body];
  for (const row of rows) {
    if (row === null || typeof row !== 'object' || Array.isArray(row)) {
      throw pgrstError(400, 'PGRST102', 'An insert body must be a JSON object or an array of objects');
    }
  }
  return rows as Record<string, unknown>[];
}

function insertColumns(table: Table, rows: Record<string, unknown>[], columnsParam: string | null): string[] {
  // supabase-js sends bulk inserts with `columns="a","b"`: PostgREST accepts quoted names.
  const columns = columnsParam ? columnsParam.split(',').map((c) => c.trim().replace(/^"(.*)"$/, '$1')) : Object.keys(rows[0] ?? {});
  if (!columnsParam) {
    const expected = [...columns].sort().join(',');
    if (rows.some((row) => Object.keys(row).sort().join(',') !== expected)) {
      throw pgrstError(400, 'PGRST102', 'All object keys must match');
    }
  }
  for (const column of columns) {
    if (!table.columns.has(column))
      throw pgrstError(400, 'PGRST204', `Could not find the '${column}' column of '${table.name}' in the schema cache`);
  }
  return columns;
}
