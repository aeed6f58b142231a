import { describe, expect, it } from 'vitest';
import { decodeClientMessage, frame, jsonDepth } from '../../../functions/realtime/frames.ts';

describe('wire frames', () => {
  it('decodes client frames or names the problem', () => {
    expect(decodeClientMessage('{"event":"pusher:ping","data":{}}')).toEqual({ event: 'pusher:ping', data: {} });
    expect(decodeClientMessage('[1]')).toBe('Invalid message: expected a JSON object with an "event" string');
    expect(decodeClientMessage('{"event":"x","channel":5}')).toBe('Invalid message: "channel" must be a string, got 5');
  });

  it('builds protocol events with data as a JSON string, as pusher-js expects', () => {
    expect(JSON.parse(frame.connectionEstablished('1.2', 30))).toEqual({
      event: 'pusher:connection_established',
      data: '{"socket_id":"1.2","activity_timeout":30}',
    });
    expect(JSON.parse(frame.subscriptionError('private-a', 401, 'no'))).toEqual({
      event: 'pusher:subscription_error',
      channel: 'private-a',
      data: JSON.stringify({ type: 'AuthError', error: 'no', status: 401 }),
    });
    expect(JSON.parse(frame.event('presence-a', 'client-x', { a: 1 }, 'u1'))).toEqual({
      event: 'client-x',
      channel: 'presence-a',
      data: { a: 1 },
      user_id: 'u1',
    });
    expect(JSON.parse(frame.event('news', 'tick', '{"n":1}'))).toEqual({ event: 'tick', channel: 'news', data: '{"n":1}' });
  });

  it('measures nesting without parsing, ignoring brackets inside strings', () => {
    expect(jsonDepth('{"event":"x","data":{"a":[1,[2]]}}')).toBe(4);
    expect(jsonDepth('{"data":"[[[[{{{{\\"]]"}')).toBe(1);
    expect(jsonDepth('[]')).toBe(1);
    expect(decodeClientMessage(`{"event":"client-x","data":${'['.repeat(40)}${']'.repeat(40)}}`)).toBe(
      'Message nested too deep: at most 32 levels of arrays and objects',
    );
  });
});
