import { createHmac, timingSafeEqual } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalSupabase, type LocalSupabase, type LocalSupabaseOptions } from '../../../supabase/local/index.ts';
import { freePort } from './processes.ts';

/** The seeded development users (supabase/seed.sql). */
export const seedUsers = {
  admin: { id: '00000000-0000-4000-8000-00000000ad01', email: 'admin@tidings.local', password: 'password123' },
  ada: { id: '00000000-0000-4000-8000-0000000000a1', email: 'ada@tidings.local', password: 'password123' },
  grace: { id: '00000000-0000-4000-8000-0000000000b2', email: 'grace@tidings.local', password: 'password123' },
} as const;

/** A local Supabase on free ports with a fresh data folder, for one test file. */
export interface TestSupabase extends LocalSupabase {
  dataDir: string;
  dbPort: number;
  /** Stops it and deletes its data folder. */
  destroy: () => Promise<void>;
}

/** Starts a local Supabase in a temporary folder on free ports. */
export async function startTestSupabase(options: Partial<LocalSupabaseOptions> = {}): Promise<TestSupabase> {
  const parent = await mkdtemp(join(tmpdir(), 'tidings-supabase-'));
  // As root, Postgres runs as the `postgres` user, which must reach the folder mkdtemp made private.
  await chmod(parent, 0o755);
  const dataDir = join(parent, 'db');
  const dbPort = await freePort();
  const supabase = await startLocalSupabase({ dataDir, dbPort, apiPort: 0, ...options });
  return {
    ...supabase,
    dataDir,
    dbPort,
    destroy: async () => {
      await supabase.stop();
      await rm(parent, { recursive: true, force: true });
    },
  };
}

/** One request the webhook receiver got. */
export interface ReceivedWebhook {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The raw body, exactly as sent (the signature covers these bytes). */
  body: string;
  receivedAt: number;
}

/** A Node HTTP server standing in for the Worker's /webhooks/db, recording what arrives. */
export async function startWebhookReceiver(): Promise<{ url: string; received: ReceivedWebhook[]; waitFor: (count: number, timeoutMs?: number) => Promise<ReceivedWebhook[]>; close: () => Promise<void> }> {
  const received: ReceivedWebhook[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ method: request.method!, path: request.url!, headers: request.headers, body: Buffer.concat(chunks).toString('utf8'), receivedAt: Date.now() });
      response.writeHead(200, { 'Content-Type': 'application/json' }).end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/webhooks/db`,
    received,
    waitFor: async (count, timeoutMs = 20_000) => {
      const deadline = Date.now() + timeoutMs;
      while (received.length < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      if (received.length < count) throw new Error(`expected ${count} webhooks, got ${received.length} within ${timeoutMs} ms`);
      return received;
    },
    close: () => new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

/** Checks X-Tidings-Signature the way the Worker must: hex HMAC-SHA256 of `${timestamp}.${body}`. */
export function verifyWebhookSignature(headers: IncomingHttpHeaders, body: string, secret: string): boolean {
  const timestamp = headers['x-tidings-timestamp'];
  const signature = headers['x-tidings-signature'];
  if (typeof timestamp !== 'string' || typeof signature !== 'string' || !/^\d+$/.test(timestamp)) return false;
  const expected = `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
  return expected.length === signature.length && timingSafeEqual(Buffer.from(expected), Buffer.from(signature));
}
