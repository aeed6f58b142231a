/**
 * Structured logs for the whole Worker (routes, delivery, the realtime server): JSON lines at or
 * above LOG_LEVEL, so a host can filter and search them.
 */

/** Log levels in order; LOG_LEVEL picks the lowest one written. */
const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;
export type LogLevel = keyof typeof LEVELS;

/** A structured logger: one JSON line per entry. Callers pass ids and counts, never secrets or signatures. */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** A logger writing JSON lines at or above `level` (LOG_LEVEL; unknown values mean `info`), tagged with `base`. */
export function createLogger(level: unknown, base: Record<string, unknown> = {}): Logger {
  const threshold = LEVELS[(typeof level === 'string' && level in LEVELS ? level : 'info') as LogLevel];
  const write =
    (entryLevel: LogLevel) =>
    (msg: string, fields: Record<string, unknown> = {}) => {
      if (LEVELS[entryLevel] < threshold) return;
      const line = JSON.stringify({ level: entryLevel, msg, ...base, ...fields });
      // The matching console method, so a host's own level filter (wrangler --log-level) agrees.
      console[entryLevel](line);
    };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

/** An error's message for a log line or a sentence (a thrown non-Error as text). */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
