import { ValidationException } from '../wire/generated/exceptions.js'
import { stopIfDryRun, type Handler } from './context.js'
import { keyForOpening, openUnderKey, refuseRecipient } from './support/symmetric.js'

/**
 * Decrypt: the ciphertext names its key, so KeyId is optional for symmetric ciphertexts
 * (API Reference, Decrypt).
 */
export const decrypt: Handler<'Decrypt'> = async (ctx, input) => {
  refuseRecipient(input)
  const blob = input.CiphertextBlob
  if (!blob) {
    // The model stopped marking it required in 2026-02 (for DryRun with IGNORE_CIPHERTEXT);
    // the service still requires it otherwise.
    if (input.DryRun && input.DryRunModifiers?.includes('IGNORE_CIPHERTEXT')) stopIfDryRun(input)
    throw new ValidationException(
      "1 validation error detected: Value null at 'ciphertextBlob' failed to satisfy constraint: Member must not be null",
    )
  }
  const key = await keyForOpening(ctx, {
    blob,
    keyId: input.KeyId,
    algorithm: input.EncryptionAlgorithm,
    operation: 'Decrypt',
  })
  stopIfDryRun(input)
  const { plaintext, keyMaterialId } = await openUnderKey(ctx, {
    key,
    blob,
    context: input.EncryptionContext,
  })
  return {
    KeyId: key.arn,
    Plaintext: plaintext,
    EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
    KeyMaterialId: keyMaterialId,
  }
}
