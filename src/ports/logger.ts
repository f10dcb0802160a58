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
  /** False when debug lines are dropped, so that callers on the request path skip building them. */
  readonly debugEnabled?: boolean
}

/** Log levels, most severe first: a level writes its own lines and those before it. */
export const LOG_LEVELS = ['error', 'info', 'debug'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

/**
 * A log level from its text (`--log-level`, KEYWARD_LOG_LEVEL); unset means `info`.
 *
 * @throws Error naming the accepted levels
 * @example
 *   parseLogLevel('debug') // 'debug'
 */
export function parseLogLevel(text: string | undefined): LogLevel {
  if (text === undefined || text === '') return 'info'
  const level = LOG_LEVELS.find((l) => l === text.toLowerCase())
  if (!level) throw new Error(`invalid log level: ${text} (one of ${LOG_LEVELS.join(', ')})`)
  return level
}

/**
 * A logger that writes one JSON line per event (on stderr unless `write` is given):
 * `{"time": ISO 8601, "level", "message", ...fields}`, where fields carry the request ID of
 * every line about a request. Lines below `level` are dropped before anything is built.
 *
 * @example
 *   const logger = jsonLineLogger({ level: parseLogLevel(process.env.KEYWARD_LOG_LEVEL) })
 */
export function jsonLineLogger(
  options: { level?: LogLevel; write?: (line: string) => void } = {},
): Logger {
  const rank = LOG_LEVELS.indexOf(options.level ?? 'info')
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'))
  const line =
    (level: LogLevel) =>
    (message: string, fields?: Record<string, unknown>): void => {
      const time = new Date().toISOString()
      const entry: Record<string, unknown> = { time, level, message, ...fields }
      // First in the line, and never replaced by a field of the same name.
      entry.time = time
      entry.level = level
      entry.message = message
      write(JSON.stringify(entry))
    }
  const off = () => {}
  return {
    error: line('error'),
    info: rank >= 1 ? line('info') : off,
    debug: rank >= 2 ? line('debug') : off,
    debugEnabled: rank >= 2,
  }
}
