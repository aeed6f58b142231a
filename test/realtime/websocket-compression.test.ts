// Browsers offer permessage-deflate on every WebSocket, and workerd accepts it unless the Worker's
// compatibility flags decline it (`no_web_socket_compression` in wrangler.toml): compressing
// every frame once per socket nearly doubles a fan-out's time. Under wrangler dev and Miniflare
// an entry worker of theirs answers the handshake with its own flags, so this runs bare workerd
// with wrangler.toml's date and flags, the way Cloudflare runs the Worker.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import workerd from 'workerd';
import WebSocket from 'ws';
import { freePort } from '../support/node/processes.ts';
import { wranglerRuntimeConfig } from '../support/node/wrangler-config.ts';

const started: Array<{ child: ChildProcess; dir: string }> = [];
afterAll(() => {
  for (const { child, dir } of started) {
    child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
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
  const child = spawn(workerd, ['serve', join(dir, 'config.capnp')], { stdio: ['ignore', 'ignore', 'pipe'] });
  started.push({ child, dir });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // Listening, or why not: a workerd that exited shows its stderr in the failure.
  const state = async () =>
    child.exitCode !== null
      ? `exited with ${child.exitCode}: ${stderr}`
      : (await fetch(`http://127.0.0.1:${port}/`).then(
            () => true,
            () => false,
          ))
        ? 'listening'
        : 'starting';
  await expect.poll(state, { timeout: 5000, interval: 50 }).toBe('listening');
  return port;
}

/** The extensions a browser-like client (offering permessage-deflate) ends up with. */
async function negotiatedExtensions(port: number): Promise<string> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: true });
  try {
    await new Promise((resolve, reject) => {
      ws.once('message', resolve);
      ws.once('error', reject);
    });
    return ws.extensions;
  } finally {
    ws.close();
  }
}

describe('WebSocket compression under wrangler.toml’s compatibility flags', () => {
  const { compatibilityDate, compatibilityFlags } = wranglerRuntimeConfig();

  it('declines the permessage-deflate a browser offers', async () => {
    expect(await negotiatedExtensions(await serveWebSockets(compatibilityDate, compatibilityFlags))).toBe('');
  });

  it('would accept it without no_web_socket_compression', async () => {
    const withoutFlag = compatibilityFlags.filter((flag) => flag !== 'no_web_socket_compression');
    expect(await negotiatedExtensions(await serveWebSockets(compatibilityDate, withoutFlag))).toBe('permessage-deflate');
  });
});
