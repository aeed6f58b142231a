// Browsers offer permessage-deflate on every WebSocket, and workerd accepts it unless the Worker's
// compatibility flags decline it (`no_web_socket_compression` in wrangler.toml): compressing
// every frame once per socket nearly doubles a fan-out's time. Under wrangler dev and Miniflare
// an entry worker of theirs answers the handshake with its own flags, so this runs bare workerd
// with wrangler.toml's date and flags, the way Cloudflare runs the Worker: first a trivial Worker
// (the flag itself), then the real Worker's deploy bundle on the Pusher endpoint (the flag reaches
// the sockets our Durable Objects accept).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { deployBundle, type RunningWorkerd, startBareWorkerd, startWorkerdConfig } from '../support/node/bare-workerd.ts';
import { freePort } from '../support/node/processes.ts';
import { wranglerRuntimeConfig } from '../support/node/wrangler-config.ts';

const started: RunningWorkerd[] = [];
afterAll(async () => {
  await Promise.all(started.map((workerd) => workerd.stop()));
});

/** Bare workerd serving a Worker that accepts every WebSocket, with these compatibility settings. */
async function serveWebSockets(compatibilityDate: string, compatibilityFlags: string[]): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'tidings-workerd-'));
  const port = await freePort();
  writeFileSync(
    join(dir, 'worker.js'),
    `export default {
    fetch() {
      const [client, server] = Object.values(new WebSocketPair());
      server.accept();
      server.send('hello');
      return new Response(null, { status: 101, webSocket: client });
    },
  };`,
  );
  writeFileSync(
    join(dir, 'config.capnp'),
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "main", worker = .worker)],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);
const worker :Workerd.Worker = (
  modules = [(name = "worker", esModule = embed "worker.js")],
  compatibilityDate = ${JSON.stringify(compatibilityDate)},
  compatibilityFlags = ${JSON.stringify(compatibilityFlags)},
);`,
  );
  const workerd = await startWorkerdConfig(dir, port);
  started.push(workerd);
  return workerd.port;
}

/** The real Worker (the `wrangler deploy` bundle) in bare workerd, with these compatibility flags. */
async function serveWorker(compatibilityFlags: string[]): Promise<number> {
  const workerd = await startBareWorkerd({ compatibilityFlags, vars: { LOG_LEVEL: 'error' } });
  started.push(workerd);
  return workerd.port;
}

/** The first frame and the extensions a browser-like client (offering permessage-deflate) ends up with. */
async function handshake(url: string): Promise<{ frame: string; extensions: string }> {
  const ws = new WebSocket(url, { perMessageDeflate: true });
  try {
    const frame = await new Promise<string>((resolve, reject) => {
      ws.once('message', (raw: Buffer) => resolve(raw.toString()));
      ws.once('error', reject);
    });
    return { frame, extensions: ws.extensions };
  } finally {
    ws.close();
  }
}

/** What pusher-js 8.6.0 opens. */
const pusherPath = '/app/tidings-local-key?protocol=7&client=js&version=8.6.0';

describe('WebSocket compression under wrangler.toml’s compatibility flags', () => {
  const { compatibilityDate, compatibilityFlags } = wranglerRuntimeConfig();
  const withoutFlag = compatibilityFlags.filter((flag) => flag !== 'no_web_socket_compression');

  describe('a Worker that accepts every WebSocket', () => {
    it('declines the permessage-deflate a browser offers', async () => {
      const port = await serveWebSockets(compatibilityDate, compatibilityFlags);
      expect((await handshake(`ws://127.0.0.1:${port}/`)).extensions).toBe('');
    });

    it('would accept it without no_web_socket_compression', async () => {
      const port = await serveWebSockets(compatibilityDate, withoutFlag);
      expect((await handshake(`ws://127.0.0.1:${port}/`)).extensions).toBe('permessage-deflate');
    });
  });

  describe('the Worker’s deploy bundle, on the Pusher endpoint /app/{key}', () => {
    // `wrangler deploy --dry-run` takes a few seconds; once for both tests.
    let bundle = '';
    beforeAll(() => {
      bundle = deployBundle();
    });
    afterAll(async () => {
      await Promise.all(started.splice(0).map((workerd) => workerd.stop()));
      rmSync(bundle, { recursive: true, force: true });
    });

    it('establishes the Pusher connection and declines the permessage-deflate a browser offers', async () => {
      const port = await serveWorker(compatibilityFlags);
      const { frame, extensions } = await handshake(`ws://127.0.0.1:${port}${pusherPath}`);
      expect(JSON.parse(frame)).toMatchObject({ event: 'pusher:connection_established' });
      expect(extensions).toBe('');
    });

    it('would accept it without no_web_socket_compression', async () => {
      const port = await serveWorker(withoutFlag);
      const { frame, extensions } = await handshake(`ws://127.0.0.1:${port}${pusherPath}`);
      expect(JSON.parse(frame)).toMatchObject({ event: 'pusher:connection_established' });
      expect(extensions).toBe('permessage-deflate');
    });
  });
});
