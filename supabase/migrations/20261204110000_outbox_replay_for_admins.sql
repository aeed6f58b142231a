-- Replaying failed outbox entries from the admin's delivery panel (POST /api/delivery/replay): the
-- Worker, as service_role, may queue entries again through this wrapper of tidings.replay, and
-- nothing else of the tidings schema. Browsers (anon, authenticated) cannot call it. Failed entries
-- only: a pending one may be held by a deliverer right now, and freeing its lease would let it be
-- published twice, or let a later change of its row go first.

create function public.tidings_replay(entry_ids bigint[])
returns integer
language sql
security definer
set search_path = ''
as $$
  select tidings.replay(array(select o.id from tidings.outbox o where o.id = any(entry_ids) and o.failed_at is not null));
$$;

comment on function public.tidings_replay(bigint[]) is 'Queues failed outbox entries again from zero attempts (GET /api/delivery lists them); the cron delivers them.';

revoke all on function public.tidings_replay(bigint[]) from public, anon, authenticated;
grant execute on function public.tidings_replay(bigint[]) to service_role;
