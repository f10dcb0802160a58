import type { IncomingMessage } from 'node:http'

/** A request body over the limit: its rest is never read (the caller answers and closes). */
export class BodyTooLarge extends Error {}

/**
 * Reads a request body of at most `maxBytes`, refusing early on a larger Content-Length. The
 * KMS endpoint and the XKS proxy both read bodies this way (each with its own limit and answer).
 *
 * @throws BodyTooLarge
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
    req.on('error', reject)
  })
}
