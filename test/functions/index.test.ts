import { env, exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { NOTHING_POLICY } from '../../functions/http/security-headers.ts';
import { app } from '../../functions/index.ts';
import { md5Hex, requestSignature } from '../../functions/realtime/signatures.ts';
import { envWith } from '../support/workerd/env.ts';

describe('GET /healthz', () => {
  it('answers 200 with the service status as JSON', async () => {
    const response = await exports.default.fetch('http://tidings.test/healthz');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({ status: 'ok', service: 'tidings' });
  });
});

describe('unknown API paths', () => {
  it('answers 404 with a JSON error naming the path', async () => {
    const response = await exports.default.fetch('http://tidings.test/api/nothing-here', { method: 'POST' });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: 'Not found: POST /api/nothing-here' });
  });
});

describe('security headers', () => {
  it('give every answer but the page a policy that loads and frames nothing, 404s and errors included, and nosniff', async () => {
    for (const [path, status] of [
      ['/nothing-here', 404],
      ['/nothing-here.html', 404],
      ['/api/config', 200],
      ['/api/me', 401],
      [`/apps/${env.PUSHER_APP_ID}/channels`, 401],
      ['/app/some-key', 426],
      ['/healthz', 200],
    ] as const) {
      const response = await exports.default.fetch(`http://tidings.test${path}`);
      expect(response.status, path).toBe(status);
      expect(response.headers.get('Content-Security-Policy'), path).toBe(NOTHING_POLICY);
      expect(response.headers.get('X-Content-Type-Options'), path).toBe('nosniff');
    }
    const page = await exports.default.fetch('http://tidings.test/');
    expect(page.headers.get('Content-Security-Policy')).toMatch(/^default-src 'self'; .*frame-ancestors 'none'$/);
  });

  it('give the static assets, served without the Worker, the same policy from web/_headers', async () => {
    for (const path of ['/assets/app.js', '/styles.css']) {
      const response = await env.ASSETS.fetch(`http://tidings.test${path}`);
      expect(response.status, path).toBe(200);
      expect(response.headers.get('Content-Security-Policy'), path).toBe(NOTHING_POLICY);
      expect(response.headers.get('X-Content-Type-Options'), path).toBe('nosniff');
    }
  });
});

describe('static assets', () => {
  it('serves the web client index page at /', async () => {
    const response = await env.ASSETS.fetch('http://tidings.test/');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await response.text();
    expect(html).toContain('<title>Tidings</title>');
    expect(html).toContain('/assets/app.js');
  });

  it('serves the bundled client script', async () => {
    const response = await env.ASSETS.fetch('http://tidings.test/assets/app.js');
    expect(response.status).toBe(200);
    // The client starts by asking the Worker for its configuration.
    expect(await response.text()).toContain('/api/config');
  });
});

describe('production with a development secret', () => {
  /** A request to the realtime HTTP API signed, as anyone can, with the public PUSHER_APP_SECRET of .dev.vars.example. */
  function publishSignedWithTheDevelopmentSecret(): Request {
    const path = `/apps/${env.PUSHER_APP_ID}/events`;
    const body = JSON.stringify({ name: 'forged', data: '{}', channels: ['private-user.anyone'] });
    const params: Record<string, string> = {
      auth_key: env.PUSHER_APP_KEY,
      auth_timestamp: String(Math.floor(Date.now() / 1000)),
      auth_version: '1.0',
      body_md5: md5Hex(body),
    };
    params.auth_signature = requestSignature(env.PUSHER_APP_SECRET, 'POST', path, params);
    return new Request(`http://tidings.test${path}?${new URLSearchParams(params)}`, { method: 'POST', body });
  }

  it('answers every route, the realtime server and /healthz included, with a 500 naming the secret', async () => {
    const production = envWith({ APP_ENV: 'production' });
    const requests = [
      new Request('http://tidings.test/healthz'),
      new Request('http://tidings.test/'),
      new Request('http://tidings.test/api/config'),
      publishSignedWithTheDevelopmentSecret(),
      new Request(`http://tidings.test/app/${env.PUSHER_APP_KEY}?protocol=7`, { headers: { Upgrade: 'websocket' } }),
      new Request('http://tidings.test/nothing-here'),
    ];
    for (const request of requests) {
      const response = await app.request(request, undefined, production);
      expect(response.status, request.url).toBe(500);
      expect(await response.json()).toEqual({
        error: expect.stringMatching(/^The server is misconfigured: PUSHER_APP_SECRET still has its public development value/),
      });
    }
  });
});
