import * as Ably from 'ably';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAblyRestStub } from '../support/node/ably-rest-stub.ts';

// The stand-in replaces Ably in the workerd tests, so it must answer as Ably's REST API documents
// (https://ably.com/docs/rest/batch, https://ably.com/docs/auth/basic, ably/open-specs platform-v1.yaml).
const key = 'appId.keyId:the-key-secret';
let stub: Awaited<ReturnType<typeof startAblyRestStub>>;
beforeAll(async () => {
  stub = await startAblyRestStub(key);
});
afterAll(() => stub.close());

function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`http://127.0.0.1:${stub.port}${path}`, {
    method: 'POST',
    headers: { Authorization: `Basic ${Buffer.from(key).toString('base64')}`, 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

describe('the Ably REST API stand-in', () => {
  it('publishes with Basic auth and answers 201 with the channel and message id', async () => {
    const response = await post('/channels/private%3Auser.1/messages', { name: 'tick', data: '{"a":1}', encoding: 'json' });
    expect(response.status).toBe(201);
    expect(await response.json()).toMatchObject({ channel: 'private:user.1', messageId: expect.any(String) });
    expect(stub.accepted.at(-1)?.messages).toEqual([
      { channel: 'private:user.1', name: 'tick', data: '{"a":1}', encoding: 'json', clientId: undefined, connectionId: undefined },
    ]);
  });

  it('refuses another key with 401 and code 40101, in the body and the x-ably-error headers', async () => {
    const response = await post('/channels/news/messages', { name: 'tick' }, { Authorization: `Basic ${btoa('appId.keyId:wrong')}` });
    expect(response.status).toBe(401);
    expect(response.headers.get('x-ably-errorcode')).toBe('40101');
    expect(await response.json()).toEqual({
      error: { message: 'Invalid credentials', code: 40101, statusCode: 401, href: 'https://help.ably.io/error/40101' },
    });
  });

  it('refuses bad messages with Ably’s codes: JSON encoding, size, channel name, connection key and clientId', async () => {
    const codeOf = async (path: string, body: unknown) => {
      const response = await post(path, body);
      return [response.status, ((await response.json()) as { error: { code: number } }).error.code];
    };
    expect(await codeOf('/channels/a/messages', { name: 'x', data: 'not json', encoding: 'json' })).toEqual([400, 40013]);
    expect(await codeOf('/channels/a/messages', { name: 'x', data: 'x'.repeat(65_536) })).toEqual([400, 40009]);
    expect(await codeOf('/channels/%3Aa/messages', { name: 'x' })).toEqual([400, 40010]);
    expect(await codeOf('/channels/a/messages', { name: 'x', connectionKey: 'nobody' })).toEqual([400, 40006]);
    const connection = (await (await post('/__connections', { clientId: 'ada' })).json()) as {
      connectionKey: string;
      connectionId: string;
    };
    expect(await codeOf('/channels/a/messages', { name: 'x', connectionKey: connection.connectionKey, clientId: 'grace' })).toEqual([
      400, 40012,
    ]);
    const ok = await post('/channels/a/messages', { name: 'x', connectionKey: connection.connectionKey, clientId: 'ada' });
    expect(ok.status).toBe(201);
    expect(stub.accepted.at(-1)?.messages[0]?.connectionId).toBe(connection.connectionId);
  });

  it('answers a batch with one result per spec from version 2, and a 400 with code 40020 and batchResponse before it', async () => {
    const specs = [
      { channels: ['ok'], messages: [{ name: 'x', data: '1' }] },
      { channels: ['ok-too', 'stub-unavailable'], messages: { name: 'y', data: '2' } },
    ];
    const current = await post('/messages', specs, { 'X-Ably-Version': '6' });
    expect(current.status).toBe(201);
    expect(await current.json()).toEqual([
      { successCount: 1, failureCount: 0, results: [{ channel: 'ok', messageId: expect.any(String) }] },
      {
        successCount: 1,
        failureCount: 1,
        results: [
          { channel: 'ok-too', messageId: expect.any(String) },
          { channel: 'stub-unavailable', error: expect.objectContaining({ code: 50003, statusCode: 503 }) },
        ],
      },
    ]);
    const legacy = await post('/messages', specs);
    expect(legacy.status).toBe(400);
    const { error } = (await legacy.json()) as { error: { code: number; batchResponse: unknown[] } };
    expect(error.code).toBe(40020);
    expect(error.batchResponse).toHaveLength(3);
  });

  it('tells ably-js the service time without credentials, as Ably’s GET /time does', async () => {
    const before = Date.now();
    const rest = new Ably.Rest({ endpoint: '127.0.0.1', port: stub.port, tls: false, useBinaryProtocol: false, token: 'unused' });
    const time = await rest.time();
    expect(time).toBeGreaterThanOrEqual(before);
    expect(time).toBeLessThanOrEqual(Date.now());
  });

  it('refuses a batch over 100 channels', async () => {
    const channels = Array.from({ length: 101 }, (_, i) => `c${i}`);
    const response = await post('/messages', { channels, messages: { name: 'x' } }, { 'X-Ably-Version': '6' });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { message: string } }).error.message).toBe('Too many channels: 101 (at most 100)');
  });
});
