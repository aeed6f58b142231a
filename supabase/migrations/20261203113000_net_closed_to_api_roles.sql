-- The API roles (anon, authenticated) may not read pg_net's queue or responses, nor queue requests
-- of their own with net.http_get/http_post/http_delete.
--
-- net.http_request_queue holds each webhook until pg_net sends it: the email it announces and an
-- X-Tidings-Signature the Worker accepts for five minutes. net._http_response keeps what the Worker
-- answered for six hours. pg_net grants usage on `net` and all privileges on its tables and
-- sequences to PUBLIC, and its functions are executable by PUBLIC (the Postgres default); Supabase
-- also grants usage on `net` to anon and authenticated by name. docs/security-database.md has the
-- details.
--
-- Nothing of ours needs them: the model observer queues through security definer functions owned
-- by postgres. The roles that do use pg_net are first granted by name what they had through PUBLIC
-- (postgres, service_role and supabase_functions_admin, Supabase's own Database Webhooks, where they
-- exist and are neither superusers nor the owner), then PUBLIC, anon and authenticated lose it.
--
-- Guarded throughout: pg_net may be absent, older or newer. A role can change only the privileges
-- of objects it owns (or whose owner it is a member of), so objects this role cannot change are
-- left alone: on hosted Supabase supabase_admin owns `net`, and the migration ends with a warning
-- naming what anon and authenticated can still use. The offline local Supabase owns its `net`
-- (supabase/local/platform.sql, which applies the same rules at every start).

do $$
declare
  api_roles text;
  target record;
  keepers text;
  skipped int := 0;
  still_open text;
begin
  if to_regnamespace('net') is null then
    raise notice 'tidings: no schema net (pg_net is not installed): nothing to revoke';
    return;
  end if;

  select string_agg(quote_ident(rolname), ', ') into api_roles
  from pg_roles where rolname in ('anon', 'authenticated');
  api_roles := concat_ws(', ', 'public', api_roles);

  for target in
    select 'schema' as kind, quote_ident(n.nspname) as name, n.nspowner as owner, 'usage' as privileges
    from pg_namespace n where n.nspname = 'net'
    union all
    select case when c.relkind = 'S' then 'sequence' else 'table' end, c.oid::regclass::text, c.relowner, 'all'
    from pg_class c
    where c.relnamespace = 'net'::regnamespace and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')
    union all
    select case when p.prokind = 'p' then 'procedure' else 'function' end, p.oid::regprocedure::text, p.proowner, 'execute'
    from pg_proc p
    where p.pronamespace = 'net'::regnamespace and p.prokind in ('f', 'p')
  loop
    if not pg_has_role(target.owner, 'usage') then
      skipped := skipped + 1;
      continue;
    end if;
    select string_agg(quote_ident(r.rolname), ', ') into keepers
    from pg_roles r
    where r.rolname in ('postgres', 'service_role', 'supabase_functions_admin')
      and not r.rolsuper
      and r.oid <> target.owner;
    begin
      if keepers is not null then
        execute format('grant %s on %s %s to %s', target.privileges, target.kind, target.name, keepers);
      end if;
      execute format('revoke all on %s %s from %s', target.kind, target.name, api_roles);
    exception when insufficient_privilege then
      skipped := skipped + 1;
      raise notice 'tidings: could not change the privileges on % %: %', target.kind, target.name, sqlerrm;
    end;
  end loop;

  -- What anon or authenticated can still use in net: schema usage and the object's own privilege.
  select string_agg(distinct r.rolname || ': ' || o.name, ', ') into still_open
  from pg_roles r
  cross join lateral (
    select c.oid::regclass::text as name
    from pg_class c
    where c.relnamespace = 'net'::regnamespace
      and c.relkind in ('r', 'p', 'v', 'm', 'f')
      and has_table_privilege(r.oid, c.oid, 'select')
    union all
    select p.oid::regprocedure::text
    from pg_proc p
    where p.pronamespace = 'net'::regnamespace
      and p.prokind in ('f', 'p')
      and p.proname like 'http\_%'
      and has_function_privilege(r.oid, p.oid, 'execute')
  ) as o
  where r.rolname in ('anon', 'authenticated')
    and has_schema_privilege(r.oid, 'net', 'usage');

  if still_open is not null then
    raise warning 'tidings: % of the objects in schema net belong to a role % cannot act for, and the API roles can still use %',
      skipped, current_user, still_open
      using hint = 'On hosted Supabase, supabase_admin owns pg_net and its grants; anon and authenticated reach net only '
        'through the Data API, which does not expose it. See docs/security-database.md.';
  end if;
end;
$$;
