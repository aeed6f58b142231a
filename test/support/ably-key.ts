// The Ably API key the tests use: the workerd tests give it to the Worker as ABLY_KEY, and the
// Ably REST stand-in (support/node/ably-rest-stub.ts) accepts only it. Not a real Ably key.
export const TEST_ABLY_KEY = 'tidingsTest.stubKey:tidings-test-ably-secret-not-for-production';
