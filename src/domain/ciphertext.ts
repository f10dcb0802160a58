import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto'
import { InvalidCiphertextException } from '../wire/generated/exceptions.js'
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
 * Every failure to open ends in the same InvalidCiphertextException with no message: no oracle.
 */
export const FORMAT_V1 = 0x01
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
  const keyIdBytes = Buffer.from(key.keyId, 'ascii')
  const fresh = random.bytes(SALT_BYTES + IV_BYTES)
  const salt = fresh.subarray(0, SALT_BYTES)
  const iv = fresh.subarray(SALT_BYTES)
  const header = Buffer.concat([
    Buffer.from([FORMAT_V1, keyIdBytes.length]),
    keyIdBytes,
    Buffer.from(key.keyMaterialId, 'hex'),
    salt,
    iv,
  ])
  const cipher = createCipheriv('aes-256-gcm', deriveMessageKey(key.material, salt), iv)
  cipher.setAAD(Buffer.concat([header, encodeEncryptionContext(context)]))
  return Buffer.concat([header, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()])
}

/**
 * Reads the cleartext header; undefined when `blob` is not a version-1 Keyward ciphertext
 * (wrong version, too short for header and tag, or no well-formed key ID where it belongs).
 */
export function readCiphertextHeader(blob: Buffer): CiphertextHeader | undefined {
  if (blob.length < 2 || blob[0] !== FORMAT_V1) return undefined
  const keyIdLength = blob[1]!
  const headerLength = 2 + keyIdLength + MATERIAL_ID_BYTES + SALT_BYTES + IV_BYTES
  if (keyIdLength === 0 || blob.length < headerLength + TAG_BYTES) return undefined
  const keyId = blob.subarray(2, 2 + keyIdLength).toString('latin1')
  // Another format that happens to start with 0x01 (AWS's own blobs do) is not ours: without
  // this, its bytes would be read as a key ID and answered AccessDenied instead of
  // InvalidCiphertext.
  if (!isKeyId(keyId)) return undefined
  const keyMaterialId = blob
    .subarray(2 + keyIdLength, 2 + keyIdLength + MATERIAL_ID_BYTES)
    .toString('hex')
  return { keyId, keyMaterialId }
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
  if (!header || header.keyId !== key.keyId || header.keyMaterialId !== key.keyMaterialId) {
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
