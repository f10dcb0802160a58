import { createHmac, hash } from 'node:crypto'
import { constantTimeEqual } from '../domain/constant-time.js'
import {
  IncompleteSignatureException,
  InvalidSignatureException,
  MissingAuthenticationTokenException,
  UnrecognizedClientException,
} from '../domain/errors/exceptions.js'

/**
 * AWS Signature Version 4: verification of incoming requests, and signing of the calls Keyward
 * makes to external key store proxies (AWS General Reference,
 * "Create a signed AWS API request"; IAM User Guide, "Signature Version 4"). The signed-headers
 * list is read from the request itself: the JS SDK v3 signs about nine headers, botocore four.
 */

const ALGORITHM = 'AWS4-HMAC-SHA256'
/** AWS rejects requests whose X-Amz-Date is more than 5 minutes off the server's clock. */
export const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000
const REGION = /^[a-z]{2}(?:-[a-z]+)+-\d+$/
/**
 * A SigV4 signature is the lower-case hex of an HMAC-SHA256: exactly 64 digits (AWS General
 * Reference, "Calculate the signature": "the hex-encoded signature"). Buffer.from(…, 'hex')
 * would forgive upper case, an odd trailing nibble and junk after the digits.
 */
const SIGNATURE = /^[0-9a-f]{64}$/
const SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.'

/** The parts of an HTTP request that the signature covers. */
export interface SignedRequest {
  readonly method: string
  /** Path and query string, as sent. */
  readonly url: string
  /** Node's lower-cased header map. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>
  readonly body: Buffer
  /**
   * The headers as received (node's `req.rawHeaders`: name, value, name, value, …). Node keeps
   * only the first of repeated Authorization headers in `headers`; this list shows them all.
   */
  readonly rawHeaders?: readonly string[]
}

/** A credential as the configuration holds it. */
export interface Credential<P> {
  readonly secretAccessKey: string
  readonly sessionToken?: string
  readonly principal: P
}

/** What a verified request tells about its sender. */
export interface Authenticated<P> {
  readonly accessKeyId: string
  readonly region: string
  readonly principal: P
}

export interface VerifyOptions<P> {
  readonly service: string
  readonly now: number
  /**
   * The credential of an access key. The request's session token (X-Amz-Security-Token, '' when
   * absent) is passed too, so that stateless temporary credentials can be opened from it; the
   * lookup may throw (an expired token).
   */
  readonly lookup: (accessKeyId: string, sessionToken: string) => Credential<P> | undefined
  /** Accepts every Region when absent. */
  readonly regions?: readonly string[]
  /**
   * Development mode: the request must still be well formed and current, but the secret is not
   * checked and every caller becomes `devPrincipal`.
   */
  readonly devPrincipal?: P
}

/**
 * SHA-256 in hex with node's one-shot crypto.hash (Node 20.12+): no Hash object per call, which
 * matters twice per request (the body and the canonical request).
 */
const sha256Hex = (data: string | Buffer) => hash('sha256', data, 'hex')
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest()

const signingKeys = new Map<string, Buffer>()

/** kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request"), cached per day. */
function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const id = `${secret}\n${date}\n${region}\n${service}`
  let key = signingKeys.get(id)
  if (!key) {
    if (signingKeys.size > 10_000) signingKeys.clear()
    key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request')
    signingKeys.set(id, key)
  }
  return key
}

/** RFC 3986 unreserved characters stay; everything else is percent-encoded in upper case. */
const uriEncode = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)

const safeDecode = (s: string) => {
  try {
    return decodeURIComponent(s.replace(/\+/g, '%20'))
  } catch {
    return s
  }
}

function canonicalUri(path: string): string {
  // Every KMS request is POST /, whose canonical form is itself.
  if (path === '/') return path
  const segments: string[] = []
  for (const s of path.split('/').slice(1)) {
    if (s === '..') segments.pop()
    else if (s !== '.') segments.push(s)
  }
  // Services other than S3 encode each segment twice: once by the client, once for signing.
  return '/' + segments.map((s) => uriEncode(s)).join('/')
}

function canonicalQuery(query: string): string {
  if (!query) return ''
  return query
    .split('&')
    .filter(Boolean)
    .map((pair) => {
      const at = pair.indexOf('=')
      const k = at < 0 ? pair : pair.slice(0, at)
      const v = at < 0 ? '' : pair.slice(at + 1)
      return [uriEncode(safeDecode(k)), uriEncode(safeDecode(v))] as const
    })
    .sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&')
}

const RUN_OF_SPACES = /\s{2,}|[\t\n\r\f\v]/

/** A header value as SigV4 canonicalises it: trimmed, inner runs of white space made one space. */
function headerValue(v: string | string[] | undefined): string {
  const text = (Array.isArray(v) ? v.join(',') : (v ?? '')).trim()
  // Nearly every value has no run to fold; testing first skips a global replace per header.
  return RUN_OF_SPACES.test(text) ? text.replace(/\s+/g, ' ') : text
}

interface ParsedAuthorization {
  readonly accessKeyId: string
  readonly date: string
  readonly region: string
  readonly service: string
  readonly terminator: string
  readonly signedHeaders: readonly string[]
  readonly signature: string
}

function parseAuthorization(header: string, hasDate: boolean): ParsedAuthorization {
  const space = header.indexOf(' ')
  const algorithm = space < 0 ? header : header.slice(0, space)
  if (algorithm !== ALGORITHM) {
    throw new IncompleteSignatureException(`Unsupported AWS 'algorithm': '${algorithm}'`)
  }
  const params = new Map<string, string>()
  for (const part of header.slice(space + 1).split(',')) {
    const eq = part.indexOf('=')
    if (eq > 0) params.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim())
  }
  const problems = ['Credential', 'Signature', 'SignedHeaders']
    .filter((name) => !params.get(name))
    .map((name) => `Authorization header requires '${name}' parameter.`)
  if (!hasDate) {
    problems.push(
      "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
    )
  }
  if (problems.length) {
    throw new IncompleteSignatureException(`${problems.join(' ')} Authorization=${header}`)
  }
  const scope = params.get('Credential')!.split('/')
  if (scope.length !== 5 || scope.some((s) => !s)) {
    throw new IncompleteSignatureException(
      `Credential should be scoped to a valid region. Authorization=${header}`,
    )
  }
  const [accessKeyId, date, region, service, terminator] = scope as [
    string,
    string,
    string,
    string,
    string,
  ]
  return {
    accessKeyId,
    date,
    region,
    service,
    terminator,
    signedHeaders: params.get('SignedHeaders')!.split(';'),
    signature: params.get('Signature')!,
  }
}

/** '20260101T120000Z' → epoch ms, or NaN. */
function parseAmzDate(value: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value)
  if (!m) return Date.parse(value)
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!)
}

const BASIC_DATE = /^\d{8}T\d{6}Z$/
const amzDate = (ms: number) => new Date(ms).toISOString().replace(/[-:]|\.\d{3}/g, '')

function checkClock(requestDate: string, requestMs: number, now: number): void {
  if (Number.isNaN(requestMs)) {
    throw new IncompleteSignatureException(
      `Date must be in ISO-8601 'basic format'. Got '${requestDate}'.`,
    )
  }
  if (requestMs < now - MAX_CLOCK_SKEW_MS) {
    throw new InvalidSignatureException(
      `Signature expired: ${amzDate(requestMs)} is now earlier than ${amzDate(now - MAX_CLOCK_SKEW_MS)} (${amzDate(now)} - 5 min.)`,
    )
  }
  if (requestMs > now + MAX_CLOCK_SKEW_MS) {
    throw new InvalidSignatureException(
      `Signature not yet current: ${amzDate(requestMs)} is still later than ${amzDate(now + MAX_CLOCK_SKEW_MS)} (${amzDate(now)} + 5 min.)`,
    )
  }
}

function checkScope<P>(auth: ParsedAuthorization, dateHeader: string, options: VerifyOptions<P>) {
  if (auth.terminator !== 'aws4_request') {
    throw new InvalidSignatureException(
      `Credential should be scoped with a valid terminator: 'aws4_request', not '${auth.terminator}'.`,
    )
  }
  // The usual X-Amz-Date is already ISO-8601 basic format; only a Date header needs parsing.
  const isoDay = BASIC_DATE.test(dateHeader)
    ? dateHeader.slice(0, 8)
    : amzDate(parseAmzDate(dateHeader)).slice(0, 8)
  if (auth.date !== isoDay) {
    throw new InvalidSignatureException(
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${auth.date}' != '${isoDay}', from '${dateHeader}'.`,
    )
  }
  if (auth.service !== options.service) {
    throw new InvalidSignatureException(
      `Credential should be scoped to correct service: '${options.service}'. `,
    )
  }
  if (!REGION.test(auth.region) || (options.regions && !options.regions.includes(auth.region))) {
    throw new InvalidSignatureException(
      `Credential should be scoped to a valid region, not '${auth.region}'. `,
    )
  }
  if (!auth.signedHeaders.includes('host')) {
    throw new InvalidSignatureException(
      "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
    )
  }
}

/** The string to sign for `request` under `auth`. */
function stringToSign(
  request: SignedRequest,
  signed: { auth: ParsedAuthorization; dateHeader: string; bodyHash: string },
) {
  const { auth, dateHeader } = signed
  const q = request.url.indexOf('?')
  const path = q < 0 ? request.url : request.url.slice(0, q)
  const query = q < 0 ? '' : request.url.slice(q + 1)
  // One string built by concatenation: no array per header and no joins on the hot path.
  let canonicalRequest = `${request.method}\n${canonicalUri(path)}\n${canonicalQuery(query)}\n`
  for (const name of auth.signedHeaders) {
    canonicalRequest += `${name}:${headerValue(request.headers[name])}\n`
  }
  canonicalRequest += `\n${auth.signedHeaders.join(';')}\n${signed.bodyHash}`
  const scope = `${auth.date}/${auth.region}/${auth.service}/${auth.terminator}`
  return `${ALGORITHM}\n${dateHeader}\n${scope}\n${sha256Hex(canonicalRequest)}`
}

/**
 * A temporary credential is usable only with its own session token, and a long-term one only
 * without any (IAM User Guide, "Using temporary credentials with AWS resources"). The token is
 * a secret, so it is compared in constant time.
 */
function sameSessionToken(sent: string, expected: string | undefined): boolean {
  if (expected === undefined || expected === '') return sent === ''
  return constantTimeEqual(Buffer.from(sent, 'utf8'), Buffer.from(expected, 'utf8'))
}

/**
 * Two Authorization headers are ambiguous: node keeps the first, a proxy in front may have
 * checked or logged the other. AWS documents no answer; the request is refused as malformed.
 */
function refuseRepeatedAuthorization(rawHeaders: readonly string[] | undefined): void {
  if (!rawHeaders) return
  let count = 0
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() === 'authorization') count++
  }
  if (count > 1) {
    throw new IncompleteSignatureException('The request must carry one Authorization header.')
  }
}

/**
 * Verifies the request's SigV4 signature and returns who sent it and for which Region.
 *
 * @throws MissingAuthenticationTokenException, IncompleteSignatureException,
 *   InvalidSignatureException or UnrecognizedClientException, with AWS's messages
 * @example
 *   const { principal, region } = verifySigV4(request, { service: 'kms', now: Date.now(), lookup })
 */
export function verifySigV4<P>(
  request: SignedRequest,
  options: VerifyOptions<P>,
): Authenticated<P> {
  refuseRepeatedAuthorization(request.rawHeaders)
  const header = headerValue(request.headers['authorization'])
  if (!header) throw new MissingAuthenticationTokenException('Missing Authentication Token')
  const dateHeader = headerValue(request.headers['x-amz-date'] ?? request.headers['date'])
  const auth = parseAuthorization(header, dateHeader !== '')
  checkClock(dateHeader, parseAmzDate(dateHeader), options.now)
  checkScope(auth, dateHeader, options)
  const declared = headerValue(request.headers['x-amz-content-sha256'])
  const bodyHash = sha256Hex(request.body)
  if (declared && declared !== 'UNSIGNED-PAYLOAD' && declared !== bodyHash) {
    throw new InvalidSignatureException(
      "The provided 'x-amz-content-sha256' header does not match what was computed.",
    )
  }
  if (options.devPrincipal !== undefined) {
    // Dev mode skips the secret, not the form: a malformed signature is refused here too.
    if (!SIGNATURE.test(auth.signature)) throw new InvalidSignatureException(SIGNATURE_MISMATCH)
    return { accessKeyId: auth.accessKeyId, region: auth.region, principal: options.devPrincipal }
  }
  const token = headerValue(request.headers['x-amz-security-token'])
  const credential = options.lookup(auth.accessKeyId, token)
  if (!credential || !sameSessionToken(token, credential.sessionToken)) {
    throw new UnrecognizedClientException('The security token included in the request is invalid.')
  }
  const key = signingKey(credential.secretAccessKey, auth.date, auth.region, auth.service)
  const expected = createHmac('sha256', key)
    .update(stringToSign(request, { auth, dateHeader, bodyHash }))
    .digest()
  // A malformed signature is a signature that does not match: AWS answers both alike.
  const wellFormed = SIGNATURE.test(auth.signature)
  if (!wellFormed || !constantTimeEqual(Buffer.from(auth.signature, 'hex'), expected)) {
    throw new InvalidSignatureException(SIGNATURE_MISMATCH)
  }
  return { accessKeyId: auth.accessKeyId, region: auth.region, principal: credential.principal }
}

/** What {@link signSigV4} needs besides the request. */
export interface SigningOptions {
  readonly accessKeyId: string
  readonly secretAccessKey: string
  readonly region: string
  readonly service: string
  readonly now: number
}

/**
 * Signs an outgoing request the way AWS KMS signs its calls to an external key store proxy:
 * SigV4 over `host;x-amz-date` only (XKS Proxy API spec, "Authentication"; xks.md §1.6).
 * `request.headers.host` must be the Host header that will be sent. Returns the two headers
 * to add.
 *
 * @example
 *   const { authorization, 'x-amz-date': date } = signSigV4(
 *     { method: 'POST', url: '/kms/xks/v1/health', headers: { host: 'xks.example.com' }, body },
 *     { accessKeyId, secretAccessKey, region: 'us-east-1', service: 'kms-xks-proxy', now: Date.now() },
 *   )
 */
export function signSigV4(
  request: SignedRequest,
  options: SigningOptions,
): { authorization: string; 'x-amz-date': string } {
  const dateHeader = amzDate(options.now)
  const auth: ParsedAuthorization = {
    accessKeyId: options.accessKeyId,
    date: dateHeader.slice(0, 8),
    region: options.region,
    service: options.service,
    terminator: 'aws4_request',
    signedHeaders: ['host', 'x-amz-date'],
    signature: '',
  }
  const headers = { ...request.headers, 'x-amz-date': dateHeader }
  const toSign = stringToSign(
    { ...request, headers },
    { auth, dateHeader, bodyHash: sha256Hex(request.body) },
  )
  const key = signingKey(options.secretAccessKey, auth.date, auth.region, auth.service)
  const signature = createHmac('sha256', key).update(toSign).digest('hex')
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`
  return {
    authorization: `${ALGORITHM} Credential=${options.accessKeyId}/${scope}, SignedHeaders=host;x-amz-date, Signature=${signature}`,
    'x-amz-date': dateHeader,
  }
}
