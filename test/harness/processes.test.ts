import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort } from '../support/node/processes.ts';

describe('freePort (the test helpers)', () => {
  it("picks ports outside the kernel's ephemeral range, where no connection's source port or listen(0) can take them first", async () => {
    // Linux says its range; macOS and Windows use IANA's 49152-65535.
    const linuxRange = '/proc/sys/net/ipv4/ip_local_port_range';
    const [low, high] = existsSync(linuxRange) ? readFileSync(linuxRange, 'utf8').trim().split(/\s+/).map(Number) : [49152, 65535];
    const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
    for (const port of ports) expect(port < low! || port > high!, `port ${port} in ${low}-${high}`).toBe(true);
    // And a server can listen on one.
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(ports[0], '127.0.0.1', resolve);
    });
    server.close();
  });
});
