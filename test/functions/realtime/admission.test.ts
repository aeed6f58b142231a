import { afterEach, describe, expect, it } from 'vitest';
import { Admissions } from '../../../functions/realtime/admission.ts';
import { freshAddress as newAddress } from '../../support/workerd/realtime.ts';
import { RawClient } from '../../support/workerd/realtime-client.ts';

/** Apps of vitest.config.ts: crowded allows 4 connections per address, strict 3 new ones per address a second. */
const open: RawClient[] = [];

async function connect(address: string, key = 'strict-key'): Promise<RawClient> {
  const client = await RawClient.connect(key, undefined, address);
  open.push(client);
  return client;
}

afterEach(() => {
  for (const client of open.splice(0)) client.close();
});

describe('connection admission', () => {
  it('refuses a connection over the per-address limit with 4004 naming the setting, while other addresses still connect', async () => {
    const attacker = newAddress();
    for (let i = 0; i < 4; i++) await (await connect(attacker, 'crowded-key')).socketId();
    const extra = await connect(attacker, 'crowded-key');
    const closed = await extra.waitClosed();
    expect(closed.code).toBe(4004);
    expect(closed.reason).toContain('connections from one address');
    const user = await connect(newAddress(), 'crowded-key');
    expect(await user.socketId()).toMatch(/^\d+\.\d+$/);
  });

  it('refuses new connections over the per-address rate with 4100 (back off and retry), while other addresses still connect', async () => {
    const attacker = newAddress();
    const clients = await Promise.all(Array.from({ length: 4 }, () => connect(attacker)));
    const codes = await Promise.all(
      clients.map((client) => Promise.race([client.socketId().then(() => 'open'), client.waitClosed().then((c) => c.code)])),
    );
    expect(codes.filter((code) => code === 'open')).toHaveLength(3);
    expect(codes.filter((code) => code === 4100)).toHaveLength(1);
    const user = await connect(newAddress());
    expect(await user.socketId()).toMatch(/^\d+\.\d+$/);
  });
});

describe('the admission counts', () => {
  const limits = { maxConnections: 5, maxConnectionsPerAddress: 3, newConnectionsPerAddressPerSecond: 100 };

  it('hold across shards: absolute reports, never increments, so a repeated report counts once', () => {
    const admissions = new Admissions();
    expect(admissions.admit(limits, 0, { total: 0, address: 'a', fromAddress: 0 }, 0)).toEqual({ admitted: true });
    expect(admissions.admit(limits, 1, { total: 0, address: 'a', fromAddress: 0 }, 0)).toEqual({ admitted: true });
    admissions.report(1, { total: 1, address: 'a', fromAddress: 1 });
    expect(admissions.admit(limits, 2, { total: 0, address: 'a', fromAddress: 0 }, 0)).toEqual({ admitted: true });
    expect(admissions.admit(limits, 2, { total: 1, address: 'a', fromAddress: 1 }, 0)).toMatchObject({ admitted: false, code: 4004 });
    expect(admissions.admit(limits, 2, { total: 1, address: 'b', fromAddress: 0 }, 0)).toEqual({ admitted: true });
    expect(admissions.total()).toBe(4);
    admissions.report(0, { total: 0, address: 'a', fromAddress: 0 });
    expect(admissions.admit(limits, 0, { total: 0, address: 'a', fromAddress: 0 }, 0)).toEqual({ admitted: true });
    expect(admissions.admit(limits, 0, { total: 2, address: 'c', fromAddress: 0 }, 0)).toMatchObject({
      admitted: false,
      code: 4004,
      reason: expect.stringContaining('REALTIME_MAX_CONNECTIONS'),
    });
  });
});
