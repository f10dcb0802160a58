import type { IncomingMessage, ServerResponse } from 'node:http'
import { constantTimeEqual } from '../domain/constant-time.js'
import { checkReadiness, type ReadinessCheck } from '../services/health.js'
import type { KeywardMetrics } from '../services/metrics.js'

/**
 * The operator's endpoints beside the KMS API: `GET /healthz` (the process answers),
 * `GET /readyz` (every readiness check passes: 200, else 503) and `GET /metrics` (Prometheus).
 * None of them is an AWS operation; they answer only GET on exactly these paths.
 *
 * Metrics name keys and custom key stores, so they are never open by default: on the KMS port
 * they need `Authorization: Bearer <token>` (`--metrics-token`), and a separate port
 * (`--metrics-port`, on the same host) serves them to whoever can reach that port, with the
 * token too when one is set. Health answers carry no data beyond the names of the checks.
 */
export interface OpsEndpointsOptions {
  readonly metrics: KeywardMetrics
  readonly readinessChecks: readonly ReadinessCheck[]
  /** The bearer token `/metrics` requires; none: `/metrics` only where `openMetrics` is set. */
  readonly metricsToken?: string
  /** Serve `/metrics` without a token when none is set (the separate metrics port). */
  readonly openMetrics?: boolean
}

/** Answers one of the operator endpoints; false when `req` is none of them. */
export type OpsEndpoints = (req: IncomingMessage, res: ServerResponse) => boolean

const BEARER = 'bearer '

function sendJson(res: ServerResponse, status: number, body: object): void {
  const text = JSON.stringify(body)
  res.writeHead(status, [
    'content-type',
    'application/json',
    'content-length',
    String(Buffer.byteLength(text)),
    'cache-control',
    'no-store',
  ])
  res.end(text)
}

/** Whether the request carries the token (RFC 6750, section 2.1), compared in constant time. */
function hasToken(req: IncomingMessage, token: string): boolean {
  const header = req.headers.authorization
  if (typeof header !== 'string' || header.slice(0, BEARER.length).toLowerCase() !== BEARER)
    return false
  return constantTimeEqual(Buffer.from(header.slice(BEARER.length).trim()), Buffer.from(token))
}

/**
 * Builds the handler of the operator endpoints.
 *
 * @example
 *   const ops = createOpsEndpoints({ metrics, readinessChecks, metricsToken })
 *   if (ops(req, res)) return
 */
export function createOpsEndpoints(options: OpsEndpointsOptions): OpsEndpoints {
  const serveMetrics = options.metricsToken !== undefined || options.openMetrics === true
  return (req, res) => {
    if (req.method !== 'GET') return false
    switch (req.url) {
      case '/healthz':
        // Liveness: the event loop runs and answers; nothing else is asked, so that a slow
        // store never gets a live process restarted.
        sendJson(res, 200, { status: 'ok' })
        return true
      case '/readyz':
        void checkReadiness(options.readinessChecks).then(({ ready, checks }) =>
          sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', checks }),
        )
        return true
      case '/metrics':
        if (!serveMetrics) return false
        if (options.metricsToken !== undefined && !hasToken(req, options.metricsToken)) {
          // RFC 6750, section 3: a missing or wrong token is 401 with a Bearer challenge.
          res.writeHead(401, { 'www-authenticate': 'Bearer realm="keyward-metrics"' })
          res.end()
          return true
        }
        void options.metrics.render().then(
          ({ contentType, body }) => {
            res.writeHead(200, { 'content-type': contentType })
            res.end(body)
          },
          (error: unknown) => {
            res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' })
            res.end(
              `metrics could not be read: ${error instanceof Error ? error.message : String(error)}\n`,
            )
          },
        )
        return true
      default:
        return false
    }
  }
}
