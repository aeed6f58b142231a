-- The model observer, made general and at-least-once: an outbox of every change of every observed
-- table, written by triggers in the same transaction as the change.
--
-- `select tidings.observe('public.announcements');` attaches the observer to a table (idempotent,
-- safe in a migration). Then every INSERT, DELETE and UPDATE statement on it writes one
-- tidings.outbox entry per changed row, and queues one signed webhook per 100 entries:
--
--   POST <webhook_url>   (headers and signature as before: X-Tidings-Timestamp, X-Tidings-Signature)
--   {"type": "UPDATE", "table": "emails", "schema": "public", "outbox_ids": [41, 42, ...]}
--
-- The webhook names entries, never data: the Worker claims the entries and reads the rows they name
-- from the database (public.tidings_claim_outbox), so whoever holds the webhook secret can ask for
-- a change to be published again, but cannot make up its content. An UPDATE that changes none of
-- the table's broadcast columns (e.g. read_at set to its current value) writes nothing.
--
-- pg_net sends each webhook at most once; the redelivery cron claims whatever is still undelivered
-- after a grace period, oldest first (public.tidings_claim_due). Entries are claimed with a lease
-- (claimed_until) in one UPDATE, so the webhook and the cron never hold one entry at the same time.
-- An entry whose event cannot be built, or that failed max_attempts times, is marked failed with its
-- reason and stops blocking the rest; `select tidings.replay(array[<id>])` queues it again.
-- Delivered entries are deleted after a retention period by the cron (public.tidings_record_cron_run).
--
-- public.emails moves to the outbox: its delivered_at and delivery_attempts columns are replaced by
-- outbox entries (each undelivered email becomes an INSERT entry with its attempt count), and its
-- hand-written triggers are dropped. docs/observer.md describes all of it for operators.

create schema tidings;

comment on schema tidings is 'Tidings'' model observer: observed tables, the outbox and cron runs. Not exposed through the API.';

revoke all on schema tidings from public;

create table tidings.observed_tables (
  table_name regclass primary key,
  key_column name not null,
  key_type text not null,
  broadcast_columns text[],
  read_from regclass not null,
  kept_on_delete text[],
  observed_at timestamptz not null default now()
);

comment on table tidings.observed_tables is 'Tables attached with tidings.observe(): their primary key, the columns whose change is broadcast (null: all), where delivery reads a row (a view may add joined columns), and the columns an outbox entry keeps of a deleted row (null: all).';

create table tidings.outbox (
  id bigint generated always as identity primary key,
  table_name text not null,
  operation text not null check (operation in ('INSERT', 'UPDATE', 'DELETE')),
  row_id text not null,
  changed_columns text[],
  old_record jsonb,
  created_at timestamptz not null default clock_timestamp(),
  attempts integer not null default 0,
  claimed_until timestamptz,
  last_error text,
  delivered_at timestamptz,
  failed_at timestamptz,
  failure_reason text
);

comment on table tidings.outbox is 'One entry per changed row of an observed table, written in the change''s transaction; delivered_at once its event was published, failed_at (with failure_reason) when it never will be.';
comment on column tidings.outbox.row_id is 'The row''s primary key, as text.';
comment on column tidings.outbox.changed_columns is 'UPDATE: the broadcast columns whose value changed.';
comment on column tidings.outbox.old_record is 'DELETE: the row as it was (the columns observed_tables.kept_on_delete names), since it can no longer be read.';
comment on column tidings.outbox.attempts is 'Publishes tried: counted in the UPDATE that records the outcome.';
comment on column tidings.outbox.claimed_until is 'Held by one deliverer (a webhook or the cron) until then; nobody else claims it meanwhile.';

-- "Pending, oldest first" for the cron and the counts: small, since settled entries leave it.
create index outbox_pending_idx on tidings.outbox (id) where delivered_at is null and failed_at is null;
-- "Earlier pending changes of this row", to keep a row's changes in order.
create index outbox_pending_row_idx on tidings.outbox (table_name, row_id, id) where delivered_at is null and failed_at is null;
create index outbox_delivered_at_idx on tidings.outbox (delivered_at) where delivered_at is not null;
create index outbox_failed_idx on tidings.outbox (id) where failed_at is not null;

create table tidings.cron_runs (
  id bigint generated always as identity primary key,
  started_at timestamptz not null,
  finished_at timestamptz not null default now(),
  claimed integer not null,
  published integer not null,
  skipped integer not null,
  failed integer not null,
  retried integer not null,
  pruned integer not null,
  remaining boolean not null,
  error text
);

comment on table tidings.cron_runs is 'One row per redelivery cron run (kept as long as delivered entries), for GET /api/delivery.';

revoke all on all tables in schema tidings from public, anon, authenticated, service_role;

-- Queues the signed webhooks for a statement's entries, 100 ids per webhook.
create function tidings.announce(changed_table regclass, operation text, entry_ids bigint[])
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
  -- As before the outbox: 100 ids keep a webhook's work to one claim, ten publishes and one write.
  ids_per_webhook constant int := 100;
  schema_name text;
  relation_name text;
  chunk jsonb;
begin
  if entry_ids is null or cardinality(entry_ids) = 0 then
    return;
  end if;
  select n.nspname, c.relname into schema_name, relation_name
  from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.oid = changed_table;
  for chunk in
    select jsonb_agg(numbered.id order by numbered.n)
    from (select e.id, row_number() over (order by e.id) - 1 as n from unnest(entry_ids) as e(id)) as numbered
    group by numbered.n / ids_per_webhook
    order by min(numbered.n)
  loop
    -- Without a webhook URL or secret, one warning is enough: the cron delivers the entries.
    exit when not private.queue_signed_webhook(
      jsonb_build_object('type', operation, 'table', relation_name, 'schema', schema_name, 'outbox_ids', chunk)
    );
  end loop;
end;
$$;

comment on function tidings.announce(regclass, text, bigint[]) is 'Queues the signed webhooks that name a statement''s outbox entries (100 per webhook).';

-- The statement-level trigger of every observed table. Transition tables: new_rows, old_rows.
create function tidings.record_changes()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  observed tidings.observed_tables;
  -- With an empty search_path a regclass prints schema-qualified, quoted where needed: public.emails.
  qualified text := tg_relid::regclass::text;
  entry_ids bigint[];
begin
  select * into observed from tidings.observed_tables o where o.table_name = tg_relid;
  if not found then
    return null;
  end if;

  if tg_op = 'INSERT' then
    with written as (
      insert into tidings.outbox (table_name, operation, row_id)
      select qualified, 'INSERT', to_jsonb(n) ->> observed.key_column
      from new_rows n
      order by 3
      returning id
    )
    select array_agg(id) into entry_ids from written;
  elsif tg_op = 'UPDATE' then
    -- Rows are matched on their primary key; the broadcast columns whose value changed are kept.
    -- Each row turned into jsonb once, then a hash join on the key: joining the transition tables on
    -- to_jsonb(...) directly is a nested loop that costs seconds for 1,000 rows.
    with old_json as materialized (
      select j ->> observed.key_column as key, j from (select to_jsonb(o) as j from old_rows o) as x
    ),
    new_json as materialized (
      select j ->> observed.key_column as key, j from (select to_jsonb(n) as j from new_rows n) as x
    ),
    pairs as (
      select n.j as new_row, o.j as old_row from new_json n join old_json o on o.key = n.key
    ),
    changed as (
      select p.new_row ->> observed.key_column as row_id,
        array(
          select e.key from jsonb_each(p.new_row) as e
          where e.value is distinct from p.old_row -> e.key
            and (observed.broadcast_columns is null or e.key = any(observed.broadcast_columns))
          order by e.key
        ) as columns
      from pairs p
    ),
    written as (
      insert into tidings.outbox (table_name, operation, row_id, changed_columns)
      select qualified, 'UPDATE', c.row_id, c.columns from changed c where cardinality(c.columns) > 0
      order by 3
      returning id
    )
    select array_agg(id) into entry_ids from written;
  else
    with written as (
      insert into tidings.outbox (table_name, operation, row_id, old_record)
      select qualified, 'DELETE', to_jsonb(o) ->> observed.key_column,
        case when observed.kept_on_delete is null then to_jsonb(o)
             else (select jsonb_object_agg(e.key, e.value) from jsonb_each(to_jsonb(o)) as e where e.key = any(observed.kept_on_delete))
        end
      from old_rows o
      order by 3
      returning id
    )
    select array_agg(id) into entry_ids from written;
  end if;

  perform tidings.announce(tg_relid, tg_op, entry_ids);
  return null;
end;
$$;

comment on function tidings.record_changes() is 'The model observer: one outbox entry per changed row (updates only when a broadcast column changed), and one signed webhook per 100 entries.';

-- Attaches the observer to a table (its primary key must be one column). Idempotent: calling it
-- again replaces the settings and the triggers.
--   broadcast_columns: an UPDATE is recorded only when one of them changed (null: any column).
--   read_from: the table or view delivery reads a row from (a view can add a sender's name).
--   kept_on_delete: the columns a DELETE entry keeps of the row (null: all).
create function tidings.observe(
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

  -- Transition tables cannot go with a column list (`update of ...`): the function filters instead.
  execute format('drop trigger if exists tidings_observe_inserts on %s', target);
  execute format('drop trigger if exists tidings_observe_updates on %s', target);
  execute format('drop trigger if exists tidings_observe_deletes on %s', target);
  execute format('create trigger tidings_observe_inserts after insert on %s referencing new table as new_rows for each statement execute function tidings.record_changes()', target);
  execute format('create trigger tidings_observe_updates after update on %s referencing old table as old_rows new table as new_rows for each statement execute function tidings.record_changes()', target);
  execute format('create trigger tidings_observe_deletes after delete on %s referencing old table as old_rows for each statement execute function tidings.record_changes()', target);
end;
$$;

comment on function tidings.observe(regclass, text[], regclass, text[]) is 'Attaches the model observer to a table: select tidings.observe(''public.announcements'');';

-- Detaches the observer from a table; its outbox entries stay.
create function tidings.unobserve(target regclass)
returns void
language plpgsql
set search_path = ''
as $$
begin
  execute format('drop trigger if exists tidings_observe_inserts on %s', target);
  execute format('drop trigger if exists tidings_observe_updates on %s', target);
  execute format('drop trigger if exists tidings_observe_deletes on %s', target);
  delete from tidings.observed_tables where table_name = target;
end;
$$;

comment on function tidings.unobserve(regclass) is 'Detaches the model observer from a table (its outbox entries stay).';

-- Queues failed (or any undelivered) entries again, from zero attempts; the cron delivers them.
create function tidings.replay(entry_ids bigint[])
returns integer
language sql
set search_path = ''
as $$
  with replayed as (
    update tidings.outbox
    set failed_at = null, failure_reason = null, last_error = null, attempts = 0, claimed_until = null
    where id = any(entry_ids) and delivered_at is null
    returning 1
  )
  select count(*)::int from replayed;
$$;

comment on function tidings.replay(bigint[]) is 'Queues outbox entries again (failed ones included) from zero attempts: select tidings.replay(array[42]);';

revoke all on function tidings.announce(regclass, text, bigint[]), tidings.record_changes(), tidings.observe(regclass, text[], regclass, text[]),
  tidings.unobserve(regclass), tidings.replay(bigint[]) from public, anon, authenticated, service_role;

-- Claims --------------------------------------------------------------------------------------------

-- The entries as delivery needs them, each with its row as the database has it now (null when the
-- row is gone; a DELETE's row is its old_record). One read per table.
create function tidings.with_rows(claimed tidings.outbox[])
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
  observed tidings.observed_tables;
  rows_by_entry jsonb := '{}';
  found_rows jsonb;
begin
  for observed in
    select o.* from tidings.observed_tables o
    where o.table_name::text in (select e.table_name from unnest(claimed) as e where e.operation <> 'DELETE')
  loop
    -- Identifiers and the key's type come from the catalog (tidings.observe), never from a caller.
    execute format(
      'select coalesce(jsonb_object_agg(e.id::text, to_jsonb(r)), ''{}'') from unnest($1) as e join %s as r on r.%I = e.row_id::%s where e.table_name = $2 and e.operation <> ''DELETE''',
      observed.read_from, observed.key_column, observed.key_type
    )
    into found_rows
    using claimed, observed.table_name::text;
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

-- Serializes claims of the same rows: one transaction-scoped advisory lock per (table, row) of the
-- entries, taken in key order (so two claims wait for each other instead of deadlocking) and held
-- until commit.
create function tidings.lock_rows(entry_ids bigint[])
returns void
language sql
set search_path = ''
as $$
  select pg_advisory_xact_lock(k.key)
  from (
    select distinct hashtextextended(o.table_name || ':' || o.row_id, 0) as key
    from tidings.outbox o where o.id = any(entry_ids)
  ) as k
  order by k.key;
$$;

-- Both claims end here: lease the candidate entries that are pending, held by nobody, and have no
-- earlier change of their row held by another deliverer (that one publishes first; the cron takes
-- the later one after it), so a row's changes go out in order. The rows' advisory locks come first;
-- the UPDATE, a statement of its own, then sees the leases of whoever held those locks before.
-- A lease lost in a crash only means the entry may be claimed and published again (clients
-- de-duplicate), so the commit does not wait for the disk: the webhook publishes sooner.
create function tidings.claim_entries(candidates bigint[], lease_seconds integer)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  claimed tidings.outbox[];
begin
  perform set_config('synchronous_commit', 'off', true);
  perform tidings.lock_rows(candidates);
  with taken as (
    update tidings.outbox o
    set claimed_until = clock_timestamp() + make_interval(secs => lease_seconds)
    where o.id = any(candidates) and o.delivered_at is null and o.failed_at is null
      and (o.claimed_until is null or o.claimed_until < clock_timestamp())
      and not exists (
        select 1 from tidings.outbox earlier
        where earlier.table_name = o.table_name and earlier.row_id = o.row_id and earlier.id < o.id
          and earlier.delivered_at is null and earlier.failed_at is null and earlier.claimed_until >= clock_timestamp()
      )
    returning o.*
  )
  select array_agg(t order by t.id) into claimed from taken t;
  return tidings.with_rows(coalesce(claimed, '{}'));
end;
$$;

-- The webhook's claim: the named entries, with the earlier pending entries of the same rows (a lost
-- webhook's). Entries delivered, failed or held are left out. Returns the claimed entries with
-- their rows, by id.
create function public.tidings_claim_outbox(outbox_ids bigint[], lease_seconds integer default 60)
returns jsonb
language sql
security definer
set search_path = ''
as $$
  select tidings.claim_entries(
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
    lease_seconds
  );
$$;

comment on function public.tidings_claim_outbox(bigint[], integer) is 'The webhook''s claim: the named outbox entries (and earlier pending ones of their rows) with their rows as the database has them now.';

-- The cron's claim: pending entries created more than grace_seconds ago and held by nobody, oldest
-- first, at most max_entries.
create function public.tidings_claim_due(grace_seconds integer, max_entries integer, lease_seconds integer default 60)
returns jsonb
language sql
security definer
set search_path = ''
as $$
  select tidings.claim_entries(
    array(
      select o.id from tidings.outbox o
      where o.delivered_at is null and o.failed_at is null
        and (o.claimed_until is null or o.claimed_until < clock_timestamp())
        and o.created_at < clock_timestamp() - make_interval(secs => grace_seconds)
      order by o.id
      limit max_entries
    ),
    lease_seconds
  );
$$;

comment on function public.tidings_claim_due(integer, integer, integer) is 'The redelivery cron''s claim: pending entries past the grace period, oldest first, with their rows.';

-- Records what a deliverer did with its claimed entries, each in one UPDATE that counts the attempt
-- in place (attempts = attempts + 1):
--   {"delivered": [ids], "failed": [{"id", "reason"}], "retry": [{"id", "error"}], "released": [ids]}
-- delivered: published (or nothing to publish); failed: its event cannot be built; retry: publishing
-- failed, tried again later unless it was the max_attempts-th failure; released: not tried.
create function public.tidings_settle_outbox(outcome jsonb, max_attempts integer)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  delivered_count int;
  failed_count int;
  retried_count int;
  gave_up_count int;
begin
  with settled as (
    update tidings.outbox o
    set delivered_at = clock_timestamp(), attempts = o.attempts + 1, claimed_until = null
    where o.id in (select value::bigint from jsonb_array_elements_text(coalesce(outcome -> 'delivered', '[]')))
      and o.delivered_at is null and o.failed_at is null
    returning 1
  )
  select count(*) into delivered_count from settled;

  with settled as (
    update tidings.outbox o
    set failed_at = clock_timestamp(), failure_reason = left(f.reason, 1000), attempts = o.attempts + 1, claimed_until = null
    from jsonb_to_recordset(coalesce(outcome -> 'failed', '[]')) as f(id bigint, reason text)
    where o.id = f.id and o.delivered_at is null and o.failed_at is null
    returning 1
  )
  select count(*) into failed_count from settled;

  with settled as (
    update tidings.outbox o
    set attempts = o.attempts + 1, last_error = left(r.error, 1000), claimed_until = null,
        failed_at = case when o.attempts + 1 >= max_attempts then clock_timestamp() end,
        failure_reason = case when o.attempts + 1 >= max_attempts
                              then format('gave up after %s attempts: %s', o.attempts + 1, left(r.error, 900)) end
    from jsonb_to_recordset(coalesce(outcome -> 'retry', '[]')) as r(id bigint, error text)
    where o.id = r.id and o.delivered_at is null and o.failed_at is null
    returning o.failed_at
  )
  select count(*), count(failed_at) into retried_count, gave_up_count from settled;

  update tidings.outbox o
  set claimed_until = null
  where o.id in (select value::bigint from jsonb_array_elements_text(coalesce(outcome -> 'released', '[]')))
    and o.delivered_at is null and o.failed_at is null;

  return jsonb_build_object('delivered', delivered_count, 'failed', failed_count + gave_up_count, 'retried', retried_count - gave_up_count);
end;
$$;

comment on function public.tidings_settle_outbox(jsonb, integer) is 'Records delivered, failed, retried and released outbox entries, counting attempts in place.';

-- Records a cron run and deletes delivered entries (and runs) older than retention_hours.
create function public.tidings_record_cron_run(run jsonb, retention_hours integer)
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  pruned int;
begin
  -- A bounded delete per run: a long backlog's worth is pruned over several runs.
  with old as (
    select id from tidings.outbox
    where delivered_at < clock_timestamp() - make_interval(hours => retention_hours)
    order by delivered_at
    limit 10000
  ),
  gone as (delete from tidings.outbox o using old where o.id = old.id returning 1)
  select count(*) into pruned from gone;
  delete from tidings.cron_runs where finished_at < clock_timestamp() - make_interval(hours => retention_hours);
  insert into tidings.cron_runs (started_at, claimed, published, skipped, failed, retried, pruned, remaining, error)
  values (
    (run ->> 'started_at')::timestamptz, coalesce((run ->> 'claimed')::int, 0), coalesce((run ->> 'published')::int, 0),
    coalesce((run ->> 'skipped')::int, 0), coalesce((run ->> 'failed')::int, 0), coalesce((run ->> 'retried')::int, 0),
    pruned, coalesce((run ->> 'remaining')::boolean, false), run ->> 'error'
  );
  return pruned;
end;
$$;

comment on function public.tidings_record_cron_run(jsonb, integer) is 'Records a redelivery cron run and prunes delivered outbox entries older than the retention.';

-- What GET /api/delivery reports.
create function public.tidings_delivery_status(failed_limit integer default 50)
returns jsonb
language sql
stable
security definer
set search_path = ''
as $$
  select jsonb_build_object(
    'undelivered', (select count(*) from tidings.outbox where delivered_at is null and failed_at is null),
    'oldest_undelivered_at', (select min(created_at) from tidings.outbox where delivered_at is null and failed_at is null),
    'failed_count', (select count(*) from tidings.outbox where failed_at is not null),
    'failed', coalesce((
      select jsonb_agg(jsonb_build_object(
        'id', f.id, 'table', f.table_name, 'operation', f.operation, 'row_id', f.row_id, 'attempts', f.attempts,
        'created_at', f.created_at, 'failed_at', f.failed_at, 'reason', f.failure_reason) order by f.id desc)
      from (select * from tidings.outbox where failed_at is not null order by id desc limit failed_limit) as f
    ), '[]'),
    'last_cron_run', (
      select to_jsonb(r) - 'id' from tidings.cron_runs r order by r.id desc limit 1
    )
  );
$$;

comment on function public.tidings_delivery_status(integer) is 'The outbox''s state for operators: undelivered count and oldest, failed entries with reasons, the last cron run.';

revoke all on function tidings.with_rows(tidings.outbox[]), tidings.lock_rows(bigint[]), tidings.claim_entries(bigint[], integer),
  public.tidings_claim_outbox(bigint[], integer),
  public.tidings_claim_due(integer, integer, integer), public.tidings_settle_outbox(jsonb, integer),
  public.tidings_record_cron_run(jsonb, integer), public.tidings_delivery_status(integer)
  from public, anon, authenticated;
grant execute on function public.tidings_claim_outbox(bigint[], integer), public.tidings_claim_due(integer, integer, integer),
  public.tidings_settle_outbox(jsonb, integer), public.tidings_record_cron_run(jsonb, integer),
  public.tidings_delivery_status(integer)
  to service_role;

-- public.emails moves to the outbox ------------------------------------------------------------------

drop trigger emails_webhook_on_insert on public.emails;
drop trigger emails_webhook_on_update on public.emails;
drop trigger emails_webhook_on_delete on public.emails;
drop function private.send_email_insert_webhooks();
drop function private.send_email_webhook();

-- Every email not delivered yet becomes an INSERT entry, oldest first, with its attempts and its
-- creation time (so the cron takes it at once).
insert into tidings.outbox (table_name, operation, row_id, created_at, attempts)
select 'public.emails', 'INSERT', e.id::text, e.created_at, e.delivery_attempts
from public.emails e
where e.delivered_at is null
order by e.created_at, e.id;

drop view public.email_announcements;
drop index public.emails_undelivered_created_at_idx;
alter table public.emails drop column delivered_at, drop column delivery_attempts;

comment on table public.emails is 'In-app emails from an admin to a user. Observed by tidings.observe: every change is broadcast through tidings.outbox.';

-- As in 20261128050000, without the delivery columns.
create view public.email_announcements
with (security_invoker = true)
as
select
  e.id,
  e.sender_id,
  e.recipient_id,
  e.subject,
  left(regexp_replace(left(e.body, 2000), '\s+', ' ', 'g'), 400) as body_start,
  e.created_at,
  e.read_at,
  coalesce(p.display_name, '') as sender_name
from public.emails e
left join public.profiles p on p.id = e.sender_id;

comment on view public.email_announcements is 'Emails as delivery announces them: body_start (the first 400 characters, whitespace collapsed) instead of body, and the sender''s display name.';

revoke all on public.email_announcements from public, anon, authenticated;
grant select on public.email_announcements to service_role;

-- Only read_at is broadcast on update (email.updated); a deleted email keeps what email.deleted needs.
select tidings.observe(
  'public.emails',
  broadcast_columns => array['read_at'],
  read_from => 'public.email_announcements',
  kept_on_delete => array['id', 'sender_id', 'recipient_id']
);
