import { createCipheriv, createDecipheriv, createHash, createHmac } from 'node:crypto'
import { InvalidCiphertextException } from './errors/exceptions.js'
import type { Random } from '../ports/random.js'
import { encodeEncryptionContext, type EncryptionContext } from './encryption-context.js'
import { isKeyId } from './identifiers.js'

/**
 * The one module that seals and opens symmetric ciphertext blobs. Encrypt, Decrypt, ReEncrypt
 * and every GenerateDataKey* variant go through it, so the encryption context is bound the same
 * way everywhere.
 *
 * Blob, format version 1 (all integers big-endian):
 *
 *   offset  size  field
 *   0       1     format version (0x01)
 *   1       1     L = length of the key ID
 *   2       L     key ID (ASCII: a UUID or an mrk- ID)
 *   2+L     32    key material ID (the 64-hex KeyMaterialId AWS reports, as bytes)
 *   34+L    16    salt for the per-message key
 *   50+L    12    AES-GCM IV
 *   62+L    n     AES-256-GCM ciphertext
 *   62+L+n  16    GCM tag
 *
 * Like AWS (Developer Guide, "AWS KMS cryptographic details"), each message is encrypted under
 * a key derived from the key material and a random salt (HKDF-SHA256, RFC 5869), which keeps the
 * GCM random-IV bound per derived key rather than per KMS key. The authenticated data is the
 * whole header followed by the canonical encryption context, so neither the key reference nor
 * the context can be changed without the tag failing.
 *
 * Format version 2 is the same header without the salt, for keys held in an HSM (custom key
 * stores): the token does AES-256-GCM itself with its non-extractable key, so there is no
 * material to derive a message key from. The authenticated data is again the whole header
 * followed by the canonical encryption context.
 *
 *   0 version (0x02) | 1 L | 2 key ID | 2+L material ID (32) | 34+L IV (12) | 46+L ct | tag (16)
 *
 * Format version 3 is double encryption, for keys in an external key store (Developer Guide,
 * "External key stores": "AWS KMS encrypts the plaintext with its own key material, then the
 * external key manager encrypts the result with the external key"). The inner layer is a
 * complete version-1 blob under the KMS key's own material; the outer layer is the XKS
 * proxy's AES-GCM of that blob under the external key, with the proxy's IV, tag and
 * ciphertextMetadata (CM) kept in the header:
 *
 *   0 version (0x03) | 1 L | 2 key ID | 2+L material ID (32) | IV length n (1) | IV (12 or 16)
 *   | CM length m (1) | CM (m <= 20) | tag (16) | outer ciphertext (the inner blob, encrypted)
 *
 * The proxy's additionalAuthenticatedData is the first 2+L+32 bytes (version, key ID, material
 * ID) followed by SHA-256 of the canonical encryption context: the external key manager thus
 * also refuses another key's blob or another context, and the AAD stays far below the 8192
 * bytes every proxy must accept. The inner blob of a 4096-byte plaintext is 4210 bytes, within
 * the 4300 bytes every proxy must accept (XKS spec, "Encrypt").
 *
 * Every failure to open ends in the same InvalidCiphertextException with no message: no oracle.
 */
export const FORMAT_V1 = 0x01
export const FORMAT_V2 = 0x02
export const FORMAT_V3 = 0x03
const MATERIAL_ID_BYTES = 32
const SALT_BYTES = 16
const IV_BYTES = 12
const TAG_BYTES = 16
const HKDF_INFO = Buffer.from('keyward ciphertext v1', 'ascii')

/** What a blob's cleartext header says. */
export interface CiphertextHeader {
  readonly keyId: string
  /** 64 lowercase hex characters. */
  readonly keyMaterialId: string
  /** FORMAT_V1 (software key), FORMAT_V2 (HSM key) or FORMAT_V3 (external key store key); absent means FORMAT_V1. */
  readonly format?: number
}

/**
 * AES-256-GCM done by someone holding the key (an HSM): seal returns ciphertext ‖ 16-byte tag,
 * open takes it back and throws when the tag does not verify.
 */
export interface GcmKey {
  seal(input: { iv: Buffer; aad: Buffer; data: Buffer }): Promise<Buffer>
  open(input: { iv: Buffer; aad: Buffer; data: Buffer }): Promise<Buffer>
}

/** The proxy's half of an external key store key's double encryption (format version 3). */
export interface ExternalSealer {
  seal(input: { plaintext: Buffer; aad: Buffer }): Promise<ExternalSealed>
  open(input: ExternalSealed & { aad: Buffer }): Promise<Buffer>
}

/** What an XKS proxy's Encrypt gives back. */
export interface ExternalSealed {
  readonly ciphertext: Buffer
  readonly iv: Buffer
  readonly tag: Buffer
  readonly ciphertextMetadata?: Buffer
}

/** What sealing needs: which key and material, and the material itself. */
export interface SealingKey extends CiphertextHeader {
  /** 32 bytes of AES-256 key material, never persisted unwrapped. */
  readonly material: Buffer
}

const HKDF_INFO_BLOCK_1 = Buffer.concat([HKDF_INFO, Buffer.from([1])])

/**
 * HKDF-SHA256 (RFC 5869) for a 32-byte output, which is one block: PRK = HMAC(salt, material),
 * OKM = HMAC(PRK, info ‖ 0x01). Written with two HMACs because node's hkdfSync builds a
 * KeyObject per call and costs twice as much on the Encrypt hot path; test/domain/ciphertext
 * checks it against hkdfSync.
 */
export function deriveMessageKey(material: Buffer, salt: Buffer): Buffer {
  const prk = createHmac('sha256', salt).update(material).digest()
  return createHmac('sha256', prk).update(HKDF_INFO_BLOCK_1).digest()
}

/**
 * Seals `plaintext` under `key`, binding `context`.
 *
 * @example
 *   const blob = sealCiphertext({ key, plaintext, context: { purpose: 'test' } }, systemRandom)
 */
export function sealCiphertext(
  input: { key: SealingKey; plaintext: Buffer; context?: EncryptionContext },
  random: Random,
): Buffer {
  const { key, plaintext, context } = input
  const { aad, headerLength } = headerAndContext(FORMAT_V1, { header: key, context })
  // Salt and IV are the last 28 bytes of the header, drawn in one call.
  random.bytes(SALT_BYTES + IV_BYTES).copy(aad, headerLength - SALT_BYTES - IV_BYTES)
  const salt = aad.subarray(headerLength - SALT_BYTES - IV_BYTES, headerLength - IV_BYTES)
  const iv = aad.subarray(headerLength - IV_BYTES, headerLength)
  const cipher = createCipheriv('aes-256-gcm', deriveMessageKey(key.material, salt), iv)
  cipher.setAAD(aad)
  return Buffer.concat([
    aad.subarray(0, headerLength),
    cipher.update(plaintext),
    cipher.final(),
    cipher.getAuthTag(),
  ])
}

/**
 * The authenticated data of a version-1 or version-2 blob in one allocation: the header (its
 * salt and IV left for the caller to fill) followed by the canonical encryption context.
 * Building it in place spares the hot path a Buffer per field and two concatenations.
 */
function headerAndContext(
  format: typeof FORMAT_V1 | typeof FORMAT_V2,
  input: { header: CiphertextHeader; context?: EncryptionContext | undefined },
): { aad: Buffer; headerLength: number } {
  const { keyId, keyMaterialId } = input.header
  const encodedContext = encodeEncryptionContext(input.context)
  const headerLength = bodyOffset(format, keyId.length)
  const aad = Buffer.allocUnsafe(headerLength + encodedContext.length)
  aad[0] = format
  aad[1] = keyId.length
  // Key IDs are ASCII (a UUID or an mrk- ID), so characters and bytes match one to one.
  aad.write(keyId, 2, 'latin1')
  if (aad.write(keyMaterialId, 2 + keyId.length, 'hex') !== MATERIAL_ID_BYTES) {
    throw new Error('a key material ID is 64 hex characters')
  }
  encodedContext.copy(aad, headerLength)
  return { aad, headerLength }
}

/**
 * Reads the cleartext header; undefined when `blob` is not a version-1 or version-2 Keyward
 * ciphertext (another version, too short for header and tag, or no well-formed key ID where
 * it belongs).
 */
export function readCiphertextHeader(blob: Buffer): CiphertextHeader | undefined {
  const format = blob[0]
  if (blob.length < 2) return undefined
  if (format === FORMAT_V3) return parseExternal(blob)?.header
  if (format !== FORMAT_V1 && format !== FORMAT_V2) return undefined
  const keyIdLength = blob[1]!
  const headerLength = bodyOffset(format, keyIdLength)
  if (keyIdLength === 0 || blob.length < headerLength + TAG_BYTES) return undefined
  const keyId = blob.subarray(2, 2 + keyIdLength).toString('latin1')
  // Another format that happens to start with 0x01 (AWS's own blobs do) is not ours: without
  // this, its bytes would be read as a key ID and answered AccessDenied instead of
  // InvalidCiphertext.
  if (!isKeyId(keyId)) return undefined
  const keyMaterialId = blob
    .subarray(2 + keyIdLength, 2 + keyIdLength + MATERIAL_ID_BYTES)
    .toString('hex')
  return format === FORMAT_V1 ? { keyId, keyMaterialId } : { keyId, keyMaterialId, format }
}

/** The key reference at the start of every format: version, key ID length, key ID, material ID. */
function keyReference(format: number, header: CiphertextHeader): Buffer {
  const keyIdBytes = Buffer.from(header.keyId, 'ascii')
  return Buffer.concat([
    Buffer.from([format, keyIdBytes.length]),
    keyIdBytes,
    Buffer.from(header.keyMaterialId, 'hex'),
  ])
}

/** A version-3 blob taken apart; undefined when it is not well formed. */
function parseExternal(
  blob: Buffer,
): { header: CiphertextHeader; reference: Buffer; sealed: ExternalSealed } | undefined {
  const keyIdLength = blob[1]!
  let at = 2 + keyIdLength + MATERIAL_ID_BYTES
  if (keyIdLength === 0 || blob.length < at + 1) return undefined
  const keyId = blob.subarray(2, 2 + keyIdLength).toString('latin1')
  if (!isKeyId(keyId)) return undefined
  const reference = blob.subarray(0, at)
  const ivLength = blob[at++]!
  if (ivLength !== 12 && ivLength !== 16) return undefined
  const iv = blob.subarray(at, (at += ivLength))
  const cmLength = blob[at++]
  if (cmLength === undefined || cmLength > 20) return undefined
  const ciphertextMetadata = blob.subarray(at, (at += cmLength))
  const tag = blob.subarray(at, (at += TAG_BYTES))
  // The outer ciphertext is a whole version-1 blob: at least its header and tag.
  if (blob.length < at + bodyOffset(FORMAT_V1, 1) + TAG_BYTES) return undefined
  const header = {
    keyId,
    keyMaterialId: blob
      .subarray(2 + keyIdLength, 2 + keyIdLength + MATERIAL_ID_BYTES)
      .toString('hex'),
    format: FORMAT_V3,
  }
  return {
    header,
    reference,
    sealed: {
      ciphertext: blob.subarray(at),
      iv,
      tag,
      ...(cmLength > 0 ? { ciphertextMetadata } : {}),
    },
  }
}

/** The AAD the proxy binds: the key reference and SHA-256 of the canonical context. */
function externalAad(reference: Buffer, context: EncryptionContext | undefined): Buffer {
  const digest = createHash('sha256').update(encodeEncryptionContext(context)).digest()
  return Buffer.concat([reference, digest])
}

/**
 * Seals `plaintext` twice (format version 3): first under the KMS key's own material as a
 * version-1 blob, then through the external key store proxy.
 *
 * @example
 *   const blob = await sealCiphertextTwice({ key, plaintext, context, external }, random)
 */
export async function sealCiphertextTwice(
  input: {
    key: SealingKey
    plaintext: Buffer
    context?: EncryptionContext | undefined
    external: ExternalSealer
  },
  random: Random,
): Promise<Buffer> {
  const inner = sealCiphertext(
    {
      key: input.key,
      plaintext: input.plaintext,
      ...(input.context ? { context: input.context } : {}),
    },
    random,
  )
  const reference = keyReference(FORMAT_V3, input.key)
  const outer = await input.external.seal({
    plaintext: inner,
    aad: externalAad(reference, input.context),
  })
  const cm = outer.ciphertextMetadata ?? Buffer.alloc(0)
  return Buffer.concat([
    reference,
    Buffer.from([outer.iv.length]),
    outer.iv,
    Buffer.from([cm.length]),
    cm,
    outer.tag,
    outer.ciphertext,
  ])
}

/**
 * Opens a blob of {@link sealCiphertextTwice}: the proxy first, then the KMS key's material.
 *
 * @throws InvalidCiphertextException (no message) for a blob of another format, key or
 *   material; `innerFailure()` when the inner layer does not open. Errors of the proxy pass
 *   through for the caller to report as AWS does (KMSInvalidStateException).
 */
export async function openCiphertextTwice(input: {
  blob: Buffer
  key: SealingKey
  context?: EncryptionContext | undefined
  external: ExternalSealer
  /**
   * What to throw when the proxy's answer does not open under the key's material (the proxy
   * decrypted, so the blob was well formed: AWS reports this as the proxy's fault, xks.md
   * §2.3); InvalidCiphertextException when absent.
   */
  innerFailure?: () => Error
}): Promise<Buffer> {
  const parsed = input.blob[0] === FORMAT_V3 ? parseExternal(input.blob) : undefined
  if (
    !parsed ||
    parsed.header.keyId !== input.key.keyId ||
    parsed.header.keyMaterialId !== input.key.keyMaterialId
  ) {
    throw new InvalidCiphertextException()
  }
  const inner = await input.external.open({
    ...parsed.sealed,
    aad: externalAad(parsed.reference, input.context),
  })
  try {
    return openCiphertext({
      blob: inner,
      key: input.key,
      ...(input.context ? { context: input.context } : {}),
    })
  } catch (error) {
    throw input.innerFailure?.() ?? error
  }
}

/** Where the ciphertext starts: after the header of `format`. */
function bodyOffset(format: number, keyIdLength: number): number {
  const salt = format === FORMAT_V1 ? SALT_BYTES : 0
  return 2 + keyIdLength + MATERIAL_ID_BYTES + salt + IV_BYTES
}

/**
 * Seals `plaintext` with a key held in an HSM (format version 2): Keyward builds the header
 * and the AAD, the HSM does AES-256-GCM under a fresh random IV.
 *
 * The IV is 96 bits from Keyward's CSPRNG, not from the token's C_GenerateRandom: NIST SP
 * 800-38D §8.2.2 (RBG-based construction) asks for a random field from an approved RBG, and
 * what GCM needs is that IVs never repeat under the key, which does not depend on where the
 * bits are drawn; a draw from the token would cost a round trip per operation. Under that
 * construction §8.3 caps one key at 2^32 encryptions.
 *
 * @example
 *   const blob = await sealCiphertextWithGcmKey({ header, plaintext, context, gcm }, random)
 */
export async function sealCiphertextWithGcmKey(
  input: { header: CiphertextHeader; plaintext: Buffer; context?: EncryptionContext; gcm: GcmKey },
  random: Random,
): Promise<Buffer> {
  const { aad, headerLength } = headerAndContext(FORMAT_V2, input)
  const iv = random.bytes(IV_BYTES)
  iv.copy(aad, headerLength - IV_BYTES)
  const sealed = await input.gcm.seal({ iv, aad, data: input.plaintext })
  return Buffer.concat([aad.subarray(0, headerLength), sealed])
}

/**
 * Opens a blob sealed by {@link sealCiphertextWithGcmKey} with the HSM key of `expected`.
 *
 * @throws InvalidCiphertextException (no message) for a blob of another format, key or
 *   material, or when the HSM refuses the tag (tampering, another context). Errors of the HSM
 *   itself (key object missing, connection lost) pass through for the caller to report.
 */
export async function openCiphertextWithGcmKey(input: {
  blob: Buffer
  expected: CiphertextHeader
  context?: EncryptionContext
  gcm: GcmKey
  /** True for an error that is the HSM's own failure rather than a tag that did not verify. */
  isHsmFailure: (error: unknown) => boolean
}): Promise<Buffer> {
  const { blob, expected } = input
  const header = readCiphertextHeader(blob)
  if (
    header?.format !== FORMAT_V2 ||
    header.keyId !== expected.keyId ||
    header.keyMaterialId !== expected.keyMaterialId
  ) {
    throw new InvalidCiphertextException()
  }
  const bodyAt = bodyOffset(FORMAT_V2, blob[1]!)
  try {
    return await input.gcm.open({
      iv: blob.subarray(bodyAt - IV_BYTES, bodyAt),
      aad: Buffer.concat([blob.subarray(0, bodyAt), encodeEncryptionContext(input.context)]),
      data: blob.subarray(bodyAt),
    })
  } catch (cause) {
    if (input.isHsmFailure(cause)) throw cause
    throw new InvalidCiphertextException('', { cause })
  }
}

/**
 * Opens a blob sealed by {@link sealCiphertext} with the material its header names.
 *
 * @throws InvalidCiphertextException (no message) for any failure: tampering, truncation,
 *   another context, another key or material
 */
export function openCiphertext(input: {
  blob: Buffer
  key: SealingKey
  context?: EncryptionContext
}): Buffer {
  const { blob, key, context } = input
  const header = readCiphertextHeader(blob)
  if (
    !header ||
    header.format !== undefined ||
    header.keyId !== key.keyId ||
    header.keyMaterialId !== key.keyMaterialId
  ) {
    throw new InvalidCiphertextException()
  }
  const keyIdLength = blob[1]!
  const saltAt = 2 + keyIdLength + MATERIAL_ID_BYTES
  const ivAt = saltAt + SALT_BYTES
  const bodyAt = ivAt + IV_BYTES
  try {
    const decipher = createDecipheriv(
      'aes-256-gcm',
      deriveMessageKey(key.material, blob.subarray(saltAt, ivAt)),
      blob.subarray(ivAt, bodyAt),
    )
    decipher.setAAD(Buffer.concat([blob.subarray(0, bodyAt), encodeEncryptionContext(context)]))
    decipher.setAuthTag(blob.subarray(blob.length - TAG_BYTES))
    return Buffer.concat([
      decipher.update(blob.subarray(bodyAt, blob.length - TAG_BYTES)),
      decipher.final(),
    ])
  } catch (cause) {
    throw new InvalidCiphertextException('', { cause })
  }
}
