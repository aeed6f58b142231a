import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { descendantsOf, isAlive } from '../support/node/processes.ts';
import { type RunningWorker, startWorker } from '../support/node/worker.ts';

describe('the wrangler dev test harness', () => {
  let worker: RunningWorker;
  beforeAll(async () => {
    worker = await startWorker();
  });
  afterAll(() => worker?.stop());

  it('serves the Worker with overridden vars and stops without leaving processes', async () => {
    const response = await fetch(`${worker.url}/healthz`);
    expect(response.status).toBe(200);
    const pids = [worker.pid, ...descendantsOf(worker.pid)];
    expect(pids.length).toBeGreaterThan(1);
    await worker.stop();
    // Nothing listens on the port any more.
    await expect(fetch(`${worker.url}/healthz`)).rejects.toMatchObject({ message: 'fetch failed', cause: { code: 'ECONNREFUSED' } });
    expect(pids.filter(isAlive)).toEqual([]);
  });

  it("fails naming wrangler's 'Address already in use' when its port is taken, the answer it retries on another port", async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as { port: number };
    try {
      await expect(startWorker({ port })).rejects.toThrow('Address already in use');
    } finally {
      taken.close();
    }
  });
});
