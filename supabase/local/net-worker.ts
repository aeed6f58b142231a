import pg from 'pg';

/** pg_net's batch size: at most this many requests are taken from the queue at a time. */
const BATCH_SIZE = 200;
/** pg_net keeps responses for 6 hours (its `pg_net.ttl`). */
const RESPONSE_TTL = '6 hours';

interface QueuedRequest {
  id: string;
  method: string;
  url: string;
  headers: Record<string, string> | null;
  body: Buffer | null;
  timeout_milliseconds: number;
}

interface StoredResponse {
  id: string;
  status_code: number | null;
  content_type: string | null;
  headers: Record<string, string> | null;
  content: string | null;
  timed_out: boolean | null;
  error_msg: string | null;
}

/** The running worker. */
export interface NetWorker {
  /** Resolves when nothing is queued and no batch is in flight. */
  idle: () => Promise<void>;
  stop: () => Promise<void>;
}

/**
 * pg_net's background worker, in Node: LISTENs for `pg_net_wake` (sent by net.wake() when a
 * transaction that queued requests commits), takes up to 200 requests from net.http_request_queue,
 * deleting them first (at most once, as pg_net: no retries), sends them concurrently, and stores
 * each outcome in net._http_response. It keeps taking batches until the queue is empty, so a burst
 * drains completely, and drains once at start for requests queued while it was down.
 */
export async function startNetWorker(options: { databaseUrl: string; log?: (line: string) => void }): Promise<NetWorker> {
  const log = options.log ?? (() => undefined);
  let listener: pg.Client | null = null;
  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 2, application_name: 'pg_net worker' });
  let stopped = false;
  let running: Promise<void> | null = null;
  let wakeAgain = false;
  let lastCleanup = 0;

  const drain = async () => {
    do {
      wakeAgain = false;
      for (;;) {
        if (stopped) return;
        const batch = await pool.query<QueuedRequest>(
          `delete from net.http_request_queue
           where id in (select id from net.http_request_queue order by id limit $1 for update skip locked)
           returning id, method, url, headers, body, timeout_milliseconds`,
          [BATCH_SIZE],
        );
        if (batch.rows.length === 0) break;
        const responses = await Promise.all(batch.rows.map(send));
        await pool.query(
          `insert into net._http_response (id, status_code, content_type, headers, content, timed_out, error_msg)
           select id, status_code, content_type, headers, content, timed_out, error_msg
           from jsonb_to_recordset($1::jsonb) as r(id bigint, status_code int, content_type text, headers jsonb,
                content text, timed_out bool, error_msg text)`,
          [JSON.stringify(responses)],
        );
        if (batch.rows.length < BATCH_SIZE) break;
      }
      if (Date.now() - lastCleanup > 60_000) {
        lastCleanup = Date.now();
        await pool.query(`delete from net._http_response where created < now() - interval '${RESPONSE_TTL}'`);
      }
    } while (wakeAgain && !stopped);
  };

  const wake = () => {
    if (stopped) return;
    if (running) {
      wakeAgain = true;
      return;
    }
    running = drain()
      .catch((error: unknown) => log(`pg_net worker: ${(error as Error).message}`))
      .finally(() => {
        running = null;
        if (wakeAgain) wake();
      });
  };

  // A lost LISTEN connection (the database restarted) is re-established, then the queue drained.
  const listen = async (): Promise<void> => {
    const client = new pg.Client({ connectionString: options.databaseUrl, application_name: 'pg_net worker' });
    client.on('notification', wake);
    client.on('error', (error) => log(`pg_net worker connection: ${error.message}`));
    await client.connect();
    await client.query('listen pg_net_wake');
    client.on('end', () => {
      if (stopped) return;
      log('pg_net worker: lost its database connection; reconnecting');
      const retry = () => void listen().catch(() => !stopped && setTimeout(retry, 1000));
      setTimeout(retry, 500);
    });
    listener = client;
    wake();
  };
  pool.on('error', (error) => log(`pg_net worker pool: ${error.message}`));
  await listen();

  return {
    idle: async () => {
      while (running) await running;
    },
    stop: async () => {
      stopped = true;
      await running;
      await listener?.end().catch(() => undefined);
      await pool.end().catch(() => undefined);
    },
  };
}

async function send(request: QueuedRequest): Promise<StoredResponse> {
  const failed = (message: string, timedOut: boolean): StoredResponse => ({
    id: request.id,
    status_code: null,
    content_type: null,
    headers: null,
    content: null,
    timed_out: timedOut,
    error_msg: message,
  });
  try {
    const response = await fetch(request.url, {
      method: request.method.toUpperCase(),
      headers: { 'User-Agent': 'pg_net/0.19.5 (tidings local)', ...(request.headers ?? {}) },
      body: request.body && request.method.toUpperCase() !== 'GET' ? new Uint8Array(request.body) : null,
      signal: AbortSignal.timeout(request.timeout_milliseconds),
      redirect: 'manual',
    });
    const content = await response.text();
    const headers: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      headers[name] = value;
    });
    return {
      id: request.id,
      status_code: response.status,
      content_type: response.headers.get('content-type'),
      headers,
      content,
      timed_out: false,
      error_msg: null,
    };
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'TimeoutError' || name === 'AbortError') {
      return failed(`Timeout of ${request.timeout_milliseconds} ms reached`, true);
    }
    const cause = (error as Error & { cause?: Error }).cause;
    return failed(`${(error as Error).message}${cause ? `: ${cause.message}` : ''}`, false);
  }
}
