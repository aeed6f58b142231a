import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Every live descendant of a process, read from /proc (Linux). */
export function descendantsOf(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Fields after the command name (which may contain spaces) start after the last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parentOf.set(Number(entry), Number(fields[1]));
    } catch {
      // The process ended while we looked.
    }
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const current = queue.shift()!;
    for (const [child, parent] of parentOf) {
      if (parent === current) {
        found.push(child);
        queue.push(child);
      }
    }
  }
  return found;
}

/** Whether a process is still running (a zombie counts as gone). */
export function isAlive(pid: number): boolean {
  try {
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/**
 * Test servers' ports come from below Linux's ephemeral range (32768-60999), from which the kernel
 * takes the source port of every outgoing connection and the port of every `listen(0)`: a port
 * picked there could be taken by another test's connection or server before its own server binds it.
 */
const TEST_PORTS = { from: 20_000, to: 32_000 };

/** A TCP port on 127.0.0.1 that nothing listens on right now, from {@link TEST_PORTS}. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = TEST_PORTS.from + Math.floor(Math.random() * (TEST_PORTS.to - TEST_PORTS.from));
    if (await listensOn(port)) return port;
  }
  throw new Error(`No free port between ${TEST_PORTS.from} and ${TEST_PORTS.to} on 127.0.0.1`);
}

/** Whether a server could listen on 127.0.0.1:`port` now (it listens and closes again). */
function listensOn(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * Runs `start` on a free port, trying another port if one is taken between pick and bind (by
 * another test's server, or as the source port of a connection).
 */
export async function onFreePort<T>(start: (port: number) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start(await freePort());
    } catch (error) {
      if (attempt === 3 || !/EADDRINUSE|address already in use/i.test(String(error))) throw error;
    }
  }
}

/**
 * Resolves with the first match of `pattern` in a child's stdout and stderr together; rejects with
 * the output after `timeoutMs`, or as soon as the child has ended without printing it.
 */
export function waitForOutput(child: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms; output:\n${output}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = pattern.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    // 'close' comes after the last output, so a match printed just before the end still counts.
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`exited (${signal ?? `code ${code}`}) without ${pattern}; output:\n${output}`));
    });
  });
}
