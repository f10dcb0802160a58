/**
 * Where log lines go: a port, so that services, the request core and the edges log without
 * knowing where the lines end up (stderr in `keyward serve`, a capturing logger in tests).
 * `fields` never holds request or response bodies, plaintext, key material or secrets
 * (docs/principles.md, 4).
 *
 * @example
 *   logger.error('saving key last-use times failed', { cause: String(error) })
 */
export interface Logger {
  /** Something an operator may want to know: a store connected, a job ran. */
  info(message: string, fields?: Record<string, unknown>): void
  /** A failure that needs attention, with the request ID when there is one. */
  error(message: string, fields?: Record<string, unknown>): void
  /** Detail for diagnosis (one line per request, per cache miss): off unless asked for. */
  debug(message: string, fields?: Record<string, unknown>): void
}

/**
 * A logger that writes one JSON line per event on stderr; debug lines only when `debug` is set.
 *
 * @example
 *   const logger = jsonLineLogger({ debug: process.env.KEYWARD_LOG_LEVEL === 'debug' })
 */
export function jsonLineLogger(options: { debug?: boolean } = {}): Logger {
  const line = (level: string, message: string, fields?: Record<string, unknown>) =>
    console.error(JSON.stringify({ level, message, ...fields }))
  return {
    info: (message, fields) => line('info', message, fields),
    error: (message, fields) => line('error', message, fields),
    debug: options.debug ? (message, fields) => line('debug', message, fields) : () => {},
  }
}
