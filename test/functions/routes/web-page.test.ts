import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../functions/config.ts';
import { contentSecurityPolicy } from '../../../functions/routes/web-page.ts';
import { envWith } from '../../support/workerd/env.ts';

describe('GET / (the web client)', () => {
  it('serves the page with a Content-Security-Policy allowing only this origin, Supabase and the realtime server', async () => {
    const response = await exports.default.fetch('http://127.0.0.1:8787/');
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('<script type="module" src="/assets/app.js"></script>');
    const policy = response.headers.get('Content-Security-Policy') ?? '';
    expect(policy.split('; ')).toEqual([
      "default-src 'self'",
      "img-src 'self' data:",
      // The development settings: the local Supabase, and the realtime server at PUSHER_HOST:PUSHER_PORT.
      "connect-src 'self' http://127.0.0.1:54321 ws://127.0.0.1:8787",
      "object-src 'none'",
      "base-uri 'self'",
      "form-action 'self'",
      "frame-ancestors 'none'",
    ]);
    expect(response.headers.get('X-Content-Type-Options')).toBe('nosniff');
  });

  it('lets the page reach Ably, and its fallback hosts, with the ably broadcaster', () => {
    const connectSrc = (vars: Partial<Record<keyof Env, string>>) =>
      contentSecurityPolicy(
        loadConfig(envWith({ BROADCAST_DRIVER: 'ably', ABLY_KEY: 'appId.keyId:secret', ...vars })),
        new URL('https://tidings.example.com/'),
      )
        .split('; ')
        .find((directive) => directive.startsWith('connect-src'));
    expect(connectSrc({ ABLY_HOST: '', ABLY_PORT: '', ABLY_SCHEME: '' })).toBe(
      "connect-src 'self' http://127.0.0.1:54321 wss://main.realtime.ably.net:443 https://main.realtime.ably.net:443 wss://*.ably-realtime.com https://*.ably-realtime.com",
    );
    expect(connectSrc({ ABLY_HOST: 'ably.gateway.example', ABLY_PORT: '8443', ABLY_SCHEME: 'https' })).toBe(
      "connect-src 'self' http://127.0.0.1:54321 wss://ably.gateway.example:8443 https://ably.gateway.example:8443",
    );
  });
});
