import type { Handler } from './context.js'
import { sealNewDataKey } from './support/data-key.js'
import { refuseRecipient } from './support/symmetric.js'

/**
 * GenerateDataKey: a fresh data key, returned in plaintext and sealed under a symmetric KMS key
 * with the encryption context bound (API Reference, GenerateDataKey).
 */
export const generateDataKey: Handler<'GenerateDataKey'> = async (ctx, input) => {
  refuseRecipient(input)
  const sealed = await sealNewDataKey(ctx, { input, operation: 'GenerateDataKey' })
  return {
    CiphertextBlob: sealed.blob,
    Plaintext: sealed.plaintext,
    KeyId: sealed.key.arn,
    KeyMaterialId: sealed.keyMaterialId,
  }
}
