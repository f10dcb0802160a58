import type { IncomingMessage } from 'node:http'
import type { RequestOrigin } from '../domain/request-conditions.js'

/**
 * Where a request came from, for the global condition keys aws:SourceIp, aws:SecureTransport
 * and aws:UserAgent, and for the audit trail. An IPv4 peer on a dual-stack socket shows as `::ffff:a.b.c.d`; policies
 * name it as `a.b.c.d`, so the mapped form is unwrapped.
 *
 * @example
 *   const { sourceIp, userAgent } = originOf(req)
 */
export function originOf(req: IncomingMessage): RequestOrigin {
  const address = req.socket.remoteAddress
  const sourceIp = address?.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address
  const secureTransport = (req.socket as { encrypted?: boolean }).encrypted === true
  // aws:UserAgent, and the audit trail records it as CloudTrail does; a peer controls it, so
  // it is cut.
  const agent = req.headers['user-agent']?.slice(0, 1024)
  return {
    ...(sourceIp === undefined ? {} : { sourceIp }),
    secureTransport,
    ...(agent ? { userAgent: agent } : {}),
  }
}
