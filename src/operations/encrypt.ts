import { stopIfDryRun, type Handler } from './context.js'
import { keyForSealing, sealUnderKey } from './support/symmetric.js'

/** Encrypt under a symmetric key, binding the encryption context (API Reference, Encrypt). */
export const encrypt: Handler<'Encrypt'> = async (ctx, input) => {
  const key = await keyForSealing(ctx, {
    keyId: input.KeyId,
    operation: 'Encrypt',
    algorithm: input.EncryptionAlgorithm,
  })
  stopIfDryRun(input)
  const { blob } = await sealUnderKey(ctx, {
    key,
    plaintext: input.Plaintext,
    context: input.EncryptionContext,
  })
  // KeyId is the key ARN even when an alias was given: the AWS Encryption SDK relies on it.
  return { CiphertextBlob: blob, KeyId: key.arn, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' }
}
