import type { KeyRecord } from '../domain/key.js'
import type { ReEncryptInput } from '../wire/generated/model.js'
import { stopIfDryRun, type Handler, type OperationContext } from './context.js'
import {
  assertPlaintextFits,
  encryptWithKeyPair,
  keyForKeyPairOpening,
  openWithKeyPair,
  refuseEncryptionContext,
  usesKeyPair,
} from './support/asymmetric-encryption.js'
import {
  checkKeyForOpening,
  ignoresCiphertext,
  keyForOpening,
  keyForSealing,
  openUnderKey,
  requiredCiphertext,
  sealUnderKey,
} from './support/symmetric.js'

/**
 * ReEncrypt: opens a ciphertext with its source key and source encryption context, then seals
 * the plaintext under the destination key and context, without the plaintext leaving the
 * server (API Reference, ReEncrypt). The source key comes from the blob; a SourceKeyId that is
 * not that key gets IncorrectKeyException. Both keys get every check before anything is opened.
 * Either side may be an RSA or SM2 key pair, chosen by its EncryptionAlgorithm: an asymmetric
 * source must be named by SourceKeyId, and neither asymmetric side takes an encryption context
 * (support/asymmetric-encryption.ts).
 */
export const reEncrypt: Handler<'ReEncrypt'> = async (ctx, input) => {
  if (ignoresCiphertext(input)) {
    await sourceKey(ctx, input, undefined)
    await destinationKey(ctx, input)
    stopIfDryRun(input)
  }
  const blob = requiredCiphertext(input)
  const source = await sourceKey(ctx, input, blob)
  const destination = await destinationKey(ctx, input)
  // A DryRun without IGNORE_CIPHERTEXT also proves the ciphertext and context would open.
  const opened = await open(ctx, { input, key: source, blob })
  try {
    const destinationAlgorithm = input.DestinationEncryptionAlgorithm ?? 'SYMMETRIC_DEFAULT'
    const toKeyPair = usesKeyPair(destinationAlgorithm)
    if (toKeyPair) assertPlaintextFits(destination, destinationAlgorithm, opened.plaintext)
    stopIfDryRun(input)
    const sealed = toKeyPair
      ? {
          blob: await encryptWithKeyPair(destination, {
            algorithm: destinationAlgorithm,
            plaintext: opened.plaintext,
          }),
          keyMaterialId: undefined,
        }
      : await sealUnderKey(ctx, {
          key: destination,
          plaintext: opened.plaintext,
          context: input.DestinationEncryptionContext,
        })
    return {
      CiphertextBlob: sealed.blob,
      SourceKeyId: source.arn,
      KeyId: destination.arn,
      SourceEncryptionAlgorithm: input.SourceEncryptionAlgorithm ?? 'SYMMETRIC_DEFAULT',
      DestinationEncryptionAlgorithm: destinationAlgorithm,
      // Key material IDs exist for symmetric keys only (API Reference, ReEncrypt).
      SourceKeyMaterialId: opened.keyMaterialId,
      DestinationKeyMaterialId: sealed.keyMaterialId,
    }
  } finally {
    // The plaintext never leaves the server; do not leave it in memory either.
    opened.plaintext.fill(0)
  }
}

/**
 * The source key, checked for decrypting: an asymmetric one must be named; a symmetric one is
 * found from the blob, or, for a DryRun that ignores the ciphertext (no blob), only the key the
 * caller named is checked.
 */
async function sourceKey(
  ctx: OperationContext,
  input: ReEncryptInput,
  blob: Buffer,
): Promise<KeyRecord>
async function sourceKey(
  ctx: OperationContext,
  input: ReEncryptInput,
  blob: undefined,
): Promise<unknown>
async function sourceKey(
  ctx: OperationContext,
  input: ReEncryptInput,
  blob: Buffer | undefined,
): Promise<unknown> {
  const algorithm = input.SourceEncryptionAlgorithm
  if (usesKeyPair(algorithm)) {
    return keyForKeyPairOpening(ctx, {
      keyId: input.SourceKeyId,
      member: 'sourceKeyId',
      algorithm: algorithm!,
      operation: 'ReEncrypt',
      context: input.SourceEncryptionContext,
    })
  }
  const source = { keyId: input.SourceKeyId, algorithm, operation: 'ReEncrypt' }
  return blob ? keyForOpening(ctx, { ...source, blob }) : checkKeyForOpening(ctx, source)
}

/** The destination key, checked for encrypting; a key pair takes no encryption context. */
async function destinationKey(ctx: OperationContext, input: ReEncryptInput): Promise<KeyRecord> {
  const key = await keyForSealing(ctx, {
    keyId: input.DestinationKeyId,
    algorithm: input.DestinationEncryptionAlgorithm,
    operation: 'ReEncrypt',
  })
  if (usesKeyPair(input.DestinationEncryptionAlgorithm)) {
    refuseEncryptionContext(input.DestinationEncryptionContext)
  }
  return key
}

/** Opens the source ciphertext with the key `sourceKey` found. */
async function open(
  ctx: OperationContext,
  req: { input: ReEncryptInput; key: KeyRecord; blob: Buffer },
): Promise<{ plaintext: Buffer; keyMaterialId: string | undefined }> {
  const { input, key, blob } = req
  const algorithm = input.SourceEncryptionAlgorithm
  if (usesKeyPair(algorithm)) {
    return {
      plaintext: await openWithKeyPair(ctx, { key, algorithm: algorithm!, ciphertext: blob }),
      keyMaterialId: undefined,
    }
  }
  return openUnderKey(ctx, { key, blob, context: input.SourceEncryptionContext })
}
