// The JavaScript heap of a workerd process, read over the Chrome DevTools protocol of its inspector
// (the `inspector` option of startBareWorkerd and startWorkerdFloor). A Durable Object is limited by
// its isolate's memory (128 MB on Cloudflare), which the process's RSS cannot show: RSS also holds
// workerd's own per-socket state outside the heap. Each Worker of a workerd config has one isolate,
// shared by its Durable Objects, and the inspector lists one target per isolate.
import WebSocket from 'ws';

/** A DevTools target as the inspector's `GET /json` lists it. */
interface Target {
  webSocketDebuggerUrl: string;
}

/** Used JavaScript heap in bytes behind an inspector (`host:port`): the sum over its isolates, each after full garbage collections. */
export async function usedHeapBytes(inspector: string): Promise<number> {
  const response = await fetch(`http://${inspector}/json`);
  if (!response.ok) throw new Error(`GET http://${inspector}/json: ${response.status}`);
  const targets = (await response.json()) as Target[];
  if (targets.length === 0) throw new Error(`the inspector on ${inspector} lists no targets`);
  let used = 0;
  for (const target of targets) used += await targetHeap(target.webSocketDebuggerUrl);
  return used;
}

/**
 * One isolate's used heap (Runtime.getHeapUsage) after gc() in its context, over a DevTools session
 * of its own. gc() runs at once (HeapProfiler.collectGarbage would wait for the isolate's next
 * request), three times: after single collections, readings in a row still fell by up to 0.1 MB
 * (the next collection freed more); after three, they were equal.
 */
async function targetHeap(url: string): Promise<number> {
  const socket = new WebSocket(url);
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  const pending = new Map<number, { resolve: (result: unknown) => void; reject: (error: Error) => void }>();
  const contexts: number[] = [];
  socket.on('message', (data) => {
    const message = JSON.parse(String(data)) as {
      id?: number;
      method?: string;
      params?: { context?: { id: number } };
      result?: unknown;
      error?: { message: string };
    };
    if (message.method === 'Runtime.executionContextCreated' && message.params?.context) contexts.push(message.params.context.id);
    const waiter = message.id === undefined ? undefined : pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id!);
    if (message.error) waiter.reject(new Error(`${url}: ${message.error.message}`));
    else waiter.resolve(message.result);
  });
  socket.once('close', () => {
    for (const waiter of pending.values()) waiter.reject(new Error(`${url}: the DevTools session closed`));
  });
  // An error after the handshake fails the calls waiting (the close follows), instead of going unheard.
  socket.on('error', (error) => {
    for (const waiter of pending.values()) waiter.reject(new Error(`${url}: ${error.message}`));
    pending.clear();
  });
  let next = 0;
  const call = <T>(method: string, params: object = {}) =>
    new Promise<T>((resolve, reject) => {
      const id = ++next;
      pending.set(id, { resolve: resolve as (result: unknown) => void, reject });
      socket.send(JSON.stringify({ id, method, params }));
    });
  try {
    // Enabling the Runtime domain reports the isolate's existing contexts before it answers.
    await call('Runtime.enable');
    if (contexts.length === 0) throw new Error(`${url}: no execution context to run gc() in`);
    const collected = await call<{ exceptionDetails?: { text: string } }>('Runtime.evaluate', {
      expression: 'gc(); gc(); gc()',
      contextId: contexts[0],
    });
    if (collected.exceptionDetails) throw new Error(`${url}: gc() failed (is --expose-gc set?): ${collected.exceptionDetails.text}`);
    return (await call<{ usedSize: number }>('Runtime.getHeapUsage')).usedSize;
  } finally {
    // Closed before the next reading opens a session of its own.
    if (socket.readyState !== WebSocket.CLOSED) await new Promise((resolve) => socket.once('close', resolve).close());
  }
}
