import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type BenchServer, startWorkerdFloor } from '../support/bench/servers.ts';

// The benchmarks' workerd floor must do what the baseline does, on our workerd settings: a floor
// that dropped frames or accepted compression would make the comparison meaningless.
describe('the workerd floor of the benchmarks', () => {
  let floor: BenchServer;
  beforeAll(async () => {
    floor = await startWorkerdFloor();
  });
  afterAll(() => floor.stop());

  async function socket(): Promise<{ ws: WebSocket; frames: string[] }> {
    const ws = new WebSocket(`ws://127.0.0.1:${floor.port}/`, { perMessageDeflate: true });
    const frames: string[] = [];
    ws.on('message', (data: Buffer, isBinary: boolean) => frames.push(`${isBinary ? 'binary:' : ''}${data.toString()}`));
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    return { ws, frames };
  }

  it('sends each POST /trigger body as one text frame to every socket, declining the permessage-deflate they offer', async () => {
    const sockets = await Promise.all([socket(), socket(), socket()]);
    for (const body of ['{"round":1}', '{"round":2}']) {
      const answer = await fetch(`http://127.0.0.1:${floor.port}/trigger`, { method: 'POST', body });
      expect(answer.status).toBe(200);
    }
    await expect.poll(() => sockets.map(({ frames }) => frames.length)).toEqual([2, 2, 2]);
    for (const { ws, frames } of sockets) {
      expect(frames).toEqual(['{"round":1}', '{"round":2}']);
      expect(ws.extensions).toBe('');
      ws.close();
    }
  });

  it('forgets a closed socket, so a trigger after it still answers 200 and reaches the others', async () => {
    const [gone, staying] = await Promise.all([socket(), socket()]);
    const closed = new Promise((resolve) => gone.ws.once('close', resolve));
    gone.ws.close();
    await closed;
    await expect
      .poll(async () => {
        const answer = await fetch(`http://127.0.0.1:${floor.port}/trigger`, { method: 'POST', body: 'after' });
        return { status: answer.status, reached: staying.frames.includes('after') };
      })
      .toEqual({ status: 200, reached: true });
    staying.ws.close();
  });
});
