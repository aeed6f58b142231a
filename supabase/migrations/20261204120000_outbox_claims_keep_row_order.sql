-- A row's changes go out in order, also when the webhook and the cron (or two webhooks) claim at the
-- same moment. Both claims now
--   1. take a transaction-scoped advisory lock per row they are about to claim, in one order (so two
--      claims of the same row wait for each other instead of deadlocking), and only then
--   2. claim, with a snapshot that sees the leases of whoever held those locks before them;
-- and the webhook's claim, like the cron's, leaves out an entry while an earlier change of its row
-- is held by another deliverer (that one publishes first; the cron takes the later one after it).
-- Before, a webhook could claim a row's DELETE while another deliverer still published its INSERT,
-- and the INSERT's email.received could reach a page after the email.deleted.

create or replace function tidings.lock_rows(entry_ids bigint[])
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

comment on function tidings.lock_rows(bigint[]) is 'Serializes claims of the same rows: one advisory lock per (table, row) of the entries, taken in key order, held until commit.';

revoke all on function tidings.lock_rows(bigint[]) from public, anon, authenticated, service_role;

create or replace function public.tidings_claim_outbox(outbox_ids bigint[], lease_seconds integer default 60)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  claimed tidings.outbox[];
  wanted bigint[];
begin
  -- A lease lost in a crash only means the entry may be claimed and published again (clients
  -- de-duplicate), so its commit does not wait for the disk: the webhook publishes sooner.
  perform set_config('synchronous_commit', 'off', true);
  -- The named entries and the earlier pending entries of their rows (a lost webhook's).
  select array_agg(distinct w.id) into wanted
  from (
    select o.id, o.table_name, o.row_id from tidings.outbox o
    where o.id = any(outbox_ids) and o.delivered_at is null and o.failed_at is null
  ) as n
  cross join lateral (
    select n.id
    union
    select earlier.id from tidings.outbox earlier
    where earlier.table_name = n.table_name and earlier.row_id = n.row_id and earlier.id < n.id
      and earlier.delivered_at is null and earlier.failed_at is null
  ) as w;
  if wanted is null then
    return tidings.with_rows('{}');
  end if;
  perform tidings.lock_rows(wanted);
  -- A new statement, a new snapshot: it sees the leases of claims that held these rows' locks.
  with taken as (
    update tidings.outbox o
    set claimed_until = clock_timestamp() + make_interval(secs => lease_seconds)
    where o.id = any(wanted) and o.delivered_at is null and o.failed_at is null
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

create or replace function public.tidings_claim_due(grace_seconds integer, max_entries integer, lease_seconds integer default 60)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  claimed tidings.outbox[];
  candidates bigint[];
begin
  perform set_config('synchronous_commit', 'off', true);
  select array_agg(o.id) into candidates
  from (
    select o.id from tidings.outbox o
    where o.delivered_at is null and o.failed_at is null
      and (o.claimed_until is null or o.claimed_until < clock_timestamp())
      and o.created_at < clock_timestamp() - make_interval(secs => grace_seconds)
    order by o.id
    limit max_entries
  ) as o;
  if candidates is null then
    return tidings.with_rows('{}');
  end if;
  perform tidings.lock_rows(candidates);
  with due as (
    select o.id from tidings.outbox o
    where o.id = any(candidates) and o.delivered_at is null and o.failed_at is null
      and (o.claimed_until is null or o.claimed_until < clock_timestamp())
      and not exists (
        select 1 from tidings.outbox earlier
        where earlier.table_name = o.table_name and earlier.row_id = o.row_id and earlier.id < o.id
          and earlier.delivered_at is null and earlier.failed_at is null and earlier.claimed_until >= clock_timestamp()
      )
    order by o.id
    for update skip locked
  ),
  taken as (
    update tidings.outbox o
    set claimed_until = clock_timestamp() + make_interval(secs => lease_seconds)
    from due d
    where o.id = d.id
    returning o.*
  )
  select array_agg(t order by t.id) into claimed from taken t;
  return tidings.with_rows(coalesce(claimed, '{}'));
end;
$$;

-- The admins' Replay queues failed entries only: a pending one may be held by a deliverer right now,
-- and freeing its lease would let it be published twice, or let a later change of its row go first.
create or replace function public.tidings_replay(entry_ids bigint[])
returns integer
language sql
security definer
set search_path = ''
as $$
  select tidings.replay(array(select o.id from tidings.outbox o where o.id = any(entry_ids) and o.failed_at is not null));
$$;
