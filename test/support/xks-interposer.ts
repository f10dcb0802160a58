import { request as httpsRequest, createServer, type Server } from 'node:https'
import type { AddressInfo, Socket } from 'node:net'
import type { TestCertificate } from './test-pki.js'

/** What the interposer does to the next calls. */
export type InterposerBehaviour =
  /** Forward to the proxy and back, unchanged. */
  | 'pass'
  /** Forward, but answer only after `delayMs`. */
  | { readonly delayMs: number }
  /** Answer 200 with a body that is not JSON. */
  | 'garbage'
  /** Answer with this XKS error (and errorMessage, when given) instead of forwarding. */
  | { readonly errorName: string; readonly status: number; readonly errorMessage?: string }
  /** Forward, then change the answer (a proxy that lies). */
  | { readonly rewrite: (answer: Record<string, unknown>) => Record<string, unknown> }

/** A request the interposer saw. */
export interface SeenRequest {
  readonly path: string
  readonly body: Record<string, unknown>
}

/**
 * A TLS man in the middle between Keyward and an XKS proxy, for the failures a real proxy
 * does not produce on demand: slowness, garbage, lies. It forwards requests unchanged (the
 * Host header included, so the proxy's SigV4 check still holds) and records them.
 */
export interface XksInterposer {
  readonly endpoint: string
  behaviour: InterposerBehaviour
  readonly seen: SeenRequest[]
  close(): Promise<void>
}

/**
 * Starts an interposer with `certificate` in front of `upstream` (an https:// endpoint whose
 * certificate `upstreamCa` signed).
 *
 * @example
 *   const mitm = await startXksInterposer({ upstream: xks.endpoint, upstreamCa: pki.ca.certPem, certificate: pki.server })
 *   mitm.behaviour = { delayMs: 400 }
 */
export async function startXksInterposer(options: {
  upstream: string
  upstreamCa: string
  certificate: TestCertificate
}): Promise<XksInterposer> {
  const upstream = new URL(options.upstream)
  const sockets = new Set<Socket>()
  const state: XksInterposer = {
    endpoint: '',
    behaviour: 'pass',
    seen: [],
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
  const server: Server = createServer(
    { cert: options.certificate.certPem, key: options.certificate.keyPem },
    (req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const body = Buffer.concat(chunks)
        try {
          state.seen.push({ path: req.url ?? '', body: JSON.parse(body.toString('utf8')) })
        } catch {
          state.seen.push({ path: req.url ?? '', body: {} })
        }
        const behaviour = state.behaviour
        if (behaviour === 'garbage') {
          res.writeHead(200, { 'content-type': 'application/json' })
          return res.end('<html>this is not the XKS API</html>')
        }
        if (typeof behaviour === 'object' && 'errorName' in behaviour) {
          res.writeHead(behaviour.status, { 'content-type': 'application/json' })
          const { errorName, errorMessage } = behaviour
          return res.end(JSON.stringify({ errorName, errorMessage }))
        }
        const forward = httpsRequest(
          {
            hostname: upstream.hostname,
            port: upstream.port,
            method: req.method,
            path: req.url,
            headers: req.headers,
            ca: options.upstreamCa,
          },
          (answer) => {
            const parts: Buffer[] = []
            answer.on('data', (c: Buffer) => parts.push(c))
            answer.on('end', () => {
              let text = Buffer.concat(parts)
              if (typeof behaviour === 'object' && 'rewrite' in behaviour) {
                text = Buffer.from(
                  JSON.stringify(behaviour.rewrite(JSON.parse(text.toString('utf8')))),
                )
              }
              const send = () => {
                if (res.destroyed) return
                res.writeHead(answer.statusCode ?? 500, {
                  'content-type': 'application/json',
                  'content-length': String(text.length),
                })
                res.end(text)
              }
              if (typeof behaviour === 'object' && 'delayMs' in behaviour) {
                setTimeout(send, behaviour.delayMs)
              } else send()
            })
          },
        )
        forward.on('error', () => res.destroy())
        forward.end(body)
      })
    },
  )
  server.on('connection', (s: Socket) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  Object.assign(state, { endpoint: `https://localhost:${(server.address() as AddressInfo).port}` })
  return state
}
