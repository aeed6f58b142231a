-- POST /api/delivery/replay says which ids it could not replay. public.tidings_replay answered only
-- a count, so an id that names no entry (mistyped, or delivered and deleted after the retention
-- period) or an entry that is not failed (still pending, or delivered) was silently left out.
-- Now it replays all of the named entries or none: when any cannot be replayed it changes nothing
-- and answers which, so the Worker can refuse the request naming them.
--
-- Still failed entries only (a pending one may be held by a deliverer right now, and freeing its
-- lease would let it be published twice), and still callable by service_role alone.

drop function public.tidings_replay(bigint[]);

create function public.tidings_replay(entry_ids bigint[])
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  refused jsonb;
begin
  -- Lock the failed ones, in id order so two replays cannot deadlock: none can be replayed by
  -- someone else, or deleted, between the check below and the update.
  perform 1 from tidings.outbox o where o.id = any(entry_ids) and o.failed_at is not null order by o.id for update;
  select jsonb_build_object(
    'not_found', coalesce(jsonb_agg(wanted.id order by wanted.id) filter (where o.id is null), '[]'),
    'pending', coalesce(jsonb_agg(wanted.id order by wanted.id) filter (where o.id is not null and o.delivered_at is null and o.failed_at is null), '[]'),
    'delivered', coalesce(jsonb_agg(wanted.id order by wanted.id) filter (where o.delivered_at is not null), '[]')
  )
  into refused
  from (select distinct unnest(entry_ids) as id) as wanted
  left join tidings.outbox o on o.id = wanted.id;
  if refused <> '{"not_found": [], "pending": [], "delivered": []}'::jsonb then
    return refused || '{"replayed": 0}';
  end if;
  return refused || jsonb_build_object('replayed', tidings.replay(entry_ids));
end;
$$;

comment on function public.tidings_replay(bigint[]) is 'Queues failed outbox entries again from zero attempts (GET /api/delivery lists them), all or none: {"replayed": n, "not_found": [], "pending": [], "delivered": []}, and nothing replayed when any of the three lists is not empty.';

revoke all on function public.tidings_replay(bigint[]) from public, anon, authenticated;
grant execute on function public.tidings_replay(bigint[]) to service_role;
