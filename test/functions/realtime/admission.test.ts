import { evictDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it } from 'vitest';
import { Admissions, clientAddress } from '../../../functions/realtime/admission.ts';
import { directoryObject } from '../../../functions/realtime/placement.ts';
import { freshAddress as newAddress, realtimeApp, shard, shardOf } from '../../support/workerd/realtime.ts';
import { RawClient } from '../../support/workerd/realtime-client.ts';

/** Apps of vitest.config.ts: crowded allows 4 connections per address, strict 3 new ones per address a second. */
const open: RawClient[] = [];

async function connect(address: string, key = 'strict-key'): Promise<RawClient> {
  const client = await RawClient.connect(key, undefined, address);
  open.push(client);
  return client;
}

/** How a connection was answered: admitted, or closed with this code. */
function admittedOrCode(client: RawClient): Promise<'admitted' | number> {
  return Promise.any([client.socketId().then(() => 'admitted' as const), client.waitClosed().then((closed) => closed.code)]);
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

  it('keeps the limits app-wide when the directory is evicted: it recounts every shard before admitting', async () => {
    const attacker = newAddress();
    const placed = new Set<number>();
    for (let i = 0; i < 4; i++) placed.add(await shardOf(await (await connect(attacker, 'crowded-key')).socketId(), 'crowded'));
    const shards = realtimeApp('crowded').shards;
    // With several shards the directory holds the counts; with one, the shard itself (evicted instead).
    await evictDurableObject(shards > 1 ? directoryObject(env, 'crowded') : shard(0, 'crowded'));
    const extra = await connect(attacker, 'crowded-key');
    // Admitted by mistake, it would stay open: the wait fails within the test's time, naming its frames.
    const closed = await extra.waitClosed(3000);
    expect(closed.code).toBe(4004);
    expect(closed.reason).toContain('connections from one address');
    if (shards > 1) expect(placed.size).toBeGreaterThan(1);
  });

  it('holds REALTIME_MAX_CONNECTIONS app-wide across shards, and a socket closed on any shard frees its place', async () => {
    const held = await Promise.all(Array.from({ length: 4 }, () => connect(newAddress(), 'full-key')));
    const placed = new Set(await Promise.all(held.map(async (client) => shardOf(await client.socketId(), 'full'))));
    if (realtimeApp('full').shards > 1) expect(placed.size).toBeGreaterThan(1);
    const extra = await connect(newAddress(), 'full-key');
    const refused = await extra.waitClosed();
    expect(refused.code).toBe(4004);
    expect(refused.reason).toContain('REALTIME_MAX_CONNECTIONS');
    held[0]!.close();
    // The shard reports its count once it has handled the close; from then on a connection gets in.
    await expect.poll(async () => admittedOrCode(await connect(newAddress(), 'full-key'))).toBe('admitted');
    expect(await admittedOrCode(await connect(newAddress(), 'full-key'))).toBe(4004);
  });

  it('counts IPv6 clients by their /64, so a fresh address for every connection does not get round the limit', async () => {
    // One subscriber's /64, never used by another test: a random third group.
    const prefix = `2001:db8:${Math.floor(Math.random() * 0xffff).toString(16)}:7`;
    for (let i = 1; i <= 4; i++) await (await connect(`${prefix}::${i}`, 'crowded-key')).socketId();
    const extra = await connect(`${prefix}:ffff:ffff:ffff:ffff`, 'crowded-key');
    expect((await extra.waitClosed()).code).toBe(4004);
    const neighbour = await connect(`${prefix.slice(0, -1)}8::1`, 'crowded-key');
    expect(await neighbour.socketId()).toMatch(/^\d+\.\d+$/);
  });

  it('refuses new connections over the per-address rate with 4100 (back off and retry), while other addresses still connect', async () => {
    const attacker = newAddress();
    // 7 at once: even if a second boundary splits them, one second gets 4 or more.
    const clients = await Promise.all(Array.from({ length: 7 }, () => connect(attacker)));
    const codes = await Promise.all(
      clients.map((client) => Promise.race([client.socketId().then(() => 'open'), client.waitClosed().then((c) => c.code)])),
    );
    expect(codes.filter((code) => code !== 'open' && code !== 4100)).toEqual([]);
    expect(codes.filter((code) => code === 'open').length).toBeGreaterThanOrEqual(3);
    expect(codes.filter((code) => code === 4100).length).toBeGreaterThanOrEqual(1);
    const user = await connect(newAddress());
    expect(await user.socketId()).toMatch(/^\d+\.\d+$/);
  });
});

describe('the address a client is counted under', () => {
  it('is an IPv4 address as it is, an IPv6 address by its /64, and one address for clients without CF-Connecting-IP', () => {
    expect(clientAddress('203.0.113.9')).toBe('203.0.113.9');
    expect(clientAddress('2001:DB8:1:2:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:1:2::/64');
    expect(clientAddress('2001:db8:1:2::7')).toBe('2001:db8:1:2::/64');
    expect(clientAddress('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientAddress('[2001:db8:0:0:1::1%eth0]')).toBe('2001:db8:0:0::/64');
    expect(clientAddress('::1')).toBe('0:0:0:0::/64');
    expect(clientAddress('::ffff:203.0.113.9')).toBe('203.0.113.9');
    expect(clientAddress('::ffff:cb00:7109')).toBe('203.0.113.9');
    expect(clientAddress(undefined)).toBe('unknown');
    expect(clientAddress('')).toBe('unknown');
    // Not an address (only a local client can send one): counted as it is, cut short.
    expect(clientAddress('1:2:3::4::5')).toBe('1:2:3::4::5');
    expect(clientAddress('x'.repeat(500))).toHaveLength(64);
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

  it('take a recount from shard censuses, except what a shard reported while it ran (newer)', () => {
    const admissions = new Admissions();
    admissions.beginRecount();
    admissions.report(1, { total: 1, address: 'a', fromAddress: 1 });
    admissions.restore(0, {
      total: 3,
      byAddress: [
        { address: 'a', count: 2 },
        { address: 'b', count: 1 },
      ],
    });
    // Shard 1's census was taken before its report: its total and its count for 'a' are stale.
    admissions.restore(1, {
      total: 4,
      byAddress: [
        { address: 'a', count: 3 },
        { address: 'c', count: 1 },
      ],
    });
    admissions.endRecount();
    expect(admissions.total()).toBe(4);
    expect(admissions.admit(limits, 2, { total: 0, address: 'a', fromAddress: 0 }, 0)).toMatchObject({ admitted: false, code: 4004 });
    expect(admissions.admit(limits, 2, { total: 0, address: 'c', fromAddress: 0 }, 0)).toEqual({ admitted: true });
    expect(admissions.admit(limits, 2, { total: 1, address: 'd', fromAddress: 0 }, 0)).toMatchObject({
      admitted: false,
      reason: expect.stringContaining('REALTIME_MAX_CONNECTIONS'),
    });
  });
});
