import { fileURLToPath } from 'node:url';
import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';
import { unstable_readConfig } from 'wrangler';
import { readDevVars } from './test/support/node/dev-vars.ts';

// The vitest plugin bundles with Vite, which ignores wrangler.toml's [alias] table; apply the same
// aliases here, read from wrangler.toml, so tests run exactly what `wrangler deploy` bundles.
const wranglerAliases = Object.fromEntries(
  Object.entries<string>(unstable_readConfig({ config: 'wrangler.toml' }).alias ?? {}).map(([name, target]) => [
    name,
    fileURLToPath(new URL(target, import.meta.url)),
  ]),
);

/** Apps beside the default one: three with webhooks to the receiver (one flaky, one counting subscriptions), one disabled, three with small limits, one never connected to. */
function realtimeTestApps(webhookPort: number) {
  const hooks = `http://127.0.0.1:${webhookPort}`;
  return [
    {
      id: 'hooks',
      key: 'hooks-key',
      secret: 'hooks-secret-for-tests',
      webhookUrl: `${hooks}/hooks`,
      clientEvents: true,
      webhookLeaveDelay: 1,
    },
    { id: 'flaky-hooks', key: 'flaky-hooks-key', secret: 'flaky-hooks-secret-for-tests', webhookUrl: `${hooks}/flaky/hooks` },
    {
      id: 'counted-hooks',
      key: 'counted-hooks-key',
      secret: 'counted-hooks-secret-for-tests',
      webhookUrl: `${hooks}/counted`,
      subscriptionCount: true,
    },
    { id: 'disabled', key: 'disabled-key', secret: 'disabled-secret-for-tests', enabled: false },
    // Small limits, for the tests that attack them.
    {
      id: 'strict',
      key: 'strict-key',
      secret: 'strict-secret-for-tests',
      clientEvents: true,
      maxChannelsPerConnection: 3,
      subscribesPerSecond: 5,
      newConnectionsPerAddressPerSecond: 3,
    },
    { id: 'crowded', key: 'crowded-key', secret: 'crowded-secret-for-tests', maxConnectionsPerAddress: 4 },
    { id: 'full', key: 'full-key', secret: 'full-secret-for-tests', maxConnections: 4 },
    // One shard that no test connects to: publishing must not need a socket to have reached it first.
    { id: 'publish-only', key: 'publish-only-key', secret: 'publish-only-secret-for-tests', shards: 1 },
  ];
}

/**
 * A project of tests inside workerd with the bindings from wrangler.toml and .dev.vars.example,
 * the test stubs' ports, and the realtime server spread over `shards` connection shards.
 */
function workerdProject(name: string, include: string[], shards: number) {
  return {
    plugins: [
      cloudflareTest(({ inject }) => ({
        wrangler: { configPath: './wrangler.toml' },
        miniflare: {
          bindings: {
            ...readDevVars(),
            PUSHER_API_STUB_PORT: String(inject('pusherApiStubPort')),
            ABLY_REST_STUB_PORT: String(inject('ablyRestStubPort')),
            SUPABASE_AUTH_STUB_PORT: String(inject('supabaseAuthStubPort')),
            WEBHOOK_RECEIVER_PORT: String(inject('webhookReceiverPort')),
            // Extra realtime apps for test/functions/realtime/ (webhooks, a disabled app).
            REALTIME_APPS: JSON.stringify(realtimeTestApps(inject('webhookReceiverPort'))),
            REALTIME_SHARDS: String(shards),
            // Every test client is one address: the default app lets them all in (the strict app does not).
            REALTIME_MAX_CONNECTIONS_PER_ADDRESS: '100000',
            REALTIME_NEW_CONNECTIONS_PER_ADDRESS_PER_SECOND: '100000',
          },
        },
      })),
    ],
    test: { name, include, globalSetup: ['test/support/node/global-setup.ts'] },
  };
}

/** The Node-side realtime suite (test/realtime/: pusher-js, Laravel Echo, raw frames) with this many shards. */
const NODE_REALTIME_SUITE = ['test/realtime/**/*.test.ts'];

export default defineConfig({
  // At the root: the workerd pool resolves modules (even a CommonJS `require`) through the root
  // Vite server's plugins.
  plugins: [
    {
      name: 'tidings:wrangler-aliases',
      enforce: 'pre',
      resolveId: (id) => wranglerAliases[id] ?? null,
    },
  ],
  test: {
    projects: [
      // test/functions/: unit and route tests inside workerd, one file per module of functions/.
      workerdProject('worker', ['test/functions/**/*.test.ts'], 1),
      // The realtime server again, its sockets spread over 8 connection shards.
      workerdProject('worker (8 shards)', ['test/functions/realtime/**/*.test.ts', 'test/functions/broadcast/drivers/realtime.test.ts'], 8),
      {
        // Node-side tests: the real local stack (integration/, realtime/, supabase/, scripts/), the web
        // client in Chromium (browser/) and its DOM-free modules (web/), and the test helpers (harness/).
        test: {
          name: 'node',
          include: [
            'test/integration/**/*.test.ts',
            ...NODE_REALTIME_SUITE,
            'test/supabase/**/*.test.ts',
            'test/scripts/**/*.test.ts',
            'test/browser/**/*.test.ts',
            'test/web/**/*.test.ts',
            'test/harness/**/*.test.ts',
          ],
          environment: 'node',
          globalSetup: ['test/support/node/postgres-setup.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        // The Node-side realtime suite again against a Worker whose sockets spread over 8 shards
        // (test/support/node/worker.ts passes TEST_REALTIME_SHARDS to wrangler dev).
        test: {
          name: 'node (8 shards)',
          include: NODE_REALTIME_SUITE,
          exclude: ['test/realtime/websocket-compression.test.ts'],
          env: { TEST_REALTIME_SHARDS: '8' },
          environment: 'node',
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
