import { describe, expect, it } from 'vitest';
import { oncePer } from '../../../functions/platform/once-per.ts';

describe('oncePer', () => {
  it('makes the value once per key object and returns that same value afterwards', () => {
    const made: object[] = [];
    const settingsOf = oncePer((env: { name: string }) => {
      made.push(env);
      return { parsed: env.name.toUpperCase() };
    });
    const first = { name: 'a' };
    const second = { name: 'a' };
    const value = settingsOf(first);
    expect(value).toEqual({ parsed: 'A' });
    expect(settingsOf(first)).toBe(value);
    // Another object with equal content is another key.
    expect(settingsOf(second)).not.toBe(value);
    expect(made).toEqual([first, second]);
  });

  it('keeps nothing when making the value throws, so the next call tries again', () => {
    let calls = 0;
    const strict = oncePer((env: { ready: boolean }) => {
      calls++;
      if (!env.ready) throw new Error('SETTING is not set');
      return calls;
    });
    const env = { ready: false };
    expect(() => strict(env)).toThrow('SETTING is not set');
    env.ready = true;
    expect(strict(env)).toBe(2);
    expect(strict(env)).toBe(2);
  });

  it('passes the other arguments of the first call to the maker', () => {
    const shared = oncePer((config: object, level: string) => ({ config, level }));
    const config = {};
    expect(shared(config, 'debug')).toEqual({ config, level: 'debug' });
    expect(shared(config, 'error').level).toBe('debug');
  });
});
