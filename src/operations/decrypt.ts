import { stopIfDryRun, type Handler } from './context.js'
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
 * (API Reference, Decrypt).
 */
export const decrypt: Handler<'Decrypt'> = async (ctx, input) => {
  refuseRecipient(input)
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
