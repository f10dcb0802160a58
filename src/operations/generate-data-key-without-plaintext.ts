import type { Handler } from './context.js'
import { sealNewDataKey } from './support/data-key.js'

/**
 * GenerateDataKeyWithoutPlaintext: as GenerateDataKey, but only the sealed copy leaves the
 * server (API Reference, GenerateDataKeyWithoutPlaintext).
 */
export const generateDataKeyWithoutPlaintext: Handler<'GenerateDataKeyWithoutPlaintext'> = async (
  ctx,
  input,
) => {
  const sealed = await sealNewDataKey(ctx, { input, operation: 'GenerateDataKeyWithoutPlaintext' })
  // The plaintext copy is never sent; do not leave it in memory until garbage collection.
  sealed.plaintext.fill(0)
  return {
    CiphertextBlob: sealed.blob,
    KeyId: sealed.key.arn,
    KeyMaterialId: sealed.keyMaterialId,
  }
}
