/**
 * Timeouts and connection cap of Keyward's HTTP server: here rather than in src/server.ts so
 * that the command line can show and check them without loading the server.
 */

/** How long a connection may take and how many may be open (`keyward serve` flags). */
export interface HttpLimits {
  /** Time to receive a request's headers (node's headersTimeout). */
  readonly headersTimeoutMs: number
  /** Time to receive a whole request, headers and body (node's requestTimeout). */
  readonly requestTimeoutMs: number
  /** How long an idle keep-alive connection stays open (node's keepAliveTimeout). */
  readonly keepAliveTimeoutMs: number
  /** Connections open at once; more are closed as they arrive (node's maxConnections). */
  readonly maxConnections: number
}

/**
 * Limits that fit a KMS: its requests are small (1 MiB at most) and its clients close by, so a
 * request that takes more than seconds is a trickling peer holding a socket, not a client (node's
 * own defaults, 60 s for headers and 300 s for a request, let one socket be held for minutes).
 * The idle keep-alive time stays above the 60 s that SDK connection pools keep idle sockets
 * (AWS SDK for Java's connectionMaxIdleTime, and load balancers' idle timeout): the client
 * closes first, so no request is sent on a socket the server is closing.
 *
 * @example
 *   createKeyward({ store, rootKey, principals, http: { ...DEFAULT_HTTP_LIMITS, maxConnections: 64 } })
 */
export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 65_000,
  maxConnections: 1024,
}
