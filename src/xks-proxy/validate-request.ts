import type { XksLimits } from './config.js'
import { XksError } from './errors.js'
import type { XksOperation } from './routes.js'

/**
 * Strict checks of the four request bodies (spec v1.0.3, each API's "Request Payload
 * Parameters"). Bad input is a 400 ValidationException; a size the spec does not require and
 * this proxy is not configured for is a 501 UnsupportedOperationException. Unknown members are
 * ignored: KMS may add fields (spec Appendix B).
 */

/** requestMetadata as the spec defines it; unknown members are dropped. */
export interface RequestMetadata {
  /** Opaque: never validated beyond being a string (the spec says MUST NOT). */
  readonly kmsRequestId: string
  /** Any value: the spec says MUST NOT reject unknown ones. */
  readonly kmsOperation: string
  readonly awsPrincipalArn?: string
  readonly kmsKeyArn?: string
  readonly awsSourceVpc?: string
  readonly awsSourceVpce?: string
  readonly kmsViaService?: string
}

export interface EncryptInput {
  readonly requestMetadata: RequestMetadata
  readonly plaintext: Buffer
  /** Absent and empty are the same: zero bytes of AAD. */
  readonly aad: Buffer
  /** Whether a ciphertextDataIntegrityValue (SHA_256) was asked for. */
  readonly cdiv: boolean
}

export interface DecryptInput {
  readonly requestMetadata: RequestMetadata
  readonly ciphertext: Buffer
  readonly aad: Buffer
  readonly iv: Buffer
  readonly tag: Buffer
  /** Absent when the request has none. */
  readonly ciphertextMetadata?: Buffer
}

/** A request body checked for its operation. */
export type XksInput =
  | { readonly operation: 'GetHealthStatus'; readonly requestMetadata: RequestMetadata }
  | { readonly operation: 'GetKeyMetadata'; readonly requestMetadata: RequestMetadata }
  | ({ readonly operation: 'Encrypt' } & EncryptInput)
  | ({ readonly operation: 'Decrypt' } & DecryptInput)

/** The spec: IVs of 12 or 16 bytes, 16-byte tags, at most 20 bytes of ciphertextMetadata. */
const IV_LENGTHS = new Set([12, 16])
const TAG_BYTES = 16
const MAX_CIPHERTEXT_METADATA_BYTES = 20

/** RFC 4648 §4 with padding: the standard alphabet only, no white space, no URL-safe letters. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

const invalid = (message: string) => new XksError('ValidationException', message)

/**
 * Decodes strict standard Base64: the RFC 4648 §4 alphabet with its padding and nothing else,
 * and canonical (the unused bits of the last character are zero), so one byte string has one
 * encoding.
 *
 * @throws XksError ValidationException
 * @example
 *   decodeBase64('SGVsbG8=', 'plaintext') // <Buffer 48 65 6c 6c 6f>
 */
export function decodeBase64(value: unknown, field: string): Buffer {
  if (typeof value !== 'string') throw invalid(`${field} must be a Base64 string.`)
  if (value.length % 4 !== 0 || !BASE64.test(value)) {
    throw invalid(`${field} is not valid standard Base64 (RFC 4648 section 4, padded).`)
  }
  const bytes = Buffer.from(value, 'base64')
  if (bytes.toString('base64') !== value) {
    throw invalid(`${field} is not canonical Base64 (non-zero padding bits).`)
  }
  return bytes
}

/** Bytes that `value` (already a string) decodes to, computed from its length. */
function decodedLength(value: string): number {
  const padding = value.endsWith('==') ? 2 : value.endsWith('=') ? 1 : 0
  return Math.floor(value.length / 4) * 3 - padding
}

function bounded(value: unknown, field: string, maxBytes: number): Buffer {
  if (typeof value === 'string' && decodedLength(value) > maxBytes) {
    throw new XksError(
      'UnsupportedOperationException',
      `${field} is larger than the ${maxBytes} bytes this proxy is configured for.`,
    )
  }
  return decodeBase64(value, field)
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

const OPTIONAL_METADATA = ['awsSourceVpc', 'awsSourceVpce', 'kmsViaService'] as const

function requestMetadataOf(
  body: Record<string, unknown>,
  operation: XksOperation,
): RequestMetadata {
  const m = body.requestMetadata
  if (!isObject(m)) throw invalid('requestMetadata is required and must be an object.')
  const out: Record<string, string> = {}
  const take = (name: string, required: boolean) => {
    const v = m[name]
    if (v === undefined && !required) return
    if (typeof v !== 'string') {
      throw invalid(
        `requestMetadata.${name} ${required ? 'is required and ' : ''}must be a string.`,
      )
    }
    out[name] = v
  }
  // The test client expects ValidationException for a health request without these two, as
  // the reference proxy answers (xks.md §0), although the spec's table exempts health.
  take('kmsRequestId', true)
  take('kmsOperation', true)
  if (operation !== 'GetHealthStatus') {
    take('awsPrincipalArn', true)
    // Required for Encrypt and Decrypt; GetKeyMetadata has it only for DescribeKey (spec 1.0.3).
    take('kmsKeyArn', operation !== 'GetKeyMetadata')
    for (const name of OPTIONAL_METADATA) take(name, false)
  }
  return out as unknown as RequestMetadata
}

function algorithm(body: Record<string, unknown>): void {
  if (body.encryptionAlgorithm === undefined) throw invalid('encryptionAlgorithm is required.')
  // Version 1 of the spec has one algorithm.
  if (body.encryptionAlgorithm !== 'AES_GCM') throw invalid('encryptionAlgorithm must be AES_GCM.')
}

function aadOf(body: Record<string, unknown>, limits: XksLimits): Buffer {
  const aad = body.additionalAuthenticatedData
  return aad === undefined
    ? Buffer.alloc(0)
    : bounded(aad, 'additionalAuthenticatedData', limits.maxAadBytes)
}

function payload(
  body: Record<string, unknown>,
  field: 'plaintext' | 'ciphertext',
  limits: XksLimits,
): Buffer {
  if (body[field] === undefined) throw invalid(`${field} is required.`)
  const bytes = bounded(body[field], field, limits.maxPlaintextBytes)
  // KMS always sends its own inner ciphertext: never empty. GCM of nothing would be a bare MAC.
  if (bytes.length === 0) throw invalid(`${field} must not be empty.`)
  return bytes
}

function encryptInput(body: Record<string, unknown>, limits: XksLimits): EncryptInput {
  const requestMetadata = requestMetadataOf(body, 'Encrypt')
  const plaintext = payload(body, 'plaintext', limits)
  algorithm(body)
  const aad = aadOf(body, limits)
  const cdivAlgorithm = body.ciphertextDataIntegrityValueAlgorithm
  if (cdivAlgorithm !== undefined && cdivAlgorithm !== 'SHA_256') {
    throw invalid('ciphertextDataIntegrityValueAlgorithm must be SHA_256.')
  }
  return { requestMetadata, plaintext, aad, cdiv: cdivAlgorithm !== undefined }
}

function decryptInput(body: Record<string, unknown>, limits: XksLimits): DecryptInput {
  const requestMetadata = requestMetadataOf(body, 'Decrypt')
  const ciphertext = payload(body, 'ciphertext', limits)
  algorithm(body)
  const aad = aadOf(body, limits)
  if (body.initializationVector === undefined) throw invalid('initializationVector is required.')
  const iv = decodeBase64(body.initializationVector, 'initializationVector')
  if (!IV_LENGTHS.has(iv.length)) throw invalid('initializationVector must be 12 or 16 bytes.')
  if (body.authenticationTag === undefined) throw invalid('authenticationTag is required.')
  const tag = decodeBase64(body.authenticationTag, 'authenticationTag')
  if (tag.length !== TAG_BYTES) throw invalid('authenticationTag must be 16 bytes.')
  const input = { requestMetadata, ciphertext, aad, iv, tag }
  if (body.ciphertextMetadata === undefined) return input
  const ciphertextMetadata = decodeBase64(body.ciphertextMetadata, 'ciphertextMetadata')
  if (ciphertextMetadata.length > MAX_CIPHERTEXT_METADATA_BYTES) {
    throw invalid('ciphertextMetadata must be at most 20 bytes.')
  }
  return { ...input, ciphertextMetadata }
}

/**
 * Parses and checks the body of a request for `operation`.
 *
 * @throws XksError ValidationException or UnsupportedOperationException
 * @example
 *   const input = validateRequest('Encrypt', body, DEFAULT_LIMITS)
 */
export function validateRequest(
  operation: XksOperation,
  body: Buffer,
  limits: XksLimits,
): XksInput {
  let parsed: unknown
  try {
    parsed = JSON.parse(body.toString('utf8'))
  } catch {
    throw invalid('The request body is not valid JSON.')
  }
  if (!isObject(parsed)) throw invalid('The request body must be a JSON object.')
  switch (operation) {
    case 'GetHealthStatus':
    case 'GetKeyMetadata':
      return { operation, requestMetadata: requestMetadataOf(parsed, operation) }
    case 'Encrypt':
      return { operation, ...encryptInput(parsed, limits) }
    case 'Decrypt':
      return { operation, ...decryptInput(parsed, limits) }
  }
}
