import { stopIfDryRun, type Handler } from './context.js'
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
 */
export const reEncrypt: Handler<'ReEncrypt'> = async (ctx, input) => {
  const source = {
    keyId: input.SourceKeyId,
    algorithm: input.SourceEncryptionAlgorithm,
    operation: 'ReEncrypt',
  }
  const destination = {
    keyId: input.DestinationKeyId,
    algorithm: input.DestinationEncryptionAlgorithm,
    operation: 'ReEncrypt',
  }
  if (ignoresCiphertext(input)) {
    await checkKeyForOpening(ctx, source)
    await keyForSealing(ctx, destination)
    stopIfDryRun(input)
  }
  const blob = requiredCiphertext(input)
  const sourceKey = await keyForOpening(ctx, { ...source, blob })
  const destinationKey = await keyForSealing(ctx, destination)
  // A DryRun without IGNORE_CIPHERTEXT also proves the ciphertext and context would open.
  const opened = await openUnderKey(ctx, {
    key: sourceKey,
    blob,
    context: input.SourceEncryptionContext,
  })
  try {
    stopIfDryRun(input)
    const sealed = await sealUnderKey(ctx, {
      key: destinationKey,
      plaintext: opened.plaintext,
      context: input.DestinationEncryptionContext,
    })
    return {
      CiphertextBlob: sealed.blob,
      SourceKeyId: sourceKey.arn,
      KeyId: destinationKey.arn,
      SourceEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      DestinationEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      SourceKeyMaterialId: opened.keyMaterialId,
      DestinationKeyMaterialId: sealed.keyMaterialId,
    }
  } finally {
    // The plaintext never leaves the server; do not leave it in memory either.
    opened.plaintext.fill(0)
  }
}
