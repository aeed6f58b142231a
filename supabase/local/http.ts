import type { IncomingMessage, ServerResponse } from 'node:http';

/** An error answered as JSON with a status, in the shape of the service that raises it. */
export class HttpError extends Error {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly headers: Record<string, string>;
  constructor(status: number, body: Record<string, unknown>, headers: Record<string, string> = {}) {
    super(String(body.message ?? body.msg ?? `HTTP ${status}`));
    this.status = status;
    this.body = body;
    this.headers = headers;
  }
}

/** The error for anything the local Supabase deliberately does not implement. */
export function notSupported(what: string): HttpError {
  return new HttpError(501, {
    code: 'not_supported',
    message: `${what} is not supported by the local Supabase (supabase/local). Use a real Supabase project for it.`,
    details: null,
    hint: 'See docs/local-supabase.md for what the local Supabase serves.',
  });
}

/** Reads a request body (up to 10 MB). */
export async function readBody(request: IncomingMessage, limit = 10 * 1024 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit)
      throw new HttpError(413, { code: 'PGRST413', message: `Request body larger than ${limit} bytes`, details: null, hint: null });
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Parses a JSON body, answering 400 with the parser's complaint. */
export function parseJson(text: string, code = 'PGRST102'): unknown {
  try {
    return text === '' ? undefined : JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, { code, message: `Invalid JSON body: ${(error as Error).message}`, details: null, hint: null });
  }
}

/** Sends a body (already JSON text, or a value to serialise); the CORS headers are already set on `response`. */
export function send(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  response.writeHead(status, {
    ...(text === '' ? {} : { 'Content-Type': 'application/json; charset=utf-8' }),
    ...headers,
  });
  response.end(text);
}
