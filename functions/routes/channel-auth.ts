/**
 * Channel authorization for pusher-js and Laravel Echo: `POST /broadcasting/auth` (private,
 * presence and encrypted channels) and `POST /broadcasting/user-auth` (`pusher:signin`).
 * Signatures come from the official `pusher` SDK with the app secret; the rules are in ../broadcast/mailbox-channels.ts.
 * With the `ably` broadcaster, `/auth` answers ably-js and @ably/laravel-echo with a signed Ably
 * token instead (../broadcast/ably-tokens.ts), from the same rules, and its errors in Ably's shape
 * (../http/errors.ts `ablyErrorBodies`).
 */
import type { Context } from 'hono';
import { Hono } from 'hono';
import { createMiddleware } from 'hono/factory';
import { HTTPException } from 'hono/http-exception';
import { z } from 'zod';
import { requireUser } from '../auth/middleware.ts';
import { authorizeAbly } from '../broadcast/ably-tokens.ts';
import { pusherClient } from '../broadcast/drivers/pusher.ts';
import { mailboxChannels } from '../broadcast/mailbox-channels.ts';
import { CHANNEL_NAME, invalidChannelName, invalidSocketId, SOCKET_ID } from '../broadcast/pusher-rules.ts';
import { ablyKey } from '../config.ts';
import type { AppEnv } from '../env.ts';
import { limitBody } from '../http/body-limit.ts';
import { ablyErrorBodies } from '../http/errors.ts';
import { readFormOrJson } from '../http/validation.ts';
import { withConfig } from '../http/with-config.ts';

/** "is required" only when the field is absent: a JSON number or object is there, just not text. */
const requiredText = (field: string) => (issue: { input: unknown }) =>
  issue.input === undefined ? `${field} is required` : `${field} must be text`;

const socketId = z.string({ error: requiredText('socket_id') }).regex(SOCKET_ID, { error: (issue) => invalidSocketId(issue.input) });
const channelName = z
  .string({ error: requiredText('channel_name') })
  .regex(CHANNEL_NAME, { error: (issue) => invalidChannelName(String(issue.input)) });

/** pusher-js posts a form; other clients (and Echo with a custom authorizer) post JSON. */
const readBody = <T extends z.ZodType>(c: Context<AppEnv>, schema: T) =>
  readFormOrJson(c, schema, 'Send socket_id and channel_name as a form (application/x-www-form-urlencoded) or as JSON');

/**
 * What @ably/laravel-echo posts (JSON): the Ably channel name, null for the connection's first
 * token, and the token it holds, if any. Its socket id is not needed: the token names the user.
 */
const ablyAuthBody = z.object({
  channel_name: z.string({ error: 'channel_name must be text or null' }).max(200, { error: 'channel_name is too long' }).nullish(),
  token: z
    .string({ error: 'token must be text or null' })
    .max(16 * 1024, { error: 'token is too long' })
    .nullish(),
});

/** A socket id and a channel name need a few hundred bytes. */
const MAX_BODY_BYTES = 8 * 1024;

/** With the `ably` broadcaster, `/auth`'s callers are ably-js clients, which read only Ably's error shape. */
const ablyCallers = createMiddleware<AppEnv>((c, next) => (c.get('config').broadcastDriver === 'ably' ? ablyErrorBodies(c, next) : next()));

export const channelAuth = new Hono<AppEnv>()
  .use(withConfig)
  // Before the body limit and the sign-in check, so that their 413 and 401 are in Ably's shape too.
  .use('/auth', ablyCallers)
  .use(limitBody(MAX_BODY_BYTES), requireUser)
  .post('/auth', async (c) => {
    const config = c.get('config');
    if (config.broadcastDriver === 'ably') {
      const { channel_name, token } = await readBody(c, ablyAuthBody);
      const user = c.get('user');
      const result = await authorizeAbly(
        mailboxChannels,
        user,
        { channelName: channel_name ?? null, token: token ?? null },
        // ably-js reconnects with the token it holds, so it must not outlive the session that asked for it.
        { key: ablyKey(config), tokenTtlSeconds: config.ably.tokenTtlSeconds, sessionExpiresAt: user.claims.exp },
      );
      if ('refused' in result) throw new HTTPException(result.refused, { message: result.reason });
      return c.json(result);
    }
    const { socket_id, channel_name } = await readBody(c, z.object({ socket_id: socketId, channel_name: channelName }));
    const user = c.get('user');
    const decision = await mailboxChannels.authorize(user, channel_name);
    if (!decision.allowed) throw new HTTPException(403, { message: decision.reason });
    if (decision.kind === 'encrypted' && !config.pusher.encryptionMasterKeyBase64) {
      throw new HTTPException(403, {
        message: `${channel_name} is encrypted, and this server has no PUSHER_ENCRYPTION_MASTER_KEY_BASE64 to derive its key from`,
      });
    }
    const pusher = pusherClient(config);
    if (decision.kind === 'presence') {
      return c.json(pusher.authorizeChannel(socket_id, channel_name, { user_id: user.id, user_info: decision.memberInfo }));
    }
    // For private-encrypted- channels the SDK adds `shared_secret`: SHA-256 of the channel name and the master key.
    return c.json(pusher.authorizeChannel(socket_id, channel_name));
  })
  .post('/user-auth', async (c) => {
    const { socket_id } = await readBody(c, z.object({ socket_id: socketId }));
    // The id is all `sendToUser` needs; public details travel through presence channels.
    return c.json(pusherClient(c.get('config')).authenticateUser(socket_id, { id: c.get('user').id }));
  });
