// The Ably API key the tests use: the workerd tests give it to the Worker as ABLY_KEY, and the
// Ably REST stand-in (support/node/ably-rest-stub.ts) accepts only it. Not a real Ably key.
export const TEST_ABLY_KEY = 'tidingsTest.stubKey:tidings-test-ably-secret-not-for-production';

/** Settings that point the Worker's `ably` broadcaster at the Ably stand-in listening on `port`. */
export function ablyStubVars(port: number | string): Record<string, string> {
  return { BROADCAST_DRIVER: 'ably', ABLY_KEY: TEST_ABLY_KEY, ABLY_HOST: '127.0.0.1', ABLY_PORT: String(port), ABLY_SCHEME: 'http' };
}
