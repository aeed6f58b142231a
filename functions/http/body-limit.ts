/** Request body limits: the one way every route caps what it reads. */
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';

/** "128 KB" for whole kilobytes, "1500 bytes" otherwise. */
function size(bytes: number): string {
  return bytes % 1024 === 0 ? `${bytes / 1024} KB` : `${bytes} bytes`;
}

/**
 * Middleware that answers 413 once a body is over `maxBytes`: at once from a Content-Length, and
 * while streaming a chunked body, so an oversized body is never read whole.
 */
export function limitBody(maxBytes: number, what = 'The request body') {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new HTTPException(413, { message: `${what} is over ${size(maxBytes)}` });
    },
  });
}
