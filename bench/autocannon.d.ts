// Just the part of autocannon's programmatic API the benchmark uses (the package ships no types).
// See node_modules/autocannon/README.md, "API".
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events'

  export interface Options {
    url: string
    connections?: number
    /** Seconds. */
    duration?: number
    method?: 'POST' | 'GET'
    headers?: Record<string, string>
    body?: string | Buffer
    /** Seconds before a request counts as a timeout. */
    timeout?: number
    pipelining?: number
    /** Requests per second over all connections (a fixed offered load instead of the most). */
    overallRate?: number
  }

  /** One load-generator connection. */
  export interface Client {
    setHeaders(headers: Record<string, string>): void
  }

  export interface Result {
    /** Seconds actually spent. */
    duration: number
    errors: number
    timeouts: number
    non2xx: number
    resets: number
  }

  /** An EventEmitter that is also a promise of the result. */
  export interface Instance extends EventEmitter, PromiseLike<Result> {
    on(
      event: 'response',
      listener: (client: Client, statusCode: number, bytes: number, responseTimeMs: number) => void,
    ): this
  }

  export default function autocannon(options: Options): Instance
}
