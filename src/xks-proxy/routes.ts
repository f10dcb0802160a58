import { XksError } from './errors.js'

/**
 * The XKS Proxy API's URIs (spec v1.0.3, "API operations"): `{uriPath}/health` and
 * `{uriPath}/keys/{externalKeyId}/{metadata|encrypt|decrypt}`, where `uriPath` is
 * `[/<prefix>]/kms/xks/v1` (the KMS model's XksProxyUriPath).
 */

/** The four operations, by the spec's names. */
export type XksOperation = 'GetHealthStatus' | 'GetKeyMetadata' | 'Encrypt' | 'Decrypt'

/** A request URI resolved to an operation. */
export interface XksRoute {
  /** The XksProxyUriPath the request was sent to, e.g. `/tenant-a/kms/xks/v1`. */
  readonly uriPath: string
  readonly operation: XksOperation
  /** The externalKeyId; absent for GetHealthStatus. */
  readonly keyId?: string
}

/** The version-1 suffix of every XksProxyUriPath. */
export const URI_PATH_SUFFIX = '/kms/xks/v1'

/**
 * KMS model, XksProxyUriPath: `^(/[a-zA-Z0-9\/_-]+/kms/xks/v\d{1,2})$|^(/kms/xks/v\d{1,2})$`,
 * 10–128 characters. This proxy speaks version 1 only, and refuses empty path segments.
 */
const URI_PATH = /^(?:\/[A-Za-z0-9_-]+)*\/kms\/xks\/v1$/
const MAX_URI_PATH_CHARS = 128

/** The spec: an externalKeyId is 1–128 of A–Z, a–z, 0–9, '-', '.', '_'. */
export const EXTERNAL_KEY_ID = /^[A-Za-z0-9._-]{1,128}$/

const API_URI =
  /^((?:\/[A-Za-z0-9_-]+)*\/kms\/xks\/v1)\/(?:(health)|keys\/([A-Za-z0-9._-]{1,128})\/(metadata|encrypt|decrypt))$/

const OPERATION_OF_ACTION = {
  metadata: 'GetKeyMetadata',
  encrypt: 'Encrypt',
  decrypt: 'Decrypt',
} as const

/**
 * Whether `uriPath` is a valid XksProxyUriPath for this proxy.
 *
 * @example
 *   isValidUriPath('/tenant-a/kms/xks/v1') // true
 */
export function isValidUriPath(uriPath: string): boolean {
  return uriPath.length <= MAX_URI_PATH_CHARS && URI_PATH.test(uriPath)
}

/**
 * The operation a request URL names, or undefined when it names none (another path, a query
 * string, a key id outside the spec's alphabet). Which URI paths exist is decided by the caller.
 *
 * @example
 *   parseApiUri('/t/kms/xks/v1/keys/foo/encrypt') // { uriPath: '/t/kms/xks/v1', operation: 'Encrypt', keyId: 'foo' }
 */
export function parseApiUri(url: string): XksRoute | undefined {
  const m = API_URI.exec(url)
  if (!m) return undefined
  const uriPath = m[1]!
  if (uriPath.length > MAX_URI_PATH_CHARS) return undefined
  if (m[2]) return { uriPath, operation: 'GetHealthStatus' }
  return {
    uriPath,
    operation: OPERATION_OF_ACTION[m[4] as keyof typeof OPERATION_OF_ACTION],
    keyId: m[3]!,
  }
}

/**
 * The spec's answer to a URI that names no API of a configured key store: 404
 * InvalidUriPathException, sent before authentication (a path reveals nothing).
 *
 * @example
 *   throw invalidUriPath()
 */
export function invalidUriPath(): XksError {
  return new XksError('InvalidUriPathException', 'The request URI path is not valid.')
}
