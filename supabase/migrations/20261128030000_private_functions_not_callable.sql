-- The API roles may call no function in `private` but is_admin() (which policies call as the caller).
--
-- Postgres grants EXECUTE on every new function to PUBLIC. The earlier migrations revoked it from
-- each function except private.create_profile_for_new_user(), which `authenticated` (granted usage
-- on `private` for is_admin) could therefore call. It is a trigger function, so a direct call fails,
-- but nothing should depend on that. Triggers fire whatever the inserting role's EXECUTE privilege,
-- so on_auth_user_created keeps working for Supabase Auth.

revoke all on function private.create_profile_for_new_user() from public, anon, authenticated;
