import type { IncomingMessage, ServerResponse } from 'node:http'

/** A request body over the limit: its rest is never read (the caller answers and closes). */
export class BodyTooLarge extends Error {}

/**
 * The peer closed the connection (or node's request timeout did) before the body was complete.
 * Nobody is left to answer, and an unauthenticated peer can cause it at will: callers log it
 * at debug level, without a stack trace.
 */
export class RequestAborted extends Error {}

/**
 * Reads a request body of at most `maxBytes`, refusing early on a larger Content-Length. The
 * KMS endpoint and the XKS proxy both read bodies this way (each with its own limit and answer).
 *
 * @throws BodyTooLarge
 * @throws RequestAborted when the connection closes before the end of the body
 * @example
 *   const body = await readBody(req, 1024 * 1024)
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  if (Number(req.headers['content-length'] ?? 0) > maxBytes) {
    return Promise.reject(new BodyTooLarge())
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > maxBytes) {
        req.removeAllListeners('data')
        req.resume()
        reject(new BodyTooLarge())
      } else chunks.push(chunk)
    })
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)))
    // Node destroys the request with an 'aborted' ECONNRESET when the socket closes mid-body;
    // 'close' without 'end' covers a destroy without an error. After 'end' both are no-ops.
    const aborted = (cause?: unknown) =>
      reject(new RequestAborted('the request was aborted before its body ended', { cause }))
    req.on('error', aborted)
    req.on('close', () => {
      if (!req.complete) aborted()
    })
  })
}

/** Bounds of {@link discardRest}. */
export interface DiscardLimits {
  /** Bytes read and thrown away at most. */
  readonly maxBytes: number
  /** Time spent at most, in milliseconds. */
  readonly maxMs: number
}

/**
 * Reads and throws away the rest of a refused request body, up to `limits`. Resolves `true`
 * when the body ended (the connection can then be closed cleanly), `false` when a bound was hit
 * or the connection went away.
 *
 * Why: closing a socket that still has unread input makes the kernel send a TCP RST, and a
 * client that is still sending then sees ECONNRESET instead of the answer already on its way
 * (RFC 9112 §9.6, "Tear-down": a server "SHOULD NOT" close before the client could read the
 * response; nginx calls this lingering close). The bounds keep a peer from holding the
 * connection open by sending forever.
 *
 * @example
 *   const whole = await discardRest(req, { maxBytes: 8 << 20, maxMs: 5_000 })
 */
export function discardRest(req: IncomingMessage, limits: DiscardLimits): Promise<boolean> {
  if (req.complete) return Promise.resolve(true)
  return new Promise((resolve) => {
    let size = 0
    const finish = (whole: boolean) => {
      clearTimeout(timer)
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('close', onClose)
      resolve(whole)
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > limits.maxBytes) finish(false)
    }
    const onEnd = () => finish(true)
    const onClose = () => finish(req.complete)
    const timer = setTimeout(() => finish(false), limits.maxMs)
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('close', onClose)
    req.resume()
  })
}

/**
 * How much of a refused oversized body is read and thrown away before the connection closes:
 * enough for any client that sends a few MiB before reading the answer, bounded so that a peer
 * cannot hold the connection by sending forever (nginx's lingering close waits 5 s likewise).
 */
export const DISCARD_LIMITS: DiscardLimits = { maxBytes: 8 * 1024 * 1024, maxMs: 5_000 }

/**
 * Ends the answer to a refused body (head already written with `connection: close`) only after
 * the rest of the body was read, within `limits`: closing with unread input resets the
 * connection, and a client still sending would see ECONNRESET instead of the answer (see
 * {@link discardRest}). Every front door (KMS, STS, XKS proxy) refuses bodies this way.
 *
 * @example
 *   res.writeHead(413, ['connection', 'close', 'content-length', String(body.length)])
 *   endAfterDiscarding(req, res, body)
 */
export function endAfterDiscarding(
  req: IncomingMessage,
  res: ServerResponse,
  body: string,
  limits: DiscardLimits = DISCARD_LIMITS,
): void {
  res.write(body)
  void discardRest(req, limits).then((whole) =>
    res.end(() => {
      if (!whole) req.destroy()
    }),
  )
}
