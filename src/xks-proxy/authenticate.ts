import type { IncomingMessage } from 'node:http'
import { isKmsException } from '../domain/kms-exception.js'
import { verifySigV4, type Credential } from '../sigv4/sigv4.js'
import type { XksCredential } from './config.js'
import { XksError } from './errors.js'

/**
 * SigV4 authentication of KMS's requests (spec, "Authentication" and Appendix A): service
 * `kms-xks-proxy`, the configured Region, X-Amz-Date within 5 minutes, and the secret of the
 * access key id, looked up among the credentials of the key store the URI names only: an
 * access key of another key store is unknown here. Several pairs per key store allow rotation.
 * Every failure is a 401 AuthenticationFailedException.
 */

/** The service name in the credential scope (not `kms-xks`, xks.md §0). */
export const XKS_SIGNING_SERVICE = 'kms-xks-proxy'

/** The credentials of one key store, by access key id. */
export type CredentialTable = ReadonlyMap<string, Credential<string>>

/**
 * Indexes a key store's credential pairs by access key id.
 *
 * @example
 *   const table = credentialTable(store.credentials)
 */
export function credentialTable(pairs: readonly XksCredential[]): CredentialTable {
  return new Map(
    pairs.map((p) => [
      p.accessKeyId,
      { secretAccessKey: p.secretAccessKey, principal: p.accessKeyId },
    ]),
  )
}

const authenticationFailed = (message: string) =>
  new XksError('AuthenticationFailedException', message)

/**
 * KMS signs `host;x-amz-date` (spec Appendix A); other signers add more, which is fine, but
 * these two must be covered so that neither the endpoint nor the timestamp can be replaced.
 */
function requireSignedHeaders(req: IncomingMessage): void {
  const authorization = req.headers.authorization
  if (typeof authorization !== 'string') throw authenticationFailed('Missing Authentication Token')
  if (typeof req.headers['x-amz-date'] !== 'string') {
    throw authenticationFailed('The request has no X-Amz-Date header.')
  }
  const signed = /SignedHeaders=([^,\s]+)/.exec(authorization)?.[1]?.split(';') ?? []
  for (const name of ['host', 'x-amz-date']) {
    if (!signed.includes(name)) {
      throw authenticationFailed(`The signature must cover the ${name} header.`)
    }
  }
}

/**
 * Verifies the request's signature against `credentials`; returns the access key id used.
 *
 * @throws XksError AuthenticationFailedException
 * @example
 *   const accessKeyId = authenticate(req, body, { credentials, region: 'us-east-1', now: Date.now() })
 */
export function authenticate(
  req: IncomingMessage,
  body: Buffer,
  options: { credentials: CredentialTable; region: string; now: number },
): string {
  requireSignedHeaders(req)
  try {
    return verifySigV4(
      { method: req.method ?? 'POST', url: req.url ?? '/', headers: req.headers, body },
      {
        service: XKS_SIGNING_SERVICE,
        now: options.now,
        regions: [options.region],
        lookup: (id) => options.credentials.get(id),
      },
    ).principal
  } catch (error) {
    // The KMS-style messages of verifySigV4 say what is wrong (expired, wrong scope, unknown
    // key id, signature mismatch) without any secret.
    if (isKmsException(error)) throw authenticationFailed(error.message)
    throw error
  }
}
