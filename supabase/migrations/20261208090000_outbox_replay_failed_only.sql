-- tidings.replay, the operators' replay from psql, queued any undelivered entry again: a pending
-- one too, freeing the lease a deliverer may hold on it right now, so that entry could be published
-- twice. Now it queues failed entries only, as POST /api/delivery/replay does. A pending entry needs
-- no replay: the cron publishes it, and a lease whose deliverer died runs out by itself.

create or replace function tidings.replay(entry_ids bigint[])
returns integer
language sql
set search_path = ''
as $$
  with replayed as (
    update tidings.outbox
    set failed_at = null, failure_reason = null, last_error = null, attempts = 0, claimed_until = null
    where id = any(entry_ids) and failed_at is not null and delivered_at is null
    returning 1
  )
  select count(*)::int from replayed;
$$;

comment on function tidings.replay(bigint[]) is 'Queues failed outbox entries again from zero attempts (pending and delivered ones are left as they are): select tidings.replay(array[42]);';

revoke all on function tidings.replay(bigint[]) from public, anon, authenticated, service_role;
