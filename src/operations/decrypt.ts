import { stopIfDryRun, type Handler, type OperationContext } from './context.js'
import type { DecryptInput } from '../wire/generated/model.js'
import {
  keyForKeyPairOpening,
  openWithKeyPair,
  usesKeyPair,
} from './support/asymmetric-encryption.js'
import {
  checkKeyForOpening,
  ignoresCiphertext,
  keyForOpening,
  openUnderKey,
  refuseRecipient,
  requiredCiphertext,
} from './support/symmetric.js'

/**
 * Decrypt: the ciphertext names its key, so KeyId is optional for symmetric ciphertexts
 * (API Reference, Decrypt). An asymmetric ciphertext (EncryptionAlgorithm RSAES_OAEP_* or
 * SM2PKE) names nothing: see {@link decryptWithKeyPair}.
 */
export const decrypt: Handler<'Decrypt'> = async (ctx, input) => {
  refuseRecipient(input)
  if (usesKeyPair(input.EncryptionAlgorithm)) return decryptWithKeyPair(ctx, input)
  const named = { keyId: input.KeyId, algorithm: input.EncryptionAlgorithm, operation: 'Decrypt' }
  if (ignoresCiphertext(input)) {
    await checkKeyForOpening(ctx, named)
    stopIfDryRun(input)
  }
  const blob = requiredCiphertext(input)
  const key = await keyForOpening(ctx, { ...named, blob })
  // A DryRun without IGNORE_CIPHERTEXT also proves the ciphertext and context would open:
  // skipping that check is what the IGNORE_CIPHERTEXT modifier exists for.
  const { plaintext, keyMaterialId } = await openUnderKey(ctx, {
    key,
    blob,
    context: input.EncryptionContext,
  })
  if (input.DryRun) plaintext.fill(0)
  stopIfDryRun(input)
  return {
    KeyId: key.arn,
    Plaintext: plaintext,
    EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
    KeyMaterialId: keyMaterialId,
  }
}

/**
 * Decrypt of a raw RSAES-OAEP or SM2PKE ciphertext: KeyId is required and the encryption
 * context refused (support/asymmetric-encryption.ts); there is no KeyMaterialId to report.
 */
async function decryptWithKeyPair(ctx: OperationContext, input: DecryptInput) {
  const algorithm = input.EncryptionAlgorithm!
  const key = await keyForKeyPairOpening(ctx, {
    keyId: input.KeyId,
    member: 'keyId',
    algorithm,
    operation: 'Decrypt',
    context: input.EncryptionContext,
  })
  if (ignoresCiphertext(input)) stopIfDryRun(input)
  const plaintext = await openWithKeyPair(ctx, {
    key,
    algorithm,
    ciphertext: requiredCiphertext(input),
  })
  if (input.DryRun) plaintext.fill(0)
  stopIfDryRun(input)
  return { KeyId: key.arn, Plaintext: plaintext, EncryptionAlgorithm: algorithm }
}
