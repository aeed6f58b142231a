-- Outbox attempts are counted when an entry is claimed, not when its outcome is recorded.
--
-- Until now only settling counted an attempt, so an entry whose processing ended the Worker before
-- it settled (over the CPU limit, out of memory, an isolate crash, a deploy mid-flight) was never
-- counted: its lease ended, the cron claimed it again, it ended the Worker again, forever, and the
-- later changes of its row waited behind it for good.
--
-- Now the UPDATE that leases an entry also counts the attempt (attempts = attempts + 1). Settling
-- records the outcome without counting again; releasing an entry (not tried) gives its attempt
-- back. An entry claimed again after its lease ended without a settle has therefore used up an
-- attempt, and a claim that finds a free entry whose attempts reached max_attempts marks it failed
-- instead of leasing it, so it stops blocking its row.
--
-- The claim functions take max_attempts as a new last argument (default 10, OUTBOX_MAX_ATTEMPTS's
-- default), so calls without it keep working. An argument cannot be added by create or replace
-- (that would add an overload, and a call without it would be ambiguous), so they are dropped and
-- created again, with the same grants.

comment on column tidings.outbox.attempts is 'Publishes tried: counted when a deliverer claims the entry (the UPDATE that sets its lease), given back when it is released untried.';

drop function public.tidings_claim_outbox(bigint[], integer);
drop function public.tidings_claim_due(integer, integer, integer);
drop function tidings.claim_entries(bigint[], integer);

-- Both claims end here. First, a candidate that nobody holds and that has used up its attempts is
-- marked failed: its deliverers stopped before recording an outcome (or max_attempts was lowered
-- since). Then the rest are leased, each attempt counted in the same UPDATE: the candidates that
-- are pending, held by nobody, and have no earlier change of their row held by another deliverer
-- (that one publishes first; the cron takes the later one after it), so a row's changes go out in
-- order. The rows' advisory locks come first; each UPDATE, a statement of its own, then sees the
-- leases of whoever held those locks before. A lease lost in a crash only means the entry may be
-- claimed and published again (clients de-duplicate), so the commit does not wait for the disk:
-- the webhook publishes sooner.
create function tidings.claim_entries(candidates bigint[], lease_seconds integer, max_attempts integer default 10)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  claimed tidings.outbox[];
begin
  perform set_config('synchronous_commit', 'off', true);
  perform tidings.lock_rows(candidates);
  update tidings.outbox o
  set failed_at = clock_timestamp(), claimed_until = null,
      failure_reason = format(
        'gave up after %s attempts: %s', o.attempts,
        case
          when o.claimed_until is not null
            then 'the deliverer stopped before recording an outcome' || coalesce(' (last error: ' || left(o.last_error, 800) || ')', '')
          else coalesce(left(o.last_error, 900), 'no error recorded')
        end
      )
  where o.id = any(candidates) and o.delivered_at is null and o.failed_at is null
    and (o.claimed_until is null or o.claimed_until < clock_timestamp())
    and o.attempts >= max_attempts;
  with taken as (
    update tidings.outbox o
    set claimed_until = clock_timestamp() + make_interval(secs => lease_seconds), attempts = o.attempts + 1
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
-- webhook's). Entries delivered, failed or held are left out; those out of attempts are marked
-- failed. Returns the claimed entries with their rows, by id, attempts counting this one.
create function public.tidings_claim_outbox(outbox_ids bigint[], lease_seconds integer default 60, max_attempts integer default 10)
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
    lease_seconds,
    max_attempts
  );
$$;

comment on function public.tidings_claim_outbox(bigint[], integer, integer) is 'The webhook''s claim: the named outbox entries (and earlier pending ones of their rows) with their rows as the database has them now; counts an attempt per entry claimed.';

-- The cron's claim: pending entries created more than grace_seconds ago and held by nobody, oldest
-- first, at most max_entries (an entry out of attempts is marked failed instead of leased).
create function public.tidings_claim_due(grace_seconds integer, max_entries integer, lease_seconds integer default 60, max_attempts integer default 10)
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
    lease_seconds,
    max_attempts
  );
$$;

comment on function public.tidings_claim_due(integer, integer, integer, integer) is 'The redelivery cron''s claim: pending entries past the grace period, oldest first, with their rows; counts an attempt per entry claimed.';

-- Records what a deliverer did with its claimed entries (the claim counted their attempts):
--   {"delivered": [ids], "failed": [{"id", "reason"}], "retry": [{"id", "error"}], "released": [ids]}
-- delivered: published (or nothing to publish); failed: its event cannot be built; retry: publishing
-- failed, tried again later unless this was the max_attempts-th attempt; released: not tried, its
-- attempt given back in place (attempts = attempts - 1).
create or replace function public.tidings_settle_outbox(outcome jsonb, max_attempts integer)
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
    set delivered_at = clock_timestamp(), claimed_until = null
    where o.id in (select value::bigint from jsonb_array_elements_text(coalesce(outcome -> 'delivered', '[]')))
      and o.delivered_at is null and o.failed_at is null
    returning 1
  )
  select count(*) into delivered_count from settled;

  with settled as (
    update tidings.outbox o
    set failed_at = clock_timestamp(), failure_reason = left(f.reason, 1000), claimed_until = null
    from jsonb_to_recordset(coalesce(outcome -> 'failed', '[]')) as f(id bigint, reason text)
    where o.id = f.id and o.delivered_at is null and o.failed_at is null
    returning 1
  )
  select count(*) into failed_count from settled;

  with settled as (
    update tidings.outbox o
    set last_error = left(r.error, 1000), claimed_until = null,
        failed_at = case when o.attempts >= max_attempts then clock_timestamp() end,
        failure_reason = case when o.attempts >= max_attempts
                              then format('gave up after %s attempts: %s', o.attempts, left(r.error, 900)) end
    from jsonb_to_recordset(coalesce(outcome -> 'retry', '[]')) as r(id bigint, error text)
    where o.id = r.id and o.delivered_at is null and o.failed_at is null
    returning o.failed_at
  )
  select count(*), count(failed_at) into retried_count, gave_up_count from settled;

  update tidings.outbox o
  set claimed_until = null, attempts = greatest(o.attempts - 1, 0)
  where o.id in (select value::bigint from jsonb_array_elements_text(coalesce(outcome -> 'released', '[]')))
    and o.delivered_at is null and o.failed_at is null;

  return jsonb_build_object('delivered', delivered_count, 'failed', failed_count + gave_up_count, 'retried', retried_count - gave_up_count);
end;
$$;

comment on function public.tidings_settle_outbox(jsonb, integer) is 'Records delivered, failed, retried and released outbox entries (their claim counted the attempt; a release gives it back).';

revoke all on function tidings.claim_entries(bigint[], integer, integer), public.tidings_claim_outbox(bigint[], integer, integer),
  public.tidings_claim_due(integer, integer, integer, integer)
  from public, anon, authenticated;
grant execute on function public.tidings_claim_outbox(bigint[], integer, integer), public.tidings_claim_due(integer, integer, integer, integer)
  to service_role;
