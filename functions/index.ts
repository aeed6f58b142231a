import { Hono } from 'hono';
import type { AppEnv } from './env.ts';
import { cors } from './http/cors.ts';
import { onError } from './http/errors.ts';
import { securityHeaders } from './http/security-headers.ts';
import { withConfig } from './http/with-config.ts';
import { RealtimeChannel } from './realtime/channel.ts';
import { RealtimeDirectory } from './realtime/directory.ts';
import { realtimeEndpoint } from './realtime/endpoint.ts';
import { realtimeHttpApi } from './realtime/http-api.ts';
import { RealtimeShard } from './realtime/shard.ts';
import { redeliver } from './redeliver/cron.ts';
import { announcements } from './routes/announcements.ts';
import { channelAuth } from './routes/channel-auth.ts';
import { clientConfig } from './routes/client-config.ts';
import { dbWebhook } from './routes/db-webhook.ts';
import { delivery } from './routes/delivery.ts';
import { emails } from './routes/emails.ts';
import { me } from './routes/me.ts';
import { users } from './routes/users.ts';
import { webPage } from './routes/web-page.ts';

const app = new Hono<AppEnv>();

// Every route, the realtime server's and /healthz included, runs only on a valid configuration: a
// missing setting, or a development secret in production, is a 500 naming it (http/errors.ts).
app.use(securityHeaders, withConfig);
app.get('/healthz', (c) => c.json({ status: 'ok', service: 'tidings' }));
// CORS reads the allowed origins from the configuration set above.
app.use('/api/*', cors);
app.use('/broadcasting/*', cors);
app.route('/api/config', clientConfig);
app.route('/api/me', me);
app.route('/api/emails', emails);
app.route('/api/users', users);
app.route('/api/delivery', delivery);
app.route('/api/announcements', announcements);
app.route('/broadcasting', channelAuth);
app.route('/webhooks', dbWebhook);
// The web client's page, with its Content-Security-Policy (the other assets are served as they are).
app.route('/', webPage);

// The Pusher-compatible realtime server: WebSocket endpoint /app/{key} and HTTP API /apps/{id}/...
app.route('/', realtimeEndpoint);
app.route('/', realtimeHttpApi);

app.notFound((c) => c.json({ error: `Not found: ${c.req.method} ${new URL(c.req.url).pathname}` }, 404));

// The one error path (http/errors.ts): HTTPExceptions and domain errors answer with their status;
// anything else is logged and answered with a generic 500 that leaks no stack trace.
app.onError(onError);

export { app, RealtimeChannel, RealtimeDirectory, RealtimeShard };

export default {
  fetch: app.fetch,
  async scheduled(controller, env, ctx) {
    ctx.waitUntil(redeliver(controller, env));
  },
} satisfies ExportedHandler<Env>;
