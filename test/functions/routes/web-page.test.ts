import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';

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
});
