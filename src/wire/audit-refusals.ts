import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { Caller } from '../domain/caller.js'
import type { KmsException } from '../domain/kms-exception.js'
import type { AuditEvent } from '../ports/audit-sink.js'
import { originOf } from './origin.js'
import type { KmsOperationName } from './generated/model.js'

/** How far the front door got with a call: what the audit record of a refusal can name. */
export interface CallProgress {
  operation?: KmsOperationName
  caller?: Caller
  region?: string
  /** Handed to the request core, which records the call itself. */
  inCore: boolean
}

/**
 * The Credential of a SigV4 Authorization header: `Credential=<key>/<date>/<region>/kms/…`.
 * Only an access key ID of AWS's form (upper-case letters and digits, 16–128) is kept: the
 * header is the peer's text, and a client that put its secret key there by mistake must not
 * have it written to the trail (a secret key has lower-case letters, `/` or `+`).
 */
function claimedCredential(req: IncomingMessage): { accessKeyId?: string; region?: string } {
  const header = req.headers.authorization
  const match =
    typeof header === 'string'
      ? /Credential=([^/,\s]+)\/\d{8}\/([a-z0-9-]{1,64})\//.exec(header)
      : null
  if (!match) return {}
  const [, key, region] = match
  return { ...(/^[A-Z0-9]{16,128}$/.test(key!) ? { accessKeyId: key } : {}), region: region! }
}

/**
 * AWS's IncompleteSignatureException echoes the Authorization header to the caller (recorded:
 * "… Authorization=<header>"). The caller may see its own header; the trail keeps no copy of
 * it, since a client that put its secret in the wrong place would have it written to disk.
 */
function withoutAuthorization(message: string, req: IncomingMessage): string {
  const header = req.headers.authorization
  return typeof header === 'string' && header.length > 0 && message.includes(header)
    ? message.split(header).join('<the Authorization header>')
    : message
}

/**
 * The audit event of a call the front door refused before the core: an authentication
 * failure, a throttled or invalid request. Undefined when not even the operation is known
 * (an unknown X-Amz-Target names no event).
 *
 * @example
 *   const event = refusedBeforeCore(req, { requestId, progress, error, at: Date.now() })
 */
export function refusedBeforeCore(
  req: IncomingMessage,
  refusal: {
    requestId: string
    progress: CallProgress
    error: KmsException
    at: number
    /** The account of an access key Keyward knows (the recipient of a forged signature). */
    accountOf: (accessKeyId: string) => string | undefined
  },
): AuditEvent | undefined {
  const { progress, error } = refusal
  if (!progress.operation) return undefined
  const claimed = progress.caller ? {} : claimedCredential(req)
  const origin = originOf(req)
  return {
    operation: progress.operation,
    requestId: refusal.requestId,
    ...(progress.caller ? { caller: progress.caller } : {}),
    ...(claimed.accessKeyId ? { accessKeyId: claimed.accessKeyId } : {}),
    ...(claimed.accessKeyId && refusal.accountOf(claimed.accessKeyId)
      ? { accountId: refusal.accountOf(claimed.accessKeyId)! }
      : {}),
    region: progress.region ?? claimed.region ?? '',
    at: refusal.at,
    keys: [],
    outcome: error.message
      ? { error: error.name, message: withoutAuthorization(error.message, req) }
      : { error: error.name },
    eventId: randomUUID(),
    details: {
      ...(origin.sourceIp ? { sourceIp: origin.sourceIp } : {}),
      ...(origin.userAgent ? { userAgent: origin.userAgent } : {}),
      readOnly: false,
      // The body was not validated (or not authenticated): nothing of it is recorded.
      requestParameters: null,
      responseElements: null,
    },
  }
}
