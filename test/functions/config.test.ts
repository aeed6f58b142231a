import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { ablyKey, ConfigError, loadConfig } from '../../functions/config.ts';
import { SECRET_SETTINGS } from '../../functions/secret-settings.ts';
import { envWith } from '../support/workerd/env.ts';

/** Secrets of one's own, as production must have (the development ones are refused there). */
const productionSecrets = {
  PUSHER_APP_SECRET: 'a-production-secret-of-our-own',
  SUPABASE_SERVICE_ROLE_KEY: 'a-production-service-role-key',
  SUPABASE_JWT_SECRET: '',
  DB_WEBHOOK_SECRET: 'a-production-webhook-secret',
};

describe('configuration', () => {
  it('reads the documented development settings', () => {
    const config = loadConfig(env);
    expect(config).toMatchObject({
      appEnv: 'development',
      broadcastDriver: 'realtime',
      pusher: { appId: '1001', key: 'tidings-local-key', host: '127.0.0.1', port: 8787, useTLS: false },
      supabase: { url: 'http://127.0.0.1:54321' },
      redelivery: { graceSeconds: 30, batch: 200 },
    });
    expect(config.devUsers.length).toBeGreaterThan(0);
  });

  it.each(['PUSHER_APP_SECRET', 'SUPABASE_SERVICE_ROLE_KEY', 'DB_WEBHOOK_SECRET'] as const)(
    'says how to set the secret %s when it is missing',
    (name) => {
      expect(() => loadConfig(envWith({ [name]: '' }))).toThrow(
        new ConfigError(`${name} is not set: run "wrangler secret put ${name}" or add it to .dev.vars`),
      );
    },
  );

  it('knows every secret by the name of a setting the Worker is given (.dev.vars.example declares each one)', () => {
    expect(Object.keys(env)).toEqual(expect.arrayContaining([...SECRET_SETTINGS]));
  });

  it('says where to set a missing plain setting', () => {
    expect(() => loadConfig(envWith({ SUPABASE_URL: '' }))).toThrow(
      'SUPABASE_URL is not set: add it to [vars] in wrangler.toml or to .dev.vars',
    );
  });

  it('refuses an unknown broadcaster and malformed numbers, quoting the value', () => {
    expect(() => loadConfig(envWith({ BROADCAST_DRIVER: 'kafka' }))).toThrow(
      'BROADCAST_DRIVER is invalid ("kafka"): use one of realtime, pusher, ably, log, null',
    );
    expect(() => loadConfig(envWith({ REDELIVERY_BATCH: 'lots' }))).toThrow(/^REDELIVERY_BATCH is invalid/);
    expect(() => loadConfig(envWith({ PUSHER_ENCRYPTION_MASTER_KEY_BASE64: 'short' }))).toThrow(/32 random bytes/);
  });

  it('offers development logins only in development', () => {
    expect(loadConfig(envWith({ APP_ENV: 'production', ...productionSecrets })).devUsers).toEqual([]);
  });

  it('defaults to production, the realtime broadcaster, TLS and hosted Pusher’s cluster when unset', () => {
    const config = loadConfig(
      envWith({ APP_ENV: '', BROADCAST_DRIVER: '', PUSHER_SCHEME: '', PUSHER_HOST: '', PUSHER_PORT: '', ...productionSecrets }),
    );
    expect(config).toMatchObject({
      appEnv: 'production',
      broadcastDriver: 'realtime',
      pusher: { useTLS: true, host: '', port: undefined, cluster: 'mt1' },
    });
  });
});

describe('configuration of the ably broadcaster', () => {
  it('needs ABLY_KEY only when BROADCAST_DRIVER is ably, and says how to set it', () => {
    const notSet = new ConfigError('ABLY_KEY is not set: run "wrangler secret put ABLY_KEY" or add it to .dev.vars');
    const realtime = loadConfig(envWith({ ABLY_KEY: '' }));
    expect(realtime.ably.key).toBeUndefined();
    // Asked for under another driver (Ably's REST client, its token signer), the key is missing with the same sentence.
    expect(() => ablyKey(realtime)).toThrow(notSet);
    expect(() => loadConfig(envWith({ BROADCAST_DRIVER: 'ably', ABLY_KEY: '' }))).toThrow(notSet);
    expect(ablyKey(loadConfig(envWith({ BROADCAST_DRIVER: 'ably', ABLY_KEY: 'appA.keyB:s3cr3t' })))).toEqual({
      name: 'appA.keyB',
      secret: 's3cr3t',
    });
  });

  it('refuses a malformed ABLY_KEY without quoting it', () => {
    const error = (() => {
      try {
        loadConfig(envWith({ BROADCAST_DRIVER: 'ably', ABLY_KEY: 'only-the-secret-part' }));
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error?.message).toBe('ABLY_KEY is malformed: use the whole API key from the Ably dashboard, appId.keyId:keySecret');
  });

  it('splits the key into its public name and secret, and defaults to Ably’s host over TLS with 8-hour tokens', () => {
    const config = loadConfig(
      envWith({
        BROADCAST_DRIVER: 'ably',
        ABLY_KEY: 'appA.keyB:s3cr3t:with:colons',
        ABLY_HOST: '',
        ABLY_PORT: '',
        ABLY_SCHEME: '',
        ABLY_TOKEN_EXPIRY: '',
      }),
    );
    expect(config.ably).toEqual({
      key: { name: 'appA.keyB', secret: 's3cr3t:with:colons' },
      host: 'main.realtime.ably.net',
      port: 443,
      useTLS: true,
      tokenTtlSeconds: 28_800,
    });
    expect(() => loadConfig(envWith({ ABLY_TOKEN_EXPIRY: '90000' }))).toThrow(/^ABLY_TOKEN_EXPIRY is invalid \("90000"\)/);
  });
});

describe('configuration in production', () => {
  it('refuses to start while a secret still has its public development value, naming it', () => {
    // The test bindings are .dev.vars.example's, development secrets included.
    expect(() => loadConfig(envWith({ APP_ENV: 'production' }))).toThrow(
      new ConfigError(
        'PUSHER_APP_SECRET still has its public development value from .dev.vars.example, and APP_ENV is production: run "wrangler secret put PUSHER_APP_SECRET" with a value of your own',
      ),
    );
    for (const name of ['SUPABASE_SERVICE_ROLE_KEY', 'SUPABASE_JWT_SECRET', 'DB_WEBHOOK_SECRET'] as const) {
      const devValue = { ...productionSecrets, [name]: env[name] };
      expect(() => loadConfig(envWith({ APP_ENV: 'production', ...devValue }))).toThrow(`${name} still has its public development value`);
    }
    expect(loadConfig(envWith({ APP_ENV: 'production', ...productionSecrets })).appEnv).toBe('production');
  });

  it('allows the development values in development', () => {
    expect(loadConfig(envWith({ APP_ENV: 'development' })).pusher.secret).toBe(env.PUSHER_APP_SECRET);
  });
});
