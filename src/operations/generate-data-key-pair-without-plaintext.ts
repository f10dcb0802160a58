import type { Handler } from './context.js'
import { sealNewKeyPair } from './support/data-key-pair.js'

/**
 * GenerateDataKeyPairWithoutPlaintext: as GenerateDataKeyPair, but the private key leaves only
 * sealed, for a later Decrypt (API Reference, GenerateDataKeyPairWithoutPlaintext).
 */
export const generateDataKeyPairWithoutPlaintext: Handler<
  'GenerateDataKeyPairWithoutPlaintext'
> = async (ctx, input) => {
  const pair = await sealNewKeyPair(ctx, {
    input,
    operation: 'GenerateDataKeyPairWithoutPlaintext',
  })
  pair.privateKey.fill(0)
  return {
    PrivateKeyCiphertextBlob: pair.blob,
    PublicKey: pair.publicKey,
    KeyId: pair.key.arn,
    KeyPairSpec: input.KeyPairSpec,
    KeyMaterialId: pair.keyMaterialId,
  }
}
