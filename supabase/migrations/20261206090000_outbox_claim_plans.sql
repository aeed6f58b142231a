-- Faster claims, same behaviour: the statements of a claim are planned once per connection instead
-- of on every call. A claim ran in about 0.7 ms of which half was planning: the row read was
-- dynamic SQL (EXECUTE plans it anew each time), and the SQL-language claim functions and
-- tidings.lock_rows were planned on each call too (Postgres 17 caches no plans of SQL functions).
--
-- - Each observed table gets a reader, tidings."rows of <table>"(tidings.outbox[]) (see
--   tidings.reader_name for long table names), written by
--   tidings.observe with the table's read_from, key column and key type as static SQL in PL/pgSQL,
--   whose plan the connection keeps. tidings.with_rows calls the readers of the claimed entries'
--   tables. A reader names read_from by name: after renaming that view or table, call
--   tidings.observe again (a view replaced under the same name is picked up by itself).
-- - The claim functions and tidings.lock_rows become PL/pgSQL with the same statements.

-- The name of an observed table's reader: "rows of public.emails", or "rows <md5 of the name>" when
-- that would pass Postgres's 63-byte limit on names (which would cut it, and two long names could
-- end alike).
create function tidings.reader_name(target regclass)
returns text
language sql
stable
set search_path = ''
as $$
  select case when octet_length('rows of ' || target::text) <= 63 then 'rows of ' || target::text else 'rows ' || md5(target::text) end;
$$;

-- Writes (or rewrites) the reader of an observed table and returns its name.
create function tidings.write_reader(target regclass, read_from regclass, key_column name, key_type text)
returns text
language plpgsql
set search_path = ''
as $$
declare
  reader text := format('tidings.%I', tidings.reader_name(target));
begin
  -- Identifiers and the key's type come from the catalog (tidings.observe), never from a caller.
  execute format(
    $f$
    create or replace function %s(claimed tidings.outbox[])
    returns jsonb
    language plpgsql
    stable
    set search_path = ''
    as $reader$
    begin
      return (
        select coalesce(jsonb_object_agg(e.id::text, to_jsonb(r)), '{}')
        from unnest(claimed) as e
        join %s as r on r.%I = e.row_id::%s
        where e.table_name = %L and e.operation <> 'DELETE'
      );
    end;
    $reader$
    $f$,
    reader, read_from, key_column, key_type, target::text
  );
  execute format('revoke all on function %s(tidings.outbox[]) from public, anon, authenticated, service_role', reader);
  execute format(
    'comment on function %s(tidings.outbox[]) is %L',
    reader,
    format('The rows of %s that claimed outbox entries name, read from %s, by entry id (written by tidings.observe).', target, read_from)
  );
  return reader;
end;
$$;

comment on function tidings.write_reader(regclass, regclass, name, text) is 'Writes the reader of an observed table, tidings."rows of <table>", with static SQL whose plan each connection keeps.';

create or replace function tidings.observe(
  target regclass,
  broadcast_columns text[] default null,
  read_from regclass default null,
  kept_on_delete text[] default null
)
returns void
language plpgsql
set search_path = ''
as $$
declare
  key_columns text[];
  key_type text;
  unknown_column text;
begin
  select array_agg(a.attname::text order by k.ord), min(format_type(a.atttypid, a.atttypmod))
  into key_columns, key_type
  from pg_index i
  cross join lateral unnest(i.indkey) with ordinality as k(attnum, ord)
  join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
  where i.indrelid = target and i.indisprimary;
  if key_columns is null or cardinality(key_columns) <> 1 then
    raise exception 'tidings.observe(%): the table needs a primary key of one column', target;
  end if;
  select c into unknown_column
  from unnest(coalesce(broadcast_columns, '{}') || coalesce(kept_on_delete, '{}')) as c
  where not exists (select 1 from pg_attribute a where a.attrelid = target and a.attname = c and a.attnum > 0 and not a.attisdropped)
  limit 1;
  if unknown_column is not null then
    raise exception 'tidings.observe(%): % has no column "%"', target, target, unknown_column;
  end if;

  insert into tidings.observed_tables (table_name, key_column, key_type, broadcast_columns, read_from, kept_on_delete)
  values (target, key_columns[1], key_type, broadcast_columns, coalesce(read_from, target), kept_on_delete)
  on conflict (table_name) do update
    set key_column = excluded.key_column, key_type = excluded.key_type, broadcast_columns = excluded.broadcast_columns,
        read_from = excluded.read_from, kept_on_delete = excluded.kept_on_delete;
  perform tidings.write_reader(target, coalesce(read_from, target), key_columns[1], key_type);

  -- Transition tables cannot go with a column list (`update of ...`): the function filters instead.
  execute format('drop trigger if exists tidings_observe_inserts on %s', target);
  execute format('drop trigger if exists tidings_observe_updates on %s', target);
  execute format('drop trigger if exists tidings_observe_deletes on %s', target);
  execute format('create trigger tidings_observe_inserts after insert on %s referencing new table as new_rows for each statement execute function tidings.record_changes()', target);
  execute format('create trigger tidings_observe_updates after update on %s referencing old table as old_rows new table as new_rows for each statement execute function tidings.record_changes()', target);
  execute format('create trigger tidings_observe_deletes after delete on %s referencing old table as old_rows for each statement execute function tidings.record_changes()', target);
end;
$$;

create or replace function tidings.unobserve(target regclass)
returns void
language plpgsql
set search_path = ''
as $$
begin
  execute format('drop trigger if exists tidings_observe_inserts on %s', target);
  execute format('drop trigger if exists tidings_observe_updates on %s', target);
  execute format('drop trigger if exists tidings_observe_deletes on %s', target);
  execute format('drop function if exists tidings.%I(tidings.outbox[])', tidings.reader_name(target));
  delete from tidings.observed_tables where table_name = target;
end;
$$;

-- The tables observed already get their readers.
select tidings.write_reader(o.table_name, o.read_from, o.key_column, o.key_type) from tidings.observed_tables o;

-- The claimed entries with their rows, by id: each observed table's rows through its reader; a
-- DELETE entry carries the row as it was.
create or replace function tidings.with_rows(claimed tidings.outbox[])
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
  observed regclass;
  rows_by_entry jsonb := '{}';
  found_rows jsonb;
begin
  for observed in
    select o.table_name from tidings.observed_tables o
    where o.table_name::text in (select e.table_name from unnest(claimed) as e where e.operation <> 'DELETE')
  loop
    execute format('select tidings.%I($1)', tidings.reader_name(observed)) into found_rows using claimed;
    rows_by_entry := rows_by_entry || found_rows;
  end loop;
  return coalesce(
    (select jsonb_agg(
        jsonb_build_object(
          'id', e.id, 'table_name', e.table_name, 'operation', e.operation, 'row_id', e.row_id,
          'changed_columns', e.changed_columns, 'created_at', e.created_at, 'attempts', e.attempts,
          'record', case when e.operation = 'DELETE' then e.old_record else rows_by_entry -> e.id::text end
        ) order by e.id)
     from unnest(claimed) as e),
    '[]'
  );
end;
$$;

create or replace function tidings.lock_rows(entry_ids bigint[])
returns void
language plpgsql
set search_path = ''
as $$
begin
  perform pg_advisory_xact_lock(k.key)
  from (
    select distinct hashtextextended(o.table_name || ':' || o.row_id, 0) as key
    from tidings.outbox o where o.id = any(entry_ids)
  ) as k
  order by k.key;
end;
$$;

create or replace function public.tidings_claim_outbox(outbox_ids bigint[], lease_seconds integer default 60, max_attempts integer default 10)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
begin
  return tidings.claim_entries(
    array(
      select distinct w.id
      from tidings.outbox n
      cross join lateral (
        select n.id
        union
        select earlier.id from tidings.outbox earlier
        where earlier.table_name = n.table_name and earlier.row_id = n.row_id and earlier.id < n.id
          and earlier.delivered_at is null and earlier.failed_at is null
      ) as w
      where n.id = any(outbox_ids) and n.delivered_at is null and n.failed_at is null
    ),
    lease_seconds,
    max_attempts
  );
end;
$$;

create or replace function public.tidings_claim_due(grace_seconds integer, max_entries integer, lease_seconds integer default 60, max_attempts integer default 10)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
begin
  return tidings.claim_entries(
    array(
      select o.id from tidings.outbox o
      where o.delivered_at is null and o.failed_at is null
        and (o.claimed_until is null or o.claimed_until < clock_timestamp())
        and o.created_at < clock_timestamp() - make_interval(secs => grace_seconds)
      order by o.id
      limit max_entries
    ),
    lease_seconds,
    max_attempts
  );
end;
$$;

revoke all on function tidings.reader_name(regclass), tidings.write_reader(regclass, regclass, name, text)
  from public, anon, authenticated, service_role;
