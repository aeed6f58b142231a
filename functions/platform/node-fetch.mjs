/**
 * A stand-in for the `node-fetch` package inside workerd.
 *
 * The `pusher` SDK calls `require("node-fetch").default(url, init)` and passes Node-only options
 * (`agent`). wrangler's own polyfill has no default export, so the SDK fails with
 * "fetch2 is not a function"; wrangler.toml aliases `node-fetch` to this module instead.
 * Plain JavaScript (.mjs) because the test runner loads it untransformed from the SDK's `require`,
 * and `.mjs` is ESM without asking which package.json is nearest.
 */

/**
 * Calls the platform's `fetch`, dropping options that only mean something to Node's http agent.
 * @param {RequestInfo | URL} input
 * @param {RequestInit & { agent?: unknown }} [init]
 * @returns {Promise<Response>}
 */
function nodeFetch(input, init = {}) {
  const { agent: _agent, ...rest } = init;
  return fetch(input, rest);
}

// `require()` of this module yields the namespace in esbuild's bundle but the default export in
// the test runner; either way `.default` must be the function.
nodeFetch.default = nodeFetch;
export default nodeFetch;

export const Headers = globalThis.Headers;
export const Request = globalThis.Request;
export const Response = globalThis.Response;
