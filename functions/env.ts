import type { JWTPayload } from 'jose';
import type { ChannelUser } from './broadcast/channel-rules.ts';
import type { Config } from './config.ts';
import type { Profile } from './data/profiles.ts';

/** The verified caller of a request (set by `requireUser`). */
export interface AuthUser extends ChannelUser {
  claims: JWTPayload;
  profile(): Promise<Profile | null>;
}

/**
 * The Hono environment of every route: the Worker's bindings, typed once by `wrangler types`
 * (see worker-configuration.d.ts, regenerated with `npm run types`), and what middleware sets.
 */
export type AppEnv = {
  Bindings: Env;
  Variables: {
    config: Config;
    user: AuthUser;
    profile: Profile;
    /** `ably` where the callers are Ably client libraries (http/errors.ts `ablyErrorBodies`). */
    errorBody?: 'ably';
  };
};
