-- Replaying failed outbox entries from the admin's delivery panel (POST /api/delivery/replay): the
-- Worker, as service_role, may queue entries again through this wrapper of tidings.replay, and
-- nothing else of the tidings schema. Browsers (anon, authenticated) cannot call it.

create function public.tidings_replay(entry_ids bigint[])
returns integer
language sql
security definer
set search_path = ''
as $$
  select tidings.replay(entry_ids);
$$;

comment on function public.tidings_replay(bigint[]) is 'Queues outbox entries again from zero attempts (GET /api/delivery lists the failed ones); the cron delivers them.';

revoke all on function public.tidings_replay(bigint[]) from public, anon, authenticated;
grant execute on function public.tidings_replay(bigint[]) to service_role;
