import { InvalidCiphertextException, ValidationException } from '../../domain/errors/exceptions.js'
import { decryptWithPrivateKey, encryptWithPublicKey } from '../../crypto/index.js'
import type { EncryptionContext } from '../../domain/encryption-context.js'
import type { KeyRecord } from '../../domain/key.js'
import {
  ENCRYPTION_ALGORITHMS,
  KEY_SPECS,
  type EncryptionAlgorithm,
} from '../../domain/key-specs.js'
import type { OperationContext } from '../context.js'
import { privateMaterialOf, publicKeyOf } from './asymmetric.js'
import { keyForSealing } from './symmetric.js'

/**
 * Encrypt, Decrypt and ReEncrypt with an RSA or SM2 key pair (API Reference, Encrypt): the
 * ciphertext is the raw RSAES-OAEP (or SM2PKE) output with no header, as AWS's, so data
 * encrypted offline with GetPublicKey's key decrypts here. It names no key, so Decrypt needs
 * KeyId and EncryptionAlgorithm, and there is no room for an encryption context. The symmetric
 * path stays in symmetric.ts; the operations choose by the EncryptionAlgorithm, which the key
 * spec's algorithm list has already vetted.
 */

/**
 * Whether `algorithm` encrypts with a key pair rather than a symmetric key (absent means
 * SYMMETRIC_DEFAULT, the API's default).
 *
 * @example
 *   usesKeyPair('RSAES_OAEP_SHA_256') // true
 */
export function usesKeyPair(algorithm: EncryptionAlgorithm | undefined): boolean {
  return ENCRYPTION_ALGORITHMS[algorithm ?? 'SYMMETRIC_DEFAULT'].scheme !== 'aes-gcm'
}

/**
 * Refuses an encryption context with an asymmetric key, with the message AWS answers (floci
 * measured it against real KMS; the API Reference: "An encryption context is supported only on
 * operations with symmetric encryption KMS keys"). An empty map counts as none, as for
 * symmetric keys.
 */
export function refuseEncryptionContext(context: EncryptionContext | undefined): void {
  if (context && Object.keys(context).length > 0) {
    throw new ValidationException(
      'EncryptionContext is not supported when encrypting/decrypting with asymmetric CMKs.',
    )
  }
}

/**
 * Refuses a plaintext over the limit of the key spec and algorithm, with AWS's recorded
 * message: "Algorithm RSAES_OAEP_SHA_1 and key spec RSA_2048 cannot encrypt data larger than
 * 214 bytes."
 */
export function assertPlaintextFits(
  key: KeyRecord,
  algorithm: EncryptionAlgorithm,
  plaintext: Buffer,
): void {
  const limit = KEY_SPECS[key.keySpec].plaintextLimits[algorithm]!
  if (plaintext.length > limit) {
    throw new ValidationException(
      `Algorithm ${algorithm} and key spec ${key.keySpec} cannot encrypt data larger than ${limit} bytes.`,
    )
  }
}

/** Encrypts with the key's public key; the checks above have passed. */
export function encryptWithKeyPair(
  key: KeyRecord,
  req: { algorithm: EncryptionAlgorithm; plaintext: Buffer },
): Promise<Buffer> {
  return encryptWithPublicKey({
    material: KEY_SPECS[key.keySpec].material,
    publicKey: publicKeyOf(key, 'Encrypt'),
    algorithm: ENCRYPTION_ALGORITHMS[req.algorithm],
    plaintext: req.plaintext,
  })
}

/**
 * The key that is to decrypt an asymmetric ciphertext: it must be named, since the ciphertext
 * does not say (the message is the one AWS's validator gives a missing required member), and
 * it gets the checks of every encryption key in AWS's order: resolve → state → usage →
 * algorithm; then the encryption context is refused.
 */
export async function keyForKeyPairOpening(
  ctx: OperationContext,
  req: {
    keyId: string | undefined
    member: 'keyId' | 'sourceKeyId'
    algorithm: EncryptionAlgorithm
    operation: string
    context: EncryptionContext | undefined
  },
): Promise<KeyRecord> {
  if (!req.keyId) {
    throw new ValidationException(
      `1 validation error detected: Value null at '${req.member}' failed to satisfy constraint: Member must not be null`,
    )
  }
  const key = await keyForSealing(ctx, {
    keyId: req.keyId,
    operation: req.operation,
    algorithm: req.algorithm,
  })
  refuseEncryptionContext(req.context)
  return key
}

/**
 * Decrypts an asymmetric ciphertext with the key's private key. Any failure (wrong key, wrong
 * algorithm, tampering, wrong length) is the same InvalidCiphertextException with no message.
 */
export async function openWithKeyPair(
  ctx: OperationContext,
  req: { key: KeyRecord; algorithm: EncryptionAlgorithm; ciphertext: Buffer },
): Promise<Buffer> {
  const plaintext = await decryptWithPrivateKey({
    material: KEY_SPECS[req.key.keySpec].material,
    privateKey: await privateMaterialOf(ctx, req.key),
    algorithm: ENCRYPTION_ALGORITHMS[req.algorithm],
    ciphertext: req.ciphertext,
  })
  if (!plaintext) throw new InvalidCiphertextException()
  return plaintext
}
