import { env, exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';

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
